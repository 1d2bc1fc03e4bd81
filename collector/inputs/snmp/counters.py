"""Rates from SNMP counters that never come out negative or absurd.

A counter delta is trusted only when it can be explained:

- sysUpTime went backwards (and is not its own 32-bit wrap): the device rebooted,
  every counter restarted from zero, so there is no rate for this interval.
- A 32-bit counter went backwards: it wrapped once (2**32 added); a 64-bit one
  going backwards is a reset (a 64-bit octet counter needs centuries to wrap
  even at 100 Gbit/s), so no rate.
- A wrap is only believed when the rate it gives stays under a ceiling (the
  interface speed with 10% slack); otherwise the 32-bit counter was reset (a
  line card swap, ifCounterDiscontinuityTime) or wrapped more than once, and
  there is no rate. A delta that needed no wrap is never refused for speed:
  virtual interfaces (loopback, tunnels, VLANs) report nominal speeds that
  their real traffic exceeds.

Refusals are counted by reason so an operator can see them; a refused interval
is simply absent, which Prometheus and the dashboards treat as a gap.
"""
from __future__ import annotations

from typing import NamedTuple

WRAP32 = 1 << 32
WRAP64 = 1 << 64
TICKS_WRAP = 1 << 32  # sysUpTime is TimeTicks (hundredths of a second), 32 bits: wraps after 497 days
CEILING_SLACK = 1.1


class Sample(NamedTuple):
    """One reading of a counter: its value, when it was read (seconds), and the device's sysUpTime then.

    A NamedTuple, not a frozen dataclass: a 48-port switch makes ~200 a poll, and a tuple is built in C."""

    value: int
    at: float
    uptime: int | None = None


def rebooted(prev_uptime: int | None, uptime: int | None, elapsed: float) -> bool:
    """True when sysUpTime says the device restarted between two polls.

    A drop in sysUpTime is a reboot unless it is the 32-bit wrap: the old value
    sat within the elapsed time of 2**32 ticks and the new one is small.
    """
    if prev_uptime is None or uptime is None or uptime >= prev_uptime:
        return False
    span = int(max(elapsed, 0.0) * 100 * 2) + 100
    return not (TICKS_WRAP - prev_uptime <= span and uptime <= span)


def counter_rate(prev: Sample, cur: Sample, bits: int, ceiling: float | None = None) -> tuple[float | None, str]:
    """Per-second rate between two samples, or (None, why) when it cannot be trusted.

    `ceiling` is the highest believable rate in the counter's own unit per second
    (e.g. bytes/s from ifHighSpeed); None means no ceiling is known.
    """
    elapsed = cur.at - prev.at
    if elapsed <= 0:
        return None, "clock"
    if rebooted(prev.uptime, cur.uptime, elapsed):
        return None, "reboot"
    delta = cur.value - prev.value
    if delta >= 0:
        return delta / elapsed, ""
    if bits != 32:
        return None, "reset"
    rate = (delta + WRAP32) / elapsed
    if ceiling is not None and ceiling > 0 and rate > ceiling * CEILING_SLACK:
        return None, "absurd"
    return rate, ""
