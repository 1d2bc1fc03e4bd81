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
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from opsmon.collector.config.oncall import Oncall
from opsmon.collector.core.deadlines import in_time
from opsmon.collector.incidents.engine import Active, IncidentEngine

log = logging.getLogger(__name__)
Send = Callable[[Active, str, int, list[str], list[str]], None]
FOLLOW_UPS = ("acknowledged", "resolved", "reopened", "withdrawn", "flapping", "settled", "maintenance")
TO_THE_OWNER = ("reopened", "flapping", "settled", "maintenance")  # once acknowledged, the owner's alone
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
                who = self.oncall.recipients(level, now) if self.oncall else []
                self.send(inc, "opened" if inc.level == 0 else "escalated", inc.level + 1, who, list(level.channels))
                self.engine.record(inc.id, "escalated", {"level": inc.level + 1, "to": who,
                                                         "channels": list(level.channels)}, now, level=inc.level + 1)

    def _changed(self, inc: Active, action: str, actor: str, detail: dict[str, Any]) -> None:
        if action not in FOLLOW_UPS or inc.level == 0:
            return
        if inc.quiet and action in QUIET:
            return
        policy = self._policy(inc)
        if policy is None or self.oncall is None:
            return
        now = self.engine.clock()
        if action in TO_THE_OWNER and inc.acknowledged is not None:
            who, channels = self._owner(inc, policy, now)
        else:
            channels, who = [], []
            for level in policy.levels[:inc.level]:
                channels += [c for c in level.channels if c not in channels]
                who += [p for p in self.oncall.recipients(level, now) if p not in who]
        self.send(inc, action, inc.level, who, channels)

    def _owner(self, inc: Active, policy: Any, now: datetime) -> tuple[list[str], list[str]]:
        """The person who acknowledged, on the channels of the levels reached that name them (else level 1's).

        `acknowledged_by` is a token's person or `link:<person>`; one not under people in oncall.yaml cannot be
        addressed: the notice goes to level 1's channels naming nobody (it still says who acknowledged).
        """
        assert self.oncall is not None
        owner = (inc.acknowledged_by or "").removeprefix("link:")
        if owner not in self.oncall.people:
            return [], list(policy.levels[0].channels)
        channels: list[str] = []
        for level in policy.levels[:max(inc.level, 1)]:
            if owner in self.oncall.recipients(level, now):
                channels += [c for c in level.channels if c not in channels]
        return [owner], channels or list(policy.levels[0].channels)
