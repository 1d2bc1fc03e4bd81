"""The HTTP API. Reads are outputs; the only writes are inventory and maintenance edits, each audited.

Authentication: `Authorization: Bearer <token>` (see `opsmon tokens create`).
Reads are open when `api.public_read` is true; writes always need an operator.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from collector import __version__, audit, tokens
from collector.config.yamlfile import YamlDoc
from collector.errors import ConfigError, InvalidInput, NotFound
from collector.fields import parse_timestamp
from collector.history import asset_history
from collector.ingest import MAX_BYTES as MAX_REPORT
from collector.inventory import (
    AssetSpec,
    list_assets,
    parse_inventory_doc,
    remove_asset,
    upsert_assets,
    validate_asset,
)
from collector.maintenance import WindowSpec
from collector.store.models import MaintenanceWindow

if TYPE_CHECKING:
    from collector.service import Service

RANK = {"viewer": 0, "operator": 1, "admin": 2}
REPORT_PATH = "/api/v1/agent/report"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Refusal = tuple[int, dict[str, Any], tuple[tuple[str, str], ...]]


def _json(doc: dict[str, Any]) -> bytes:
    """JSON exactly as Starlette's JSONResponse renders it."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


class ReportEndpoint:
    """POST /api/v1/agent/report, independent of the web framework.

    Used by both the bare ASGI route (the hot path: 2,000 reports/s are the goal, and FastAPI's
    request, dependency and response machinery cost about half of the event loop's time per
    report) and the documented FastAPI route, so the two cannot drift apart.
    """

    UNAUTHORIZED: Refusal = (401, {"detail": "invalid, revoked or missing agent token"},
                             (("WWW-Authenticate", "Bearer"),))

    def __init__(self, service: Service) -> None:
        self.service = service
        self.too_large = {"detail": f"report larger than {MAX_REPORT} bytes"}

    def agent(self, authorization: str | None) -> tuple[str, str] | None:
        """(agent, asset) for a valid `Bearer <agent token>`; None answers 401 (UNAUTHORIZED)."""
        scheme, _, token = (authorization or "").partition(" ")
        return self.service.agent_auth.check(token.strip()) if scheme.lower() == "bearer" else None

    @staticmethod
    def too_large_declared(content_length: str | None) -> bool:
        """A Content-Length over MAX_REPORT is refused (413) before reading the body."""
        return content_length is not None and content_length.isdigit() and int(content_length) > MAX_REPORT

    def ingest(self, found: tuple[str, str], body: bytes, sent_at: str | None) -> tuple[int, dict[str, Any]]:
        """(status, answer) for a body of at most MAX_REPORT bytes from the agent `found`."""
        agent, asset_id = found
        ingest = self.service.ingest
        try:
            report = ingest.parse(body)
            status = ingest.accept(agent, asset_id, report, sent_at, body)
        except InvalidInput as exc:
            return 422, {"detail": str(exc)}
        return 200, {"status": status, "interval": self.service.config.agents.interval}


