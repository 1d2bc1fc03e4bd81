"""The small bilingual page behind an acknowledge link (no scripts, no external resources).

Times are shown in the configured zone with its name, the asset by its name and id (issue 18 item 7).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from opsmon.collector.core.lang import local_time

STYLE = ("body{font-family:'Noto Sans CJK SC',sans-serif;max-width:40em;margin:2em auto;padding:0 1em}"
         "button{font-size:1.2em;padding:.5em 2em}.bad{color:#b00}.ok{color:#070}dt{font-weight:bold}"
         "form{margin:1em 0;padding:.5em 1em;border:1px solid #ccc}input,select{font-size:1.1em;margin:.2em}")


@dataclass(frozen=True)
class PageContext:
    """What the page needs beyond the incident: the zone, the asset's name, the roster to choose from."""

    zone: str = "UTC"
    asset_name: str | None = None
    people: tuple[tuple[str, str], ...] = ()  # (id, display name) of the on-call roster
    used_at: datetime | None = None
    used_by: str | None = None
    note_en: str = ""
    note_zh: str = ""


def ack_page_html(mode: str, inc: Any, person: str, reason_en: str, reason_zh: str,
                  ctx: PageContext = PageContext()) -> str:
    """mode: confirm (a person's link: show and ask), who (a group link: ask who), used (who used it, when),
    done (acknowledged), refused (why not)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>opsmon</title><style>{STYLE}</style>"
             "</head><body>"]
    if inc is not None:
        asset = f"{ctx.asset_name} ({inc.asset_id})" if ctx.asset_name else inc.asset_id
        parts.append(
            f"<h1>{escape(inc.id)}</h1><dl>"
            f"<dt>资产 / Asset</dt><dd>{escape(asset)}</dd>"
            f"<dt>类型 / Kind</dt><dd>{escape(inc.kind)} · {escape(inc.severity)}</dd>"
            f"<dt>原因 / Cause</dt><dd>{escape(inc.cause)}</dd>"
            f"<dt>开始 / Opened</dt><dd>{escape(local_time(inc.opened, ctx.zone))}</dd>"
            + (f"<dt>响应时限 / Respond by</dt><dd>{escape(local_time(inc.deadline, ctx.zone))}</dd>"
               if inc.deadline else "") + "</dl>")
    if ctx.note_en:
        parts.append(f"<p class='ok'>{escape(ctx.note_zh)}<br>{escape(ctx.note_en)}</p>")
    if mode == "confirm":
        parts.append(f"<p>确认人 / Acknowledging as: <b>{escape(person)}</b></p>"
                     "<form method='post'><button type='submit'>确认 / Acknowledge</button></form>")
    elif mode == "who":
        options = "".join(f"<option value='{escape(pid)}'>{escape(name)} ({escape(pid)})</option>"
                          for pid, name in ctx.people)
        parts.append(
            "<p>此链接发送到群组，请说明确认人。<br>This link was sent to a group: say who is acknowledging.</p>"
            "<form method='post'><input type='hidden' name='action' value='code'>"
            f"<label>值班人员 / On-call person <select name='person'>{options}</select></label><br>"
            "<button type='submit'>发送验证码 / Send me a code</button></form>"
            "<form method='post'><input type='hidden' name='action' value='confirm'>"
            f"<label>值班人员 / On-call person <select name='person'>{options}</select></label><br>"
            "<label>验证码 / Code <input name='code' inputmode='numeric' autocomplete='one-time-code'></label><br>"
            "<button type='submit'>确认 / Acknowledge</button></form>"
            "<form method='post'><input type='hidden' name='action' value='token'>"
            "<label>或使用操作员 API 令牌 / Or an operator API token "
            "<input name='token' type='password' autocomplete='off'></label><br>"
            "<button type='submit'>登录并确认 / Log in and acknowledge</button></form>")
    elif mode == "used":
        when = local_time(ctx.used_at, ctx.zone) if ctx.used_at else ""
        who = ctx.used_by or "?"
        parts.append(f"<p class='bad'>此链接已由 {escape(who)} 于 {escape(when)} 使用。<br>"
                     f"This link was used by {escape(who)} at {escape(when)}.</p>")
    elif mode == "done":
        parts.append(f"<p class='ok'>已确认，确认人 {escape(person)}。<br>Acknowledged by {escape(person)}.</p>")
    else:
        parts.append(f"<p class='bad'>{escape(reason_zh)}<br>{escape(reason_en)}</p>")
    parts.append("</body></html>")
    return "".join(parts)
