"""The channel registry: each `type` of the `notify:` section (opsmon.collector.config.notify) and its sender.

Channel types are a plain dict (type name -> config model, sender class); a
channel instance is named by the operator, and escalation policies refer to
those names.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from opsmon.collector.config.notify import (
    AlertmanagerConfig,
    DingtalkConfig,
    EmailConfig,
    NotifyConfig,
    WebhookConfig,
    WecomConfig,
)
from opsmon.collector.notify.alertmanager import AlertmanagerChannel
from opsmon.collector.notify.base import Channel
from opsmon.collector.notify.dingtalk import DingtalkChannel
from opsmon.collector.notify.mail import EmailChannel
from opsmon.collector.notify.webhook import WebhookChannel
from opsmon.collector.notify.wecom import WecomChannel

REGISTRY: dict[str, tuple[type[BaseModel], type[Any]]] = {
    "alertmanager": (AlertmanagerConfig, AlertmanagerChannel),
    "webhook": (WebhookConfig, WebhookChannel),
    "email": (EmailConfig, EmailChannel),
    "wecom": (WecomConfig, WecomChannel),
    "dingtalk": (DingtalkConfig, DingtalkChannel),
}


def build_channels(config: NotifyConfig, base_dir: Path, source: str) -> dict[str, Channel]:
    """Channel instances with their secrets read; ConfigError names the key of a secret that cannot be read."""
    out: dict[str, Channel] = {}
    for name, spec in config.channels.items():
        _, cls = REGISTRY[spec.type]
        out[name] = cls(name, spec, base_dir, source)
    return out
