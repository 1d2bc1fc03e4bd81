"""A site poller's SNMP and SSH checks: the secrets from its own file, the collector's hubs (docs/poller.md).

The share names a check's credential by id only (`credential: core-v3`); the secret stays at the prefecture, in
the poller's credentials file (`opsmon poller --credentials`, default /etc/opsmon/poller-credentials.yaml): the
`snmp:` and `ssh:` sections of collector.yaml's format (credentials inline, or better `*_env` / `*_file`, SNMP
settings, `known_hosts`), so no secret crosses the WAN and none is logged. The checks run with the collector's own
hubs (inputs/snmp/hub.py, inputs/ssh/hub.py): the same polls, profiles, fault rules, host key verification and
reasons as the centre's.

- Read only when the share first holds an SNMP or SSH check, and each hub made only then: the poller stays light
  (pysnmp and paramiko, the profiles' YAML, are not loaded for a site of ICMP, TCP and HTTP checks).
- A credential the file lacks, a missing file, a file that does not validate, or a secret that cannot be read:
  the check is `unknown` with the reason, Chinese first (`Unresolved`), logged once per reason; never a crash.
- What the hubs publish goes into the poller's reports: results (the device's, and its links' `snmp_interface`
  states, `uplinks` of the share) as observations, hardware faults as `polled_hardware` with the device's poll
  check, the SSH hub's host key events and findings (trusted on first use, changed: refused) as `polled_events`
  with the asset's SSH check; the collector counts them only from the poller that owned that check at their time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsmon.collector.core.errors import ConfigError
from opsmon.collector.core.messages import Event, HardwareSignal, Message, SecurityFinding
from opsmon.collector.core.states import UNKNOWN, Observation
from opsmon.collector.inputs.checks.base import Check, CheckContext, Outcome
from opsmon.collector.inputs.poller.share import DEVICE_TYPES

log = logging.getLogger("opsmon.poller")
CREDENTIALS = "/etc/opsmon/poller-credentials.yaml"
SECTION = {"snmp": "SNMP", "ssh": "SSH"}


class Unresolved(Check):
    """A check the poller cannot run for want of its credential: unknown, with why (never down: nothing was asked
    of the device)."""

    type_name = "unresolved"

    def __init__(self, check: Check, reason: str) -> None:
        super().__init__(check.asset_id, check.address, check.spec, check.timeout, check.ctx)
        self.reason = reason

    async def probe(self) -> Outcome:
        return Outcome(UNKNOWN, self.reason)


def held_at_pollers(kind: str, credential: str, site: str | None) -> str:
    """Why the centre cannot run a check whose credential only the site pollers hold (`pollers.snmp_credentials`,
    `ssh_credentials`): its site has no enrolled poller (so the check is the centre's), or it has no site."""
    return (f"凭据 {credential!r} 只在站点轮询器上，站点 {site or '-'} 没有登记的轮询器 / {SECTION[kind]} credential "
            f"{credential!r} is held by the site pollers only, and site {site or '-'} has no enrolled poller (opsmon "
            f"agents enroll NAME --site {site or 'SITE'} --poller)")


def readings_at_poller(device: str, poller: str) -> str:
    """Why the centre shows none of a device's interface readings (the API's `interfaces`): a site poller polls it,
    and its counters and rates are on that poller's own /metrics (metrics_door.py); its faults are incidents."""
    return (f"{device} 由站点轮询器 {poller} 轮询：接口计数和速率在该轮询器自己的 /metrics 上"
            f"（poller.toml 设置了 metrics_port 时，在 metrics_address:metrics_port；默认不开），"
            f"中心不保存；硬件故障见该资产的事件 / "
            f"{device} is polled by the site poller {poller}: its interface counters and rates are on that "
            f"poller's own /metrics (at metrics_address:metrics_port when its poller.toml sets metrics_port, off "
            f"by default), not kept at the centre; its hardware faults are its incidents (docs/poller.md)")


class PollerDevices:
    """The poller's SNMP and SSH hubs, made from its credentials file when the share first needs them."""

    def __init__(self, path: str, ctx: CheckContext, take: Callable[[Observation], None],
                 take_extra: Callable[[str, dict[str, Any]], None]) -> None:
        """take: a result for the reports; take_extra: (report field, item) for them (share.py: PolledFault,
        PolledEvent)."""
        self.path = Path(path)
        self.ctx = ctx
        self.take = take
        self.take_extra = take_extra
        self.problem: dict[str, str] = {}  # "snmp"/"ssh" -> why its hub could not be made (the file, a secret)
        self.settings: Any = None  # the file's sections, once read
        self._said: set[str] = set()  # reasons logged already
        self._poll_check: dict[str, str] = {}  # device -> its snmp check's id (whose owner judges its faults)
        self._ssh_check: dict[str, str] = {}  # asset -> an ssh check's id (whose owner judges its host key events)

    # -- the file and the hubs -------------------------------------------------
    def _read(self) -> Any:
        """The file's `snmp` and `ssh` sections, every entry validated with collector.yaml's models; ConfigError
        names file, line and key. The trap port (traps.file_credentials) reads the same file
        apart, on purpose: only the snmp.credentials entries it names, at the poller's start, so a problem elsewhere
        in the file does not stop it, and the schema (about 2 MB) is loaded only once the share holds an SNMP or
        SSH check."""
        from pydantic import BaseModel, ConfigDict

        from opsmon.collector.config.schema import SnmpConfig
        from opsmon.collector.config.ssh import SshConfig
        from opsmon.collector.config.yamlfile import read_yaml

        class PollerCredentials(BaseModel):
            model_config = ConfigDict(extra="forbid", frozen=True)
            snmp: SnmpConfig = SnmpConfig()
            ssh: SshConfig = SshConfig()

        doc = read_yaml(self.path)
        if doc.data is None:
            return PollerCredentials()
        return doc.validate(PollerCredentials)

    def _hub(self, kind: str) -> None:
        if getattr(self.ctx, kind) is not None or kind in self.problem:
            return
        try:
            if self.settings is None:
                self.settings = self._read()
            section = getattr(self.settings, kind)
            if not section.credentials:
                raise ConfigError(str(self.path), kind + ".credentials", "defines no credential")
            if kind == "snmp":
                from opsmon.collector.inputs.snmp.hub import SnmpHub

                hub: Any = SnmpHub(section, self.path.parent, str(self.path), self._publish, self.ctx.pinger,
                                   self.ctx.clock)
            else:
                from opsmon.collector.inputs.ssh.hub import SshHub

                hub = SshHub(section, self.path.parent, str(self.path), self._publish, clock=self.ctx.clock)
        except ConfigError as exc:  # the text names file, line and key; a secret's value never appears in it
            self.problem[kind] = (f"站点轮询器无法使用凭据文件 / the site poller cannot use its credentials file: "
                                  f"{str(exc)[:300]}")
            log.error("poller credentials file cannot be used; its %s checks are unknown", SECTION[kind],
                      extra={"file": str(self.path), "error": str(exc)[:300]})
            return
        except OSError as exc:
            self.problem[kind] = (f"站点轮询器无法读取凭据文件 {self.path} / the site poller cannot read its "
                                  f"credentials file {self.path}: {exc.strerror or exc}")
            log.error("poller credentials file cannot be read; its %s checks are unknown", SECTION[kind],
                      extra={"file": str(self.path), "error": str(exc)[:200]})
            return
        setattr(self.ctx, kind, hub)
        log.info("poller %s hub ready", SECTION[kind], extra={"file": str(self.path),
                                                              "credentials": ", ".join(sorted(hub.credentials))})

    def prepare(self, share: dict[str, Any]) -> None:
        """The hubs the share's checks need, and the SNMP hub's uplinks (the links read from its devices)."""
        kinds = {str(item.get("spec", {}).get("type")) for item in share.get("checks", []) if isinstance(item, dict)}
        for kind in DEVICE_TYPES:
            if kind in kinds:
                self._hub(kind)
        self._poll_check, self._ssh_check = {}, {}  # filled again by check() as the share's checks are built
        devices = {str(item.get("asset")) for item in share.get("checks", [])
                   if isinstance(item, dict) and item.get("spec", {}).get("type") == "snmp"}
        if self.ctx.snmp is not None:
            from opsmon.collector.inputs.snmp.hub import Uplink

            uplinks: dict[str, list[Uplink]] = {}
            for u in share.get("uplinks", []):
                uplinks.setdefault(str(u["device"]), []).append(Uplink(str(u["link"]), str(u["check"]),
                                                                       str(u["interface"])))
            self.ctx.snmp.set_uplinks(uplinks)
            self.ctx.snmp.forget(devices)

    def check(self, check: Check) -> Check:
        """The check as the poller runs it: itself, or `Unresolved` when its credential is not here."""
        kind = check.type_name
        if kind not in DEVICE_TYPES:
            return check
        (self._poll_check if kind == "snmp" else self._ssh_check)[check.asset_id] = check.check_id
        hub = getattr(self.ctx, kind)
        if hub is None:
            reason = self.problem.get(kind) or (f"站点轮询器没有 {SECTION[kind]} 凭据 / the site poller has no "
                                                f"{SECTION[kind]} credentials ({self.path})")
        elif check.spec.credential in hub.credentials:
            return check
        else:
            reason = (f"站点轮询器没有凭据 {check.spec.credential!r}（在 {self.path} 的 {kind}.credentials 中定义）"
                      f" / the site poller has no {SECTION[kind]} credential {check.spec.credential!r} (define it "
                      f"under {kind}.credentials in {self.path})")
        if reason not in self._said:
            self._said.add(reason)
            log.error("a check's credential is missing at the poller; the check is unknown",
                      extra={"asset": check.asset_id, "check": check.check_id, "reason": reason})
        return Unresolved(check, reason)

    # -- what the hubs publish ------------------------------------------------
    def _publish(self, msg: Message) -> None:
        if isinstance(msg, Observation):
            self.take(msg)
        elif isinstance(msg, HardwareSignal):
            self.take_extra("polled_hardware", {
                "asset": msg.asset_id, "check": self._poll_check.get(msg.asset_id, "snmp"),
                "ts": round(msg.ts.timestamp(), 3), "component": msg.component[:100], "problem": msg.problem[:500]})
        elif isinstance(msg, Event) and msg.asset_id and msg.asset_id in self._ssh_check:
            self.take_extra("polled_events", {
                "asset": msg.asset_id, "check": self._ssh_check[msg.asset_id], "ts": round(msg.ts.timestamp(), 3),
                "name": msg.name, "severity": msg.severity, "summary": msg.summary[:2000],
                "details": {k: None if v is None else str(v)[:300] for k, v in msg.details.items()}})
        elif isinstance(msg, SecurityFinding) and msg.asset_id in self._ssh_check:
            self.take_extra("polled_events", {
                "asset": msg.asset_id, "check": self._ssh_check[msg.asset_id], "ts": round(msg.at.timestamp(), 3),
                "name": "ssh_host_key", "severity": msg.severity, "summary": msg.cause[:2000], "key": msg.key[:300],
                "failing": msg.failing})

    def close(self) -> None:
        for kind in DEVICE_TYPES:
            hub = getattr(self.ctx, kind)
            if hub is not None:
                hub.close()
