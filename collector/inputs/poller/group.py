"""A site's pollers as a group: who runs which asset's checks, and who ran them when (issue 22 item 3).

After Zabbix 7's proxy groups (docs/poller.md, "Two pollers at a site"):

- **Online**: a poller is online while its reports arrive; silent for `failover_delay` it is offline. A poller the
  collector has not heard from since its start or its enrolment counts from then (its reports resume within
  its report interval).
- **Start**: for one failover delay after the collector starts, nothing moves (Zabbix's group state "unknown"
  on server start-up): the assignment before the restart (`restore`) stands until every live poller has had
  the time to report, so a restart moves nothing back and forth. A poller's silence counts from its last
  report before the restart (the store's, `heard_from`), so one dead for days is not taken for alive.
- **Cut off**: while every link of a site is cut (`cut`, the timeline's rule 10 test), its group is unknown as
  during the start's grace: its pollers' silence is the link's, and no poller there can take over.
- **Assignment**: all the polled checks of one asset (its ICMP, TCP, HTTP, SNMP and SSH checks, share.py) go to
  one poller (the `snmp_interface` checks of links on a polled device's interfaces follow the device: the service
  judges their results by the device's owner), chosen by rendezvous hashing over the site's online pollers
  (`pick`: the highest SHA-256 score of "poller/asset"). An asset moves only when its
  poller goes offline (to its next-highest online poller) or when a poller with a higher score for it comes
  online (back to it); the others stay where they are. A silent poller's asset goes only to a poller heard at or
  after the silent one's deadline less one report interval (`interval`): one cut off with it (a WAN cut, both
  silent up to one interval apart) has not been heard then, and the asset stays where it is (`waiting`) until
  that poller reports again or goes offline too.
- **Minimum online**: while fewer than `min_online` of a site's pollers are online, the site's group is offline,
  as Zabbix's is: nothing moves (an asset keeps its silent poller and is unknown until it returns, never down),
  except an asset whose poller was revoked or that has none yet. The centre does not take the checks back: it
  would probe across the WAN link and charge the link's cut to the assets.
- **Evidence**: every move of an asset that had a poller is a `Handover` (the service stores it as an event
  `poller_handover`, from, to, why, when), and the moves make each asset's ownership periods; a result is
  counted only from the poller that owned its asset at the result's time (`owner_at`): a poller back online
  replaying its spool has its results of the time another poller owned the asset refused, never counted twice.
  The periods are rebuilt from the stored events at a restart (`restore`); a result older than what they cover
  (`horizon`) is refused, not guessed.

In memory, owned by the event loop, fake-clock testable: no store, no I/O.
"""
from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsmon.collector.core.messages import Event

SILENT, JOINED, REVOKED, ENROLLED, MOVED = "silent", "joined", "revoked", "enrolled", "moved"  # why an asset moved
REFRESH = 60.0  # seconds between a lone poller's fetches of its share
HANDOVER = "poller_handover"  # the stored event of a move (events.kind "poller")
MAX_PERIODS = 64  # ownership periods kept per asset; a result dated before the oldest kept is refused


def score(poller: str, asset: str) -> int:
    """The rendezvous score of a poller for an asset: the first 8 bytes of SHA-256("poller/asset"), big-endian.
    A digest, not Python's hash(): the same on every start and every host."""
    return int.from_bytes(hashlib.sha256(f"{poller}/{asset}".encode()).digest()[:8], "big")


def pick(asset: str, pollers: Iterable[str]) -> str | None:
    """The poller with the highest score for the asset (ties, never seen in practice, by name); None for none."""
    return max(pollers, key=lambda p: (score(p, asset), p), default=None)


@dataclass(frozen=True, slots=True)
class Handover:
    """An asset's checks moved from one poller to another (None: nobody, the site has no poller)."""

    asset: str
    site: str
    old: str | None
    new: str | None
    at: datetime
    reason: str  # SILENT (old went silent), JOINED (new came online), REVOKED (old), ENROLLED (had none),
    # MOVED (the asset's inventory site changed)
    last_heard: datetime | None  # the old poller's last report (or grace start), when it went silent

    def event(self) -> Event:
        """The stored evidence of the move (GET /api/v1/events?kind=poller), Chinese first."""
        old, new = self.old or "中心/centre", self.new or "中心/centre"
        why = {SILENT: f"{old} 无报告 / {old} silent", JOINED: f"{new} 上线 / {new} online",
               REVOKED: f"{old} 已吊销 / {old} revoked", ENROLLED: f"{new} 新登记 / {new} enrolled",
               MOVED: f"资产换了站点 / asset moved to site {self.site}"}[self.reason]
        summary = f"{self.asset}: 站点轮询器切换 / site poller handover {old} -> {new} ({why})"
        severity = "warning" if self.reason == SILENT else "info"
        return Event(self.asset, self.at, "collector", "poller", HANDOVER, severity, summary, {
            "site": self.site, "from": self.old, "to": self.new, "reason": self.reason,
            "last_report": self.last_heard.isoformat() if self.last_heard else None})


