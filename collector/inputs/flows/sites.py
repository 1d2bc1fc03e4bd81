"""Each flow exporter's link in the inventory: its site (the prefecture the link serves) and whether it is one.

`flows.exporters` maps an exporter's address to a link asset id; nothing else ties the two. So a typo, or a link
removed from the inventory, would sum traffic under a link nobody knows. The receiver looks its links up in the
live inventory (at start and at each reload, which hands a new mapping) and judges each exporter:

- `link`: the asset exists and its category is link: its flows count for the asset's site;
- `not_link`: the asset exists but is a device (a border router, a firewall): summed as configured, under its
  site, with a warning (the dashboard's "links" then hold a device's traffic);
- `unknown`: no such asset: a warning, and with `flows.unknown_links: refuse` its datagrams are refused
  (reason unknown_link); else summed under the site `unknown`.

A warning is logged once per exporter and judgement (again only if a reload changes it), never per datagram.

A closed interval counts for its link's site if the link was in the inventory at any moment of the interval (its
site then; the last one, if it moved), and for `unknown` only if the link was out of it for the whole interval. The
store's per-site figures (store/flows.py) cut at the same places: a removed link's rows from its removal on (start
at or after removed_at) are `unknown`, its earlier ones stay under its site, and a restored link's rows are
`unknown` only for the intervals wholly inside the span it was removed. So each link keeps its last few placements
with the time each was learned (bounded: HISTORY); an interval is open for one interval's length, so a few are
plenty. The receiver learns a change at the reload after it: an interval that starts (or ends) between the two is
the one place the metric can differ from the store.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

UNKNOWN = "unknown"  # the site of a link that is no asset, or of an asset with no site
LINK, NOT_LINK = "link", "not_link"
HISTORY = 4  # placements kept per link: a link's open interval needs those in effect during it
WARNING = {
    NOT_LINK: ("流量导出设备对应的资产不是链路（按配置汇总）/ a flow exporter's asset is not a link (summed as "
               "configured)"),
    UNKNOWN: ("流量导出设备对应的链路不在资产清单中 / a flow exporter's link is no asset of the inventory"),
}


@dataclass(frozen=True)
class Placement:
    """Where an exporter's flows count: its link's site, and what the inventory says the link is."""

    site: str
    state: str  # link, not_link or unknown


def place(link: str, spec: Any | None) -> Placement:
    if spec is None:
        return Placement(UNKNOWN, UNKNOWN)
    return Placement(spec.site or UNKNOWN, LINK if spec.category == "link" else NOT_LINK)


class Sites:
    """The exporters' placements, recomputed when the inventory mapping changes (its identity: each reload
    hands a new one), so the per-datagram cost is a dict look-up."""

    def __init__(self, exporters: Mapping[str, str], assets: Callable[[], Mapping[str, Any]],
                 refuse_unknown: bool = False) -> None:
        self.exporters = dict(exporters)
        self.assets = assets
        self.refuse_unknown = refuse_unknown
        self.placements: dict[str, Placement] = {}  # exporter -> its link's placement
        self.by_link: dict[str, Placement] = {}
        # link -> (since, placement), oldest first; the first since is -inf (nothing was known before it)
        self.history: dict[str, deque[tuple[float, Placement]]] = {}
        self._seen: object = None

    def refresh(self, now: float = float("-inf")) -> bool:
        """Re-judge the exporters if the inventory changed; a warning per exporter whose judgement is new.
        `now` (Unix seconds): when the change is learned, the instant site_of() weighs it at. True when something
        changed."""
        inventory = self.assets()
        if inventory is self._seen and self.placements:
            return False
        self._seen = inventory
        changed = False
        for exporter, link in self.exporters.items():
            new = place(link, inventory.get(link))
            if self.placements.get(exporter) == new:
                continue
            changed = True
            self.placements[exporter] = new
            self.by_link[link] = new
            past = self.history.setdefault(link, deque(maxlen=HISTORY))
            if not past or past[-1][1] != new:  # two exporters of one link: one entry
                past.append((now if past else float("-inf"), new))
            if new.state != LINK:
                refused = new.state == UNKNOWN and self.refuse_unknown
                log.warning(WARNING[new.state], extra={
                    "exporter": exporter, "link": link, "site": new.site,
                    "action": "refused (flows.unknown_links: refuse)" if refused else "summed"})
        return changed

    def site_of(self, link: str, start: float = float("inf"), end: float = float("inf")) -> str:
        """The link's site for an interval [start, end) (Unix seconds; default: now): of the placements in effect
        during it (the one at its start, those learned after), the last that is in the inventory; else `unknown`."""
        site = UNKNOWN
        for since, placement in self.history.get(link, ()):
            if since >= end:
                break
            if placement.state != UNKNOWN:
                site = placement.site
            elif since > start:
                continue  # removed during the interval: it was in the inventory at its start, which counts
            else:
                site = UNKNOWN  # out of the inventory from before the interval (so far)
        return site

    def refused(self, exporter: str) -> bool:
        """Whether the exporter's datagrams are refused: its link is unknown and the config says refuse."""
        placement = self.placements.get(exporter)
        return self.refuse_unknown and placement is not None and placement.state == UNKNOWN
