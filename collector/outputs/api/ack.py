"""/ack/{token}: the page behind an acknowledge link; only its POST acknowledges (mail scanners prefetch GETs).

A person's own link acknowledges as them with one press. A group link (posted into a robot or a mail to
several) asks who: a name from the on-call roster and the code the collector sends to that person, or an
operator's API token. Every acknowledgement records the source address and user agent; every refused,
forged, expired or used attempt is audited and counted (opsmon_ack_link_refusals_total).
"""
from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import Response

from opsmon.collector.incidents.links import LinkClaim, LinkRefused
from opsmon.collector.outputs.api.deps import RANK
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.ui.ack import PageContext, link_page
from opsmon.collector.store import tokens

MAX_FORM = 4096


def _origin(request: Request) -> dict[str, str]:
    return {"source": request.client.host if request.client else "",
            "user_agent": request.headers.get("user-agent", "")[:256]}


def routes(face: CollectorFace) -> APIRouter:
    router = APIRouter(tags=["incidents"], include_in_schema=False)

    def context(claim: LinkClaim | None, inc: object, **more: object) -> PageContext:
        asset = getattr(inc, "asset_id", None)
        return PageContext(asset_name=face.asset_name(asset) if asset else None,
                           people=face.link_people(), used_at=claim.used_at if claim else None,
                           used_by=claim.used_by if claim else None, **more)  # type: ignore[arg-type]

    def refused(exc: LinkRefused, request: Request) -> Response:
        face.link_refused(exc.reason, exc.incident_id, str(exc), _origin(request))
        inc = face.incident(exc.incident_id) if exc.incident_id else None
        return link_page(request, face, "refused", inc, "", exc.reason_en, exc.reason_zh, context(None, inc),
                        exc.status)

    @router.get("/ack/{token}")
    async def ack_page(token: str, request: Request) -> Response:
        """Shows the incident and a button (or, for a group link, asks who); only a POST acknowledges."""
        try:
            claim = face.ack_link(token, use=False)
        except LinkRefused as exc:
            return refused(exc, request)
        if claim is None:
            return not_configured(request)
        inc = face.incident(claim.incident_id)
        if claim.used_at is not None:
            face.link_refused("used", claim.incident_id, "opened a used link", _origin(request))
            return link_page(request, face, "used", inc, ctx=context(claim, inc), status=409)
        return link_page(request, face, "confirm" if claim.person else "who", inc, claim.person or "",
                        ctx=context(claim, inc))

    @router.post("/ack/{token}")
    async def ack_confirm(token: str, request: Request) -> Response:
        body = await request.body()
        form = {k: v[0] for k, v in parse_qs(body[:MAX_FORM].decode("utf-8", "replace")).items()}
        try:
            claim = face.ack_link(token, use=False)
            if claim is None:
                return not_configured(request)
            inc = face.incident(claim.incident_id)
            if claim.used_at is not None:
                raise LinkRefused(409, "this link has already been used", "链接已被使用", "used", claim.incident_id)
            if inc is None or inc.status != "open":
                state = inc.status if inc else "closed"
                return link_page(request, face, "refused", inc, claim.person or "", f"the incident is already {state}",
                                f"该事件已处于 {state} 状态", context(claim, inc), 409)
            if claim.person:
                return acknowledge(token, claim, claim.person, f"link:{claim.person}", "personal link", request)
            return group(token, claim, inc, form, request)
        except LinkRefused as exc:
            return refused(exc, request)

    def group(token: str, claim: LinkClaim, inc: object, form: dict[str, str], request: Request) -> Response:
        action, person = form.get("action", ""), form.get("person", "")
        people = dict(face.link_people())
        if action in ("code", "confirm") and person not in people:
            return link_page(request, face, "who", inc, ctx=context(
                claim, inc, note_en="choose a person of the on-call roster", note_zh="请选择值班人员"), status=422)
        if action == "code":
            sent = face.send_link_code(claim, person)
            note = (("a code was sent to " + people[person], f"验证码已发送给 {people[person]}") if sent else
                    ("no channel reaches this person privately: use an operator API token",
                     "无法单独联系此人：请使用操作员 API 令牌"))
            return link_page(request, face, "who", inc, ctx=context(claim, inc, note_en=note[0], note_zh=note[1]))
        if action == "confirm":
            face.check_link_code(claim, person, form.get("code", ""))
            return acknowledge(token, claim, person, f"link:{person}", "group link, code sent to the person",
                               request)
        if action == "token":
            found = tokens.authenticate(face.store, form.get("token", "")) if form.get("token") else None
            if found is None or RANK[found[1]] < RANK["operator"]:
                raise LinkRefused(403, "no operator token: an API token of the operator role is needed",
                                  "需要操作员角色的 API 令牌", "bad_login", claim.incident_id)
            return acknowledge(token, claim, found[0], found[0], "group link, API token", request)
        return link_page(request, face, "who", inc, ctx=context(claim, inc), status=400)

    def acknowledge(token: str, claim: LinkClaim, person: str, actor: str, via: str, request: Request) -> Response:
        used = face.ack_link(token, use=True, by=actor)
        assert used is not None
        face.acknowledge(claim.incident_id, actor, "acknowledged with the link", {"via": via, **_origin(request)})
        inc = face.incident(claim.incident_id)
        return link_page(request, face, "done", inc, person, ctx=context(None, inc))

    def not_configured(request: Request) -> Response:
        return link_page(request, face, "refused", None, "", "acknowledge links are not configured", "未配置确认链接",
                        status=404)

    return router
