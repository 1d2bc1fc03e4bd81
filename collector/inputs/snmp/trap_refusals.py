"""What the trap receiver refused, counted by reason and source and logged at most once a minute per source.

Why bounded: the trap port takes packets from anyone, with any source address (UDP is easily spoofed). A
flood must neither grow /metrics (one series per source) nor the log (one line per packet: a tester saw
77,076 lines in 23 s). So an asset's address always has its own label, the first `max_sources` other
addresses too, and every further address counts as `other`; each label gets one log line at once, then at
most one a minute saying what happened since the previous line (rsyslog's ratelimit.interval pattern).

    book = Refusals(max_sources=100, is_asset=lambda a: a in assets)
    book.refuse("community", "10.0.0.9")   # counted, logged at once (first for this source)
    book.refuse("community", "10.0.0.9")   # counted, logged by tick() a minute after the first line
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opsmon.collector.core.throttle import Throttle

log = logging.getLogger(__name__)

OTHER = "other"
REFUSED_LINE = "SNMP 陷阱被拒收（每个来源每分钟至多一行）/ SNMP traps refused (a line a minute per source at most)"
# Why a trap was refused; the label values of opsmon_trap_refused_total{reason}.
REASONS = {
    "malformed": "not an SNMP message pysnmp could decode",
    "not_a_trap": "an SNMP message that is no notification (a request sent to the trap port)",
    "community": "v1/v2c community not among snmp.traps.credentials",
    "unknown_engine": "v3 sender's engine ID not under snmp.traps.engine_ids",
    "unknown_user": "v3 user not among snmp.traps.credentials",
    "auth_key": "v3 message with a wrong authentication key (digest mismatch)",
    "priv_key": "v3 message that does not decrypt (wrong privacy key or protocol)",
    "time_window": "v3 message outside the sender's time window (replayed or clock jump)",
    "security_level": "v3 message at a security level the user does not have",
    "security": "another v3 security failure",
    "rate": "beyond the source's rate limit (snmp.traps.rate, burst): dropped before decoding",
    "unknown_source": "a valid trap from an address that is no asset (snmp.traps.store_unknown is false)",
    "error": "a valid trap the receiver failed to handle (a defect: the log line names the exception)",
    "queue": "a site poller's traps waiting for its next report are at traps.max_queue (poller.toml)",
    "not_site": "a site poller forwarded a trap of an asset that is not of its site",
}


@dataclass
class _Line:
    """What happened to one source label since its last line (when that was written: the Throttle's)."""

    pending: dict[str, int] = field(default_factory=dict)
    detail: str = ""


class Refusals:
    """Counters by (reason, source label) for /metrics, and the rate-limited log lines about them."""

    def __init__(self, max_sources: int, is_asset: Callable[[str], bool], interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, other: str = OTHER,
                 line: str = REFUSED_LINE) -> None:
        """`other` and `line`: the label of sources beyond the bound and the log line's text, for a receiver
        other than the trap port's (the HJ 212 receiver counts by DAU, `unknown` beyond the configured ones)."""
        self.other = other
        self.line = line
        self.max_sources = max_sources
        self.is_asset = is_asset
        self.interval = interval
        self.clock = clock
        self._throttle = Throttle(interval, clock, max_keys=None)  # its labels are bounded: max_sources + assets
        self.counts: dict[tuple[str, str], int] = {}
        self._strangers: set[str] = set()  # addresses that are no asset, with a label of their own
        self._lines: dict[str, _Line] = {}

    def label(self, source: str) -> str:
        """The source's label value: its address, or `other` once max_sources non-asset addresses have one."""
        if source in self._strangers or self.is_asset(source):
            return source
        if len(self._strangers) < self.max_sources:
            self._strangers.add(source)
            return source
        return self.other

    def refuse(self, reason: str, source: str, detail: str = "", n: int = 1) -> None:
        """n: refusals of one reason at once (a site poller's report refuses several results)."""
        label = self.label(source)
        key = (reason, label)
        self.counts[key] = self.counts.get(key, 0) + n
        line = self._lines.get(label)
        if line is None:
            line = self._lines[label] = _Line()
        line.pending[reason] = line.pending.get(reason, 0) + n
        if detail:
            line.detail = detail
        if self._throttle.due(label):
            self._log(label, line)

    def tick(self) -> None:
        """Write the line of every source whose refusals have waited a full interval since its last line."""
        for label, line in list(self._lines.items()):
            if line.pending and self._throttle.due(label):
                self._log(label, line)

    def flush(self) -> None:
        """Write every pending line now (at close, so the last minute is not lost from the log)."""
        for label, line in list(self._lines.items()):
            if line.pending:
                self._log(label, line)

    def _log(self, label: str, line: _Line) -> None:
        since = self._throttle.since(label)
        refused = ",".join(f"{reason}:{n}" for reason, n in sorted(line.pending.items()))
        extra = {"source": label, "refused": refused, "since": "start" if since is None else f"{since:.0f}s"}
        if line.detail:
            extra["detail"] = line.detail
        log.warning(self.line, extra=extra)
        self._throttle.written(label)
        line.pending = {}
        line.detail = ""
