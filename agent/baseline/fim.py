"""File integrity monitoring: SHA-256, owner and mode of configured paths, changes as events.

The first scan of a path records its baseline and reports nothing; every later scan compares
with the stored state (a JSON file in the spool directory, so a restart does not re-baseline)
and returns one event per change: added, removed, modified (content, size or type), mode,
owner. Directories are walked without following symlinks (a symlink is recorded with its
target) and without leaving the path's filesystem.

Cost: a file is hashed again only when its size, mtime, ctime or inode changed (chmod and
chown change ctime, and ctime cannot be set back by a user); files over `max_file_bytes`
are tracked by size and times only; at most `max_files` entries per scan.
"""
from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

from opsmon.agent.baseline import state
from opsmon.agent.compat import sha256

DEFAULT_PATHS = (
    "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d",
    "/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d", "/etc/pam.d", "/etc/security", "/etc/crontab",
    "/etc/cron.d", "/etc/hosts", "/etc/ld.so.preload", "/etc/systemd/system",
    "/usr/bin/sudo", "/usr/bin/su", "/usr/bin/passwd", "/usr/bin/login", "/usr/sbin/sshd",
    "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg",
)
SECRET = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-")  # no digests in events for these
MAX_EVENTS = 200


def _digest(path: str, limit: int) -> str:
    h = sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            limit -= len(chunk)
            if limit < 0:
                return "large"
    return h.hexdigest()


class Fim:
    def __init__(self, paths: list[str] | tuple[str, ...], state_file: str | Path, max_file_bytes: int = 64 << 20,
                 max_files: int = 20000, root: str = "/") -> None:
        self.paths = list(paths)
        self.state_file = Path(state_file)
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.root = root
        self.truncated = False
        self.state: dict[str, dict[str, list[Any]]] = self._load()

    def _load(self) -> dict[str, dict[str, list[Any]]]:
        roots = state.load(self.state_file).get("roots")
        return {k: v for k, v in roots.items() if isinstance(v, dict)} if isinstance(roots, dict) else {}

    def _save(self) -> None:
        state.save(self.state_file, {"version": 1, "roots": self.state})

    def _host(self, p: str) -> str:
        return p if self.root == "/" else "/" + os.path.relpath(p, self.root).lstrip("/")

    def _entry(self, path: str, st: os.stat_result, old: list[Any] | None) -> list[Any]:
        """[kind, mode, uid, gid, size, mtime_ns, ctime_ns, ino, digest-or-target]"""
        if stat.S_ISLNK(st.st_mode):
            kind, digest = "l", os.readlink(path)
        elif stat.S_ISDIR(st.st_mode):
            kind, digest = "d", ""
        elif stat.S_ISREG(st.st_mode):
            kind = "f"
            same = old is not None and old[0] == "f" and old[4:8] == [st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                                                     st.st_ino]
            if same:
                digest = old[8]
            elif st.st_size > self.max_file_bytes:
                digest = "large"
            else:
                try:
                    digest = _digest(path, self.max_file_bytes)
                except OSError:
                    digest = "unreadable"
        else:
            kind, digest = "o", ""
        return [kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                st.st_ino, digest]

    def _walk(self, top: str, old: dict[str, list[Any]], budget: list[int]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        base = top if self.root == "/" else os.path.join(self.root, top.lstrip("/"))
        try:
            st = os.lstat(base)
        except OSError:
            return out
        out[top] = self._entry(base, st, old.get(top))
        if not stat.S_ISDIR(st.st_mode):
            return out
        dev, stack = st.st_dev, [base]
        while stack:
            d = stack.pop()
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                if budget[0] <= 0:
                    self.truncated = True
                    return out
                budget[0] -= 1
                try:
                    est = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                key = self._host(e.path)
                out[key] = self._entry(e.path, est, old.get(key))
                if stat.S_ISDIR(est.st_mode) and est.st_dev == dev:
                    stack.append(e.path)
        return out

    def scan(self, now: float | None = None) -> list[dict[str, Any]]:
        """Scan every configured path; returns the change events since the last scan."""
        now = now or time.time()
        self.truncated = False
        budget = [self.max_files]
        events: list[dict[str, Any]] = []
        new_state: dict[str, dict[str, list[Any]]] = {}
        for top in self.paths:
            old = self.state.get(top)
            cur = self._walk(top, old or {}, budget)
            new_state[top] = cur
            if old is None:
                continue  # a path seen for the first time: its baseline, no events
            for path in sorted(set(old) | set(cur)):
                events.extend(self._compare(path, old.get(path), cur.get(path), now))
        self.state = new_state
        self._save()
        if len(events) > MAX_EVENTS:
            extra = len(events) - MAX_EVENTS + 1
            events = events[:MAX_EVENTS - 1] + [{"path": self.paths[0] if self.paths else "", "change": "many",
                                                 "detail": f"{extra} more changes not listed", "ts": now}]
        return events

    def _compare(self, path: str, a: list[Any] | None, b: list[Any] | None, now: float) -> list[dict[str, Any]]:
        def ev(change: str, detail: str) -> dict[str, Any]:
            return {"path": path[:4096], "change": change, "detail": detail[:500], "ts": now}

        if a is None and b is not None:
            return [ev("added", f"{_kind(b)} mode {b[1]:04o} uid {b[2]} gid {b[3]} size {b[4]}")]
        if b is None and a is not None:
            return [ev("removed", f"{_kind(a)} was mode {a[1]:04o} size {a[4]}")]
        assert a is not None and b is not None
        out = []
        if a[0] != b[0]:
            out.append(ev("modified", f"type {_kind(a)} -> {_kind(b)}"))
        elif a[0] == "f" and (a[8] != b[8] or a[4] != b[4]):
            secret = path in SECRET
            digests = "" if secret or "large" in (a[8], b[8]) else f", sha256 {str(a[8])[:12]} -> {str(b[8])[:12]}"
            out.append(ev("modified", f"content changed, size {a[4]} -> {b[4]}{digests}"))
        elif a[0] == "l" and a[8] != b[8]:
            out.append(ev("modified", f"symlink target {a[8]} -> {b[8]}"))
        if a[1] != b[1]:
            out.append(ev("mode", f"{a[1]:04o} -> {b[1]:04o}"))
        if a[2] != b[2] or a[3] != b[3]:
            out.append(ev("owner", f"{a[2]}:{a[3]} -> {b[2]}:{b[3]}"))
        return out


def _kind(e: list[Any]) -> str:
    return {"f": "file", "d": "directory", "l": "symlink"}.get(e[0], "special file")
