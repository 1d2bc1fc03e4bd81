"""Alertmanager channel: incidents become alerts, so its routing, grouping, silences and inhibition apply.

Alertmanager identifies an alert by its label set. `level` is a label, so an
escalation would leave the previous level's alert firing; each escalated or
resolved event therefore also ends the alerts of the lower levels. A firing
alert carries `endsAt = now + firing_ttl`, so it does not expire after
Alertmanager's resolve_timeout (5 minutes by default) while the incident is
still open, yet does not fire forever if opsmon stops.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from opsmon.collector.config.notify import AlertmanagerConfig
from opsmon.collector.core import secrets
from opsmon.collector.notify.base import HttpChannel, dumps, resolve_path
from opsmon.collector.notify.message import Notice, render

ALERTNAME = "OpsmonIncident"


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def alerts(notice: Notice, now: datetime, firing_ttl: float, extra: dict[str, str]) -> list[dict[str, object]]:
    """The v2 `postableAlerts` body for one notice."""
    labels = {
        **extra, "alertname": ALERTNAME, "incident": notice.incident_id, "asset": notice.asset_id,
        "site": notice.site, "category": notice.category, "kind": notice.kind, "severity": notice.severity,
    }
    zh_title, zh_body = render(notice, "zh", now)
    en_title, en_body = render(notice, "en", now)
    annotations = {"summary": en_title, "summary_zh": zh_title, "description": en_body, "description_zh": zh_body}
    if notice.ack_url:
        annotations["ack_url"] = notice.ack_url
    if notice.acknowledged_by:
        annotations["acknowledged_by"] = notice.acknowledged_by
    ended = notice.event in ("resolved", "withdrawn")
    at = notice.at or now
    current = {
        "labels": {**labels, "level": str(notice.level)},
        "annotations": annotations,
        "startsAt": _iso(notice.opened_at),
        "endsAt": _iso(at if ended else now + timedelta(seconds=firing_ttl)),
    }
    if notice.ack_url:
        current["generatorURL"] = notice.ack_url
    out: list[dict[str, object]] = [current]
    if notice.event in ("escalated", "resolved", "withdrawn"):
        for level in range(notice.level):
            out.append({"labels": {**labels, "level": str(level)}, "annotations": annotations,
                        "startsAt": _iso(notice.opened_at), "endsAt": _iso(at)})
    return out


class AlertmanagerChannel(HttpChannel):
    type_name = "alertmanager"

    def __init__(self, name: str, config: AlertmanagerConfig, base_dir: Path, source: str) -> None:
        token = secrets.read(config, "bearer_token", f"notify.channels.{name}", base_dir, source)
        config = config.model_copy(update={"ca_file": resolve_path(config.ca_file, base_dir)})
        super().__init__(name, config, [token] if token else [])
        self.config = config
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def send(self, notice: Notice, now: datetime) -> None:
        body = dumps(alerts(notice, now, self.config.firing_ttl, self.config.labels))
        await self.post(self.config.url.rstrip("/") + "/api/v2/alerts", body=body, headers=self._headers)
