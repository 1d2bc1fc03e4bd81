"""The `checks:` of an asset in the inventory: one settings model per check type, chosen by `type:`.

The probes that run them live in opsmon.collector.inputs.checks (its registry maps each type to its class).
"""
from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from opsmon.collector.config.ssh_platforms import DEFAULT_CONFIG_COMMAND, EXEC, PLATFORMS
from opsmon.collector.core.fields import FROZEN, ObjectId, PositiveDuration


class CheckSpecBase(BaseModel):
    """Fields every check accepts; `id` defaults to something readable per type."""

    model_config = FROZEN
    type: str = Field(description="The check type (the section's name)")
    id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$",
                           description="Unique within the asset; default readable per type (e.g. tcp:443)")
    interval: PositiveDuration | None = Field(None, description="How often it runs; default scheduler.default_interval")
    timeout: PositiveDuration | None = Field(None, description="Default scheduler.default_timeout (at most 90% of "
                                                               "the interval)")
    down_after: int | None = Field(None, ge=1, le=100, description="Bad results in a row before down; default "
                                                                   "timeline.down_after")
    up_after: int | None = Field(None, ge=1, le=100, description="Good results in a row before up; default "
                                                                 "timeline.up_after")

    def default_id(self) -> str:
        return self.type

    @property
    def check_id(self) -> str:
        """Explicit id, or a readable default cut to fit the 128-character column (with a hash to stay unique)."""
        cid = self.id or self.default_id()
        if len(cid) > 120:
            cid = cid[:100] + "~" + hashlib.sha1(cid.encode()).hexdigest()[:12]
        return cid


class FarEnd(BaseModel):
    """A check a site poller can run from a link's far end (issue 22 item 4; docs/poller.md)."""

    from_site: bool = Field(False, description="On a link (category link) with a site: run by the site's poller, "
                            "probing the centre (the link's far end; icmp and tcp: `host` defaults to the host of "
                            "the collector the poller reports to); the link is down when both ends say so")


class IcmpSpec(CheckSpecBase, FarEnd):
    """ICMP echo: up when any request is answered; degraded over the loss or RTT thresholds (a WAN link's)."""

    type: Literal["icmp"]
    host: str | None = Field(None, description="Defaults to the asset's address")
    packets: int = Field(1, ge=1, le=10, description="Echo requests per run, all sent (the loss and mean RTT "
                         "/metrics shows); up if any is answered")
    loss_warn: float | None = Field(None, gt=0, lt=100, description="Percent of a run's requests lost above which "
                                    "it is degraded (give packets > 1)")
    rtt_warn: PositiveDuration | None = Field(None, description="Mean RTT of a run's replies above which it is "
                                              "degraded")


class TcpSpec(CheckSpecBase, FarEnd):
    """A TCP connection: up when the port accepts it; degraded when the connection takes longer than latency_warn."""

    type: Literal["tcp"]
    port: int = Field(ge=1, le=65535, description="The port to connect to")
    host: str | None = Field(None, description="Defaults to the asset's address")
    latency_warn: PositiveDuration | None = Field(None, description="Connecting slower than this -> degraded")

    def default_id(self) -> str:
        return f"tcp:{self.port}"


class HttpSpec(CheckSpecBase, FarEnd):
    """An HTTP(S) request: status, body, latency and the certificate's expiry."""

    type: Literal["http"]
    url: str = Field(description="http:// or https:// URL (credentials in it never appear in the id)")
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: tuple[int, ...] = Field((), description="Accepted codes; empty = 200-399")
    body_match: str | None = Field(None, description="Regular expression the body must contain")
    latency_warn: PositiveDuration | None = Field(None, description="Slower than this -> degraded")
    tls_warn_days: int = Field(14, ge=0, le=3650, description="Certificate expiring sooner -> degraded")
    tls_verify: bool = Field(True, description="Verify the certificate and host name")
    ca_file: str | None = Field(None, description="PEM file of the CA to verify against (a private CA)")
    follow_redirects: bool = False
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers")

    def default_id(self) -> str:
        # Never put credentials from the URL into an id: ids appear in states, logs and the API.
        return "http:" + re.sub(r"^(https?://)[^/@]*@", r"\1", self.url)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("url must start with http:// or https:// and name a host")
        return value

    @field_validator("body_match")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"body_match is not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _codes(self) -> HttpSpec:
        if any(not 100 <= c <= 599 for c in self.expect_status):
            raise ValueError("expect_status codes must be between 100 and 599")
        return self


