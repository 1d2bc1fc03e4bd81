"""The console's routes under /ui/: login, the target table, the incidents and the actions on them.

Reads go through the same functions the API uses (the SLA engine's `measure()`, the incidents' read
functions); changes through the face's audited commands, in the person's name (`ui:<name>`). Pages that
only read the store run on the thread pool; the actions run on the event loop that owns the incidents.
Every page is a Jinja2 template with autoescaping on: an asset named `<script>` is shown as text.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from opsmon.collector.core.errors import Conflict, InvalidInput, NotFound
from opsmon.collector.core.fields import parse_timestamp
from opsmon.collector.core.incidents import SEVERITIES, STATUSES
from opsmon.collector.core.states import CATEGORIES
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.ui import admin, estate, oncall, text, views
from opsmon.collector.outputs.ui.kit import (
    HERE,
    Login,
    lang_of,
    login_redirect,
    operator_form,
    person_of,
    posted,
    refusal,
    render,
    safe_next,
    see,
    who,
)
from opsmon.collector.outputs.ui.session import LANG, PRE, SESSION, Refused, need, set_cookie
from opsmon.collector.store import users

ACTIONS = ("ack", "resolve", "note", "reassign", "takeover")
STATES = (*STATUSES, "active")
# Why a directory (LDAP) login was refused, as the page's status: the person is known but has no console role
# (403), or the directory did not answer (503, the collector itself is well).
REFUSALS = {"no_role": 403, "unreachable": 503}
LIVE = 200  # live incidents listed without a state filter: 1,000 of them took 0.7 s to list and draw


def mount(app: FastAPI, face: CollectorFace) -> None:
    """Add the console to the collector's application: its routes, its static files, its error page."""
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(routes(face))
    app.include_router(estate.routes(face))
    app.include_router(admin.routes(face))
    app.include_router(oncall.routes(face))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        if isinstance(exc, Login):
            return login_redirect(exc.wanted)
        person = person_of(face, request)
        lang = lang_of(request, person)
        return render(request, face, "refused.html", person, lang, exc.status,
                       reason=exc.zh if lang == "zh" else exc.en)

    app.add_exception_handler(Refused, refused)


