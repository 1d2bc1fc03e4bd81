"""Network device configuration backup: normalise, store changed versions, diff, judge.

`ConfigBackup.record()` takes one fetched configuration and:

1. normalises it: line ends, trailing blanks, and volatile lines dropped (the built-in
   patterns below plus `ssh.ignore` and the check's own `ignore`);
2. redacts secrets (passwords, communities, keys) unless the check says `redact: false`;
3. stores a new version only when the normalised text differs from the latest (sha256);
4. emits one event: `config_baseline` (info) for the first version; for a change,
   `config_change` of kind `config` (info) when a maintenance window for the asset was
   open at some time since the previous fetch, else of kind `security` (warning), with a
   bounded unified diff in its details; the unexpected change also opens a security incident
   (a `SecurityFinding` keyed `config:<name>`, issue 23), which a person resolves.

It is synchronous (SQLAlchemy): the hub runs it in a worker thread.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from opsmon.collector.core.messages import Event, Message, SecurityFinding
from opsmon.collector.store.config_versions import unified_diff
from opsmon.collector.store.models import ConfigVersion

# Lines that change without anyone changing the configuration.
DEFAULT_IGNORE: tuple[str, ...] = (
    r"^Building configuration",                     # IOS preamble
    r"^Current configuration\s*:",                  # IOS: "Current configuration : 1234 bytes"
    r"^!\s*Last configuration change at",           # IOS
    r"^!\s*NVRAM config last updated at",           # IOS
    r"^!\s*No configuration change since last restart",
    r"^\s*ntp clock-period\s",                      # IOS: rewritten by NTP discipline
    r"^!\s*Time:",                                  # NX-OS "!Time: Mon Jan  1 ..."
    r"^!\s*Running configuration last done at",     # NX-OS
    r"^#+\s*Last (commit|changed):",                # Junos "## Last commit: ..."
    r"^#conf_file_ver=",                            # FortiOS, bumped on every save
    r"^!\s*Last configuration was (?:updated|saved) at",  # VRP: "!Last configuration was updated at 2026-..."
    r"^\s*:\s*Saved\s*$",                           # ASA
    r"^Cryptochecksum:",                            # ASA
)

# (prefix group, secret) on one line; the secret becomes <redacted>.
REDACT: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.IGNORECASE) for p in (
    # VRP "local-user admin password irreversible-cipher X", Comware " password hash X" (in a local-user block)
    r"^(\s*(?:local-user\s+\S+\s+)?password\s+(?:irreversible-cipher|cipher|simple|hash)\s+)(\S+)",
    r"^(\s*snmp-agent\s+community\s+(?:read|write)\s+(?:cipher\s+|simple\s+)?)(\S+)",   # VRP, Comware
    # IOS enable / line password (not the VRP/Comware form above, whose next word is the cipher kind)
    r"^(\s*(?:enable\s+)?(?:secret|password)\s+(?!(?:irreversible-cipher|cipher|simple|hash)\s)(?:\d+\s+)?)(\S+)",
    r"^(\s*username\s+\S+.*?\s(?:secret|password)\s+(?:\d+\s+)?)(\S+)",                   # IOS users
    r"^(\s*snmp-server\s+community\s+)(\S+)",                                             # IOS communities
    r"^(\s*snmp-server\s+host\s+\S+(?:\s+(?:informs|traps))?(?:\s+version\s+\S+)?\s+)(\S+)",
    r"^(\s*(?:tacacs-server|radius-server)\s+(?:.*\s)?key\s+(?:\d+\s+)?)(\S+)",
    r"^(\s*(?:key-string|key|pre-shared-key|authentication-key|md5-key)\s+(?:\d+\s+)?)(\S+)",
    r"^(\s*(?:ip\s+)?ospf\s+message-digest-key\s+\d+\s+md5\s+(?:\d+\s+)?)(\S+)",
    r"^(\s*neighbor\s+\S+\s+password\s+(?:\d+\s+)?)(\S+)",                                # BGP
    r"^(\s*set\s+(?:password|passwd|psksecret|secret|key|auth-pwd|priv-pwd)\s+(?:ENC\s+)?)(\S+)",  # FortiOS
    # Junos: secrets are quoted ("$9$...", "$6$..."); SNMP communities in both syntaxes
    r"((?<![\w-])(?:encrypted-password|secret|authentication-key|pre-shared-key\s+ascii-text)\s+)(\"[^\"]*\")",
    r"^(\s*(?:set\s+snmp\s+)?community\s+)(\"[^\"]*\"|[^\s;{]+)",
    # VRP/Comware: whatever follows "cipher" is a (reversible) secret, wherever it stands: radius/hwtacacs
    # shared-key, snmp-agent usm-user's two keys, ospf/isis authentication-mode ... cipher X; and a plain or
    # hashed one after a password or key word (Comware "super password ... hash X")
    r"((?<![\w-])(?:irreversible-cipher|cipher)\s+)(\S+)",
    r"((?<![\w-])(?:password|shared-key|key)\s+(?:\S+\s+){0,2}(?:simple|hash|plain)\s+)(\S+)",
))
REDACTED = "<redacted>"


def compile_patterns(*groups: Iterable[str]) -> list[re.Pattern[str]]:
    return [re.compile(p) for group in groups for p in group]


def normalise(text: str, ignore: Sequence[re.Pattern[str]]) -> str:
    """Unix line ends, no trailing blanks, volatile lines dropped, no blank lines at either end."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if not any(p.search(line) for p in ignore)]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def redact(text: str) -> str:
    out = []
    for line in text.split("\n"):
        for pattern in REDACT:
            line = pattern.sub(lambda m: m.group(1) + REDACTED, line)
        out.append(line)
    return "\n".join(out)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def bounded(lines: list[str], max_lines: int, max_bytes: int = 64 << 10, width: int = 400) -> tuple[str, bool]:
    """The diff for an event: at most max_lines lines of at most `width` characters and max_bytes in all."""
    out: list[str] = []
    size = 0
    for line in lines[:max_lines]:
        line = line if len(line) <= width else line[:width] + "…"
        size += len(line) + 1
        if size > max_bytes:
            break
        out.append(line)
    return "\n".join(out), len(out) < len(lines)


