"""The console's on-call page: who is on call now and until when, who follows, the overrides not yet over (an
operator adds one or removes one added through the API, CLI or here) and the escalation policies.

It reads `face.oncall()`, the same document GET /api/v1/oncall serves, and changes through the face's
add_override/remove_override, the commands behind POST and DELETE /api/v1/oncall/overrides and `opsmon oncall
override` (collector/store/oncall.py refuses in the same words), audited as `ui:<name>`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from opsmon.collector.core.durations import format_duration
from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.oncall_doc import OncallDoc
from opsmon.collector.outputs.ui import views
from opsmon.collector.outputs.ui.admin import local_input
from opsmon.collector.outputs.ui.kit import RowId, lang_of, operator_form, refusal, render, see, who
from opsmon.collector.outputs.ui.session import Refused

DONE = ("added", "removed")


def routes(face: CollectorFace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def roster() -> OncallDoc:
        doc = face.oncall()
        if doc is None:
            raise Refused(404, "未配置值班（incidents.oncall_file）。", "no on-call configured (incidents.oncall_file)")
        return doc

    def page(request: Request, status: int = 200, error: str = "", form: dict[str, str] | None = None,
             done: str = "") -> Response:
        person = who(face, request)
        lang = lang_of(request, person)
        doc = roster()
        names = dict(face.link_people())
        now = face.now().astimezone(ZoneInfo(face.timezone)).replace(microsecond=0)
        blank = {"schedule": doc.shifts[0].schedule if doc.shifts else "", "person": "", "reason": "",
                 "start": f"{now:%Y-%m-%dT%H:%M:%S}", "end": f"{now + timedelta(days=1):%Y-%m-%dT%H:%M:%S}"}
        policies = [{"name": p.name, "repeat": format_duration(p.repeat_every) if p.repeat_every else "",
                     "fallback": p.fallback or "",
                     "levels": [{"after": format_duration(lv.after) if lv.after else "0", "notify": lv.notify,
                                 "channels": lv.channels, "breached": lv.only_if_breached} for lv in p.levels],
                     "routes": [r.match for r in doc.routes if r.policy == p.name]} for p in doc.policies]
        return render(request, face, "oncall.html", person, lang, status, doc=doc, local=views.local,
                      people=sorted(names.items()), policies=policies, error=error, done=done,
                      schedules=sorted({s.schedule for s in doc.shifts}), form={**blank, **(form or {})})

    @router.get("/ui/oncall")
    def oncall(request: Request, done: str = "") -> Response:
        return page(request, done=done if done in DONE else "")

    @router.post("/ui/oncall/overrides")
    async def add(request: Request) -> Response:
        """Someone covers a schedule for a stretch: in force at once, audited as ui:<name>."""
        person, form = await operator_form(face, request)
        roster()
        if len(form.get("reason", "")) > 512:
            raise Refused(422, "原因最多 512 个字符。", "reason: at most 512 characters")
        start = datetime.fromisoformat(local_input(form.get("start", ""), face.timezone, "start"))
        end = datetime.fromisoformat(local_input(form.get("end", ""), face.timezone, "end"))
        try:
            face.add_override(form.get("schedule", ""), form.get("person", ""), start, end, form.get("reason", ""),
                              f"ui:{person.name}")
        except InvalidInput as exc:  # the API's and the CLI's words
            return page(request, 422, str(exc), form)
        return see("/ui/oncall?done=added")

    @router.post("/ui/oncall/overrides/{override_id}/remove")
    async def remove(request: Request, override_id: RowId) -> Response:
        person, _ = await operator_form(face, request)
        roster()
        try:
            face.remove_override(override_id, f"ui:{person.name}")
        except NotFound as exc:
            raise refusal(exc, "无法删除（oncall.yaml 中的调整只能在文件中修改）：") from None
        return see("/ui/oncall?done=removed")

    return router