class SnmpSpec(CheckSpecBase):
    """An SNMP poll of the device by its profiles (docs/snmp.md): interfaces, hardware, faults."""

    type: Literal["snmp"]
    credential: str = Field(description="A name from snmp.credentials in collector.yaml")
    port: int = Field(161, ge=1, le=65535, description="UDP port of the agent")
    profiles: tuple[str, ...] = Field(("auto",), min_length=1,
                                      description="Profile names; 'auto' adds those detected on the device")
    request_timeout: PositiveDuration | None = Field(None, description="Per request; default snmp.timeout")
    retries: int | None = Field(None, ge=0, le=10, description="Per request; default snmp.retries")
    timeout: PositiveDuration | None = Field(30.0, description="The whole poll (capped at 90% of the interval)")

    def default_id(self) -> str:
        return "snmp"


class SnmpInterfaceSpec(CheckSpecBase):
    """A link's state taken from one interface of a polled device (fed by its polls and link traps). An interface
    the device does not have leaves the link unknown with a reason naming the interfaces it has."""

    type: Literal["snmp_interface"]
    device: ObjectId = Field(description="Asset id of the polled device that has the interface")
    interface: str = Field(min_length=1, max_length=128, description="ifName, ifDescr, ifAlias or ifIndex")
    down_after: int | None = Field(1, ge=1, le=100, description="Interface status is exact: no debounce by default")

    def default_id(self) -> str:
        return f"if:{self.device}:{self.interface}"
_MAC = re.compile(r"^[0-9a-f]{12}$")


def canonical_mac(value: str) -> str:
    """A MAC as the inventory may write it (00:1A:2B:3C:4D:5E, 00-1a-..., 001a.2b3c.4d5e, 001a2b3c4d5e) in the one
    form the presence tables are compared in: lower case, colon-separated."""
    bare = re.sub(r"[\s:.-]", "", value).lower()
    if not _MAC.match(bare):
        raise ValueError(f"{value!r} is not a MAC address (e.g. 00:1a:2b:3c:4d:5e or 001a.2b3c.4d5e)")
    return ":".join(bare[i:i + 2] for i in range(0, 12, 2))


class PresenceSpec(CheckSpecBase):
    """A PC without an agent, up while the network sees it: its MAC in the latest walk of a listed switch's
    forwarding (Q-BRIDGE, BRIDGE) or ARP table (IP-MIB), or an echo reply (docs/snmp.md, "Presence of PCs")."""

    type: Literal["presence"]
    mac: str = Field(description="The PC's MAC address (any usual notation)")
    switches: tuple[ObjectId, ...] = Field(min_length=1, max_length=16, description=(
        "Asset ids of the switches (each with an snmp check) whose tables may show it; one walk of each per "
        "interval serves every PC that lists it"))
    icmp: bool = Field(True, description="Also ping the asset's address when no table shows the MAC (false where "
                                         "the PCs' firewalls drop echo requests)")
    arp: bool = Field(True, description="Count ARP entries (ipNetToPhysicalTable, else ipNetToMediaTable) as well "
                                        "as forwarding entries")
    fresh: PositiveDuration = Field(300.0, description=(
        "How old a switch's walk and an ARP entry may be to count (an ARP entry without an age from the agent is "
        "dated by the walks, and one whose bound exceeds it makes the result unknown, not down: docs/snmp.md, "
        "\"Presence of PCs\")"))
    interval: PositiveDuration | None = Field(60.0, description="How often it runs; also how long a walk is shared")
    timeout: PositiveDuration | None = Field(30.0, description="The whole check (capped at 90% of the interval)")

    _mac = field_validator("mac")(classmethod(lambda cls, v: canonical_mac(v)))

    def default_id(self) -> str:
        return "presence"


MN_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"  # HJ 212 MNs seen: hex EPC-96, digits, JLYP01_AIR01_0001 (docs/hj212.md)


