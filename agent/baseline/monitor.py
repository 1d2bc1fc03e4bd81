"""The agent's security work: baseline runs, file integrity scans and the auth log, for the reports.

Baseline runs (at start and every `baseline_interval`) and FIM scans (every `fim_interval`)
happen in one low-priority background thread, so a report is never delayed by them; their
results wait until the next report takes them. The auth log is read at each report
(incrementally: only new lines). `take()` returns the report's `security` object or None:

    {"baseline": {"policy": str, "policy_version": str, "ran_at": unix_ts,
                  "results": [{"id": str, "status": "pass|fail|not_applicable|error", "evidence": str}]},
     "fim": [{"path": str, "change": "added|removed|modified|mode|owner|many", "detail": str, "ts": unix_ts}],
     "auth": {"failures": [{"source": str, "user": str, "count": int}],
              "logins": [{"user": str, "source": str, "ts": unix_ts}],
              "bruteforce": [{"source": str, "count": int, "window_s": float}]}}

Each key is present only when it has something: `baseline` only in the report after a run.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from opsmon.agent.baseline.authlog import AuthWatcher
from opsmon.agent.baseline.evaluate import run_policy
from opsmon.agent.baseline.fim import Fim
from opsmon.agent.baseline.host import Host, SystemCommands
from opsmon.agent.baseline.policy import Policy, PolicyError, load_policies, load_policy, select_policy, with_params
from opsmon.agent.compat import native_thread_id

log = logging.getLogger("opsmon.agent.security")
JOURNAL_EVERY = 60.0  # journalctl is a process start: at most once a minute


def resolve_policy(cfg: Any, root: str = "/") -> Policy:
    """The configured policy (an id or a .toml path), else the one for this OS; with agent.toml's params."""
    wanted = getattr(cfg, "baseline_policy", "") or ""
    if wanted.endswith(".toml"):
        policy = load_policy(wanted)
    else:
        policies = load_policies(getattr(cfg, "baseline_policy_dir", None))
        if wanted:
            found = [p for p in policies if p.id == wanted]
            if not found:
                raise PolicyError("agent.toml", "", "baseline_policy",
                                  f"no policy {wanted!r}; known: {', '.join(p.id for p in policies)}")
            policy = found[0]
        else:
            sel = select_policy(policies, root)
            if sel is None:
                raise PolicyError("agent.toml", "", "baseline_policy", "no policy matches /etc/os-release ID or "
                                  "ID_LIKE; set baseline_policy to one of " + ", ".join(p.id for p in policies))
            policy = sel
    return with_params(policy, dict(getattr(cfg, "baseline_params", {}) or {}))


def run_baseline(policy: Policy, host: Host | None = None) -> dict[str, Any]:
    host = host or Host()
    started = time.time()
    results = run_policy(policy, host)
    return {"policy": policy.id, "policy_version": policy.version, "ran_at": round(started, 3), "results": results}


def _lower_priority() -> None:
    tid = native_thread_id()
    if tid is None:
        return
    try:  # Linux: nice applies to this thread only
        os.setpriority(os.PRIO_PROCESS, tid, 19)
    except (AttributeError, OSError):
        pass


class SecurityMonitor:
    def __init__(self, cfg: Any, stop: threading.Event | None = None) -> None:
        self.cfg = cfg
        self.stop = stop or threading.Event()
        spool = Path(cfg.spool_dir)
        spool.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.spool = spool  # the baseline's stateful checks keep their state here (SUID inventory, updates seen)
        self._lock = threading.Lock()
        self._baseline: dict[str, Any] | None = None
        self._fim: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None
        self.policy_error: str | None = None
        self.fim = Fim(cfg.fim_paths, spool / "fim-state.json", int(cfg.fim_max_file_mb * 1024 * 1024)) \
            if cfg.fim_paths else None
        self.auth = AuthWatcher(spool / "auth-state.json", cfg.auth_log, cfg.bruteforce_threshold,
                                cfg.bruteforce_window, SystemCommands(timeout=10, cache=False)) \
            if cfg.auth_log != "off" else None
        self._journal_at = -1e18

    def start(self) -> None:
        if self._thread is None and (self.cfg.baseline or self.fim is not None):
            self._thread = threading.Thread(target=self._work, name="opsmon-security", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        _lower_priority()
        next_baseline = time.monotonic() if self.cfg.baseline else float("inf")
        next_fim = time.monotonic() if self.fim is not None else float("inf")
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_baseline:
                self.baseline_now()
                next_baseline = time.monotonic() + self.cfg.baseline_interval
            if now >= next_fim:
                self.fim_now()
                next_fim = time.monotonic() + self.cfg.fim_interval
            self.stop.wait(max(1.0, min(next_baseline, next_fim) - time.monotonic()))

    def baseline_now(self) -> dict[str, Any] | None:
        try:
            policy = resolve_policy(self.cfg)
        except PolicyError as exc:
            if str(exc) != self.policy_error:  # say it once, not every hour
                log.error("baseline not run", extra={"error": str(exc)[:300]})
                self.policy_error = str(exc)
            return None
        self.policy_error = None
        t0 = time.monotonic()
        try:
            run = run_baseline(policy, Host(state_dir=str(self.spool)))
        except Exception:
            log.exception("baseline run failed")
            return None
        failed = sum(1 for r in run["results"] if r["status"] == "fail")
        log.info("baseline run", extra={"policy": policy.id, "checks": len(run["results"]), "failed": failed,
                                        "seconds": round(time.monotonic() - t0, 2)})
        with self._lock:
            self._baseline = run
        return run

    def fim_now(self) -> list[dict[str, Any]]:
        if self.fim is None:
            return []
        try:
            events = self.fim.scan()
        except Exception:
            log.exception("file integrity scan failed")
            return []
        if events:
            log.info("file integrity changes", extra={"changes": len(events)})
            with self._lock:
                self._fim.extend(events)
                del self._fim[:-1000]  # the collector takes at most 1000 a report
        return events

    def _auth(self) -> dict[str, Any] | None:
        if self.auth is None:
            return None
        if self.auth.log_file() is None:  # the journal: a process start, so not every report
            if time.monotonic() - self._journal_at < JOURNAL_EVERY:
                return None
            self._journal_at = time.monotonic()
        try:
            return self.auth.collect()
        except Exception:
            log.exception("auth log read failed")
            return None

    def take(self) -> dict[str, Any] | None:
        """The `security` object for the next report, or None when there is nothing new."""
        out: dict[str, Any] = {}
        auth = self._auth()
        with self._lock:
            if self._baseline is not None:
                out["baseline"], self._baseline = self._baseline, None
            if self._fim:
                out["fim"], self._fim = self._fim, []
        if auth:
            out["auth"] = auth
        return out or None
