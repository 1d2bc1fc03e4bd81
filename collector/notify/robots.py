"""Markdown shared by the group robots (WeCom, DingTalk): the same lines as plain text, bolder."""
from __future__ import annotations

from datetime import datetime

from opsmon.collector.notify.message import Notice, languages, lines, title
from opsmon.collector.notify.texts import Lang


def markdown(notice: Notice, lang: Lang | None, now: datetime, newline: str) -> tuple[str, str]:
    """(title, markdown) in one or both languages; DingTalk needs blank lines where WeCom takes one newline."""
    titles, blocks = [], []
    for one in languages(lang):
        head = title(notice, one)
        titles.append(head)
        body = [f"### {head}"]
        for key, label, value in lines(notice, one, now):
            shown = f"[{value}]({value})" if key == "ack" else value
            body.append(f"**{label}**: {shown}")
        blocks.append(newline.join(body))
    return " / ".join(titles), (newline * 2).join(blocks)


def cut(text: str, limit: int) -> str:
    """Trim to `limit` UTF-8 bytes without splitting a character: robots reject longer messages outright."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode(errors="ignore") + "…"