class FactorSpec(BaseModel):
    """An assessed factor of a monitoring point (e.g. w01018 COD), with its emission limit if it has one."""

    model_config = FROZEN
    limit: float | None = Field(None, description="Emission limit in the factor's unit (exceedances, issue 17)")
    unit: str | None = Field(None, max_length=32, description="Unit of the limit, as the permit writes it")


class PointSpec(BaseModel):
    """A monitoring point (outlet) of a DAU: the factors assessed there. Its MN defaults to the DAU's."""

    model_config = FROZEN
    name: str | None = Field(None, max_length=256, description="The outlet's name (e.g. 1号废水排口)")
    mn: str | None = Field(None, pattern=MN_PATTERN, description="The MN its frames carry, if not the DAU's")
    factors: dict[str, FactorSpec] = Field(default_factory=dict, description="Assessed factor codes and limits")


class Hj212Spec(CheckSpecBase):
    """A DAU's pseudo-check: the HJ 212 receiver marks it up at every accepted frame; silence is down.

    Never scheduled: the unit pushes (inputs/hj212/). Its settings are the unit's identity on the wire
    (MN, the password by credential name, the CRC policy) and what later rates are computed over (points,
    factors, limits).
    """

    type: Literal["hj212"]
    mn: str = Field(pattern=MN_PATTERN, description="The unit's MN (设备唯一标识)")
    credential: str = Field(min_length=1, max_length=64, description="A name from hj212.credentials (its PW)")
    enterprise: str = Field(min_length=1, max_length=256, description="The enterprise (排污单位) it serves")
    crc: Literal["strict", "accept_modbus_le"] = Field(
        "strict", description="strict: only the HJ 212 CRC; accept_modbus_le: Modbus low byte first too, marked")
    stale_after: PositiveDuration | None = Field(None, description="Silent this long -> down; default "
                                                                   "hj212.stale_after")
    points: dict[str, PointSpec] = Field(default_factory=dict, description="Monitoring points by id")
    relay: tuple[str, ...] = Field((), description="Upstream platforms (names under hj212.upstreams) its accepted "
                                                   "frames are forwarded to, unchanged")

    def default_id(self) -> str:
        return "hj212"

    def point_mns(self) -> dict[str, str]:
        """MN -> point id (a DAU with no points: its MN -> "")."""
        if not self.points:
            return {self.mn: ""}
        return {point.mn or self.mn: pid for pid, point in self.points.items()}

    @model_validator(mode="after")
    def _points(self) -> Hj212Spec:
        seen: dict[str, str] = {}
        for pid, point in self.points.items():
            mn = point.mn or self.mn
            if mn in seen:
                raise ValueError(f"points {seen[mn]!r} and {pid!r} both send as MN {mn!r}: give each its own mn")
            seen[mn] = pid
        return self


MUTATING = frozenset("""
configure config conf write wr copy delete del erase reload reboot shutdown no set unset commit rollback
clear request format rm rmdir mv cp dd mkfs kill killall halt poweroff install upgrade load save
execute restart edit tee passwd useradd userdel usermod chmod chown crontab systemctl service sudo su
""".split())
WRITING_PIPES = frozenset(("redirect", "tee", "append", "save"))
DEVICE_ERROR = r"(?m)^\s*(%|\^|syntax error|error:|unknown command|invalid (input|command))"


def _compile(value: str | None, what: str) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{what} is not a valid regular expression: {exc}") from None
    return value


def _read_only(command: str) -> str:
    if "\n" in command or "\r" in command:
        raise ValueError("command must be one line")
    if re.search(r"[>`]|\$\(", command):
        raise ValueError("command must not redirect output or substitute commands (>, `, $( )")
    for segment in re.split(r";|&&|\|\|", command):
        parts = segment.split("|")
        first = parts[0].split()
        if first and first[0].lower() in MUTATING:
            raise ValueError(f"command {command!r} looks like it changes the device ({first[0]!r}); "
                             "ssh checks run read-only commands only")
        for pipe in parts[1:]:
            words = pipe.split()
            if words and words[0].lower() in WRITING_PIPES:
                raise ValueError(f"command {command!r} writes through '| {words[0]}'; "
                                 "ssh checks run read-only commands only")
    return command


