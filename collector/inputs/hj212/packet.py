"""The data segment of an HJ 212 frame as a typed record (HJ 212-2017 §6.3, Table 3, §6.3.3).

`QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;PNUM=…;PNO=…;CP=&&…&&`. Every value is kept as the string that was sent
(a value is evidence: `0.000` is not `0`); only Flag, PNUM and PNO are read as numbers, since the
receiver acts on them.

Tolerated, because real units or the standard itself do it (docs/hj212.md names the sources):
2005-era headers with no QN and no Flag; PNO before PNUM, zero-padded; `,` between header fields
(C.22, C.48) and between CP items (C.23); `Flag=5CP=&&` with no `;` (C.19); a 13-digit epoch QN; MNs and
PWs of any length. Refused, with `PacketError.reason`: no `CP=&&…&&`, no CN, a Flag, PNUM or PNO that is
not a number, a segment that is neither UTF-8 nor GB 18030.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from opsmon.collector.core.errors import ProtocolError
from opsmon.collector.inputs.hj212.frame import Frame, Refusal

# Flag bits (Table 3): V5..V0 D A. A asks for an answer; D says PNUM/PNO are present; V is the version.
FLAG_ANSWER = 0x01
FLAG_SPLIT = 0x02
VERSIONS = {0: "2005", 1: "2017", 2: "2025"}  # V bits; 2025 per caoyiliang/HJ212 Enum.cs (Version=8)
PW_MASK = b"******"
# A PW field of the header (what parse_segment reads as PW: any case, spaces around the key, `;` or `,` before it)
_PW_FIELD = re.compile(rb"(^|[;,])(\s*pw\s*=)[^;,]*", re.IGNORECASE)


class PacketError(ProtocolError):
    """The codec's refusal: the bytes are not an HJ 212 packet. `reason` is a stable code for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True, slots=True)
