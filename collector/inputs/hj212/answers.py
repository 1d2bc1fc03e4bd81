"""What the platform sends a unit: the answers 9014 and 9013, and 1012 (set the unit's time).

The standard's forms (HJ 212-2017 Appendix C): a data answer (C.14) and a notify answer (C.4) repeat the
QN of the packet they answer, with `ST=91` (system interaction) and `Flag=4` (2017, no answer wanted):
`QN=<same>;ST=91;CN=9014;PW=<pw>;MN=<mn>;Flag=4;CP=&&&&`. Each part of a split upload has its own QN and
is answered on its own (C.50). Setting the time (C.3) is a request: a new QN, the unit's ST, `Flag=5`
(answer wanted) and `SystemTime=YYYYMMDDhhmmss`, with the PolId of the 1013 that asked, if any.
"""
from __future__ import annotations

from datetime import datetime

from opsmon.collector.inputs.hj212.crc import hj212_hex
from opsmon.collector.inputs.hj212.packet import Packet

INTERACTION_ST = "91"


def wrap(segment: str) -> bytes:
    """Wrap a data segment: `##`, its length in bytes, the segment, its HJ 212 CRC, CR LF.

    >>> wrap("QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
    ...      "CP=&&RtdInterval=30&&")[-6:]
    b'1C80\\r\\n'
    """
    data = segment.encode("utf-8")
    return b"##%04d" % len(data) + data + hj212_hex(data).encode("ascii") + b"\r\n"


def _answer(packet: Packet, cn: str) -> bytes:
    return wrap(f"QN={packet.qn or ''};ST={INTERACTION_ST};CN={cn};PW={packet.pw or ''};MN={packet.mn or ''};"
                 "Flag=4;CP=&&&&")


def data_answer(packet: Packet) -> bytes:
    """9014 to an upload whose Flag asks for an answer (C.14–C.19, C.50)."""
    return _answer(packet, "9014")


def notify_answer(packet: Packet) -> bytes:
    """9013 to a notification (1013, the unit asking for the time, C.4)."""
    return _answer(packet, "9013")


def qn(at: datetime) -> str:
    """A QN for a request sent at `at` (the unit's local time): YYYYMMDDhhmmsszzz."""
    return at.strftime("%Y%m%d%H%M%S") + f"{at.microsecond // 1000:03d}"


def set_time(request: Packet, now: datetime) -> bytes:
    """1012 with the platform's time `now` (already in the unit's zone), after the 9013 to a 1013 (C.3, C.4)."""
    pol = request.get("PolId")
    cp = (f"PolId={pol};" if pol else "") + f"SystemTime={now.strftime('%Y%m%d%H%M%S')}"
    return wrap(f"QN={qn(now)};ST={request.st or ''};CN=1012;PW={request.pw or ''};MN={request.mn or ''};"
                 f"Flag=5;CP=&&{cp}&&")


def history_request(mn: str, st: str, pw: str, begin: datetime, end: datetime, now: datetime) -> bytes:
    """2061 asking a unit for its hourly data from `begin` to `end` (hour starts, the unit's clock) (C.20–C.23).

    The form of a request (as 1012 above): a new QN, the unit's ST, `Flag=5`, `BeginTime` and `EndTime`
    separated by `;` as C.20 prints them (C.23 uses `,`; the units' parsers take both).

    >>> from datetime import datetime
    >>> history_request("DXCBZ000000005", "32", "123456", datetime(2026, 12, 6, 8), datetime(2026, 12, 6, 9),
    ...                 datetime(2026, 12, 6, 18, 30, 5, 123000))[6:-6]
    b'QN=20261206183005123;ST=32;CN=2061;PW=123456;MN=DXCBZ000000005;Flag=5;CP=&&BeginTime=20261206080000;EndTime=20261206090000&&'
    """
    fmt = "%Y%m%d%H%M%S"
    return wrap(f"QN={qn(now)};ST={st};CN=2061;PW={pw};MN={mn};Flag=5;"
                f"CP=&&BeginTime={begin.strftime(fmt)};EndTime={end.strftime(fmt)}&&")
