"""The HJ 212 receiver over real TCP on loopback, with a real store writer on SQLite (issue 17, item 1 proofs).

Frames are the real ones of hj212_frames.py (their sources are named there). Three DAUs are configured with
the MNs and passwords those frames carry, so they are sent unchanged; only the split pair of the standard's
C.50 (printed without length and CRC) and the frames with a wrong password are wrapped here with
answers.wrap, which computes their length and CRC.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from opsmon.collector.config.hj212 import Hj212Config
from opsmon.collector.config.inventory import AssetSpec
from opsmon.collector.core.messages import Event, Hj212Data, Hj212Frame
from opsmon.collector.core.states import UP, Observation
from opsmon.collector.inputs.hj212 import wrap
from opsmon.collector.inputs.hj212.receiver import Hj212Receiver
from opsmon.collector.inputs.hj212.units import Units
from opsmon.collector.store import open_store
from opsmon.collector.store.models import Hj212Datum, Hj212FrameRow
from opsmon.collector.store.writer import StoreWriter
from tests.collector.inputs import hj212_frames as F

NOW = datetime(2021, 4, 9, 2, 32, 8, tzinfo=UTC)  # 10:32:08 in Asia/Shanghai
DAUS = {
    "dau-dxcbz": {"mn": "DXCBZ000000005", "credential": "dxcbz", "relay": ["up"], "points": {"ww1": {"factors": {
        "w01018": {"limit": 100}, "w21003": {"limit": 15}}}}},
    "dau-z134": {"mn": "Z13401000010301", "credential": "z134", "points": {"fq1": {"factors": {
        "a34013": {"limit": 20}}}}},
    "dau-jlyp": {"mn": "JLYP01_AIR01_0001", "credential": "dxcbz"},
    "dau-c50": {"mn": "010000A8900016F000169DC0", "credential": "dxcbz", "points": {"ww2": {}}},
}
# What the receiver must answer, byte for byte (ST=91, Flag=4, the upload's QN: HJ 212-2017 C.14, C.4).
ANSWER_2011 = b"##0077QN=20210409103207982;ST=91;CN=9014;PW=123456;MN=DXCBZ000000005;Flag=4;CP=&&&&0780\r\n"
ANSWER_2061 = (b"##0096QN=20190925181031464;ST=91;CN=9014;PW=BF470F88957588DE902D1A52;MN=Z13401000010301;Flag=4;"
               b"CP=&&&&CE81\r\n")
ANSWER_1013 = b"##0077QN=20210407112025761;ST=91;CN=9013;PW=123456;MN=DXCBZ000000005;Flag=4;CP=&&&&84C1\r\n"


def _specs() -> dict[str, AssetSpec]:
    return {aid: AssetSpec.model_validate({"id": aid, "category": "dau", "site": "乌鲁木齐市",
                                           "checks": [{"type": "hj212", "enterprise": "某化工有限公司", **d}]})
            for aid, d in DAUS.items()}


@dataclass
class Rig:
    receiver: Hj212Receiver
    writer: StoreWriter
    store: Any
    published: list[Any]

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.receiver.port)

    def count(self, model: Any, *where: Any) -> int:
        self.writer.flush()
        with self.store.session() as s:
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


@asynccontextmanager
async def rig(tmp_path: Path, trouble: Callable[[], str | None] = lambda: None, settings: dict[str, Any] | None = None,
              **extra: Any) -> AsyncIterator[Rig]:
    store = open_store(f"sqlite:///{tmp_path / 'hj212.db'}")
    writer = StoreWriter(store, NOW, lambda: NOW)
    writer.start()
    published: list[Any] = []

    def publish(msg: Any) -> None:
        published.append(msg)
        if isinstance(msg, (Hj212Data, Hj212Frame, Event)):
            writer.put(msg)

    config = Hj212Config(enabled=True, port=1, idle_timeout=30, answer_wait=5,
                           credentials={"dxcbz": {"password": "123456"},
                                        "z134": {"password": "BF470F88957588DE902D1A52"}})
    specs = _specs()
    units = Units(lambda: specs, {"dxcbz": "123456", "z134": "BF470F88957588DE902D1A52"})
    def frames_since(since: datetime) -> list[tuple[datetime, bytes, str]]:  # as the service reads them back
        with store.session() as s:
            return list(s.execute(select(Hj212FrameRow.received, Hj212FrameRow.raw, Hj212FrameRow.crc)
                                  .where(Hj212FrameRow.received >= since).order_by(Hj212FrameRow.id)))

    durable = lambda: asyncio.wrap_future(writer.durable(hurry=False))  # noqa: E731 - as the service gives it
    receiver = Hj212Receiver(config.model_copy(update={"port": 0, **(settings or {})}), "Asia/Shanghai", units, publish,
                             lambda: NOW, durable, trouble, frames_since, **extra)
    receiver.bind()
    receiver.start()
    await asyncio.sleep(0.05)
    try:
        yield Rig(receiver, writer, store, published)
    finally:
        receiver.close()
        writer.stop()
        store.close()


async def _read(reader: asyncio.StreamReader, n: int, timeout: float = 5.0) -> bytes:
    """Exactly the next `n` frames (CR LF ended), or what came before the timeout."""
    out = b""
    try:
        while out.count(b"\r\n") < n:
            chunk = await asyncio.wait_for(reader.read(4096), timeout)
            if not chunk:
                break
            out += chunk
    except TimeoutError:
        pass
    return out


def test_several_daus_at_once_answered_byte_for_byte_and_stored(tmp_path: Path) -> None:
    """Three units on three connections at once; the 9014s are the standard's form with each upload's QN,
    and what they carried is in the store when the answer arrives (the answer is a promise)."""
    async def main() -> None:
        async with rig(tmp_path) as r:
            async def unit(frame: bytes, answers: int) -> bytes:
                reader, writer = await r.connect()
                writer.write(frame + b"\r\n")
                got = await _read(reader, answers, timeout=5 if answers else 0.5)
                writer.close()
                return got

            got = await asyncio.gather(unit(F.CN2011_ANSWER_WANTED, 1), unit(F.CN2061, 1), unit(F.CN2051, 0))
            assert got == [ANSWER_2011, ANSWER_2061, b""]  # CN2051 has Flag=4: no answer wanted
            with r.store.session() as s:  # no flush: answered means committed
                stored = {(row.mn, row.cn, row.factor) for row in s.scalars(select(Hj212Datum))}
            assert ("DXCBZ000000005", "2011", "w01018") in stored
            assert ("Z13401000010301", "2061", "a34006") in stored
            r.writer.flush()
            with r.store.session() as s:
                row = s.scalars(select(Hj212Datum).where(Hj212Datum.mn == "Z13401000010301",
                                                         Hj212Datum.factor == "a34006")).one()
                assert (row.avg, row.flag, row.point, row.asset_id) == ("2.69700", "N", "fq1", "dau-z134")
                # DataTime 2019-09-24 22:00 Beijing time is 14:00 UTC
                assert row.data_time == datetime(2019, 9, 24, 14, 0, tzinfo=UTC)
                assert s.scalar(select(func.count()).select_from(Hj212Datum)
                                .where(Hj212Datum.mn == "JLYP01_AIR01_0001")) == 11
            assert r.count(Hj212FrameRow) == 3
            ups = {(o.asset_id, o.check_id, o.status) for o in r.published if isinstance(o, Observation)}
            assert ups == {("dau-dxcbz", "hj212", UP), ("dau-z134", "hj212", UP), ("dau-jlyp", "hj212", UP)}
            assert r.receiver.counts.accepted["DXCBZ000000005"] == 1
            assert r.receiver.counts.accepted["010000A8900016F000169DC0"] == 0  # counters exist from zero
    asyncio.run(main())


def test_cut_frames_garbage_and_split_packets(tmp_path: Path) -> None:
    """A frame cut across two TCP reads, garbage between frames, and the standard's split hourly upload
    (C.50, PNUM=2): each part answered on its own, the message stored once joined."""
    async def main() -> None:
        async with rig(tmp_path) as r:
            reader, writer = await r.connect()
            frame = F.CN2011_ANSWER_WANTED + b"\r\n"
            writer.write(frame[:50])
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.write(frame[50:] + b"\x00\xffnoise that is no frame\r\n")
            assert await _read(reader, 1) == ANSWER_2011
            part1, part2 = wrap(F.C50_PART1), wrap(F.C50_PART2)
            writer.write(part2 + b"garbage##xx" + part1)  # parts out of order, a broken header between them
            answers = await _read(reader, 2)
            assert b"QN=20160801085857535;ST=91;CN=9014" in answers and b"QN=20160801085857534;ST=91;CN=9014" in answers
            writer.close()
            factors = {row for (row,) in _rows(r, "010000A8900016F000169DC0", "factor")}
            assert factors == {"w00000", "w01001", "w01018"}
            refused = r.receiver.counts.refused
            # counted under the MN last accepted on the connection
            assert refused[("garbage", "DXCBZ000000005")] == 1
            assert refused[("bad_length", "010000A8900016F000169DC0")] == 1
            assert r.receiver.counts.accepted["010000A8900016F000169DC0"] == 2
    asyncio.run(main())


def _rows(r: Rig, mn: str, *columns: str) -> list[tuple[Any, ...]]:
    r.writer.flush()
    with r.store.session() as s:
        return list(s.execute(select(*(getattr(Hj212Datum, c) for c in columns)).where(Hj212Datum.mn == mn)))


def test_a_resent_hour_is_stored_once_and_answered_each_time(tmp_path: Path) -> None:
    async def main() -> None:
        async with rig(tmp_path) as r:
            reader, writer = await r.connect()
            writer.write(F.CN2061 + b"\r\n")
            assert await _read(reader, 1) == ANSWER_2061
            writer.write(F.CN2061 + b"\r\n")
            assert await _read(reader, 1) == ANSWER_2061
            writer.close()
            assert len(_rows(r, "Z13401000010301", "factor")) == 5  # five factors, once each
            assert r.count(Hj212FrameRow, Hj212FrameRow.mn == "Z13401000010301") == 2  # the audit keeps both
    asyncio.run(main())


def test_a_wrong_password_is_refused_unanswered_and_a_security_event(tmp_path: Path) -> None:
    async def main() -> None:
        async with rig(tmp_path) as r:
            reader, writer = await r.connect()
            bad = F.CN2061.decode()[6:-4].replace("PW=BF470F88957588DE902D1A52", "PW=123456")
            for _ in range(3):
                writer.write(wrap(bad))
            assert await _read(reader, 1, timeout=0.5) == b""
            writer.write(F.CN2061 + b"\r\n")  # the connection stays: the right password is taken after
            assert await _read(reader, 1) == ANSWER_2061
            writer.close()
            assert r.receiver.counts.refused[("password", "Z13401000010301")] == 3
            events = [m for m in r.published if isinstance(m, Event)]
            assert len(events) == 1 and events[0].kind == "auth" and events[0].name == "hj212_password"
            assert events[0].asset_id == "dau-z134" and "123456" not in repr(events[0])
            assert len(_rows(r, "Z13401000010301", "factor")) == 5  # only the good frame's
            with r.store.session() as s:
                raw, crc = s.execute(select(Hj212FrameRow.raw, Hj212FrameRow.crc)).one()
            # The audit copy is masked: PW=BF470F88957588DE902D1A52 (24 bytes) becomes PW=****** (6), so the
            # segment of 285 bytes is 18 shorter: 0267; the CRC stays as sent (C181), which no longer matches;
            # `crc` keeps the status found on receipt.
            assert raw == b"##0267" + F.CN2061[6:].replace(b"PW=BF470F88957588DE902D1A52", b"PW=******")
            assert raw.endswith(b"&&C181")
            assert crc == "ok"
    asyncio.run(main())
    # Neither password is anywhere in the database's files: the good frame's (stored masked) nor the wrong one's
    # (refused: not stored; its security event names the MN and the count only).
    files = sorted(tmp_path.glob("hj212.db*"))
    assert files and all(b"BF470F88957588DE902D1A52" not in f.read_bytes() and b"123456" not in f.read_bytes()
                         for f in files)


def test_time_calibration_and_keepalive_and_unknown_mn(tmp_path: Path) -> None:
    """1013 -> 9013 with its QN, then 1012 with the collector's time in Beijing time (C.3, C.4); a vendor
    heartbeat 9021 proves the link only; an MN of no configured DAU is counted, not stored."""
    async def main() -> None:
        async with rig(tmp_path) as r:
            reader, writer = await r.connect()
            writer.write(F.CN1013 + b"\r\n")
            got = await _read(reader, 2)
            assert got.startswith(ANSWER_1013)
            set_time = got[len(ANSWER_1013):]
            assert b";ST=21;CN=1012;PW=123456;MN=DXCBZ000000005;Flag=5;CP=&&PolId=w01018;SystemTime=20210409103208&&" \
                in set_time
            assert set_time.startswith(b"##") and set_time.endswith(b"\r\n")
            writer.write(F.CN9021_HEARTBEAT + b"\r\n" + F.CN2011_LOWER_CRC + b"\r\n")  # Y80110010000010: unknown
            assert await _read(reader, 1, timeout=0.5) == b""
            writer.close()
            assert r.receiver.counts.refused[("unknown_mn", "unknown")] == 1
            assert r.count(Hj212Datum, Hj212Datum.mn == "Y80110010000010") == 0
            assert r.count(Hj212FrameRow) == 1  # the 1013; the heartbeat is not kept
            assert r.receiver.counts.accepted["DXCBZ000000005"] == 2
            assert r.receiver.counts.answers == {"9013": 1, "1012": 1}
    asyncio.run(main())


def test_no_9014_while_the_store_is_in_trouble(tmp_path: Path) -> None:
    """The unit must send again: a 9014 would tell it to drop data the store may not have."""
    async def main() -> None:
        async with rig(tmp_path, trouble=lambda: "database is locked") as r:
            reader, writer = await r.connect()
            writer.write(F.CN2011_ANSWER_WANTED + b"\r\n")
            assert await _read(reader, 1, timeout=0.5) == b""
            writer.close()
            assert r.receiver.counts.withheld == 1 and "9014" not in r.receiver.counts.answers
    asyncio.run(main())


def test_a_taken_port_fails_the_start_naming_the_address(tmp_path: Path) -> None:
    import socket

    import pytest

    taken = socket.create_server(("127.0.0.1", 0))
    try:
        settings = Hj212Config(enabled=True, port=taken.getsockname()[1])
        receiver = Hj212Receiver(settings, "Asia/Shanghai", Units(dict, {}), lambda m: None)
        with pytest.raises(OSError, match=f"cannot receive HJ 212 on 127.0.0.1:{settings.port}"):
            receiver.bind()
    finally:
        taken.close()


# A 2061 whose DataTime is 0001-01-01 00:00 in Beijing time: before UTC's year 1, so no datetime can hold it.
YEAR_ONE = ("QN=20190925181031465;ST=22;CN=2061;PW=BF470F88957588DE902D1A52;MN=Z13401000010301;Flag=5;"
            "CP=&&DataTime=00010101000000;a34013-Avg=1.0,a34013-Flag=N&&")


def test_an_unrepresentable_datatime_is_bad_datatime_and_the_next_frame_is_answered(tmp_path: Path) -> None:
    """DataTime 00010101000000 in Asia/Shanghai overflowed (OverflowError) and killed the connection: the
    valid frame after it in the same read was neither answered nor stored."""
    async def main() -> None:
        async with rig(tmp_path) as r:
            reader, writer = await r.connect()
            writer.write(wrap(YEAR_ONE) + F.CN2061 + b"\r\n")
            got = await _read(reader, 2)
            writer.close()
            assert got.endswith(ANSWER_2061) and got.count(b"CN=9014") == 2  # its raw frame is stored: answered
            assert r.receiver.counts.refused[("bad_datatime", "Z13401000010301")] == 1
            assert len(_rows(r, "Z13401000010301", "factor")) == 5  # the good frame's five factors
    asyncio.run(main())


def test_an_unexpected_error_in_one_frame_is_counted_and_the_connection_goes_on(
        tmp_path: Path, monkeypatch: Any, caplog: Any) -> None:
    """Any bug met while handling one frame: counted `error` under the DAU, logged without a traceback, that
    frame not answered; the connection and the frames after it go on."""
    from opsmon.collector.inputs.hj212 import session as session_module

    real_data = session_module.Session._data
    calls = []

    def flaky(self: Any, *args: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        real_data(self, *args)

    monkeypatch.setattr(session_module.Session, "_data", flaky)

    async def main() -> None:
        async with rig(tmp_path) as r:
            reader, writer = await r.connect()
            writer.write(F.CN2061 + b"\r\n" + F.CN2061 + b"\r\n")
            got = await _read(reader, 1)
            writer.close()
            await asyncio.sleep(0.1)  # the receiver sees the end of the stream (no cancelled read at teardown)
            assert got == ANSWER_2061  # the second copy: the first was not handled, so not answered
            assert r.receiver.counts.refused[("error", "Z13401000010301")] == 1
            r.receiver.refusals.flush()
            assert len(_rows(r, "Z13401000010301", "factor")) == 5
    asyncio.run(main())
    assert not any(rec.exc_info for rec in caplog.records)
    assert "Traceback" not in caplog.text
    [line] = [rec for rec in caplog.records if getattr(rec, "refused", "") == "error:1"]
    assert line.detail == "RuntimeError: a bug" and line.source == "Z13401000010301"  # type: ignore[attr-defined]


C50_MN = "010000A8900016F000169DC0"
C50_ANSWER1 = b"QN=20160801085857534;ST=91;CN=9014"
C50_ANSWER2 = b"QN=20160801085857535;ST=91;CN=9014"


def _c50_rows(r: Rig) -> list[str]:
    return sorted(factor for (factor,) in _rows(r, C50_MN, "factor"))


def test_a_split_part_answered_before_a_restart_is_stored_once_the_last_part_comes(tmp_path: Path) -> None:
    """Part 1 of the standard's split upload (C.50) is answered, then the collector restarts: the part's values
    lived only in memory. At start the receiver reads the stored parts back, so part 2 after the restart
    completes the message, stored once."""
    async def main() -> None:
        async with rig(tmp_path) as r:
            reader, writer = await r.connect()
            writer.write(wrap(F.C50_PART1))
            assert C50_ANSWER1 in await _read(reader, 1)
            writer.close()
            assert _c50_rows(r) == []  # not whole yet
        async with rig(tmp_path) as r:  # a new receiver and writer on the same database: a restart
            reader, writer = await r.connect()
            writer.write(wrap(F.C50_PART2))
            assert C50_ANSWER2 in await _read(reader, 1)
            writer.close()
            assert _c50_rows(r) == ["w00000", "w01001", "w01018"]
        async with rig(tmp_path) as r:  # once more: the whole message read back changes nothing
            await asyncio.sleep(0.05)
            assert _c50_rows(r) == ["w00000", "w01001", "w01018"]
    asyncio.run(main())


def test_a_split_message_given_up_keeps_the_values_of_its_answered_parts(tmp_path: Path) -> None:
    """Part 2 does not come in time (here 0.2 s; 300 s in service): part 1 was answered, so its values are stored
    rather than dropped; part 2 coming late, alone, is stored too; each factor once."""
    async def main() -> None:
        async with rig(tmp_path) as r:
            r.receiver.shared.reassembler.timeout = 0.2
            reader, writer = await r.connect()
            writer.write(wrap(F.C50_PART1))
            assert C50_ANSWER1 in await _read(reader, 1)
            await asyncio.sleep(1.5)  # the receiver's tick gives it up
            assert _c50_rows(r) == ["w00000", "w01001"]
            assert r.receiver.counts.split_dropped == 1
            writer.write(wrap(F.C50_PART2) + wrap(F.C50_PART1))  # late part 2, and part 1 resent
            assert (await _read(reader, 2)).count(b"CN=9014") == 2
            writer.close()
            await asyncio.sleep(0.1)
            assert _c50_rows(r) == ["w00000", "w01001", "w01018"]
    asyncio.run(main())


def test_connections_over_the_per_address_and_overall_bounds_are_closed_counted_and_logged_once_a_minute(
        tmp_path: Path, caplog: Any) -> None:
    """max_per_address 2, max_connections 3, over real TCP from three loopback source addresses:

    127.0.0.1 opens 2 (held), a 3rd and a 4th (closed at once: max_per_address, refusals 1 and 2, one log line
    for the address, the 2nd refusal within its minute); 127.0.0.2 opens 1 (held: 3 open, its own count is 1);
    127.0.0.3 opens 1 (closed: max_connections, refusal 3, its own line). One of 127.0.0.1's closes: 2 open,
    1 from it, so its next is held again (3 open). /metrics: opsmon_hj212_connections_refused_total 3,
    opsmon_hj212_connections 3."""
    import logging

    from opsmon.collector.outputs.metrics import Hj212Collector

    async def opened(r: Rig, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", r.receiver.port, local_addr=(source, 0))

    async def closed_at_once(reader: asyncio.StreamReader) -> bool:
        try:
            return await asyncio.wait_for(reader.read(100), 2.0) == b""
        except ConnectionError:
            return True

    async def settle(r: Rig, open_now: int) -> None:
        for _ in range(100):
            if r.receiver.counts.connections == open_now:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{r.receiver.counts.connections} open, not {open_now}")

    async def main() -> None:
        async with rig(tmp_path, settings={"max_per_address": 2, "max_connections": 3}) as r:
            held = [await opened(r, "127.0.0.1"), await opened(r, "127.0.0.1")]
            await settle(r, 2)
            for n in (1, 2):
                reader, _ = await opened(r, "127.0.0.1")
                assert await closed_at_once(reader)
                assert r.receiver.counts.connections_refused == n
            held.append(await opened(r, "127.0.0.2"))
            await settle(r, 3)
            reader, _ = await opened(r, "127.0.0.3")
            assert await closed_at_once(reader)
            c = r.receiver.counts
            assert c.connections_refused_by == {"max_per_address": 2, "max_connections": 1}
            assert r.receiver.per_address == {"127.0.0.1": 2, "127.0.0.2": 1}
            held.pop(0)[1].close()
            await settle(r, 2)
            assert r.receiver.per_address == {"127.0.0.1": 1, "127.0.0.2": 1}
            held.append(await opened(r, "127.0.0.1"))
            await settle(r, 3)
            metrics = {m.name: m.samples[0].value for m in Hj212Collector(c).collect()
                       if m.name in ("opsmon_hj212_connections_refused", "opsmon_hj212_connections")}
            assert metrics == {"opsmon_hj212_connections_refused": 3, "opsmon_hj212_connections": 3}
            lines = [(rec.source, rec.bound, rec.refused) for rec in caplog.records
                     if "connections refused" in rec.getMessage()]
            assert lines == [("127.0.0.1", "max_per_address", 1), ("127.0.0.3", "max_connections", 1)]
            for _, w in held:
                w.close()

    with caplog.at_level(logging.WARNING, logger="opsmon.collector.inputs.hj212.receiver"):
        asyncio.run(main())


def test_a_connection_silent_for_idle_timeout_is_closed_and_one_that_sends_is_not(tmp_path: Path) -> None:
    """idle_timeout 1 s, looked at every tick (1 s): the silent connection is closed between 1 and 2 s after it
    opened (it never sent); the other sends a heartbeat (9021, a keep-alive) every 0.5 s and stays open: 2.2 s on,
    1 connection is open."""
    async def main() -> None:
        async with rig(tmp_path, settings={"idle_timeout": 1.0}) as r:
            silent, _ = await r.connect()
            talker, writer = await r.connect()
            began = asyncio.get_running_loop().time()
            while asyncio.get_running_loop().time() - began < 2.2:
                writer.write(F.CN9021_HEARTBEAT + b"\r\n")
                await asyncio.sleep(0.5)
            try:
                assert await asyncio.wait_for(silent.read(100), 0.1) == b""  # closed by then
            except ConnectionResetError:
                pass  # closed by then, with a reset
            assert r.receiver.counts.connections == 1
            writer.close()
    asyncio.run(main())
