"""Generic webhook: the notice as JSON, signed so the receiver can trust it and refuse replays.

Signature scheme (docs/notifications.md has a receiver example):
    X-Opsmon-Timestamp: <unix seconds>
    X-Opsmon-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body bytes)>
The receiver recomputes it over the exact bytes received, compares in constant
time, rejects timestamps more than 5 minutes from its clock, and drops repeats
of `key` (the same notice retried).
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from pathlib import Path
from typing import Any

from opsmon.collector.config.notify import WebhookConfig
from opsmon.collector.core import secrets
from opsmon.collector.notify.base import HttpChannel, dumps, resolve_path
from opsmon.collector.notify.message import Notice, render
from opsmon.collector.notify.texts import LANGS

VERSION = 1


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Opsmon-Signature value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def payload(notice: Notice, now: datetime, include_contacts: bool) -> dict[str, Any]:
    texts = {lang: render(notice, lang, now) for lang in LANGS}
    people = [{"name": p.name, **({"email": p.email, "mobile": p.mobile} if include_contacts else {})}
              for p in notice.recipients]
    return {
        "version": VERSION, "key": notice.key, "incident_id": notice.incident_id, "event": notice.event,
        "asset_id": notice.asset_id, "asset_name": notice.asset_name, "site": notice.site,
        "category": notice.category, "kind": notice.kind, "severity": notice.severity, "cause": notice.cause,
        "opened_at": notice.opened_at.isoformat(),
        "deadline": notice.deadline.isoformat() if notice.deadline else None,
        "at": (notice.at or now).isoformat(), "level": notice.level, "recipients": people,
        "ack_url": notice.ack_url, "attached": notice.attached, "acknowledged_by": notice.acknowledged_by,
        "timezone": notice.timezone,
        "title": {lang: t for lang, (t, _) in texts.items()}, "text": {lang: b for lang, (_, b) in texts.items()},
    }


class WebhookChannel(HttpChannel):
    type_name = "webhook"

    def __init__(self, name: str, config: WebhookConfig, base_dir: Path, source: str) -> None:
        secret = secrets.read(config, "secret", f"notify.channels.{name}", base_dir, source)
        assert secret is not None
        config = config.model_copy(update={"ca_file": resolve_path(config.ca_file, base_dir)})
        super().__init__(name, config, [secret])
        self.config = config
        self._secret = secret

    async def send(self, notice: Notice, now: datetime) -> None:
        body = dumps(payload(notice, now, self.config.include_contacts))
        timestamp = str(int(now.timestamp()))
        await self.post(self.config.url, body=body, headers={
            "X-Opsmon-Timestamp": timestamp, "X-Opsmon-Signature": sign(self._secret, timestamp, body),
            "X-Opsmon-Key": notice.key})
