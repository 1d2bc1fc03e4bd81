"""Fuzz of the HJ 212 framer and parser (issue 17): random and mutated frames never raise anything but the
codec's own refusal (PacketError), and the framer never loses a good frame that follows garbage.

Bounded for CI: a fixed number of examples, derandomized (the same inputs every run), no deadline flakiness.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
