"""Notices built from the running collector's parts and handed to the dispatcher: an incident's news (with its
acknowledge links), the handoff to the person coming on call, and the code a group link sends to a person.

Links (issue 18 item 7): the link in a notice names nobody, since robots and mails to several are read by
many; it asks who is acknowledging. A one-click link for the person paged rides along (`personal_ack_url`)
when exactly one person is paged; only a mail channel that sends to that person's address alone uses it.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsmon.collector.core.incidents import AVAILABILITY, MINOR
from opsmon.collector.incidents.engine import ACTIVE
from opsmon.collector.incidents.links import CODE_TTL, LinkClaim
from opsmon.collector.notify.message import OPEN_EVENTS, Notice, Person

if TYPE_CHECKING:
    from opsmon.collector.service.service import Service

HANDOFF_PREFIX = "oncall:"  # the `incident_id` of a handoff notice: not an incident, its deliveries only logged


class Notices:
    def __init__(self, service: Service) -> None:
        self.s = service

    def _people(self, who: list[str]) -> tuple[Person, ...]:
        oncall = self.s.oncall
        return tuple(Person(p.name, p.email, p.mobile) for p in (oncall.people[w] for w in who if w in oncall.people))

    def send(self, inc: Any, event: str, level: int, who: list[str], channels: list[str]) -> None:
        """An incident's news for `who` on `channels` (the escalator's Send)."""
        s = self.s
        if s.dispatcher is None or s.oncall is None:
            return
        now = s.clock()
        group_url = personal_url = None
        if event in OPEN_EVENTS and who and s.links is not None:
            base = s.config.incidents.public_url.rstrip("/")
            group_url = f"{base}/ack/{s.links.make(inc.id, '', now)}"
            if len(who) == 1:
                personal_url = f"{base}/ack/{s.links.make(inc.id, who[0], now)}"
        info = s.asset_infos.get(inc.asset_id)
        notice = Notice(inc.id, event, inc.asset_id, info.name if info else inc.asset_id, info.site if info else "",
                        info.category if info else "", inc.kind, inc.severity, inc.cause, inc.opened, inc.deadline,
                        level, self._people(who), group_url, len(inc.attached), inc.acknowledged_by,
                        s.config.timezone, now, status=inc.status, personal_ack_url=personal_url,
                        alert_labels=tuple(sorted((inc.alert_labels or {}).items())))
        policy = s.oncall.policy_for(inc.kind, inc.severity, notice.category, notice.site)
        s.dispatcher.submit(notice, channels, policy.fallback if policy is not None else None)

    def handoff(self, schedule: str, person: str, now: datetime) -> None:
        """"You are now on call; N open incidents" to the person coming on call, on the channels of the first
        level that pages the schedule (not Alertmanager's: it is not an alert)."""
        s = self.s
        if s.dispatcher is None or s.oncall is None:
            return
        channels = [c for c in s.oncall.channels_for_schedule(schedule)
                    if c in s.config.notify.channels and s.config.notify.channels[c].type != "alertmanager"]
        open_ids = sorted(i.id for i in s.incidents.by_id.values() if i.status in ACTIVE)
        notice = Notice(f"{HANDOFF_PREFIX}{schedule}", "handoff", "", schedule, "", "", AVAILABILITY, MINOR,
                        ", ".join(open_ids[:20]), now, None, 0, self._people([person]), attached=len(open_ids),
                        timezone=s.config.timezone, at=now)
        if channels:
            s.dispatcher.submit(notice, channels)

    def link_code(self, claim: LinkClaim, person: str) -> bool:
        """Send a group link's code to `person` alone: by a mail channel with no fixed `to`, to their address."""
        s = self.s
        oncall = s.oncall
        if s.dispatcher is None or s.links is None or oncall is None or not oncall.people[person].email:
            return False
        mails = [name for name, c in s.config.notify.channels.items() if c.type == "email" and not c.to]
        if not mails:
            return False
        now = s.clock()
        code = s.links.new_code(claim, person, now)
        inc = s.incidents.by_id.get(claim.incident_id)
        notice = Notice(claim.incident_id, "code", inc.asset_id if inc else "", "", "", "", AVAILABILITY, MINOR, code,
                        now, None, int(CODE_TTL // 60), self._people([person]), timezone=s.config.timezone, at=now)
        s.dispatcher.submit(notice, mails[:1])
        return True
