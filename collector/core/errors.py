"""Typed errors. Callers branch on the type, never on the message text.

Configuration errors are raised at load time and always name the file, the key
path and the reason, so an operator can fix the right line without reading code.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


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

    def each(self) -> list[ConfigError]:
        """The problems this error reports, one each (several for a ConfigProblems)."""
        return [self]

    def keyed(self) -> str:
        """'key: reason' of every problem, for an API answer (a request body has no file or line)."""
        return "; ".join(f"{p.keypath}: {p.reason}" if p.keypath else p.reason for p in self.each())


def problems_error(problems: list[ConfigError], file: str) -> ConfigError:
    """One problem as itself, several behind a count (ConfigProblems): what a loader raises for a file's problems
    (collector.yaml's sections, the on-call file, the work calendar: one wording for all)."""
    if len(problems) == 1:
        return problems[0]
    return ConfigProblems(f"{len(problems)} problems in {file}", problems)


class ConfigProblems(ConfigError):
    """Several problems of one kind reported at once: a summary line, then one line per problem."""

    def __init__(self, summary: str, problems: list[ConfigError]) -> None:
        first = problems[0]
        super().__init__(first.file, first.keypath, first.reason)
        self.problems = problems
        self.summary = summary

    def __str__(self) -> str:
        return f"{self.summary}:\n" + "\n".join(str(p) for p in self.problems)

    def each(self) -> list[ConfigError]:
        return list(self.problems)


class Problems:
    """Config problems gathered across files and checks, so a check goes on after the first and reports them
    all at once (`opsmon check-config`, `opsmon serve`), one a line, each naming file, line, key and reason.

    >>> found = Problems()
    >>> with found.gather():
    ...     raise ConfigError("a.yaml:3", "x", "bad")
    >>> with found.gather():
    ...     raise ConfigError("b.yaml:7", "y", "worse")
    >>> print(found.error())
    2 problems in 2 files:
    a.yaml:3: x: bad
    b.yaml:7: y: worse
    """

    def __init__(self) -> None:
        self.found: list[ConfigError] = []
        self._groups: list[ConfigError] = []  # as raised: one alone keeps its own summary

    @contextmanager
    def gather(self) -> Iterator[None]:
        """Run the block; a ConfigError it raises is kept (each of a ConfigProblems' problems), not raised."""
        try:
            yield
        except ConfigError as exc:
            self.add(exc)

    def add(self, problem: ConfigError) -> None:
        self._groups.append(problem)
        self.found.extend(problem.each())

    def error(self) -> ConfigError | None:
        """None when nothing was found; else the one error as raised, or all of them behind a count."""
        if not self.found:
            return None
        if len(self._groups) == 1:
            return self._groups[0]
        files: dict[str, int] = {}  # file -> its order of appearance
        for p in self.found:
            files.setdefault(_file_of(p), len(files))
        ordered = sorted(self.found, key=lambda p: (files[_file_of(p)], _line_of(p)))  # file by file, line by line
        many = len(ordered)
        return ConfigProblems(f"{many} problems in {len(files)} file{'s' if len(files) > 1 else ''}", ordered)

    def raise_any(self) -> None:
        err = self.error()
        if err is not None:
            raise err


def _file_of(problem: ConfigError) -> str:
    return re.sub(r"(:\d+)+$", "", problem.file)  # 'file:line[:column]' -> 'file'


def _line_of(problem: ConfigError) -> int:
    found = re.search(r":(\d+)(:\d+)?$", problem.file)
    return int(found.group(1)) if found else 0


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


def valid_ids(given: str, valid: Iterable[str], listed: int = 12, ordered: bool = False) -> str:
    """What to add to "no X 'given'": every valid id when there are few, else the close ones (a typo's fix);
    sorted, unless `ordered` keeps the order given (interfaces by ifIndex).

    >>> valid_ids("satisfactoin", ["satisfaction", "servers_ok"])
    ' (valid: satisfaction, servers_ok)'
    """
    ids = list(dict.fromkeys(valid)) if ordered else sorted(set(valid))
    if not ids:
        return " (there are none)"
    if len(ids) <= listed:
        return f" (valid: {', '.join(ids)})"
    close = difflib.get_close_matches(given, ids, n=5, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else f" ({len(ids)} ids, none close)"
