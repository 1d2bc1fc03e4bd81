"""The `flows:` section of collector.yaml: the NetFlow v5/v9 and IPFIX receiver (issue 23), off unless configured.

Each exporter (a router's or switch's flow export) is allowed by its source address and mapped to the
`link` asset of the inventory whose traffic it sees; datagrams from any other address are counted and
dropped. See docs/flows.md.
"""
from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from opsmon.collector.core.fields import FROZEN, Duration, ObjectId, PositiveDuration


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a network in CIDR form (10.0.0.0/8, 2001:db8::/32): {exc}") from None
    return value


NetworkText = Annotated[str, AfterValidator(_network)]  # validated item by item: the error names its line


class AllowedDestinations(BaseModel):
    """Where traffic over the links may go: a flow to any other destination is reported (docs/flows.md)."""

    model_config = FROZEN
    networks: list[NetworkText] = Field(default_factory=list, description=(
        "Destination networks (CIDR) every link may reach; empty (and no `links`) = nothing is checked"))
    links: dict[ObjectId, list[NetworkText]] = Field(default_factory=dict, description=(
        "Per link asset id, more networks it may reach (added to `networks`); a link listed here is checked "
        "even when `networks` is empty"))
    prefix_v4: int = Field(24, ge=8, le=32, description=(
        "Outside IPv4 destinations are grouped into networks of this many bits: one event per (link, source, "
        "network) and interval"))
    prefix_v6: int = Field(48, ge=16, le=128, description="... and IPv6 destinations into networks of this many bits")
    max_events: int = Field(100, ge=1, le=10_000, description=(
        "Events per link and interval at most (the largest by bytes); the rest is summed into one of source other"))
    incident: bool = Field(False, description=(
        "Also open a security incident per (link, source, network) (de-duplicated while it is open)"))



class VolumeBaselineConfig(BaseModel):
    """A link's volume per interval against the median of the same interval of past weeks (docs/flows.md)."""

    model_config = FROZEN
    weeks: int = Field(4, ge=0, le=52, description=(
        "Weeks of the same interval-of-week whose median is a link's baseline (0 = no baseline check)"))
    min_weeks: int = Field(2, ge=1, le=52, description="Weeks of history needed before an interval is judged")
    factor: float = Field(3.0, gt=1, le=1000, description=(
        "An interval is high above factor x baseline, low below baseline / factor (an event when this changes)"))
    floor_bytes: int = Field(10_000_000, ge=0, description=(
        "Neither judged high nor low while both the interval's bytes and the baseline are below this"))


class FlowsConfig(BaseModel):
    model_config = FROZEN
    enabled: bool = Field(False, description="Receive NetFlow v5/v9 and IPFIX from the exporters below")
    host: str = Field("127.0.0.1", description="Address the flow receiver listens on (UDP)")
    port: int = Field(2055, ge=1, le=65535, description="UDP port the exporters send to (NetFlow's usual 2055; "
                                                        "IPFIX's 4739 works as well)")
    sflow_port: int | None = Field(None, ge=1, le=65535, description=(
        "A second UDP port (on `host`) for sFlow v5 only (its IANA port is 6343); none = sFlow is taken on `port` "
        "with the other formats. Same exporters, rate limit and refusals as `port`"))
    exporters: dict[str, ObjectId] = Field(default_factory=dict, description=(
        "Allowed exporters: source address -> the link asset id whose traffic it exports; any other address "
        "is counted (reason unknown_exporter) and dropped"))
    unknown_links: Literal["warn", "refuse"] = Field("warn", description=(
        "An exporter whose link is no asset of the inventory: warn (a log line once, its flows summed under "
        "site `unknown`) or refuse its datagrams (reason unknown_link)"))
    interval: PositiveDuration = Field(300.0, description=(
        "Flows are summed in fixed intervals of this length (aligned on the clock, by arrival time); each "
        "closed interval is stored"))
    top: int = Field(100, ge=1, le=10_000, description=(
        "Rows stored per link and interval: the top (src, dst, dst port, protocol) by bytes; the rest is "
        "summed into one `other` row"))
    max_keys: int = Field(20_000, ge=10, le=1_000_000, description=(
        "Distinct (src, dst, dst port, protocol) held per link within an interval (the memory bound); flows "
        "of further keys go straight to the `other` row"))
    rate: float = Field(2000.0, gt=0, le=1_000_000, description=(
        "Datagrams a second each source may send (token bucket, as snmp.traps.rate); beyond, they are "
        "dropped before decoding and counted (reason rate)"))
    burst: int = Field(4000, ge=1, le=1_000_000, description="... and how many at once above that rate")
    max_templates: int = Field(1000, ge=1, le=1_000_000, description=(
        "NetFlow v9 / IPFIX templates held (all exporters); one more replaces the least recently used"))
    pending_sets: int = Field(64, ge=0, le=100_000, description=(
        "Data sets held while their template has not arrived yet (decoded when it does); beyond, the oldest "
        "is dropped and counted (reason no_template)"))
    retention: Duration = Field(400 * 86400.0, description=(
        "Closed intervals (flow_top) kept this long (0 = forever); pruned hourly with the observations. "
        "A link's interval is at most top + 1 rows: at 5-minute intervals and top 100, about 29,000 rows a day"))
    allowed_destinations: AllowedDestinations = Field(default_factory=AllowedDestinations, description=(
        "Allowed destination networks, globally and per link: traffic elsewhere is an event (kind security), "
        "optionally an incident"))
    baseline: VolumeBaselineConfig = Field(default_factory=VolumeBaselineConfig, description=(
        "Link volume against its baseline: an event (kind traffic) when an interval leaves or comes back to it"))
    refused_sources: int = Field(100, ge=0, le=100_000, description=(
        "Addresses, beyond the exporters', with their own label in the refusal counts and their own log "
        "line; the rest count as source other"))

    @field_validator("exporters")
    @classmethod
    def _addresses(cls, value: dict[str, str]) -> dict[str, str]:
        for address in value:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"flows.exporters: {address!r} is not an IP address") from None
        return value

    @model_validator(mode="after")
    def _ports(self) -> FlowsConfig:
        if self.sflow_port is not None and self.sflow_port == self.port:
            raise ValueError(f"flows.sflow_port: {self.sflow_port} is flows.port too; leave sflow_port out to "
                             "take sFlow on flows.port")
        return self
