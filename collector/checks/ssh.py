"""SSH checks for devices without an agent or usable SNMP.

`ssh` runs one read-only command and judges what it prints: a substring (`expect`), a
regular expression (`regex`), and/or a number taken from the output (`number`) against
bounds. `ssh_config` fetches a configuration (`show running-config`) on a schedule and
hands it to the config backup (collector/ssh/backup.py), which stores changed versions
and raises events; the check itself is up when the fetch worked.

The command is sent to the device's exec channel; nothing runs in a shell on the
collector. Commands that obviously change a device are refused at load time, but that
screen is best effort: the operator is responsible for giving read-only commands, and
should give opsmon a read-only account on the device.
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from collector.checks.base import Check, CheckSpecBase, Outcome
from collector.fields import FROZEN, PositiveDuration
from collector.ssh.types import CommandResult, HostKeyMismatch, UnknownHostKey
from collector.states import DEGRADED, DOWN, UNKNOWN, UP

# First words that change a device on common network OSes and Unix shells.
MUTATING = frozenset("""
configure config conf write wr copy delete del erase reload reboot shutdown no set unset commit rollback
clear request format rm rmdir mv cp dd mkfs kill killall halt poweroff install upgrade load save
execute restart edit tee passwd useradd userdel usermod chmod chown crontab systemctl service sudo su
""".split())
# Output pipes that write (IOS `| redirect`, `| tee`, `| append`; Junos `| save`).
WRITING_PIPES = frozenset(("redirect", "tee", "append", "save"))
# What network devices print, with exit status 0, when they refuse a command.
DEVICE_ERROR = r"(?m)^\s*(%|\^|syntax error|error:|unknown command|invalid (input|command))"
SNIPPET = 120


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
    port: int = Field(22, ge=1, le=65535)
    host: str | None = Field(None, description="Defaults to the asset's address")
    trust_on_first_use: bool = Field(
        False, description="Trust and save the host key if the host is not in known_hosts yet (a changed key is "
                           "always refused)")
    error_regex: str | None = Field(DEVICE_ERROR, description="Output matching this means the device refused the "
                                                              "command (null: do not look)")

    _error = field_validator("error_regex")(classmethod(lambda cls, v: _compile(v, "error_regex")))


class SshSpec(_SshBase):
    type: Literal["ssh"]
    command: str = Field(min_length=1, max_length=1024, description="A read-only command, run on the exec channel")
    expect: str | None = Field(None, min_length=1, description="The output must contain this text")
    regex: str | None = Field(None, description="The output must match this regular expression (multi-line)")
    number: NumberRule | None = None

    _cmd = field_validator("command")(classmethod(lambda cls, v: _read_only(v)))
    _re = field_validator("regex")(classmethod(lambda cls, v: _compile(v, "regex")))

    def default_id(self) -> str:
        return f"ssh:{self.command}"


class SshConfigSpec(_SshBase):
    type: Literal["ssh_config"]
    command: str = Field("show running-config", min_length=1, max_length=256,
                         description="Prints the configuration (read-only)")
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

    def default_id(self) -> str:
        return f"ssh_config:{self.name}"


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
                                          spec.command, self.timeout, spec.trust_on_first_use)
        except (HostKeyMismatch, UnknownHostKey) as exc:
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
