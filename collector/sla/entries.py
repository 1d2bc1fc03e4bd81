"""Figures entered by hand, each audited: values for a period, and dated deliveries."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.sla.periods import Period
from opsmon.collector.store import Store
from opsmon.collector.store.audit import record
from opsmon.collector.store.models import TargetValue


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise InvalidInput("the value must be a finite number")
    return value


# What a value of each unit may be, and how to write it: 92.5 for a ratio target was stored as 9,250 %.
RANGES: dict[str, tuple[float, float | None, str]] = {
    "ratio": (0.0, 1.0, "比率取 0..1，92.5 % 请写 0.925 / a ratio is 0..1: write 0.925 for 92.5 %"),
    "seconds": (0.0, None, "秒数不能为负 / seconds are 0 or more"),
    "count": (0.0, None, "次数不能为负 / a count is 0 or more"),
}


def value_in_range(target_id: str, unit: str, value: float) -> float:
    """`value` if a target of `unit` can have it; else InvalidInput naming the range and the unit."""
    _finite(value)
    low, high, how = RANGES.get(unit, (-math.inf, None, ""))
    if value < low or (high is not None and value > high):
        span = f"{low:g}..{high:g}" if high is not None else f"{low:g} or more"
        raise InvalidInput(f"{value:g} 超出目标 {target_id} 的取值范围 {span}（单位 {unit}）/ {value:g} is outside "
                           f"{target_id}'s range {span} (unit: {unit}); {how}")
    return value


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a value entered by hand was read from: a file (its path and SHA-256 when entered) or a URL.

    The hash is what makes a file evidence: an auditor checks the archived file against it
    (`sha256sum`), so a file changed after the value was entered is seen to be another file.
    """

    ref: str
    sha256: str | None = None  # None for a URL


def evidence_of(text: str) -> Evidence:
    """A URL (http, https) as given; otherwise a readable file, by its absolute path, hashed now."""
    text = text.strip()
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        if not parts.netloc:
            raise InvalidInput(f"evidence {text!r}: a URL needs a host")
        return Evidence(text)
    if parts.scheme and len(parts.scheme) > 1:
        raise InvalidInput(f"evidence {text!r}: give a file path or an http(s) URL")
    path = Path(text).expanduser().absolute()
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InvalidInput(f"evidence {text!r}: cannot read the file ({exc.strerror or exc})") from None
    return Evidence(str(path), digest.hexdigest())


def set_value(store: Store, target_id: str, period: Period, value: float, note: str, actor: str,
              evidence: Evidence | None = None) -> None:
    """A later entry for the same period wins; earlier ones stay for the record.

    `actor` is who entered it (the CLI user, or the API token's name), `evidence` what it was read
    from; both are stored with the value, shown beside it in the report, and audited.
    """
    now = datetime.now(UTC)
    ref, digest = (evidence.ref, evidence.sha256) if evidence is not None else (None, None)
    with store.session.begin() as session:
        session.add(TargetValue(target_id=target_id, kind="value", period_start=period.start, period_end=period.end,
                                ts=None, value=_finite(value), note=note, entered_by=actor, entered_at=now,
                                evidence=ref, evidence_sha256=digest))
        record(session, actor, "sla.set_value", target_id, {"period": period.label, "value": value, "note": note,
                                                            "evidence": ref, "evidence_sha256": digest}, now)


def record_event(store: Store, target_id: str, at: datetime, count: float, note: str, actor: str,
                 once: bool = False) -> bool:
    """A dated delivery toward a count target, audited. `once`: not if an event of the target with the same
    note is there already (a scheduled delivery's key); returns whether it was recorded."""
    if _finite(count) <= 0:
        raise InvalidInput("--count must be positive")
    now = datetime.now(UTC)
    with store.session.begin() as session:
        if once and session.scalar(select(TargetValue.id).where(
                TargetValue.target_id == target_id, TargetValue.kind == "event", TargetValue.note == note).limit(1)):
            return False
        session.add(TargetValue(target_id=target_id, kind="event", period_start=None, period_end=None, ts=at,
                                value=count, note=note, entered_by=actor, entered_at=now))
        record(session, actor, "sla.record", target_id, {"at": at.isoformat(), "count": count, "note": note}, now)
    return True
