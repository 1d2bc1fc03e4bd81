"""Walks of system trees, shared by two checks: world-writable files and the SUID/SGID inventory.

One `os.scandir` walk per top directory notes both findings: no symlink is followed, no other
filesystem entered (/proc, NFS), and the walks of one check stop together at `budget_s` seconds
or `max_entries` entries. A walk is kept on the Host for the rest of the run, and a top inside a
walked one, on the same filesystem, is answered from that walk: with the default paths the
world-writable check walks /usr and the SUID check (/usr/bin, /usr/lib*, ...) walks nothing again.

SUID/SGID inventory (8.1.4.2, and 8.1.4.4 f: a new SUID file is an intrusion signal): the first
complete walk of a top is its baseline, kept in `<spool>/setid-state.json`; afterwards a SUID or
SGID file that is not in the baseline fails the check until it is accepted, by a glob in
`suid_allowed` or by removing the state file (the next run records a new baseline). Files that
disappear are not reported: FIM watches the ones that matter (sudo, su, passwd).
"""
from __future__ import annotations

import fnmatch
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsmon.agent.baseline import state
from opsmon.agent.baseline.host import Host
from opsmon.agent.baseline.registry import probe
from opsmon.agent.baseline.results import ERROR, FAIL, NA, PASS

STATE_FILE = "setid-state.json"


@dataclass
class TreeScan:
    top: str  # the host path walked (symlinks of the top itself resolved)
    start: str  # where it is under the host's root
    dev: int
    entries: int = 0
    partial: bool = False
    world_writable: list[str] = field(default_factory=list)  # files, and directories ending in "/"
    setid: dict[str, list[int]] = field(default_factory=dict)  # host path -> [mode, uid, gid]

    def within(self, host: Host, start: Path) -> TreeScan | None:
        """This walk's findings under `start`, when the walk was complete and covered it."""
        inside = str(start) == self.start or str(start).startswith(self.start.rstrip("/") + "/")
        if self.partial or not inside or start.lstat().st_dev != self.dev:
            return None
        top = host.rel(start)
        prefix = top.rstrip("/") + "/"
        return TreeScan(top, str(start), self.dev, 0, False,
                        [p for p in self.world_writable if p == top + "/" or p.startswith(prefix)],
                        {p: v for p, v in self.setid.items() if p.startswith(prefix)})


def _start(host: Host, path: Path) -> Path:
    """A configured top with its own symlinks resolved (/bin -> usr/bin), inside a fixture root too."""
    return Path(os.path.realpath(path)) if host.real else host.inside(path)


def _walk(host: Host, start: Path, budget: list[float]) -> TreeScan:
    """budget = [deadline (monotonic), entries left], shared by the walks of one check."""
    scan = TreeScan(host.rel(start), str(start), start.lstat().st_dev)
    stack = [str(start)]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for e in it:
                scan.entries += 1
                if scan.entries % 2000 == 0 and (time.monotonic() > budget[0] or scan.entries > budget[1]):
                    scan.partial = True
                    budget[1] -= scan.entries
                    return scan
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                mode = st.st_mode
                if stat.S_ISDIR(mode):
                    if st.st_dev != scan.dev:
                        continue
                    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
                        scan.world_writable.append(host.rel(Path(e.path)) + "/")
                    stack.append(e.path)
                elif stat.S_ISREG(mode):
                    if mode & stat.S_IWOTH:
                        scan.world_writable.append(host.rel(Path(e.path)))
                    if mode & (stat.S_ISUID | stat.S_ISGID):
                        scan.setid[host.rel(Path(e.path))] = [stat.S_IMODE(mode), st.st_uid, st.st_gid]
    budget[1] -= scan.entries
    return scan


def scan_trees(host: Host, tops: list[str], budget_s: float, max_entries: int) -> list[TreeScan]:
    """One TreeScan per existing top (globs expanded, symlinked tops resolved, duplicates once), in order."""
    done: dict[str, TreeScan] = host._cache.setdefault("trees", {})
    budget = [time.monotonic() + budget_s, float(max_entries)]
    out: list[TreeScan] = []
    seen: set[str] = set()
    for pattern in tops:
        for path in host.glob(pattern):
            start = _start(host, path)
            if str(start) in seen or not start.is_dir() or start.is_symlink():
                continue
            seen.add(str(start))
            cached = next((v for v in (s.within(host, start) for s in done.values()) if v is not None), None)
            if cached is None:
                if budget[1] <= 0 or time.monotonic() > budget[0]:
                    out.append(TreeScan(host.rel(start), str(start), 0, partial=True))
                    continue
                cached = done[str(start)] = _walk(host, start, budget)
            out.append(cached)
    return out


def _note(scans: list[TreeScan]) -> str:
    entries = sum(s.entries for s in scans)
    return f" (partial: stopped after {entries} entries)" if any(s.partial for s in scans) else f" ({entries} entries)"


@probe("world_writable")
def _world_writable(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    """World-writable files, and world-writable directories without the sticky bit, under the paths."""
    scans = scan_trees(host, list(a["paths"]), float(a.get("budget_s", 20)), int(a.get("max_entries", 500_000)))
    found = [p for s in scans for p in s.world_writable]
    note = _note(scans)
    if found:
        return FAIL, f"{len(found)} world-writable: {', '.join(found[:5])}" + note
    partial = any(s.partial for s in scans)
    return (ERROR if partial and not sum(s.entries for s in scans) else PASS), \
        f"none in {', '.join(a['paths'])}" + note


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


@probe("setid")
def _setid(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    """SUID/SGID files under the paths against the first-seen inventory kept in the spool directory."""
    scans = scan_trees(host, list(a["paths"]), float(a.get("budget_s", 20)), int(a.get("max_entries", 500_000)))
    if not scans:
        return NA, f"none of {', '.join(a['paths'])} present"
    total = sum(len(s.setid) for s in scans)
    file = host.state_file(STATE_FILE)
    if file is None:
        return NA, f"{total} SUID/SGID files; no state directory to keep their baseline in"
    roots = state.load(file).get("roots")
    roots = roots if isinstance(roots, dict) else {}
    allowed = list(a.get("allowed", []))
    new: list[str] = []
    fresh, compared, since = 0, 0, host.now
    for s in scans:
        base = roots.get(s.top)
        if not isinstance(base, dict) or not isinstance(base.get("files"), dict):
            if not s.partial:  # an unfinished walk is no baseline: what it missed would look new later
                roots[s.top] = {"since": host.now, "files": s.setid}
                fresh += 1
            continue
        compared += 1
        since = min(since, float(base.get("since", host.now)))
        new += [f"{p} ({m[0]:04o})" for p, m in s.setid.items()
                if p not in base["files"] and not any(fnmatch.fnmatchcase(p, g) for g in allowed)]
    if fresh:
        state.save(file, {"version": 1, "roots": roots})
    note = _note(scans) if any(s.partial for s in scans) else ""
    if new:
        most = int(a.get("evidence_max", 10))
        more = f" (+{len(new) - most} more)" if len(new) > most else ""
        return FAIL, f"{len(new)} SUID/SGID file(s) not in the baseline of {_day(since)}: " \
                     f"{', '.join(sorted(new)[:most])}{more}{note}"
    if not compared and not fresh:
        return ERROR, f"no baseline yet: the walk did not finish{note}"
    if not compared:
        return PASS, f"baseline recorded: {total} SUID/SGID files in {len(scans)} directories{note}"
    return PASS, f"{total} SUID/SGID files, none new since the baseline of {_day(since)}{note}"
