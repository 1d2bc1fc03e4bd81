"""On-call schedules and escalation policies (oncall.yaml): who is on call when, and who hears
about an unacknowledged incident after how long, on which channels.

A schedule is a rotation (people take turns, each for `shift`, counted from `start`)
plus overrides (a person covers a stretch, e.g. a swap or a holiday); the override
that started last wins. A policy is a list of levels; a route picks the policy by
the incident's kind, severity, category or site (first match wins).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationError, model_validator

from opsmon.collector.config.yamlfile import config_errors, read_yaml
from opsmon.collector.core.errors import problems_error
from opsmon.collector.core.fields import FROZEN, Duration, PositiveDuration
from opsmon.collector.core.incidents import Kind, Severity


class Person(BaseModel):
    model_config = FROZEN
    name: str = Field(min_length=1, max_length=128, description="Shown in messages and the audit log")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$")
    mobile: str | None = Field(None, pattern=r"^\+?[0-9]{5,20}$", description="For @-mentions in WeCom/DingTalk")


class Rotation(BaseModel):
    model_config = FROZEN
    people: tuple[str, ...] = Field(min_length=1)
    shift: PositiveDuration = Field(description="How long each turn lasts, e.g. 1d or 7d")
    start: AwareDatetime = Field(description="When the first person's first turn began (with offset)")


class Override(BaseModel):
    model_config = FROZEN
    person: str
    start: AwareDatetime
    end: AwareDatetime
    id: int | None = Field(None, description="Set on overrides added through the API or CLI (stored), not in the file")
    reason: str = ""

    @model_validator(mode="after")
    def _order(self) -> Override:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Schedule(BaseModel):
    model_config = FROZEN
    rotation: Rotation
    overrides: tuple[Override, ...] = ()

    def on_call(self, at: datetime) -> str:
        covering = [o for o in self.overrides if o.start <= at < o.end]
        if covering:
            return max(covering, key=lambda o: o.start).person
        turns = int((at - self.rotation.start).total_seconds() // self.rotation.shift)
        return self.rotation.people[turns % len(self.rotation.people)]

    def next_change(self, at: datetime) -> tuple[datetime, str] | None:
        """(when, who): the first moment after `at` when someone else is on call. Candidates are the next
        rotation turn boundaries and every override's start and end; the next turn boundary always changes
        the rotation's person when it has two or more, so at most one full cycle of turns is looked at."""
        now = self.on_call(at)
        shift = timedelta(seconds=self.rotation.shift)
        turns = (at - self.rotation.start) // shift + 1
        candidates = {self.rotation.start + shift * (turns + k) for k in range(len(self.rotation.people) + 1)}
        candidates |= {t for o in self.overrides for t in (o.start, o.end) if t > at}
        for t in sorted(candidates):
            who = self.on_call(t)
            if who != now:
                return t, who
        return None


class Level(BaseModel):
    model_config = FROZEN
    after: Duration = Field(0.0, description="Time since the incident opened, while unacknowledged")
    notify: tuple[str, ...] = Field(min_length=1, description="schedule:NAME or person:NAME")
    channels: tuple[str, ...] = Field(min_length=1, description="Names from notify.channels in collector.yaml")
    only_if_breached: bool = Field(False, description="Only when the response deadline has passed")


class Policy(BaseModel):
    model_config = FROZEN
    levels: tuple[Level, ...] = Field(min_length=1)
    fallback: str | None = Field(
        None, description="A channel from notify.channels tried when every channel of a notice failed (after its "
        "retries) or dropped it, so a dead path still reaches someone")
    repeat_every: PositiveDuration | None = Field(None, description=(
        "While unacknowledged, send the last level's notice again this long after it was last sent "
        "(e.g. 10m); none when not set"))

    @model_validator(mode="after")
    def _increasing(self) -> Policy:
        afters = [lv.after for lv in self.levels]
        if afters != sorted(afters):
            raise ValueError("levels must be in order of `after`")
        return self


