"""HJ 212 (污染物自动监测监控系统数据传输技术要求): the codec, and (later) the receiver of the units' data.

The codec is pure Python and stdlib: `crc` (the standard's CRC and the Modbus dialect), `frame` (cutting
frames out of a byte stream), `packet` (the data segment as a typed record), `split` (split uploads put
back together), `answers` (9014, 9013, 1012). docs/hj212.md states the rules and their sources.
"""
from opsmon.collector.inputs.hj212.answers import data_answer, notify_answer, set_time, wrap
from opsmon.collector.inputs.hj212.crc import hj212_crc, hj212_hex, modbus_le_hex
from opsmon.collector.inputs.hj212.frame import (
    CRC_POLICIES,
    Frame,
    Framer,
    Refusal,
    classify_crc,
    crc_refusal,
)
from opsmon.collector.inputs.hj212.packet import Packet, PacketError, parse_segment
from opsmon.collector.inputs.hj212.split import Reassembler

__all__ = [
    "CRC_POLICIES", "Frame", "Framer", "Packet", "PacketError", "Reassembler", "Refusal", "classify_crc",
    "crc_refusal", "data_answer", "hj212_crc", "hj212_hex", "modbus_le_hex", "notify_answer",
    "parse_segment", "set_time", "wrap",
]
