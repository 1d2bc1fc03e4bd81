"""The channel registry and the `notify:` section of collector.yaml.

Channel types are a plain dict (type name -> config model, sender class); a
channel instance is named by the operator, and escalation policies refer to
those names.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from collector.fields import FROZEN, PositiveDuration
from collector.notify.alertmanager import AlertmanagerChannel, AlertmanagerConfig
from collector.notify.base import Channel
from collector.notify.dingtalk import DingtalkChannel, DingtalkConfig
from collector.notify.mail import EmailChannel, EmailConfig
from collector.notify.webhook import WebhookChannel, WebhookConfig
from collector.notify.wecom import WecomChannel, WecomConfig

REGISTRY: dict[str, tuple[type[BaseModel], type[Any]]] = {
    "alertmanager": (AlertmanagerConfig, AlertmanagerChannel),
    "webhook": (WebhookConfig, WebhookChannel),
    "email": (EmailConfig, EmailChannel),
    "wecom": (WecomConfig, WecomChannel),
    "dingtalk": (DingtalkConfig, DingtalkChannel),
}

ChannelConfig = Annotated[
    AlertmanagerConfig | WebhookConfig | EmailConfig | WecomConfig | DingtalkConfig, Field(discriminator="type")]


class RetryPolicy(BaseModel):
    """How hard to try one notice on one channel before recording it as failed for good."""

    model_config = FROZEN
    backoff: tuple[PositiveDuration, ...] = Field(
        (2.0, 10.0, 60.0, 300.0), description="Waits between attempts; attempts = waits + 1 (default 5)")
    queue_size: int = Field(
        1000, ge=1, le=1_000_000, description="Notices waiting per channel; beyond it the oldest is dropped")

    @property
    def attempts(self) -> int:
        return len(self.backoff) + 1


class NotifyConfig(BaseModel):
    """`notify:` in collector.yaml: named channels and the retry policy they share."""

    model_config = FROZEN
    channels: dict[str, ChannelConfig] = Field(default_factory=dict, description="Channels by name")
    retry: RetryPolicy = RetryPolicy()

    @field_validator("channels")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not name or not all(c.isalnum() or c in "-_." for c in name):
                raise ValueError(f"channel name {name!r}: use letters, digits, - _ .")
        return value


def build_channels(config: NotifyConfig, base_dir: Path, source: str) -> dict[str, Channel]:
    """Channel instances with their secrets read; ConfigError names the key of a secret that cannot be read."""
    out: dict[str, Channel] = {}
    for name, spec in config.channels.items():
        _, cls = REGISTRY[spec.type]
        out[name] = cls(name, spec, base_dir, source)
    return out
