"""The tables. Observations flow in; intervals and transitions are derived by the timeline.

Design notes:
- state_intervals tile each asset's history: [start, end) with end NULL for the
  one open interval (a partial unique index enforces "at most one open").
- transitions are first-class rows (healthchecks' Flip), kept as evidence of when
  each change began and was detected; incidents hear them in-process from the
  routing table, not from these rows; SLA figures are computed from intervals only.
- audit_log is append-only: the code has no update or delete path for it.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from opsmon.collector.store.types import UTCMillis

# BigInteger autoincrement on SQLite needs the INTEGER affinity to alias ROWID.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    pass


class Asset(Base):
    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(32), index=True)
    site: Mapped[str | None] = mapped_column(String(128), index=True)
    address: Mapped[str | None] = mapped_column(String(256))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    criticality: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(String(128))
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCMillis)
    updated_at: Mapped[datetime] = mapped_column(UTCMillis)
    removed_at: Mapped[datetime | None] = mapped_column(UTCMillis)
    # When it joined the estate, when known (an imported `joined` line): its life starts here. NULL:
    # from its creation, or its first interval if that is earlier (history imported after creating it).
    joined_at: Mapped[datetime | None] = mapped_column(UTCMillis, nullable=True)


class AssetAbsence(Base):
    """A span an asset was removed and then restored: outside its life, so outside its figures.

    The open removal is assets.removed_at; restoring the asset closes it into a row here (kept, audited).
    """

    __tablename__ = "asset_absences"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(128), index=True)
    start_ts: Mapped[datetime] = mapped_column(UTCMillis)
    end_ts: Mapped[datetime] = mapped_column(UTCMillis)


class Observation(Base):
    __tablename__ = "observations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(128))
    check_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(UTCMillis)
    status: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="check", server_default="check")
    latency_ms: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    # who ran the probe: "" this collector, else the site poller's name (docs/poller.md)
    observer: Mapped[str] = mapped_column(String(128), default="", server_default="")
    __table_args__ = (Index("ix_observations_asset_ts", "asset_id", "ts"), Index("ix_observations_ts", "ts"))


class Event(Base):
    """Something a device said on its own (an SNMP trap, later a config change or a security finding).

    Events are evidence, not state: the timeline may act on some (a link trap), but
    every one is kept here as received, with the device it came from when known.
    """

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCMillis)
    asset_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    source: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    __table_args__ = (Index("ix_events_ts", "ts"), Index("ix_events_asset_ts", "asset_id", "ts"))


class BaselineResult(Base):
    """The latest result of each baseline check on each host (the agent runs its policy hourly)."""

    __tablename__ = "baseline_results"
    asset_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    check_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(Text, default="")
    ran_at: Mapped[datetime] = mapped_column(UTCMillis)
    since: Mapped[datetime] = mapped_column(UTCMillis)  # when the check last changed status


class BaselineChange(Base):
    """Append-only: a check's status on a host from `since` on (a row each time it changes).

    Why: baseline_results holds only the latest state; a report of a past period must show
    compliance as it stood at the period's end, and give the same figures when regenerated.
    """

    __tablename__ = "baseline_history"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(128))
    check_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UTCMillis)
    __table_args__ = (Index("ix_baseline_history_since", "since"),)


class ConfigVersion(Base):
    """One distinct version of one named configuration ("running") of a network device.

    Stored only when the normalised text differs from the latest version; an unchanged
    fetch only moves `last_seen`. `content` has secrets redacted; `raw_sha256` is the
    digest before redaction, so a changed password is still a change, never stored.
    """

    __tablename__ = "config_versions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(64), default="running")
    version: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(UTCMillis)
    last_seen: Mapped[datetime] = mapped_column(UTCMillis)
    sha256: Mapped[str] = mapped_column(String(64))
    raw_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    command: Mapped[str] = mapped_column(String(256))
    content: Mapped[str] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("asset_id", "name", "version", name="uq_config_versions_asset_name_version"),
        Index("ix_config_versions_sha256", "sha256"),
    )


class ReportFile(Base):
    """A generated report file: which period, language and format, where, and its checksum."""

    __tablename__ = "report_files"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(8))
    format: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_ts: Mapped[datetime] = mapped_column(UTCMillis)
    __table_args__ = (Index("ix_report_files_period", "period", "lang", "format"),)


class StateInterval(Base):
    __tablename__ = "state_intervals"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    start_ts: Mapped[datetime] = mapped_column(UTCMillis)
    end_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        Index("ix_intervals_asset_start", "asset_id", "start_ts"),
        Index("ix_intervals_end", "end_ts"),
        # The SLA engine's per-asset, per-state sums read this index alone, in order: no sort, no spill
        # (migration 0025 says what it measured).
        Index("ix_intervals_sla_cover", "asset_id", "state", "start_ts", "end_ts"),
        Index(
            "ux_intervals_one_open",
            "asset_id",
            unique=True,
            sqlite_where=text("end_ts IS NULL"),
            postgresql_where=text("end_ts IS NULL"),
        ),
    )


class Transition(Base):
    __tablename__ = "transitions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(128))
    at_ts: Mapped[datetime] = mapped_column(UTCMillis)
    detected_ts: Mapped[datetime] = mapped_column(UTCMillis)
    old_state: Mapped[str] = mapped_column(String(16))
    new_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_transitions_asset_at", "asset_id", "at_ts"),)


class Heartbeat(Base):
    """One row: the last moment the collector is known to have been running."""

    __tablename__ = "heartbeat"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCMillis)
    started_ts: Mapped[datetime] = mapped_column(UTCMillis)
    pid: Mapped[int] = mapped_column(Integer)


class MaintenanceWindow(Base):
    """Windows declared through the API (config windows live in collector.yaml)."""

    __tablename__ = "maintenance_windows"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCMillis)
    removed_at: Mapped[datetime | None] = mapped_column(UTCMillis)


class Exclusion(Base):
    """An after-the-fact exclusion (issue 18 item 2): an incident, or an asset's span, taken out of the
    figures by a separate, audited record; the intervals and incidents themselves are never rewritten.
    It counts only once approved by someone other than who asked, and until removed."""

    __tablename__ = "exclusions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str | None] = mapped_column(String(128), index=True)  # an incident, or
    asset_id: Mapped[str | None] = mapped_column(String(128), index=True)  # an asset's outage [start, end)
    start_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    end_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    # An outage reclassified as planned work (the console's "reclassify as planned"): the same arithmetic as
    # any outage exclusion (its time leaves both sides, as maintenance time does); named so in lists and reports.
    planned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCMillis)
    approved_by: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None] = mapped_column(UTCMillis)
    removed_by: Mapped[str | None] = mapped_column(String(128))
    removed_at: Mapped[datetime | None] = mapped_column(UTCMillis)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCMillis)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCMillis)


class ConsoleUser(Base):
    """A person who logs in to the web console (store/users.py): a role as API tokens have, an argon2id hash."""

    __tablename__ = "console_users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    created_at: Mapped[datetime] = mapped_column(UTCMillis)


class ConsoleSession(Base):
    """A logged-in browser: only the SHA-256 of its cookie is kept, with the CSRF token of its forms."""

    __tablename__ = "console_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCMillis)
    expires_at: Mapped[datetime] = mapped_column(UTCMillis)


class LoginFailure(Base):
    """A failed console login, by the name typed (known or not, so a lockout says nothing of who exists)."""

    __tablename__ = "console_login_failures"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    ts: Mapped[datetime] = mapped_column(UTCMillis, index=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCMillis, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Incident(Base):
    """A fault and the response to it: opened by the incident engine (or history import), acknowledged,
    resolved and closed by people or by recovery.

    The SLA engine reads only: opened_ts, acknowledged_ts, kind and the asset.
    `opened_ts` is when opsmon opened the incident (when on-call could first know);
    `fault_ts` is when the fault began (the first failing result), usually a few intervals earlier.
    """

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    asset_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str | None] = mapped_column(String(16))
    opened_ts: Mapped[datetime] = mapped_column(UTCMillis, index=True)
    acknowledged_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    source: Mapped[str] = mapped_column(String(32), default="opsmon")
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="closed", server_default="closed")  # history import: closed
    fingerprint: Mapped[str | None] = mapped_column(String(256), index=True)
    cause: Mapped[str] = mapped_column(Text, default="", server_default="")
    fault_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    deadline_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    closed_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attached: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    reopened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Issue 18: the escalation clock of a reopened, unacknowledged incident counts from its last reopen
    # (NULL: from opened_ts); a flapping incident is quiet from flapping_ts until it settles.
    escalate_from_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    flapping_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    # When the response deadline passed unacknowledged, recorded once: a restart must not record it again.
    breached_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    # The maintenance window(s) that covered the incident (kept after they end), and since when it is under
    # one now (NULL when not): no escalation, no notices, its response clock stopped.
    maintenance_window: Mapped[str | None] = mapped_column(String(256))
    maintenance_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    # A response recorded after the fault healed (issue 18 item 3): when it was recorded, and the evidence of
    # the time claimed (acknowledged_ts is the time counted; docs/sla.md says which).
    response_recorded_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    response_evidence: Mapped[str | None] = mapped_column(Text)
    # The labels of the Alertmanager alert that opened the incident (NULL for any other incident): acknowledging
    # silences that alert in Alertmanager too (issue 18 item 6).
    alert_labels: Mapped[dict[str, str] | None] = mapped_column(JSON)


class IncidentEvent(Base):
    """The append-only trail of one incident: every state change with its actor, every escalation
    step and every delivery attempt. Never updated, never deleted."""

    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(UTCMillis)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    __table_args__ = (Index("ix_incident_events_incident", "incident_id", "id"),)


class AckLink(Base):
    """A signed acknowledge link sent to a person: usable once, until it expires."""

    __tablename__ = "ack_links"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(128))
    person: Mapped[str] = mapped_column(String(128))
    expires_ts: Mapped[datetime] = mapped_column(UTCMillis)
    used_ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    used_by: Mapped[str | None] = mapped_column(String(128))  # who acknowledged with it (a group link asks)


class OncallOverride(Base):
    """An on-call override added through the API or CLI (those of oncall.yaml live in the file)."""

    __tablename__ = "oncall_overrides"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(String(128))
    person: Mapped[str] = mapped_column(String(128))
    start_ts: Mapped[datetime] = mapped_column(UTCMillis)
    end_ts: Mapped[datetime] = mapped_column(UTCMillis)
    reason: Mapped[str] = mapped_column(String(512), default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCMillis)
    removed_at: Mapped[datetime | None] = mapped_column(UTCMillis)


class TargetValue(Base):
    """Figures entered by hand: a value for a period (survey) or a dated delivery (a report)."""

    __tablename__ = "target_values"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    target_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # value | event
    period_start: Mapped[datetime | None] = mapped_column(UTCMillis)
    period_end: Mapped[datetime | None] = mapped_column(UTCMillis)
    ts: Mapped[datetime | None] = mapped_column(UTCMillis)
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[str] = mapped_column(String(128))
    entered_at: Mapped[datetime] = mapped_column(UTCMillis)
    evidence: Mapped[str | None] = mapped_column(Text)  # a value's: the file path or URL it was read from
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))  # the file's, when entered; None for a URL


class AgentRow(Base):
    """An enrolled host agent: its token's hash and the asset its reports feed.

    role: "agent", or "poller" for a site poller (docs/poller.md): it runs the checks of its asset's site.
    """

    __tablename__ = "agents"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    asset_id: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCMillis)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCMillis)
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")


class AgentStream(Base):
    """Highest sequence number and agent timestamp accepted per agent spool stream: a report at or below
    both is a replay (inputs/agents/streams.py)."""

    __tablename__ = "agent_streams"
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    max_seq: Mapped[int] = mapped_column(BigInteger)
    # The agent's own clock, uncorrected, in ms: a replay carries the same value. NULL: stored before 0012.
    max_ts_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCMillis)


class Hj212Datum(Base):
    """One factor's values of an HJ 212 upload (CN 2011, 2051, 2061, 2031, ...) for one point and DataTime.

    Why unique on (mn, cn, data_time, point, factor): a unit resends an hour it was not answered for, and the
    history pull asks for hours again; each must count once (issue 17). The first copy stays. Values are the
    strings sent, so `0.000` stays `0.000` and a rate or a report reads exactly what the unit said.
    """

    __tablename__ = "hj212_data"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(128))
    mn: Mapped[str] = mapped_column(String(64))
    cn: Mapped[str] = mapped_column(String(8))
    data_time: Mapped[datetime] = mapped_column(UTCMillis)
    point: Mapped[str] = mapped_column(String(64))
    factor: Mapped[str] = mapped_column(String(64))
    rtd: Mapped[str | None] = mapped_column(String(64))
    avg: Mapped[str | None] = mapped_column(String(64))
    min: Mapped[str | None] = mapped_column(String(64))
    max: Mapped[str | None] = mapped_column(String(64))
    cou: Mapped[str | None] = mapped_column(String(64))
    zs_avg: Mapped[str | None] = mapped_column(String(64))
    flag: Mapped[str | None] = mapped_column(String(16))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    crc: Mapped[str] = mapped_column(String(16))
    received: Mapped[datetime] = mapped_column(UTCMillis)
    __table_args__ = (
        UniqueConstraint("mn", "cn", "data_time", "point", "factor", name="uq_hj212_data_key"),
        Index("ix_hj212_data_asset_time", "asset_id", "cn", "data_time"),
    )


class Hj212Exemption(Base):
    """Hours an operator took out of the HJ 212 assessment (停产, 停排, 设备停运, reported maintenance): a whole
    DAU, one point or one factor of a point. Never deleted: a removal is stamped, so the report and the audit
    show what counted when (issue 17)."""

    __tablename__ = "hj212_exemptions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(128), index=True)
    point: Mapped[str | None] = mapped_column(String(64))
    factor: Mapped[str | None] = mapped_column(String(64))
    start_ts: Mapped[datetime] = mapped_column(UTCMillis)
    end_ts: Mapped[datetime] = mapped_column(UTCMillis)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    proof: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(128))
    entered_at: Mapped[datetime] = mapped_column(UTCMillis)
    removed_by: Mapped[str | None] = mapped_column(String(128))
    removed_at: Mapped[datetime | None] = mapped_column(UTCMillis)


class Hj212FrameRow(Base):
    """An accepted HJ 212 frame as received, `##` to CRC (PW included): the audit copy, pruned after
    hj212.raw_retention."""

    __tablename__ = "hj212_frames"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received: Mapped[datetime] = mapped_column(UTCMillis)
    asset_id: Mapped[str] = mapped_column(String(128))
    mn: Mapped[str] = mapped_column(String(64))
    cn: Mapped[str] = mapped_column(String(8))
    qn: Mapped[str | None] = mapped_column(String(32))
    peer: Mapped[str] = mapped_column(String(64))
    crc: Mapped[str] = mapped_column(String(16))
    oversize: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    __table_args__ = (Index("ix_hj212_frames_received", "received"), Index("ix_hj212_frames_mn", "mn", "received"))


class FlowTopRow(Base):
    """A row of a link's closed flow interval (inputs/flows/): one (src, dst, dst port, protocol) of its top by
    bytes, or the `other` row (port and protocol -1) summing the rest. No flow is stored, only these sums."""

    __tablename__ = "flow_top"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    link: Mapped[str] = mapped_column(String(128))
    start_ts: Mapped[datetime] = mapped_column(UTCMillis)
    end_ts: Mapped[datetime] = mapped_column(UTCMillis)
    src: Mapped[str] = mapped_column(String(45))
    dst: Mapped[str] = mapped_column(String(45))
    dst_port: Mapped[int] = mapped_column(Integer)
    protocol: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    packets: Mapped[int] = mapped_column(BigInteger)
    flows: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_flow_top_link", "link", "start_ts"), Index("ix_flow_top_start", "start_ts"))


class SurveyInvitation(Base):
    """A satisfaction survey sent to one contact for one period: its link's nonce, and whether the mail went.

    Kept after it is answered or expires: the figure's sample size counts the contacts sent to."""

    __tablename__ = "survey_invitations"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(160))  # the label: 2026Q3, or the incident id of a survey after it
    period_start: Mapped[datetime] = mapped_column(UTCMillis)
    period_end: Mapped[datetime] = mapped_column(UTCMillis)
    department: Mapped[str] = mapped_column(String(128))
    contact: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(254))  # lower case: the contact's identity
    sent_ts: Mapped[datetime] = mapped_column(UTCMillis)
    expires_ts: Mapped[datetime] = mapped_column(UTCMillis)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_survey_invitations_period", "period_start", "period_end"),)


class SurveyAnswer(Base):
    """One contact's answer for one period: a second one is refused (the unique key says so to every writer)."""

    __tablename__ = "survey_answers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(160))
    period_start: Mapped[datetime] = mapped_column(UTCMillis)
    period_end: Mapped[datetime] = mapped_column(UTCMillis)
    department: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(254))
    score: Mapped[str] = mapped_column(String(16))  # satisfied | fair | dissatisfied
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_ts: Mapped[datetime] = mapped_column(UTCMillis)
    nonce: Mapped[str] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("period", "email", name="uq_survey_answers_period_email"),
                      Index("ix_survey_answers_period", "period_start", "period_end"))