def routes(face: CollectorFace) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    store = face.store

    @router.get("/ui")
    def ui_bare() -> RedirectResponse:
        return see("/ui/")

    @router.get("/ui/login")
    def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query's name
        person = person_of(face, request)
        if person is not None:
            return see(safe_next(next))
        return render(request, face, "login.html", None, lang_of(request, None), next=safe_next(next), error="")

    @router.post("/ui/login")
    async def login(request: Request) -> Response:
        form = await posted(face, request, None)
        lang = lang_of(request, None)
        now = face.now()
        settings = face.console
        # Off the loop: an argon2 check takes a good part of a second, and the directory up to its timeouts.
        outcome = await run_in_threadpool(
            users.login, store, form.get("name", ""), form.get("password", ""), now, settings.lockout_failures,
            settings.lockout_window, settings.session_lifetime, "ui", face.directory)
        words = text.words(lang)
        if outcome.session is None:
            if outcome.locked_until is not None:
                error, status = words["locked"].format(until=views.local(outcome.locked_until, face.timezone)), 429
            elif outcome.why in REFUSALS:  # a directory's answer: not the password's fault
                error, status = words[outcome.why], REFUSALS[outcome.why]
            else:
                error, status = words["bad_login"], 401
            return render(request, face, "login.html", None, lang, status, next=safe_next(form.get("next")),
                           error=error)
        old = request.cookies.get(SESSION)
        if old:  # whatever session the browser held before (perhaps one planted in it) ends here
            users.logout(store, old, "ui", now)
        response = see(safe_next(form.get("next")))
        set_cookie(request, response, SESSION, outcome.session, max_age=int(settings.session_lifetime))
        response.delete_cookie(PRE, path="/ui")
        return response

    @router.post("/ui/logout")
    async def logout(request: Request) -> Response:
        person = who(face, request)
        await posted(face, request, person)
        users.logout(store, request.cookies.get(SESSION, ""), "ui", face.now())
        response = see("/ui/login")
        response.delete_cookie(SESSION, path="/ui")
        return response

    @router.post("/ui/lang")
    async def switch_lang(request: Request) -> Response:
        """Chinese or English: kept on the account (and in a cookie for the login page)."""
        person = person_of(face, request)
        form = await posted(face, request, person)
        lang = text.pick(form.get("lang"))
        if person is not None:
            users.set_lang(store, person.name, lang, "ui", face.now())
        response = see(safe_next(form.get("back")))
        set_cookie(request, response, LANG, lang, max_age=365 * 86400)
        return response

    @router.get("/ui/")
    def targets(request: Request, period: str = "") -> Response:
        """The target table of any period (this quarter by default), from the SLA engine's typed results: this
        quarter as the SLA worker measured it at most `sla.refresh` ago (the page says as of when), any other
        period through the face's period cache (measuring a month of 10,000 assets takes seconds: not yet
        measured, the page says so and reloads itself; views.offer)."""
        person = who(face, request)
        lang = lang_of(request, person)
        now = face.now()
        chosen = views.period_of(period, now, face.timezone)
        answer = face.offered(chosen)
        # `is None`, never truthiness: a result is a Mapping whose len() builds its whole document (0.15 s at 10k)
        result = answer.result
        return render(request, face, "targets.html", person, lang,
                      period=chosen if result is None else result.period, chosen=chosen.label,
                      choices=views.period_choices(now, face.timezone),
                      rows=[] if result is None else views.target_rows(result, lang),
                      as_of="" if result is None else views.local(result.period.as_of, face.timezone),
                      **views.offer(answer))

    @router.get("/ui/incidents")
    def incident_list(request: Request, site: str = "", category: str = "", severity: str = "",
                      state: str = "") -> Response:
        from opsmon.collector.config.inventory import asset_names, asset_sites
        from opsmon.collector.incidents.read import IncidentFilter, list_incidents

        person = who(face, request)
        lang = lang_of(request, person)
        for name, value, allowed in (("category", category, CATEGORIES), ("severity", severity, SEVERITIES),
                                     ("state", state, STATES)):
            if value and value not in allowed:
                raise Refused(422, f"{name} 取值无效：{value!r}，可选：{', '.join(allowed)}",
                              f"{name}: {value!r} is not one of {', '.join(allowed)}")
        if len(site) > 128:
            raise Refused(422, "站点名过长。", "site: at most 128 characters")
        now = face.now()
        where = IncidentFilter(status=state or None, site=site or None, category=category or None,
                               severity=severity or None)
        more = False
        if state:
            docs = list_incidents(store, where=where, limit=500, now=now)
        else:  # the latest LIVE live incidents (a storm: the state filter lists more), then the latest 100 others
            live = list_incidents(store, where=IncidentFilter(**{**where.__dict__, "status": "active"}),
                                  limit=LIVE + 1, now=now)
            more, live = len(live) > LIVE, live[:LIVE]
            rest = [d for d in list_incidents(store, where=where, limit=100 + len(live), now=now)
                    if d["status"] not in views.ORDER]
            docs = live + rest[:100]
        words = text.words(lang)
        # The names of the shown incidents' assets and the sites for the filter: two small queries, never
        # the whole inventory (10,000 assets took most of this page's time).
        names = asset_names(store, (d["asset"] for d in docs))
        rows = [{**d, "opened": views.local(d["opened_at"], face.timezone),
                 "asset_name": names.get(d["asset"], d["asset"]),
                 "left": views.time_left(d["deadline"], now, words, lang) if d["status"] == "open" else ("", False),
                 "kind_word": text.kind(d["kind"], lang)} for d in views.incident_order(docs)]
        sites = asset_sites(store)
        return render(request, face, "incidents.html", person, lang, rows=rows, sites=sites,
                       categories=CATEGORIES, severities=SEVERITIES, states=STATES,
                       chosen={"site": site, "category": category, "severity": severity, "state": state},
                       more=more, live=LIVE)

    @router.get("/ui/incidents/{incident_id}")
    def incident_page(request: Request, incident_id: str, done: str = "") -> Response:
        from opsmon.collector.config.inventory import list_assets
        from opsmon.collector.incidents.read import show_incident

        person = who(face, request)
        lang = lang_of(request, person)
        try:
            doc = show_incident(store, incident_id)
        except NotFound:
            raise Refused(404, f"没有工单 {incident_id}。", f"no incident {incident_id!r}") from None
        now = face.now()
        words = text.words(lang)
        trail = [{**e, "when": views.local(e["ts"], face.timezone), "what": text.action(e["action"], lang)}
                 for e in doc["trail"]]
        found = list_assets(store, include_removed=True, asset_id=doc["asset"])
        # Reclassify as planned: the fault's span by default (from the fault, or the opening, to the resolution or now)
        tz = ZoneInfo(face.timezone)
        span = [parse_timestamp(doc[k]) if doc.get(k) else None for k in ("fault_at", "opened_at", "resolved_at")]
        start, end = span[0] or span[1] or now, span[2] or now
        # The form holds whole seconds: the start rounds up and the end down, so the span stays inside the outage.
        # Rounded down, a start could fall before the asset's life began (an asset down from its first result: its
        # fault is its first interval's start): the SLA counts only its life, so the time taken out came out that
        # fraction of a second short of the span (the reclassify browser test saw 28 ms and 376 ms).
        if start.microsecond:
            start = start.replace(microsecond=0) + timedelta(seconds=1)
        return render(request, face, "incident.html", person, lang, inc=doc, trail=trail,
                       people=face.link_people(),
                       planned={"start": f"{start.astimezone(tz):%Y-%m-%dT%H:%M:%S}",
                                "end": f"{end.astimezone(tz).replace(microsecond=0):%Y-%m-%dT%H:%M:%S}"},
                       asset_name=found[0].name or doc["asset"] if found else doc["asset"],
                       kind_word=text.kind(doc["kind"], lang), can_act=views.can_act(person, doc),
                       left=(views.time_left(doc["deadline"], now, words, lang) if doc["status"] == "open"
                             else ("", False)),
                       when={k: views.local(doc[k], face.timezone) for k in
                             ("opened_at", "deadline", "acknowledged_at", "resolved_at", "fault_at")},
                       done=words.get(f"done_{done}", "") if done in ACTIONS else "")

    # Before /{act}: the first matching route answers.
    @router.post("/ui/incidents/{incident_id}/reclassify")
    async def reclassify(request: Request, incident_id: str) -> Response:
        """Reclassify the incident's outage as planned work: a request for an outage exclusion of its asset marked
        planned (collector/store/exclusions.py, docs/sla.md), which counts once another person approves it on the
        maintenance page; refused in the API's words (an end to come, an overlap, no reason)."""
        from opsmon.collector.incidents.read import show_incident
        from opsmon.collector.outputs.ui.admin import local_input
        from opsmon.collector.store.exclusions import ExclusionRequest, request_exclusion

        person, form = await operator_form(face, request)
        try:
            doc = show_incident(store, incident_id)
        except NotFound:
            raise Refused(404, f"没有工单 {incident_id}。", f"no incident {incident_id!r}") from None
        if len(form.get("reason", "")) > 4000:
            raise Refused(422, "原因最多 4000 个字符。", "reason: at most 4000 characters")
        start = datetime.fromisoformat(local_input(form.get("start", ""), face.timezone, "start"))
        end = datetime.fromisoformat(local_input(form.get("end", ""), face.timezone, "end"))
        req = ExclusionRequest(reason=f"{form.get('reason', '').strip()} ({incident_id})"
                               if form.get("reason", "").strip() else "", asset=doc["asset"], start=start, end=end,
                               planned=True)
        try:
            request_exclusion(store, req, f"ui:{person.name}", face.now())
        except (NotFound, InvalidInput, Conflict) as exc:
            raise refusal(exc, "无法改为计划停机：") from None
        return see("/ui/maintenance?done=reclassified")

    @router.post("/ui/incidents/{incident_id}/{act}")
    async def act_on(request: Request, incident_id: str, act: str) -> Response:
        """Acknowledge, resolve, comment, give to another person of the on-call roster (`to`) or take it over, as
        `ui:<name>` (the incident's trail and the audit log say so); the face's commands, as the API's."""
        person = who(face, request)
        form = await posted(face, request, person)
        need(person, "operator")
        if act not in ACTIONS:
            raise Refused(404, f"没有操作 {act}。", f"no action {act!r}; one of {', '.join(ACTIONS)}")
        note = form.get("note", "")
        if len(note) > 4000:
            raise Refused(422, "说明最多 4000 个字符。", "note must be a text of at most 4000 characters")
        try:
            if act == "reassign":
                face.reassign(incident_id, f"ui:{person.name}", form.get("to", ""), note)
            else:
                command = {"ack": face.acknowledge, "resolve": face.resolve, "note": face.add_note,
                           "takeover": face.take_over}[act]
                command(incident_id, f"ui:{person.name}", note)
        except NotFound as exc:
            raise Refused(404, f"没有进行中的工单 {incident_id}。", str(exc)) from None
        except (InvalidInput, Conflict) as exc:
            raise Refused(409, f"无法执行：{exc}", str(exc)) from None
        return see(f"/ui/incidents/{incident_id}?done={act}")

    return router


