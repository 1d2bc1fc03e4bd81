"""Authentication activity: failed and successful logins from the auth log or the journal.

Reads only what is new since the last read: the position (inode and offset) is kept in a
state file in the spool directory. When the log was rotated (the path now has another
inode) the rest of the old file is read first, found among `<path>.1` and `<path>-*` by
its inode; when it was truncated in place (copytruncate) it is read from the start. The
first read of a log starts at its end: history before the agent started is not reported.
Without a log file the journal is read (`journalctl -o json --after-cursor`, auth and
authpriv facilities), through the same read-only command runner as the baseline.

What counts (sshd and PAM lines, Debian auth.log and RHEL secure, syslog and RFC 3339 stamps):
- a failure: `Failed <method> for [invalid user] U from IP`, `Invalid user U from IP` when no
  `Failed ... for invalid user` line of the same sshd process follows in the same read (so one
  attempt counts once), and `pam_unix(<service>:auth): authentication failure` of services
  other than sshd (su, login: source `local` unless rhost is set). rsyslog's
  `message repeated N times: [ ... ]` counts N.
- a login: `Accepted <method> for U from IP`.
- brute force: more than `threshold` failures from one source within `window` seconds; a
  source is reported once, and again only after its rate fell back under the threshold.
"""
from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

from opsmon.agent.baseline import state
from opsmon.agent.compat import fromisoformat

AUTH_LOGS = ("/var/log/auth.log", "/var/log/secure")
MAX_READ = 16 << 20  # bytes per read; the rest waits for the next report
MAX_LOGINS = 200
MAX_FAILURES = 1000

_SYSLOG_TS = re.compile(r"^(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<time>\d\d:\d\d:\d\d) ")
_ISO_TS = re.compile(r"^(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) ")
_PROC = re.compile(r"\s(?P<prog>[\w.@/-]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$")
_REPEAT = re.compile(r"^message repeated (\d+) times: \[\s*(.*?)\s*\]$")
_FAILED = re.compile(r"^Failed (?:password|publickey|keyboard-interactive/pam|none|hostbased|gssapi-with-mic) "
                     r"for (?P<invalid>invalid user )?(?P<user>\S*) from (?P<ip>[0-9A-Fa-f.:]+)")
_INVALID = re.compile(r"^Invalid user (?P<user>\S*) from (?P<ip>[0-9A-Fa-f.:]+)")
_ACCEPTED = re.compile(r"^Accepted (?:password|publickey|keyboard-interactive/pam|gssapi-with-mic|hostbased) "
                       r"for (?P<user>\S+) from (?P<ip>[0-9A-Fa-f.:]+)")
_PAM_FAIL = re.compile(r"^pam_unix\((?P<svc>[\w-]+):auth\): authentication failure;(?P<rest>.*)$")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), 1)}
_KINDS = (("failed", _FAILED), ("invalid", _INVALID), ("accepted", _ACCEPTED), ("pam", _PAM_FAIL))


def _classify(msg: str) -> tuple[str, Any]:
    """The first of the sshd/PAM messages `msg` is, and its match; ("", None) for any other line.

    One pattern after another, stopping at the first that matches, as the chain of `elif`s it
    replaced did (Python 3.7 has no `:=` to bind a match inside a condition).
    """
    for kind, pattern in _KINDS:
        hit = pattern.match(msg)
        if hit:
            return kind, hit
    return "", None


def line_time(line: str, now: float) -> float | None:
    m = _ISO_TS.match(line)
    if m:
        try:
            dt = fromisoformat(m.group("iso"))
        except ValueError:
            return None
        return dt.timestamp() if dt.tzinfo else dt.astimezone().timestamp()
    m = _SYSLOG_TS.match(line)
    if not m:
        return None
    year = datetime.fromtimestamp(now).year
    hh, mm, ss = (int(x) for x in m.group("time").split(":"))
    try:
        ts = datetime(year, _MONTHS[m.group("mon")], int(m.group("day")), hh, mm, ss).timestamp()
    except (KeyError, ValueError):
        return None
    if ts > now + 86400:  # a December line read in January
        ts = datetime(year - 1, _MONTHS[m.group("mon")], int(m.group("day")), hh, mm, ss).timestamp()
    return ts


