"""The relay's and the history pull's rules in process, over real TCP on loopback where there is a peer (issue 17).

Frames are the real ones of hj212_frames.py (sources named there): CN2011_ANSWER_WANTED (Flag=5) and its live
platform's answer CN9014_LIVE_PLATFORM (ST=21, Flag=5), CN2011_LOWER_CRC (Flag=4: no answer wanted).
"""
from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsmon.collector.config.checks import Hj212Spec
from opsmon.collector.config.hj212 import HistorySpec, UpstreamSpec
from opsmon.collector.inputs.hj212 import Framer, wrap
from opsmon.collector.inputs.hj212.history import HistoryPull
from opsmon.collector.inputs.hj212.packet import parsed
from opsmon.collector.inputs.hj212.relay import Relay, Upstream
from opsmon.collector.inputs.hj212.units import Units
from tests.collector.inputs import hj212_frames as F
from tests.collector.inputs.test_hj212_receiver import ANSWER_2011, _read, rig
from tests.conftest import free_port

CRLF = b"\r\n"


async def _deliver(tmp_path: Path, platform: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
                   ) -> Upstream:
    """F1 = CN2011_ANSWER_WANTED, F2 = CN2011_LOWER_CRC queued for a platform on loopback (answer_wait 0.3 s),
    sent until both left the queue (10 s at most)."""
    server = await asyncio.start_server(platform, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    up = Upstream("up", UpstreamSpec(host="127.0.0.1", port=port, answer_wait=0.3), tmp_path / "q")
    up.put(F.CN2011_ANSWER_WANTED + CRLF)
    up.put(F.CN2011_LOWER_CRC + CRLF)
    up.start()
    end = time.monotonic() + 10
    while up.stats.sent < 2 and time.monotonic() < end:
        await asyncio.sleep(0.05)
    up.close()
    server.close()
    return up


def test_a_frame_whose_queue_write_fails_is_not_answered_and_its_resend_is(tmp_path: Path) -> None:
    """The queue's folder replaced by a file: the write fails, so no 9014 (withheld 1); folder back: answered,
    and exactly one frame (the resend, CR LF added) is queued."""
    async def main() -> None:
        relay = Relay.make({"up": UpstreamSpec(host="127.0.0.1", port=free_port(), max_queue=10)}, tmp_path / "relay")
        async with rig(tmp_path, relay=relay) as r:
            qdir = tmp_path / "relay" / "up"
            shutil.rmtree(qdir)
            qdir.write_bytes(b"")
            reader, writer = await r.connect()
            writer.write(F.CN2011_ANSWER_WANTED)
            await writer.drain()
            assert await _read(reader, 1, timeout=1.0) == b""
            assert r.receiver.counts.withheld == 1
            qdir.unlink()
            qdir.mkdir()
            writer.write(F.CN2011_ANSWER_WANTED)
            await writer.drain()
            assert await _read(reader, 1) == ANSWER_2011
            [queued] = sorted(qdir.glob("*.frame"))
            assert queued.read_bytes() == F.CN2011_ANSWER_WANTED + CRLF
            writer.close()

    asyncio.run(main())


def test_an_unanswered_frame_is_resent_in_order_and_the_platforms_requests_are_ignored(tmp_path: Path) -> None:
    """The platform sends a 1012 of its own at each connection and ignores the first frame of the first one.
    F1 (Flag=5) waits 0.3 s for its 9014, the link is made again, F1 resent and answered, then F2 (Flag=4: no
    answer wanted). The platform's stream: F1, F1, F2. Counts: sent 2, resent 1, requests 2 (one per
    connection), answers 1 (F1's)."""
    async def main() -> None:
        stream: list[bytes] = []
        connections = 0

        async def platform(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            first = connections == 1
            writer.write(wrap("QN=20210409103300000;ST=21;CN=1012;PW=123456;MN=DXCBZ000000005;Flag=5;"
                              "CP=&&SystemTime=20210409103300&&"))
            framer = Framer()
            while data := await reader.read(65536):
                stream.append(data)
                for _, p in parsed(framer.feed(data)):
                    if p.wants_answer and not first:
                        writer.write(F.CN9014_LIVE_PLATFORM + CRLF)

        up = await _deliver(tmp_path, platform)
        assert b"".join(stream) == (F.CN2011_ANSWER_WANTED + CRLF) * 2 + F.CN2011_LOWER_CRC + CRLF
        assert (up.stats.sent, up.stats.resent, up.stats.requests, up.stats.answers, up.stats.queued) == (2, 1, 2, 1, 0)
        assert sorted((tmp_path / "q").glob("*.frame")) == []

    asyncio.run(main())


def test_a_full_queue_refuses_the_new_frame_and_keeps_the_count_across_a_restart(tmp_path: Path) -> None:
    """max_queue 2: frames 1, 2 queued, 3 refused (dropped 1); a new queue object on the folder (a restart)
    reads back 2 frames in order and dropped 1; after the head is removed, one more fits (number 3)."""
    spec = UpstreamSpec(host="127.0.0.1", port=1, max_queue=2)
    up = Upstream("up", spec, tmp_path / "q")
    for k in (1, 2, 3):
        up.put(b"frame %d\r\n" % k)
    assert (up.stats.queued, up.stats.dropped) == (2, 1)
    again = Upstream("up", spec, tmp_path / "q")
    assert (again.stats.queued, again.stats.dropped) == (2, 1)
    head = again.queue.head()
    assert head is not None and head[1] == b"frame 1\r\n"
    again.queue.pop(head[0])
    again.put(b"frame 4\r\n")
    assert [p.read_bytes() for p in again.queue.files] == [b"frame 2\r\n", b"frame 4\r\n"]
    assert [p.name for p in again.queue.files] == [f"{2:020d}.frame", f"{3:020d}.frame"]


# ---- the history pull, with a fake clock (pure) ----

NOW = datetime(2026, 12, 6, 10, 20, tzinfo=UTC)  # 18:20 in Beijing
H = NOW.replace(minute=0)  # 10:00 UTC


def _pull(stored: dict[str, set[tuple[datetime, str]]], clock: list[datetime], **spec: object) -> HistoryPull:
    checks = {
        "dau-a": Hj212Spec.model_validate({"type": "hj212", "mn": "MNA", "credential": "a", "enterprise": "A",
                                           "points": {"p": {"factors": {"w01018": {}, "w21003": {}}}}}),
        "dau-b": Hj212Spec.model_validate({"type": "hj212", "mn": "MNB", "credential": "b", "enterprise": "B",
                                           "points": {"p": {"factors": {"a21026": {}}}}}),
    }
    specs = {aid: type("Spec", (), {"checks": (c,)})() for aid, c in checks.items()}
    units = Units(lambda: specs, {"a": "pa", "b": "pb"})
    units.refresh()
    # The correction deadline: here simply 48 h after the hour (the real one is sla/hj212_rates.py's).
    return HistoryPull(HistorySpec(**spec), units, "Asia/Shanghai", lambda: clock[0],
                       lambda mn, since: [x for x in stored.get(mn, ()) if x[0] >= since],
                       lambda hour: hour + timedelta(hours=48))


def test_missing_hours_make_gaps_asked_once_per_interval_oldest_first_within_the_bounds() -> None:
    """lookback 72 h, grace 1 h: hours H-72 .. H-2 are watched (H-1 ended 20 min ago: in its grace). Deadline
    = hour + 48 h > NOW for hours after H-48, so H-48 and older are not asked (their deadline has passed).
    MNA: both factors stored for H-47 .. H-2 except H-10 (w21003 lacking) and H-5, H-4 (nothing): missing H-10,
      H-5, H-4 -> gaps (H-10), (H-5 .. H-4).
    MNB: nothing stored at all: H-47 .. H-2 = 46 hours, max_hours 24 -> gaps (H-47 .. H-24), (H-23 .. H-2).
    max_requests 3, oldest first gap start: MNB (H-47..H-24), MNB (H-23..H-2), MNA (H-10); MNA (H-5..H-4) waits.
    Hours asked 24 + 22 + 1 = 47. Times in Beijing (UTC+8): H = 18:00, so H-10 = 08:00, H-5 = 13:00.
    """
    h = [H - timedelta(hours=k) for k in range(80)]  # h[k] = H - k hours
    a = {(h[k], f) for k in range(2, 48) for f in ("w01018", "w21003") if k not in (4, 5)} - {(h[10], "w21003")}
    clock = [NOW]
    pull = _pull({"MNA": a}, clock, lookback="72h", grace="1h", max_requests=3, max_hours=24, retry_every="1h")
    assert pull.missing(pull.units.get("MNA"), NOW) == [h[10], h[5], h[4]]  # type: ignore[arg-type]
    sent = pull.requests({"MNA": "32", "MNB": "31"})
    fmt = "%Y%m%d%H%M%S"

    def req(mn: str, st: str, pw: str, first: datetime, last: datetime) -> bytes:
        bj = timedelta(hours=8)
        return wrap(f"QN=20261206182000000;ST={st};CN=2061;PW={pw};MN={mn};Flag=5;"
                    f"CP=&&BeginTime={(first + bj).strftime(fmt)};EndTime={(last + bj).strftime(fmt)}&&")

    assert sent == [("MNB", req("MNB", "31", "pb", h[47], h[24])), ("MNB", req("MNB", "31", "pb", h[23], h[2])),
                    ("MNA", req("MNA", "32", "pa", h[10], h[10]))]
    assert (pull.stats.requests, pull.stats.hours_asked) == (3, 24 + 1 + 22)
    # 10 minutes later: only the gap not asked yet (the others within retry_every).
    clock[0] = NOW + timedelta(minutes=10)
    assert [(mn, r[-60:-6]) for mn, r in pull.requests({"MNA": "32", "MNB": "31"})] == [
        ("MNA", b"CP=&&BeginTime=20261206130000;EndTime=20261206140000&&")]
    # H-10 comes (the unit answered): recovered 1 at the next look; unconnected units are not asked.
    a.add((h[10], "w21003"))
    clock[0] = NOW + timedelta(minutes=20)
    assert pull.requests({}) == []
    pull.missing(pull.units.get("MNA"), clock[0])  # type: ignore[arg-type]
    assert pull.stats.recovered == 1


def test_a_platform_that_never_answers_gets_each_frame_three_times_and_the_queue_moves_on(tmp_path: Path) -> None:
    """No answer ever: F1 (Flag=5) is sent 3 times (resent 2), then given up (unanswered 1, sent 1); F2 (Flag=4)
    once. The stream: F1 x 3, F2. The second and third connections come after a backoff of 1 s and 2 s (each
    earlier connection delivered nothing), so this takes about 0.3 x 3 + 1 + 2 = 3.9 s."""
    async def main() -> None:
        stream: list[bytes] = []

        async def platform(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                stream.append(data)

        up = await _deliver(tmp_path, platform)
        assert b"".join(stream) == (F.CN2011_ANSWER_WANTED + CRLF) * 3 + F.CN2011_LOWER_CRC + CRLF
        assert (up.stats.sent, up.stats.resent, up.stats.unanswered, up.stats.queued) == (2, 2, 1, 0)

    asyncio.run(main())