# (asset_id, since, until) -> ids of the maintenance windows covering the asset at some time in [since, until]
WindowLookup = Callable[[str, datetime, datetime], str | None]


@dataclass
class RecordResult:
    version: int
    changed: bool
    first: bool = False
    event: Event | None = None
    diff: list[str] = field(default_factory=list)


class ConfigBackup:
    def __init__(self, store: Any, publish: Callable[[Message], None], window_for: WindowLookup,
                 ignore: Iterable[str] = (), max_diff_lines: int = 200, source: str = "ssh") -> None:
        self.store = store
        self.publish = publish
        self.window_for = window_for
        self.ignore = tuple(ignore)
        self.max_diff_lines = max_diff_lines
        self.source = source
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._patterns: dict[tuple[str, ...], list[re.Pattern[str]]] = {}

    def _lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def patterns(self, extra: Sequence[str]) -> list[re.Pattern[str]]:
        key = tuple(extra)
        if key not in self._patterns:
            self._patterns[key] = compile_patterns(DEFAULT_IGNORE, self.ignore, extra)
        return self._patterns[key]

    def record(self, asset_id: str, fetched: str, at: datetime, command: str, name: str = "running",
               ignore: Sequence[str] = (), redact_secrets: bool = True) -> RecordResult:
        text = normalise(fetched, self.patterns(ignore))
        raw_digest = sha256(text)
        content = redact(text) if redact_secrets else text
        digest = sha256(content)
        with self._lock((asset_id, name)), self.store.session.begin() as session:
            prev = session.scalars(
                select(ConfigVersion)
                .where(ConfigVersion.asset_id == asset_id, ConfigVersion.name == name)
                .order_by(ConfigVersion.version.desc()).limit(1)).first()
            if prev is not None and prev.raw_sha256 == raw_digest:
                prev.last_seen = at
                return RecordResult(prev.version, changed=False)
            version = prev.version + 1 if prev is not None else 1
            session.add(ConfigVersion(asset_id=asset_id, name=name, version=version, fetched_at=at, last_seen=at,
                                      sha256=digest, raw_sha256=raw_digest, size=len(content.encode()),
                                      command=command[:256], content=content))
            prev_info = (prev.version, prev.content, prev.last_seen) if prev is not None else None
        if prev_info is None:
            event = Event(asset_id, at, self.source, "config", "config_baseline", "info",
                          f"first {name} configuration stored (version 1, {len(content.encode())} bytes)",
                          {"config": name, "version": 1, "sha256": digest})
            self.publish(event)
            return RecordResult(1, changed=True, first=True, event=event)
        prev_version, prev_content, prev_seen = prev_info
        diff = unified_diff(prev_content, content, f"{asset_id} {name} v{prev_version}",
                            f"{asset_id} {name} v{version}")
        added = sum(1 for d in diff if d.startswith("+") and not d.startswith("+++"))
        removed = sum(1 for d in diff if d.startswith("-") and not d.startswith("---"))
        shown, truncated = bounded(diff, self.max_diff_lines)
        window = self.window_for(asset_id, prev_seen, at)
        what = f"+{added} -{removed} lines" if diff else "only redacted secrets changed"
        details = {"config": name, "version": version, "previous": prev_version, "sha256": digest,
                   "added": added, "removed": removed, "secrets_changed": not diff, "diff": shown,
                   "diff_truncated": truncated, "window": window, "since": prev_seen.isoformat()}
        if window:
            event = Event(asset_id, at, self.source, "config", "config_change", "info",
                          f"{name} configuration changed in maintenance window {window}: {what} "
                          f"(v{prev_version} -> v{version})", details)
        else:
            event = Event(asset_id, at, self.source, "security", "config_change", "warning",
                          f"unexpected change of the {name} configuration outside any maintenance "
                          f"window: {what} (v{prev_version} -> v{version})", details)
            self.publish(SecurityFinding(asset_id, f"config:{name}", True, at, event.summary))
        self.publish(event)
        return RecordResult(version, changed=True, event=event, diff=diff)
