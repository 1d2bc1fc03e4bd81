"""`opsmon hj212 parse [FILE|-]`: what the receiver would make of HJ 212 frames, one JSON object per frame.

For an operator holding a capture or a log of a unit's frames: which frames pass, and why the others are
refused. Input is frames one per line or a raw capture (the framer cuts either). Each object has `ok`,
`crc` (ok, bad, modbus_le), `error` (why refused), `reason` (a stable code), `oversize`, the header
fields and `cp` (values as strings exactly as sent); the password is never printed. Exit 0 even when
frames are refused (that is the answer), 2 when the input cannot be read.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from opsmon.collector.cli.common import command
from opsmon.collector.core.errors import InvalidInput

REDACTED = "***"


def _empty() -> dict[str, Any]:
    return {"ok": False, "crc": None, "error": None, "reason": None, "oversize": False, "qn": None, "st": None,
            "cn": None, "pw": None, "mn": None, "flag": None, "pnum": None, "pno": None, "cp": None}


def describe(item: Any, policy: str) -> dict[str, Any]:
    """The JSON object for one item the framer cut (a Frame or a Refusal)."""
    from opsmon.collector.inputs.hj212 import PacketError, Refusal, crc_refusal, parse_segment

    doc = _empty()
    if isinstance(item, Refusal):
        doc.update(error=item.detail, reason=item.reason)
        return doc
    doc.update(crc=item.crc, oversize=item.oversize)
    refused = crc_refusal(item, policy)
    if refused:
        doc.update(error=refused, reason="crc" if item.crc == "bad" else "crc_dialect")
    try:
        p = parse_segment(item.segment)
    except PacketError as exc:
        if not refused:
            doc.update(error=exc.detail, reason=exc.reason)
        return doc
    doc.update(qn=p.qn, st=p.st, cn=p.cn, pw=REDACTED if p.pw else p.pw, mn=p.mn, flag=p.flag, pnum=p.pnum,
               pno=p.pno, cp=p.cp_document(), ok=not refused)
    return doc


def cmd_parse(args: argparse.Namespace) -> int:
    from opsmon.collector.inputs.hj212 import Framer

    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        raise InvalidInput(f"cannot read {args.file}: {exc.strerror or exc}") from None
    framer = Framer()
    for item in framer.feed(data) + framer.close():
        print(json.dumps(describe(item, args.crc), ensure_ascii=False))
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "hj212", lambda a: (sp.print_help(), 2)[1], "HJ 212 pollution-source data (污染源数据)")
    inner = sp.add_subparsers(dest="hj212_command", metavar="SUBCOMMAND")
    p = command(inner, "parse", cmd_parse, "parse HJ 212 frames (one per line, or a capture) into JSON, one per frame")
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="frames to read (default: stdin)")
    p.add_argument("--crc", choices=("strict", "accept_modbus_le"), default="strict",
                   help="the CRC policy to judge by, as a unit's `crc:` setting (default strict)")
