"""The relay and the history pull in a real `opsmon serve`, over real TCP on loopback (issue 17, items 6 and 1).

One DAU (dau-dxcbz, MN DXCBZ000000005, password 123456, point ww1 assessing w01018 and w21003) relays to two
fake upstream platforms (asyncio servers in this file, on loopback): up-a (max_queue 100) and up-b (max_queue 3).
Frames are built by the demo simulator's frame builder (simulator.frame), hourly CN 2061, Flag=5.

Hours: H = the start of the current hour (UTC); the history pull looks back 4 h with no grace, so the hours it
watches are H-4, H-3, H-2, H-1 (k = 0..3).

1. Both upstreams down. The unit sends F1..F5: 2061 for k = 0, 1, 3 (k = 2 skipped) and 2051 minute data for
   k = 3 at minutes 0 and 1. All five answered by opsmon (5 × 9014). up-a queues 5; up-b queues F1..F3 and
   refuses F4, F5: dropped 2.
2. kill -9, both upstreams come up, restart. up-a receives exactly F1..F5, up-b exactly F1..F3, in order, each
   once, byte for byte. The upstreams answer each frame with a 9014 of their own form (ST=21, Flag=5, as a live
   platform did: HJ212-NOTES §2) so a leak to the unit would show.
3. The unit reconnects and sends F6 (2051, k = 3 minute 2): exactly one answer comes, opsmon's (ST=91, Flag=4,
   F6's QN); no ST=21 frame ever reaches the unit. F6 goes to both upstreams (up-b's queue is empty again).
4. History pull: the collector sends the unit one 2061 request for k = 2 (BeginTime = EndTime = that hour in
   Beijing time), checked byte for byte but for its QN (the collector's clock; checked as 17 digits).
   Rates over [H-4, H): 应传 4 h × 2 factors = 8; 实传 before = 3 × 2 = 6, all N: 6/8 = 75 %.
   The unit answers with hour k = 2 (flag N): 实传 8, 8/8 = 100 %: up by 2/8 = 25 points.
5. /metrics: up-a sent 5 + 1 + 1 (F6, the answer) = 7, up-b sent 3 + 1 + 1 = 5; dropped 0 and 2 (kept across
   the kill); queued 0; connected 1; the upstreams' answers consumed: 7 and 5; history requests >= 1, hours
   recovered 1.
"""
from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsmon.collector.inputs.hj212 import Frame, Framer, parse_segment, wrap
from opsmon.collector.inputs.hj212.simulator import DemoUnit, Point, frame
from tests.collector.inputs.test_hj212_service import ASSETS as SERVICE_ASSETS
from tests.conftest import free_port
from tests.peers.collector import wait_for

ZONE = ZoneInfo("Asia/Shanghai")
UNIT = DemoUnit("dau-dxcbz", "123456", (Point("ww1", "DXCBZ000000005", "32", ("w01018", "w21003")),))
POINT = UNIT.points[0]
# The DAU of the service test, relaying to the two platforms (its 3 s stale_after changes nothing here).
ASSETS = SERVICE_ASSETS.replace("stale_after: 3s", "relay: [up-a, up-b]")


class FakePlatform:
    """An upstream platform on loopback: records every frame it gets, answers each with its own 9014 form."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stream = b""  # every byte received, as received
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._conn, "127.0.0.1", self.port),
                                                       self.loop).result(5)

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer(9999)
        while data := await reader.read(65536):
            self.stream += data
            for item in framer.feed(data):
                if isinstance(item, Frame):
                    p = parse_segment(item.segment)
                    writer.write(wrap(f"QN={p.qn};ST=21;CN=9014;PW={p.pw};MN={p.mn};Flag=5;CP=&&&&"))
            await writer.drain()

    @property
    def frames(self) -> list[bytes]:
        return [f + b"\r\n" for f in self.stream.split(b"\r\n") if f]

    def stop(self) -> None:
        async def down() -> None:
            self.server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(down(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _frames(sock: socket.socket, want: int, timeout: float) -> list[bytes]:
    """Frames read from the unit's socket until `want` came or `timeout` passed."""
    sock.settimeout(0.2)
    buf, end = b"", time.monotonic() + timeout
    while buf.count(b"\r\n") < want and time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        buf += chunk
    return [f + b"\r\n" for f in buf.split(b"\r\n") if f]


def _metric(text: str, name: str, upstream: str | None = None) -> float:
    label = f'{{upstream="{upstream}"}}' if upstream else ""
    m = re.search(rf"^{name}{re.escape(label)} (\S+)$", text, re.M)
    assert m, (name, upstream)
    return float(m.group(1))


def _rates(c, start: datetime, end: datetime) -> dict:
    proc = c.cli("hj212", "rates", "--from", start.isoformat(), "--to", end.isoformat(), "--by", "point",
                 "--format", "json")
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)["rows"]
    return row


