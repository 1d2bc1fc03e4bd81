"""`opsmon poller [poller.toml]`: run a site poller at a prefecture (docs/poller.md)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from opsmon.collector.cli.common import command

SPOOL_BUSY = 3  # as opsmon-agent: another process holds the spool


def cmd_poller(args: argparse.Namespace) -> int:
    from opsmon.agent.__main__ import configured
    from opsmon.agent.errors import SpoolBusy
    from opsmon.agent.spool import SpoolLock
    from opsmon.collector.inputs.poller.runner import Poller

    cfg = configured(args.file, "opsmon poller", ("traps", "metrics_address"))
    if cfg is None:
        return 2
    try:
        lock = SpoolLock.acquire(cfg.spool_dir)
    except SpoolBusy as busy:
        print(f"opsmon poller: {busy}; stop it first", file=sys.stderr)
        return SPOOL_BUSY
    except OSError as exc:
        print(f"opsmon poller: spool {cfg.spool_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    traps = site_traps(args.file, args.credentials)
    door = metrics_door(args.file, cfg.metrics_port) if traps is not False else None
    if traps is False or door is False:
        if traps:
            traps.close()
        lock.release()
        return 2

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        poller = Poller(cfg, args.max_concurrency, args.credentials, traps=traps or None,
                        metrics=door or None)
        logging.getLogger("opsmon.poller").info("poller started", extra={
            "collector": " ".join(cfg.collector_urls) or cfg.collector_url, "interval": cfg.interval})
        await poller.run(stop)

    try:
        asyncio.run(run())
    finally:
        lock.release()
    return 0


def _bound(what: str, make: Any) -> Any:
    """make(): a door of poller.toml, bound (a taken port fails the start, not the first packet), or None when off;
    False, said on stderr, when its settings are wrong (file, key, reason) or its port cannot be had."""
    from opsmon.agent.errors import ConfigError

    try:
        return make()
    except ConfigError as exc:
        print(f"opsmon poller: config error: {exc}", file=sys.stderr)
        return False
    except OSError as exc:
        print(f"opsmon poller: {what}: {exc}", file=sys.stderr)
        return False


def site_traps(path: str, credentials: str) -> Any:
    """The trap port of poller.toml's [traps], its communities and v3 users from the credentials file (_bound)."""
    def make() -> Any:
        from opsmon.collector.inputs.poller.traps import load_settings

        found = load_settings(path, credentials)
        if found is None:
            return None
        from opsmon.collector.inputs.poller.trap_port import SiteTraps

        traps = SiteTraps(*found)
        traps.bind()
        return traps

    return _bound("traps", make)


def metrics_door(path: str, port: int | None) -> Any:
    """The SNMP devices' /metrics of poller.toml's `metrics_port` and `metrics_address` (_bound); an address or
    port that cannot be had is said naming the file and both keys."""
    def make() -> Any:
        from opsmon.agent.errors import ConfigError
        from opsmon.collector.inputs.poller.metrics_door import SnmpDoor, metrics_address

        address = metrics_address(path, port)
        if port is None:
            return None
        try:
            return SnmpDoor(address, port, None)
        except OSError as exc:
            raise ConfigError(path, "metrics_address, metrics_port", f"cannot listen on {address}:{port}: "
                              f"{exc.strerror or exc}") from None

    return _bound("metrics door", make)


def register(sub: Any) -> None:
    sp = command(sub, "poller", cmd_poller,
                 "run a site poller: the checks of its site, forwarded through a crash-safe spool (docs/poller.md)")
    sp.add_argument("file", nargs="?", default="/etc/opsmon/poller.toml", metavar="POLLER_TOML",
                    help="agent.toml's format: collector_url, token or token_file, spool_dir, interval (of reports); "
                         "[traps] for the site's SNMP traps; metrics_port (and metrics_address, default 127.0.0.1) "
                         "for the SNMP devices' /metrics (docs/poller.md)")
    sp.add_argument("--max-concurrency", type=int, default=100, help="checks in flight at once")
    sp.add_argument("--credentials", default="/etc/opsmon/poller-credentials.yaml", metavar="FILE",
                    help="the SNMP and SSH credentials of the site's checks (collector.yaml's snmp: and ssh: "
                         "sections); read when the share holds such a check, and at start for the communities "
                         "and v3 users [traps] credentials names (docs/poller.md)")
