"""The console's pages about the estate: the assets (by site and category, one asset's state bar, checks and
incidents) and what is behind a target's figure (the per-asset figures of an availability target, the
incidents of a response target).

Every read is bounded for a large estate (10,000 assets, a quarter of history): the listing is one page of
assets with the states of just those, and a target's assets are its worst first, at most PAGE of them.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from opsmon.collector.core.states import CATEGORIES
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.report import fmt
from opsmon.collector.outputs.ui import text, views
from opsmon.collector.outputs.ui.kit import lang_of, render, who
from opsmon.collector.outputs.ui.session import Refused

PAGE = 200  # assets on one page of the listing, and of a target's assets


def routes(face: CollectorFace) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    store = face.store

    @router.get("/ui/assets")
    def asset_list(request: Request, site: str = "", category: str = "", page: int = 1) -> Response:
        """Live assets by site, then category, then id, PAGE at a time, each with its state and since when."""
        from opsmon.collector.config.inventory import asset_sites, count_assets, list_assets
        from opsmon.collector.store.history import current_states

        person = who(face, request)
        lang = lang_of(request, person)
        if category and category not in CATEGORIES:
            raise Refused(422, f"category 取值无效：{category!r}", f"category: {category!r} is not one of "
                          f"{', '.join(CATEGORIES)}")
        if len(site) > 128 or not 1 <= page <= 100_000:
            raise Refused(422, "站点名或页码无效。", "site: at most 128 characters; page: 1 to 100000")
        total = count_assets(store, category or None, site or None)
        assets = list_assets(store, category=category or None, site=site or None, by_site=True, limit=PAGE,
                             offset=(page - 1) * PAGE)
        states = current_states(store, [a.id for a in assets])
        rows = [{"id": a.id, "name": a.name or a.id, "site": a.site or "", "category": a.category,
                 "state": states[a.id].state if a.id in states else "unknown",
                 "since": views.local(states[a.id].start, face.timezone) if a.id in states else "-"}
                for a in assets]
        return render(request, face, "assets.html", person, lang, rows=rows, total=total, page=page,
                      pages=max(1, -(-total // PAGE)), sites=asset_sites(store), categories=CATEGORIES,
                      chosen={"site": site, "category": category})

    @router.get("/ui/assets/{asset_id}")
    def asset_page(request: Request, asset_id: str, period: str = "") -> Response:
        """One asset: its state bar over the period, seconds per state, its checks and its incidents."""
        from opsmon.collector.config.inventory import list_assets
        from opsmon.collector.incidents.read import IncidentFilter, list_incidents
        from opsmon.collector.store.history import asset_history

        person = who(face, request)
        lang = lang_of(request, person)
        found = list_assets(store, include_removed=True, asset_id=asset_id)
        if not found:
            raise Refused(404, f"没有资产 {asset_id}。", f"no asset {asset_id!r}")
        asset = found[0]
        now = face.now()
        chosen = views.period_of(period, now, face.timezone)
        spans, totals = asset_history(store, asset_id, chosen.start, chosen.end, now)
        words = text.words(lang)
        incidents = [{**d, "opened": views.local(d["opened_at"], face.timezone),
                      "kind_word": text.kind(d["kind"], lang)}
                     for d in list_incidents(store, where=IncidentFilter(asset=asset_id), limit=50, now=now)]
        return render(request, face, "asset.html", person, lang, asset=asset, period=chosen,
                      choices=views.period_choices(now, face.timezone),
                      bars=views.state_bar(spans, chosen.start, chosen.end, now, face.timezone),
                      totals=[(state, fmt.duration(seconds, lang)) for state, seconds in totals.items() if seconds > 0],
                      checks=views.check_rows(asset.checks), incidents=incidents,
                      removed=views.local(asset.removed_at, face.timezone) if asset.removed_at else "",
                      words=words)

    @router.get("/ui/targets/{target_id}")
    def behind_target(request: Request, target_id: str, period: str = "") -> Response:
        """What a figure is made of: an availability target's assets (worst first, each with its own figures:
        the fleet's figure is their good seconds over their observed ones), or a response target's incidents."""
        from opsmon.collector.config.inventory import asset_names
        from opsmon.collector.sla.targets import load_targets

        person = who(face, request)
        lang = lang_of(request, person)
        table = load_targets(face.targets_path())
        try:
            target = table.get(target_id)
        except KeyError:
            raise Refused(404, f"没有指标 {target_id}。", f"no target {target_id!r}") from None
        now = face.now()
        chosen = views.period_of(period, now, face.timezone)
        # The period cache's: the whole period's figures when they are there, else this target alone over the
        # assets of its scope (a first visit reads only those: docs/sla.md, "The period cache"), measured in the
        # background: not done within the cache's WAIT, the page says so and reloads itself (views.offer).
        answer = face.offered(chosen, target=target.id)
        if answer.result is None or answer.evaluation is None:
            name = target.name_zh if lang == "zh" else target.name_en
            return render(request, face, "target.html", person, lang, name=name, row=None, period=chosen,
                          choices=views.period_choices(now, face.timezone), assets=[], incidents=[], count=0,
                          shown=PAGE, **views.offer(answer))
        ev = answer.evaluation
        measured = next((r for r in answer.result.targets if r.id == target.id), None)
        if measured is None:  # the table was edited between this page's reading and the cache's: gone from it
            raise Refused(404, f"指标 {target_id} 已不在指标表中。",
                          f"target {target_id!r} is no longer in the target table")
        assets, incidents = [], []
        if target.measure == "availability":
            behind = sorted(ev.assets_behind(target, table),
                            key=lambda a: (a[1].value if a[1].value is not None else 2.0, -a[1].bad, a[0]))
            names = asset_names(store, (a for a, _ in behind[:PAGE]))
            assets = [views.AssetFigures.of(a, names.get(a, a), f, lang) for a, f in behind[:PAGE]]
            count = len(behind)
        elif target.measure in ("response_time", "response_rate"):
            behind_incs = ev.incidents_behind(target)  # newest first
            names = asset_names(store, (i.asset_id for i in behind_incs[:PAGE]))
            incidents = [views.IncidentFigures.of(i, names.get(i.asset_id, i.asset_id), now, face.timezone, lang)
                         for i in behind_incs[:PAGE]]
            count = len(behind_incs)
        else:
            count = 0
        row = views.target_rows_of([measured], lang)[0]
        return render(request, face, "target.html", person, lang, name=row.name, row=row, period=chosen,
                      choices=views.period_choices(now, face.timezone), assets=assets, incidents=incidents,
                      count=count, shown=PAGE, as_of=views.local(answer.result.period.as_of, face.timezone),
                      **views.offer(answer))

    return router
