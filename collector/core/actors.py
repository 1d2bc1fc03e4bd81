"""Who is behind an audit actor: one person, however the change came in."""
from __future__ import annotations

PREFIXES = ("api:", "cli:", "link:", "ui:")
"""The doors an actor names: a token of the API, the command line, an acknowledge link, the web console."""


def person(actor: str) -> str:
    """`api:alice`, `cli:alice`, `link:alice`, `ui:alice` and `alice` are one person."""
    for prefix in PREFIXES:
        if actor.startswith(prefix):
            return actor[len(prefix):]
    return actor
