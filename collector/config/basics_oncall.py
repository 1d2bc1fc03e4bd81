"""ReadBasics and collector.yaml's `incidents` section (where the on-call file is), for `opsmon oncall now|next|list`
(issue 25 item 2); the whole schema's IncidentsConfig is this one (schema.py imports it from here).

Apart from basics.py, as basics_windows.py is: building IncidentsConfig and importing core/incidents.py cost every
other read command's start about 1.2 ms (python -X importtime), which only `opsmon oncall` needs.
"""
from __future__ import annotations

from pydantic import BaseModel, Field

from opsmon.collector.config.basics import ReadBasics
from opsmon.collector.core.fields import FROZEN, Duration, PositiveDuration
from opsmon.collector.core.incidents import CRITICAL_PATHS


class IncidentsConfig(BaseModel):
    model_config = FROZEN
    quiet_time: Duration = Field(1800.0, description=(
        "A fault that comes back within this long after it was resolved reopens the same incident"))
    hardware_clear_after: PositiveDuration = Field(
        600.0, description="A hardware fault not signalled again for this long is resolved")
    hold_max: PositiveDuration = Field(120.0, description=(
        "Longest wait before notifying about an asset whose parent is failing but not yet confirmed down"))
    flap_reopens: int = Field(3, ge=0, description=(
        "Reopens within flap_window that mark an incident flapping: one notice, then quiet until it settles "
        "(0 = never)"))
    flap_window: PositiveDuration = Field(600.0, description="The window in which flap_reopens are counted")
    flap_settle: PositiveDuration = Field(600.0, description=(
        "A flapping incident settles after this long without a reopen or a recovery (one notice)"))
    security_critical_paths: tuple[str, ...] = Field(CRITICAL_PATHS, description=(
        "Watched files (agents' fim_paths) whose change opens a security incident, not only an event; a directory "
        "covers what lies under it"))
    oncall_file: str | None = Field(None, description="oncall.yaml: people, schedules, escalation policies, routes")
    public_url: str = Field("http://127.0.0.1:8470", description="Base URL of acknowledge links in messages")
    link_ttl: PositiveDuration = Field(86400.0, description="How long an acknowledge link stays valid")
    link_key_file: str = Field("~/.local/state/opsmon/ack-link.key", description=(
        "Key that signs acknowledge links (created, mode 0600, when missing)"))



class OncallBasics(ReadBasics):
    """ReadBasics and the `incidents` section, where the on-call file is (for `opsmon oncall now|next|list`)."""

    incidents: IncidentsConfig = IncidentsConfig()
