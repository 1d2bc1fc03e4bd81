"""Maintenance windows: one-off or recurring (cron), scoped to assets, sites or tags.

Time inside a window is the `maintenance` state and is left out of availability.
Recurring windows are cut in the configured time zone, so "0 2 * * sun" means
02:00 local time every Sunday however the host clock's zone is set.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.fields import FROZEN, AwareDatetime, ObjectId, PositiveDuration

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger


class WindowSpec(BaseModel):
    """A declared maintenance window.

    One-off: `start` and `end`. Recurring: `cron` (5 fields, local time) and `duration`.
    """

    model_config = FROZEN
    id: ObjectId = Field(description="Unique name of the window")
    assets: tuple[str, ...] = Field((), description="Asset ids it covers")
    sites: tuple[str, ...] = Field((), description="Sites whose assets it covers")
    tags: tuple[str, ...] = Field((), description="Tags whose assets it covers")
    start: AwareDatetime | None = Field(None, description="One-off: ISO 8601 start with UTC offset")
    end: AwareDatetime | None = Field(None, description="One-off: ISO 8601 end with UTC offset")
    cron: str | None = Field(None, description="Recurring: 5-field cron in the configured time zone")
    duration: PositiveDuration | None = Field(None, description="Recurring: length of each occurrence")
    reason: str = Field("", max_length=500, description="Shown in state reasons and reports")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        fields = value.split()
        if len(fields) != 5:
            raise ValueError("cron needs 5 fields: minute hour day-of-month month day-of-week")
        if re.search(r"\d", fields[4]):
            # APScheduler numbers days from Monday=0, classic cron from Sunday=0: refuse the ambiguity.
            raise ValueError("write the day-of-week field with names (mon-fri, sun), not numbers")
        from apscheduler.triggers.cron import CronTrigger  # here, not at the top: a config without cron, and
        # every read command of the CLI, loads no scheduler (docs/operations.md, "The command line")

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"invalid cron expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _shape(self) -> WindowSpec:
        if not (self.assets or self.sites or self.tags):
            raise ValueError("a window needs a scope: at least one of assets, sites or tags")
        one_off = self.start is not None or self.end is not None
        recurring = self.cron is not None or self.duration is not None
        if one_off == recurring:
            raise ValueError("give either start and end (one-off) or cron and duration (recurring)")
        if one_off and (self.start is None or self.end is None or self.end <= self.start):
            raise ValueError("a one-off window needs start and end, with end after start")
        if recurring and (self.cron is None or self.duration is None):
            raise ValueError("a recurring window needs both cron and duration")
        return self


def check_unique_ids(windows: Iterable[WindowSpec]) -> None:
    """ValueError naming the first id two windows of one config file share (the root model's validator: the
    whole schema's, and config/basics.py's for `opsmon maintenance list`)."""
    seen: set[str] = set()
    for window in windows:
        if window.id in seen:
            raise ValueError(f"maintenance window id {window.id!r} is used twice")
        seen.add(window.id)


def parse_window(body: Any) -> WindowSpec:
    """A window from the API's JSON or the console's form; InvalidInput naming the first field at fault, so
    both refuse a window in the same words."""
    try:
        return WindowSpec.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(body)"
        raise InvalidInput(f"{where}: {err['msg']}") from None


class Scoped(Protocol):
    id: str
    site: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class UntrackedAsset:
    """An asset name with no site or tags (an alert's `asset` label): only a window naming it covers it."""

    id: str
    site: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Names:
    """What the inventory holds, for checking a window's scope: a site or a tag exists while an asset
    carries it (there is no list of sites or tags apart from the assets)."""

    assets: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    @classmethod
    def of(cls, assets: Iterable[Scoped]) -> Names:
        listed = list(assets)
        return cls(frozenset(a.id for a in listed), frozenset(a.site for a in listed if a.site),
                   frozenset(t for a in listed for t in a.tags))

    def __or__(self, other: Names) -> Names:
        return Names(self.assets | other.assets, self.sites | other.sites, self.tags | other.tags)

    def unknown(self, spec: WindowSpec) -> list[tuple[str, int, str]]:
        """(field, index, name) of every name in spec's scope that this inventory does not hold."""
        out = []
        for field, known in (("assets", self.assets), ("sites", self.sites), ("tags", self.tags)):
            out += [(field, i, name) for i, name in enumerate(getattr(spec, field)) if name not in known]
        return out


UNKNOWN = {"assets": "no asset {!r}", "sites": "no asset has site {!r}", "tags": "no asset has tag {!r}"}


def unknown_text(unknown: list[tuple[str, int, str]]) -> str:
    """'unknown asset 'x', site 'y'': the API's and CLI's refusal."""
    kinds = {"assets": "asset", "sites": "site", "tags": "tag"}
    return "unknown " + ", ".join(f"{kinds[f]} {n!r}" for f, _i, n in unknown) + \
        " (a site or tag exists while a live asset carries it)"


@dataclass(frozen=True)
class ActiveWindow:
    id: str
    start: datetime
    end: datetime
    reason: str


class Window:
    """A WindowSpec bound to the time zone its cron is read in."""

    def __init__(self, spec: WindowSpec, tz: str) -> None:
        self.spec = spec
        self.zone = ZoneInfo(tz)
        self._trigger: CronTrigger | None = None
        if spec.cron:
            from apscheduler.triggers.cron import CronTrigger  # only for a window that repeats

            self._trigger = CronTrigger.from_crontab(spec.cron, timezone=self.zone)
        self._assets = frozenset(spec.assets)
        self._sites = frozenset(spec.sites)
        self._tags = frozenset(spec.tags)

    def occurrence_at(self, t: datetime) -> ActiveWindow | None:
        """The occurrence covering instant t, if any."""
        spec = self.spec
        if self._trigger is None:
            assert spec.start is not None and spec.end is not None
            if spec.start <= t < spec.end:
                return ActiveWindow(spec.id, spec.start, spec.end, spec.reason)
            return None
        assert spec.duration is not None
        length = timedelta(seconds=spec.duration)
        first = self._trigger.get_next_fire_time(None, t - length + timedelta(microseconds=1))
        if first is not None and first <= t:
            begin = first.astimezone(UTC)
            # Overlapping occurrences of one cron (duration longer than its period) chain together.
            end = begin + length
            nxt = self._trigger.get_next_fire_time(first, first)
            while nxt is not None and nxt.astimezone(UTC) < end and nxt > first:
                end = nxt.astimezone(UTC) + length
                first = nxt
                nxt = self._trigger.get_next_fire_time(first, first)
            return ActiveWindow(spec.id, begin, end, spec.reason)
        return None

    def occurrences(self, since: datetime, until: datetime) -> list[ActiveWindow]:
        """Every occurrence overlapping [since, until), in order, cut in the window's time zone (the same cron
        reading as occurrence_at; service hours are cut by it too, opsmon.collector.sla.service_hours)."""
        spec = self.spec
        if self._trigger is None:
            assert spec.start is not None and spec.end is not None
            return [ActiveWindow(spec.id, spec.start, spec.end, spec.reason)] if (
                spec.start < until and spec.end > since) else []
        assert spec.duration is not None
        length = timedelta(seconds=spec.duration)
        out: list[ActiveWindow] = []
        fire = self._trigger.get_next_fire_time(None, since - length + timedelta(microseconds=1))
        while fire is not None and fire < until:
            begin = fire.astimezone(UTC)
            out.append(ActiveWindow(spec.id, begin, begin + length, spec.reason))
            fire = self._trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
        return out

    def covers(self, asset: Scoped) -> bool:
        return (
            asset.id in self._assets
            or (asset.site is not None and asset.site in self._sites)
            or bool(self._tags.intersection(asset.tags))
        )


class MaintenanceBook:
    """All windows in force (config plus API), asked 'what is active now, and for whom'."""

    def __init__(self, specs: Iterable[WindowSpec], tz: str) -> None:
        self.tz = tz
        self._windows: dict[str, Window] = {}
        for spec in specs:
            self.put(spec)

    def put(self, spec: WindowSpec) -> None:
        self._windows[spec.id] = Window(spec, self.tz)

    def remove(self, window_id: str) -> bool:
        return self._windows.pop(window_id, None) is not None

    def specs(self) -> list[WindowSpec]:
        return [w.spec for w in self._windows.values()]

    def active(self, t: datetime) -> list[tuple[Window, ActiveWindow]]:
        out = []
        for window in self._windows.values():
            occ = window.occurrence_at(t)
            if occ is not None:
                out.append((window, occ))
        return out

    def covering(self, asset: Scoped, t: datetime) -> ActiveWindow | None:
        """The windows covering asset at instant t, merged (the incident engine asks this of every fault)."""
        return self.for_asset(self.active(t), asset)

    @staticmethod
    def for_asset(active: list[tuple[Window, ActiveWindow]], asset: Scoped) -> ActiveWindow | None:
        """Merge the active occurrences covering asset: earliest start, latest end."""
        hits = [occ for window, occ in active if window.covers(asset)]
        if not hits:
            return None
        return ActiveWindow(
            ",".join(sorted(o.id for o in hits)),
            min(o.start for o in hits),
            max(o.end for o in hits),
            "; ".join(o.reason for o in hits if o.reason),
        )
