"""The agent loop: collect, report, and forward what the collector has not yet accepted.

Every report gets the next sequence number of this spool's stream (both kept on
disk, so a restart continues them) and the agent's own timestamp. At send time
the header X-Opsmon-Sent-At carries the agent's clock, so the collector can
measure and correct the clock offset of every report, replayed ones included.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsmon.agent import __version__
from opsmon.agent.collectors import build
from opsmon.agent.collectors.facts import host_facts
from opsmon.agent.compat import sha256
from opsmon.agent.config import AgentConfig
from opsmon.agent.errors import Rejected, TransportError
from opsmon.agent.hardware import FaultDetector
from opsmon.agent.spool import Spool
from opsmon.agent.transport import Transport

if TYPE_CHECKING:
    from opsmon.agent.baseline.monitor import SecurityMonitor

log = logging.getLogger("opsmon.agent")
SCHEMA = 1
FACTS_EVERY = 600.0
SEQ_BLOCK = 100  # sequence numbers reserved on disk at a time: one file write per 100 reports



def wire(doc: Any) -> str:
    """A report (or a part of it) as the collector receives it: compact JSON, ASCII only (ensure_ascii, so a CJK
    character takes 6 bytes, \\uXXXX). Whoever bounds a report's size counts this."""
    return json.dumps(doc, separators=(",", ":"))

class Agent:
    # The collector's answer sets the report interval; a site poller (opsmon poller) keeps its own, shorter one.
    follow_collector_interval = True

    def __init__(self, cfg: AgentConfig, transport: Transport | None = None) -> None:
        self.cfg = cfg
        self.interval = cfg.interval
        self.registry = build(list(cfg.services), cfg.smartctl)
        self.spool = Spool(cfg.spool_dir, cfg.spool_max_bytes, cfg.spool_max_age)
        self.transport = transport or Transport(cfg.collector_urls or cfg.collector_url, cfg.token,
                                                    cfg.ca_file, cfg.timeout)
        self.faults = FaultDetector()
        self._stream_file = Path(cfg.spool_dir) / "stream.json"
        self.stream, self.seq = self._load_stream()
        self._facts_digest: str | None = None
        self._facts_checked = -1e18
        self.last_metrics: dict[str, Any] = {}
        self.sent = 0
        self.rejected = 0
        self.stop = threading.Event()
        self.connected = True
        self.security: SecurityMonitor | None = None
        if cfg.baseline or cfg.fim_paths or cfg.auth_log != "off":
            # imported only when used: a site poller (and an agent with all three off) does without (1.8 MB)
            from opsmon.agent.baseline.monitor import SecurityMonitor

            self.security = SecurityMonitor(cfg, self.stop)

    def _load_stream(self) -> tuple[str, int]:
        """Resume after the last reserved number, so a crash can skip numbers but never reuse one."""
        try:
            doc = json.loads(self._stream_file.read_text())
            stream, seq = str(doc["stream"]), int(doc["seq"])
        except (OSError, ValueError, KeyError):
            stream, seq = uuid.uuid4().hex, 0
        self._reserved = seq
        return stream, seq

    def _save_stream(self) -> None:
        if self.seq <= self._reserved:
            return
        self._reserved = self.seq + SEQ_BLOCK
        tmp = self._stream_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"stream": self.stream, "seq": self._reserved}))
        os.replace(tmp, self._stream_file)

    def make_report(self, now: float | None = None) -> tuple[int, bytes]:
        metrics = self.registry.collect()
        self.last_metrics = metrics
        self.seq += 1
        self._save_stream()
        doc: dict[str, Any] = {
            "schema": SCHEMA, "stream": self.stream, "seq": self.seq, "ts": now or time.time(),
            "interval": self.interval, "metrics": metrics, "hardware": self.faults.faults(metrics),
            "agent": {"version": __version__, "collector_errors": self.registry.errors,
                      "spool_dropped": self.spool.dropped},
        }
        if time.monotonic() - self._facts_checked >= FACTS_EVERY:  # facts change rarely: look every 10 min
            self._facts_checked = time.monotonic()
            facts = host_facts()
            digest = sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
            if digest != self._facts_digest:
                doc["facts"] = facts
                self._facts_digest = digest
        self.extend(doc)
        if self.security is not None:  # baseline and FIM run in their own thread; their results ride along
            self.security.start()
            security = self.security.take()
            if security:
                doc["security"] = security
        return self.seq, wire(doc).encode()

    def extend(self, doc: dict[str, Any]) -> None:
        """Add to a report before it is numbered on disk and sent; a site poller adds its check results here."""

    def _unreachable(self, error: str) -> None:
        if self.connected:  # log the change, not every interval of an outage
            log.warning("collector unreachable; spooling reports", extra={"error": error[:200]})
            self.connected = False

    def _send(self, body: bytes, backlog: int = 0) -> None:
        answer = self.transport.send(body, backlog)
        if not self.connected:
            log.info("collector reachable again", extra={"spooled": len(self.spool)})
            self.connected = True
        self.sent += 1
        interval = answer.get("interval")
        if (self.follow_collector_interval and isinstance(interval, (int, float)) and 1 <= interval <= 3600
                and interval != self.interval):
            log.info("collector set the interval", extra={"interval": interval})
            self.interval = float(interval)

    def forward_backlog(self) -> bool:
        """Replay spooled reports oldest first; False when the collector is unreachable.

        Each says how many follow it (the rest of the spool and the live report the cycle sends next), so the
        collector waits for them before it judges this host silent.
        """
        while not self.stop.is_set():
            batch = self.spool.oldest(100)
            if not batch:
                return True
            left = len(self.spool)
            for path, body in batch:
                left -= 1
                try:
                    self._send(body, backlog=left + 1)
                except TransportError as exc:
                    self._unreachable(str(exc))
                    return False
                except Rejected as exc:
                    if "HTTP 401" in str(exc) or "HTTP 403" in str(exc):
                        log.error("collector refuses the token; keeping reports", extra={"error": str(exc)[:200]})
                        return False
                    self.rejected += 1
                    log.error("collector rejected a spooled report; dropping it", extra={"error": str(exc)[:200]})
                self.spool.remove(path)
        return True

    def cycle(self) -> None:
        seq, body = self.make_report()
        if len(self.spool) and not self.forward_backlog():
            self.spool.put(seq, body)
            return
        try:
            self._send(body)
        except TransportError as exc:
            self._unreachable(str(exc))
            self.spool.put(seq, body)
        except Rejected as exc:
            if "HTTP 401" in str(exc) or "HTTP 403" in str(exc):
                log.error("collector refuses the token; spooling", extra={"error": str(exc)[:200]})
                self.spool.put(seq, body)
            else:
                self.rejected += 1
                log.error("collector rejected the report", extra={"error": str(exc)[:200]})

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stop.is_set():
            try:
                self.cycle()
            except Exception:
                log.exception("report cycle failed")
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay < 0:  # fell behind (suspend, slow disk): skip, do not burst
                next_at = time.monotonic() + self.interval
                delay = self.interval
            self.stop.wait(delay)
