"""`opsmon audit`: the audit log, oldest first."""
from __future__ import annotations

import argparse
import json
from typing import Any

from opsmon.collector.cli.common import command, open_store


def cmd_audit(args: argparse.Namespace) -> int:
    from opsmon.collector.store import audit

    store = open_store(args)
    with store.session() as session:
        entries = audit.read(session, args.limit)
    for e in reversed(entries):
        print(f"{e.ts:%Y-%m-%d %H:%M:%S}Z {e.actor} {e.action} {e.target} "
              f"{json.dumps(e.detail, ensure_ascii=False)}")
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "audit", cmd_audit, "print the audit log (oldest first)")
    sp.add_argument("--limit", type=int, default=100)
