"""DingTalk (钉钉) group robot: POST <base_url>/robot/send?access_token=TOKEN.

Documented format (open.dingtalk.com, 自定义机器人): {"msgtype": "markdown",
"markdown": {"title", "text"}, "at": {"atMobiles": [...], "isAtAll": false}};
a mobile is only highlighted when "@<mobile>" also appears in the text. Robots
with 加签 (signing) need &timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(
secret, "<timestamp>\\n<secret>")))>; the timestamp must be within an hour of
DingTalk's clock. Robots with 自定义关键词 (custom keywords) drop, with errcode
310000, every message that does not contain one of them: `keyword` is put at the
start of the title and of the text, where no cut to the length limit removes it.
A robot takes 20 messages a minute (then refuses for 10 minutes): the channel's
pace keeps under it. The answer is {"errcode": 0, "errmsg": "ok"} on success.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, quote_plus

from opsmon.collector.config.notify import DingtalkConfig
from opsmon.collector.core import secrets
from opsmon.collector.notify.base import HttpChannel, Pace, check_errcode, dumps, resolve_path
from opsmon.collector.notify.message import Notice
from opsmon.collector.notify.robots import cut, markdown

TEXT_LIMIT = 5000


def signature(secret: str, timestamp_ms: int) -> str:
    """The `sign` query value, URL-encoded, exactly as DingTalk's documented Python example computes it."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(mac))


def message(notice: Notice, config: DingtalkConfig, now: datetime) -> dict[str, object]:
    title, text = markdown(notice, config.lang, now, "\n\n")
    if config.keyword:
        title, text = f"【{config.keyword}】{title}", f"【{config.keyword}】\n\n{text}"
    mobiles = notice.mobiles() if config.mention else []
    if mobiles:
        text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
    return {"msgtype": "markdown", "markdown": {"title": cut(title, 200), "text": cut(text, TEXT_LIMIT)},
            "at": {"atMobiles": mobiles, "isAtAll": False}}


class DingtalkChannel(HttpChannel):
    type_name = "dingtalk"

    def __init__(self, name: str, config: DingtalkConfig, base_dir: Path, source: str) -> None:
        where = f"notify.channels.{name}"
        token = secrets.read(config, "access_token", where, base_dir, source)
        assert token is not None
        secret = secrets.read(config, "secret", where, base_dir, source)
        config = config.model_copy(update={"ca_file": resolve_path(config.ca_file, base_dir)})
        super().__init__(name, config, [token] + ([secret] if secret else []),
                         Pace(config.rate_limit, config.rate_window))
        self.config = config
        self._url = f"{config.base_url.rstrip('/')}/robot/send?access_token={quote(token, safe='')}"
        self._secret = secret

    async def send(self, notice: Notice, now: datetime) -> None:
        url = self._url
        if self._secret:
            ms = int(now.timestamp() * 1000)
            url += f"&timestamp={ms}&sign={signature(self._secret, ms)}"
        check_errcode(await self.post(url, body=dumps(message(notice, self.config, now))), "DingTalk")
