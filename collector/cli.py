"""The `opsmon` command: argument parsing and printing only; the work lives in the modules.

Exit codes: 0 done, 1 failed at run time (database, network), 2 bad input
(config, file, arguments). Errors are one line on stderr naming the cause.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from collector import __version__
from collector.errors import (
    ConfigError,
    InvalidInput,
    NotFound,
    OpsmonError,
    StoreError,
)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "cli:unknown"


def _config(args: argparse.Namespace) -> Any:
    from collector.config import load_config, resolve_config_path

    return load_config(resolve_config_path(args.config))


def _store(args: argparse.Namespace, config: Any = None) -> Any:
    from collector.store import open_store

    config = config or _config(args)
    return open_store(config.database_url(), config.database.connect_timeout)


def cmd_serve(args: argparse.Namespace) -> int:
    from collector import logs
    from collector.service import serve

    config = _config(args)
    logs.setup(config.logging.level, config.logging.format)
    return serve(config)


def cmd_check_config(args: argparse.Namespace) -> int:
    from collector.config import load_config, resolve_config_path
    from collector.inventory import parse_inventory

    path = args.file or resolve_config_path(args.config)
    config = load_config(path)
    count = 0
    assets = []
    for name in config.inventory.files:
        found = parse_inventory(str(config.resolve(name)))
        assets += [(name, a) for a in found]
        count += len(found)
    _check_snmp_refs(config, assets)
    if config.notify.channels:
        from pathlib import Path

        from collector.notify import build_channels

        build_channels(config.notify, Path(config.base_dir), config.source_file)  # every secret readable now
    from collector.sla.targets import load_targets

    table = load_targets(config.targets_path())
    print(f"{path}: OK ({len(config.inventory.files)} inventory file(s), {count} asset(s), "
          f"{len(config.maintenance)} maintenance window(s), {len(table.targets)} target(s))")
    return 0


def _check_snmp_refs(config: Any, assets: list[tuple[str, Any]]) -> None:
    """SNMP checks name credentials and profiles of collector.yaml, and uplinks a polled device."""
    from collector.snmp.profiles import load_profiles

    profiles = load_profiles(tuple(config.resolve(d) for d in config.snmp.profile_dirs))
    polled = {a.id for _f, a in assets if any(c.type == "snmp" for c in a.checks)}
    for file, asset in assets:
        for check in asset.checks:
            where = f"asset {asset.id}: check {check.check_id}"
            if check.type == "snmp":
                if check.credential not in config.snmp.credentials:
                    raise ConfigError(file, f"{where}: credential",
                                      f"{check.credential!r} is not defined under snmp.credentials")
                for name in check.profiles:
                    if name != "auto" and name not in profiles:
                        raise ConfigError(file, f"{where}: profiles",
                                          f"unknown profile {name!r} (known: {', '.join(sorted(profiles))})")
            elif check.type in ("ssh", "ssh_config") and check.credential not in config.ssh.credentials:
                raise ConfigError(file, f"{where}: credential",
                                  f"{check.credential!r} is not defined under ssh.credentials")
            elif check.type == "snmp_interface" and check.device not in polled:
                raise ConfigError(file, f"{where}: device",
                                  f"{check.device!r} is not an asset with an snmp check in these files")


def cmd_assets_import(args: argparse.Namespace) -> int:
    from collector.inventory import import_file, parse_inventory

    parse_inventory(args.file)  # validate before touching the database
    result = import_file(_store(args), args.file, _actor())
    print(", ".join(f"{len(v)} {k}" for k, v in result.items()))
    return 0


def cmd_assets_list(args: argparse.Namespace) -> int:
    from collector.history import current_states
    from collector.inventory import AssetSpec, list_assets

    store = _store(args)
    rows = list_assets(store, args.all)
    states = current_states(store)
    if args.format == "json":
        docs = []
        for row in rows:
            doc = AssetSpec.from_row(row).model_dump(mode="json", exclude_none=True)
            span = states.get(row.id)
            doc["state"] = span.state if span else None
            doc["removed_at"] = row.removed_at.isoformat() if row.removed_at else None
            docs.append(doc)
        print(json.dumps(docs, ensure_ascii=False, indent=2))
        return 0
    table = [("ID", "CATEGORY", "SITE", "ADDRESS", "PARENT", "CHECKS", "STATE")]
    for row in rows:
        span = states.get(row.id)
        table.append((row.id + (" (removed)" if row.removed_at else ""), row.category, row.site or "-",
                      row.address or "-", row.parent_id or "-", str(len(row.checks or [])),
                      span.state if span else "-"))
    _print_table(table)
    return 0


def cmd_assets_remove(args: argparse.Namespace) -> int:
    from collector.inventory import remove_asset

    remove_asset(_store(args), args.id, _actor())
    print(f"removed {args.id} (its history is kept)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from collector.history import current_states, last_heartbeat
    from collector.inventory import list_assets

    store = _store(args)
    states = current_states(store)
    now = datetime.now(UTC)
    beat = last_heartbeat(store)
    if beat is not None and (now - beat).total_seconds() > 60:
        print(f"collector not running since {beat:%Y-%m-%d %H:%M:%S}Z (its last heartbeat): "
              "states below are as it left them\n")
        now = beat
    table = [("ASSET", "CATEGORY", "SITE", "STATE", "FOR", "REASON")]
    from collector.durations import format_duration

    for row in list_assets(store):
        span = states.get(row.id)
        if span is None:
            table.append((row.id, row.category, row.site or "-", "-", "-", "not tracked yet"))
            continue
        table.append((row.id, row.category, row.site or "-", span.state,
                      format_duration(max(0.0, (now - span.start).total_seconds())), span.reason[:70]))
    _print_table(table)
    return 0


def _time_arg(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    from collector.fields import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError:
        raise InvalidInput(f"--{name}: {value!r} is not an ISO 8601 timestamp with a UTC offset") from None


def cmd_history(args: argparse.Namespace) -> int:
    from collector.durations import format_duration
    from collector.history import asset_exists, asset_history, last_heartbeat

    config = _config(args)
    store = _store(args, config)
    if not asset_exists(store, args.asset):
        raise NotFound(f"no asset {args.asset!r}")
    now = datetime.now(UTC)
    beat = last_heartbeat(store)
    # A heartbeat older than three beats means no collector is running now.
    stale = beat is not None and (now - beat).total_seconds() > 3 * config.timeline.heartbeat_interval + 5
    live_until = beat if stale else None
    end = _time_arg(args.to, "to") or now
    start = _time_arg(args.from_, "from") or end - timedelta(days=1)
    if end <= start:
        raise InvalidInput("--to must be after --from")
    spans, totals = asset_history(store, args.asset, start, end, now, live_until)
    if args.format == "json":
        print(json.dumps({"asset": args.asset, "from": start.isoformat(), "to": end.isoformat(),
                          "seconds": totals,
                          "intervals": [{"state": s.state, "start": s.start.isoformat(),
                                         "end": s.end.isoformat() if s.end else None, "reason": s.reason}
                                        for s in spans]}, indent=2, ensure_ascii=False))
        return 0
    table = [("START (UTC)", "END (UTC)", "STATE", "LENGTH", "REASON")]
    for s in spans:
        e = s.end or now
        table.append((f"{s.start:%Y-%m-%d %H:%M:%S}", f"{s.end:%Y-%m-%d %H:%M:%S}" if s.end else "(open)",
                      s.state, format_duration((min(e, end) - s.start).total_seconds()), s.reason[:60]))
    _print_table(table)
    print("totals: " + ", ".join(f"{k} {format_duration(v)}" for k, v in totals.items() if v))
    return 0


def _period(args: argparse.Namespace, config: Any) -> Any:
    from collector.sla.periods import containing, parse_period, range_period

    if args.from_ or args.to:
        if not (args.from_ and args.to):
            raise InvalidInput("give both --from and --to, or --period")
        return range_period(args.from_, args.to, config.timezone)
    if args.period:
        return parse_period(args.period, config.timezone)
    return containing("quarter", datetime.now(UTC), config.timezone)


def cmd_sla(args: argparse.Namespace) -> int:
    from collector.sla.engine import evaluate
    from collector.sla.render import render_table
    from collector.sla.targets import load_targets

    config = _config(args)
    table = load_targets(config.targets_path())
    result = evaluate(_store(args, config), table, _period(args, config))
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(render_table(result, args.lang))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The SLA compliance report as files; each printed with its SHA-256 so it can be verified later."""
    from collector.report import build_report, parse_formats, write_report
    from collector.sla.periods import containing, parse_period

    formats = parse_formats(args.format)
    config = _config(args)
    if args.period:
        period = parse_period(args.period, config.timezone)
    else:  # the last complete quarter: the one a scheduled run at the quarter's end produces
        this = containing("quarter", datetime.now(UTC), config.timezone)
        period = containing("quarter", this.start - timedelta(seconds=1), config.timezone)
    data = build_report(_store(args, config), config, period, args.lang)
    for path, digest in write_report(data, formats, args.out):
        print(f"{digest}  {path}")
    return 0


