"""`opsmon audit`: the audit log, oldest first."""
from __future__ import annotations

import argparse
import json
from typing import Any

from opsmon.collector.cli.common import command, reading, when, zone


def cmd_audit(args: argparse.Namespace) -> int:
    from opsmon.collector.store import audit

    config, store = reading(args)
    tz = zone(args, config)
    entries = audit.read(store, args.limit)
    for e in reversed(entries):
        print(f"{when(e.ts, tz)} {e.actor} {e.action} {e.target} "
              f"{json.dumps(e.detail, ensure_ascii=False)}")
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "audit", cmd_audit, "print the audit log (oldest first)")
    sp.add_argument("--limit", type=int, default=100)
