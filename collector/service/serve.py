"""`opsmon serve`: build the collector, say where to look, run until a signal, say whether the store took all."""
from __future__ import annotations

import asyncio
import signal
import sys

from opsmon.collector import __version__
from opsmon.collector.config import DEMO_CONFIG, CollectorConfig
from opsmon.collector.service.service import Service
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.db import SCHEMA_REVISION
from opsmon.collector.store.lock import InstanceLock


def serve(config: CollectorConfig) -> int:
    """Blocking entry point for `opsmon serve`."""
    store, lock = _locked_store(config)
    service = Service(config, store=store, lock=lock)
    service.prepare()
    host = config.listen.host
    port = service.socket.getsockname()[1] if service.socket else config.listen.port
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    base = f"{'https' if config.listen.tls_cert else 'http'}://{shown}:{port}"
    # the command that reaches this collector's database: the demo's only with --demo (cli/common.py)
    cli = "opsmon --demo" if config.source_file == DEMO_CONFIG else "opsmon"
    print(
        f"opsmon {__version__} collector running (Ctrl-C to stop)\n"
        f"  console:    {base}/ui/  (accounts: {cli} users add NAME --role admin)\n"
        f"  API:        {base}/api/v1/states\n"
        f"  API docs:   {base}/docs\n"
        f"  metrics:    {base}/metrics\n"
        f"  health:     {base}/api/v1/health\n"
        f"  database:   {_safe_db(config)}\n"
        f"  assets:     {len(service.assets)} monitored, {service.scheduler.job_count} checks",
        flush=True,
    )
    if config.hj212.enabled:
        print(f"  HJ 212:     tcp {config.hj212.host}:{config.hj212.port} (rates: {cli} hj212 rates --by point)",
              flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # SIGHUP: read oncall.yaml again now (taken only if valid; the periodic reload also notices a change)
        loop.add_signal_handler(signal.SIGHUP, lambda: service.reload_oncall(force=True))
        await service.run(stop)

    try:
        import uvloop  # the faster event loop where available; plain asyncio otherwise

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())
    if not service.flushed or service.writer.dropped:
        print(f"opsmon stopped, but the store did not take everything: {service.writer.queue.qsize()} operations "
              f"unwritten, {service.writer.dropped} refused (see the log)", file=sys.stderr, flush=True)
        return 1
    print("opsmon stopped; all observations written.", flush=True)
    return 0


def _locked_store(config: CollectorConfig) -> tuple[Store, InstanceLock]:
    """The database with its one-collector lock taken, then migrated: a second collector is refused (or, with
    `database.standby`, waits here until the active one is gone) before it migrates or reads anything."""
    db = config.database
    store = open_store(config.database_url(), db.connect_timeout, migrate=False)
    lock = InstanceLock(store)

    def waiting(holder: str) -> None:
        print(f"opsmon {__version__} standby: {holder}; waiting to take over (every {db.standby_poll:g} s) / "
              f"备用采集器：等待接管", flush=True)

    try:
        lock.acquire(wait=db.standby, poll=db.standby_poll, waiting=waiting)
        if store.revision() != SCHEMA_REVISION:
            store.migrate()
    except BaseException:
        lock.release()
        store.close()
        raise
    return store, lock


def _safe_db(config: CollectorConfig) -> str:
    from opsmon.collector.store.db import safe_url

    return safe_url(config.database_url())
