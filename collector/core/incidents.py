"""The vocabulary of incidents: their kinds and severities, spelled here once.

The incident engine opens, the on-call routes match, notifications translate (notify/texts.py,
keyed by these tuples), the report labels and the dashboards list exactly these words.
"""
from __future__ import annotations

from typing import Literal, get_args

Kind = Literal["availability", "hardware", "alert", "security"]
"""What opsmon opens an incident for: an asset down (availability), a hardware fault, a Prometheus
alert, a security finding."""
KINDS: tuple[Kind, ...] = get_args(Kind)
AVAILABILITY, HARDWARE, ALERT, SECURITY = KINDS

ImportedKind = Literal[Kind, "connectivity", "other"]
"""What `opsmon history import` also accepts: kinds the tool before opsmon recorded."""
IMPORTED_KINDS: tuple[str, ...] = get_args(ImportedKind)
CONNECTIVITY, OTHER = IMPORTED_KINDS[len(KINDS):]

Status = Literal["open", "acknowledged", "resolved", "closed", "merged", "withdrawn"]
"""An incident's life: open and acknowledged are active; resolved until the quiet time passes, then closed;
merged into a parent's, or withdrawn as a false alarm."""
STATUSES: tuple[Status, ...] = get_args(Status)

NOT_FAULTS = ("merged", "withdrawn")
"""Statuses of incidents that are not faults of their own, left out of every response figure: merged (folded
into its parent's incident) and withdrawn (its evidence was relabelled away: a replayed report proved the
asset was up all along)."""

Severity = Literal["critical", "major", "minor"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)  # most severe first
CRITICAL, MAJOR, MINOR = SEVERITIES
RANK: dict[str, int] = {s: len(SEVERITIES) - 1 - i for i, s in enumerate(SEVERITIES)}  # minor 0 .. critical 2
"""An incident's severity only rises: a new fault of a higher rank raises it, a lower one leaves it."""

CRITICAL_PATHS = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d",
                  "/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d", "/etc/pam.d", "/etc/ld.so.preload")
"""Watched paths whose change opens a security incident by default (incidents.security_critical_paths): who may
log in and as what. A path is critical when it is one of these or lies under one (inputs/security.py)."""
