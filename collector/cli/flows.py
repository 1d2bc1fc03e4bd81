"""`opsmon flows top --link L | --site S [--period P | --from --to]`: a link's (or a site's links') top talkers
from the stored flow intervals; `opsmon flows sites`: each site's (prefecture's) traffic and its links.

Reads what the flow receiver stored (docs/flows.md): per (src, dst, dst port, protocol), bytes, packets and
flow records summed over the intervals that start in the period, largest first, then one `other` row. A site's
links are the inventory's (assets.site) at read time; a removed link's intervals wholly out of the inventory count
for `unknown` (store/flows.py).
"""
from __future__ import annotations

import argparse
import json
from typing import Any
from zoneinfo import ZoneInfo

from opsmon.collector.cli.common import command, open_reading, print_table, read_config

PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 58: "icmpv6", 132: "sctp"}


def protocol_name(number: int) -> str:
    return "-" if number < 0 else PROTOCOLS.get(number, str(number))


def cmd_top(args: argparse.Namespace) -> int:
    from opsmon.collector.cli.sla import period_arg
    from opsmon.collector.store.flows import top_talkers

    config = read_config(args)  # the sections it uses: database, timezone (config/basics.py)
    period = period_arg(args, config)
    rows, total, intervals = top_talkers(open_reading(config), args.link, period.start, period.end, args.limit,
                                         site=args.site)
    zone = ZoneInfo(period.timezone)
    scope = {"link": args.link} if args.link is not None else {"site": args.site}
    if args.format == "json":
        print(json.dumps({**scope, "period": period.label, "timezone": period.timezone,
                          "start": period.start.astimezone(zone).isoformat(),
                          "end": period.end.astimezone(zone).isoformat(), "intervals": intervals,
                          "total": {"bytes": total.bytes, "packets": total.packets, "flows": total.flows},
                          "rows": [{"src": r.src, "dst": r.dst, "dst_port": r.dst_port if r.dst_port >= 0 else None,
                                    "protocol": r.protocol if r.protocol >= 0 else None, "bytes": r.bytes,
                                    "packets": r.packets, "flows": r.flows} for r in rows]},
                         ensure_ascii=False, indent=2))
        return 0
    heading = f"链路 / link: {args.link}" if args.link is not None else f"地州 / site: {args.site}"
    print(f"{heading}  统计周期 / period: {period.label} "
          f"[{period.start.astimezone(zone).isoformat()} .. {period.end.astimezone(zone).isoformat()}) "
          f"{period.timezone}  区间 / intervals: {intervals}")
    if not rows:
        print("该周期没有流量记录 / no flow intervals stored for this link or site in the period")
        return 0
    out: list[tuple[str, ...]] = [("源 SRC", "目的 DST", "端口 PORT", "协议 PROTO", "字节 BYTES", "包 PACKETS",
                                   "流 FLOWS", "占比 SHARE")]
    for r in rows:
        share = f"{100 * r.bytes / total.bytes:.1f}%" if total.bytes else "-"
        out.append((r.src, r.dst, "-" if r.dst_port < 0 else str(r.dst_port), protocol_name(r.protocol),
                    str(r.bytes), str(r.packets), str(r.flows), share))
    out.append(("合计 TOTAL", "", "", "", str(total.bytes), str(total.packets), str(total.flows), "100.0%"))
    print_table(out)
    return 0


def cmd_sites(args: argparse.Namespace) -> int:
    from opsmon.collector.cli.sla import period_arg
    from opsmon.collector.store.flows import site_totals

    config = read_config(args)  # the sections it uses: database, timezone (config/basics.py)
    period = period_arg(args, config)
    sites = site_totals(open_reading(config), period.start, period.end)
    zone = ZoneInfo(period.timezone)
    if args.format == "json":
        print(json.dumps({"period": period.label, "timezone": period.timezone,
                          "start": period.start.astimezone(zone).isoformat(),
                          "end": period.end.astimezone(zone).isoformat(),
                          "sites": [{"site": t.site, "bytes": t.bytes, "packets": t.packets, "flows": t.flows,
                                     "intervals": t.intervals,
                                     "links": [{"link": link, "name": name, "bytes": octets}
                                               for link, name, octets in t.links]} for t in sites]},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"统计周期 / period: {period.label} [{period.start.astimezone(zone).isoformat()} .. "
          f"{period.end.astimezone(zone).isoformat()}) {period.timezone}")
    if not sites:
        print("该周期没有流量记录 / no flow intervals stored in the period")
        return 0
    grand = sum(t.bytes for t in sites)
    out: list[tuple[str, ...]] = [("地州 SITE", "字节 BYTES", "包 PACKETS", "流 FLOWS", "区间 INTERVALS", "占比 SHARE",
                                   "链路 LINKS")]
    for t in sites:
        share = f"{100 * t.bytes / grand:.1f}%" if grand else "-"
        links = ", ".join(f"{name} ({link})" if name != link else link for link, name, _ in t.links)
        out.append((t.site, str(t.bytes), str(t.packets), str(t.flows), str(t.intervals), share, links))
    print_table(out)
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "flows", lambda a: (sp.print_help(), 2)[1], "link traffic from NetFlow/IPFIX (链路流量)")
    inner = sp.add_subparsers(dest="flows_command", metavar="SUBCOMMAND")
    p = command(inner, "top", cmd_top, "a link's, or a site's, top talkers (src, dst, dst port, protocol) by bytes "
                                       "over a period")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--link", help="the link asset id (as under flows.exporters)")
    which.add_argument("--site", help="a site (prefecture) of the inventory: its links' rows summed; unknown = links "
                                      "that are no asset or have no site, and a removed link's intervals wholly "
                                      "after its removal")
    p.add_argument("--limit", type=int, default=20, help="rows before `other` (default 20)")
    s = command(inner, "sites", cmd_sites, "each site's (prefecture's) traffic over a period, and its links (地州流量)")
    for q in (p, s):
        q.add_argument("--period", help="2026-11-H1, 2026-11, 2026Q4 or 2026 (default: this quarter)")
        q.add_argument("--from", dest="from_", help="ISO 8601 start of a custom range")
        q.add_argument("--to", help="ISO 8601 end of a custom range")
        q.add_argument("--format", choices=("table", "json"), default="table")