def cmd_sla_set_value(args: argparse.Namespace) -> int:
    from collector.sla.entries import set_value
    from collector.sla.periods import parse_period
    from collector.sla.targets import load_targets

    config = _config(args)
    target = _target(load_targets(config.targets_path()), args.target, "manual")
    period = parse_period(args.period, config.timezone)
    set_value(_store(args, config), target.id, period, args.value, args.note, _actor())
    print(f"{target.id} = {args.value:g} for {period.label}")
    return 0


def cmd_sla_record(args: argparse.Namespace) -> int:
    from collector.sla.entries import record_event
    from collector.sla.targets import load_targets

    config = _config(args)
    target = _target(load_targets(config.targets_path()), args.target, "count")
    at = _time_arg(args.at, "at") or datetime.now(UTC)
    record_event(_store(args, config), target.id, at, args.count, args.note, _actor())
    print(f"recorded {args.count:g} for {target.id} at {at.isoformat()}")
    return 0


def _target(table: Any, target_id: str, measure: str) -> Any:
    try:
        target = table.get(target_id)
    except KeyError:
        raise InvalidInput(f"no target {target_id!r} in the target table") from None
    if target.measure != measure:
        raise InvalidInput(f"{target_id} is measured as {target.measure}, not {measure}")
    return target


