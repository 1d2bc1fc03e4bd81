"""WeCom (企业微信) group robot: POST <base_url>/cgi-bin/webhook/send?key=KEY.

Documented format (developer.work.weixin.qq.com/document/path/91770):
markdown {"msgtype": "markdown", "markdown": {"content": ...}} (at most 4096
bytes) can mention only by user id (<@userid>), never by mobile; text
{"msgtype": "text", "text": {"content", "mentioned_mobile_list"}} (content at
most 2048 bytes) can. A notice whose recipients have mobiles is therefore one
text message carrying the whole notice and the mention (Chinese only when both
languages do not fit), else one markdown message: one notice, one post, so the
robot's 20 messages a minute go twice as far as a markdown post followed by a
mention. The answer is {"errcode": 0, "errmsg": "ok"} on success; anything else
(45009 = rate limited, 93000 = bad key) is a failure.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from opsmon.collector.config.notify import WecomConfig
from opsmon.collector.core import secrets
from opsmon.collector.notify.base import HttpChannel, Pace, check_errcode, dumps, resolve_path
from opsmon.collector.notify.message import Notice, compose
from opsmon.collector.notify.robots import cut, markdown

MARKDOWN_LIMIT = 4096
TEXT_LIMIT = 2048


def _plain(notice: Notice, config: WecomConfig, now: datetime) -> str:
    """Title and body as plain text; Chinese alone when both languages pass the text limit (the ack link,
    the body's last line, would otherwise be cut)."""
    for lang in (None, "zh") if config.lang is None else (config.lang,):
        head, body = compose(notice, lang, now)
        text = f"{head}\n{body}"
        if len(text.encode()) <= TEXT_LIMIT:
            return text
    return cut(text, TEXT_LIMIT)


def message(notice: Notice, config: WecomConfig, now: datetime) -> dict[str, object]:
    """The one message of a notice: text with the mention when there are mobiles to mention, else markdown."""
    mobiles = notice.mobiles() if config.mention else []
    if mobiles:
        return {"msgtype": "text", "text": {"content": _plain(notice, config, now), "mentioned_mobile_list": mobiles}}
    _, content = markdown(notice, config.lang, now, "\n")
    return {"msgtype": "markdown", "markdown": {"content": cut(content, MARKDOWN_LIMIT)}}


class WecomChannel(HttpChannel):
    type_name = "wecom"

    def __init__(self, name: str, config: WecomConfig, base_dir: Path, source: str) -> None:
        key = secrets.read(config, "key", f"notify.channels.{name}", base_dir, source)
        assert key is not None
        config = config.model_copy(update={"ca_file": resolve_path(config.ca_file, base_dir)})
        super().__init__(name, config, [key], Pace(config.rate_limit, config.rate_window))
        self.config = config
        self._url = f"{config.base_url.rstrip('/')}/cgi-bin/webhook/send?key={quote(key, safe='')}"

    async def send(self, notice: Notice, now: datetime) -> None:
        check_errcode(await self.post(self._url, body=dumps(message(notice, self.config, now))), "WeCom")
