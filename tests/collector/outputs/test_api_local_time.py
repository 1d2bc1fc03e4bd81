"""The API's answers carry times with the configured zone's offset (issue 21, item 6), in-process.

The store of the CLI test (every time column set to 2026-12-06 12:55:00 UTC), the API over it with
timezone Asia/Shanghai: each answer writes that instant as 2026-12-06T20:55:00+08:00 (12:55 + 8 h) and
carries no "+00:00" and no "Z" time; an ISO parser reads the same instant back. The console reads the
collector's face, not these answers, so it is not concerned; clients of the API parse ISO 8601 with offset.
"""
from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import httpx

from opsmon.collector.config.schema import ConsoleConfig
from opsmon.collector.core.lang import localise
from opsmon.collector.outputs.api.app import create_app
from opsmon.collector.store import open_store, tokens, users
from opsmon.collector.store.oncall import remove_override
from tests.collector.cli.test_cli_local_time import KNOWN, _populate

LOCAL = "2026-12-06T20:55:00+08:00"


def test_api_answers_write_times_in_the_configured_zone(tmp_path: Path) -> None:
    db = tmp_path / "opsmon.db"
    _populate(db)
    store = open_store(f"sqlite:///{db}")
    token = tokens.create(store, "reader", "operator", "test")
    face = SimpleNamespace(store=store, max_body_bytes=1 << 20, timezone="Asia/Shanghai", now=lambda: KNOWN)
    app = create_app(face)  # type: ignore[arg-type]

    async def get(path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            return await client.get(path, headers={"Authorization": f"Bearer {token}"})

    try:
        for path, field in (("/api/v1/incidents", "opened_at"), ("/api/v1/incidents/inc-1", "opened_at"),
                            ("/api/v1/events", "ts"), ("/api/v1/audit", "ts")):
            answer = asyncio.run(get(path))
            assert answer.status_code == 200, (path, answer.text)
            text = answer.text
            assert LOCAL in text, (path, text)
            assert "+00:00" not in text and not re.search(r"T\d\d:\d\d(:\d\d(\.\d+)?)?Z", text), (path, text)
            doc = answer.json()
            first = doc if isinstance(doc, dict) else [d for d in doc if d[field] == LOCAL][0]
            assert datetime.fromisoformat(first[field]) == KNOWN  # the same instant, read back
    finally:
        store.close()


def test_only_whole_iso_times_change() -> None:
    """12:55Z is 20:55+08:00; a date, a duration, free text with a time in it and a number stay as they are."""
    doc = {"a": "2026-12-06T12:55:00+00:00", "b": ["2026-12-06T12:55:00.250Z"], "c": "2026-12-06",
           "d": "since 2026-12-06T12:55:00+00:00", "e": "1h30m", "f": 3, "g": None}
    assert localise(doc, "Asia/Shanghai") == {
        "a": LOCAL, "b": ["2026-12-06T20:55:00.250000+08:00"], "c": "2026-12-06",
        "d": "since 2026-12-06T12:55:00+00:00", "e": "1h30m", "f": 3, "g": None}


def test_a_console_path_number_past_64_bits_is_refused_not_a_server_error(tmp_path: Path) -> None:
    """/ui/exclusions/N/approve, /ui/oncall/overrides/N/remove and /ui/reports/N with N = 10**30, asked by a
    logged-in operator with the session's CSRF token (so nothing before the row's look-up refuses it): 422 before
    the database is asked (SQLite cannot hold the number: it was a 500). N = 99 (a number that fits, no such row)
    reaches the store and is its 404 (refusal) or the page's redirect: the same session got that far."""
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    users.add(store, "li.wei", "operator", "correct horse battery", "test", KNOWN)
    # the service's face as far as these pages use it: a roster in force (its content unused by a removal) and the
    # removal the service's face makes (store/oncall_overrides.remove_override, then a reload with nothing to do)
    face = SimpleNamespace(store=store, max_body_bytes=1 << 20, timezone="Asia/Shanghai", now=lambda: KNOWN,
                           console=ConsoleConfig(), directory=None, oncall=lambda: SimpleNamespace(),
                           remove_override=lambda oid, actor: remove_override(store, oid, actor, KNOWN))
    app = create_app(face)  # type: ignore[arg-type]
    big = 10**30

    async def ask(asks: list[tuple[str, str]]) -> list[httpx.Response]:
        # raise_app_exceptions off: an exception in the app is the 500 a browser would get, not a test error
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            await client.get("/ui/login")  # sets the pre-login CSRF cookie the login form echoes
            login = await client.post("/ui/login", data={"csrf": client.cookies.get("opsmon_pre", ""),
                                                         "name": "li.wei", "password": "correct horse battery"})
            assert login.status_code == 303, login.text[:200]
            person = users.person(store, client.cookies.get("opsmon_session", ""), KNOWN)
            assert person is not None and person.role == "operator"
            return [await client.request(method, path, data={"csrf": person.csrf} if method == "POST" else None)
                    for method, path in asks]

    try:
        asks = [("POST", "/ui/exclusions/{}/approve"), ("POST", "/ui/oncall/overrides/{}/remove"),
                ("GET", "/ui/reports/{}")]
        answers = asyncio.run(ask([(m, p.format(big)) for m, p in asks] + [(m, p.format(99)) for m, p in asks]))
        assert [a.status_code for a in answers[:3]] == [422, 422, 422], [a.status_code for a in answers[:3]]
        # 99: past the session and CSRF checks to the store's look-up: no exclusion, override or report 99 (404)
        assert [a.status_code for a in answers[3:]] == [404, 404, 404], [a.text[:200] for a in answers[3:]]
    finally:
        store.close()
