"""Incident notifications reach real peers on loopback: Alertmanager, an SMTP server, and HTTP servers
standing in for WeCom, DingTalk and a webhook receiver (payloads checked against the documented formats)."""
from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from opsmon.collector.core.errors import ConfigError, NotFound
from opsmon.collector.notify import (
    Dispatcher,
    Notice,
    NotifyConfig,
    Person,
    RetryPolicy,
    build_channels,
    compose,
    render,
)
from opsmon.collector.notify.base import scrub
from opsmon.collector.notify.texts import EVENTS, KINDS, LABELS, PHRASES, SEVERITIES
from tests.conftest import closed_port
from tests.peers.alertmanager import Alertmanager
from tests.peers.collector import wait_for
from tests.peers.receiver import Recorder
from tests.peers.smtp import SmtpServer, self_signed

OPENED = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
NOW = OPENED + timedelta(minutes=5)
WECOM_KEY = "6c3f1a2e-wecom-key-0001"
DING_TOKEN = "dingtokenSECRETvalue0002"
DING_SECRET = "SECd1ngs1gn+secret/0003"
HOOK_SECRET = "hook-hmac-secret-0004-abcdefghijklmnop"
SMTP_PASSWORD = "smtp-p@ss-0005"
ALL_SECRETS = (WECOM_KEY, DING_TOKEN, DING_SECRET, HOOK_SECRET, SMTP_PASSWORD)


def notice(**changes: Any) -> Notice:
    base = Notice(
        incident_id="INC-42", event="opened", asset_id="core-sw-1", asset_name="核心交换机1", site="省政务云机房A",
        category="network", kind="availability", severity="critical", cause="icmp: no reply from 10.1.2.3",
        opened_at=OPENED, deadline=OPENED + timedelta(minutes=30), level=0,
        recipients=(Person("张三", "zhangsan@it.example.gov.cn", "13800000001"), Person("Li Si", None, None)),
        ack_url="https://opsmon.example.gov.cn/ack/INC-42?sig=abc", attached=50, acknowledged_by=None,
        timezone="Asia/Shanghai")
    return replace(base, **changes)


# ---------------------------------------------------------------- a POST-recording HTTP server




# ---------------------------------------------------------------- helpers


class Attempts(list[tuple[str, str, int, bool, "str | None", datetime]]):
    def __call__(self, incident_id: str, channel: str, attempt: int, ok: bool, error: str | None,
                 at: datetime) -> None:
        self.append((incident_id, channel, attempt, ok, error, at))

    def of(self, channel: str) -> list[tuple[int, bool, str | None]]:
        return [(a, ok, err) for _, ch, a, ok, err, _ in self if ch == channel]


