"""The HJ 212 codec against real frames (tests/collector/inputs/hj212_frames.py says where each came from)."""
from __future__ import annotations

import os

import pytest

from opsmon.collector.inputs.hj212 import (
    Framer,
    PacketError,
    Reassembler,
    crc_refusal,
    data_answer,
    hj212_crc,
    notify_answer,
    parse_segment,
    set_time,
    wrap,
)
from opsmon.collector.inputs.hj212.crc import modbus_crc
from opsmon.collector.inputs.hj212.frame import Frame, Refusal
from tests.collector.inputs import hj212_frames as real

GOOD = {
    "1062": real.CN1062_STANDARD, "2011": real.CN2011_LOWER_CRC, "2011/2005": real.CN2011_2005_NO_QN,
    "2051": real.CN2051, "2051/split": real.CN2051_SPLIT_PART1, "2061": real.CN2061, "2031": real.CN2031,
    "2021": real.CN2021, "1013": real.CN1013, "9014": real.CN9014_LIVE_PLATFORM, "9021": real.CN9021_HEARTBEAT,
}


def cut(data: bytes, max_segment: int = 9999) -> list[Frame | Refusal]:
    f = Framer(max_segment)
    return f.feed(data) + f.close()


def one_frame(data: bytes) -> Frame:
    [item] = cut(data + b"\r\n")
    assert isinstance(item, Frame), item
    return item


def standard_loop(data: bytes) -> int:
    """HJ 212-2017 Appendix A as printed (the C loop), to check the table form against."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_crc_is_the_standards_not_modbus() -> None:
    """The standard's example gives 1C80 (its prose says 1C08, a typo); CRC-16/MODBUS would give 0759."""
    seg = real.CN1062_STANDARD[6:-4]
    assert len(seg) == 101
    assert hj212_crc(seg) == 0x1C80
    assert modbus_crc(seg) == 0x0759


def test_crc_table_form_equals_the_standards_loop() -> None:
    for n in range(500):
        data = os.urandom(n % 300)
        assert hj212_crc(data) == standard_loop(data)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_real_frames_pass_the_hj212_crc(name: str) -> None:
    """Frames from the standard, public implementations and logs of live units all carry the HJ 212 CRC."""
    f = one_frame(GOOD[name])
    assert f.crc == "ok" and crc_refusal(f) is None


def test_every_field_kept_as_sent() -> None:
    p = parse_segment(one_frame(real.CN2061).segment)
    assert (p.qn, p.st, p.cn, p.pw, p.mn, p.flag) == (
        "20190925181031464", "22", "2061", "BF470F88957588DE902D1A52", "Z13401000010301", 5)
    assert p.wants_answer and not p.is_split and p.version == "2017"
    assert p.data_time == "20190924220000"
    assert p.factors()["a34006"] == {"Avg": "2.69700", "Flag": "N"}  # trailing zeros kept


def test_minute_hour_day_fields_keep_their_names() -> None:
    p = parse_segment(one_frame(real.CN2051_SPLIT_PART1).segment)
    assert p.factors()["a21002"] == {"Min": "0.000", "Max": "0.000", "Avg": "0.000", "Cou": "0.000",
                                     "ZsMin": "0.000", "ZsMax": "0.000", "ZsAvg": "0.000", "ZsCou": "0.000",
                                     "Flag": "B"}
    assert (p.flag, p.pnum, p.pno, p.is_split, p.wants_answer) == (7, 2, 1, True, True)
    day = parse_segment(one_frame(real.CN2031).segment)
    assert day.cn == "2031" and day.factors()["NMHC"]["Max"] == "10.66"


def test_run_state_and_time_request() -> None:
    state = parse_segment(one_frame(real.CN2021).segment)
    assert state.factors() == {"SB1": {"RS": "1"}, "SB2": {"RS": "1"}}
    ask = parse_segment(one_frame(real.CN1013).segment)
    assert ask.cn == "1013" and ask.get("PolId") == "w01018" and ask.wants_answer


def test_2005_header_without_qn_or_flag() -> None:
    p = parse_segment(one_frame(real.CN2011_2005_NO_QN).segment)
    assert (p.qn, p.flag, p.st, p.version, p.wants_answer) == (None, None, "101", None, False)
    assert p.factors()["ua19004"]["Rtd"] == "2.017"


def test_pno_before_pnum_zero_padded_no_flag() -> None:
    f = one_frame(real.SPLIT_PNO_FIRST_BAD_CRC)
    p = parse_segment(f.segment)
    assert (p.pnum, p.pno, p.flag, p.is_split) == (2, 2, None, True)


