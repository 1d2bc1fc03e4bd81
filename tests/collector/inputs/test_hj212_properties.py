"""Fuzz of the HJ 212 framer and parser (issue 17): random and mutated frames never raise anything but the
codec's own refusal (PacketError), and the framer never loses a good frame that follows garbage.

Bounded for CI: a fixed number of examples, derandomized (the same inputs every run), no deadline flakiness.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsmon.collector.core.messages import Hj212Data
from opsmon.collector.inputs.hj212 import Framer, PacketError, crc_refusal, parse_segment, wrap
from opsmon.collector.inputs.hj212.frame import Frame, Refusal
from tests.collector.inputs import hj212_frames as real

SEEDS = [real.CN2011_LOWER_CRC, real.CN2051_SPLIT_PART1, real.CN2061, real.CN2031, real.CN2021, real.CN1013,
         real.CN9014_LIVE_PLATFORM, real.MODBUS_LE_868, real.LENGTH_MISMATCH, real.CN2011_2005_NO_QN]
fuzz = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
ALPHABET = b"#&;,=-0123456789ABCDEFQNSTCPWMFlag\r\n\x00\xff"


def run(data: bytes, chunks: list[int]) -> list[Frame | Refusal]:
    """Feed `data` cut at `chunks`, parse every frame; only PacketError may come out of the parser."""
    f = Framer(max_segment=2048)
    items: list[Frame | Refusal] = []
    at = 0
    for n in chunks:
        items += f.feed(data[at:at + n])
        at += n
    items += f.feed(data[at:]) + f.close()
    for item in items:
        assert isinstance(item, Frame | Refusal)
        if isinstance(item, Frame):
            crc_refusal(item, "strict")
            try:
                p = parse_segment(item.segment)
            except PacketError:
                continue
            p.factors(), p.cp_document(), p.version, p.is_split, p.wants_answer
    return items


@fuzz
@given(st.binary(max_size=3000), st.lists(st.integers(1, 400), max_size=8))
def test_random_bytes(data: bytes, chunks: list[int]) -> None:
    run(data, chunks)


@fuzz
@given(st.lists(st.sampled_from(list(ALPHABET)), max_size=600).map(bytes),
       st.lists(st.integers(1, 50), max_size=8))
def test_protocol_alphabet(data: bytes, chunks: list[int]) -> None:
    """Bytes made of the protocol's own characters reach deeper than random ones."""
    run(b"##" + data, chunks)


@fuzz
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 2000), st.binary(min_size=0, max_size=4)),
                                         min_size=1, max_size=6),
       st.lists(st.integers(1, 300), max_size=6))
def test_mutated_real_frames(seed: bytes, edits: list[tuple[int, bytes]], chunks: list[int]) -> None:
    """Real frames with bytes replaced, inserted or removed, then a good frame: the good one always comes out."""
    data = bytearray(seed)
    for pos, new in edits:
        pos %= len(data) + 1
        data[pos:pos + len(new) % 3] = new
    tail = real.CN1013
    items = run(bytes(data) + b"\r\n" + tail + b"\r\n", chunks)
    assert any(isinstance(i, Frame) and i.raw == tail for i in items)


@fuzz
@given(st.text(max_size=300))
def test_any_text_segment_parses_or_is_refused(text: str) -> None:
    """Well-framed segments with any text (any Unicode) inside: parsed, or refused with a reason."""
    seg = "QN=1;ST=32;CN=2011;MN=M;Flag=5;CP=&&" + text + "&&"
    [item] = Framer().feed(wrap(seg))
    assert isinstance(item, Frame) and item.crc == "ok"
    try:
        parse_segment(item.segment)
    except PacketError as exc:
        assert exc.reason


# -- past the parser: the session's data handling, with frames whose CRC is right ---------------------------
FUZZ_MN = "FUZZ0000000001"


def _session() -> tuple[Any, list[Any]]:
    from opsmon.collector.config.inventory import AssetSpec
    from opsmon.collector.inputs.hj212.session import Counts, Session, Shared
    from opsmon.collector.inputs.hj212.units import Units
    from opsmon.collector.inputs.snmp.trap_refusals import Refusals

    spec = AssetSpec.model_validate({"id": "dau-fuzz", "category": "dau", "site": "乌鲁木齐市", "checks": [
        {"type": "hj212", "mn": FUZZ_MN, "credential": "c", "enterprise": "e",
         "points": {"p": {"factors": {"w01018": {}}}}}]})
    units = Units(lambda: {"dau-fuzz": spec}, {"c": "123456"})
    units.refresh()
    published: list[Any] = []
    shared = Shared(units, published.append, lambda: datetime(2021, 4, 9, 2, 32, 8, tzinfo=UTC),
                    Refusals(0, lambda label: True), "Asia/Shanghai", Counts(), monotonic=lambda: 0.0)
    return Session(shared, "127.0.0.1", 9999), published


def _two(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.integers(lo, hi).map(lambda n: f"{n:02d}")


# DataTime: the edges of the calendar in the units' zone (year 1 before 08:00 Beijing time is before UTC's year 1;
# year 9999 after it), 14 digits field by field (month 13, day 32, hour 25 ...), and any text now and then.
CALENDAR_EDGES = st.tuples(st.sampled_from(["0001", "0002", "1970", "2038", "9999"]),
                           st.sampled_from(["01", "12"]), st.sampled_from(["01", "31"]),
                           st.sampled_from(["00", "07", "08", "16", "23"]), _two(0, 59), _two(0, 59)).map("".join)
DATA_TIMES = st.one_of(
    CALENDAR_EDGES,
    st.tuples(st.integers(0, 9999).map(lambda n: f"{n:04d}"), _two(0, 13), _two(0, 32), _two(0, 25), _two(0, 61),
              _two(0, 61), st.sampled_from(["", "000", "9"])).map("".join),
    st.text(max_size=20))
CP_TEXT = st.text(st.characters(blacklist_characters="&", blacklist_categories=("Cs",)), max_size=40)
CP_ITEMS = st.lists(st.tuples(st.sampled_from(["w01018", "a34013", "SB1", "x"]),
                              st.sampled_from(["Rtd", "Avg", "Min", "Max", "Cou", "ZsAvg", "Flag", "RS", "", "?"]),
                              CP_TEXT), min_size=1, max_size=8)


@fuzz
@given(st.sampled_from(["2011", "2051", "2061", "2031", "2021", "2041", "2081", "1013", "9021"]), DATA_TIMES,
       CP_ITEMS, st.sampled_from([4, 5, 7]), st.integers(1, 3), st.integers(1, 4))
def test_valid_frames_with_any_datatime_and_values_reach_the_store_messages(
        cn: str, data_time: str, items: list[tuple[str, str, str]], flag: int, pnum: int, pno: int) -> None:
    """Frames with the right CRC, MN and password, any DataTime and CP values: the session's data handling
    (Session._frame, then _data) stores, refuses with a reason, or waits for parts; it never raises."""
    session, published = _session()
    split = f";PNUM={pnum};PNO={pno}" if flag == 7 else ""
    cp = ";".join([f"DataTime={data_time}"] + [f"{code}-{name}={value}" for code, name, value in items])
    seg = f"QN=20210409103207982;ST=32;CN={cn};PW=123456;MN={FUZZ_MN};Flag={flag}{split};CP=&&{cp}&&"
    for item in Framer().feed(wrap(seg)):
        if isinstance(item, Frame):
            session._frame(item)  # not _items: its guard would hide what this test looks for
    for msg in published:
        if isinstance(msg, Hj212Data):
            assert msg.data_time.tzinfo is not None and msg.values
