"""The on-call roster in force: oncall.yaml plus the overrides stored through the API or CLI.

The file is read again when it changes (checked with the periodic reload, every 10 s) or on SIGHUP, and
taken only when it validates: a bad file keeps the schedule in force, and every problem (file:line, key,
reason) is logged and kept for `GET /api/v1/oncall` until a good file replaces it. Stored overrides are
taken up the same way, so neither needs a restart.

`handoffs(now)` says who came on call since it was last asked, per schedule, for the handoff notice; the
first call (at start) only notes who is on call: a restart is not a handoff.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opsmon.collector.config.oncall import Oncall, load_oncall
from opsmon.collector.core.errors import ConfigError, ConfigProblems
from opsmon.collector.store import Store
from opsmon.collector.store.oncall import live_overrides, overrides_mark

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shift:
    """Who is on call on one schedule now, until when, and who follows."""

    schedule: str
    person: str
    until: datetime | None
    next_person: str | None


class Roster:
    def __init__(self, path: Path, store: Store, channels: Collection[str] | None = None) -> None:
        """`channels`: the notification channels collector.yaml defines; a reloaded file naming another is
        refused (at start, config/load.py checks the same)."""
        self.path = path
        self.store = store
        self.known_channels = channels
        self.from_file: Oncall = load_oncall(str(path))  # at start a bad file stops the collector, as before
        self.current: Oncall = self.from_file
        self.errors: list[str] = []  # the problems of the last file read that was refused
        self.loaded_at: datetime | None = None
        self._file_mark = self._read_mark()
        self._overrides_mark: tuple[int, int] | None = None
        self._on_call: dict[str, str] | None = None
        self.reload()

    def _read_mark(self) -> str:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return ""

    def reload(self, force: bool = False) -> bool:
        """Take up a changed file (when valid) and changed stored overrides; True when the roster changed."""
        changed = False
        mark = self._read_mark()
        if force or mark != self._file_mark:
            self._file_mark = mark
            try:
                self.from_file = self._read()
            except ConfigError as exc:
                problems = exc.problems if isinstance(exc, ConfigProblems) else [exc]
                self.errors = [str(p) for p in problems]
                for p in problems:
                    log.error("oncall file refused, the schedule in force is kept",
                              extra={"file": p.file, "key": p.keypath, "reason": p.reason})
            else:
                self.errors = []
                changed = True
                log.info("oncall file loaded", extra={"file": str(self.path)})
        omark = overrides_mark(self.store)
        if changed or omark != self._overrides_mark:
            self._overrides_mark = omark
            self.current = self.from_file.with_overrides(live_overrides(self.store))
            changed = True
        return changed

    def _read(self) -> Oncall:
        oncall = load_oncall(str(self.path))
        if self.known_channels is not None:
            missing = sorted(oncall.channels() - set(self.known_channels))
            if missing:
                raise ConfigError(str(self.path), "policies", f"channel {missing[0]!r} is not defined under "
                                  "notify.channels in collector.yaml")
        return oncall

    def shifts(self, at: datetime) -> list[Shift]:
        out = []
        for name, schedule in self.current.schedules.items():
            nxt = schedule.next_change(at)
            out.append(Shift(name, schedule.on_call(at), nxt[0] if nxt else None, nxt[1] if nxt else None))
        return out

    def handoffs(self, at: datetime) -> list[tuple[str, str]]:
        """(schedule, person) for each schedule whose on-call person changed since the last call."""
        now = {name: s.on_call(at) for name, s in self.current.schedules.items()}
        before, self._on_call = self._on_call, now
        if before is None:
            return []
        return [(name, who) for name, who in now.items() if before.get(name) not in (None, who)]