def test_bad_crc_refused_with_reason() -> None:
    for data in (real.BAD_CRC_EDITED, real.BAD_CRC_README, real.SPLIT_PNO_FIRST_BAD_CRC):
        f = one_frame(data)
        assert f.crc == "bad"
        assert crc_refusal(f, "strict") == f"bad CRC: sent {f.crc_sent}, computed {f.crc_expected}"
        assert crc_refusal(f, "accept_modbus_le") is not None


def test_modbus_dialect_refused_by_strict_accepted_and_marked_by_policy() -> None:
    f = one_frame(real.MODBUS_LE_868)
    assert (f.crc, f.crc_sent) == ("modbus_le", "A6EC")
    assert "CRC-16/MODBUS low byte first" in (crc_refusal(f, "strict") or "")
    assert crc_refusal(f, "accept_modbus_le") is None


def test_over_1024_accepted_but_flagged() -> None:
    f = one_frame(real.CN2051_SPLIT_OVERSIZE_1045)
    assert f.crc == "ok" and f.oversize and len(f.segment) == 1045
    g = one_frame(real.MODBUS_LE_OVERSIZE_1025)
    assert g.oversize and g.crc == "modbus_le"


def test_length_mismatch_refused_and_the_next_frame_still_read() -> None:
    items = cut(real.LENGTH_MISMATCH + b"\r\n" + real.CN2061 + b"\r\n")
    assert isinstance(items[0], Refusal) and items[0].reason == "length_mismatch"
    assert "says 131" in items[0].detail and "has 137" in items[0].detail
    assert isinstance(items[1], Frame) and items[1].crc == "ok"
    assert len(items) == 2


def test_non_digit_length_refused() -> None:
    mutated = b"##0x9A" + real.CN2061[6:]  # the real 2061 frame with its length field spoiled
    items = cut(mutated + b"\r\n" + real.CN1013 + b"\r\n")
    assert [getattr(i, "reason", "frame") for i in items][:1] == ["bad_length"]
    assert isinstance(items[-1], Frame) and parse_segment(items[-1].segment).cn == "1013"


def test_a_bound_below_the_declared_length_refuses_before_reading() -> None:
    f = Framer(max_segment=1024)
    items = f.feed(real.MODBUS_LE_OVERSIZE_1025[:6])  # only the header has arrived
    assert [i.reason for i in items if isinstance(i, Refusal)] == ["too_long"]


def test_garbage_between_frames_and_cr_lf_optional() -> None:
    stream = b"\x00\xffnoise" + real.CN1013 + b"\n" + b"xx" + real.CN2021 + real.CN9021_HEARTBEAT + b"\r\n"
    items = cut(stream)
    kinds = [i.reason if isinstance(i, Refusal) else parse_segment(i.segment).cn for i in items]
    assert kinds == ["garbage", "1013", "garbage", "2021", "9021"]


def test_every_split_of_a_stream_gives_the_same_frames() -> None:
    """A frame cut across TCP reads at any byte comes out whole, once."""
    stream = real.CN2061 + b"\r\n" + real.CN2021 + b"\r\n"
    for at in range(1, len(stream)):
        f = Framer()
        items = f.feed(stream[:at]) + f.feed(stream[at:]) + f.close()
        assert [parse_segment(i.segment).cn for i in items if isinstance(i, Frame)] == ["2061", "2021"], at
        assert not [i for i in items if isinstance(i, Refusal)], at


def test_truncated_at_end_of_stream() -> None:
    items = cut(real.CN2061[:100])
    assert [i.reason for i in items if isinstance(i, Refusal)] == ["truncated"]


@pytest.mark.parametrize("segment, reason", [
    ("QN=1;ST=32;CN=2011;MN=A;Flag=5", "no_cp"),
    ("QN=1;ST=32;CN=2011;MN=A;Flag=5;CP=&&DataTime=1", "cp_unterminated"),
    ("QN=1;ST=32;MN=A;Flag=5;CP=&&&&", "no_cn"),
    ("QN=1;ST=32;CN=20x1;MN=A;CP=&&&&", "bad_cn"),
    ("QN=1;ST=32;CN=2011;MN=A;Flag=F;CP=&&&&", "bad_flag"),
    ("QN=1;ST=32;CN=2011;MN=A;Flag=256;CP=&&&&", "bad_flag"),
    ("QN=1;ST=32;CN=2011;MN=A;Flag=6;PNUM=two;PNO=1;CP=&&&&", "bad_pnum"),
])
def test_malformed_segments_refused_each_for_its_reason(segment: str, reason: str) -> None:
    with pytest.raises(PacketError) as err:
        parse_segment(segment.encode())
    assert err.value.reason == reason


