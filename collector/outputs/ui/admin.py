"""The console's pages for operators and administrators: maintenance windows (list, add, end early) and the
exclusions beside them (a past outage reclassified as planned, approved by another person), the SLA
reports (generate, download, the delivered ones) and the audit log (admin, searchable).

Each change goes through the face's audited command in the person's name (`ui:<name>`), and is refused in
the API's own words: a window through `parse_window` and collector/store/windows.py, a report through
outputs/report/delivery.generate, the same code as `opsmon report` and the scheduled run.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from opsmon.collector.core.errors import Conflict, InvalidInput, NotFound
from opsmon.collector.core.lang import LANGS
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.ui import views
from opsmon.collector.outputs.ui.kit import (
    HEADERS,
    RowId,
    lang_of,
    operator_form,
    posted,
    refusal,
    render,
    see,
    who,
)
from opsmon.collector.outputs.ui.session import Refused, need
from opsmon.collector.store.users import Person

SCOPES = ("assets", "sites", "tags")


def local_input(value: str, tz: str, field: str) -> str:
    """A datetime-local field (2026-12-06T18:30:00, the configured zone) as ISO 8601 with its offset."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(422, f"{field}：时间格式应为 2026-12-06T18:30:00。",
                      f"{field}: write the time as 2026-12-06T18:30:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(tz))
    return when.isoformat()


