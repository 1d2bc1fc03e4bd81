"""HJ 212 exemptions (停产, 停排, 设备停运, reported maintenance): added, removed and listed, each change audited.

An exemption takes its hours out of 应传 (docs/hj212.md, "Rates") only if it was entered by those hours'
correction deadline, so one entered late is kept (the record of what was asked) but changes nothing: the
rate engine decides that, here only the record is kept. A removal stamps the row; nothing is deleted.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, NamedTuple

from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.store.dbapi import Readable, row_values

if TYPE_CHECKING:  # imported where an exemption is written: dau_points() and list_exemptions() need neither
    from opsmon.collector.store.db import Store
    from opsmon.collector.store.models import Hj212Exemption

KINDS = ("stopped", "no_discharge", "equipment_stopped", "maintenance")
"""停产 (production stopped), 停排 (no discharge), 设备停运 (equipment stopped), 维护 (reported maintenance)."""


def dau_points(asset: Any) -> tuple[str, dict[str, set[str]]]:
    """(enterprise, point -> assessed factors), from the asset's hj212 check as stored with the inventory: the
    one reading of it, for exemptions here and for the rates (sla/hj212_read.py). No hj212 check: ("", {})."""
    for check in asset.checks or ():
        if check.get("type") == "hj212":
            points = check.get("points") or {}
            return (str(check.get("enterprise") or asset.name),
                    {pid: set((p or {}).get("factors") or {}) for pid, p in points.items()})
    return "", {}


def dau_mn(asset: Any) -> str:
    """The MN of the asset's hj212 check as stored with the inventory (what /metrics labels its series with)."""
    return next((str(c.get("mn") or "") for c in asset.checks or () if c.get("type") == "hj212"), "")


def add_exemption(store: Store, *, asset_id: str, point: str | None, factor: str | None, start: datetime,
                  end: datetime, kind: str, reason: str, proof: str, actor: str, now: datetime) -> int:
    """Record an exemption; refused (InvalidInput) naming what is wrong."""
    problems = []
    if end <= start:
        problems.append("end must be after start")
    if kind not in KINDS:
        problems.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not reason.strip():
        problems.append("a reason is required")
    if not proof.strip():
        problems.append("proof is required (the filed document's number, file or URL): without it the "
                        "assessment restores the original flags")
    if factor is not None and point is None:
        problems.append("a factor needs its point")
    if any("\x00" in text for text in (asset_id, point or "", factor or "", reason, proof)):
        # refused before any look-up: PostgreSQL cannot even compare a text holding one
        raise InvalidInput("no text may hold a NUL character (PostgreSQL cannot store one)")
    from opsmon.collector.store import audit
    from opsmon.collector.store.models import Asset, Hj212Exemption

    with store.session.begin() as session:
        asset = session.get(Asset, asset_id)
        if asset is None or asset.removed_at is not None or asset.category != "dau":
            problems.append(f"no DAU {asset_id!r} (an asset of category dau)")
        else:
            _, points = dau_points(asset)
            if point is not None and point not in points:
                problems.append(f"DAU {asset_id!r} has no point {point!r} (points: {', '.join(sorted(points)) or '-'})")
            elif point is not None and factor is not None and factor not in points[point]:
                problems.append(f"point {point!r} assesses no factor {factor!r} "
                                f"(factors: {', '.join(sorted(points[point])) or '-'})")
        if problems:
            raise InvalidInput("; ".join(problems))
        row = Hj212Exemption(asset_id=asset_id, point=point, factor=factor, start_ts=start, end_ts=end, kind=kind,
                             reason=reason.strip(), proof=proof.strip(), entered_by=actor, entered_at=now)
        session.add(row)
        session.flush()
        audit.record(session, actor, "hj212.exemption.add", str(row.id), exemption_document(row), now)
        return row.id


def remove_exemption(store: Store, exemption_id: int, actor: str, now: datetime) -> None:
    from opsmon.collector.store import audit
    from opsmon.collector.store.models import Hj212Exemption

    with store.session.begin() as session:
        row = session.get(Hj212Exemption, exemption_id)
        if row is None or row.removed_at is not None:
            raise NotFound(f"no exemption {exemption_id}")
        row.removed_at, row.removed_by = now, actor
        audit.record(session, actor, "hj212.exemption.remove", str(exemption_id), {}, now)


class StoredExemption(NamedTuple):
    """An exemption as list_exemptions() reads it: the columns of the mapped class Hj212Exemption, by its names
    (ExemptionRow.of takes either)."""

    id: int
    asset_id: str
    point: str | None
    factor: str | None
    start_ts: datetime
    end_ts: datetime
    kind: str
    reason: str
    proof: str
    entered_by: str
    entered_at: datetime
    removed_by: str | None
    removed_at: datetime | None


# Oldest first (by start, then as entered); removed ones only when asked for.
EXEMPTIONS = f"SELECT {', '.join(StoredExemption._fields)} FROM hj212_exemptions{{where}} ORDER BY start_ts, id"
_TIMES = ("start_ts", "end_ts", "entered_at", "removed_at")


def list_exemptions(store: Readable, include_removed: bool = False) -> list[StoredExemption]:
    """Plain SQL on store/dbapi.py's Reader: the API, the HJ 212 report and `opsmon hj212 exempt list` (which reads
    without SQLAlchemy, issue 25 item 2) run this one query."""
    sql = EXEMPTIONS.format(where="" if include_removed else " WHERE removed_at IS NULL")
    with store.reader() as r:
        return [StoredExemption(**row_values(StoredExemption._fields, row, times=_TIMES)) for row in r.rows(sql)]


@dataclass(frozen=True)
class ExemptionRow:
    """One exemption as every reader hands it on: the API's answer (its response model), `opsmon hj212 exempt
    list --format json`, the audit entry and the HJ 212 report's exemptions table. One type, so a field added to
    the table is added for all of them at once. Times are ISO 8601 with the offset of the zone asked for."""

    id: int
    asset: str
    point: str | None  # None: every point of the DAU
    factor: str | None  # None: every factor of the point
    start: str
    end: str
    kind: str  # one of KINDS
    reason: str
    proof: str
    entered_by: str
    entered_at: str
    removed_by: str | None
    removed_at: str | None

    @classmethod
    def of(cls, row: Hj212Exemption | StoredExemption, zone: tzinfo = UTC) -> ExemptionRow:
        """The stored row with its times written in `zone` (the same instants)."""
        return cls(row.id, row.asset_id, row.point, row.factor, row.start_ts.astimezone(zone).isoformat(),
                   row.end_ts.astimezone(zone).isoformat(), row.kind, row.reason, row.proof, row.entered_by,
                   row.entered_at.astimezone(zone).isoformat(), row.removed_by,
                   row.removed_at.astimezone(zone).isoformat() if row.removed_at is not None else None)


def exemption_document(row: Hj212Exemption | StoredExemption, zone: tzinfo = UTC) -> dict[str, Any]:
    """ExemptionRow.of as a JSON object (the audit entry, the CLI's JSON)."""
    return asdict(ExemptionRow.of(row, zone))
