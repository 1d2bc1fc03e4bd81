"""`opsmon-agent`: the host agent entry point.

The collection loop, spool and transport arrive with the agent issue; for now
the entry point exists so packaging and the `opsmon[agent]` install are real.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agent import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsmon-agent", description="opsmon host agent")
    parser.add_argument("--version", action="version", version=f"opsmon-agent {__version__}")
    parser.add_argument("--config", help="agent.yaml (the token is read from this file, never the command line)")
    parser.parse_args(argv)
    print("opsmon-agent: the reporting loop is not built yet (see the agent issue)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