def test_standard_typos_tolerated() -> None:
    """C.19 writes `Flag=5CP=&&`; C.22 `QN=…534,ST=32`; C.23 `BeginTime=…,EndTime=…`."""
    p = parse_segment("QN=20160801085857534,ST=32;CN=2031;PW=123456;MN=M;Flag=5CP=&&BeginTime=1,EndTime=2&&")
    assert (p.qn, p.st, p.get("BeginTime"), p.get("EndTime")) == ("20160801085857534", "32", "1", "2")


def test_utf8_length_counts_bytes() -> None:
    seg = "QN=1;ST=32;CN=2011;PW=1;MN=M;Flag=4;CP=&&DataTime=1;备注=新疆&&"
    data = wrap(seg)
    assert data[2:6] == b"%04d" % len(seg.encode())
    assert parse_segment(one_frame(data[:-2]).segment).get("备注") == "新疆"


def test_9014_answers_the_same_qn_in_the_standard_form() -> None:
    """C.14: QN of the upload, ST=91, CN=9014, Flag=4, CP=&&&& (the live platform's ST=21/Flag=5 is not copied)."""
    p = parse_segment(one_frame(real.CN2011_ANSWER_WANTED).segment)
    assert data_answer(p) == wrap(
        "QN=20210409103207982;ST=91;CN=9014;PW=123456;MN=DXCBZ000000005;Flag=4;CP=&&&&")
    assert data_answer(p) == b"##0077QN=20210409103207982;ST=91;CN=9014;PW=123456;MN=DXCBZ000000005;Flag=4;" \
                             b"CP=&&&&" + f"{hj212_crc(data_answer(p)[6:-6]):04X}".encode() + b"\r\n"
    live = parse_segment(one_frame(real.CN9014_LIVE_PLATFORM).segment)
    assert live.qn == p.qn  # the live platform answered the same QN too


def test_1013_gets_9013_then_1012_with_the_time() -> None:
    from datetime import datetime
    p = parse_segment(one_frame(real.CN1013).segment)
    assert notify_answer(p) == wrap(
        "QN=20210407112025761;ST=91;CN=9013;PW=123456;MN=DXCBZ000000005;Flag=4;CP=&&&&")
    out = set_time(p, datetime(2026, 3, 1, 8, 0, 5, 123000))
    assert out == wrap("QN=20260301080005123;ST=21;CN=1012;PW=123456;MN=DXCBZ000000005;Flag=5;"
                        "CP=&&PolId=w01018;SystemTime=20260301080005&&")
    assert one_frame(out[:-2]).crc == "ok"


def test_split_parts_reassembled_in_any_order_and_resent_parts_harmless() -> None:
    clock = [0.0]
    r = Reassembler(clock=lambda: clock[0], timeout=60)
    p1, p2 = parse_segment(real.C50_PART1), parse_segment(real.C50_PART2)
    assert r.add(p2) is None and r.add(p2) is None
    joined = r.add(p1)
    assert joined is not None and joined[1] == "ok"
    whole = joined[0]
    assert whole.pnum == 2 and whole.pno is None
    assert set(whole.factors()) == {"w00000", "w01001", "w01018"}
    assert [k for k, _ in whole.cp].count("DataTime") == 1
    assert r.add(p1) is None  # a late resend of part 1 starts a new wait, and times out
    clock[0] = 61.0
    assert r.expire() == 1 and r.dropped == 1 and not r.pending
    # given up, not thrown away: part 1 was answered, so what came is kept to be stored
    [(late, crc)] = r.expired
    assert set(late.factors()) == {"w00000", "w01001"} and crc == "ok"


def test_reassembler_is_bounded() -> None:
    r = Reassembler(clock=lambda: 0.0, max_pending=2)
    for n in range(5):
        r.add(parse_segment(f"CN=2061;MN=A;Flag=6;PNUM=2;PNO=1;CP=&&DataTime={n}&&"))
    assert len(r.pending) == 2 and r.dropped == 3 and len(r.expired) == 3
    r.add(parse_segment("CN=2061;MN=B;Flag=6;PNUM=2;PNO=1;CP=&&DataTime=0&&"))
    assert len(r.pending) == 3 and r.dropped == 3  # the bound is per MN