class AuthWatcher:
    def __init__(self, state_file: str | Path, source: str = "auto", threshold: int = 20, window: float = 300.0,
                 commands: Any = None, root: str = "/") -> None:
        self.state_file = Path(state_file)
        self.source = source
        self.threshold = threshold
        self.window = window
        self.commands = commands
        self.root = root
        self.recent: dict[str, deque[float]] = {}
        self.flagged: set[str] = set()
        self.state = self._load()

    # -- persistence ------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        return state.load(self.state_file)

    def _save(self) -> None:
        state.save(self.state_file, self.state)

    # -- reading ----------------------------------------------------------------------------
    def _path(self, p: str) -> str:
        return p if self.root == "/" else os.path.join(self.root, p.lstrip("/"))

    def log_file(self) -> str | None:
        if self.source not in ("auto", "journal"):
            return self.source
        if self.source == "journal":
            return None
        for p in AUTH_LOGS:
            if os.path.isfile(self._path(p)):
                return p
        return None

    def _rotated(self, path: str, inode: int) -> str | None:
        real = self._path(path)
        folder = os.path.dirname(real)
        base = os.path.basename(real)
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return None
        for name in names:
            if name == base or not name.startswith(base) or name.endswith((".gz", ".xz", ".bz2", ".zst")):
                continue
            cand = os.path.join(folder, name)
            try:
                if os.stat(cand).st_ino == inode:
                    return cand
            except OSError:
                continue
        return None

    @staticmethod
    def _read(path: str, offset: int, limit: int) -> tuple[list[str], int]:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(limit)
        cut = data.rfind(b"\n") + 1  # a half-written last line waits for the next read
        return data[:cut].decode("utf-8", "replace").splitlines(), offset + cut

    def read_lines(self) -> list[str]:
        path = self.log_file()
        if path is None:
            return self._journal()
        real = self._path(path)
        try:
            st = os.stat(real)
        except OSError:
            return []
        pos = self.state.get("file")
        lines: list[str] = []
        if not pos or pos.get("path") != path:
            offset = st.st_size  # first read: start at the end
        elif pos.get("inode") != st.st_ino:  # rotated: finish the old file, then the new one from 0
            old = self._rotated(path, int(pos.get("inode", -1)))
            if old is not None:
                try:
                    lines, _ = self._read(old, int(pos.get("offset", 0)), MAX_READ)
                except OSError:
                    pass
            offset = 0
        elif st.st_size < int(pos.get("offset", 0)):  # truncated in place
            offset = 0
        else:
            offset = int(pos["offset"])
        more, offset = self._read(real, offset, MAX_READ)
        self.state["file"] = {"path": path, "inode": st.st_ino, "offset": offset}
        self._save()
        return lines + more

    def _journal(self) -> list[str]:
        if self.commands is None:
            return []
        cursor = self.state.get("cursor")
        argv = ["journalctl", "-o", "json", "--no-pager", "SYSLOG_FACILITY=4", "SYSLOG_FACILITY=10"]
        argv += ["--after-cursor", cursor, "-n", "20000"] if cursor else ["-n", "1"]
        out = self.commands.run(argv)
        if out.rc != 0 or out.error:
            return []
        lines = []
        last = cursor
        for raw in out.stdout.splitlines():
            try:
                doc = json.loads(raw)
            except ValueError:
                continue
            last = doc.get("__CURSOR", last)
            if not cursor:
                continue  # first read: only find where the journal ends
            msg = doc.get("MESSAGE")
            if not isinstance(msg, str):
                continue
            ts = int(doc.get("__REALTIME_TIMESTAMP", "0")) / 1e6
            prog = doc.get("SYSLOG_IDENTIFIER", "?")
            pid = doc.get("_PID") or doc.get("SYSLOG_PID") or ""
            stamp = datetime.fromtimestamp(ts).astimezone().isoformat()
            lines.append(f"{stamp} {doc.get('_HOSTNAME', 'localhost')} {prog}[{pid}]: {msg}")
        if last and last != cursor:
            self.state["cursor"] = last
            self._save()
        return lines

    # -- counting -------------------------------------------------------------------------------
    def parse(self, lines: list[str], now: float | None = None) -> dict[str, Any]:
        now = now or time.time()
        failures: dict[tuple[str, str], int] = {}
        logins: list[dict[str, Any]] = []
        stamps: list[tuple[str, float, int]] = []
        pending: dict[str, tuple[str, str, float]] = {}  # sshd pid -> invalid user not yet followed by "Failed"

        def fail(source: str, user: str, ts: float, n: int = 1) -> None:
            source, user = source[:128], user[:128]  # attackers choose user names: keep them bounded
            failures[(source, user)] = failures.get((source, user), 0) + n
            stamps.append((source, ts, n))

        for line in lines:
            m = _PROC.search(line)
            if not m:
                continue
            ts = line_time(line, now) or now
            prog, pid, msg = m.group("prog"), m.group("pid") or "", m.group("msg").strip()
            count = 1
            rep = _REPEAT.match(msg)
            if rep:
                count, msg = int(rep.group(1)), rep.group(2)
            kind, hit = _classify(msg)
            if kind == "failed":
                if hit.group("invalid"):
                    pending.pop(pid, None)
                fail(hit.group("ip"), hit.group("user"), ts, count)
            elif kind == "invalid":
                if pid in pending:  # the previous connection of this pid never tried a password
                    src, user, t0 = pending.pop(pid)
                    fail(src, user, t0)
                pending[pid] = (hit.group("ip"), hit.group("user"), ts)
            elif kind == "accepted":
                if len(logins) < MAX_LOGINS:
                    logins.append({"user": hit.group("user")[:128], "source": hit.group("ip")[:128], "ts": ts})
            elif kind == "pam" and hit.group("svc") != "sshd" and not prog.startswith("sshd"):
                fields = dict(kv.split("=", 1) for kv in hit.group("rest").split() if "=" in kv)
                fail(fields.get("rhost") or "local", fields.get("user", "") or fields.get("ruser", ""), ts, count)
        for src, user, t0 in pending.values():
            fail(src, user, t0)
        top = sorted(failures.items())
        if len(top) > MAX_FAILURES:  # the most frequent pairs; the report stays small
            top = sorted(sorted(top, key=lambda kv: -kv[1])[:MAX_FAILURES])
        return {"failures": [{"source": s, "user": u, "count": n} for (s, u), n in top],
                "logins": logins, "bruteforce": self._bruteforce(stamps, now)[:100]}

    def _bruteforce(self, stamps: list[tuple[str, float, int]], now: float) -> list[dict[str, Any]]:
        """Sliding window per source over the failures' own times; a source is reported when it first
        exceeds the threshold, with the most failures seen in one window, and again only after its
        count in the window (ending now) fell back to the threshold or below."""
        peak: dict[str, int] = {}
        for source, ts, n in sorted(stamps, key=lambda s: s[1]):
            q = self.recent.setdefault(source, deque())
            q.extend([ts] * n)
            while q and q[0] < ts - self.window:
                q.popleft()
            if len(q) > self.threshold and source not in self.flagged:
                peak[source] = max(peak.get(source, 0), len(q))
        for source in list(self.recent):
            q = self.recent[source]
            while q and q[0] < now - self.window:
                q.popleft()
            if len(q) <= self.threshold and source not in peak:
                self.flagged.discard(source)
            if not q:
                del self.recent[source]
        self.flagged |= set(peak)
        return [{"source": s, "count": c, "window_s": self.window} for s, c in sorted(peak.items())]

    def collect(self, now: float | None = None) -> dict[str, Any] | None:
        """New activity since the last call, or None when there was none."""
        result = self.parse(self.read_lines(), now)
        if not (result["failures"] or result["logins"] or result["bruteforce"]):
            return None
        return result
