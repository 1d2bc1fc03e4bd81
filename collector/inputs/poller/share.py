"""Which checks a site poller runs, and how its results are told from the collector's (the central side).

A site poller is an enrolled agent whose role is "poller" (`opsmon agents enroll NAME --site SITE --poller`):
its asset's site is its site, and it owns the checks of the types in POLLED_TYPES of every live asset of that
site, except the site's links (category `link`): the centre measures a WAN link from its own end, so the
link's down time is charged to the link (network connectivity) while the poller keeps its assets' real
states; of a link the poller runs only its far-end checks (`from_site`: it probes the centre, issue 22 item 4).
The collector does not schedule a check a poller owns (nothing is probed twice); the poller fetches
them (`GET /api/v1/poller/checks`, `share_document`) and sends their results in its agent reports
(`observations`, checked here against the owner).

A site with two or more pollers shares its assets among the online ones and moves a silent one's to the others
(group.py: which poller runs which asset, and who ran it when). SNMP polls (`snmp`: the device's state, its
interfaces and hardware faults) and SSH commands (`ssh`) are polled types too: the share names their credential
by id only (the check's `credential`), and the poller resolves the secret from its own file at the prefecture
(poller/devices.py), so no secret crosses the WAN. A link's `snmp_interface` check goes with the device whose
interface it reads (`uplinks`: the poller that polls the device publishes the link's state from each poll; its
results are judged by the device's owner at their time). What stays central: `ssh_config` (the configuration
backup writes to the collector's store), `presence` (the switches' shared walks of the collector's hub), and a
check naming a file of the collector's host (an HTTP check's `ca_file`, LOCAL_FILES).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the poller imports this module: not the inventory's store models (memory on a small box)
    from opsmon.collector.config.checks import CheckSpec
    from opsmon.collector.config.inventory import AssetSpec

POLLER = "poller"  # agents.role of a site poller
SHARE_PATH = "/api/v1/poller/checks"
# the check types a poller runs (http covers the TLS certificate check; snmp_interface rides its device's snmp)
POLLED_TYPES = ("icmp", "tcp", "http", "snmp", "ssh")
DEVICE_TYPES = ("snmp", "ssh")  # of them, those whose credentials the poller holds itself (poller/devices.py)
CENTRAL_CATEGORIES = ("link",)  # measured from the centre; a poller runs only their far-end checks (from_site)
# Settings of the polled types naming a file on the collector's host (the poller's host has no such file): a check
# with one stays central. Of icmp, tcp and http only http's ca_file does (config/checks.py).
LOCAL_FILES = ("ca_file",)
MAX_OBSERVATIONS = 5000  # results in one report (a report is at most 1 MiB; a result about 100 bytes as JSON)


class PolledResult(BaseModel):
    """One check result a poller sends: its asset and check, its time (the poller's clock, corrected by the
    report's offset like the report's own), status, reason and latency."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    asset: str = Field(max_length=128)
    check: str = Field(max_length=128)
    ts: float
    status: Literal["up", "down", "degraded", "unknown"]
    reason: str = Field("", max_length=2000)
    latency_ms: float | None = None


class PolledFault(BaseModel):
    """A hardware fault a poller's SNMP poll found (the collector's HardwareSignal): the device, the poll's check
    (whose owner at `ts` decides whether it counts), the component and the problem, at the poll's time."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    asset: str = Field(max_length=128)
    check: str = Field(max_length=128)
    ts: float
    component: str = Field(max_length=100)
    problem: str = Field("", max_length=500)


class PolledEvent(BaseModel):
    """An SSH host key event of a poller's SSH check (the collector's Event, kind `security`), or, with `key`, its
    finding (SecurityFinding: a changed key opens a critical security incident, the trusted key again resolves it).
    Counted, as results are, only from the poller that owned the asset's check at `ts`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    asset: str = Field(max_length=128)
    check: str = Field(max_length=128)
    ts: float
    name: Literal["ssh_host_key_trusted", "ssh_host_key_changed", "ssh_host_key"]
    severity: Literal["info", "minor", "major", "critical"]
    summary: str = Field("", max_length=2000)
    details: dict[str, str | None] = Field(default_factory=dict, max_length=8)
    key: str | None = Field(None, max_length=300)  # a finding's (ssh_host_key:HOST:PORT); None for an event
    failing: bool = False


def pollable(spec: AssetSpec, check: CheckSpec) -> bool:
    """A check a poller of the asset's site runs, when the site has one."""
    if check.type not in POLLED_TYPES or not spec.site:
        return False
    if spec.category in CENTRAL_CATEGORIES and not getattr(check, "from_site", False):
        return False  # a link's far-end check (from_site) is the poller's: it probes the centre (issue 22 item 4)
    return not any(getattr(check, name, None) for name in LOCAL_FILES)


def owner(spec: AssetSpec, owners: Mapping[str, str], check: CheckSpec) -> str | None:
    """The poller that runs this check of this asset (owners: asset id -> its poller, group.py), or None when the
    collector runs it."""
    return owners.get(spec.id) if pollable(spec, check) else None


class SharedCheck(BaseModel):
    """One check a poller runs: its asset and address, its spec as the inventory holds it, and its timing."""

    asset: str
    address: str | None
    interval: float = Field(description="Seconds between two runs")
    timeout: float = Field(description="Seconds a run may take")
    spec: dict[str, Any] = Field(description="The check as in the inventory (`type` and its settings)")


class SharedUplink(BaseModel):
    """A link whose state is one interface of a device the poller polls (the link's `snmp_interface` check)."""

    device: str
    link: str
    check: str
    interface: str


class TrapSource(BaseModel):
    """An asset of the poller's site and its address: a trap from there is that asset's (docs/poller.md); listed
    SNMP-polled devices first, so that of several assets at one address the poller picks the one the centre would."""

    asset: str
    address: str


class PollerShare(BaseModel):
    """GET /api/v1/poller/checks: what a site poller runs, and when to ask again."""

    poller: str
    site: str
    refresh: float = Field(description="Seconds until the poller asks again")
    checks: list[SharedCheck]
    uplinks: list[SharedUplink] = Field(default_factory=list, description=(
        "Links whose state is an interface of a device polled here: published from each of its polls"))
    sources: list[TrapSource] = Field(default_factory=list, description=(
        "Every live asset of the site with an address, whichever poller runs its checks: the senders whose traps "
        "the poller takes (a trap from another address is refused, reason unknown_source)"))


def share_document(poller: str, site: str, refresh: float,
                   checks: Iterable[tuple[AssetSpec, Any, float, float]],
                   uplinks: Iterable[SharedUplink] = (), assets: Iterable[AssetSpec] = ()) -> PollerShare:
    """The checks `poller` runs, from (asset, check spec, interval, timeout), the uplinks of its devices, and
    assets: the site's (trap sources)."""
    return PollerShare(poller=poller, site=site, refresh=refresh, checks=[
        SharedCheck(asset=asset.id, address=asset.address, interval=interval, timeout=timeout,
                    spec=spec.model_dump(mode="json")) for asset, spec, interval, timeout in checks],
        uplinks=list(uplinks),
        sources=[TrapSource(asset=a.id, address=a.address) for a in sorted(assets, key=_source_order)
                 if a.site == site and a.address])


def _source_order(asset: AssetSpec) -> tuple[bool, str]:
    """Of several assets at one address the first takes its traps: an SNMP-polled device before the others (the
    central receiver's rule), then by id."""
    return (not any(check.type == "snmp" for check in asset.checks), asset.id)
