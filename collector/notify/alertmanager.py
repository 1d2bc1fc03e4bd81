"""Alertmanager channel: incidents become alerts, so its routing, grouping, silences and inhibition apply.

Alertmanager identifies an alert by its label set. `level` is a label, so an
escalation would leave the previous level's alert firing; each escalated or
ending event therefore also ends the alerts of the lower levels (levels count
from 1, as the escalation policy's do: there is no level 0 to end, issue 18's
phantom alert). A firing alert carries `endsAt = now + firing_ttl`, so it does
not expire after Alertmanager's resolve_timeout (5 minutes by default) while the
incident is still open, yet does not fire forever if opsmon stops. A notice of
an incident that is over (a `settled` told after it resolved) ends its alert
rather than firing it again.

Acknowledging silences the incident's alerts (`silence_on_ack`): a silence on
alertname and incident until `firing_ttl` ahead, expired when the incident ends.
An incident opened by an Alertmanager alert (its labels kept on the incident and
the notice) gets a second silence on exactly that alert's labels, so the original
alert stops notifying through Alertmanager's other receivers too (issue 18).
Each silence is found again by its matchers (GET /api/v2/silences?filter=...),
so a restart of opsmon or a retried delivery neither loses nor doubles it.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from opsmon.collector.config.notify import AlertmanagerConfig
from opsmon.collector.core import secrets
from opsmon.collector.notify.base import DeliveryError, HttpChannel, dumps, resolve_path
from opsmon.collector.notify.message import Notice, render

ALERTNAME = "OpsmonIncident"
CREATED_BY = "opsmon"


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
    at = notice.at or now
    current = {
        "labels": {**labels, "level": str(notice.level)},
        "annotations": annotations,
        "startsAt": _iso(notice.opened_at),
        "endsAt": _iso(at if notice.ended else now + timedelta(seconds=firing_ttl)),
    }
    if notice.ack_url:
        current["generatorURL"] = notice.ack_url
    out: list[dict[str, object]] = [current]
    if notice.event == "escalated" or notice.ended:
        for level in range(1, notice.level):
            out.append({"labels": {**labels, "level": str(level)}, "annotations": annotations,
                        "startsAt": _iso(notice.opened_at), "endsAt": _iso(at)})
    return out


Labels = tuple[tuple[str, str], ...]


def silenced(notice: Notice) -> list[Labels]:
    """The label sets an acknowledgement silences: every level's alert of the incident (and nothing else), and
    the Alertmanager alert that opened it, if one did."""
    own = (("alertname", ALERTNAME), ("incident", notice.incident_id))
    return [own, notice.alert_labels] if notice.alert_labels else [own]


def matchers(labels: Labels) -> list[dict[str, object]]:
    """Equality matchers on exactly these labels."""
    return [{"name": name, "value": value, "isRegex": False, "isEqual": True} for name, value in labels]


def _filter(name: str, value: str) -> str:
    """One `filter` of GET /silences: a label value in quotes, escaped as Alertmanager's matcher parser reads it."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "filter=" + quote(f'{name}="{escaped}"', safe="")


def silence(notice: Notice, labels: Labels, now: datetime, firing_ttl: float) -> dict[str, object]:
    """The v2 `postableSilence` of `labels` for an acknowledged incident."""
    who, inc = notice.acknowledged_by or "?", notice.incident_id
    return {"matchers": matchers(labels), "startsAt": _iso(now),
            "endsAt": _iso(now + timedelta(seconds=firing_ttl)), "createdBy": CREATED_BY,
            "comment": f"事件 {inc} 已由 {who} 确认 / incident {inc} acknowledged by {who}"}


class AlertmanagerChannel(HttpChannel):
    type_name = "alertmanager"

    def __init__(self, name: str, config: AlertmanagerConfig, base_dir: Path, source: str) -> None:
        token = secrets.read(config, "bearer_token", f"notify.channels.{name}", base_dir, source)
        config = config.model_copy(update={"ca_file": resolve_path(config.ca_file, base_dir)})
        super().__init__(name, config, [token] if token else [])
        self.config = config
        self._base = config.url.rstrip("/") + "/api/v2"
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def send(self, notice: Notice, now: datetime) -> None:
        body = dumps(alerts(notice, now, self.config.firing_ttl, self.config.labels))
        await self.post(self._base + "/alerts", body=body, headers=self._headers)
        if not self.config.silence_on_ack:
            return
        # Acknowledged: this notice says so, or it tells of an incident still owned (a reopen within the quiet time
        # keeps its acknowledgement, and the resolve before it expired the silences).
        owned = notice.event == "acknowledged" or notice.status == "acknowledged"
        for labels in silenced(notice):
            if notice.ended:
                for found in await self.silences(labels):
                    await self.request("DELETE", f"{self._base}/silence/{quote(found, safe='')}",
                                       headers=self._headers)
            elif owned and not await self.silences(labels):
                await self.post(self._base + "/silences", headers=self._headers,
                                body=dumps(silence(notice, labels, now, self.config.firing_ttl)))

    async def silences(self, labels: Labels) -> list[str]:
        """Ids of the active or pending silences opsmon made on exactly these labels."""
        query = "&".join(_filter(name, value) for name, value in labels)
        resp = await self.request("GET", f"{self._base}/silences?{query}", headers=self._headers)
        try:
            found: list[dict[str, Any]] = resp.json()
            want = sorted(json.dumps(m, sort_keys=True) for m in matchers(labels))
            return [s["id"] for s in found
                    if s.get("createdBy") == CREATED_BY and s.get("status", {}).get("state") in ("active", "pending")
                    and sorted(json.dumps(m, sort_keys=True) for m in s.get("matchers", [])) == want]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DeliveryError(f"Alertmanager's silences answer is not what API v2 documents: {exc}") from None
