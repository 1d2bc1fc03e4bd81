"""The enrolled host agents and site pollers read back, for `opsmon agents list`.

Here, in the store, not beside enrollment and authentication (inputs/agents/auth.py, which writes them), so
that the listing imports neither SQLAlchemy nor the inventory's models: it is plain SQL on store/dbapi.py's
Reader (issue 25 item 2). A listing never reads a token's hash.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.millis import from_ms, from_ms_or_none

AGENT_LINES = "SELECT name, role, asset_id, created_at, revoked_at FROM agents ORDER BY name"


class AgentLine(NamedTuple):
    """An agent as a listing shows it."""

    name: str
    role: str  # "agent", or "poller" for a site poller
    asset_id: str
    created_at: datetime
    revoked_at: datetime | None


def list_agents(store: Readable) -> list[AgentLine]:
    """Every enrolled agent and poller by name, revoked ones too."""
    with store.reader() as r:
        return [AgentLine(name, role, asset, from_ms(made), from_ms_or_none(revoked))
                for name, role, asset, made, revoked in r.rows(AGENT_LINES)]