class ReportRoute:
    """The ASGI application: POST /api/v1/agent/report served directly, every other request by FastAPI.

    Same answers as the FastAPI route (status, JSON body, headers); only the framework's per-request
    work is skipped. Anything but a POST to exactly that path (another method, a trailing slash,
    lifespan) goes to FastAPI, which answers it as before.
    """

    def __init__(self, endpoint: ReportEndpoint, fallback: FastAPI) -> None:
        self.endpoint = endpoint
        self.fastapi = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == REPORT_PATH and scope["method"] == "POST":
            await self._report(scope, receive, send)
        else:
            await self.fastapi(scope, receive, send)

    async def _report(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = content_length = sent_at = None
        for name, value in scope["headers"]:  # lower-case names; the first of repeated headers counts, as in Starlette
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"content-length" and content_length is None:
                content_length = value.decode("latin-1")
            elif name == b"x-opsmon-sent-at" and sent_at is None:
                sent_at = value.decode("latin-1")
        found = self.endpoint.agent(authorization)
        if found is None:
            await _answer(send, *self.endpoint.UNAUTHORIZED)
            return
        if self.endpoint.too_large_declared(content_length):
            await _answer(send, 413, self.endpoint.too_large)
            return
        chunks: list[bytes] = []
        size = 0
        while True:  # bounded even without Content-Length (chunked uploads)
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # nobody to answer
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_REPORT:
                    await _answer(send, 413, self.endpoint.too_large)
                    return
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        status, doc = self.endpoint.ingest(found, body, sent_at)
        await _answer(send, status, doc)


async def _answer(send: Send, status: int, doc: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()) -> None:
    """A JSON response with the headers Starlette's JSONResponse sends, in its order."""
    body = _json(doc)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw += [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise HTTPException(422, f"{name}: {value!r} is not an ISO 8601 timestamp with a UTC offset") from None


def create_app(service: Service) -> ReportRoute:
    """The collector's ASGI application: agent reports on a bare route, everything else through FastAPI."""
    return ReportRoute(ReportEndpoint(service), _fastapi_app(service))


def _fastapi_app(service: Service) -> FastAPI:
    # Handlers that read or change the timeline are `async`: they then run on the
    # event loop that owns it, never on a worker thread racing it.
    app = FastAPI(title="opsmon collector", version=__version__,
                  description="Assets, states and their history; metrics at /metrics.")
    store = service.store

    def who(required: str) -> Callable[[Request], str]:
        def dep(request: Request) -> str:
            header = request.headers.get("authorization", "")
            if not header:
                if required == "viewer" and service.config.api.public_read:
                    return "anonymous"
                raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
            scheme, _, token = header.partition(" ")
            found = tokens.authenticate(store, token.strip()) if scheme.lower() == "bearer" else None
            if found is None:
                raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
            name, role = found
            if RANK[role] < RANK[required]:
                raise HTTPException(403, f"this needs the {required} role; {name} has {role}")
            return name

        return dep

    viewer, operator = who("viewer"), who("operator")

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/api/v1/health")
    async def health() -> dict[str, Any]:
        """Liveness plus the numbers that tell whether the collector keeps up."""
        return {
            "status": "ok" if service.writer.healthy else "degraded",
            "store_writer_alive": service.writer.alive,
            "store_dropped_ops": service.writer.dropped,
            "version": __version__,
            "started": service.started.isoformat(),
            "assets": len(service.assets),
            "checks": service.scheduler.job_count,
            "store_queue": service.writer.queue.qsize(),
            "store_write_failures": service.writer.failures,
            "reports_checked": service.reports_checked.isoformat() if service.reports_checked else None,
        }

    def _state_doc(asset_id: str) -> dict[str, Any]:
        track = service.timeline.tracks.get(asset_id)
        if track is None:
            return {"state": None}
        return {"state": track.state, "since": track.since.isoformat(), "reason": track.reason,
                "check_status": {cid: {"status": ct.confirmed, "reason": ct.reason,
                                 "last_result": ct.last_status,
                                 "last_ts": ct.last_ts.isoformat() if ct.last_ts else None}
                           for cid, ct in track.checks.items()}}

    def _asset_docs(include_removed: bool, **filters: str | None) -> list[dict[str, Any]]:
        """The rows as documents; runs in a worker thread (thousands of rows take most of a second)."""
        out = []
        for row in list_assets(store, include_removed, **filters):
            doc = AssetSpec.from_row(row).model_dump(mode="json", exclude_none=True)
            doc["removed_at"] = row.removed_at.isoformat() if row.removed_at else None
            out.append(doc)
        return out

    @app.get("/api/v1/assets", response_model=list[dict[str, Any]])
    async def assets(_: str = Depends(viewer), category: str | None = None, site: str | None = None,
                     include_removed: bool = False) -> Response:
        docs = await asyncio.to_thread(_asset_docs, include_removed, category=category or None, site=site or None)
        for doc in docs:  # live states on the loop, where the timeline changes
            doc.update(_state_doc(doc["id"]))
        body = await asyncio.to_thread(lambda: json.dumps(docs, ensure_ascii=False).encode())
        return Response(body, media_type="application/json")

    @app.get("/api/v1/assets/{asset_id}")
    async def asset(asset_id: str, _: str = Depends(viewer)) -> dict[str, Any]:
        docs = await asyncio.to_thread(_asset_docs, True, asset_id=asset_id)
        if not docs:
            raise NotFound(f"no asset {asset_id!r}")
        docs[0].update(_state_doc(asset_id))
        return docs[0]

    @app.put("/api/v1/assets/{asset_id}")
    async def put_asset(asset_id: str, body: dict[str, Any] = Body(...),
                        actor: str = Depends(operator)) -> dict[str, Any]:
        """Create or update one asset (same rules as `opsmon assets import`)."""
        if body.get("id", asset_id) != asset_id:
            raise InvalidInput(f"id in the body ({body.get('id')!r}) differs from the URL ({asset_id!r})")
        spec = validate_asset({**body, "id": asset_id})
        result = upsert_assets(store, [spec], f"api:{actor}")
        service.reload_inventory()
        return {k: v for k, v in result.items() if v}

    @app.post("/api/v1/assets/import")
    async def import_assets(body: dict[str, Any] = Body(..., examples=[{"assets": [
            {"id": "wan-hami", "category": "link", "site": "hami", "address": "10.65.1.1",
             "checks": [{"type": "icmp"}]}]}]),
            actor: str = Depends(operator)) -> dict[str, Any]:
        """Create or update many assets at once, exactly like `opsmon assets import` (all or nothing)."""
        try:
            specs = parse_inventory_doc(YamlDoc("request body", body, {}))
        except ConfigError as exc:
            raise InvalidInput(f"{exc.keypath}: {exc.reason}") from None
        result = upsert_assets(store, specs, f"api:{actor}")
        service.reload_inventory()
        return {k: v for k, v in result.items() if v}

    @app.delete("/api/v1/assets/{asset_id}")
    async def delete_asset(asset_id: str, actor: str = Depends(operator)) -> dict[str, Any]:
        """Mark removed: monitoring stops, history is kept."""
        remove_asset(store, asset_id, f"api:{actor}")
        service.reload_inventory()
        return {"removed": asset_id}

    @app.get("/api/v1/states")
    async def states(_: str = Depends(viewer)) -> list[dict[str, Any]]:
        """Current state of every monitored asset."""
        out = []
        for asset_id, track in sorted(service.timeline.tracks.items()):
            meta = service.assets.get(asset_id)
            out.append({"asset": asset_id, "category": meta.category if meta else None,
                        "site": meta.site if meta else None, "state": track.state,
                        "since": track.since.isoformat(), "reason": track.reason})
        return out

    @app.get("/api/v1/assets/{asset_id}/history")
    def history(asset_id: str, _: str = Depends(viewer),
                from_: str | None = Query(None, alias="from", description="ISO 8601; default 24 h ago"),
                to: str | None = Query(None, description="ISO 8601; default now")) -> dict[str, Any]:
        """State intervals clipped to [from, to), with seconds per state."""
        now = service.clock()
        end = _parse_time(to, "to") or now
        start = _parse_time(from_, "from") or end - timedelta(days=1)
        if end <= start:
            raise HTTPException(422, "to must be after from")
        if end - start > timedelta(days=3660):
            raise HTTPException(422, "the range may span at most 10 years")
        if not list_assets(store, include_removed=True, asset_id=asset_id):
            raise NotFound(f"no asset {asset_id!r}")
        spans, totals = asset_history(store, asset_id, start, end, now)
        return {
            "asset": asset_id, "from": start.isoformat(), "to": end.isoformat(),
            "seconds": {k: round(v, 3) for k, v in totals.items()},
            "intervals": [{"state": s.state, "start": s.start.isoformat(),
                           "end": s.end.isoformat() if s.end else None, "reason": s.reason} for s in spans],
        }

    @app.get("/api/v1/sla")
    def sla(_: str = Depends(viewer),
            period: str | None = Query(None, description="2026Q3, 2026-08 or 2026; default: this quarter"),
            from_: str | None = Query(None, alias="from", description="ISO 8601 start of a custom range"),
            to: str | None = Query(None, description="ISO 8601 end of a custom range")) -> dict[str, Any]:
        """Every target of the target table, measured over the period (the same as `opsmon sla`)."""
        from collector.sla.engine import evaluate
        from collector.sla.periods import containing, parse_period, range_period
        from collector.sla.targets import load_targets

        tz = service.config.timezone
        if from_ or to:
            if not (from_ and to):
                raise InvalidInput("give both from and to, or period")
            chosen = range_period(from_, to, tz)
        else:
            chosen = parse_period(period, tz) if period else containing("quarter", service.clock(), tz)
        return evaluate(store, load_targets(service.config.targets_path()), chosen, service.clock())

    reports = ReportEndpoint(service)

    @app.post(REPORT_PATH, include_in_schema=True)
    async def agent_report(request: Request) -> JSONResponse:
        """Where agents push reports (agent token, not a person's). Answers with the settings to use.

        Served by ReportRoute ahead of FastAPI; this route documents it in /docs and shares its logic.
        """
        found = reports.agent(request.headers.get("authorization"))
        if found is None:
            status, doc, headers = reports.UNAUTHORIZED
            return JSONResponse(doc, status_code=status, headers=dict(headers))
        if reports.too_large_declared(request.headers.get("content-length")):
            return JSONResponse(reports.too_large, status_code=413)
        body = b""
        async for chunk in request.stream():  # bounded even without Content-Length (chunked uploads)
            body += chunk
            if len(body) > MAX_REPORT:
                return JSONResponse(reports.too_large, status_code=413)
        status, doc = reports.ingest(found, body, request.headers.get("x-opsmon-sent-at"))
        return JSONResponse(doc, status_code=status)

    @app.get("/api/v1/maintenance")
    async def windows(_: str = Depends(viewer)) -> list[dict[str, Any]]:
        config_ids = {w.id for w in service.config.maintenance}
        return [{**w.model_dump(mode="json", exclude_none=True),
                 "source": "config" if w.id in config_ids else "api"} for w in service.book.specs()]

    @app.post("/api/v1/maintenance", status_code=201)
    async def add_window(body: dict[str, Any] = Body(...), actor: str = Depends(operator)) -> dict[str, Any]:
        try:
            spec = WindowSpec.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(body)"
            raise InvalidInput(f"{where}: {err['msg']}") from None
        now = service.clock()
        if spec.start is not None and spec.start < now - timedelta(minutes=1):
            # A window in the past would relabel recorded time as maintenance: evidence is not rewritten.
            raise InvalidInput("start: a maintenance window cannot begin in the past")
        with store.session.begin() as session:
            if spec.id in {w.id for w in service.config.maintenance} or session.get(MaintenanceWindow, spec.id):
                raise HTTPException(409, f"a window with id {spec.id!r} exists")
            session.add(MaintenanceWindow(id=spec.id, spec=spec.model_dump(mode="json"), created_by=actor,
                                          created_at=now))
            audit.record(session, f"api:{actor}", "maintenance.add", spec.id, spec.model_dump(mode="json"), now)
        service.reload_windows()
        return spec.model_dump(mode="json", exclude_none=True)

    @app.delete("/api/v1/maintenance/{window_id}")
    async def remove_window(window_id: str, actor: str = Depends(operator)) -> dict[str, Any]:
        now = datetime.now(UTC)
        with store.session.begin() as session:
            row = session.get(MaintenanceWindow, window_id)
            if row is None or row.removed_at is not None:
                if window_id in {w.id for w in service.config.maintenance}:
                    raise HTTPException(409, f"{window_id!r} is declared in the config file; remove it there")
                raise NotFound(f"no maintenance window {window_id!r}")
            row.removed_at = now
            audit.record(session, f"api:{actor}", "maintenance.remove", window_id, {}, now)
        service.reload_windows()
        return {"removed": window_id}

    @app.get("/api/v1/compliance")
    async def compliance(_: str = Depends(viewer), asset: str | None = None) -> list[dict[str, Any]]:
        """Per host and control point: baseline checks passed and failed, and the share passed."""
        rows = service.security.scores()
        return [r for r in rows if asset is None or r["asset"] == asset]

    @app.get("/api/v1/assets/{asset_id}/baseline")
    async def baseline(asset_id: str, _: str = Depends(viewer)) -> dict[str, Any]:
        """The latest result of every baseline check on a host, with its evidence and since when."""
        host = service.security.latest.get(asset_id)
        if host is None:
            raise NotFound(f"no baseline results for {asset_id!r} yet")
        checks = []
        for check_id, (status, evidence, since) in sorted(host.checks.items()):
            info = service.security.catalog(host.policy, check_id)
            checks.append({"id": check_id, "status": status, "evidence": evidence, "since": since.isoformat(),
                           "control": info.control if info else None, "title_en": info.title_en if info else None,
                           "title_zh": info.title_zh if info else None})
        return {"asset": asset_id, "policy": host.policy,
                "ran_at": host.ran_at.isoformat() if host.ran_at else None, "checks": checks}

    @app.get("/api/v1/configs")
    def configs_assets(_: str = Depends(operator)) -> list[dict[str, Any]]:
        """Devices with stored configurations (operator role: even redacted, a config maps the network)."""
        from collector.ssh import configs

        return configs.list_assets(store)

    @app.get("/api/v1/configs/{asset_id}")
    def configs_versions(asset_id: str, name: str = "running", _: str = Depends(operator)) -> list[dict[str, Any]]:
        from collector.ssh import configs

        return configs.list_versions(store, asset_id, name)

    @app.get("/api/v1/configs/{asset_id}/diff")
    def configs_diff(asset_id: str, a: str = "previous", b: str = "latest", name: str = "running",
                     _: str = Depends(operator)) -> Response:
        from collector.ssh import configs

        def version(v: str) -> Any:
            return int(v) if v.isdigit() else v

        return Response(configs.diff(store, asset_id, version(a), version(b), name), media_type="text/plain")

    @app.get("/api/v1/configs/{asset_id}/{version}")
    def configs_show(asset_id: str, version: str, name: str = "running",
                     _: str = Depends(operator)) -> dict[str, Any]:
        from collector.ssh import configs

        return configs.show(store, asset_id, int(version) if version.isdigit() else version, name)

    @app.get("/api/v1/reports")
    def report_listing(_: str = Depends(viewer)) -> list[dict[str, Any]]:
        """Generated SLA reports, newest first, each with its SHA-256."""
        from collector.report.delivery import listing

        return listing(store)

    @app.get("/api/v1/reports/{report_id}")
    def report_file(report_id: int, _: str = Depends(viewer)) -> Response:
        """The report file itself; X-Opsmon-SHA256 lets the receiver check it."""
        from fastapi.responses import FileResponse

        from collector.report.delivery import find

        row = find(store, report_id)
        if row is None:
            raise NotFound(f"no report {report_id}")
        media = {"pdf": "application/pdf", "html": "text/html; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        return FileResponse(row.path, media_type=media.get(row.format, "application/octet-stream"),
                            filename=Path(row.path).name, headers={"X-Opsmon-SHA256": row.sha256})

    @app.get("/api/v1/events")
    def events(_: str = Depends(viewer), asset: str | None = None, kind: str | None = None,
               name: str | None = Query(None, description="e.g. linkDown, coldStart"),
               from_: str | None = Query(None, alias="from", description="ISO 8601"),
               to: str | None = Query(None, description="ISO 8601"),
               limit: int = Query(100, ge=1, le=10000)) -> list[dict[str, Any]]:
        """Events devices reported on their own (SNMP traps), newest first."""
        from collector.events import read_events

        return read_events(store, asset, _parse_time(from_, "from"), _parse_time(to, "to"), kind, name, limit)

    @app.get("/api/v1/assets/{asset_id}/interfaces")
    async def interfaces(asset_id: str, _: str = Depends(viewer)) -> dict[str, Any]:
        """The latest SNMP poll of a device: interface rows with their rates, and present hardware faults."""
        hub = service.snmp
        state = hub.devices.get(asset_id) if hub is not None else None
        if state is None or state.last is None:
            raise NotFound(f"no SNMP poll of {asset_id!r} yet")
        rates = state.rates.get("if", {})
        rows = [{"ifIndex": idx, **row, **rates.get(idx, {})} for idx, row in state.last.tables.get("if", {}).items()]
        return {"asset": asset_id, "polled_at": datetime.fromtimestamp(state.last.at, UTC).isoformat(),
                "profiles": [p.name for p in state.profiles], "interfaces": rows,
                "faults": [{"component": c, "problem": en, "problem_zh": zh} for c, en, zh in state.faults]}

    @app.get("/api/v1/incidents")
    def incidents(_: str = Depends(viewer), status: str | None = Query(
                      None, description="open, acknowledged, resolved, closed, merged, or active (open+acknowledged)"),
                  asset: str | None = None, from_: str | None = Query(None, alias="from"), to: str | None = None,
                  limit: int = Query(100, ge=1, le=10000)) -> list[dict[str, Any]]:
        from collector.incidents.read import list_incidents

        return list_incidents(store, status, asset, _parse_time(from_, "from"), _parse_time(to, "to"), limit)

    @app.get("/api/v1/incidents/{incident_id}")
    def incident(incident_id: str, _: str = Depends(viewer)) -> dict[str, Any]:
        """One incident with its whole trail: every state change, escalation and delivery, with actors."""
        from collector.incidents.read import show_incident

        return show_incident(store, incident_id)

    def _note(body: dict[str, Any] | None) -> str:
        note = (body or {}).get("note", "")
        if not isinstance(note, str) or len(note) > 4000:
            raise InvalidInput("note must be a text of at most 4000 characters")
        return note

    @app.post("/api/v1/incidents/{incident_id}/ack")
    async def ack_incident(incident_id: str, body: dict[str, Any] | None = Body(None),
                           actor: str = Depends(operator)) -> dict[str, Any]:
        """Acknowledge (the response the SLA counts), by the token's person."""
        from collector.incidents.read import show_incident

        service.incidents.acknowledge(incident_id, actor, _note(body))
        return show_incident(store, incident_id)

    @app.post("/api/v1/incidents/{incident_id}/resolve")
    async def resolve_incident(incident_id: str, body: dict[str, Any] = Body(...),
                               actor: str = Depends(operator)) -> dict[str, Any]:
        from collector.incidents.read import show_incident

        service.incidents.resolve(incident_id, actor, _note(body))
        return show_incident(store, incident_id)

    @app.post("/api/v1/incidents/{incident_id}/note")
    async def note_incident(incident_id: str, body: dict[str, Any] = Body(...),
                            actor: str = Depends(operator)) -> dict[str, Any]:
        from collector.incidents.read import show_incident

        service.incidents.add_note(incident_id, actor, _note(body))
        return show_incident(store, incident_id)

    @app.post("/api/v1/alertmanager")
    async def alertmanager_webhook(body: dict[str, Any] = Body(...),
                                   _: str = Depends(operator)) -> dict[str, Any]:
        """Alertmanager's webhook (version 4): each firing alert opens or keeps an incident, resolved resolves."""
        alerts = body.get("alerts")
        if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
            raise InvalidInput("expected Alertmanager's webhook body: an object with an 'alerts' list")
        if len(alerts) > 1000:
            raise InvalidInput("at most 1000 alerts per call")
        now = service.clock()
        ids = [service.incidents.on_alert(a, now) for a in alerts]
        return {"incidents": [i for i in ids if i]}

    @app.get("/ack/{token}", include_in_schema=False)
    async def ack_page(token: str) -> Response:
        """Shows the incident and a button; only the POST acknowledges (mail scanners prefetch GETs)."""
        return _ack_response(token, confirm=False)

    @app.post("/ack/{token}", include_in_schema=False)
    async def ack_confirm(token: str) -> Response:
        return _ack_response(token, confirm=True)

    def _ack_response(token: str, confirm: bool) -> Response:
        from collector.incidents.links import LinkRefused
        from collector.incidents.page import ack_page_html

        links = service.links
        if links is None:
            return HTMLResponse(ack_page_html("refused", None, "", "acknowledge links are not configured",
                                              "未配置确认链接"), status_code=404)
        now = service.clock()
        try:
            claim = links.use(token, now) if confirm else links.check(token, now)
        except LinkRefused as exc:
            return HTMLResponse(ack_page_html("refused", None, "", exc.reason_en, exc.reason_zh),
                                status_code=exc.status)
        inc = service.incidents.by_id.get(claim.incident_id)
        if not confirm:
            return HTMLResponse(ack_page_html("confirm", inc, claim.person, "", ""))
        if inc is None or inc.status != "open":
            state = inc.status if inc else "closed"
            return HTMLResponse(ack_page_html("refused", inc, claim.person, f"the incident is already {state}",
                                              f"该事件已处于 {state} 状态"), status_code=409)
        service.incidents.acknowledge(inc.id, f"link:{claim.person}", "acknowledged with the link")
        return HTMLResponse(ack_page_html("done", inc, claim.person, "", ""))

    @app.get("/api/v1/audit")
    def audit_log(_: str = Depends(operator), limit: int = Query(100, ge=1, le=10000)) -> list[dict[str, Any]]:
        with store.session() as session:
            return [{"ts": e.ts.isoformat(), "actor": e.actor, "action": e.action, "target": e.target,
                     "detail": e.detail} for e in audit.read(session, limit)]

    @app.get("/metrics", include_in_schema=False)
    async def metrics(_: str = Depends(viewer)) -> Response:
        # Rendering 5,000 assets takes ~0.8 s: do it off the loop. The collectors take their
        # snapshots with list(dict.items()), which is atomic under the GIL.
        body = await asyncio.to_thread(generate_latest, service.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return app
