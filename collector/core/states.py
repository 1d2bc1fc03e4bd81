"""The vocabulary of the timeline: states, and check results that lead to them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

UP = "up"
DOWN = "down"
DEGRADED = "degraded"
UNREACHABLE = "unreachable"
UNKNOWN = "unknown"
MAINTENANCE = "maintenance"

STATES = (UP, DOWN, DEGRADED, UNREACHABLE, UNKNOWN, MAINTENANCE)
GAP_REASON = "collector not running"  # the reason of the unknown time a stopped collector did not see
RESULT_STATUSES = (UP, DOWN, DEGRADED, UNKNOWN)

# dau: a pollution source's data acquisition unit (数采仪), sending HJ 212 (issue 17; inputs/hj212/).
Category = Literal["server", "computer", "peripheral", "network", "security", "link", "system", "dau"]
Criticality = Literal["low", "medium", "high", "critical"]
CATEGORIES: tuple[str, ...] = get_args(Category)
CRITICALITIES: tuple[str, ...] = get_args(Criticality)


@dataclass(frozen=True, slots=True)
class Observation:
    """One check result: what a probe saw at `ts` (when it started), and why.

    observer: who ran the probe: "" for this collector, else the name of the site poller that ran it at the
    asset's site (docs/poller.md). Kept with the result, so the evidence says who observed what, and read by
    the timeline: a fault a site poller saw beside the asset is the asset's own, never its parent's.
    """

    asset_id: str
    check_id: str
    ts: datetime
    status: str
    reason: str = ""
    latency_ms: float | None = None
    observer: str = ""
