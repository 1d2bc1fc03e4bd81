"""`opsmon incidents list|show|ack|resolve|note`: faults and the response to them."""
from __future__ import annotations

import argparse
import json
from typing import Any

from opsmon.collector.cli.common import (
    asset_names,
    command,
    lang,
    load_config,
    named,
    print_json,
    print_table,
    reading,
    time_arg,
    when,
    zone,
)
from opsmon.collector.core.errors import InvalidInput, OpsmonError


def cmd_incidents_list(args: argparse.Namespace) -> int:
    from opsmon.collector.core.durations import say_duration
    from opsmon.collector.incidents.read import IncidentFilter, list_incidents

    since = time_arg(args.from_, "from")  # refused before the store is opened
    config, store = reading(args)
    tz = zone(args, config)
    said = lang(args, config)
    names = asset_names(store)
    rows = list_incidents(store, IncidentFilter(status=args.status, asset=args.asset), since=since,
                          limit=args.limit)
    if args.format == "json":
        print_json(rows, tz)
        return 0
    if not rows:
        print("no incidents")
        return 0
    table = [("ID", "STATUS", "KIND", "SEVERITY", "ASSET", "OPENED", "ACK BY", "RESPONSE", "CAUSE")]
    for r in rows:
        resp = "-" if r["response_seconds"] is None else say_duration(r["response_seconds"], said)
        table.append((r["id"], r["status"] + (" BREACHED" if r["breached"] else ""), r["kind"], r["severity"] or "",
                      named(r["asset"], names), when(r["opened_at"], tz), r["acknowledged_by"] or "-", resp,
                      r["cause"][:60]))
    print_table(table)
    return 0


def cmd_incidents_show(args: argparse.Namespace) -> int:
    from opsmon.collector.incidents.read import show_incident

    config, store = reading(args)
    tz = zone(args, config)
    doc = show_incident(store, args.id)
    if args.format == "json":
        print_json(doc, tz)
        return 0
    trail = doc.pop("trail")
    for key, value in doc.items():
        if value not in (None, "", [], 0) or key in ("level",):
            print(f"{key:>16}: {when(value, tz) if key.endswith('_at') or key == 'deadline' else value}")
    print("trail:")
    for e in trail:
        print(f"  {when(e['ts'], tz)} {e['actor']} {e['action']} {json.dumps(e['detail'], ensure_ascii=False)}")
    return 0


def running_collector(args: argparse.Namespace, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Changes go through the running collector's API, so its incident engine and audit log see them."""
    import os

    import httpx

    config = load_config(args)
    token = args.token or os.environ.get("OPSMON_TOKEN")
    if not token:
        raise InvalidInput("give your operator token with --token or $OPSMON_TOKEN (the audit log names you by it)")
    listen = config.listen
    host = "127.0.0.1" if listen.host in ("0.0.0.0", "") else listen.host
    base = args.url or f"{'https' if listen.tls_cert else 'http'}://{host}:{listen.port}"
    try:
        answer = httpx.request(method, base + path, json=body, headers={"Authorization": f"Bearer {token}"},
                               timeout=10)
    except httpx.HTTPError as exc:
        raise OpsmonError(f"the collector at {base} did not answer ({exc.__class__.__name__}); is it running?") \
            from None
    if answer.status_code >= 400:
        detail = answer.json().get("detail", answer.text) if answer.headers.get("content-type", "").startswith(
            "application/json") else answer.text
        raise InvalidInput(f"{answer.status_code}: {detail}")
    return answer.json()


def cmd_incidents_change(args: argparse.Namespace) -> int:
    body = {"note": args.note or ""} | ({"to": args.to} if args.action == "reassign" else {})
    doc = running_collector(args, "POST", f"/api/v1/incidents/{args.id}/{args.action}", body)
    told = {"ack": f" by {doc['acknowledged_by']}", "reassign": f", given to {getattr(args, 'to', '')} (told)",
            "takeover": ", taken over"}.get(args.action, "")
    print(f"{doc['id']}: {doc['status']}{told}")
    return 0


def cmd_incidents_respond(args: argparse.Namespace) -> int:
    """The response to a fault that healed before it could be acknowledged, recorded after the fact."""
    body = {"responded_at": args.at, "evidence": args.evidence or "", "note": args.note or ""}
    doc = running_collector(args, "POST", f"/api/v1/incidents/{args.id}/response", body)
    print(f"{doc['id']}: response by {doc['acknowledged_by']} counted at {when(doc['acknowledged_at'], zone(args))}"
          + ("" if args.evidence or not args.at else " (no evidence: the time of this record, not the one given)"))
    return 0


def register(sub: Any) -> None:
    inc = sub.add_parser("incidents", help="faults and the response to them").add_subparsers(
        dest="sub", required=True, metavar="ACTION")
    sp = command(inc, "list", cmd_incidents_list, "incidents, newest first")
    sp.add_argument("--status", help="open, acknowledged, resolved, closed, merged, or active")
    sp.add_argument("--asset")
    sp.add_argument("--from", dest="from_", help="opened at or after (ISO 8601 with offset)")
    sp.add_argument("--limit", type=int, default=100)
    sp.add_argument("--format", choices=("table", "json"), default="table")
    sp = command(inc, "show", cmd_incidents_show, "one incident and its trail (who did what, when)")
    sp.add_argument("id")
    sp.add_argument("--format", choices=("text", "json"), default="text")
    for action, text in (("ack", "acknowledge: the response the SLA counts"),
                         ("resolve", "resolve by hand, with a note"), ("note", "add a note"),
                         ("reassign", "give it to a person of the on-call roster (--to), who is told"),
                         ("takeover", "take it yourself (acknowledging it if still open)")):
        sp = command(inc, action, cmd_incidents_change, text + " (through the running collector)")
        sp.add_argument("id")
        sp.add_argument("--note", required=action in ("resolve", "note"))
        if action == "reassign":
            sp.add_argument("--to", required=True, help="a person id under people in oncall.yaml")
        sp.add_argument("--token", help="your operator token (default $OPSMON_TOKEN)")
        sp.add_argument("--url", help="the collector's base URL (default from the config's listen)")
        sp.set_defaults(action=action)
    sp = command(inc, "respond", cmd_incidents_respond,
                 "record the response to a fault that healed before anyone acknowledged it (through the running "
                 "collector); the time given counts only with --evidence")
    sp.add_argument("id")
    sp.add_argument("--at", help="when you responded (ISO 8601 with offset; default now)")
    sp.add_argument("--evidence", help="what shows that time: a call log, a ticket id, a chat message")
    sp.add_argument("--note")
    sp.add_argument("--token", help="your operator token (default $OPSMON_TOKEN)")
    sp.add_argument("--url", help="the collector's base URL (default from the config's listen)")
