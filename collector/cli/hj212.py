"""`opsmon hj212 parse|rates|exempt`: HJ 212 frames, the effective transmission rates, and exemptions.

`parse [FILE|-]`: what the receiver would make of HJ 212 frames, one JSON object per frame.

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
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from opsmon.collector.cli.common import (
    actor,
    command,
    load_config,
    open_reading,
    open_store,
    print_table,
    read_config,
    reading,
    time_arg,
)
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


LEVELS = {"region": "全区 / region", "site": "地区 / prefecture", "enterprise": "企业 / enterprise",
          "point": "点位 / point"}


def cmd_rates(args: argparse.Namespace) -> int:
    """应传, 实传, 有效 and the rates by region, prefecture, enterprise or point, as `opsmon sla` counts them."""
    from opsmon.collector.cli.sla import period_arg
    from opsmon.collector.sla.hj212_rates import fmt_rate as _pct
    from opsmon.collector.sla.hj212_rates import groups
    from opsmon.collector.sla.hj212_read import read_counts, rules_of
    from opsmon.collector.sla.targets import load_targets

    config = read_config(args)  # the zone and the target table's path (config/basics.py): no whole schema
    table = load_targets(config.targets_path())
    target = next((t for t in table.targets if t.measure == "hj212_rate"), None)
    period = period_arg(args, config)
    rules = rules_of(target.hj212 if target is not None else None, config.timezone)
    now = datetime.now(UTC)
    counts = read_counts(open_reading(config), period.start, min(now, period.end), now, rules)
    rows = groups(counts, args.by, rules)
    if args.format == "json":
        print(json.dumps({"period": period.label, "timezone": period.timezone, "by": args.by, "rows": [
            {"key": list(g.key), "should": g.counts.should, "transmitted": g.counts.transmitted,
             "effective": g.counts.effective, "exempt": g.counts.exempt, "late": g.counts.late,
             "transmission_rate": g.transmission_rate, "effective_rate": g.effective_rate, "rate": g.rate,
             "points": g.members} for g in rows]}, ensure_ascii=False, indent=2))
        return 0
    print(f"统计周期 / period: {period.label} [{period.start.astimezone(ZoneInfo(period.timezone)).isoformat()} .. "
          f"{period.end.astimezone(ZoneInfo(period.timezone)).isoformat()}) {period.timezone}")
    if not rows:
        print("没有考核的数采仪点位 / no assessed DAU point (category dau, hj212 check with points and factors)")
        return 0
    head = {"region": (), "site": ("地区 / PREFECTURE",), "enterprise": ("地区 / PREFECTURE", "企业 / ENTERPRISE"),
            "point": ("地区 / PREFECTURE", "企业 / ENTERPRISE", "数采仪 / DAU", "点位 / POINT")}[args.by]
    out: list[tuple[str, ...]] = [(*head, "应传", "实传", "有效", "豁免 EXEMPT", "传输率", "有效率", "传输有效率 RATE")]
    for g in rows:
        out.append((*(k or "-" for k in g.key), str(g.counts.should), str(g.counts.transmitted),
                    str(g.counts.effective), str(g.counts.exempt), _pct(g.transmission_rate),
                    _pct(g.effective_rate), _pct(g.rate)))
    print_table(out)
    return 0


def cmd_exempt_add(args: argparse.Namespace) -> int:
    from opsmon.collector.store.hj212_exemptions import add_exemption

    config = load_config(args)
    start, end = time_arg(args.start, "start"), time_arg(args.end, "end")
    if start is None or end is None:
        raise InvalidInput("give --start and --end")
    xid = add_exemption(open_store(args, config), asset_id=args.asset, point=args.point, factor=args.factor,
                        start=start, end=end, kind=args.kind, reason=args.reason, proof=args.proof, actor=actor(),
                        now=datetime.now(UTC))
    zone = ZoneInfo(config.timezone)
    print(f"exemption {xid}: {args.asset} {args.point or '*'} {args.factor or '*'} "
          f"{start.astimezone(zone).isoformat()} → {end.astimezone(zone).isoformat()} (audited)")
    return 0


def cmd_exempt_list(args: argparse.Namespace) -> int:
    from opsmon.collector.store.hj212_exemptions import exemption_document, list_exemptions

    config, store = reading(args)
    rows = list_exemptions(store, include_removed=args.all)
    zone = ZoneInfo(config.timezone)
    if args.format == "json":  # the API's rows, in the configured zone as the API answers
        print(json.dumps([exemption_document(r, zone) for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("没有豁免 / no exemptions")
        return 0
    out: list[tuple[str, ...]] = [("ID", "DAU", "POINT", "FACTOR", f"FROM ({config.timezone})", "TO", "KIND",
                                   "REASON", "PROOF", "BY", "REMOVED")]
    for r in rows:
        out.append((str(r.id), r.asset_id, r.point or "*", r.factor or "*",
                    r.start_ts.astimezone(zone).isoformat(sep=" ", timespec="minutes"),
                    r.end_ts.astimezone(zone).isoformat(sep=" ", timespec="minutes"), r.kind, r.reason, r.proof,
                    r.entered_by, "-" if r.removed_at is None else r.removed_at.astimezone(zone).isoformat(
                        sep=" ", timespec="minutes")))
    print_table(out)
    return 0


def cmd_exempt_remove(args: argparse.Namespace) -> int:
    from opsmon.collector.store.hj212_exemptions import remove_exemption

    config = load_config(args)
    remove_exemption(open_store(args, config), args.id, actor(), datetime.now(UTC))
    print(f"removed exemption {args.id} (the audit log and the row keep it)")
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "hj212", lambda a: (sp.print_help(), 2)[1], "HJ 212 pollution-source data (污染源数据)")
    inner = sp.add_subparsers(dest="hj212_command", metavar="SUBCOMMAND")
    p = command(inner, "parse", cmd_parse, "parse HJ 212 frames (one per line, or a capture) into JSON, one per frame")
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="frames to read (default: stdin)")
    p.add_argument("--crc", choices=("strict", "accept_modbus_le"), default="strict",
                   help="the CRC policy to judge by, as a unit's `crc:` setting (default strict)")
    p = command(inner, "rates", cmd_rates,
                "应传/实传/有效 and the effective transmission rate by region, prefecture, enterprise or point")
    p.add_argument("--period", help="2026-11-H1 (1st-15th), 2026-11, 2026Q4 or 2026 (default: this quarter)")
    p.add_argument("--from", dest="from_", help="ISO 8601 start of a custom range")
    p.add_argument("--to", help="ISO 8601 end of a custom range")
    p.add_argument("--by", choices=tuple(LEVELS), default="enterprise")
    p.add_argument("--format", choices=("table", "json"), default="table")
    ex = command(inner, "exempt", lambda a: (ex.print_help(), 2)[1],
                 "exemptions (停产, 停排, 设备停运, maintenance): hours out of 应传; audited")
    ex_sub = ex.add_subparsers(dest="exempt_command", metavar="ACTION")
    p = command(ex_sub, "add", cmd_exempt_add, "take hours of a DAU, a point or a factor out of the assessment")
    p.add_argument("asset", help="the DAU's asset id")
    p.add_argument("--point", help="one monitoring point (default: every point of the DAU)")
    p.add_argument("--factor", help="one assessed factor of --point (default: all)")
    p.add_argument("--start", required=True, help="ISO 8601 with UTC offset")
    p.add_argument("--end", required=True, help="ISO 8601 with UTC offset")
    p.add_argument("--kind", required=True,
                   help="stopped (停产), no_discharge (停排), equipment_stopped (设备停运) or maintenance")
    p.add_argument("--reason", required=True)
    p.add_argument("--proof", required=True, help="the filed document's number, file or URL")
    p = command(ex_sub, "list", cmd_exempt_list, "exemptions in force (--all: removed ones too)")
    p.add_argument("--all", action="store_true")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p = command(ex_sub, "remove", cmd_exempt_remove, "remove an exemption (the row and the audit log keep it)")
    p.add_argument("id", type=int)