def local_date(value: str, tz: str, field: str) -> datetime | None:
    """A date field (2026-12-06) as the start of that day in the configured zone."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise Refused(422, f"{field}：日期格式应为 2026-12-06。", f"{field}: write the date as 2026-12-06") from None
    return day.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def routes(face: CollectorFace) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    store = face.store

    def window_page(request: Request, status: int = 200, error: str = "", form: dict[str, str] | None = None,
                    done: str = "") -> Response:
        person = who(face, request)
        lang = lang_of(request, person)
        rows = [{"id": w.id, "scope": " ".join(f"{k}: {', '.join(getattr(w, k))}" for k in SCOPES if getattr(w, k)),
                 "when": (f"{views.local(w.start, face.timezone)} - {views.local(w.end, face.timezone)}"
                          if w.start else f"{w.cron} ({w.duration:g} s)"),
                 "reason": w.reason, "source": w.source} for w in face.windows()]
        # From now (a start more than a minute old is refused, as by the API) for two hours, by default.
        now = face.now().astimezone(ZoneInfo(face.timezone)).replace(microsecond=0)
        blank = {"id": "", "scope": "assets", "names": "", "reason": "", "start": f"{now:%Y-%m-%dT%H:%M:%S}",
                 "end": f"{now + timedelta(hours=2):%Y-%m-%dT%H:%M:%S}"}
        return render(request, face, "maintenance.html", person, lang, status, rows=rows, error=error,
                      form={**blank, **(form or {})}, scopes=SCOPES, done=done, exclusions=exclusion_rows(person))

    def exclusion_rows(person: Person) -> list[dict[str, Any]]:
        """The live exclusions (after-the-fact, four eyes: collector/store/exclusions.py), newest first, each with
        whether this person may approve it (not their own request)."""
        from opsmon.collector.core.actors import person as person_of
        from opsmon.collector.store.exclusions import list_exclusions

        tz = face.timezone
        return [{**d, "when": (f"{views.local(str(d['start']), tz)} - {views.local(str(d['end']), tz)}"
                               if d["start"] else ""),
                 "may_approve": d["status"] == "pending" and person_of(str(d["requested_by"])) != person.name}
                for d in reversed(list_exclusions(store))]

    @router.get("/ui/maintenance")
    async def windows(request: Request, done: str = "") -> Response:
        """The windows in force (config file and API); operators add one or end one early."""
        return window_page(request, done=done if done in ("added", "ended", "reclassified", "approved", "withdrawn")
                           else "")

    @router.post("/ui/maintenance")
    async def add_window(request: Request) -> Response:
        person = who(face, request)
        form = await posted(face, request, person)
        need(person, "operator")
        scope = form.get("scope", "")
        if scope not in SCOPES:
            raise Refused(422, f"范围无效：{scope!r}", f"scope: {scope!r} is not one of {', '.join(SCOPES)}")
        body = {"id": form.get("id", "").strip(), "reason": form.get("reason", ""),
                scope: [n.strip() for n in form.get("names", "").split(",") if n.strip()],
                "start": local_input(form.get("start", ""), face.timezone, "start"),
                "end": local_input(form.get("end", ""), face.timezone, "end")}
        try:
            from opsmon.collector.core.maintenance import parse_window

            face.add_window(parse_window(body), f"ui:{person.name}")
        except InvalidInput as exc:  # the API's words: 422 there too
            return window_page(request, 422, str(exc), form)
        except Conflict as exc:
            return window_page(request, 409, str(exc), form)
        return see("/ui/maintenance?done=added")

    @router.post("/ui/maintenance/{window_id}/end")
    async def end_window(request: Request, window_id: str) -> Response:
        """End a window now: from now on its assets are measured again; its past maintenance time stays."""
        person = who(face, request)
        await posted(face, request, person)
        need(person, "operator")
        try:
            face.remove_window(window_id, f"ui:{person.name}")
        except NotFound as exc:
            raise Refused(404, f"没有维护窗口 {window_id}。", str(exc)) from None
        except Conflict as exc:
            raise Refused(409, f"配置文件中的窗口只能在配置文件中修改：{exc}", str(exc)) from None
        return see("/ui/maintenance?done=ended")

    @router.post("/ui/exclusions/{exclusion_id}/{act}")
    async def exclusion_act(request: Request, exclusion_id: RowId, act: str) -> Response:
        """Approve an exclusion another person asked for (a reclassified outage counts from then on), or withdraw
        one: the store's functions, as the API's and the CLI's (four eyes refused in their words)."""
        from opsmon.collector.store.exclusions import approve_exclusion, remove_exclusion

        person, _ = await operator_form(face, request)
        if act not in ("approve", "remove"):
            raise Refused(404, f"没有操作 {act}。", f"no action {act!r}; one of approve, remove")
        try:
            if act == "approve":
                approve_exclusion(store, exclusion_id, f"ui:{person.name}", face.now())
            else:
                remove_exclusion(store, exclusion_id, f"ui:{person.name}", face.now())
        except (NotFound, InvalidInput, Conflict) as exc:  # four eyes: another person must approve
            raise refusal(exc, "无法执行：") from None
        return see(f"/ui/maintenance?done={'approved' if act == 'approve' else 'withdrawn'}")

    def report_page(request: Request, status: int = 200, error: str = "", done: str = "") -> Response:
        from opsmon.collector.outputs.report.delivery import listing
        from opsmon.collector.sla.periods import last_complete

        person = who(face, request)
        lang = lang_of(request, person)
        return render(request, face, "reports.html", person, lang, status, rows=listing(store)[:200], error=error,
                      done=done, last=last_complete("quarter", face.now(), face.timezone).label)

    @router.get("/ui/reports")
    def reports(request: Request, done: str = "") -> Response:
        return report_page(request, done=done if done == "generated" else "")

    @router.post("/ui/reports")
    async def generate(request: Request) -> Response:
        """The report of a period in every configured format, as `opsmon report` and the scheduled run write
        it; recorded in the listing and the audit log. Rendering a PDF takes seconds: off the event loop."""
        from starlette.concurrency import run_in_threadpool

        person = who(face, request)
        form = await posted(face, request, person)
        need(person, "operator")
        period = views.period_of(form.get("period", "").strip(), face.now(), face.timezone)
        lang = form.get("lang", "zh")
        if lang not in LANGS:
            raise Refused(422, f"语言无效：{lang!r}", f"lang: {lang!r} is not one of {', '.join(LANGS)}")
        await run_in_threadpool(face.generate_report, period, lang, f"ui:{person.name}")
        return see("/ui/reports?done=generated")

    @router.get("/ui/reports/{report_id}")
    def download(request: Request, report_id: RowId) -> Response:
        from pathlib import Path

        from opsmon.collector.outputs.report.delivery import MEDIA, find

        who(face, request)
        row = find(store, report_id) if 1 <= report_id < 2 ** 63 else None
        if row is None:
            raise Refused(404, f"没有报告 {report_id}。", f"no report {report_id}")
        return FileResponse(row.path, media_type=MEDIA.get(row.format, "application/octet-stream"),
                            filename=Path(row.path).name, headers={**HEADERS, "X-Opsmon-SHA256": row.sha256})

    @router.get("/ui/audit")
    def audit_log(request: Request, actor: str = "", action: str = "", target: str = "", since: str = "",
                  until: str = "") -> Response:
        """Who changed what, newest first (admin): by a part of the actor's, the action's or the target's name
        (an incident, an asset, a window) and by date (from `since`'s first second to `until`'s last, in the
        configured zone)."""
        from opsmon.collector.store import audit

        person = who(face, request)
        need(person, "admin")
        lang = lang_of(request, person)
        if len(actor) > 128 or len(action) > 128 or len(target) > 128:
            raise Refused(422, "搜索词过长。", "actor, action, target: at most 128 characters")
        start = local_date(since, face.timezone, "since")
        end = local_date(until, face.timezone, "until")
        entries = audit.read(store, 500, start, end + timedelta(days=1) if end else None, actor, action, target)
        rows = [{"when": views.local(e.ts, face.timezone), "actor": e.actor, "action": e.action,
                 "target": e.target, "detail": e.detail} for e in entries]
        return render(request, face, "audit.html", person, lang, rows=rows,
                      chosen={"actor": actor, "action": action, "target": target, "since": since,
                              "until": until})

    return router
