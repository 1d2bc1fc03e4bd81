"""The `notify:` section of collector.yaml: channel settings by type, and the retry policy they share.

The senders (opsmon.collector.notify) take these models; the channel registry there maps each
`type` to its sender class.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from opsmon.collector.core import secrets
from opsmon.collector.core.fields import FROZEN, Duration, PositiveDuration
from opsmon.collector.core.lang import Lang


class ChannelOptions(BaseModel):
    """Settings every channel has."""

    model_config = FROZEN
    lang: Lang | None = Field(None, description="zh or en for one language; default both, Chinese first")
    timeout: PositiveDuration = Field(10.0, description="Give up one delivery attempt after this long")


class HttpOptions(ChannelOptions):
    ca_file: str | None = Field(None, description="PEM CA bundle to verify the server (default: system CAs)")
    proxy: str | None = Field(None, description="HTTP(S) proxy URL, e.g. http://proxy.gov.local:3128")


class AlertmanagerConfig(HttpOptions):
    """POST to Alertmanager's v2 API (/api/v2/alerts)."""

    type: Literal["alertmanager"]
    url: str = Field(description="Base URL of Alertmanager, e.g. http://127.0.0.1:9093 (no /api/v2)")
    firing_ttl: Duration = Field(
        86400.0, description="endsAt of a firing alert is this far ahead; an open incident's alert lasts this long")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on every alert (e.g. env)")
    silence_on_ack: bool = Field(
        True, description="Acknowledging silences the incident's alerts here (expired when it ends), so Alertmanager's "
        "receivers stop repeating them")
    bearer_token: SecretStr | None = Field(None, description="Authorization: Bearer token, if a proxy asks for one")
    bearer_token_env: str | None = None
    bearer_token_file: str | None = None

    @model_validator(mode="after")
    def _secrets(self) -> AlertmanagerConfig:
        secrets.check(self, "bearer_token", required=False)
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class WebhookConfig(HttpOptions):
    """JSON POST to any HTTPS endpoint, HMAC-signed."""

    type: Literal["webhook"]
    url: str = Field(description="Where to POST (https:// unless on the same host)")
    secret: SecretStr | None = Field(None, description="Shared HMAC key (32+ random characters)")
    secret_env: str | None = None
    secret_file: str | None = None
    include_contacts: bool = Field(
        False, description="Send recipients' e-mail and mobile too (personal data: only if the receiver needs them)")

    @model_validator(mode="after")
    def _secrets(self) -> WebhookConfig:
        secrets.check(self, "secret", required=True)
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class EmailConfig(ChannelOptions):
    """SMTP submission; recipients are the notice's people with an e-mail plus `to`."""

    type: Literal["email"]
    host: str = Field(description="SMTP server (relay or submission server)")
    port: int = Field(587, ge=1, le=65535, description="587 for STARTTLS submission, 465 for security: tls")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (required, default), tls (implicit TLS, port 465) or none (clear text)")
    ca_file: str | None = Field(None, description="PEM CA bundle to verify the server (default: system CAs)")
    sender: str = Field(description="From address, e.g. opsmon@it.example.gov.cn")
    to: tuple[str, ...] = Field((), description="Addresses that get every message of this channel")
    username: str | None = Field(None, description="Log in as this user (after TLS); no login when absent")
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EmailConfig:
        secrets.check(self, "password", required=self.username is not None)
        if self.username is None and secrets.given(self, "password"):
            raise ValueError("password given without username")
        return self


class RobotOptions(HttpOptions):
    """Group robots (WeCom, DingTalk) take at most 20 messages a minute each; beyond it they refuse
    (DingTalk then blocks the robot for 10 minutes), so posts wait in the channel's queue instead."""

    rate_limit: int = Field(20, ge=1, le=1000, description="Messages per rate_window the robot accepts")
    rate_window: PositiveDuration = Field(60.0, description="The robot's rate window (tests shorten it)")


class WecomConfig(RobotOptions):
    """企业微信 group robot; the key is the `key=` of the robot's webhook address."""

    type: Literal["wecom"]
    key: SecretStr | None = Field(None, description="Robot key (the key= part of its webhook URL)")
    key_env: str | None = None
    key_file: str | None = None
    base_url: str = Field("https://qyapi.weixin.qq.com", description="Change only for a relay or a test server")
    mention: bool = Field(
        True, description="@-mention recipients by mobile: the notice is then one text message (markdown cannot "
        "mention by mobile), else markdown")

    @model_validator(mode="after")
    def _secrets(self) -> WecomConfig:
        secrets.check(self, "key", required=True)
        return self


class DingtalkConfig(RobotOptions):
    """钉钉 group robot; give `secret` when the robot uses 加签 (recommended), `keyword` when it uses 自定义关键词."""

    type: Literal["dingtalk"]
    access_token: SecretStr | None = Field(None, description="The access_token= part of the robot's webhook URL")
    access_token_env: str | None = None
    access_token_file: str | None = None
    secret: SecretStr | None = Field(None, description="The SEC... signing secret (加签)")
    secret_env: str | None = None
    secret_file: str | None = None
    base_url: str = Field("https://oapi.dingtalk.com", description="Change only for a relay or a test server")
    mention: bool = Field(True, description="@-mention recipients by mobile")
    keyword: str | None = Field(
        None, min_length=1, max_length=100,
        description="The robot's custom keyword (自定义关键词), put in every message's title and text")

    @model_validator(mode="after")
    def _secrets(self) -> DingtalkConfig:
        secrets.check(self, "access_token", required=True)
        secrets.check(self, "secret", required=False)
        return self

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
