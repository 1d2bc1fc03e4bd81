"""SSH checks for devices without an agent or usable SNMP.

`ssh` runs one read-only command and judges what it prints: a substring (`expect`), a
regular expression (`regex`), and/or a number taken from the output (`number`) against
bounds. `ssh_config` fetches a configuration (`show running-config`) on a schedule and
hands it to the config backup (collector/inputs/ssh/backup.py), which stores changed versions
and raises events; the check itself is up when the fetch worked.

The command is sent to the device's exec channel; nothing runs in a shell on the
collector. Commands that obviously change a device are refused at load time, but that
screen is best effort: the operator is responsible for giving read-only commands, and
should give opsmon a read-only account on the device.
"""
from __future__ import annotations

import re
from typing import Any

from opsmon.collector.config.checks import SshConfigSpec, SshSpec
from opsmon.collector.config.ssh_platforms import EXEC, PLATFORMS
from opsmon.collector.core.states import DEGRADED, DOWN, UNKNOWN, UP
from opsmon.collector.inputs.checks.base import Check, Outcome
from opsmon.collector.inputs.ssh.types import CommandResult, HostKeyMismatch, UnknownHostKey

# First words that change a device on common network OSes and Unix shells.
# Output pipes that write (IOS `| redirect`, `| tee`, `| append`; Junos `| save`).
# What network devices print, with exit status 0, when they refuse a command.
SNIPPET = 120


def snippet(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= SNIPPET else flat[:SNIPPET] + "…")


def refused(result: CommandResult, spec: Any) -> str | None:
    """Why the device's answer is an error rather than output, or None."""
    said = (result.stderr.strip() or result.stdout.strip()).splitlines()
    first = said[0] if said else ""
    if result.exit_status not in (None, 0):
        return f"{spec.command!r} exited with status {result.exit_status}: {snippet(first)}"
    if spec.error_regex:
        m = re.search(spec.error_regex, result.stdout) or re.search(spec.error_regex, result.stderr)
        if m:
            line = next((ln for ln in (result.stdout + "\n" + result.stderr).splitlines()
                         if m.group(0).strip() in ln), m.group(0))
            return f"the device refused {spec.command!r}: {snippet(line)}"
    return None


def judge(spec: SshSpec, result: CommandResult) -> Outcome:
    why = refused(result, spec)
    if why:
        return Outcome(DOWN, why)
    out = result.stdout
    if spec.expect is not None and spec.expect not in out:
        return Outcome(DOWN, f"expected {spec.expect!r} in the output, got {snippet(out)}")
    if spec.regex is not None and not re.search(spec.regex, out, re.MULTILINE):
        return Outcome(DOWN, f"expected output matching /{spec.regex}/, got {snippet(out)}")
    rule = spec.number
    if rule is not None:
        m = re.search(rule.regex, out, re.MULTILINE)
        if m is None or m.group(1) is None:
            return Outcome(DOWN, f"expected a number matching /{rule.regex}/, got {snippet(out)}")
        try:
            value = float(m.group(1).replace(",", ""))
        except ValueError:
            return Outcome(DOWN, f"expected a number matching /{rule.regex}/, got {m.group(1)!r}")
        if rule.max is not None and value > rule.max:
            return Outcome(DOWN, f"expected at most {rule.max:g}, got {value:g}")
        if rule.min is not None and value < rule.min:
            return Outcome(DOWN, f"expected at least {rule.min:g}, got {value:g}")
        if rule.warn_max is not None and value > rule.warn_max:
            return Outcome(DEGRADED, f"expected at most {rule.warn_max:g} (warning), got {value:g}")
        if rule.warn_min is not None and value < rule.warn_min:
            return Outcome(DEGRADED, f"expected at least {rule.warn_min:g} (warning), got {value:g}")
    return Outcome(UP)


class _SshCheck(Check):
    @property
    def hub(self) -> Any:
        return getattr(self.ctx, "ssh", None)  # the SshHub, when collector.yaml has an ssh section

    def _ready(self) -> Outcome | None:
        hub = self.hub
        if hub is None:
            return Outcome(UNKNOWN, "SSH is not configured (no ssh section in collector.yaml)")
        if self.spec.credential not in hub.credentials:
            return Outcome(UNKNOWN, f"unknown SSH credential {self.spec.credential!r} "
                                    "(define it under ssh.credentials)")
        if not (self.spec.host or self.address):
            return Outcome(UNKNOWN, "the asset has no address")
        return None

    async def _run(self) -> CommandResult | Outcome:
        spec = self.spec
        try:
            return await self.hub.run(self.asset_id, spec.host or self.address, spec.port, spec.credential,
                                          spec.command, self.timeout, spec.trust_on_first_use,
                                          PLATFORMS.get(getattr(spec, "platform", EXEC)))
        except HostKeyMismatch as exc:
            # The device answered; opsmon refuses to trust it. A security incident (the hub's finding), not an
            # outage: unknown keeps it out of the availability figures (issue 23).
            return Outcome(UNKNOWN, str(exc))
        except UnknownHostKey as exc:
            return Outcome(DOWN, str(exc))


class SshCheck(_SshCheck):
    type_name = "ssh"
    Spec = SshSpec

    async def probe(self) -> Outcome:
        problem = self._ready()
        if problem is not None:
            return problem
        result = await self._run()
        return result if isinstance(result, Outcome) else judge(self.spec, result)


class SshConfigCheck(_SshCheck):
    type_name = "ssh_config"
    Spec = SshConfigSpec

    async def probe(self) -> Outcome:
        problem = self._ready()
        if problem is not None:
            return problem
        if self.hub.backup is None:
            return Outcome(UNKNOWN, "configuration backup needs the store (SSH hub started without one)")
        result = await self._run()
        if isinstance(result, Outcome):
            return result
        why = refused(result, self.spec)
        if why:
            return Outcome(DOWN, why)
        if not result.stdout.strip():
            return Outcome(DOWN, f"{self.spec.command!r} printed nothing")
        spec: SshConfigSpec = self.spec
        await self.hub.record_config(self.asset_id, result.stdout, spec.command, spec.name, spec.ignore,
                                         spec.redact)
        return Outcome(UP)
