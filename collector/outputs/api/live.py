"""What the running collector knows, as the API shows it: the values its face (face.py) returns.

Times are ISO 8601 text (Python's isoformat); the API's response class (app.py) writes each with the
configured zone's offset.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from opsmon.collector.core.maintenance import WindowSpec


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: the store writer is dead, or its last write failed (from the first failure until a "
                    "write succeeds)")
    store_error: str | None = Field(None, description="Why the last store write failed, while it is failing")
    store_writer_alive: bool
    store_dropped_ops: int
    version: str
    started: str
    assets: int = Field(description="Assets monitored")
    checks: int = Field(description="Scheduled checks")
    store_queue: int = Field(description="Operations waiting for the store writer")
    store_write_failures: int
    reports_checked: str | None = Field(description="When scheduled reports were last looked for")


class CheckStatus(TypedDict):
    status: str  # the confirmed status of the check
    reason: str
    last_result: str | None
    last_ts: str | None


class LiveState(TypedDict):
    """An asset's state in the timeline now, with each check's. A plain dict at run time: the asset
    listing adds one per asset on the event loop, where 5,000 models would cost ten times as long."""

    state: str
    since: str
    reason: str
    check_status: dict[str, CheckStatus]


class StateRow(BaseModel):
    asset: str
    category: str | None
    site: str | None
    state: str
    since: str
    reason: str


class InterfaceRow(BaseModel):
    """One IF-MIB row as last polled (its columns depend on the device's profiles) with its rates."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str | int | float]
    ifIndex: str  # the MIB's name


class HardwareFault(BaseModel):
    component: str
    problem: str
    problem_zh: str


class Interfaces(BaseModel):
    asset: str
    polled_at: str | None = Field(description="The centre's latest poll of the device; null when a site poller polls "
                                              "it (polled_by)")
    profiles: list[str]
    interfaces: list[InterfaceRow]
    faults: list[HardwareFault] = Field(description=(
        "Hardware faults present now, as the centre's latest poll saw them; empty when `polled_by` names a site "
        "poller (its faults are the asset's incidents)"))
    polled_by: str | None = Field(None, description=(
        "The site poller that polls the device over SNMP: the centre holds none of its readings (empty lists), "
        "they are on that poller's own /metrics (docs/poller.md, \"Interface metrics at the poller\")"))
    reason: str | None = Field(None, description="Why the lists are empty, Chinese first, then English")


class ComplianceRow(BaseModel):
    asset: str
    control: str
    passed: int
    failed: int
    score: float | None = Field(description="passed / (passed + failed); null when nothing counted")
    ran_at: str | None


class BaselineCheck(BaseModel):
    id: str
    status: str
    evidence: str
    since: str
    control: str | None
    title_en: str | None
    title_zh: str | None


class Baseline(BaseModel):
    asset: str
    policy: str
    ran_at: str | None
    checks: list[BaselineCheck]


class WindowDoc(WindowSpec):
    """A maintenance window in force, and where it was declared."""

    source: Literal["config", "api"]
