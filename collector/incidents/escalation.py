"""Escalation: which level of the incident's policy is due, who is on call for it, and the sending.

Level k is due when the incident is still unacknowledged `after` since it opened
(and, for `only_if_breached`, past its response deadline). Levels are taken in
order and never skipped; each step is recorded on the incident (who, which
channels). Acknowledgement stops it. Acknowledged, resolved and reopened
incidents are told to the people and channels already involved.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from opsmon.collector.config.oncall import Oncall
from opsmon.collector.incidents.engine import Active, IncidentEngine

log = logging.getLogger(__name__)
Send = Callable[[Active, str, int, list[str], list[str]], None]


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
                if now < inc.opened + timedelta(seconds=level.after):
                    break
                if level.only_if_breached and (inc.deadline is None or now <= inc.deadline):
                    break
                who = self.oncall.recipients(level, now) if self.oncall else []
                self.send(inc, "opened" if inc.level == 0 else "escalated", inc.level + 1, who, list(level.channels))
                self.engine.record(inc.id, "escalated", {"level": inc.level + 1, "to": who,
                                                         "channels": list(level.channels)}, now, level=inc.level + 1)

    def _changed(self, inc: Active, action: str, actor: str, detail: dict[str, Any]) -> None:
        if action not in ("acknowledged", "resolved", "reopened", "withdrawn") or inc.level == 0:
            return
        policy = self._policy(inc)
        if policy is None or self.oncall is None:
            return
        channels: list[str] = []
        who: list[str] = []
        now = self.engine.clock()
        for level in policy.levels[:inc.level]:
            channels += [c for c in level.channels if c not in channels]
            who += [p for p in self.oncall.recipients(level, now) if p not in who]
        self.send(inc, action, inc.level, who, channels)
