"""`opsmon history import FILE.jsonl`: past state intervals and incidents, all or nothing.

One JSON object a line:
  {"type":"state","asset":"srv-1","state":"down","start":"2026-07-01T08:00:00+08:00","end":"...","reason":"..."}
  {"type":"incident","id":"INC-1","asset":"srv-1","opened":"...","acknowledged":"...","resolved":"...","kind":"hardware"}
  {"type":"joined","asset":"srv-1","at":"..."}   when it joined the estate: its life (and figures) start there
  {"type":"left","asset":"srv-1","at":"..."}     when it left: removed as of then (`opsmon assets remove --at`)

The whole file is checked first: assets must exist; timestamps need a UTC offset;
end after start; no two intervals of one asset overlap, in the file or against
what is stored. Any bad line and nothing is imported; the error names every bad line, one a line
(each pair of overlapping lines, each stored interval a line overlaps).
Re-importing the same file changes nothing (identical rows are recognised).
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from opsmon.collector.config.inventory import mark_removed
from opsmon.collector.core.errors import ConfigError, ConfigProblems, InvalidInput
from opsmon.collector.core.fields import FROZEN, AwareDatetime, ObjectId, parse_timestamp
from opsmon.collector.core.incidents import ImportedKind
from opsmon.collector.core.states import STATES
from opsmon.collector.store import Store
from opsmon.collector.store.audit import record
from opsmon.collector.store.models import Asset, Incident, StateInterval
from opsmon.collector.store.types import from_ms, to_ms


class StateLine(BaseModel):
    model_config = FROZEN
    type: Literal["state"]
    asset: ObjectId
    state: Literal["up", "down", "degraded", "unreachable", "unknown", "maintenance"]
    start: AwareDatetime
    end: AwareDatetime
    reason: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _order(self) -> StateLine:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class IncidentLine(BaseModel):
    model_config = FROZEN
    type: Literal["incident"]
    id: ObjectId
    asset: ObjectId
    kind: ImportedKind
    opened: AwareDatetime
    acknowledged: AwareDatetime | None = None
    acknowledged_by: str | None = Field(None, max_length=128)
    resolved: AwareDatetime | None = None
    severity: str | None = Field(None, max_length=16)
    note: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _order(self) -> IncidentLine:
        if self.acknowledged is not None and self.acknowledged < self.opened:
            raise ValueError("acknowledged is before opened")
        if self.resolved is not None and self.resolved < self.opened:
            raise ValueError("resolved is before opened")
        return self


class LifeLine(BaseModel):
    """When an asset joined or left the estate, as the system opsmon replaces knows it. Intervals outside
    its life stay importable (evidence) and are clipped out of its figures (docs/sla.md)."""

    model_config = FROZEN
    type: Literal["joined", "left"]
    asset: ObjectId
    at: AwareDatetime


assert set(StateLine.model_fields["state"].annotation.__args__) == set(STATES)  # type: ignore[union-attr]


def _parse(path: str) -> tuple[list[tuple[int, StateLine]], list[tuple[int, IncidentLine]], list[str],
                               list[tuple[int, LifeLine]]]:
    lives: list[tuple[int, LifeLine]] = []
    states: list[tuple[int, StateLine]] = []
    incidents: list[tuple[int, IncidentLine]] = []
    errors: list[str] = []
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror}") from None
    with handle:
        for n, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                errors.append(f"line {n}: not JSON ({exc.msg})")
                continue
            kind = data.get("type") if isinstance(data, dict) else None
            model = {"state": StateLine, "incident": IncidentLine, "joined": LifeLine,
                     "left": LifeLine}.get(kind)  # type: ignore[arg-type]
            if model is None:
                errors.append(f"line {n}: type must be \"state\", \"incident\", \"joined\" or \"left\"")
                continue
            try:
                for key in ("start", "end", "opened", "acknowledged", "resolved", "at"):
                    if isinstance(data.get(key), str):
                        try:
                            data[key] = _ms(parse_timestamp(data[key]))
                        except ValueError:
                            pass  # the model reports it with the key's name
                item = model.model_validate(data)
            except ValidationError as exc:
                for e in exc.errors():  # every problem of the line
                    where = "".join(f"{p}: " for p in e["loc"])
                    msg = e["msg"].removeprefix("Value error, ")
                    errors.append(f"line {n}: {where}{'unknown key' if e['type'] == 'extra_forbidden' else msg}")
                continue
            if kind in ("joined", "left"):
                lives.append((n, item))  # type: ignore[arg-type]
                continue
            (states if kind == "state" else incidents).append((n, item))  # type: ignore[arg-type]
    return states, incidents, errors, lives


def _ms(value: datetime) -> datetime:
    """The store keeps milliseconds; compare imports at that precision so re-imports match."""
    return from_ms(to_ms(value))


def _key(s: StateLine) -> tuple[str, str, datetime, datetime]:
    return (s.asset, s.state, s.start, s.end)


def import_history(store: Store, path: str, actor: str) -> dict[str, dict[str, int]]:
    """Validate the whole file, then write it in one transaction. ConfigError lists the bad lines."""
    states, incidents, errors, lives = _parse(path)
    with store.session.begin() as session:
        known = set(session.scalars(select(Asset.id)))
        for n, item in [*states, *incidents, *lives]:
            if item.asset not in known:
                errors.append(f"line {n}: asset {item.asset!r} does not exist (import the inventory first)")
        now = datetime.now(UTC)
        for n, item in states:
            if item.end > now:
                errors.append(f"line {n}: ends in the future ({item.end.isoformat()}); history is the past")
        for n, item in incidents:
            if item.opened > now:
                errors.append(f"line {n}: opened in the future ({item.opened.isoformat()})")
        # Overlaps inside the file, per asset, in time order (exact repeats are overlaps too).
        by_asset: dict[str, list[tuple[int, StateLine]]] = defaultdict(list)
        for n, s in states:
            by_asset[s.asset].append((n, s))
        new_states: list[StateLine] = []
        unchanged = 0
        for asset, rows in by_asset.items():
            rows.sort(key=lambda r: (r[1].start, r[0]))
            # Every pair, not only neighbours in time order: a long line overlaps all the short ones it spans.
            running: list[tuple[int, StateLine]] = []  # earlier in time and not ended before this one starts
            for n2, b in rows:
                running = [(n1, a) for n1, a in running if a.end > b.start]
                errors += [f"line {n2}: overlaps line {n1} for asset {asset!r}" for n1, _a in running]
                running.append((n2, b))
            lo = min(s.start for _, s in rows)
            hi = max(s.end for _, s in rows)
            stored = session.scalars(select(StateInterval).where(
                StateInterval.asset_id == asset, StateInterval.start_ts < hi,
                or_(StateInterval.end_ts.is_(None), StateInterval.end_ts > lo))).all()
            existing = {(r.asset_id, r.state, r.start_ts, r.end_ts) for r in stored}
            for n, s in rows:
                if _key(s) in existing:
                    unchanged += 1
                    continue
                clashes = [r for r in stored if r.start_ts < s.end and (r.end_ts is None or r.end_ts > s.start)]
                for clash in clashes:
                    end = clash.end_ts.isoformat() if clash.end_ts else "now (open)"
                    errors.append(f"line {n}: overlaps the stored {clash.state} interval "
                                  f"{clash.start_ts.isoformat()} - {end} of asset {asset!r}")
                if clashes:
                    continue
                new_states.append(s)
        ids: dict[str, int] = {}
        new_incidents: list[IncidentLine] = []
        inc_unchanged = 0
        for n, inc in incidents:
            if inc.id in ids:
                errors.append(f"line {n}: incident id {inc.id!r} repeats line {ids[inc.id]}")
                continue
            ids[inc.id] = n
            row = session.get(Incident, inc.id)
            if row is None:
                new_incidents.append(inc)
            elif _same(row, inc):
                inc_unchanged += 1
            else:
                errors.append(f"line {n}: incident {inc.id!r} is stored with different data")
        firsts: dict[str, datetime] = {}
        for _, s in states:
            firsts[s.asset] = min(firsts.get(s.asset, s.start), s.start)
        life_changes = _lives(session, [(n, x) for n, x in lives if x.asset in known], now, errors, firsts)
        if errors:  # every one, a line each: the old system's export is fixed in one pass
            if len(errors) == 1:
                raise ConfigError(path, "", f"nothing imported: {errors[0]}")
            raise ConfigProblems(f"{path}: nothing imported, {len(errors)} problems",
                                 [ConfigError(path, "", e) for e in errors])
        for s in new_states:
            session.add(StateInterval(asset_id=s.asset, state=s.state, start_ts=s.start, end_ts=s.end,
                                      reason=s.reason or "imported"))
        for inc in new_incidents:
            session.add(Incident(id=inc.id, asset_id=inc.asset, kind=inc.kind, severity=inc.severity,
                                 opened_ts=inc.opened, acknowledged_ts=inc.acknowledged,
                                 acknowledged_by=inc.acknowledged_by, resolved_ts=inc.resolved, source="import",
                                 note=inc.note))
        # Clipped, not refused (docs/sla.md): kept as evidence, counted only inside the life. Say how many.
        rows = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_({s.asset for s in new_states})))}
        outside = sum(1 for s in new_states
                      if (rows[s.asset].joined_at is not None and s.start < rows[s.asset].joined_at)
                      or (rows[s.asset].removed_at is not None and s.end > rows[s.asset].removed_at))
        result = {"states": {"imported": len(new_states), "unchanged": unchanged, "outside_life": outside},
                  "incidents": {"imported": len(new_incidents), "unchanged": inc_unchanged},
                  "lives": {"imported": life_changes, "unchanged": len(lives) - life_changes}}
        if new_states or new_incidents or life_changes:
            record(session, actor, "history.import", path[-256:], result)
    return result


def _lives(session: Session, lines: list[tuple[int, LifeLine]], now: datetime, errors: list[str],
           firsts: dict[str, datetime]) -> int:
    """Apply `joined` and `left` lines to the assets' rows (the caller rolls back on any error); how many
    changed something. One of each per asset; a `left` is a back-dated removal by opsmon's own rule."""
    seen: dict[tuple[str, str], int] = {}
    changed = 0
    for n, line in sorted(lines, key=lambda x: (x[1].type != "joined", x[0])):  # joined first: left checks it
        if (line.asset, line.type) in seen:
            errors.append(f"line {n}: a second {line.type!r} line for asset {line.asset!r} "
                          f"(line {seen[(line.asset, line.type)]})")
            continue
        seen[(line.asset, line.type)] = n
        if line.at > now:
            errors.append(f"line {n}: {line.type} in the future ({line.at.isoformat()}); history is the past")
            continue
        row = session.get(Asset, line.asset)
        assert row is not None  # unknown assets were reported by the caller
        if line.type == "joined":
            if row.removed_at is not None and line.at >= row.removed_at:
                errors.append(f"line {n}: joined {line.at.isoformat()} is not before asset {line.asset!r} "
                              f"left ({row.removed_at.isoformat()})")
            elif row.joined_at != line.at:
                row.joined_at, row.updated_at = line.at, now
                changed += 1
            continue
        if row.removed_at == line.at:
            continue  # the same file again
        if row.removed_at is not None:
            errors.append(f"line {n}: asset {line.asset!r} already left at {row.removed_at.isoformat()}")
            continue
        try:
            mark_removed(session, row, line.at, now, firsts.get(line.asset))
        except InvalidInput as exc:
            errors.append(f"line {n}: {exc}")
            continue
        changed += 1
    return changed


def _same(row: Incident, inc: IncidentLine) -> bool:
    mine: dict[str, Any] = {"asset_id": inc.asset, "kind": inc.kind, "opened_ts": inc.opened,
                            "acknowledged_ts": inc.acknowledged, "resolved_ts": inc.resolved}
    return all(getattr(row, k) == v for k, v in mine.items())
