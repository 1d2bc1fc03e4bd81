"""What every console page shares: who is at the browser, the posted form checked for its CSRF token, and a
template rendered in the person's language with the security headers."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from opsmon.collector.core.lang import Lang
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.ui import text
from opsmon.collector.outputs.ui.session import (
    LANG,
    PRE,
    SESSION,
    Refused,
    check_csrf,
    form_fields,
    pre_token,
    set_cookie,
)
from opsmon.collector.store import users
from opsmon.collector.store.users import Person

HERE = Path(__file__).parent
TEMPLATES = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
# No script, no frame, no resource from anywhere but the collector itself.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
def person_of(face: CollectorFace, request: Request) -> Person | None:
    return users.person(face.store, request.cookies.get(SESSION, ""), face.now())

# A stored row's number in a path (an exclusion, an override, a report): bounded like the API's, so a number past
# 64 bits is a 422, never a 500 from the database driver.
RowId = Annotated[int, PathParam(ge=1, le=2**62)]


def lang_of(request: Request, person: Person | None) -> Lang:
    return text.pick(person.lang if person else request.cookies.get(LANG))


def render(request: Request, face: CollectorFace, template: str, person: Person | None, lang: Lang,
            status: int = 200, **context: Any) -> HTMLResponse:
    csrf = person.csrf if person else pre_token(request)
    page = TEMPLATES.get_template(template).render(
        t=text.words(lang), lang=lang, person=person, csrf=csrf, zone=face.timezone, path=request.url.path,
        **context)
    response = HTMLResponse(page, status_code=status, headers=HEADERS)
    if person is None and request.cookies.get(PRE) != csrf:
        set_cookie(request, response, PRE, csrf)
    return response


def safe_next(value: str | None) -> str:
    """Only a page of the console itself (no open redirect to another site)."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)



def who(face: CollectorFace, request: Request) -> Person:
    """The logged-in person; a GET without one is sent to the login page, anything else refused."""
    person = person_of(face, request)
    if person is None:
        if request.method == "GET":
            raise Login(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        raise Refused(401, "请先登录（会话已结束或不存在）。", "log in first (no session, or it has ended)")
    return person

async def posted(face: CollectorFace, request: Request, person: Person | None) -> dict[str, str]:
    form = form_fields(await request.body())
    check_csrf(form, person.csrf if person else request.cookies.get(PRE, ""))
    return form


async def operator_form(face: CollectorFace, request: Request) -> tuple[Person, dict[str, str]]:
    """An operator's post: the person, and the form checked for its CSRF token (a viewer's refused, 403)."""
    from opsmon.collector.outputs.ui.session import need

    person = who(face, request)
    form = await posted(face, request, person)
    need(person, "operator")
    return person, form


def refusal(exc: Exception, zh: str) -> Refused:
    """A store or face command's refusal as the page's: NotFound 404, Conflict 409, InvalidInput 422; `zh` (what
    could not be done) before the command's own words."""
    from opsmon.collector.core.errors import Conflict, NotFound

    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 422
    return Refused(status, f"{zh}{exc}", str(exc))


class Login(Refused):
    """A page asked for without a session: answered with a redirect to the login page."""

    def __init__(self, wanted: str) -> None:
        super().__init__(303, "", "")
        self.wanted = wanted


def login_redirect(wanted: str) -> RedirectResponse:
    from urllib.parse import quote

    return see(f"/ui/login?next={quote(wanted, safe='/')}")
