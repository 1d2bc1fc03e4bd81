"""Agent errors; the collector package has its own (the agent never imports it)."""
from __future__ import annotations


class AgentError(Exception):
    pass


class ConfigError(AgentError):
    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(f"{file}: {key}: {reason}" if key else f"{file}: {reason}")


class TransportError(AgentError):
    """The collector could not be reached or refused the report for a reason worth retrying."""


class Rejected(AgentError):
    """The collector refused the report for good (bad token, bad report): retrying will not help."""


class SpoolBusy(AgentError):
    """Another agent process holds the spool: two processes on one spool would share its report stream."""

    def __init__(self, spool: str, pid: int | None) -> None:
        self.spool, self.pid = spool, pid
        holder = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"another opsmon-agent ({holder}) is running on the spool {spool}")