def cmd_history_import(args: argparse.Namespace) -> int:
    from collector.history_import import import_history

    result = import_history(_store(args), args.file, _actor())
    print(f"states: {result['states']['imported']} imported, {result['states']['unchanged']} unchanged; "
          f"incidents: {result['incidents']['imported']} imported, {result['incidents']['unchanged']} unchanged")
    return 0


def cmd_agents_enroll(args: argparse.Namespace) -> int:
    from collector import agents

    token = agents.enroll(_store(args), args.name, args.category, args.site, _actor())
    print(token)
    print(f"# agent token for {args.name}; shown once. Put it in agent.toml (token = ...) with mode 0600.",
          file=sys.stderr)
    return 0


def cmd_agents_revoke(args: argparse.Namespace) -> int:
    from collector import agents

    agents.revoke(_store(args), args.name, _actor())
    print(f"revoked {args.name}; its reports are refused from now on (within seconds on a running collector)")
    return 0


def cmd_agents_list(args: argparse.Namespace) -> int:
    from collector import agents

    table = [("NAME", "ASSET", "ENROLLED", "REVOKED")]
    for a in agents.list_agents(_store(args)):
        table.append((a.name, a.asset_id, f"{a.created_at:%Y-%m-%d %H:%M}",
                      f"{a.revoked_at:%Y-%m-%d %H:%M}" if a.revoked_at else "-"))
    _print_table(table)
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from collector import tokens

    token = tokens.create(_store(args), args.name, args.role, _actor())
    print(token)
    print(f"# token for {args.name} ({args.role}); shown once, only its hash is stored", file=sys.stderr)
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    from collector import tokens

    tokens.revoke(_store(args), args.name, _actor())
    print(f"revoked {args.name}")
    return 0