class Match(BaseModel):
    model_config = FROZEN
    kind: tuple[Kind, ...] = ()
    severity: tuple[Severity, ...] = ()
    category: tuple[str, ...] = ()
    site: tuple[str, ...] = ()

    def matches(self, kind: str, severity: str, category: str, site: str) -> bool:
        return all(not allowed or value in allowed for allowed, value in
                   ((self.kind, kind), (self.severity, severity), (self.category, category), (self.site, site)))


class Route(BaseModel):
    model_config = FROZEN
    match: Match = Match()
    policy: str


class Oncall(BaseModel):
    """Root of oncall.yaml."""

    model_config = FROZEN
    people: dict[str, Person] = Field(min_length=1)
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    policies: dict[str, Policy] = Field(min_length=1)
    routes: tuple[Route, ...] = Field(min_length=1, description="First match wins; end with one that matches all")

    @model_validator(mode="after")
    def _references(self) -> Oncall:
        for name, sched in self.schedules.items():
            for who in (*sched.rotation.people, *(o.person for o in sched.overrides)):
                if who not in self.people:
                    raise ValueError(f"schedule {name!r} names {who!r}, who is not under people")
        for name, policy in self.policies.items():
            for lv in policy.levels:
                for target in lv.notify:
                    kind, _, ref = target.partition(":")
                    known = self.schedules if kind == "schedule" else self.people if kind == "person" else None
                    if known is None or ref not in known:
                        raise ValueError(f"policy {name!r} notifies {target!r}: write schedule:NAME or person:NAME "
                                         "with a name defined above")
        for i, route in enumerate(self.routes):
            if route.policy not in self.policies:
                raise ValueError(f"routes[{i}] names policy {route.policy!r}, which is not defined")
        return self

    def policy_for(self, kind: str, severity: str, category: str, site: str) -> Policy | None:
        for route in self.routes:
            if route.match.matches(kind, severity, category, site):
                return self.policies[route.policy]
        return None

    def recipients(self, level: Level, at: datetime) -> list[str]:
        out: list[str] = []
        for target in level.notify:
            kind, _, ref = target.partition(":")
            who = self.schedules[ref].on_call(at) if kind == "schedule" else ref
            if who not in out:
                out.append(who)
        return out

    def channels(self) -> set[str]:
        levels = {c for p in self.policies.values() for lv in p.levels for c in lv.channels}
        return levels | {p.fallback for p in self.policies.values() if p.fallback}

    def with_overrides(self, stored: Iterable[Any]) -> Oncall:
        """This schedule plus the overrides stored through the API or CLI (store.oncall.StoredOverride); one
        naming a schedule or person the file no longer has is left out (the file changed since it was added)."""
        extra: dict[str, list[Override]] = {}
        for o in stored:
            if o.schedule in self.schedules and o.person in self.people:
                extra.setdefault(o.schedule, []).append(
                    Override(person=o.person, start=o.start, end=o.end, id=o.id, reason=o.reason))
        if not extra:
            return self
        schedules = {name: s.model_copy(update={"overrides": (*s.overrides, *extra.get(name, ()))})
                     for name, s in self.schedules.items()}
        return self.model_copy(update={"schedules": schedules})

    def channels_for_schedule(self, schedule: str) -> list[str]:
        """The channels of the first level of each policy that pages this schedule: where its people are reached."""
        out: list[str] = []
        for policy in self.policies.values():
            for lv in policy.levels:
                if f"schedule:{schedule}" in lv.notify:
                    out += [c for c in lv.channels if c not in out]
                    break
        return out


def load_oncall(path: str) -> Oncall:
    """Read and validate; every problem named with file, line, key and reason (ConfigProblems when several)."""
    doc = read_yaml(path)
    try:
        return Oncall.model_validate(doc.data)
    except ValidationError as exc:
        raise problems_error(config_errors(exc, doc), path) from None
