"""The survey's answer page: plain server-rendered HTML, Chinese first with English, readable on a phone
(375 px), no scripts and nothing loaded from elsewhere (the style is inline)."""
from __future__ import annotations

from html import escape

from opsmon.collector.core.survey import COMMENT_MAX, SCORES

STYLE = ("body{font-family:'Noto Sans CJK SC',sans-serif;max-width:40em;margin:1em auto;padding:0 1em;"
         "font-size:17px;line-height:1.5}h1{font-size:1.3em}label.s{display:block;border:1px solid #bbb;"
         "border-radius:.4em;padding:.7em;margin:.5em 0}textarea{width:100%;box-sizing:border-box;font-size:1em}"
         "button{font-size:1.1em;padding:.6em 2em;margin-top:1em;width:100%}.bad{color:#b00}.ok{color:#070}")
HEAD = ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>服务满意度调查 / Satisfaction survey</title><style>{STYLE}</style></head><body>")


def form_html(period: str, department: str, error: tuple[str, str] | None = None) -> str:
    """The question: one of the three scores (required) and an optional comment; POSTs to the same link."""
    choices = "".join(
        f"<label class='s'><input type='radio' name='score' value='{key}' required> {zh} / {en}</label>"
        for key, (zh, en) in SCORES.items())
    warn = f"<p class='bad'>{escape(error[1])}<br>{escape(error[0])}</p>" if error else ""
    return (HEAD + f"<h1>服务满意度调查<br>Satisfaction survey</h1>"
            f"<p>{escape(period)} · {escape(department)}</p>{warn}"
            "<p>您对信息中心本期提供的运维服务是否满意？<br>How satisfied are you with the IT centre's "
            "operations service in this period?</p>"
            f"<form method='post'>{choices}"
            f"<p><label>意见（可选）/ Comment (optional)<br><textarea name='comment' rows='4' "
            f"maxlength='{COMMENT_MAX}'></textarea></label></p>"
            "<button type='submit'>提交 / Submit</button></form></body></html>")


def done_html(period: str) -> str:
    return HEAD + (f"<p class='ok'>感谢您的评价（{escape(period)}）。<br>"
                   f"Thank you for your answer ({escape(period)}).</p></body></html>")


def refused_html(reason_en: str, reason_zh: str) -> str:
    return HEAD + f"<p class='bad'>{escape(reason_zh)}<br>{escape(reason_en)}</p></body></html>"
