"""The small bilingual page behind an acknowledge link (no scripts, no external resources)."""
from __future__ import annotations

from html import escape
from typing import Any

STYLE = ("body{font-family:'Noto Sans CJK SC',sans-serif;max-width:40em;margin:2em auto;padding:0 1em}"
         "button{font-size:1.2em;padding:.5em 2em}.bad{color:#b00}.ok{color:#070}dt{font-weight:bold}")


def ack_page_html(mode: str, inc: Any, person: str, reason_en: str, reason_zh: str) -> str:
    """mode: confirm (show and ask), done (acknowledged), refused (why not)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>opsmon</title><style>{STYLE}</style>"
             "</head><body>"]
    if inc is not None:
        parts.append(
            f"<h1>{escape(inc.id)}</h1><dl>"
            f"<dt>资产 / Asset</dt><dd>{escape(inc.asset_id)}</dd>"
            f"<dt>类型 / Kind</dt><dd>{escape(inc.kind)} · {escape(inc.severity)}</dd>"
            f"<dt>原因 / Cause</dt><dd>{escape(inc.cause)}</dd>"
            f"<dt>开始 / Opened</dt><dd>{escape(inc.opened.isoformat(timespec='seconds'))}</dd>"
            + (f"<dt>响应时限 / Respond by</dt><dd>{escape(inc.deadline.isoformat(timespec='seconds'))}</dd>"
               if inc.deadline else "") + "</dl>")
    if mode == "confirm":
        parts.append(f"<p>确认人 / Acknowledging as: <b>{escape(person)}</b></p>"
                     "<form method='post'><button type='submit'>确认 / Acknowledge</button></form>")
    elif mode == "done":
        parts.append(f"<p class='ok'>已确认，确认人 {escape(person)}。<br>Acknowledged by {escape(person)}.</p>")
    else:
        parts.append(f"<p class='bad'>{escape(reason_zh)}<br>{escape(reason_en)}</p>")
    parts.append("</body></html>")
    return "".join(parts)
