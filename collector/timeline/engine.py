"""Observations in, state intervals and transitions out.

The rules (docs/timeline.md explains them with examples):

- Each check has a confirmed status that changes only after `down_after`
  consecutive bad results or `up_after` good ones (debounce). The change is
  dated to the first result of the streak, not the last, so availability counts
  the fault from when it began; the transition also records when it was detected.
- An asset's own state aggregates its checks: all up -> up, all down -> down,
  a mix -> degraded, nothing known -> unknown.
- Effective state: inside a maintenance window -> maintenance; own state down
  while the parent is down or unreachable -> unreachable (the fault is charged to
  the parent). After the parent recovers, a child stays unreachable until its own
  next result decides, so the parent's recovery is not charged to the child.
  An asset a site poller also checks leaves out, while its parent is at fault, the
  failing checks the centre ran (they crossed the parent): the rest decide, or it
  is unreachable when none of them knows anything.
- A check without a result for `stale_after_intervals` intervals becomes unknown
  (a pushed agent report check becomes down: "agent not reporting"). A result that
  then arrives stamped before that silence was due undoes it from its start.
  Silence is not judged while an agent replays its spool (it says how many reports
  follow: `Backlog`, waiting at most BACKLOG_WAIT between them), nor before
  `stale_after_intervals` have passed since the collector started.
- Time the collector did not watch (a gap start-up recovery recorded as unknown)
  takes what an agent's replayed reports saw: up between two results at most
  `stale_after_intervals` intervals apart (the first one counted from the gap's
  start when the asset was up then), maintenance inside a window; the rest stays
  unknown (`Gap`, `GapFilled`).
- A result older than its check's latest, from another observer (a site poller's late replay after its asset
  moved to another poller), is recorded at its own time and decides nothing now; a link's far end (rule 9)
  still has it combined into the link's closed history.
- A WAN link measured from both ends (the centre's checks and a far-end check
  its site poller runs, probing the centre: `far_end`): down only when both
  ends say so, degraded when they disagree or either is over its thresholds; the
  end that sees a change first decides until the other looks again, so a cut is
  down while the site's results, cut off with it, have not arrived. When they
  arrive (a replayed spool), they are combined into the link's closed history
  (`Recombined`): the only closed time rewritten besides a restart's gap.
- A site poller's own report check (`behind` its site's links): silent while
  those links are cut, it is unknown, not down; down once a link carries again
  and it still does not report.
- Intervals tile time: each change closes the open interval and opens the next
  at the same instant. A change dated at or before the open interval's start
  relabels that open interval instead (closed intervals are never rewritten but
  as the two rules above say), which also keeps history sane if the clock steps
  backwards.

The timeline holds only in-memory state and publishes typed messages
(`core.messages`: intervals opened, closed, relabelled and merged, transitions,
recorded results) to whoever the service's routing table names (the store writer
and the incident engine in production, a list in tests), so it is fast and
testable alone.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opsmon.collector.core.maintenance import ActiveWindow, MaintenanceBook
from opsmon.collector.core.messages import (
    Backlog,
    GapFilled,
    IntervalClosed,
    IntervalOpened,
    IntervalRelabelled,
    IntervalsMerged,
    Message,
    Recombined,
    ResultRecorded,
    Transition,
)
from opsmon.collector.core.states import (
    DEGRADED,
    DOWN,
    MAINTENANCE,
    UNKNOWN,
    UNREACHABLE,
    UP,
    Observation,
)

WAITING = "waiting for the first check result"
BACKLOG_WAIT = 30.0  # seconds an agent replaying its spool may pause between reports before its silence counts
REPLAYED = "reported while the collector was not running"  # the reason of a gap's time an agent's spool filled
CLOSED_KEPT = 512  # closed intervals a link measured from both ends keeps for its site's late results (rule 9)


Publish = Callable[[Message], None]


@dataclass(frozen=True)
class CheckConf:
    check_id: str
    interval: float
    down_after: int
    up_after: int
    silence: str = UNKNOWN  # what a check without results becomes: unknown, or down for pushed agent reports
    silence_reason: str = ""
    far_end: bool = False  # a link's check run at its far end by the site's poller (probing the centre): rule 9
    behind: tuple[str, ...] = ()  # a site poller's own report check: its site's links, which its reports cross


@dataclass
class CheckTrack:
    conf: CheckConf
    confirmed: str = UNKNOWN
    reason: str = WAITING
    since: datetime | None = None
    pending: str | None = None
    pending_since: datetime | None = None
    pending_count: int = 0
    last_ts: datetime | None = None
    last_status: str | None = None
    last_reason: str = ""
    silenced: bool = False  # the confirmed status came from silence, not from a result
    last_up: datetime | None = None  # the latest good result: a fault began after it
    hold_until: datetime | None = None  # its agent is replaying a backlog: silence not judged before this
    observer: str = ""  # who ran the latest result's probe: "" this collector, else a site poller's name
    # A far end (rule 9) whose poller changed: the previous poller's latest result (observer, time, status, reason),
    # which its late results (a replayed spool) follow on, to be folded into the link's history
    other: tuple[str, datetime, str, str] | None = None


@dataclass
class AssetTrack:
    id: str
    parent: str | None
    site: str | None
    tags: tuple[str, ...]
    checks: dict[str, CheckTrack]
    state: str
    since: datetime
    reason: str
    prev: tuple[str, datetime, datetime] | None = None  # state, start, end of the last closed interval
    own: str = UNKNOWN
    own_reason: str = WAITING
    maint: ActiveWindow | None = None
    detected: datetime | None = None
    sheltered: bool = False  # the state left out the centre's failing checks while the parent is at fault
    # A link measured from both ends: its latest closed intervals (start, end, state, reason), which the site's late
    # results are combined into (rule 9). Bounded: a replay older than these changes nothing.
    closed: deque[tuple[datetime, datetime, str, str]] | None = None


@dataclass
class Gap:
    """[start, end): time the collector did not watch an asset (recovery recorded it as unknown), and the asset's
    state when the collector stopped watching. `last` keeps, per check, the latest result dated inside the gap
    and its status: a replayed result fills the time since the one before (see Timeline._fill_gap)."""

    start: datetime
    end: datetime
    before: str
    last: dict[str, tuple[datetime, str]] = field(default_factory=dict)


def _window_reason(occ: ActiveWindow) -> str:
    return f"maintenance window {occ.id}" + (f": {occ.reason}" if occ.reason else "")


def _klass(status: str) -> str:
    return "up" if status == UP else ("unknown" if status == UNKNOWN else "bad")


def _both(state: str, reason: str, far: str, far_reason: str) -> tuple[str, str]:
    """A link's state the centre recorded alone, combined with its far end's status there (rule 9): the same when
    they agree (down only when both say down), degraded when they do not or either is degraded. Only up, down and
    degraded time changes: unknown, maintenance and unreachable time stays what it was; so does any of it when the
    far end knew nothing."""
    if far == UNKNOWN or state not in (UP, DOWN, DEGRADED):
        return state, reason
    new = state if state == far else DEGRADED
    if far_reason and far_reason not in reason:
        reason = f"{reason}; {far_reason}" if reason else far_reason
    return new, reason


@dataclass
class Timeline:
    """The state machine for every asset. Not thread-safe: one event loop owns it."""

    publish: Publish
    book: MaintenanceBook
    stale_after_intervals: float = 3.0
    started: datetime | None = None  # when live tracking (re)began: the start, or the store's recovery; see tick()
    tracks: dict[str, AssetTrack] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    gaps: dict[str, Gap] = field(default_factory=dict)  # from start-up recovery (recovery.py), by asset

    # -- inventory -------------------------------------------------------
    def upsert_asset(self, asset_id: str, parent: str | None, site: str | None, tags: Iterable[str],
                     checks: Iterable[CheckConf], at: datetime) -> None:
        """Start tracking (an open `unknown` interval from `at`) or update what is tracked."""
        confs = {c.check_id: c for c in checks}
        track = self.tracks.get(asset_id)
        parent_changed = False
        if track is None:
            track = AssetTrack(asset_id, parent, site, tuple(tags),
                               {cid: CheckTrack(c) for cid, c in confs.items()}, UNKNOWN, at, WAITING)
            self.tracks[asset_id] = track
            if any(c.far_end for c in confs.values()):
                track.closed = deque(maxlen=CLOSED_KEPT)
            self.publish(IntervalOpened(asset_id, UNKNOWN, at, WAITING))
        else:
            parent_changed = track.parent != parent
            if parent_changed and track.parent is not None:
                self.children.get(track.parent, set()).discard(asset_id)
            track.parent, track.site, track.tags = parent, site, tuple(tags)
            kept = {cid: ct for cid, ct in track.checks.items() if cid in confs}
            for cid, conf in confs.items():
                if cid in kept:
                    kept[cid].conf = conf
                else:
                    kept[cid] = CheckTrack(conf)
            track.checks = kept
            if track.closed is None and any(c.far_end for c in confs.values()):
                track.closed = deque(maxlen=CLOSED_KEPT)
            self._own_changed(track, at, at, reload=True)
        if parent is not None:
            self.children.setdefault(parent, set()).add(asset_id)
        if track.state != UNKNOWN and parent_changed:
            self._reevaluate(track, at, at, own=True)  # a new parent may explain (or stop explaining) a fault

    def remove_asset(self, asset_id: str, at: datetime) -> None:
        """Stop tracking: the open interval is closed; its history stays."""
        track = self.tracks.pop(asset_id, None)
        if track is None:
            return
        if track.parent is not None:
            self.children.get(track.parent, set()).discard(asset_id)
        self.publish(IntervalClosed(asset_id, max(at, track.since)))

    # -- input -----------------------------------------------------------
    def observe(self, obs: Observation) -> None:
        track = self.tracks.get(obs.asset_id)
        if track is None:
            return
        ct = track.checks.get(obs.check_id)
        if ct is None:
            return
        ct.hold_until = None  # a report from a spool says so again right after it (Backlog)
        if ct.last_ts is not None and obs.ts < ct.last_ts and obs.observer != ct.observer:
            # Older than the check's latest result, from another observer: a site poller replaying its spool after
            # its asset moved to another poller (docs/poller.md). Evidence at its own time; it decides nothing now.
            self.publish(ResultRecorded(obs.asset_id, obs.check_id, obs.ts, obs.status, obs.reason, obs.latency_ms,
                                        obs.observer))
            if ct.conf.far_end and track.closed is not None:
                self._late_end(track, ct, obs)
            return
        if ct.conf.far_end and ct.last_ts is not None and ct.last_status is not None and obs.observer != ct.observer:
            ct.other = (ct.observer, ct.last_ts, ct.last_status, ct.last_reason)  # its late results follow on it
        gap = self.gaps.get(obs.asset_id)
        if gap is not None and gap.start <= obs.ts:
            self._fill_gap(obs.asset_id, gap, ct, obs)
        both_prev = (ct.last_ts, ct.last_status, ct.last_reason) if track.closed is not None else None
        ts = obs.ts if ct.last_ts is None or obs.ts >= ct.last_ts else ct.last_ts
        ct.last_ts, ct.last_status, ct.last_reason = ts, obs.status, obs.reason
        ct.observer = obs.observer
        if obs.status == UP:
            ct.last_up = ts
        self.publish(ResultRecorded(obs.asset_id, obs.check_id, ts, obs.status, obs.reason, obs.latency_ms,
                                    obs.observer))
        silenced_since = ct.since if ct.silenced else None
        unknown_before = ct.reason if ct.confirmed == UNKNOWN else None
        changed = self._feed(ct, obs.status, obs.reason, ts)
        if changed:
            at = ct.since or ts
            if (silenced_since is not None and ct.confirmed == UP
                    and (ts - silenced_since).total_seconds()
                    <= ct.conf.interval * (self.stale_after_intervals - 1)):
                # A result stamped before the silence was due (a replayed agent report, late only
                # in arriving) proves there never was a silence of that length: the path failed,
                # not the host. Undo it from its start.
                at = silenced_since
            ct.silenced = False
            self._own_changed(track, at, ts)
        elif (track.state == UNREACHABLE or (track.sheltered and not obs.observer)) and ct.pending != "up":
            # Parent recovered: this result decides; a good streak still pending decides later. An asset whose
            # centre's failing checks were left out during the parent's fault waits for one of those (the centre's).
            self._reevaluate(track, ts, ts, own=True)
        elif unknown_before is not None and obs.status == UNKNOWN and ct.reason != unknown_before:
            # An unknown result (interface, OID or target not found...) says why the check knows nothing:
            # that reason, not "waiting for the first check result", is the asset's (issue 21, item 7).
            self._own_changed(track, ct.since or track.since, ts)
        if both_prev is not None:
            self._end_result(track, ct, both_prev, obs.status, obs.ts, changed)

    def _end_result(self, track: AssetTrack, ct: CheckTrack, prev: tuple[datetime | None, str | None, str],
                    status: str, ts: datetime, changed: bool) -> None:
        """Rule 9, a result of either end of a link measured from both ends, after the same check's result before it
        (`prev`: its time, status and reason). That end's status held from `prev` to this result when both say the
        same and are at most `stale_after_intervals` intervals apart (the rule that fills a gap); between two that
        differ, when it changed is not known (a fault is dated to its first bad result).

        - A far-end result: the part of that time before the link's open interval is closed history the centre
          wrote alone (this result is late: a replayed spool): it is combined into it (`_recombine`).
        - An unchanged status also counts, live, from `prev` on: an end that goes on seeing what it saw while the
          other end's change is being decided is the ends disagreeing (degraded).
        """
        prev_ts = prev[0]
        contiguous = self._fold(track, ct, prev, status, ts)
        if not changed:
            self._own_changed(track, prev_ts if contiguous and prev_ts is not None else ts, ts)

    def _fold(self, track: AssetTrack, ct: CheckTrack, prev: tuple[datetime | None, str | None, str], status: str,
              ts: datetime) -> bool:
        """Rule 9's history part: a far-end status held from `prev` to `ts` (same status, at most the silence limit
        apart) over the link's closed history is combined into it; True when the two are contiguous."""
        prev_ts, prev_status, prev_reason = prev
        contiguous = (prev_ts is not None and prev_status == status and prev_ts <= ts
                      and (ts - prev_ts).total_seconds() <= ct.conf.interval * self.stale_after_intervals)
        if ct.conf.far_end and contiguous and prev_ts is not None and prev_status is not None and prev_ts < track.since:
            far_reason = "" if prev_status == UP else f"{ct.conf.check_id}: {prev_reason}"
            self._recombine(track, prev_ts, min(ts, track.since), prev_status, far_reason)
        return contiguous

    def _late_end(self, track: AssetTrack, ct: CheckTrack, obs: Observation) -> None:
        """A far-end result older than the check's latest, from the link's previous poller (its spool replayed after
        the link moved to another: ingest counted it, that poller owned the link then): folded into the closed
        history after that poller's result before it (`CheckTrack.other`); no live decision."""
        prev = ct.other if ct.other is not None and ct.other[0] == obs.observer else None
        if prev is None or obs.ts >= prev[1]:
            ct.other = (obs.observer, obs.ts, obs.status, obs.reason)
        if prev is not None:
            self._fold(track, ct, prev[1:], obs.status, obs.ts)

    def _recombine(self, track: AssetTrack, start: datetime, end: datetime, far: str, far_reason: str) -> None:
        """[start, end) of the link's closed history, which the centre wrote while the far end was silent, combined
        with the far end's status there (`_both`); each piece whose state changes is published (`Recombined`, the
        store rewrites those rows; agreeing ends leave the rows as they are) and the kept history follows, touching
        pieces of one state and reason merged."""
        if not track.closed or end <= start:
            return
        pieces: list[tuple[datetime, datetime, str, str]] = []
        history = list(track.closed)
        lag = timedelta(seconds=max((ct.conf.interval for ct in track.checks.values() if not ct.conf.far_end),
                                    default=0.0))
        for i, (s0, e0, state, reason) in enumerate(history):
            a, b = max(s0, start), min(e0, end)
            new = _both(state, reason, far, far_reason) if a < b else (state, reason)
            after = history[i + 1][2:] if i + 1 < len(history) else (track.state, track.reason)
            if new[0] != state and b == e0 and b - a <= lag and after[0] == far:
                # The far end saw the change the centre saw next, less than the centre's interval before it (they
                # probe out of phase): the same cut or recovery, seen first from the site: not a disagreement.
                new = after
            if new[0] == state:
                pieces.append((s0, e0, state, reason))
                continue
            self.publish(Recombined(track.id, a, b, new[0], new[1]))
            track.prev = None  # the last closed interval may be rewritten: never merge the open one back into it
            pieces.extend(p for p in ((s0, a, state, reason), (a, b, new[0], new[1]), (b, e0, state, reason))
                          if p[0] < p[1])
        merged: list[tuple[datetime, datetime, str, str]] = []
        for piece in pieces:
            if merged and merged[-1][1] == piece[0] and merged[-1][2:] == piece[2:]:
                merged[-1] = (merged[-1][0], piece[1], piece[2], piece[3])
            else:
                merged.append(piece)
        track.closed = deque(merged, maxlen=CLOSED_KEPT)

    def _fill_gap(self, asset_id: str, gap: Gap, ct: CheckTrack, obs: Observation) -> None:
        """A result dated at or after the start of the asset's unwatched gap: a replayed report fills the time since
        the check's previous result with what they saw, the rule the live timeline applies to the same reports.

        - Two results at most `stale_after_intervals` intervals apart, the earlier one up, prove the asset up
          between them (live, no silence would have been judged, and a fault is dated to its first bad result);
          a longer pause, or the time after a result that is not up, stays unknown: nobody saw it.
        - Before the first result inside the gap, the previous one is the gap's start when the asset was up there
          (the collector saw it so as it stopped watching).
        - Only the gap is filled, up to its end: the open interval after it is the live timeline's (a replayed
          result relabels it as any result dated before its start does); what the collector saw is never touched.
        - Results come oldest first per check (ingest and spool order); one dated before the check's previous
          one fills nothing.
        """
        check_id = ct.conf.check_id
        prev = gap.last.get(check_id)
        limit = ct.conf.interval * self.stale_after_intervals
        if prev is None and gap.before == UP:
            # The check's own last result was up to an interval before the gap's start: one interval less.
            prev, limit = (gap.start, UP), ct.conf.interval * (self.stale_after_intervals - 1)
        if prev is not None and obs.ts < prev[0]:
            return
        end = min(obs.ts, gap.end)
        track = self.tracks[asset_id]
        if (prev is not None and prev[1] == UP and end > prev[0]
                and (obs.ts - prev[0]).total_seconds() <= limit):
            self._fill_seen(track, prev[0], end)
        gap.last[check_id] = (obs.ts, obs.status)
        if obs.ts >= gap.end and all(gap.last.get(c, (gap.start, ""))[0] >= gap.end for c in track.checks):
            del self.gaps[asset_id]  # every check is past it: nothing can fill it any more

    def _fill_seen(self, track: AssetTrack, start: datetime, end: datetime) -> None:
        """[start, end) of a gap seen up, but a maintenance window covering the asset there stays maintenance
        (rule 5: a window overrides every other state). A fill spans at most `stale_after_intervals` intervals,
        so the windows at its two ends are the ones that matter (one starting and ending inside it is missed)."""
        at = start
        while at < end:
            occ = self.book.covering(track, at)
            if occ is not None:
                upto = min(occ.end, end)
                self.publish(GapFilled(track.id, at, upto, MAINTENANCE, _window_reason(occ)))
                at = upto
                continue
            last = self.book.covering(track, end - timedelta(microseconds=1))
            upto = last.start if last is not None and at < last.start < end else end
            self.publish(GapFilled(track.id, at, upto, UP, REPLAYED))
            at = upto

    def backlog(self, msg: Backlog) -> None:
        """The result just observed came from an agent's spool with more to follow: its silence is not judged
        until they have drained, or until no more has come for the bound (the agent died while replaying)."""
        track = self.tracks.get(msg.asset_id)
        ct = track.checks.get(msg.check_id) if track is not None else None
        if ct is None:
            return
        wait = max(BACKLOG_WAIT, ct.conf.interval * self.stale_after_intervals)
        ct.hold_until = msg.at + timedelta(seconds=wait) if msg.remaining > 0 else None

    def tick(self, now: datetime) -> None:
        """Apply what time alone changes: maintenance windows and stale checks.

        A check's silence is judged no earlier than `stale_after_intervals` after the collector started
        (`started`): until then the reports its agent spooled while the collector was down are still coming
        in, oldest first, and the first of them is older than the limit.
        """
        active = self.book.active(now)
        grace = self.started
        # per check interval, the latest last result not yet stale now: `now >= last + stale` is `last <= now - stale`
        # (exact: datetimes add in whole microseconds), so each of 20,000 checks a second is one comparison, not a
        # timedelta and a sum (4 % of a core at 20,000 checks a minute)
        latest: dict[float, datetime] = {}
        for track in list(self.tracks.values()):
            for ct in track.checks.values():
                if ct.conf.behind and ct.silenced and ct.last_ts is not None:
                    self._poller_silent(track, ct, now)
                elif ct.confirmed != UNKNOWN and ct.last_ts is not None:
                    limit = latest.get(ct.conf.interval)
                    if limit is None:
                        limit = latest[ct.conf.interval] = now - timedelta(
                            seconds=ct.conf.interval * self.stale_after_intervals)
                    if (ct.last_ts if grace is None or ct.last_ts >= grace else grace) > limit:
                        continue  # not due
                    if ct.hold_until is not None and now < ct.hold_until:
                        continue
                    silence, why = ct.conf.silence, ct.conf.silence_reason
                    if ct.conf.behind and self.cut_off(ct.conf.behind) is not None:
                        silence, why = UNKNOWN, self._cut_reason(ct)
                    if ct.confirmed != silence:
                        ct.confirmed, ct.pending, ct.pending_count = silence, None, 0
                        ct.silenced = True
                        ct.since = ct.last_ts + timedelta(seconds=ct.conf.interval)
                        ct.reason = why or f"no result since {ct.last_ts.isoformat(timespec='seconds')}"
                        self._own_changed(track, ct.since, now)
            occ = MaintenanceBook.for_asset(active, track) if active or track.maint else None
            if track.maint is not None and occ is None:
                leave = min(track.maint.end, now)
                track.maint = None
                self._reevaluate(track, leave, now, own=True)
            elif occ is not None and track.maint is None:
                track.maint = occ
                self._reevaluate(track, occ.start, now, own=True)
            elif occ is not None:
                track.maint = occ

    def reporting_late(self, asset_id: str, check_id: str, now: datetime) -> bool:
        """An agent's (or site poller's) reports, its check `check_id`, are silent (no result for
        `stale_after_intervals` intervals) or replaying a spool (Backlog): what they carry is late, not absent.
        False for a check not tracked."""
        track = self.tracks.get(asset_id)
        ct = track.checks.get(check_id) if track is not None else None
        if ct is None:
            return False
        if ct.hold_until is not None and now < ct.hold_until:
            return True
        stale = timedelta(seconds=ct.conf.interval * self.stale_after_intervals)
        return ct.last_ts is None or now - ct.last_ts > stale

    # -- a site poller's own silence (rule 10) -------------------------------
    def cut_off(self, links: tuple[str, ...]) -> datetime | None:
        """When the last of a poller's links stopped carrying (each down, unreachable, in maintenance or unknown to
        the centre: the latest start of their states); None while one carries (up or degraded) or is not tracked."""
        starts = []
        for link_id in links:
            link = self.tracks.get(link_id)
            if link is None or link.state in (UP, DEGRADED):
                return None
            starts.append(link.since)
        return max(starts) if starts else None

    def _cut_reason(self, ct: CheckTrack) -> str:
        assert ct.last_ts is not None
        links = ", ".join(f"{i} {self.tracks[i].state}" for i in ct.conf.behind if i in self.tracks)
        return (f"site poller silent since {ct.last_ts.isoformat(timespec='seconds')} behind its cut link ({links}): "
                "no evidence its host is down")

    def _poller_silent(self, track: AssetTrack, ct: CheckTrack, now: datetime) -> None:
        """A site poller's report check whose silence was judged, as its site's links come and go (rule 10).

        - Unknown (its links were cut): once one of them carries again, the poller has `stale_after_intervals`
          intervals from then (or from its last report, if later) to report; silent still, it is down from one
          interval after that start: what stops it now is its own host or process.
        - Down (judged while a link looked up): when its links' fault turns out to have begun at or before the
          silence did (a link's down, debounced, is confirmed later and dated back to its first failure), the cut
          explains it: unknown from the same instant (the down interval relabelled).
        """
        assert ct.last_ts is not None
        interval = timedelta(seconds=ct.conf.interval)
        if ct.confirmed == UNKNOWN:
            carrying = [t.since for t in (self.tracks.get(i) for i in ct.conf.behind)
                        if t is not None and t.state in (UP, DEGRADED)]
            if not carrying:
                return
            start = max(ct.last_ts, min(carrying))
            if now < start + interval * self.stale_after_intervals:
                return
            ct.confirmed, ct.since = ct.conf.silence, start + interval
            ct.reason = ct.conf.silence_reason or f"no result since {ct.last_ts.isoformat(timespec='seconds')}"
            self._own_changed(track, ct.since, now)
        elif ct.confirmed == ct.conf.silence and ct.since is not None:
            cut = self.cut_off(ct.conf.behind)
            if cut is not None and cut <= ct.since:
                ct.confirmed, ct.reason = UNKNOWN, self._cut_reason(ct)
                self._own_changed(track, ct.since, now)

    # -- rules -----------------------------------------------------------
    @staticmethod
    def _feed(ct: CheckTrack, status: str, reason: str, ts: datetime) -> bool:
        """Debounce one result; True when the confirmed status changed."""
        if status == ct.confirmed:
            ct.pending, ct.pending_count = None, 0
            if status != UP:
                ct.reason = reason
            return False
        klass = _klass(status)
        if ct.pending == klass:
            ct.pending_count += 1
        else:
            ct.pending, ct.pending_since, ct.pending_count = klass, ts, 1
        need = ct.conf.up_after if klass == "up" else ct.conf.down_after
        if ct.pending_count < need:
            return False
        ct.confirmed, ct.reason, ct.since = status, reason, ct.pending_since
        ct.pending, ct.pending_count = None, 0
        return True

    @staticmethod
    def _aggregate(track: AssetTrack, at: datetime | None = None) -> tuple[str, str]:
        """The asset's own state from its checks at `at` (when the change being evaluated happened). On a link
        measured from both ends, a check counts only when its latest result is dated at or after both `at` and the
        open interval's start (rule 9): an older one says nothing of the time being decided. So the end that sees a
        change first decides alone until the other looks again: a cut the centre sees while the site's results,
        cut off with it, have not arrived is down; a recovery either end sees first is up from then; the ends
        disagree (degraded) only once both have looked."""
        checks = list(track.checks.values())
        if track.closed is None:
            return Timeline._combine(checks)
        since = track.since if at is None else max(at, track.since)
        heard = [ct for ct in checks if ct.last_ts is not None and ct.last_ts >= since]
        return Timeline._combine(heard or checks)

    @staticmethod
    def _combine(checks: list[CheckTrack]) -> tuple[str, str]:
        """The state of these checks together: all up -> up, all down -> down, a mix -> degraded."""
        known = [ct for ct in checks if ct.confirmed != UNKNOWN]
        if not known:
            if not checks:
                return UNKNOWN, "no checks configured"
            return UNKNOWN, checks[0].reason
        bad = [ct for ct in known if ct.confirmed != UP]
        if not bad:
            return UP, ""
        reason = "; ".join(f"{ct.conf.check_id}: {ct.reason}" for ct in bad)
        if len(bad) == len(known) and all(ct.confirmed == DOWN for ct in bad):
            return DOWN, reason
        return DEGRADED, reason

    def _own_changed(self, track: AssetTrack, at: datetime, detected: datetime, reload: bool = False) -> None:
        """reload: the inventory changed, no result: a link measured from both ends keeps the view of its open
        interval (rule 9), rather than one taken at `at`, when no end has looked yet."""
        own, reason = self._aggregate(track, None if reload else at)
        if own == track.own and reason == track.own_reason:
            return
        track.own, track.own_reason = own, reason
        self._reevaluate(track, at, detected, own=True)

    def _effective(self, track: AssetTrack) -> tuple[str, str]:
        track.sheltered = False
        if track.maint is not None:
            return MAINTENANCE, _window_reason(track.maint)
        parent = self.tracks.get(track.parent) if track.parent is not None else None
        if track.own not in (DOWN, DEGRADED) or parent is None or not (
            parent.state in (DOWN, UNREACHABLE) or (parent.state == MAINTENANCE and parent.own == DOWN)
        ):
            return track.own, track.own_reason
        unreachable = UNREACHABLE, f"parent {parent.id} is {parent.state}"
        if track.own == DOWN and not self._seen_on_site(track):
            return unreachable
        if not any(ct.observer for ct in track.checks.values()):
            return track.own, track.own_reason
        # A site poller checks the asset too (issue 22 item 2): the centre's failing checks crossed the faulty
        # parent (the cut WAN link), so they say nothing of the asset; what the poller's checks say does.
        beside = [ct for ct in track.checks.values() if ct.observer or ct.confirmed in (UP, UNKNOWN)]
        if len(beside) == len(track.checks):
            return track.own, track.own_reason
        track.sheltered = True
        if all(ct.confirmed == UNKNOWN for ct in beside):
            return unreachable
        return self._combine(beside)

    @staticmethod
    def _seen_on_site(track: AssetTrack) -> bool:
        """A site poller saw the asset's latest results: it sits beside the asset, behind the parent, so a parent's
        fault (the prefecture's WAN link) does not explain the asset's down (issue 22 item 2)."""
        return any(ct.observer for ct in track.checks.values() if ct.confirmed != UNKNOWN)

    def _reevaluate(self, track: AssetTrack, at: datetime, detected: datetime, own: bool) -> None:
        sheltered = track.sheltered
        new, reason = self._effective(track)
        if not own and ((track.state == UNREACHABLE and new == DOWN) or (sheltered and new in (DOWN, DEGRADED))):
            track.sheltered = sheltered
            return  # parent recovered: wait for the child's own next result (a central one when sheltered)
        if new == track.state:
            if new == UNKNOWN and reason != track.reason:
                # Only the reason of the unknown time changed: it explains the open interval from its start.
                self.publish(IntervalRelabelled(track.id, new, reason))
                track.reason = reason
            return
        old = track.state
        if at <= track.since:
            if track.prev is not None and track.prev[0] == new and track.prev[2] == track.since:
                self.publish(IntervalsMerged(track.id, track.prev[1], track.prev[2]))
                if track.closed and track.closed[-1][:2] == track.prev[1:]:
                    track.closed.pop()  # open again
                track.since, track.prev = track.prev[1], None
            else:
                self.publish(IntervalRelabelled(track.id, new, reason))
        else:
            self.publish(IntervalClosed(track.id, at))
            self.publish(IntervalOpened(track.id, new, at, reason))
            if track.closed is not None:
                track.closed.append((track.since, at, old, track.reason))
            track.prev = (old, track.since, at)
            track.since = at
        track.state, track.reason, track.detected = new, reason, detected
        self.publish(Transition(track.id, track.since, detected, old, new, reason))
        # The parent's fault began after its last good result; a child whose own down began
        # after that (its check just ran first) is unreachable from then, not down.
        child_at = track.since
        if new in (DOWN, UNREACHABLE):
            goods = [ct.last_up for ct in track.checks.values() if ct.last_up is not None and ct.last_up < track.since]
            if goods:
                child_at = max(goods)
        for child_id in sorted(self.children.get(track.id, ())):
            child = self.tracks.get(child_id)
            if child is not None:
                self._reevaluate(child, child_at, detected, own=False)