class NumberRule(BaseModel):
    """A number taken from the output by the first group of `regex`, judged against bounds."""

    model_config = FROZEN
    regex: str = Field(description="Regular expression whose first group captures the number")
    min: float | None = Field(None, description="Below this -> down")
    max: float | None = Field(None, description="Above this -> down")
    warn_min: float | None = Field(None, description="Below this -> degraded")
    warn_max: float | None = Field(None, description="Above this -> degraded")

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        _compile(value, "number.regex")
        if re.compile(value).groups < 1:
            raise ValueError("number.regex needs a group capturing the number, e.g. 'Temperature: (\\d+)'")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> NumberRule:
        if self.min is None and self.max is None and self.warn_min is None and self.warn_max is None:
            raise ValueError("number needs at least one of min, max, warn_min, warn_max")
        return self


class _SshBase(CheckSpecBase):
    credential: str = Field(description="A name from ssh.credentials in collector.yaml")
    port: int = Field(22, ge=1, le=65535, description="TCP port of the SSH server")
    host: str | None = Field(None, description="Defaults to the asset's address")
    trust_on_first_use: bool = Field(
        False, description="Trust and save the host key if the host is not in known_hosts yet (a changed key is "
                           "always refused)")
    error_regex: str | None = Field(DEVICE_ERROR, description="Output matching this means the device refused the "
                                                              "command (null: do not look)")

    _error = field_validator("error_regex")(classmethod(lambda cls, v: _compile(v, "error_regex")))


class SshSpec(_SshBase):
    """A read-only command over SSH, its output checked (docs/ssh.md)."""

    type: Literal["ssh"]
    command: str = Field(min_length=1, max_length=1024, description="A read-only command, run on the exec channel")
    expect: str | None = Field(None, min_length=1, description="The output must contain this text")
    regex: str | None = Field(None, description="The output must match this regular expression (multi-line)")
    number: NumberRule | None = Field(None, description="A number read from the output, compared with limits")

    _cmd = field_validator("command")(classmethod(lambda cls, v: _read_only(v)))
    _re = field_validator("regex")(classmethod(lambda cls, v: _compile(v, "regex")))

    def default_id(self) -> str:
        return f"ssh:{self.command}"


class SshConfigSpec(_SshBase):
    """A device's configuration fetched over SSH and kept with its changes (docs/ssh.md)."""

    type: Literal["ssh_config"]
    platform: Literal["exec", "vrp", "comware", "ruijie"] = Field(
        EXEC, description="exec: the command on an exec channel; vrp, comware, ruijie: from the CLI prompt with the "
                          "pager turned off first (docs/ssh.md)")
    command: str = Field(DEFAULT_CONFIG_COMMAND, min_length=1, max_length=256,
                         description="Prints the configuration (read-only); default the platform's "
                                     "(show running-config; display current-configuration on vrp and comware)")
    name: str = Field("running", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                      description="Which configuration this is (running, startup, ...)")
    ignore: tuple[str, ...] = Field((), description="Extra regular expressions for volatile lines to drop")
    redact: bool = Field(True, description="Replace passwords, communities and keys by <redacted> before storing")
    interval: PositiveDuration | None = Field(3600.0, description="How often the configuration is fetched")
    timeout: PositiveDuration | None = Field(60.0, description="The whole fetch")

    _cmd = field_validator("command")(classmethod(lambda cls, v: _read_only(v)))

    @field_validator("ignore")
    @classmethod
    def _ignore(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _compile(pattern, f"ignore {pattern!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _platform_command(cls, data: object) -> object:
        """No command given: the platform's own (VRP and Comware have no `show running-config`)."""
        if isinstance(data, dict) and "command" not in data and data.get("platform") in PLATFORMS:
            return {**data, "command": PLATFORMS[data["platform"]].config}
        return data

    def default_id(self) -> str:
        return f"ssh_config:{self.name}"


CheckSpec = Annotated[IcmpSpec | TcpSpec | HttpSpec | SnmpSpec | SnmpInterfaceSpec | SshSpec | SshConfigSpec
                      | Hj212Spec | PresenceSpec,
                      Field(discriminator="type")]