def test_relay_survives_kill_9_keeps_order_and_bound_and_the_history_pull_raises_the_rate(collector_factory) -> None:
    if datetime.now(UTC).minute == 59:  # the hours watched must not move under the test
        time.sleep(61 - datetime.now(UTC).second)
    port, pa, pb = free_port(), free_port(), free_port()
    c = collector_factory(ASSETS, extra=f"""
api:
  public_read: true
hj212:
  enabled: true
  port: {port}
  credentials:
    dxcbz: {{password: "123456"}}
  upstreams:
    up-a: {{host: 127.0.0.1, port: {pa}, max_queue: 100, answer_wait: 2s}}
    up-b: {{host: 127.0.0.1, port: {pb}, max_queue: 3, answer_wait: 2s}}
  history: {{check_every: 1s, lookback: 4h, grace: 0s, retry_every: 1h}}
""")
    H = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hour = [(H - timedelta(hours=4 - k)).astimezone(ZONE) for k in range(4)]
    sent = datetime.now(ZONE)
    fs = [frame(UNIT, POINT, "2061", hour[k], "N", sent + timedelta(milliseconds=k), k) for k in (0, 1, 3)]
    fs += [frame(UNIT, POINT, "2051", H.astimezone(ZONE) + timedelta(minutes=m), "N",
                 sent + timedelta(milliseconds=10 + m), m) for m in (0, 1)]
    qns = [parse_segment(f[6:-6]).qn for f in fs]
    assert len(set(qns)) == 5

    # 1. Upstreams down: the unit is answered by opsmon all the same.
    c.start()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as dau:
        dau.sendall(b"".join(fs))
        got = _frames(dau, 5, 10)
    answers = [f for f in got if b"CN=9014" in f]
    assert [parse_segment(f[6:-6]).qn for f in answers] == qns
    wait_for(lambda: _metric(c.get("/metrics").text, "opsmon_hj212_relay_queued", "up-a") == 5, 10, "5 queued")
    m = c.get("/metrics").text
    assert _metric(m, "opsmon_hj212_relay_queued", "up-b") == 3
    assert _metric(m, "opsmon_hj212_relay_dropped_total", "up-b") == 2
    assert _metric(m, "opsmon_hj212_relay_connected", "up-a") == 0

    # 2. kill -9; the platforms come up; the restarted collector replays its queues.
    c.crash()
    a, b = FakePlatform(pa), FakePlatform(pb)
    a.start()
    b.start()
    try:
        c.start()
        wait_for(lambda: len(a.frames) >= 5 and len(b.frames) >= 3, 15, "the queues replayed")
        # In order, once, unchanged; F4 and F5 were never queued for up-b.
        assert a.stream == b"".join(fs) and b.stream == b"".join(fs[:3])

        # 3. The unit's own answers only; 4. the history request for hour k = 2.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as dau:
            f6 = frame(UNIT, POINT, "2051", H.astimezone(ZONE) + timedelta(minutes=2), "N",
                       sent + timedelta(milliseconds=20), 2)
            dau.sendall(f6)
            got = _frames(dau, 2, 10)  # opsmon's 9014, then (check_every 1 s) the history request
            assert not [f for f in got if b";ST=21;" in f], got
            assert [f for f in got if b"CN=9014" in f] == [
                wrap(f"QN={parse_segment(f6[6:-6]).qn};ST=91;CN=9014;PW=123456;MN=DXCBZ000000005;Flag=4;CP=&&&&")]
            [request] = [f for f in got if b"CN=2061" in f]
            qn = parse_segment(request[6:-6]).qn
            assert qn is not None and re.fullmatch(r"\d{17}", qn)
            t = hour[2].strftime("%Y%m%d%H%M%S")
            assert request == wrap(f"QN={qn};ST=32;CN=2061;PW=123456;MN=DXCBZ000000005;Flag=5;"
                                   f"CP=&&BeginTime={t};EndTime={t}&&")
            before = _rates(c, H - timedelta(hours=4), H)
            assert (before["should"], before["transmitted"], before["effective"]) == (8, 6, 6)
            assert before["rate"] == 0.75

            reply = frame(UNIT, POINT, "2061", hour[2], "N", sent + timedelta(milliseconds=30), 2)
            dau.sendall(reply)
            got = _frames(dau, 1, 10)
            assert got[:1] == [wrap(f"QN={parse_segment(reply[6:-6]).qn};ST=91;CN=9014;PW=123456;"
                                    "MN=DXCBZ000000005;Flag=4;CP=&&&&")]
            after = _rates(c, H - timedelta(hours=4), H)
            assert (after["should"], after["transmitted"], after["effective"]) == (8, 8, 8)
            assert after["rate"] - before["rate"] == 2 / 8

            # 5. The counters, per upstream.
            wait_for(lambda: len(a.frames) == 7 and len(b.frames) == 5, 10, "F6 and the answer relayed")
            assert a.frames[5:] == [f6, reply] and b.frames[3:] == [f6, reply]
            wait_for(lambda: _metric(c.get("/metrics").text, "opsmon_hj212_history_hourly_values_recovered_total") == 1,
                     10, "the recovered hour counted")
            m = c.get("/metrics").text
            assert [_metric(m, "opsmon_hj212_relay_sent_total", u) for u in ("up-a", "up-b")] == [7, 5]
            assert [_metric(m, "opsmon_hj212_relay_dropped_total", u) for u in ("up-a", "up-b")] == [0, 2]
            assert [_metric(m, "opsmon_hj212_relay_queued", u) for u in ("up-a", "up-b")] == [0, 0]
            assert [_metric(m, "opsmon_hj212_relay_connected", u) for u in ("up-a", "up-b")] == [1, 1]
            assert [_metric(m, "opsmon_hj212_relay_answers_total", u) for u in ("up-a", "up-b")] == [7, 5]
            assert _metric(m, "opsmon_hj212_history_requests_total") >= 1
        c.stop()
    finally:
        a.stop()
        b.stop()