class Sleeps(list[float]):
    """Injected sleep: records the backoff and returns at once."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        await asyncio.sleep(0)


def channels(tmp_path: Path, spec: dict[str, Any]) -> dict[str, Any]:
    return build_channels(NotifyConfig.model_validate({"channels": spec}), tmp_path, "collector.yaml")


async def deliver(chans: dict[str, Any], notices: list[tuple[Notice, list[str]]], record: Attempts,
                  sleep: Any = None, policy: RetryPolicy | None = None, timeout: float = 20) -> Dispatcher:
    d = Dispatcher(chans, record, policy, sleep=Sleeps() if sleep is None else sleep, clock=lambda: datetime.now(UTC))
    for n, names in notices:
        d.submit(n, names)
    try:
        await d.join(timeout)
    finally:
        await d.close()
    return d


# ---------------------------------------------------------------- texts


def test_every_text_exists_in_chinese_and_english() -> None:
    """No user-visible word may exist in one language only."""
    for table in (EVENTS, SEVERITIES, KINDS, LABELS, PHRASES):
        for key, texts in table.items():
            assert set(texts) == {"zh", "en"} and all(texts.values()), key


def test_render_says_what_where_since_when_deadline_and_ack_link() -> None:
    zh_title, zh = render(notice(), "zh", NOW)
    en_title, en = render(notice(), "en", NOW)
    assert zh_title == "[紧急] 新故障：核心交换机1（省政务云机房A）"
    assert en_title == "[CRITICAL] Opened: 核心交换机1 at 省政务云机房A"
    assert "开始时间：2024-05-01 10:00:00 (Asia/Shanghai)" in zh  # 02:00 UTC shown in local time
    assert "响应时限：2024-05-01 10:30:00 (Asia/Shanghai)，剩余 25分" in zh
    assert "Respond by: 2024-05-01 10:30:00 (Asia/Shanghai), 25m left" in en
    assert "另有 50 个相关告警" in zh and "50 more related alerts" in en
    assert "icmp: no reply from 10.1.2.3" in zh and "icmp: no reply from 10.1.2.3" in en
    assert notice().ack_url in zh and notice().ack_url in en
    title, body = compose(notice(), None, NOW)
    assert title == f"{zh_title} / {en_title}" and body.index(zh) < body.index(en)


def test_render_overdue_acknowledged_and_resolved() -> None:
    _, late = render(notice(event="escalated", level=2), "en", OPENED + timedelta(minutes=45))
    assert "overdue by 15m" in late and "Escalated (level 2)" in late
    _, acked = render(notice(event="acknowledged", acknowledged_by="王五"), "zh", NOW)
    assert "确认人：王五" in acked and "响应时限" not in acked and "确认链接" not in acked
    _, done = render(notice(event="resolved", at=OPENED + timedelta(hours=1, minutes=5)), "en", NOW)
    assert "Lasting: 1h5m" in done


def test_notice_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        notice(opened_at=datetime(2024, 5, 1))


# ---------------------------------------------------------------- Alertmanager (real)


def test_alertmanager_routes_incident_alerts_to_its_receiver(tmp_path: Path, recorder: Callable[..., Recorder]) -> None:
    """Alerts posted by opsmon go through Alertmanager's routing and arrive with opsmon's labels;
    an escalation ends the lower level's alert and resolving ends the incident's. Levels count from 1 as
    the escalation policy's do: before issue 18 every escalated or resolved notice also ended a `level="0"`
    alert that never fired, and it reached the receiver (the phantom alert)."""
    receiver = recorder((200, b"{}"))
    am = Alertmanager(tmp_path / "am", receiver.url + "/am").start()
    try:
        def alerts() -> list[dict[str, Any]]:
            return [a for r in list(receiver.requests) for a in r.json()["alerts"]]

        def seen(level: str, status: str) -> bool:
            return any(a["labels"]["level"] == level and a["status"] == status for a in alerts())

        async def scenario() -> Attempts:
            record = Attempts()
            chans = channels(tmp_path, {"am": {"type": "alertmanager", "url": am.url, "labels": {"env": "test"}}})
            d = Dispatcher(chans, record, sleep=Sleeps())
            d.submit(notice(level=1, at=datetime.now(UTC)), ["am"])
            await asyncio.to_thread(wait_for, lambda: seen("1", "firing"), 20, "the firing alert at the receiver")
            d.submit(notice(event="escalated", level=2, at=datetime.now(UTC)), ["am"])
            await asyncio.to_thread(wait_for, lambda: seen("2", "firing") and seen("1", "resolved"), 20,
                                    "level 2 firing and level 1 resolved")
            d.submit(notice(event="resolved", level=2, status="resolved", at=datetime.now(UTC)), ["am"])
            await asyncio.to_thread(wait_for, lambda: seen("2", "resolved"), 20, "the resolved alert")
            await d.close()
            return record

        record = asyncio.run(scenario())
    finally:
        am.stop()
    assert [ok for *_, ok, _, _ in record] == [True, True, True]
    assert sorted({a["labels"]["level"] for a in alerts()}) == ["1", "2"]  # no phantom level 0
    first = next(a for a in alerts() if a["status"] == "firing")
    assert first["labels"] == {
        "alertname": "OpsmonIncident", "incident": "INC-42", "asset": "core-sw-1", "site": "省政务云机房A",
        "category": "network", "kind": "availability", "severity": "critical", "level": "1", "env": "test"}
    ann = first["annotations"]
    assert ann["summary"].startswith("[CRITICAL] Opened") and ann["summary_zh"].startswith("[紧急] 新故障")
    assert "Respond by" in ann["description"] and "响应时限" in ann["description_zh"]
    assert ann["ack_url"] == notice().ack_url
    assert first["startsAt"].startswith("2024-05-01T02:00:00")


def test_alertmanager_silence_on_ack_expired_at_resolve_and_settled_does_not_refire(tmp_path: Path) -> None:
    """Through the real Alertmanager's API v2: acknowledging creates one silence on alertname and incident
    (a retried delivery does not make a second), the incident's alert shows suppressed by it; resolving
    expires it. A `settled` notice of an incident that resolved while it flapped leaves no active alert
    (before issue 18 it posted a firing alert again, endsAt a day ahead)."""
    import httpx

    am = Alertmanager(tmp_path / "am", "http://127.0.0.1:9/unused").start()
    api = am.url + "/api/v2"
    query = {"filter": 'incident="INC-42"'}

    def mine() -> list[dict[str, Any]]:
        return [s for s in httpx.get(api + "/silences", params=query).json() if s["createdBy"] == "opsmon"]

    def active_alerts() -> list[dict[str, Any]]:
        return httpx.get(api + "/alerts", params=query).json()

    try:
        async def scenario() -> Attempts:
            record = Attempts()
            chans = channels(tmp_path, {"am": {"type": "alertmanager", "url": am.url}})
            d = Dispatcher(chans, record, sleep=Sleeps())
            d.submit(notice(level=1, status="open"), ["am"])
            await d.join(20)
            assert [a["labels"]["level"] for a in active_alerts()] == ["1"]
            assert mine() == []
            acked = notice(event="acknowledged", level=1, acknowledged_by="li.wei", status="acknowledged")
            d.submit(acked, ["am"])
            d.submit(acked, ["am"])  # the same notice again, as after a retry: still one silence
            await d.join(20)
            [sil] = mine()
            assert sil["status"]["state"] == "active" and "li.wei" in sil["comment"]
            assert sorted((m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in sil["matchers"]) == [
                ("alertname", "OpsmonIncident", True, False), ("incident", "INC-42", True, False)]
            [alert] = await asyncio.to_thread(
                wait_for, lambda: [a for a in active_alerts() if a["status"]["state"] == "suppressed"] or None,
                10, "the alert suppressed by the silence")
            assert alert["status"]["silencedBy"] == [sil["id"]]
            d.submit(notice(event="resolved", level=1, acknowledged_by="li.wei", status="resolved"), ["am"])
            await d.join(20)
            assert [s["status"]["state"] for s in mine()] == ["expired"]
            assert active_alerts() == []
            d.submit(notice(event="settled", level=1, acknowledged_by="li.wei", status="resolved"), ["am"])
            await d.join(20)
            assert active_alerts() == []  # settled after the resolution: nothing fires again
            await d.close()
            return record

        record = asyncio.run(scenario())
    finally:
        am.stop()
    # opened, acknowledged twice, resolved, settled: five notices, each delivered at the first attempt
    assert [(a, ok) for a, ok, _ in record.of("am")] == [(1, True)] * 5


def test_acknowledging_an_alerts_incident_also_silences_the_original_alert(tmp_path: Path) -> None:
    """Issue 18 item 6: an incident opened by an Alertmanager alert carries the alert's labels; acknowledging
    it makes, besides the silence on opsmon's own alert (alertname OpsmonIncident, incident), a silence whose
    matchers are exactly those labels, so the original alert stops notifying through Alertmanager's other
    receivers. Before, only the OpsmonIncident silence was made and HostFilesystemFull stayed active.
    Acknowledged twice (a retry or a resend): still one silence of each. Resolved: both expired."""
    import httpx

    am = Alertmanager(tmp_path / "am", "http://127.0.0.1:9/unused").start()
    api = am.url + "/api/v2"
    original = {"alertname": "HostFilesystemFull", "instance": "web1:9100", "severity": "critical"}
    labels = tuple(sorted(original.items()))

    def mine() -> dict[str, list[dict[str, Any]]]:
        """opsmon's silences by the alertname they match: OpsmonIncident and HostFilesystemFull."""
        out: dict[str, list[dict[str, Any]]] = {}
        for s in httpx.get(api + "/silences").json():
            if s["createdBy"] == "opsmon":
                name = next(m["value"] for m in s["matchers"] if m["name"] == "alertname")
                out.setdefault(name, []).append(s)
        return out

    def original_alert() -> list[dict[str, Any]]:
        return httpx.get(api + "/alerts", params={"filter": 'alertname="HostFilesystemFull"'}).json()

    try:
        # The original alert as Prometheus posts it to Alertmanager (an hour ahead: still firing in the test).
        ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        assert httpx.post(api + "/alerts", json=[{"labels": original, "endsAt": ends}]).status_code == 200
        wait_for(original_alert, 10, "the original alert in Alertmanager")

        async def scenario() -> Attempts:
            record = Attempts()
            chans = channels(tmp_path, {"am": {"type": "alertmanager", "url": am.url}})
            d = Dispatcher(chans, record, sleep=Sleeps())
            base = notice(kind="alert", alert_labels=labels)
            d.submit(replace(base, level=1, status="open"), ["am"])
            await d.join(20)
            assert mine() == {}  # not acknowledged yet: nothing silenced
            acked = replace(base, event="acknowledged", level=1, acknowledged_by="li.wei", status="acknowledged")
            d.submit(acked, ["am"])
            d.submit(acked, ["am"])  # again, as after a retry or a resend: still one silence of each
            await d.join(20)
            found = mine()
            assert sorted(found) == ["HostFilesystemFull", "OpsmonIncident"]
            [own], [sil] = found["OpsmonIncident"], found["HostFilesystemFull"]
            assert sorted((m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in sil["matchers"]) == [
                ("alertname", "HostFilesystemFull", True, False), ("instance", "web1:9100", True, False),
                ("severity", "critical", True, False)]  # exactly the original alert's labels, equality only
            assert sorted(m["name"] for m in own["matchers"]) == ["alertname", "incident"]
            for s in (own, sil):
                assert s["status"]["state"] == "active" and "INC-42" in s["comment"] and "li.wei" in s["comment"]
            # firing_ttl is 86400 s by default: the silence ends a day after opsmon's now, like the existing one.
            # Alertmanager moves a startsAt already past to when it received the silence (a few ms later), so the
            # span it shows is 86400 s minus that delay: within 1 s of a day.
            starts, ends_at = (datetime.fromisoformat(sil[k].replace("Z", "+00:00")) for k in ("startsAt", "endsAt"))
            assert timedelta(seconds=86399) < ends_at - starts <= timedelta(seconds=86400)
            [alert] = await asyncio.to_thread(
                wait_for, lambda: [a for a in original_alert() if a["status"]["state"] == "suppressed"] or None,
                10, "the original alert suppressed by the silence")
            assert alert["status"]["silencedBy"] == [sil["id"]]
            d.submit(replace(acked, event="resolved", status="resolved"), ["am"])
            await d.join(20)
            assert {name: [s["status"]["state"] for s in ss] for name, ss in mine().items()} == {
                "HostFilesystemFull": ["expired"], "OpsmonIncident": ["expired"]}
            # A reopen within the quiet time keeps the acknowledgement: its notice (status acknowledged) silences
            # both again, while li.wei still owns it (before, the alert re-fired unsilenced until someone acked).
            d.submit(replace(acked, event="reopened", status="acknowledged"), ["am"])
            await d.join(20)
            active = {name: [s["status"]["state"] for s in ss if s["status"]["state"] == "active"]
                      for name, ss in mine().items()}
            assert active == {"HostFilesystemFull": ["active"], "OpsmonIncident": ["active"]}
            await d.close()
            return record

        record = asyncio.run(scenario())
    finally:
        am.stop()
    # opened, acknowledged twice, resolved, reopened: five notices, each delivered at the first attempt
    assert [(a, ok) for a, ok, _ in record.of("am")] == [(1, True)] * 5


# ---------------------------------------------------------------- webhook


def test_webhook_is_signed_with_timestamp_and_carries_the_notice(tmp_path: Path,
                                                                 recorder: Callable[..., Recorder]) -> None:
    """The receiver can verify HMAC-SHA256("<timestamp>." + body) with the shared secret."""
    rec = recorder((204, b""))
    (tmp_path / "hook.secret").write_text(HOOK_SECRET + "\n")
    chans = channels(tmp_path, {"hook": {"type": "webhook", "url": rec.url + "/in", "secret_file": "hook.secret"}})
    record = Attempts()
    asyncio.run(deliver(chans, [(notice(), ["hook"])], record))
    assert record.of("hook") == [(1, True, None)]
    req = rec.requests[0]
    ts = req.headers["X-Opsmon-Timestamp"]
    assert abs(int(ts) - time.time()) < 60
    expected = hmac.new(HOOK_SECRET.encode(), ts.encode() + b"." + req.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(req.headers["X-Opsmon-Signature"], "sha256=" + expected)
    body = req.json()
    assert body["incident_id"] == "INC-42" and body["event"] == "opened" and body["attached"] == 50
    assert body["key"] == req.headers["X-Opsmon-Key"] == notice().key
    assert body["title"]["zh"].startswith("[紧急]") and body["title"]["en"].startswith("[CRITICAL]")
    assert body["recipients"] == [{"name": "张三"}, {"name": "Li Si"}]  # no personal contacts unless asked
    assert b"13800000001" not in req.body


def test_retries_with_backoff_then_success(tmp_path: Path, recorder: Callable[..., Recorder]) -> None:
    rec = recorder((200, b"{}"))
    rec.answers = [(500, b"oops"), (502, b"bad gateway"), (503, b"busy")]
    chans = channels(tmp_path, {"hook": {"type": "webhook", "url": rec.url, "secret": HOOK_SECRET}})
    record, sleeps = Attempts(), Sleeps()
    asyncio.run(deliver(chans, [(notice(), ["hook"])], record, sleeps))
    assert sleeps == [2.0, 10.0, 60.0]
    assert [(a, ok) for a, ok, _ in record.of("hook")] == [(1, False), (2, False), (3, False), (4, True)]
    assert "HTTP 500" in record.of("hook")[0][2]


def test_gives_up_after_the_last_attempt_and_not_at_all_on_permanent_errors(
        tmp_path: Path, recorder: Callable[..., Recorder]) -> None:
    busy, wrong = recorder((503, b"busy")), recorder((400, b"bad request"))
    chans = channels(tmp_path, {"busy": {"type": "webhook", "url": busy.url, "secret": HOOK_SECRET},
                                "wrong": {"type": "webhook", "url": wrong.url, "secret": HOOK_SECRET}})
    record, sleeps = Attempts(), Sleeps()
    asyncio.run(deliver(chans, [(notice(), ["busy", "wrong"])], record, sleeps))
    assert sleeps == [2.0, 10.0, 60.0, 300.0]
    assert [(a, ok) for a, ok, _ in record.of("busy")] == [(i, False) for i in range(1, 6)]
    assert [(a, ok) for a, ok, _ in record.of("wrong")] == [(1, False)]


def test_a_dead_channel_delays_neither_the_caller_nor_other_channels(
        tmp_path: Path, recorder: Callable[..., Recorder]) -> None:
    hanging, good = recorder((200, b"{}"), delay=5), recorder((200, b"{}"))
    chans = channels(tmp_path, {
        "hanging": {"type": "webhook", "url": hanging.url, "secret": HOOK_SECRET, "timeout": "3s"},
        "refused": {"type": "webhook", "url": f"http://127.0.0.1:{closed_port()}", "secret": HOOK_SECRET},
        "good": {"type": "webhook", "url": good.url, "secret": HOOK_SECRET}})
    forever = asyncio.Event()

    async def stuck(seconds: float) -> None:
        await forever.wait()

    async def scenario() -> tuple[float, float, float]:
        record = Attempts()
        d = Dispatcher(chans, record, sleep=stuck)
        t0 = time.monotonic()
        d.submit(notice(), ["hanging", "refused", "good"])
        submitted = time.monotonic() - t0
        assert list(record) == []  # submit only queued: no attempt was made while the caller waited
        while not record.of("good"):
            await asyncio.sleep(0.01)
        delivered = time.monotonic() - t0
        assert record.of("good") == [(1, True, None)]
        # The order is the proof, whatever the machine's speed: "good" was delivered while the
        # hanging channel's attempt (3 s timeout, its peer answers after 5 s) was still in flight.
        assert record.of("hanging") == []
        t1 = time.monotonic()
        await d.close()
        assert record.of("hanging") == []  # closing cancelled the hanging attempt rather than waiting it out
        return submitted, delivered, time.monotonic() - t1

    submitted, delivered, closing = asyncio.run(scenario())
    # Wall-clock bounds loose enough for a loaded CI box; the ordering asserts above carry the property
    # (waiting for the hanging channel would take 3 s).
    assert submitted < 0.5 and delivered < 5 and closing < 2


def test_queue_is_bounded_and_drops_the_oldest(tmp_path: Path, recorder: Callable[..., Recorder]) -> None:
    rec = recorder((200, b"{}"))
    chans = channels(tmp_path, {"hook": {"type": "webhook", "url": rec.url, "secret": HOOK_SECRET}})
    record = Attempts()
    batch = [(notice(incident_id=f"INC-{i}"), ["hook"]) for i in range(5)]
    d = asyncio.run(deliver(chans, batch, record, policy=RetryPolicy(queue_size=2)))
    assert d.dropped == {"hook": 3}
    assert [r.json()["incident_id"] for r in rec.requests] == ["INC-3", "INC-4"]
    assert sorted((i, a, ok) for i, _, a, ok, _, _ in record if a == 0) == [
        ("INC-0", 0, False), ("INC-1", 0, False), ("INC-2", 0, False)]


def test_unknown_channel_name_is_an_error_for_the_caller(tmp_path: Path) -> None:
    async def scenario() -> None:
        d = Dispatcher({}, Attempts())
        with pytest.raises(NotFound, match="pager"):
            d.submit(notice(), ["pager"])
        await d.close()

    asyncio.run(scenario())


# ---------------------------------------------------------------- WeCom and DingTalk


def test_wecom_one_message_with_the_mention_and_errcode_retry(tmp_path: Path,
                                                              recorder: Callable[..., Recorder]) -> None:
    """Documented format: POST /cgi-bin/webhook/send?key=KEY. Markdown cannot mention by mobile, text with
    mentioned_mobile_list can: a notice with mobiles to mention is one text post carrying the whole notice
    (before issue 18: a markdown post and a second text post, two of the robot's 20 a minute); without
    mobiles, one markdown post. errcode != 0 (45009: rate limited) fails the attempt and is retried."""
    rec = recorder()
    rec.answers = [(200, {"errcode": 45009, "errmsg": "api freq out of limit"})]
    chans = channels(tmp_path, {"wx": {"type": "wecom", "key": WECOM_KEY, "base_url": rec.url}})
    record, sleeps = Attempts(), Sleeps()
    quiet = notice(incident_id="INC-43", recipients=(Person("Li Si", None, None),))
    asyncio.run(deliver(chans, [(notice(), ["wx"]), (quiet, ["wx"])], record, sleeps))
    # INC-42: refused once, then delivered; INC-43: delivered at once
    assert [(a, ok) for a, ok, _ in record.of("wx")] == [(1, False), (2, True), (1, True)]
    assert "errcode 45009" in record.of("wx")[0][2] and sleeps == [2.0]
    assert all(r.path == "/cgi-bin/webhook/send" and r.query == {"key": [WECOM_KEY]} for r in rec.requests)
    first, text, md = (r.json() for r in rec.requests)  # three posts for two notices, one of them a retry
    assert first == text and text == {"msgtype": "text", "text": {"content": text["text"]["content"],
                                                                  "mentioned_mobile_list": ["13800000001"]}}
    content = text["text"]["content"]
    assert len(content.encode()) <= 2048
    assert "核心交换机1" in content and "响应时限" in content and "Respond by" in content
    assert content.index("新故障") < content.index("Opened")
    assert content.rstrip().endswith(notice().ack_url)  # the whole notice, the ack link last
    assert set(md) == {"msgtype", "markdown"} and md["msgtype"] == "markdown"
    assert "INC-43" in md["markdown"]["content"] and "**响应时限**" in md["markdown"]["content"]


def test_robots_take_a_burst_of_30_in_order_within_20_a_window_and_the_keyword(
        tmp_path: Path, recorder: Callable[..., Recorder]) -> None:
    """Peers that enforce what the real robots do: at most 20 messages in any window (shortened here to 2 s
    by `rate_window`), refused beyond it (WeCom 45009, DingTalk 130101); the DingTalk robot also refuses a
    message without its custom keyword (310000). A burst of 30 notices to each robot: the first 20 go at
    once, the other 10 wait in the channel's queue until 2 s after the first ended, so all 30 land, in order,
    none refused, in no less than 2 s. The same burst to a robot paced as if it took 1000 a window (what
    opsmon did before issue 18) loses 10 notices: 20 accepted, then the other 10 refused at each of their 5
    attempts (the peer's window is 60 s here, so none of the retries can pass): attempted 20 + 10 x 5 = 70,
    delivered 20, failed 10. A DingTalk channel without the keyword is refused at each of its 5 attempts."""
    from prometheus_client import generate_latest

    from opsmon.collector.outputs.metrics import CollectorMetrics
    from tests.peers.receiver import keyword, rate_limit

    def ding_text(body: Any) -> str:
        return body["markdown"]["title"] + body["markdown"]["text"]

    wx, ding, unpaced = recorder(), recorder(), recorder()
    wx.checks = [rate_limit(20, 2.0, (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))]
    ding.checks = [keyword("运维告警", ding_text, (200, {"errcode": 310000, "errmsg": "keywords not in content"})),
                   rate_limit(20, 2.0, (200, {"errcode": 130101, "errmsg": "send too fast"}))]
    unpaced.checks = [rate_limit(20, 60.0, (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))]
    chans = channels(tmp_path, {
        "wx": {"type": "wecom", "key": WECOM_KEY, "base_url": wx.url, "rate_window": "2s"},
        "ding": {"type": "dingtalk", "access_token": DING_TOKEN, "base_url": ding.url, "rate_window": "2s",
                 "keyword": "运维告警"},
        "unpaced": {"type": "wecom", "key": WECOM_KEY, "base_url": unpaced.url, "rate_limit": 1000},
        "no-keyword": {"type": "dingtalk", "access_token": DING_TOKEN, "base_url": ding.url, "rate_limit": 1000}})
    burst = [(notice(incident_id=f"INC-{i}", ack_url=None), ["wx", "ding", "unpaced"]) for i in range(30)]
    record = Attempts()

    async def scenario() -> tuple[Dispatcher, float, bytes]:
        d = Dispatcher(chans, record, sleep=Sleeps())
        metrics = CollectorMetrics()
        metrics.watch_notify(d)
        t0 = time.monotonic()
        d.submit(notice(incident_id="INC-99"), ["no-keyword"])
        for n, names in burst:
            d.submit(n, names)
        await d.join(30)
        took = time.monotonic() - t0
        await d.close()
        return d, took, generate_latest(metrics.registry)

    d, took, exposed = asyncio.run(scenario())
    order = [f"INC-{i}" for i in range(30)]
    def incident(req: Any) -> str:
        return re.findall(r"INC-\d+", req.body.decode())[0]

    assert [incident(r) for r in wx.requests] == order
    assert wx.refused == []
    kept = [r for r in ding.requests if r not in ding.refused]
    assert [incident(r) for r in kept] == order
    assert all(r.json()["markdown"]["title"].startswith("【运维告警】") for r in kept)
    assert [r.query["access_token"] for r in ding.refused] == [[DING_TOKEN]] * 5  # only the keyword-less posts
    assert all(ding.refused[0].json()["markdown"]["title"] == r.json()["markdown"]["title"] for r in ding.refused)
    assert "运维告警" not in ding_text(ding.refused[0].json())
    assert took >= 2.0
    assert (d.stats["wx"].attempted, d.stats["wx"].delivered, d.stats["wx"].failed) == (30, 30, 0)
    assert (d.stats["ding"].attempted, d.stats["ding"].delivered, d.stats["ding"].failed) == (30, 30, 0)
    unpaced_stats = d.stats["unpaced"]
    assert (unpaced_stats.attempted, unpaced_stats.delivered, unpaced_stats.failed) == (70, 20, 10)
    assert len(unpaced.requests) == 70 and len(unpaced.refused) == 50
    assert (d.stats["no-keyword"].attempted, d.stats["no-keyword"].failed) == (5, 1)
    text = exposed.decode()
    for line in ('opsmon_notifications_attempted_total{channel="unpaced",type="wecom"} 70.0',
                 'opsmon_notifications_delivered_total{channel="unpaced",type="wecom"} 20.0',
                 'opsmon_notifications_failed_total{channel="unpaced",type="wecom"} 10.0',
                 'opsmon_notifications_dropped_total{channel="wx",type="wecom"} 0.0',
                 'opsmon_notifications_failed_total{channel="no-keyword",type="dingtalk"} 1.0',
                 'opsmon_notification_queue_length{channel="ding",type="dingtalk"} 0.0'):
        assert line in text, line


def test_dingtalk_signed_markdown_with_at_mobiles(tmp_path: Path, recorder: Callable[..., Recorder]) -> None:
    """Documented 加签: sign = urlencode(base64(HMAC-SHA256(secret, "<ms>\\n<secret>"))), recomputed here."""
    rec = recorder()
    rec.answers = [(200, {"errcode": 310000, "errmsg": "sign not match"})]
    chans = channels(tmp_path, {"ding": {"type": "dingtalk", "access_token": DING_TOKEN, "secret": DING_SECRET,
                                         "base_url": rec.url, "lang": "zh"}})
    record = Attempts()
    asyncio.run(deliver(chans, [(notice(), ["ding"])], record))
    assert [(a, ok) for a, ok, _ in record.of("ding")] == [(1, False), (2, True)]
    req = rec.requests[-1]
    assert req.path == "/robot/send" and req.query["access_token"] == [DING_TOKEN]
    ts = req.query["timestamp"][0]
    assert abs(int(ts) - time.time() * 1000) < 60_000
    mac = hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    assert req.query["sign"] == [base64.b64encode(mac).decode()]
    body = req.json()
    assert body["msgtype"] == "markdown" and body["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    assert body["markdown"]["title"] == "[紧急] 新故障：核心交换机1（省政务云机房A）"
    text = body["markdown"]["text"]
    assert "@13800000001" in text and "Respond by" not in text and "响应时限" in text  # lang: zh only


# ---------------------------------------------------------------- e-mail (real SMTP server)


def _mail(tmp_path: Path, server: SmtpServer, **extra: Any) -> dict[str, Any]:
    return {"mail": {"type": "email", "host": "127.0.0.1", "port": server.port,
                     "sender": "opsmon@it.example.gov.cn", "to": ["noc@it.example.gov.cn"], **extra}}


def test_email_over_starttls_with_login_carries_both_languages(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = SmtpServer((cert, key), users={"opsmon": SMTP_PASSWORD}).start()
    try:
        chans = channels(tmp_path, _mail(tmp_path, server, ca_file=str(cert), username="opsmon",
                                         password=SMTP_PASSWORD))
        record = Attempts()
        asyncio.run(deliver(chans, [(notice(), ["mail"])], record))
    finally:
        server.stop()
    assert record.of("mail") == [(1, True, None)]
    sender, rcpts, raw = server.mailbox.messages[0]
    assert sender == "opsmon@it.example.gov.cn"
    assert rcpts == ["noc@it.example.gov.cn", "zhangsan@it.example.gov.cn"]
    assert b"Subject: =?utf-8?" in raw  # RFC 2047: the Chinese subject survives 7-bit relays
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == compose(notice(), None)[0]
    assert msg["References"] == "<incident-INC-42@it.example.gov.cn>"
    parts = list(msg.iter_parts())
    assert [p["Content-Language"] for p in parts] == ["zh-CN", "en"]
    assert all(p.get_content_type() == "text/plain" and p.get_content_charset() == "utf-8" for p in parts)
    assert "响应时限" in parts[0].get_content() and "Respond by" in parts[1].get_content()


def test_email_verifies_the_server_certificate(tmp_path: Path) -> None:
    """Without the CA file the self-signed server is not trusted: verification is really on."""
    cert, key = self_signed(tmp_path)
    server = SmtpServer((cert, key)).start()
    try:
        record = Attempts()
        asyncio.run(deliver(channels(tmp_path, _mail(tmp_path, server)), [(notice(), ["mail"])], record,
                            policy=RetryPolicy(backoff=(1,))))
    finally:
        server.stop()
    assert [(a, ok) for a, ok, _ in record.of("mail")] == [(1, False), (2, False)]
    assert "CERTIFICATE_VERIFY_FAILED" in record.of("mail")[0][2]
    assert server.mailbox.messages == []


def test_email_refuses_a_server_without_starttls_by_default(tmp_path: Path) -> None:
    server = SmtpServer(None).start()
    try:
        record = Attempts()
        asyncio.run(deliver(channels(tmp_path, _mail(tmp_path, server)), [(notice(), ["mail"])], record))
        assert [(a, ok) for a, ok, _ in record.of("mail")] == [(1, False)]  # permanent: not retried
        assert "does not offer STARTTLS" in record.of("mail")[0][2]
        assert server.mailbox.messages == []
        plain = Attempts()
        asyncio.run(deliver(channels(tmp_path, _mail(tmp_path, server, security="none")),
                            [(notice(), ["mail"])], plain))
        assert plain.of("mail") == [(1, True, None)] and len(server.mailbox.messages) == 1
    finally:
        server.stop()


# ---------------------------------------------------------------- secrets


def test_secrets_never_appear_in_recorded_errors_or_logs(tmp_path: Path, recorder: Callable[..., Recorder],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """Robot keys, tokens, signing secrets and passwords stay out of attempts and log lines,
    even when a peer echoes the request URL back in its error."""
    caplog.set_level(logging.DEBUG)
    echo = recorder((500, lambda path: f"cannot handle {path}"))
    ding = recorder((200, {"errcode": 300001, "errmsg": f"token {DING_TOKEN} is invalid"}))
    cert, key = self_signed(tmp_path)
    server = SmtpServer((cert, key), users={"opsmon": "right-password"}).start()
    try:
        chans = channels(tmp_path, {
            "wx": {"type": "wecom", "key": WECOM_KEY, "base_url": echo.url},
            "ding": {"type": "dingtalk", "access_token": DING_TOKEN, "secret": DING_SECRET, "base_url": ding.url},
            "hook": {"type": "webhook", "url": f"http://127.0.0.1:{closed_port()}/in?token={HOOK_SECRET}",
                     "secret": HOOK_SECRET},
            **_mail(tmp_path, server, ca_file=str(cert), username="opsmon", password=SMTP_PASSWORD)})
        record = Attempts()
        asyncio.run(deliver(chans, [(notice(), ["wx", "ding", "hook", "mail"])], record,
                            policy=RetryPolicy(backoff=(1,))))
    finally:
        server.stop()
    assert len(record) == 7 and not any(ok for *_, ok, _, _ in record)  # a refused login is not retried
    assert "cannot handle /cgi-bin/webhook/send?key=***" in record.of("wx")[0][2]
    assert "refused the login of opsmon" in record.of("mail")[0][2]
    assert len(echo.requests) == 2  # the secrets were really used
    shown = "\n".join(str(r) for r in record) + caplog.text + "".join(map(repr, chans.values()))
    shown += "".join(repr(r.args) + r.getMessage() for r in caplog.records)
    shown += repr(NotifyConfig.model_validate({"channels": {"wx": {"type": "wecom", "key": WECOM_KEY}}}))
    for secret in ALL_SECRETS:
        assert secret not in shown


def test_scrub_removes_query_strings_and_encoded_secrets() -> None:
    text = "POST https://oapi.dingtalk.com/robot/send?access_token=t0k&sign=a%2Bb failed; key a+b"
    assert scrub(text, ["a+b"]) == "POST https://oapi.dingtalk.com/robot/send?*** failed; key ***"


# ---------------------------------------------------------------- configuration


def test_config_secrets_from_env_or_file_exactly_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="give only one of key, key_env, key_file"):
        NotifyConfig.model_validate({"channels": {"wx": {"type": "wecom", "key": "a", "key_env": "B"}}})
    with pytest.raises(ValidationError, match="needs secret"):
        NotifyConfig.model_validate({"channels": {"h": {"type": "webhook", "url": "https://x"}}})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        NotifyConfig.model_validate({"channels": {"h": {"type": "webhook", "url": "https://x", "secret": "s",
                                                        "secrte": "typo"}}})
    with pytest.raises(ValidationError, match="needs password"):
        NotifyConfig.model_validate({"channels": {"m": {"type": "email", "host": "h", "sender": "a@b",
                                                        "username": "u"}}})
    monkeypatch.delenv("OPSMON_WECOM_KEY", raising=False)
    cfg = NotifyConfig.model_validate({"channels": {"wx": {"type": "wecom", "key_env": "OPSMON_WECOM_KEY"}}})
    with pytest.raises(ConfigError) as err:
        build_channels(cfg, tmp_path, "collector.yaml")
    assert err.value.keypath == "notify.channels.wx.key_env"
    monkeypatch.setenv("OPSMON_WECOM_KEY", WECOM_KEY)
    assert build_channels(cfg, tmp_path, "collector.yaml")["wx"].secrets == (WECOM_KEY,)
    assert NotifyConfig().retry.attempts == 5


def test_a_fallback_or_robot_setting_that_cannot_work_stops_the_start(tmp_path: Path) -> None:
    """A policy's fallback must be a channel of notify.channels (checked with the levels' channels, naming
    the oncall file and the channel); a robot's rate_limit is 1 or more and its keyword is not empty."""
    from opsmon.collector.config import load_config
    from tests.conftest import write_config

    (tmp_path / "oncall.yaml").write_text(
        "people:\n  li.wei: {name: 李伟}\n"
        "policies:\n  default:\n    fallback: duty-mail\n"
        "    levels:\n      - {after: 0s, notify: [person:li.wei], channels: [hook]}\n"
        "routes:\n  - {policy: default}\n")
    good = ("timezone: UTC\ndatabase:\n  path: opsmon.db\n"
            f"incidents:\n  oncall_file: oncall.yaml\n  link_key_file: {tmp_path / 'ack.key'}\n"
            f"notify:\n  channels:\n    hook: {{type: webhook, url: 'http://127.0.0.1:9/h', secret: {HOOK_SECRET}}}\n")
    from opsmon.collector.cli.check_config import check_all

    with pytest.raises(ConfigError) as err:  # the references between files: check-config's and serve's one pass
        check_all(str(write_config(tmp_path, good)))
    assert "'duty-mail' is not defined under notify.channels" in str(err.value)
    assert str(tmp_path / "oncall.yaml") in str(err.value)
    for bad in ("{type: wecom, key: k, rate_limit: 0}", "{type: dingtalk, access_token: t, keyword: ''}"):
        with pytest.raises(ConfigError) as err:
            load_config(write_config(tmp_path, good + f"    duty-mail: {bad}\n"))
        assert err.value.keypath.startswith("notify.channels.duty-mail"), err.value
