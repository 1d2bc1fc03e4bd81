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

from opsmon.collector.core.lang import localise
from opsmon.collector.outputs.api.app import create_app
from opsmon.collector.store import open_store, tokens
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
    """/ui/exclusions/N/approve, /ui/oncall/overrides/N/remove and /ui/reports/N with N = 10**30: 422 before any
    session or database is asked (SQLite cannot hold the number: it was a 500)."""
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    face = SimpleNamespace(store=store, max_body_bytes=1 << 20, timezone="Asia/Shanghai", now=lambda: KNOWN)
    app = create_app(face)  # type: ignore[arg-type]
    big = 10**30

    async def ask(method: str, path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            return await client.request(method, path)

    try:
        for method, path in (("POST", f"/ui/exclusions/{big}/approve"), ("POST", f"/ui/oncall/overrides/{big}/remove"),
                             ("GET", f"/ui/reports/{big}")):
            answer = asyncio.run(ask(method, path))
            assert answer.status_code == 422, (path, answer.status_code, answer.text[:200])
    finally:
        store.close()
