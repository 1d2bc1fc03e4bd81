"""Escalation: which level of the incident's policy is due, who is on call for it, and the sending.

Level k is due when the incident is still unacknowledged `after` since it opened,
or since its last reopen (and, for `only_if_breached`, past its response deadline,
which a reopen does not move). Levels are taken in order and never skipped; each
step is recorded on the incident (who, which channels). Acknowledgement stops it.
Acknowledged, resolved and withdrawn incidents are told to the people and channels
already involved. A reopened, flapping or settled one is told to its owner only when
someone acknowledged it (issue 18: a flap must not page the director), else to those
involved. While an incident is flapping or under maintenance, nothing about it is sent
but the notice saying so: no escalation, no reopened or resolved notice.

Follow-ups go to the people who were paged (recorded on the incident at each page), not to whoever is
on call when the follow-up happens: after a handoff, the engineer paged still hears it is over (issue 18).
A policy's `repeat_every` sends the last level's notice again while the incident stays unacknowledged.
A reassigned or taken-over incident has an owner: they are told, and from then on it is theirs.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from opsmon.collector.config.oncall import Oncall
from opsmon.collector.core.actors import person
from opsmon.collector.core.deadlines import in_time
from opsmon.collector.incidents.engine import Active, IncidentEngine

log = logging.getLogger(__name__)
Send = Callable[[Active, str, int, list[str], list[str]], None]
FOLLOW_UPS = ("acknowledged", "resolved", "reopened", "withdrawn", "flapping", "settled", "maintenance",
              "reassigned", "taken_over")
TO_THE_OWNER = ("reopened", "flapping", "settled", "maintenance")  # once acknowledged, the owner's alone
TO_THE_NEW_OWNER = ("reassigned", "taken_over")
QUIET = ("resolved", "reopened")  # not sent while flapping or under maintenance


class Escalator:
    def __init__(self, engine: IncidentEngine, oncall: Oncall | None, send: Send,
                 asset_info: Callable[[str], Any]) -> None:
        self.engine = engine
        self.oncall = oncall
        self.send = send
        self.asset_info = asset_info
        engine.on_change.append(self._changed)

    def _policy(self, inc: Active) -> Any:
        if self.oncall is None:
            return None
        info = self.asset_info(inc.asset_id)
        return self.oncall.policy_for(inc.kind, inc.severity, info.category if info else "", info.site if info else "")

    def step(self, now: datetime) -> None:
        for inc in self.engine.tick(now):
            policy = self._policy(inc)
            if policy is None:
                continue
            while inc.level < len(policy.levels):
                level = policy.levels[inc.level]
                if now < inc.clock_start + timedelta(seconds=level.after):
                    break
                if level.only_if_breached and (inc.deadline is None or in_time(now, inc.deadline)):
                    break
                self._page(inc, "opened" if inc.level == 0 else "escalated", level, inc.level + 1, now)
            repeat = policy.repeat_every
            if (repeat and 0 < inc.level and inc.paged_at is not None
                    and now >= inc.paged_at + timedelta(seconds=repeat)):
                self._page(inc, "repeated", policy.levels[inc.level - 1], inc.level, now)

    def _page(self, inc: Active, event: str, level: Any, number: int, now: datetime) -> None:
        """Send a level's notice to who it names now, and note them on the incident: follow-ups go to them."""
        who = self.oncall.recipients(level, now) if self.oncall else []
        inc.paged += [p for p in who if p not in inc.paged]
        inc.paged_at = now
        self.send(inc, event, number, who, list(level.channels))
        self.engine.record(inc.id, "escalated" if event == "opened" else event,
                           {"level": number, "to": who, "channels": list(level.channels)}, now, level=number)

    def _changed(self, inc: Active, action: str, actor: str, detail: dict[str, Any]) -> None:
        if action not in FOLLOW_UPS or inc.level == 0:
            return
        if inc.quiet and action in QUIET:
            return
        policy = self._policy(inc)
        if policy is None or self.oncall is None:
            return
        now = self.engine.clock()
        if action in TO_THE_NEW_OWNER or (action in TO_THE_OWNER and inc.acknowledged is not None):
            who, channels = self._owner(inc, policy, now)
        else:
            channels = []
            for level in policy.levels[:inc.level]:
                channels += [c for c in level.channels if c not in channels]
            # the people paged, not whoever is on call now (incidents paged before this was kept: those now)
            who = [p for p in inc.paged if p in self.oncall.people] or [
                p for level in policy.levels[:inc.level] for p in self.oncall.recipients(level, now)]
            who = list(dict.fromkeys(who))
        self.send(inc, action, inc.level, who, channels)

    def _owner(self, inc: Active, policy: Any, now: datetime) -> tuple[list[str], list[str]]:
        """The owner (given by reassign or take over, else who acknowledged), on the channels of the levels
        reached that name them (else level 1's).

        `acknowledged_by` is a token's person or `link:<person>`; one not under people in oncall.yaml cannot be
        addressed: the notice goes to level 1's channels naming nobody (it still says who acknowledged).
        """
        assert self.oncall is not None
        owner = inc.owner or person(inc.acknowledged_by or "")
        if owner not in self.oncall.people:
            return [], list(policy.levels[0].channels)
        channels: list[str] = []
        for level in policy.levels[:max(inc.level, 1)]:
            if owner in self.oncall.recipients(level, now):
                channels += [c for c in level.channels if c not in channels]
        return [owner], channels or list(policy.levels[0].channels)
