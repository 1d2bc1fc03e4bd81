"""Cutting HJ 212 frames out of a byte stream: `##`, LLLL, the data segment, CCCC, CR LF (HJ 212-2017 §6.3).

A TCP read holds part of a frame, several frames, or garbage between them; the framer keeps what it has
not yet cut and resynchronises on the next `##`. It never raises: everything that is not a frame comes
out as a `Refusal` with a reason, so a receiver counts it and keeps the connection.

Rules (docs/hj212.md states their sources):

- LLLL is four decimal digits, the length of the data segment in **bytes** (Chinese text is UTF-8);
  anything else is refused (`bad_length`) and the framer looks for the next `##`.
- The standard caps the data segment at 1024 bytes, but real units send 1025 and 1623; a longer segment
  is accepted and marked `oversize`. Four digits cap it at 9999; a receiver may set a lower `max_segment`
  and the framer refuses (`too_long`) a header above it before it waits for the body.
- CCCC is four hex digits (upper or lower case) right after the segment, whose last two bytes are the
  `&&` that closes CP. When they are not there, the declared length is wrong: the frame is refused
  (`length_mismatch`, naming the length found) and the framer skips to its real end.
- CR LF is optional (some units send only one, or none).
- The CRC is classified, not judged: `ok`, `modbus_le` (the dialect), or `bad`; `crc_refusal()` applies
  a unit's policy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from opsmon.collector.inputs.hj212.crc import hj212_hex, modbus_le_hex

STANDARD_MAX = 1024  # HJ 212-2017 Table 2: 0 <= n <= 1024
HARD_MAX = 9999  # what four digits can say
HEADER = b"##"
CrcStatus = Literal["ok", "bad", "modbus_le"]
CrcPolicy = Literal["strict", "accept_modbus_le"]
CRC_POLICIES: tuple[str, ...] = ("strict", "accept_modbus_le")

# The real end of a frame whose declared length is wrong: `&&`, four hex digits, then CR/LF or the next `##`.
_END = re.compile(rb"&&([0-9A-Fa-f]{4})(?=\r|\n|##)")
_HEX = frozenset(b"0123456789ABCDEFabcdef")


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame cut by its declared length, its CRC classified (the segment is not parsed yet)."""

    segment: bytes
    crc_sent: str  # as sent, upper-cased
    crc: CrcStatus
    oversize: bool  # segment over the standard's 1024 bytes (accepted, counted)
    raw: bytes  # the frame as received, `##` to CCCC (without CR LF): what an audit keeps

    @property
    def crc_expected(self) -> str:
        return hj212_hex(self.segment)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Bytes that are not a usable frame, and why (`reason` is a stable code, `detail` a sentence)."""

    reason: str  # garbage, bad_length, too_long, length_mismatch, truncated
    detail: str
    raw: bytes


def classify_crc(segment: bytes, sent: str) -> CrcStatus:
    """`ok` when `sent` is the HJ 212 CRC of `segment`, `modbus_le` for the Modbus dialect, else `bad`."""
    if sent == hj212_hex(segment):
        return "ok"
    if sent == modbus_le_hex(segment):
        return "modbus_le"
    return "bad"


def crc_refusal(frame: Frame, policy: str = "strict") -> str | None:
    """Why `frame` is refused under a unit's CRC policy (None: accepted).

    `strict` accepts only the HJ 212 CRC; `accept_modbus_le` also accepts the Modbus dialect (the data are
    then marked, `crc == "modbus_le"`).
    """
    if frame.crc == "ok" or (frame.crc == "modbus_le" and policy == "accept_modbus_le"):
        return None
    if frame.crc == "modbus_le":
        return f"CRC {frame.crc_sent} is CRC-16/MODBUS low byte first, not HJ 212 ({frame.crc_expected}); " \
               "the unit's crc policy is strict"
    return f"bad CRC: sent {frame.crc_sent}, computed {frame.crc_expected}"


class Framer:
    """A streaming framer: `feed()` bytes as they arrive, take the frames and refusals cut so far.

    `max_segment` bounds what the framer waits for (a receiver's frame-size bound): a header declaring more
    is refused before its body is read, so the buffer never holds more than one frame's worth and a bit.

    >>> f = Framer()
    >>> [type(x).__name__ for x in f.feed(b"xx##0010QN=12;CP=&&")]
    ['Refusal']
    >>> f.feed(b"0000\\r\\n")[0].reason
    'length_mismatch'
    """

    def __init__(self, max_segment: int = HARD_MAX) -> None:
        self.max_segment = min(max_segment, HARD_MAX)
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[Frame | Refusal]:
        """Add `data` and return what can be cut from the buffer now, in order."""
        self.buf += data
        out: list[Frame | Refusal] = []
        while self._cut(out, final=False):
            pass
        return out

    def close(self) -> list[Frame | Refusal]:
        """End of stream: what is left is a truncated frame or garbage (whitespace is dropped)."""
        out: list[Frame | Refusal] = []
        while self._cut(out, final=True):
            pass
        rest = bytes(self.buf)
        self.buf.clear()
        if rest.strip():
            if rest.startswith(HEADER):
                out.append(Refusal("truncated", f"the stream ended inside a frame ({len(rest)} bytes)", rest))
            else:
                out.append(Refusal("garbage", f"{len(rest)} bytes that are no frame", rest))
        return out

    def _skip_garbage(self, out: list[Frame | Refusal]) -> None:
        """Drop bytes before the next `##` (whitespace is silent: it is a CR LF left by a frame)."""
        start = self.buf.find(HEADER)
        if start < 0:
            keep = 1 if self.buf.endswith(b"#") else 0  # half a header
            junk = bytes(self.buf[:len(self.buf) - keep])
            del self.buf[:len(self.buf) - keep]
        else:
            junk = bytes(self.buf[:start])
            del self.buf[:start]
        if junk.strip():
            out.append(Refusal("garbage", f"{len(junk)} bytes before a frame header", junk))

    def _cut(self, out: list[Frame | Refusal], final: bool) -> bool:
        """Cut one item from the front of the buffer; False when more bytes are needed."""
        if not self.buf:
            return False
        if self.buf.find(HEADER) != 0:
            self._skip_garbage(out)
            if self.buf.find(HEADER) != 0:
                return False
        buf = self.buf
        if len(buf) < 6:
            return False
        digits = bytes(buf[2:6])
        if not digits.isdigit() or not digits.isascii():
            raw = self._drop_to_next_header(2)
            out.append(Refusal("bad_length", f"length field {digits!r} is not four decimal digits", raw))
            return True
        length = int(digits)
        if length > self.max_segment:
            raw = self._drop_to_next_header(2)
            out.append(Refusal("too_long", f"declared data segment of {length} bytes is over the bound of "
                                           f"{self.max_segment}", raw))
            return True
        end = 6 + length
        if len(buf) >= end + 4 and buf[end - 2:end] == b"&&" and all(c in _HEX for c in buf[end:end + 4]):
            segment = bytes(buf[6:end])
            sent = bytes(buf[end:end + 4]).decode("ascii").upper()
            raw = bytes(buf[:end + 4])
            del buf[:end + 4]
            self._drop_tail()
            out.append(Frame(segment, sent, classify_crc(segment, sent), length > STANDARD_MAX, raw))
            return True
        # Not (yet) where the length says: find the frame's real end, if it has arrived.
        found = _END.search(buf, 6)
        nxt = buf.find(HEADER, 2)
        if found is not None and (nxt < 0 or found.start() < nxt):
            actual = found.start() + 2 - 6
            if actual != length or len(buf) >= end + 4:
                raw = bytes(buf[:found.end()])
                del buf[:found.end()]
                self._drop_tail()
                out.append(Refusal("length_mismatch", f"length field says {length} bytes, the data segment "
                                                      f"has {actual}", raw))
                return True
        if nxt >= 0 and (len(buf) >= end + 4 or nxt < end):
            raw = self._drop_to_next_header(2)
            out.append(Refusal("length_mismatch", f"length field says {length} bytes; no frame end before the "
                                                  "next header", raw))
            return True
        if final and len(buf) >= end + 4:
            raw = bytes(buf)
            buf.clear()
            out.append(Refusal("length_mismatch", f"length field says {length} bytes; no `&&` and CRC there",
                               raw))
            return True
        return False

    def _drop_to_next_header(self, start: int) -> bytes:
        nxt = self.buf.find(HEADER, start)
        cut = nxt if nxt >= 0 else len(self.buf)
        raw = bytes(self.buf[:cut])
        del self.buf[:cut]
        return raw

    def _drop_tail(self) -> None:
        """The optional CR LF (or either alone) after CCCC."""
        if self.buf[:2] == b"\r\n":
            del self.buf[:2]
        elif bytes(self.buf[:1]) in (b"\r", b"\n"):
            del self.buf[:1]
