"""`opsmon audit`: the audit log, oldest first."""
from __future__ import annotations

import argparse
import json
from typing import Any

from opsmon.collector.cli.common import command, load_config, open_store, when, zone


def cmd_audit(args: argparse.Namespace) -> int:
    from opsmon.collector.store import audit

    config = load_config(args)
    tz = zone(args, config)
    store = open_store(args, config)
    with store.session() as session:
        entries = audit.read(session, args.limit)
    for e in reversed(entries):
        print(f"{when(e.ts, tz)} {e.actor} {e.action} {e.target} "
              f"{json.dumps(e.detail, ensure_ascii=False)}")
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "audit", cmd_audit, "print the audit log (oldest first)")
    sp.add_argument("--limit", type=int, default=100)
