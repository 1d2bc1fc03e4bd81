"""The page behind an acknowledge link (/ack/{token}, outputs/api/ack.py), in the console's layout.

The link is the credential: no console login is asked (a person's own link acknowledges with one press, a group
link asks who: a name of the roster and the code sent to that person, or an operator's API token). The page is
the console's (its style sheet, its security headers, no script), bilingual because the person who opens it
may have no account, and it leads to the incident's console page (/ui/incidents/{id}: its trail, notes and
resolve, after a login). Times in the configured zone, named; the asset by its name and id.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from opsmon.collector.core.lang import local_time
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.ui.kit import render

MODES = ("confirm", "who", "used", "done", "refused")


@dataclass(frozen=True)
class PageContext:
    """What the page needs beyond the incident: the asset's name, the roster to choose from, a used link's use."""

    asset_name: str | None = None
    people: tuple[tuple[str, str], ...] = ()  # (id, display name) of the on-call roster
    used_at: datetime | None = None
    used_by: str | None = None
    note_en: str = ""
    note_zh: str = ""


def link_page(request: Request, face: CollectorFace, mode: str, inc: Any, person: str = "", reason_en: str = "",
             reason_zh: str = "", ctx: PageContext = PageContext(), status: int = 200) -> HTMLResponse:
    """mode: confirm (a person's link: show and ask), who (a group link: ask who), used (who used it, when),
    done (acknowledged), refused (why not)."""
    assert mode in MODES
    asset = ""
    if inc is not None:
        asset = f"{ctx.asset_name} ({inc.asset_id})" if ctx.asset_name else inc.asset_id
    return render(request, face, "ack.html", None, "zh", status, mode=mode, inc=inc, asset=asset, acker=person,
                  reason_en=reason_en, reason_zh=reason_zh, ctx=ctx, local_time=local_time)
