"""/ack/{token}: the page behind an acknowledge link; only its POST acknowledges (mail scanners prefetch GETs)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from opsmon.collector.incidents.links import LinkRefused
from opsmon.collector.incidents.page import ack_page_html
from opsmon.collector.outputs.api.face import CollectorFace


def routes(face: CollectorFace) -> APIRouter:
    router = APIRouter(tags=["incidents"], include_in_schema=False)

    @router.get("/ack/{token}")
    async def ack_page(token: str) -> Response:
        """Shows the incident and a button; only the POST acknowledges (mail scanners prefetch GETs)."""
        return ack_response(token, confirm=False)

    @router.post("/ack/{token}")
    async def ack_confirm(token: str) -> Response:
        return ack_response(token, confirm=True)

    def ack_response(token: str, confirm: bool) -> Response:
        try:
            claim = face.ack_link(token, use=confirm)
        except LinkRefused as exc:
            return HTMLResponse(ack_page_html("refused", None, "", exc.reason_en, exc.reason_zh),
                                status_code=exc.status)
        if claim is None:
            return HTMLResponse(ack_page_html("refused", None, "", "acknowledge links are not configured",
                                              "未配置确认链接"), status_code=404)
        inc = face.incident(claim.incident_id)
        if not confirm:
            return HTMLResponse(ack_page_html("confirm", inc, claim.person, "", ""))
        if inc is None or inc.status != "open":
            state = inc.status if inc else "closed"
            return HTMLResponse(ack_page_html("refused", inc, claim.person, f"the incident is already {state}",
                                              f"该事件已处于 {state} 状态"), status_code=409)
        face.acknowledge(inc.id, f"link:{claim.person}", "acknowledged with the link")
        return HTMLResponse(ack_page_html("done", inc, claim.person, "", ""))

    return router
