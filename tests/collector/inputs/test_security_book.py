"""Baseline transitions: a finding opens when a check turns from pass to fail and resolves when it passes
again, judged against the last pass or fail. Runs that could not decide (error) or did not apply in between
change nothing, also across a collector restart (the book is rebuilt from the store)."""
from __future__ import annotations

from datetime import timedelta

from opsmon.collector.core.messages import Event, Message, SecurityFinding
from opsmon.collector.inputs.security import BaselineIn, CheckInfo, SecurityBook
from opsmon.collector.store import Store
from opsmon.collector.store.writer import StoreWriter
from tests.conftest import utc

T0 = utc(2026, 8, 1)
INFO = CheckInfo("identity_authentication", "No empty passwords", "无空口令账户", "critical", incident=True)


class Run:
    """A SecurityBook writing through a real StoreWriter, recording events and findings."""

    def __init__(self, store: Store) -> None:
        self.writer = StoreWriter(store, T0)
        self.writer.start()
        self.events: list[tuple[str, str]] = []
        self.findings: list[tuple[str, bool]] = []

        def publish(msg: Message) -> None:
            if isinstance(msg, SecurityFinding):
                self.findings.append((msg.key.removeprefix("baseline:"), msg.failing))
                return
            if isinstance(msg, Event):
                self.events.append((msg.name, msg.summary))
            self.writer.put(msg)

        self.book = SecurityBook(store, publish, lambda policy, check: INFO)

    def report(self, status: str, minutes: int) -> None:
        run = BaselineIn(policy="opsmon-debian", ran_at=0, results=[
            {"id": "ia.no-empty-passwords", "status": status, "evidence": status}])
        self.book._baseline("srv-1", run, T0 + timedelta(minutes=minutes))

    def close(self) -> None:
        assert self.writer.flush() and self.writer.stop()


def test_undecided_runs_between_neither_open_nor_hide_changes(store: Store) -> None:
    r = Run(store)
    r.report("pass", 0)
    r.report("error", 10)   # the check could not run: nothing
    r.report("fail", 20)    # pass -> (error) -> fail: a finding
    assert r.findings == [("ia.no-empty-passwords", True)]
    assert r.events == [("ia.no-empty-passwords", "baseline check failed: No empty passwords")]
    r.report("not_applicable", 30)
    r.report("fail", 40)    # still failing: nothing new
    assert len(r.findings) == 1
    r.close()
    # A restart in the middle: the last decided status (fail) comes back from the store.
    r = Run(store)
    r.report("error", 50)
    r.report("pass", 60)    # fail -> (error) -> pass: resolved
    assert r.findings == [("ia.no-empty-passwords", False)]
    r.report("error", 70)
    r.report("pass", 80)    # still passing: nothing
    assert r.findings == [("ia.no-empty-passwords", False)] and r.events == []
    r.close()


def test_a_check_without_incident_is_an_event_only(store: Store) -> None:
    writer = StoreWriter(store, T0)
    writer.start()
    events, findings = [], []
    quiet = CheckInfo("security_audit", "Remote syslog", "日志远程转发", "minor", incident=False)

    def publish(msg: Message) -> None:
        if isinstance(msg, SecurityFinding):
            findings.append(msg)
            return
        if isinstance(msg, Event):
            events.append((msg.name, msg.severity, msg.summary))
        writer.put(msg)

    book = SecurityBook(store, publish, lambda policy, check: quiet)
    for minutes, status in ((0, "pass"), (10, "fail"), (20, "pass")):
        book._baseline("srv-1", BaselineIn(policy="opsmon-debian", ran_at=0, results=[
            {"id": "sa.remote-syslog", "status": status, "evidence": ""}]), T0 + timedelta(minutes=minutes))
    assert events == [("sa.remote-syslog", "minor", "baseline check failed: Remote syslog")]
    assert findings == []  # no incident opened, none to resolve
    assert writer.flush() and writer.stop()
