"""What a recovery trap must know before it clears a hardware fault (inputs/snmp/traps.py), per device.

A recovery trap ends one alarm; the device's SNMP poll reads its state, which may still hold the fault through
another object. So a recovery clears nothing while the device's latest answered poll still reports the fault,
whoever made that poll: the centre's own hub (hub.py, one `polled()` per poll), or the site poller that polls
the device now, whose results and faults reach the centre in its reports (inputs/agents/ingest.py hands them to
`report()`). The centre's hub never polls a poller's device, so its own state alone would let a forwarded
recovery clear a fault the poller's polls still see, and the next poll reopen it.

A poller's report carries a poll's faults (its `polled_hardware`, all at the poll's end) apart from the poll's
result (the device's `snmp` check, dated at the poll's start), and a poll that found no fault carries the result
alone. So: the latest poll is the one with the latest time; a result of the device's poll check starts a poll
(answered when `up`, with no fault yet), and faults dated after it are that poll's; faults dated after the latest
result are a newer poll's whose result is still to come (only an answered poll finds faults).

A trap map may name many parts one component (`same_fault: {"*": fan}`: every fan is the device's `fan`, the
component the profiles poll, so a fault both polled and trapped is one incident). The parts raised under such a
component are kept by their own names (and the alarm that raised them), so FAN 1's recovery does not clear `fan`
while FAN 2 is still failed; the last part's recovery, or an answered poll that no longer sees the component,
does. Parts are forgotten with the fault; a part whose recovery trap was lost holds the component until an
answered poll reads it clear (or its recovery comes).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from opsmon.collector.core.messages import HardwareSignal, Message
from opsmon.collector.core.states import UP, Observation

MAX_PARTS = 256  # parts kept per device and component (a chassis has tens of fans); more are not told apart


@dataclass
class _Poll:
    at: datetime  # the poll's start (its result), or its faults' time when they came before its result
    answered: bool
    faults: set[str] = field(default_factory=set)


class DeviceFaults:
    """Per device, the faults of its latest SNMP poll (any observer) and the trapped parts of renamed components."""

    def __init__(self) -> None:
        self.polls: dict[str, _Poll] = {}
        self.parts: dict[tuple[str, str], set[tuple[str, str]]] = {}  # (device, component) -> {(alarm, part)}

    # -- polls ----------------------------------------------------------------
    def polled(self, asset_id: str, at: datetime, answered: bool, faults: Iterable[str] = ()) -> None:
        """A poll of `asset_id` at `at`: answered with `faults` (components), or not answered (then it sees nothing:
        its faults, if any, are an older poll's). An older poll than the latest known changes nothing."""
        latest = self.polls.get(asset_id)
        if latest is None or at >= latest.at:
            self.polls[asset_id] = _Poll(at, answered, set(faults) if answered else set())

    def fault(self, asset_id: str, at: datetime, component: str) -> None:
        """One fault a poll found at `at` (a poller's `polled_hardware`): the latest poll's, or a newer answered
        poll's whose result has not come yet."""
        latest = self.polls.get(asset_id)
        if latest is None or at > latest.at:  # the first fault of a poll (all of a poll's faults share its time)
            self.polls[asset_id] = _Poll(at, True, {component})
        elif at == latest.at and latest.answered:  # another of the same poll; an earlier time is an older poll's
            latest.faults.add(component)

    def report(self, taken: Iterable[Message], is_poll: Callable[[str, str], bool]) -> None:
        """A poller report's results and faults the centre accepted (Ingest.on_polled), in their time order (a
        poll's result, dated at its start, before its faults); `is_poll(asset, check)`: the check is the device's
        SNMP poll (its other results say nothing of its hardware)."""
        found = [m for m in taken if isinstance(m, HardwareSignal)
                 or (isinstance(m, Observation) and is_poll(m.asset_id, m.check_id))]
        for m in sorted(found, key=lambda m: (m.ts, isinstance(m, HardwareSignal))):
            if isinstance(m, HardwareSignal):
                self.fault(m.asset_id, m.ts, m.component)
            else:
                self.polled(m.asset_id, m.ts, m.status == UP)

    def seen(self, asset_id: str, component: str) -> bool | None:
        """Whether the device's latest poll sees a fault of `component`: None when it is not known (never polled, or
        the latest poll not answered)."""
        latest = self.polls.get(asset_id)
        if latest is None or not latest.answered:
            return None
        return component in latest.faults

    # -- parts under a renamed component -------------------------------------
    def raised(self, asset_id: str, component: str, alarm: str, part: str) -> None:
        """`alarm` raised `part` under `component`."""
        parts = self.parts.setdefault((asset_id, component), set())
        if len(parts) < MAX_PARTS:
            parts.add((alarm, part))

    def recovered(self, asset_id: str, component: str, alarm: str, part: str) -> bool:
        """`alarm` of `part` recovered: True while another part of `component` is still raised."""
        parts = self.parts.get((asset_id, component))
        if not parts:
            return False
        parts.discard((alarm, part))
        return bool(parts)

    def cleared(self, asset_id: str, component: str) -> None:
        """The component's fault cleared: its parts start afresh."""
        self.parts.pop((asset_id, component), None)

    def forget(self, keep: set[str]) -> None:
        """Devices no longer in the inventory."""
        for asset_id in set(self.polls) - keep:
            del self.polls[asset_id]
        for key in [k for k in self.parts if k[0] not in keep]:
            del self.parts[key]