def share_refresh(pollers: int, failover_delay: float) -> float:
    """Seconds until a poller asks for its share again: a lone poller's share moves only with the inventory (60 s);
    one of two or more pollers asks every quarter of the failover delay (1 to 60 s), so a moved asset is run
    within the failover delay, a tick and a quarter of it (plus its check interval) after its poller's last report."""
    return REFRESH if pollers < 2 else min(REFRESH, max(1.0, failover_delay / 4))


class PollerGroups:
    """Every site's pollers: which are online, which asset each runs, and who owned an asset when."""

    def __init__(self, failover_delay: Callable[[str], float], min_online: Callable[[str], int],
                 started: datetime, interval: float = 30.0, cut: Callable[[str], bool] = lambda site: False) -> None:
        """failover_delay, min_online: a site's settings (collector.yaml `pollers`); started: the collector's start;
        interval: the pollers' report interval (`agents.interval`); cut: every link of the site is cut (rule 10)."""
        self.failover_delay = failover_delay
        self.min_online = min_online
        self.started = started
        self.interval = interval
        self.cut = cut
        self.horizon: datetime | None = None  # results dated before it are nobody's: the restored periods start there
        self._cut: set[str] = set()  # the sites cut off at the last look
        # site -> while its group is offline or cut off: the oldest last report of a poller silenced with it (one
        # report interval before the site's latest report when it went down)
        self._down: dict[str, datetime] = {}
        # site -> when its group came back (online again, or no longer cut), and that oldest last report
        self._back: dict[str, tuple[datetime, datetime]] = {}
        self.waiting: set[str] = set()  # sites keeping a silent poller's asset for a poller not heard late enough
        self._settled = False  # the start's failover delay is over
        self.members: dict[str, tuple[str, ...]] = {}  # site -> its enrolled pollers, by name
        self.heard: dict[str, datetime] = {}  # poller -> its last report's arrival (or the grace start)
        self.online: dict[str, frozenset[str]] = {}  # site -> its pollers online at the last look
        self.owner: dict[str, str] = {}  # asset -> the poller that runs its polled checks
        self.periods: dict[str, list[tuple[datetime | None, str | None]]] = {}  # asset -> [(since, poller)]

    # -- online --------------------------------------------------------------
    def heard_from(self, poller: str, at: datetime) -> bool:
        """A report of `poller` arrived at `at` (or the store says its last one did); True when that is news."""
        if poller not in self.heard or at > self.heard[poller]:
            self.heard[poller] = at
            return True
        return False

    def _since(self, site: str, poller: str, now: datetime) -> datetime:
        """Whence the poller's silence counts: its last report, or its group's return if it went silent with it."""
        heard = self.heard.get(poller, now)
        back = self._back.get(site)
        return heard if back is None or heard < back[1] else max(heard, back[0])

    def _went_down(self, site: str, now: datetime) -> None:
        latest = max((self.heard.get(p, now) for p in self.members.get(site, ())), default=now)
        self._down.setdefault(site, latest - timedelta(seconds=self.interval))

    def _came_back(self, site: str, now: datetime) -> None:
        floor = self._down.pop(site, None)
        if floor is not None:
            self._back[site] = (now, floor)

    def _look(self, now: datetime) -> bool:
        changed = False
        for site, pollers in self.members.items():
            limit = timedelta(seconds=self.failover_delay(site))
            online = frozenset(p for p in pollers if now - self._since(site, p, now) < limit)
            was = self.online.get(site)
            if was is not None and len(was) >= self.min_online(site) > len(online):
                self._went_down(site, now)
            elif (was is not None and len(was) < self.min_online(site) <= len(online)
                  and not self._settling(site, now)):
                # The group is back (the link's return): its pollers silent since it went down were cut off with
                # the others and may be replaying still; their silence counts from now, as at a start.
                self._came_back(site, now)
                online = frozenset(p for p in pollers if now - self._since(site, p, now) < limit)
            if online != self.online.get(site):
                self.online[site] = online
                changed = True
        return changed

    def tick(self, now: datetime, arrivals: Callable[[str], datetime | None]) -> bool:
        """Take the latest arrivals; True when a site's online pollers changed (the caller arranges again)."""
        changed = False
        for site, pollers in self.members.items():
            for p in pollers:
                at = arrivals(p)
                if at is not None and self.heard_from(p, at) and site in self.waiting:
                    changed = True  # the poller a silent one's asset waits for may be heard late enough now
        cut = {site for site in self.members if self.cut(site)}
        if cut != self._cut:
            for site in cut - self._cut:
                self._went_down(site, now)
            for site in self._cut - cut:
                self._came_back(site, now)  # no longer cut off: the silence so far was the link's
            self._cut, changed = cut, True
        changed = self._look(now) or changed
        if not self._settled and self.members and all(not self._settling(site, now) for site in self.members):
            self._settled = changed = True  # what waited for the start's grace may move now
        return changed

    def _settling(self, site: str, now: datetime) -> bool:
        return (now - self.started).total_seconds() < self.failover_delay(site)

    def _successor(self, site: str, silent: str, poller: str | None) -> bool:
        """`poller` may take over the silent poller's asset: heard at or after the silent one's deadline less one
        report interval. A poller cut off with it (its reports stopped up to one interval later) was not."""
        if poller is None or silent not in self.heard:
            return poller is not None
        due = self._since(site, silent, self.heard[silent]) + timedelta(
            seconds=self.failover_delay(site) - self.interval)
        return self.heard.get(poller, due) >= due

    def group_online(self, site: str) -> bool:
        """The site has at least its minimum of online pollers (Zabbix: the proxy group is online)."""
        return len(self.online.get(site, ())) >= self.min_online(site)

    # -- assignment ----------------------------------------------------------
    def arrange(self, site_assets: Mapping[str, Iterable[str]], members: Mapping[str, Iterable[str]],
                now: datetime) -> list[Handover]:
        """Assign each site's assets (those with polled checks) to its pollers; the moves made, oldest owner first.

        members: the enrolled pollers of each site. A poller first seen here is online from `now` (its grace)."""
        self.members = {site: tuple(sorted(set(ps))) for site, ps in members.items() if ps}
        for pollers in self.members.values():
            for p in pollers:
                self.heard.setdefault(p, now)
        for site in set(self.online) - set(self.members):  # its last poller revoked: none is online there (_look
            del self.online[site]  # looks at the members' sites only; kept, the revoked poller would be picked again)
        self._look(now)
        moves: list[Handover] = []
        wanted: set[str] = set()
        self.waiting = set()
        enrolled = {p for ps in self.members.values() for p in ps}
        for site, assets in site_assets.items():
            pollers = self.members.get(site, ())
            live = self.online.get(site, frozenset())
            held = self._settling(site, now) or self.cut(site)
            for asset in assets:
                wanted.add(asset)
                current = self.owner.get(asset)
                if self.group_online(site) and not held:
                    new = pick(asset, live)
                    if current in pollers and current not in live and not self._successor(site, current, new):
                        new = current  # the one it would go to fell silent with it (or is not heard yet): wait
                        self.waiting.add(site)
                elif current in pollers:
                    new = current  # below its minimum the group keeps its assignment (Zabbix does so too)
                else:
                    new = pick(asset, live or pollers)
                if new == current and (asset in self.periods or new is None):
                    continue
                self._own(asset, new, now)
                if current is None and len(self.periods[asset]) == 1:
                    continue  # its first owner (a new asset, a first poller, a restart): no move, no event
                reason = (MOVED if current is not None and current not in pollers and current in enrolled
                          else REVOKED if current is not None and current not in pollers
                          else SILENT if current is not None and current not in live
                          else JOINED if current is not None else ENROLLED)
                moves.append(Handover(asset, site, current, new, now, reason,
                                      self.heard.get(current) if reason == SILENT and current else None))
        for gone in set(self.owner) - wanted:  # removed, or no polled check left: the centre's now
            del self.owner[gone]
            self.periods.pop(gone, None)
        return moves

    def _own(self, asset: str, poller: str | None, now: datetime) -> None:
        periods = self.periods.setdefault(asset, [])
        periods.append((None if not periods else now, poller))
        del periods[:-MAX_PERIODS]
        if poller is None:
            self.owner.pop(asset, None)
        else:
            self.owner[asset] = poller

    def owner_at(self, asset: str, at: datetime) -> str | None:
        """The poller that owned the asset at `at`: whose result of that time counts; None: nobody's."""
        if self.horizon is not None and at < self.horizon:
            return None  # older than the restored handovers: who owned it then is not known
        periods = self.periods.get(asset)
        if not periods:
            return self.owner.get(asset)
        starts = [since for since, _ in periods[1:] if since is not None]  # only the first may be None
        i = bisect_right(starts, at)  # periods[i] is the one covering `at`
        since, poller = periods[i]
        if since is not None and at < since:
            return None  # older than the oldest period kept
        return poller

    def restore(self, moves: Iterable[tuple[str, datetime, str | None, str | None]],
                horizon: datetime | None = None) -> None:
        """The ownership periods from the stored handovers (asset, at, old, new), oldest first: after a restart,
        a replay is judged as it would have been before it. horizon: the handovers are all those stored since it
        (and, before it, at most each asset's latest, which says who has it): a result dated before it is refused."""
        self.horizon = horizon
        for asset, at, old, new in moves:
            periods = self.periods.setdefault(asset, [(None, old)])
            periods.append((at, new))
            del periods[:-MAX_PERIODS]
            if new is None:
                self.owner.pop(asset, None)
            else:
                self.owner[asset] = new