class Packet:
    """One parsed data segment. `cp` is the CP items in order, as (key, value) strings; a bare item has value None."""

    qn: str | None
    st: str | None
    cn: str
    pw: str | None
    mn: str | None
    flag: int | None
    pnum: int | None
    pno: int | None
    cp: tuple[tuple[str, str | None], ...]

    @property
    def wants_answer(self) -> bool:
        """Flag's A bit: the platform must answer (9014 for data)."""
        return self.flag is not None and bool(self.flag & FLAG_ANSWER)

    @property
    def is_split(self) -> bool:
        """Part of a split message: Flag's D bit, or PNUM present (units that send PNUM with no Flag)."""
        return (self.flag is not None and bool(self.flag & FLAG_SPLIT)) or self.pnum is not None

    @property
    def version(self) -> str | None:
        """The standard the unit says it follows (2005, 2017, 2025), or the V bits' number if unknown."""
        if self.flag is None:
            return None
        v = self.flag >> 2
        return VERSIONS.get(v, str(v))

    def get(self, key: str) -> str | None:
        """The first CP value of `key` (e.g. DataTime, PolId), or None."""
        for k, v in self.cp:
            if k == key:
                return v
        return None

    @property
    def data_time(self) -> str | None:
        return self.get("DataTime")

    def factors(self) -> dict[str, dict[str, str | None]]:
        """CP items of the form `code-Field` grouped by code: {'w01018': {'Rtd': '2.2', 'Flag': 'N'}}.

        The field names are kept as the standard names them (Rtd, Avg, Min, Max, Cou, Flag, ZsAvg, ...).
        """
        out: dict[str, dict[str, str | None]] = {}
        for k, v in self.cp:
            code, sep, field = k.rpartition("-")
            if sep and code and field:
                out.setdefault(code, {})[field] = v
        return out

    def cp_document(self) -> dict[str, Any]:
        """CP as a JSON object in order; a key sent more than once (CTime=…,CTime=…) gets the list of its values."""
        doc: dict[str, Any] = {}
        for k, v in self.cp:
            if k in doc:
                prev = doc[k]
                doc[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
            else:
                doc[k] = v
        return doc


def decode_text(segment: bytes) -> str:
    """The segment as text: UTF-8 (what §6.3 says), else GB 18030 (older units write GBK)."""
    try:
        return segment.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return segment.decode("gb18030")
    except UnicodeDecodeError:
        raise PacketError("encoding", "the data segment is neither UTF-8 nor GB 18030") from None


def _number(name: str, value: str | None, low: int, high: int) -> int | None:
    if value is None:
        return None
    v = value.strip()
    if not v.isdigit() or not v.isascii() or not low <= int(v) <= high:
        raise PacketError(f"bad_{name.lower()}", f"{name}={value!r} is not a number from {low} to {high}")
    return int(v)


def _items(text: str) -> list[str]:
    """Split on `;` and `,` (the standard uses both, C.20 and C.23); empty items (a trailing `;`) go."""
    return [item for part in text.split(";") for item in part.split(",") if item]


def parse_segment(segment: bytes | str) -> Packet:
    """Parse one data segment (what is between LLLL and CCCC); raise PacketError naming the reason.

    >>> p = parse_segment("QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    ...                   "CP=&&DataTime=20160801085857;w01018-Rtd=2.2,w01018-Flag=N&&")
    >>> p.cn, p.wants_answer, p.version, p.factors()["w01018"]
    ('2011', True, '2017', {'Rtd': '2.2', 'Flag': 'N'})
    """
    text = decode_text(segment) if isinstance(segment, bytes) else segment
    at = text.find("CP=&&")
    if at < 0:
        raise PacketError("no_cp", "no `CP=&&` in the data segment")
    if not text.endswith("&&") or len(text) < at + 7:
        raise PacketError("cp_unterminated", "CP does not end with `&&`")
    head: dict[str, str] = {}
    for item in _items(text[:at]):
        key, sep, value = item.partition("=")
        if sep:
            head.setdefault(key.strip().upper(), value)
    cn = head.get("CN")
    if cn is None or not cn.isdigit() or not cn.isascii():
        raise PacketError("bad_cn" if cn is not None else "no_cn",
                          f"CN={cn!r} is not a command number" if cn is not None else "no CN in the data segment")
    cp: list[tuple[str, str | None]] = []
    for item in _items(text[at + 5:-2]):
        key, sep, value = item.partition("=")
        cp.append((key, value if sep else None))
    return Packet(
        qn=head.get("QN"), st=head.get("ST"), cn=cn, pw=head.get("PW"), mn=head.get("MN"),
        flag=_number("Flag", head.get("FLAG"), 0, 255),
        pnum=_number("PNUM", head.get("PNUM"), 1, 9999), pno=_number("PNO", head.get("PNO"), 1, 9999),
        cp=tuple(cp))


def parsed(items: Iterable[Frame | Refusal]) -> Iterator[tuple[Frame, Packet]]:
    """The frames among a framer's items whose segment parses, with their packets; the rest skipped.

    For readers that only act on good frames (the stored frames read back at start, a platform's answers to the
    relay); the receiver's sessions count every refusal instead (session.py)."""
    for item in items:
        if isinstance(item, Frame):
            try:
                yield item, parse_segment(item.segment)
            except PacketError:
                continue


def masked(raw: bytes) -> bytes:
    """A frame (`##`, LLLL, segment, CCCC) with its header's password replaced by PW_MASK: the audit copy kept.

    The length field is rewritten to the masked segment's, so the copy is still cut as a frame (the split parts
    read back at start, receiver.py); the CRC is left as sent, so it no longer matches: the CRC status found on
    receipt is stored beside the copy (hj212_frames.crc). A mask that would not fit four digits takes the
    password's own length in `*` instead. Anything that is not one whole frame is returned unchanged.

    >>> masked(b"##0027QN=1;CN=2011;PW=123;CP=&&&&ABCD")
    b'##0030QN=1;CN=2011;PW=******;CP=&&&&ABCD'
    """
    if not raw.startswith(b"##") or len(raw) < 10 or not raw[2:6].isdigit():
        return raw
    segment, crc = raw[6:-4], raw[-4:]
    cp = segment.find(b"CP=&&")
    head = segment if cp < 0 else segment[:cp]
    new = _PW_FIELD.sub(lambda m: m[1] + m[2] + PW_MASK, head)
    if len(new) - len(head) + len(segment) > 9999:
        new = _PW_FIELD.sub(lambda m: m[1] + m[2] + b"*" * (len(m[0]) - len(m[1]) - len(m[2])), head)
    if new == head:
        return raw
    segment = new + segment[len(head):]
    return b"##%04d" % len(segment) + segment + crc
