"""The inventory: what opsmon watches, and how assets depend on each other.

Import is idempotent: the file is validated as a whole (ids, categories,
parents, cycles) before anything is written, then every asset in it is created
or updated in one transaction. Removing is explicit and soft: the row stays, so
its history stays reportable.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from opsmon.collector.config.checks import CheckSpec
from opsmon.collector.config.yamlfile import YamlDoc, read_yaml, validation_to_config_error
from opsmon.collector.core.errors import ConfigError, InvalidInput, NotFound, Problems, valid_ids
from opsmon.collector.core.fields import FROZEN, ObjectId
from opsmon.collector.core.states import Category, Criticality
from opsmon.collector.store.assets import (  # noqa: F401 (re-exported)
    AssetRow,
    asset_names,
    asset_sites,
    count_assets,
    list_assets,
)
from opsmon.collector.store.audit import record
from opsmon.collector.store.history import life_start

if TYPE_CHECKING:  # the changes write through the ORM, imported when called: `opsmon assets list --format json`
    # reads on the plain driver and shows asset_document() without SQLAlchemy (issue 25 item 2)
    from sqlalchemy.orm import Session

    from opsmon.collector.store import Store
    from opsmon.collector.store.models import Asset


class AssetSpec(BaseModel):
    """One asset as written in an inventory file or sent to the API."""

    model_config = FROZEN
    id: ObjectId = Field(description="Unique id (letters, digits, `_.:-`); states, incidents and reports name it")
    name: str | None = Field(None, max_length=256, description="Name a person reads (e.g. 核心交换机); default: the id")
    category: Category = Field(description="What the SLA targets count it as (their `scope.categories`)")
    site: str | None = Field(None, max_length=128, description="Where it is; targets and windows may select by site")
    address: str | None = Field(None, max_length=256, description="Host name or IP the checks probe by default")
    tags: tuple[str, ...] = Field((), description="Free labels; targets and maintenance windows may select by tag")
    criticality: Criticality = Field("medium", description="Orders incidents and notifications")
    parent: str | None = Field(None, description="Id of the asset it is reached through: while the parent is down, "
                                                 "this one is unreachable, not down")
    checks: tuple[CheckSpec, ...] = Field((), description="How it is watched: see the check types below")

    @model_validator(mode="after")
    def _consistent(self) -> AssetSpec:
        if self.parent == self.id:
            raise ValueError("an asset cannot be its own parent")
        seen: set[str] = set()
        for check in self.checks:
            if check.check_id in seen:
                raise ValueError(f"two checks share the id {check.check_id!r}; give one an explicit id")
            seen.add(check.check_id)
            if check.type == "hj212" and self.category != "dau":
                raise ValueError(f"check {check.check_id!r} is an HJ 212 unit's: give the asset category dau")
            if check.type == "snmp" and not self.address:
                raise ValueError(f"check {check.check_id!r} polls the asset's address: give the asset an address")
            if getattr(check, "from_site", False):
                if self.category != "link" or not self.site:
                    raise ValueError(f"check {check.check_id!r} runs at a link's far end (from_site): give the asset "
                                     "category link and its site")
                continue  # its host defaults to the collector's, as the site's poller reaches it
            if getattr(check, "host", "n/a") is None and not self.address:
                raise ValueError(f"check {check.check_id!r} needs a host, or the asset an address")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.id

    def row_fields(self) -> dict[str, Any]:
        return {
            "name": self.display_name,
            "category": self.category,
            "site": self.site,
            "address": self.address,
            "tags": list(self.tags),
            "criticality": self.criticality,
            "parent_id": self.parent,
            "checks": [c.model_dump(mode="json", exclude_none=True) for c in self.checks],
        }

    @classmethod
    def from_row(cls, row: Asset | AssetRow) -> AssetSpec:
        return cls.model_validate(
            {
                "id": row.id,
                "name": row.name,
                "category": row.category,
                "site": row.site,
                "address": row.address,
                "tags": row.tags or [],
                "criticality": row.criticality,
                "parent": row.parent_id,
                "checks": row.checks or [],
            }
        )


class InventoryFile(BaseModel):
    model_config = FROZEN
    assets: tuple[AssetSpec, ...]


def parse_inventory(path: str) -> list[AssetSpec]:
    """Read and validate an inventory file; ConfigError names file, line, key and reason."""
    return parse_inventory_doc(read_yaml(path))


def parse_inventory_doc(doc: YamlDoc) -> list[AssetSpec]:
    """Validate a whole inventory (file or API body): every asset, unique ids, parents, no loops. Every problem
    is reported (ConfigProblems when there are several), each naming its line and key."""
    found = Problems()
    specs = check_inventory_doc(doc, found)
    found.raise_any()
    return [spec for _i, spec in specs]


def check_inventory_doc(doc: YamlDoc, found: Problems) -> list[tuple[int, AssetSpec]]:
    """The assets of an inventory document that are valid, by index; every problem goes into `found`.

    When some assets are invalid, the others are still returned (`opsmon check-config` checks their references
    in the same pass) and checked for repeated ids; parents are checked only in a file whose assets are all
    valid (a parent among the invalid ones would read as unknown)."""
    if not isinstance(doc.data, dict):
        found.add(ConfigError(doc.file, "", "expected a mapping with an 'assets:' list"))
        return []
    try:
        inv: InventoryFile = doc.validate(InventoryFile)
        specs = list(enumerate(inv.assets))
        whole = True
    except ConfigError as exc:
        found.add(exc)
        items = doc.data.get("assets")
        specs = [(i, spec) for i, item in enumerate(items if isinstance(items, list) else [])
                 if (spec := _valid_or_none(item)) is not None]
        whole = False
    seen: dict[str, int] = {}
    for i, asset in specs:
        if asset.id in seen:
            found.add(ConfigError(doc.where(("assets", i, "id")), f"assets[{i}].id",
                                  f"duplicate id {asset.id!r} (first at assets[{seen[asset.id]}])"))
            continue
        seen[asset.id] = i
    if whole:
        _check_mns(inv.assets, doc, found)
        _check_graph(inv.assets, {}, doc, found)
    return specs


def _valid_or_none(item: Any) -> AssetSpec | None:
    try:
        return AssetSpec.model_validate(item)
    except ValidationError:
        return None  # its problems are reported from the whole file's validation


def _check_mns(assets: Iterable[AssetSpec], doc: YamlDoc, found: Problems) -> None:
    """An HJ 212 MN names one point of one DAU: the receiver finds the unit by it."""
    owner: dict[str, str] = {}
    for i, asset in enumerate(assets):
        for j, check in enumerate(asset.checks):
            if check.type != "hj212":
                continue
            for mn in check.point_mns():
                if mn in owner:
                    found.add(ConfigError(doc.where(("assets", i, "checks", j)), f"assets[{i}].checks[{j}].mn",
                                          f"MN {mn!r} is already used by asset {owner[mn]!r}"))
                owner.setdefault(mn, asset.id)


def _check_graph(new: Iterable[AssetSpec], existing_parents: dict[str, str | None], doc: YamlDoc | None,
                 found: Problems | None = None) -> None:
    """Every parent exists (in the batch or the store) and no chain of parents loops. With a file (doc), every
    problem goes into `found`; without (the API, the CLI), the first is raised as InvalidInput."""
    parents = dict(existing_parents)
    batch = list(new)
    for asset in batch:
        parents[asset.id] = asset.parent

    def problem(i: int, msg: str) -> None:
        if doc is None or found is None:
            raise InvalidInput(msg)
        found.add(ConfigError(doc.where(("assets", i, "parent")), f"assets[{i}].parent", msg))

    for i, asset in enumerate(batch):
        if asset.parent is not None and asset.parent not in parents:
            problem(i, f"parent {asset.parent!r} is not a known asset")
            continue
        node, path = asset.id, [asset.id]
        while parents.get(node) is not None:
            node = parents[node]  # type: ignore[assignment]
            if node in path:
                problem(i, "parent chain loops: " + " -> ".join(path + [node]))
                break
            path.append(node)


def _live_parents(session: Session) -> dict[str, str | None]:
    from sqlalchemy import select

    from opsmon.collector.store.models import Asset

    rows = session.execute(select(Asset.id, Asset.parent_id).where(Asset.removed_at.is_(None)))
    return {r.id: r.parent_id for r in rows}


def upsert_assets(store: Store, specs: list[AssetSpec], actor: str,
                  now: datetime | None = None, restore: bool = True) -> dict[str, list[str]]:
    """Create or update specs in one transaction; returns ids by outcome. Audited.

    restore=False leaves removed assets removed (reported as "kept_removed"): the files
    re-imported at every start must not undo an operator's explicit removal.
    """
    from sqlalchemy import select

    from opsmon.collector.store.models import Asset, AssetAbsence

    now = now or datetime.now(UTC)
    result: dict[str, list[str]] = {"created": [], "updated": [], "restored": [], "unchanged": []}
    if not restore:
        result["kept_removed"] = []
    absences: dict[str, list[str]] = {}
    with store.session.begin() as session:
        _check_graph(specs, _live_parents(session), None)
        rows = {r.id: r for r in session.scalars(select(Asset).where(Asset.id.in_([s.id for s in specs])))}
        for spec in specs:
            fields = spec.row_fields()
            row = rows.get(spec.id)
            if row is None:
                session.add(Asset(id=spec.id, created_at=now, updated_at=now, removed_at=None, **fields))
                result["created"].append(spec.id)
                continue
            changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
            if row.removed_at is not None and not restore:
                result["kept_removed"].append(spec.id)
                continue
            if row.removed_at is not None:
                # The removed span stays on record (and outside the asset's life): restoring is not undoing.
                session.add(AssetAbsence(asset_id=row.id, start_ts=row.removed_at, end_ts=max(now, row.removed_at)))
                absences[row.id] = [row.removed_at.isoformat(), now.isoformat()]
                row.removed_at = None
                result["restored"].append(spec.id)
            elif changed:
                result["updated"].append(spec.id)
            else:
                result["unchanged"].append(spec.id)
                continue
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = now
        if any(result[k] for k in ("created", "updated", "restored")):
            detail: dict[str, Any] = {k: v for k, v in result.items() if k not in ("unchanged", "kept_removed") and v}
            if absences:
                detail["removed_spans"] = absences
            record(session, actor, "assets.upsert", ",".join(s.id for s in specs)[:256], detail, now)
    return result


def import_file(store: Store, path: str, actor: str, restore: bool = True) -> dict[str, list[str]]:
    return upsert_assets(store, parse_inventory(path), actor, restore=restore)


def remove_asset(store: Store, asset_id: str, actor: str, now: datetime | None = None,
                 at: datetime | None = None) -> None:
    """Mark removed at `at` (default now; earlier when it left before anyone told opsmon). History kept:
    intervals after `at` stay stored but outside the asset's life, so outside its figures. Refused
    while live assets name it as their parent, and for an `at` in the future, not after its life began,
    or before a restore on record."""
    from sqlalchemy import select

    from opsmon.collector.store.models import Asset

    now = now or datetime.now(UTC)
    with store.session.begin() as session:
        row = session.get(Asset, asset_id)
        if row is None or row.removed_at is not None:
            live = session.scalars(select(Asset.id).where(Asset.removed_at.is_(None)))
            raise NotFound(f"no asset {asset_id!r}" + valid_ids(asset_id, live))
        mark_removed(session, row, at or now, now)
        record(session, actor, "assets.remove", asset_id, {"at": (at or now).isoformat()} if at else {}, now)


def mark_removed(session: Session, row: Asset, at: datetime, now: datetime, earliest: datetime | None = None) -> None:
    """Set `row` removed at `at`; InvalidInput (with the reason) when it cannot have left then.
    `earliest`: the first of its intervals not stored yet (an import's), which its life may start at."""
    from sqlalchemy import func, select

    from opsmon.collector.store.models import Asset, AssetAbsence, StateInterval

    children = session.scalars(
        select(Asset.id).where(Asset.parent_id == row.id, Asset.removed_at.is_(None))
    ).all()
    if children:
        raise InvalidInput(f"{row.id!r} is the parent of {', '.join(sorted(children))}; "
                           "change or remove those first")
    if at > now:
        raise InvalidInput(f"removal time {at.isoformat()} is in the future")
    last_back = session.scalar(select(func.max(AssetAbsence.end_ts)).where(AssetAbsence.asset_id == row.id))
    first = session.scalar(select(func.min(StateInterval.start_ts)).where(StateInterval.asset_id == row.id))
    if earliest is not None:  # intervals being imported with the removal
        first = earliest if first is None else min(first, earliest)
    began = life_start(row.created_at, row.joined_at, first)
    if at <= began:
        raise InvalidInput(f"removal time {at.isoformat()} is not after {row.id!r} began "
                           f"({began.isoformat()}): it would never have existed")
    if last_back is not None and at < last_back:
        raise InvalidInput(f"removal time {at.isoformat()} is before {row.id!r} was restored "
                           f"({last_back.isoformat()})")
    row.removed_at = at
    row.updated_at = now


def asset_document(row: Asset | AssetRow) -> dict[str, Any]:
    """A stored asset as JSON (`opsmon assets list --format json`, the API): its spec, when it was
    removed, and when it joined if the system opsmon replaces said so (its figures start there)."""
    doc = AssetSpec.from_row(row).model_dump(mode="json", exclude_none=True)
    doc["removed_at"] = row.removed_at.isoformat() if row.removed_at else None
    if row.joined_at is not None:
        doc["joined_at"] = row.joined_at.isoformat()
    return doc


def validate_asset(data: Any) -> AssetSpec:
    """For the API: a 4xx-ready InvalidInput instead of a pydantic traceback."""
    try:
        return AssetSpec.model_validate(data)
    except ValidationError as exc:
        err = validation_to_config_error(exc, YamlDoc("request body", data, {}))
        raise InvalidInput(err.keyed()) from None
