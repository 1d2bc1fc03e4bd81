"""On-call schedules and escalation policies (oncall.yaml): who is on call when, and who hears
about an unacknowledged incident after how long, on which channels.

A schedule is a rotation (people take turns, each for `shift`, counted from `start`)
plus overrides (a person covers a stretch, e.g. a swap or a holiday); the override
that started last wins. A policy is a list of levels; a route picks the policy by
the incident's kind, severity, category or site (first match wins).
"""
from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from opsmon.collector.config.yamlfile import read_yaml
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


def load_oncall(path: str) -> Oncall:
    """Read and validate; ConfigError names file, line, key and reason."""
    return read_yaml(path).validate(Oncall)
