"""Who is at the browser: the session cookie, the CSRF token of every form, and the role a change needs.

The cookie (`opsmon_session`) is HttpOnly (no script reads it), SameSite=Lax (another site's form posts
without it; a link from a notification still opens the page logged in) and Secure when the console is served over HTTPS
(directly, or behind a proxy on loopback that says so in X-Forwarded-Proto). A form carries a CSRF token
as well: the session's own, or, before login, a random one also set in a cookie (`opsmon_pre`, double
submit). A post without the right token is refused with 403 and the reason, before it does anything.
"""
from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from opsmon.collector.outputs.api.deps import RANK
from opsmon.collector.store.users import Person

SESSION = "opsmon_session"
PRE = "opsmon_pre"  # the CSRF token of the pages shown before login
LANG = "opsmon_lang"  # the language of those pages
PATH = "/ui"


class Refused(Exception):
    """A request the console answers with an error page: (status, reason in zh, reason in en)."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.zh, self.en = status, zh, en


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


def pre_token(request: Request) -> str:
    """The anonymous CSRF token: the browser's, or a new one (set on the response by `keep_pre`)."""
    token = request.cookies.get(PRE, "")
    return token if 20 <= len(token) <= 64 else secrets.token_urlsafe(32)


def check_csrf(form: dict[str, str], expected: str) -> None:
    given = form.get("csrf", "")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refused(403, "表单缺少有效的 CSRF 令牌（页面过期或来自其他网站），请刷新页面后重试。",
                      "the form's CSRF token is missing or wrong (an old page, or a form from another site); "
                      "reload the page and try again")


def need(person: Person, role: str) -> None:
    if RANK[person.role] < RANK[role]:
        raise Refused(403, f"此操作需要 {role} 角色；{person.name} 的角色是 {person.role}。",
                      f"this needs the {role} role; {person.name} has {person.role}")


def form_fields(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body, one value per name (the first)."""
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(400, "表单无法解析。", f"the form cannot be read: {exc}") from None
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out
