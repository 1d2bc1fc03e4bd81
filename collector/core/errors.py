"""Typed errors. Callers branch on the type, never on the message text.

Configuration errors are raised at load time and always name the file, the key
path and the reason, so an operator can fix the right line without reading code.
"""
from __future__ import annotations


class OpsmonError(Exception):
    """Base of every error opsmon raises on purpose."""


class ConfigError(OpsmonError):
    """A configuration or data file is unusable.

    >>> str(ConfigError("collector.yaml", "database.url", "not a URL"))
    'collector.yaml: database.url: not a URL'
    """

    def __init__(self, file: str, keypath: str, reason: str) -> None:
        self.file = file
        self.keypath = keypath
        self.reason = reason
        where = f"{file}: {keypath}" if keypath else file
        super().__init__(f"{where}: {reason}")


class ConfigProblems(ConfigError):
    """Several problems of one kind reported at once: a summary line, then one line per problem."""

    def __init__(self, summary: str, problems: list[ConfigError]) -> None:
        first = problems[0]
        super().__init__(first.file, first.keypath, first.reason)
        self.problems = problems
        self.summary = summary

    def __str__(self) -> str:
        return f"{self.summary}:\n" + "\n".join(str(p) for p in self.problems)


class StoreError(OpsmonError):
    """The database cannot be reached or used; the message never holds a password."""


class NotFound(OpsmonError):
    """A named object (asset, window, token) does not exist."""


class InvalidInput(OpsmonError):
    """Input from an operator (CLI or API) is rejected; the message says why."""


class Conflict(OpsmonError):
    """The change collides with what exists (a window id taken, a window declared in the config file)."""


class PeerTimeout(OpsmonError):
    """A monitored peer did not answer in time."""


class AuthFailed(OpsmonError):
    """Credentials were refused."""


class ProtocolError(OpsmonError):
    """A peer answered with something that is not the protocol we expect."""
