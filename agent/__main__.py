"""`opsmon-agent --config /etc/opsmon/agent.toml`: run the host agent until SIGTERM/SIGINT.

One agent per spool: the agent holds an OS lock on its spool directory (spool.SpoolLock) while it
runs, because the spool also numbers the report stream, and a second process numbering the same
stream made the collector drop the first one's reports as replays (issue 16 item 6). A second
agent on a locked spool refuses to start, naming the holder's pid and the spool (exit code 3).
`--once` is how people test an agent by hand beside the running service, so it still works there:
with the spool locked it sends one report on a throwaway stream of its own, from a temporary
directory, and touches neither the spool, nor the stream, nor the security state of the service.

Exit codes: 0 stopped cleanly (or `--once` sent its report), 1 `--once` beside the service could
not send its report, 2 bad configuration, 3 another agent holds the spool.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from opsmon.agent import __version__
from opsmon.agent.errors import SpoolBusy

SPOOL_BUSY = 3


def _serve_metrics(agent: Any, port: int) -> None:
    """A local /metrics for an existing Prometheus; loopback only, so it never faces the network.

    `Local` is a plain class with collect(), which every prometheus-client takes (its `Collector`
    base class came in 0.14; the agent accepts the 0.6 of Debian 10 and UOS V20).
    """
    from prometheus_client import CollectorRegistry, start_http_server

    from opsmon.agent.exposition import families

    class Local:
        def collect(self) -> Any:
            return families(agent.last_metrics, {})

    registry = CollectorRegistry()
    registry.register(Local())
    start_http_server(port, addr="127.0.0.1", registry=registry)


def _once_beside(cfg: Any, busy: SpoolBusy) -> int:
    """`--once` while the service holds the spool: one report on a throwaway stream, nothing kept.

    A temporary spool gives the report a new stream id and sequence 1, so the collector counts it
    apart from the service's stream. The security work is off: its state (auth log position, file
    inventories) belongs to the service, and a fresh one would report old logins a second time.
    A report that cannot be sent is not kept (the spool is not ours), and the exit code says so.
    """
    import dataclasses
    import tempfile

    from opsmon.agent.runner import Agent

    log = logging.getLogger("opsmon.agent")
    log.warning("another agent holds the spool; sending one report on a stream of its own, without the spool",
                extra={"pid": busy.pid, "spool": busy.spool})
    with tempfile.TemporaryDirectory(prefix="opsmon-agent-once-") as scratch:
        agent = Agent(dataclasses.replace(cfg, spool_dir=scratch, baseline=False, fim_paths=(), auth_log="off"))
        agent.cycle()
        agent.transport.close()
    if agent.sent:
        log.info("report sent", extra={"stream": agent.stream})
        return 0
    log.error("the report was not sent and is not kept")
    return 1


def configured(path: str, prog: str, tables: tuple[str, ...] = ()) -> Any:
    """agent.toml read (an AgentConfig) and the log set up; None, said on stderr, when the file is wrong.
    Also how `opsmon poller` reads its poller.toml (the same format)."""
    from opsmon.agent import config as config_mod
    from opsmon.agent.errors import ConfigError
    from opsmon.agent.logfmt import TextFormatter

    try:
        cfg = config_mod.load(path, tables)
    except ConfigError as exc:
        print(f"{prog}: config error: {exc}", file=sys.stderr)
        return None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter())
    logging.basicConfig(level=cfg.log_level, handlers=[handler])
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsmon-agent", description="opsmon host agent")
    parser.add_argument("--version", action="version", version=f"opsmon-agent {__version__}")
    parser.add_argument("--config", default="/etc/opsmon/agent.toml",
                        help="agent.toml; the token is read from it (or its token_file), never the command line")
    parser.add_argument("--once", action="store_true", help="collect and send one report, then exit")
    args = parser.parse_args(argv)

    from opsmon.agent.spool import SpoolLock

    cfg = configured(args.config, "opsmon-agent")
    if cfg is None:
        return 2
    # A plain-HTTP agent never loads OpenSSL (about 5 MB resident). Not with the local /metrics:
    # prometheus-client imports urllib.request's HTTPSHandler, which exists only when http.client has ssl.
    if not cfg.metrics_port and not any(url.lower().startswith("https:")
                                        for url in (*cfg.collector_urls, cfg.collector_url)):
        from opsmon.agent.compat import http_client_without_ssl

        http_client_without_ssl()
    from opsmon.agent.runner import Agent

    try:
        lock = SpoolLock.acquire(cfg.spool_dir)
    except SpoolBusy as busy:
        if args.once:
            return _once_beside(cfg, busy)
        print(f"opsmon-agent: {busy}; stop it first, or use --once to send one report beside it",
              file=sys.stderr)
        return SPOOL_BUSY
    except OSError as exc:  # the spool directory cannot be made or opened: say which, like a config error
        print(f"opsmon-agent: spool {cfg.spool_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    agent = Agent(cfg)
    if args.once:
        agent.cycle()
        lock.release()
        return 0
    if cfg.metrics_port:
        _serve_metrics(agent, cfg.metrics_port)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: agent.stop.set())
    logging.getLogger("opsmon.agent").info("agent started", extra={"collector": " ".join(cfg.collector_urls)
                                                                     or cfg.collector_url,
                                                                     "interval": cfg.interval})
    agent.run()
    lock.release()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
