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
from urllib.parse import quote

from opsmon.collector.config.notify import WecomConfig
from opsmon.collector.core import secrets
from opsmon.collector.notify.base import HttpChannel, check_errcode, dumps, resolve_path
from opsmon.collector.notify.message import Notice, compose
from opsmon.collector.notify.robots import cut, markdown

MARKDOWN_LIMIT = 4096
TEXT_LIMIT = 2048


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