def cmd_tokens_list(args: argparse.Namespace) -> int:
    from collector import tokens

    table = [("NAME", "ROLE", "CREATED", "REVOKED")]
    for t in tokens.list_tokens(_store(args)):
        table.append((t.name, t.role, f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "-"))
    _print_table(table)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from collector import audit

    store = _store(args)
    with store.session() as session:
        entries = audit.read(session, args.limit)
    for e in reversed(entries):
        print(f"{e.ts:%Y-%m-%d %H:%M:%S}Z {e.actor} {e.action} {e.target} "
              f"{json.dumps(e.detail, ensure_ascii=False)}")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from collector.events import read_events

    rows = read_events(_store(args), args.asset, _time_arg(args.from_, "from"), _time_arg(args.to, "to"), None,
                       args.name, args.limit)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for e in reversed(rows):
        print(f"{e['ts']} {e['asset'] or '-'} {e['source']} {e['kind']} {e['name']} {e['severity']} {e['summary']}")
    return 0


def cmd_incidents_list(args: argparse.Namespace) -> int:
    from collector.incidents.read import list_incidents

    rows = list_incidents(_store(args), args.status, args.asset, _time_arg(args.from_, "from"), None, args.limit)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no incidents")
        return 0
    table = [("ID", "STATUS", "KIND", "SEVERITY", "ASSET", "OPENED", "ACK BY", "RESPONSE", "CAUSE")]
    for r in rows:
        resp = f"{r['response_seconds'] / 60:.1f} min" if r["response_seconds"] is not None else "-"
        table.append((r["id"], r["status"] + (" BREACHED" if r["breached"] else ""), r["kind"], r["severity"] or "",
                      r["asset"], r["opened_at"][:19], r["acknowledged_by"] or "-", resp, r["cause"][:60]))
    _print_table(table)
    return 0


def cmd_incidents_show(args: argparse.Namespace) -> int:
    from collector.incidents.read import show_incident

    doc = show_incident(_store(args), args.id)
    if args.format == "json":
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    trail = doc.pop("trail")
    for key, value in doc.items():
        if value not in (None, "", [], 0) or key in ("level",):
            print(f"{key:>16}: {value}")
    print("trail:")
    for e in trail:
        print(f"  {e['ts'][:19]} {e['actor']} {e['action']} {json.dumps(e['detail'], ensure_ascii=False)}")
    return 0


