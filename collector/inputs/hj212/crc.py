"""The HJ 212 CRC, and the one dialect real units send instead of it.

HJ 212-2017 Appendix A calls its check "ANSI CRC16" and gives C code: the register starts at 0xFFFF and,
for each byte, `crc = (crc >> 8) ^ byte` and then eight reflected steps with 0xA001. The first step is
what makes it differ from CRC-16/MODBUS, which does `crc ^ byte`: no CRC catalogue lists this variant, so a
stock CRC library gives the wrong value. The standard's own example (Appendix A) is the test:
`QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&`
gives 1C80 (the prose of the PDF prints "1C08", a typo; CRC-16/MODBUS gives 0759).

Some field units send CRC-16/MODBUS written low byte first instead (three frames of the rx.log of
tonyxia2016/HJ212Receiver); `modbus_le()` names that value so a per-unit policy can accept and mark it.
"""
from __future__ import annotations


def _modbus_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _modbus_table()


def hj212_crc(data: bytes) -> int:
    """The CRC of HJ 212 Appendix A over `data` (the data segment, the bytes between LLLL and CCCC).

    The table form `crc = T[(crc >> 8) ^ byte]` is the standard's loop unrolled (T: the reflected 0xA001
    byte table); tests/collector/inputs/test_hj212_codec.py checks it against the loop itself.

    >>> seg = b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
    >>> f"{hj212_crc(seg):04X}"
    '1C80'
    """
    crc = 0xFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc >> 8) ^ b]
    return crc


def modbus_crc(data: bytes) -> int:
    """CRC-16/MODBUS (init 0xFFFF, reflected 0xA001, `crc ^ byte`): not HJ 212, but what some units send."""
    crc = 0xFFFF
    table = _TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


def hj212_hex(data: bytes) -> str:
    """The four upper-case hex digits a frame carries for `data`."""
    return f"{hj212_crc(data):04X}"


def modbus_le_hex(data: bytes) -> str:
    """CRC-16/MODBUS written low byte first, as the units of the Modbus dialect send it (e.g. ECA6 as A6EC)."""
    crc = modbus_crc(data)
    return f"{crc & 0xFF:02X}{crc >> 8:02X}"
