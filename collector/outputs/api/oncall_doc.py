"""The on-call document (GET /api/v1/oncall, the console's on-call page): who is on call now and next per
schedule, the overrides, the escalation policies and routes, the problems of a refused oncall.yaml."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ShiftDoc(BaseModel):
    """Who is on call on one schedule now, until when, and who follows (times in the configured zone)."""

    schedule: str
    person: str
    name: str
    until: str | None = Field(description="When the next person comes on call; null if nobody else ever does")
    next_person: str | None
    next_name: str | None


class OverrideDoc(BaseModel):
    id: int | None = Field(description="Set for overrides added through the API or CLI; null for the file's")
    schedule: str
    person: str
    start: str
    end: str
    reason: str
    source: Literal["file", "api"]


class LevelDoc(BaseModel):
    after: float = Field(description="Seconds since the incident opened, while unacknowledged")
    notify: list[str] = Field(description="schedule:NAME or person:NAME")
    channels: list[str]
    only_if_breached: bool


class PolicyDoc(BaseModel):
    """One escalation policy of oncall.yaml: who is told, on which channels, how long after the incident opened."""

    name: str
    levels: list[LevelDoc]
    repeat_every: float | None = Field(description="Seconds between repeats of the last level; null: no repeat")
    fallback: str | None


class RouteDoc(BaseModel):
    """Which incidents a policy takes (first match wins; an empty list matches anything)."""

    match: dict[str, list[str]]
    policy: str


class OncallDoc(BaseModel):
    now: str = Field(description="The moment this answers for, in the configured zone")
    shifts: list[ShiftDoc]
    overrides: list[OverrideDoc] = Field(description="Overrides not yet over, from oncall.yaml and the API/CLI")
    policies: list[PolicyDoc] = Field(default_factory=list, description="The escalation policies")
    routes: list[RouteDoc] = Field(default_factory=list, description="Which policy an incident follows")
    file: str
    file_errors: list[str] = Field(description=(
        "The problems (file:line: key: reason) of the last oncall.yaml read that was refused: the schedule in "
        "force is the one before it. Empty when the file in force is the file on disk"))
