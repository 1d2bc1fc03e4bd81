"""WeCom (企业微信) group robot: POST <base_url>/cgi-bin/webhook/send?key=KEY.

Documented format (developer.work.weixin.qq.com/document/path/91770):
markdown {"msgtype": "markdown", "markdown": {"content": ...}} (at most 4096
bytes) cannot @-mention by mobile, so when recipients have mobiles a second,
short {"msgtype": "text", "text": {"content", "mentioned_mobile_list"}} follows
(content at most 2048 bytes). The answer is {"errcode": 0, "errmsg": "ok"} on
success; anything else (45009 = rate limited, 93000 = bad key) is a failure.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, model_validator

from collector import secrets
from collector.notify.base import HttpChannel, HttpOptions, check_errcode, dumps, resolve_path
from collector.notify.message import Notice, compose
from collector.notify.robots import cut, markdown

MARKDOWN_LIMIT = 4096
TEXT_LIMIT = 2048


class WecomConfig(HttpOptions):
    """企业微信 group robot; the key is the `key=` of the robot's webhook address."""

    type: Literal["wecom"]
    key: SecretStr | None = Field(None, description="Robot key (the key= part of its webhook URL)")
    key_env: str | None = None
    key_file: str | None = None
    base_url: str = Field("https://qyapi.weixin.qq.com", description="Change only for a relay or a test server")
    mention: bool = Field(True, description="@-mention recipients by mobile (a second, short text message)")

    @model_validator(mode="after")
    def _secrets(self) -> WecomConfig:
        secrets.check(self, "key", required=True)
        return self


def messages(notice: Notice, config: WecomConfig, now: datetime) -> list[dict[str, object]]:
    _, content = markdown(notice, config.lang, now, "\n")
    out: list[dict[str, object]] = [{"msgtype": "markdown", "markdown": {"content": cut(content, MARKDOWN_LIMIT)}}]
    mobiles = notice.mobiles()
    if config.mention and mobiles:
        head, _ = compose(notice, config.lang, now)
        link = f"\n{notice.ack_url}" if notice.ack_url else ""
        out.append({"msgtype": "text",
                    "text": {"content": cut(head + link, TEXT_LIMIT), "mentioned_mobile_list": mobiles}})
    return out


class WecomChannel(HttpChannel):
    type_name = "wecom"

    def __init__(self, name: str, config: WecomConfig, base_dir: Path, source: str) -> None:
        key = secrets.read(config, "key", f"notify.channels.{name}", base_dir, source)
        assert key is not None
        config = config.model_copy(update={"ca_file": resolve_path(config.ca_file, base_dir)})
        super().__init__(name, config, [key])
        self.config = config
        self._url = f"{config.base_url.rstrip('/')}/cgi-bin/webhook/send?key={quote(key, safe='')}"

    async def send(self, notice: Notice, now: datetime) -> None:
        for message in messages(notice, self.config, now):
            check_errcode(await self.post(self._url, body=dumps(message)), "WeCom")