def _running_collector(args: argparse.Namespace, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Changes go through the running collector's API, so its incident engine and audit log see them."""
    import os

    import httpx

    from collector.config import load_config, resolve_config_path

    config = load_config(resolve_config_path(args.config))
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
    doc = _running_collector(args, "POST", f"/api/v1/incidents/{args.id}/{args.action}", {"note": args.note or ""})
    print(f"{doc['id']}: {doc['status']}" + (f" by {doc['acknowledged_by']}" if args.action == "ack" else ""))
    return 0


def cmd_configs_list(args: argparse.Namespace) -> int:
    from collector.ssh import configs

    store = _store(args)
    if args.asset:
        rows = configs.list_versions(store, args.asset, args.name)
        table = [("VERSION", "FETCHED", "LAST SEEN", "SIZE", "SHA256")]
        table += [(str(r["version"]), str(r["fetched_at"])[:19], str(r["last_seen"])[:19], str(r["size"]),
                   r["sha256"][:12]) for r in rows]
    else:
        rows = configs.list_assets(store)
        table = [("ASSET", "NAME", "VERSIONS", "LAST SEEN")]
        table += [(r["asset_id"], r["name"], str(r["versions"]), str(r["last_seen"])[:19]) for r in rows]
    if len(table) == 1:
        print("no stored configurations")
        return 0
    _print_table(table)
    return 0


def _version_arg(value: str | None, default: str) -> Any:
    value = value or default
    return int(value) if value.isdigit() else value


def cmd_configs_show(args: argparse.Namespace) -> int:
    from collector.ssh import configs

    doc = configs.show(_store(args), args.asset, _version_arg(args.version, "latest"), args.name)
    sys.stdout.write(doc["content"])
    return 0


def cmd_configs_diff(args: argparse.Namespace) -> int:
    from collector.ssh import configs

    sys.stdout.write(configs.diff(_store(args), args.asset, _version_arg(args.a, "previous"),
                                  _version_arg(args.b, "latest"), args.name))
    return 0


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="opsmon", description="opsmon collector and admin CLI")
    p.add_argument("--config", help="collector.yaml (default: $OPSMON_CONFIG, else the bundled demo config)")
    p.add_argument("--version", action="version", version=f"opsmon {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help: str,
            parent: Any = sub) -> argparse.ArgumentParser:
        sp = parent.add_parser(name, help=help, description=help)
        sp.set_defaults(func=fn)
        return sp

    add("serve", cmd_serve, "run the collector: checks, timeline, API and /metrics")
    sp = add("check-config", cmd_check_config, "validate a collector.yaml and its inventory files; change nothing")
    sp.add_argument("file", nargs="?")
    add("status", cmd_status, "current state of every asset")

    assets = sub.add_parser("assets", help="inventory").add_subparsers(dest="sub", required=True, metavar="ACTION")
    sp = add("import", cmd_assets_import, "create or update the assets in a YAML file (idempotent)", assets)
    sp.add_argument("file")
    sp = add("list", cmd_assets_list, "list assets", assets)
    sp.add_argument("--all", action="store_true", help="include removed assets")
    sp.add_argument("--format", choices=("table", "json"), default="table")
    sp = add("remove", cmd_assets_remove, "stop monitoring an asset; its history is kept", assets)
    sp.add_argument("id")

    hist = sub.add_parser("history", help="state history").add_subparsers(dest="sub", required=True, metavar="ACTION")
    sp = add("show", cmd_history, "an asset's state intervals over a time range", hist)
    sp.add_argument("asset")
    sp.add_argument("--from", dest="from_", help="ISO 8601 with offset; default 24 h before --to")
    sp.add_argument("--to", help="ISO 8601 with offset; default now")
    sp.add_argument("--format", choices=("table", "json"), default="table")

    sp = add("import", cmd_history_import, "load past state intervals and incidents from JSON lines", hist)
    sp.add_argument("file")

    sla = sub.add_parser("sla", help="service-level figures against the target table",
                         description="service-level figures against the target table")
    sla.set_defaults(func=cmd_sla)
    sla.add_argument("--period", help="2026Q3, 2026-08 or 2026 (default: this quarter, to date)")
    sla.add_argument("--from", dest="from_", help="ISO 8601 start of a custom range")
    sla.add_argument("--to", help="ISO 8601 end of a custom range")
    sla.add_argument("--format", choices=("table", "json"), default="table")
    sla.add_argument("--lang", choices=("zh", "en"), default="en")
    sla_sub = sla.add_subparsers(dest="sub", metavar="ACTION")
    sp = add("set-value", cmd_sla_set_value, "enter a figure measured elsewhere (e.g. a survey) for a period",
             sla_sub)
    sp.add_argument("target")
    sp.add_argument("value", type=float)
    sp.add_argument("--period", required=True, help="the period the value is for: 2026, 2026Q3 or 2026-08")
    sp.add_argument("--note", default="")
    sp = add("record", cmd_sla_record, "record a delivery counted by a count target (e.g. a report)", sla_sub)
    sp.add_argument("target")
    sp.add_argument("--at", help="when it was delivered (ISO 8601); default now")
    sp.add_argument("--count", type=float, default=1.0)
    sp.add_argument("--note", default="")

    sp = add("report", cmd_report, "the SLA compliance report (PDF, HTML, XLSX) for a period, in Chinese or English")
    sp.add_argument("--period", help="2026Q3, 2026-08 or 2026 (default: the last complete quarter)")
    sp.add_argument("--lang", choices=("zh", "en"), default="zh")
    sp.add_argument("--format", default="pdf,html,xlsx", help="comma-separated: pdf, html, xlsx, json")
    sp.add_argument("--out", default=".", help="folder to write the files to (created if needed)")

    agents = sub.add_parser("agents", help="host agents").add_subparsers(dest="sub", required=True,
                                                                        metavar="ACTION")
    sp = add("enroll", cmd_agents_enroll, "enroll a host: creates its asset and prints its agent token once", agents)
    sp.add_argument("name")
    sp.add_argument("--category", choices=("server", "computer"), default="server")
    sp.add_argument("--site")
    sp = add("revoke", cmd_agents_revoke, "refuse an agent's reports from now on", agents)
    sp.add_argument("name")
    add("list", cmd_agents_list, "list enrolled agents", agents)

    toks = sub.add_parser("tokens", help="API tokens").add_subparsers(dest="sub", required=True, metavar="ACTION")
    sp = add("create", cmd_tokens_create, "create a token for a person and print it once", toks)
    sp.add_argument("name")
    sp.add_argument("--role", choices=("viewer", "operator", "admin"), default="viewer")
    sp = add("revoke", cmd_tokens_revoke, "revoke a person's token", toks)
    sp.add_argument("name")
    add("list", cmd_tokens_list, "list tokens (never their values)", toks)

    sp = add("events", cmd_events, "events devices reported (SNMP traps), oldest of the newest --limit first")
    sp.add_argument("--asset")
    sp.add_argument("--name", help="e.g. linkDown, coldStart, authenticationFailure")
    sp.add_argument("--from", dest="from_", help="ISO 8601 with offset")
    sp.add_argument("--to", help="ISO 8601 with offset")
    sp.add_argument("--limit", type=int, default=100)
    sp.add_argument("--format", choices=("text", "json"), default="text")

    inc = sub.add_parser("incidents", help="faults and the response to them").add_subparsers(
        dest="sub", required=True, metavar="ACTION")
    sp = add("list", cmd_incidents_list, "incidents, newest first", inc)
    sp.add_argument("--status", help="open, acknowledged, resolved, closed, merged, or active")
    sp.add_argument("--asset")
    sp.add_argument("--from", dest="from_", help="opened at or after (ISO 8601 with offset)")
    sp.add_argument("--limit", type=int, default=100)
    sp.add_argument("--format", choices=("table", "json"), default="table")
    sp = add("show", cmd_incidents_show, "one incident and its trail (who did what, when)", inc)
    sp.add_argument("id")
    sp.add_argument("--format", choices=("text", "json"), default="text")
    for action, text in (("ack", "acknowledge: the response the SLA counts"),
                         ("resolve", "resolve by hand, with a note"), ("note", "add a note")):
        sp = add(action, cmd_incidents_change, text + " (through the running collector)", inc)
        sp.add_argument("id")
        sp.add_argument("--note", required=action != "ack")
        sp.add_argument("--token", help="your operator token (default $OPSMON_TOKEN)")
        sp.add_argument("--url", help="the collector's base URL (default from the config's listen)")
        sp.set_defaults(action=action)

    cfgs = sub.add_parser("configs", help="stored network device configurations").add_subparsers(
        dest="sub", required=True, metavar="ACTION")
    sp = add("list", cmd_configs_list, "devices with stored configurations, or one device's versions", cfgs)
    sp.add_argument("asset", nargs="?")
    sp.add_argument("--name", default="running")
    sp = add("show", cmd_configs_show, "one stored version (default: the latest)", cfgs)
    sp.add_argument("asset")
    sp.add_argument("version", nargs="?", help="a number, latest or previous")
    sp.add_argument("--name", default="running")
    sp = add("diff", cmd_configs_diff, "what changed between two versions (default: previous to latest)", cfgs)
    sp.add_argument("asset")
    sp.add_argument("a", nargs="?")
    sp.add_argument("b", nargs="?")
    sp.add_argument("--name", default="running")

    sp = add("audit", cmd_audit, "print the audit log (oldest first)")
    sp.add_argument("--limit", type=int, default=100)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"opsmon: config error: {exc}", file=sys.stderr)
        return 2
    except (InvalidInput, NotFound) as exc:
        print(f"opsmon: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"opsmon: database error: {exc}", file=sys.stderr)
        return 1
    except OpsmonError as exc:
        print(f"opsmon: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"opsmon: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
