"""The SNMP trap receiver (pysnmp 7, v1/v2c communities and v3 USM users).

Every trap accepted is stored as an event with the device it came from (matched
by source address). Link traps act at once: linkDown/linkUp of an interface that
is the uplink of a `link` asset update that link's state without waiting for the
next poll; coldStart/warmStart make the next poll re-read the static columns.

v3 traps are sent by the device's own engine, so the receiver must know each
sender's engine ID (snmp.traps.engine_ids, by asset): a v3 trap belongs to the asset
whose engine ID it carries, whatever address it came from (several devices behind one
address, or a NAT). v1/v2c traps carry no such identity: they belong to the asset at
their source address (a polled device before another asset there), with one warning per
address when several assets share it.

The port takes packets from anyone, so nothing a sender does may cost more than a
counter (issue 16): each datagram passes a per-source rate limit before it is decoded
(trap_limits), pysnmp runs under a guard that turns every failure into a refusal by
reason (trap_guard), refusals are counted by reason and source and logged once a
minute per source (trap_refusals), the same trap repeated is one event with a count
(trap_storms), and stored details are capped (trap_details). Traps from an address
that is no asset are counted and dropped unless snmp.traps.store_unknown is true.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.config.snmp_credentials import Credential
from opsmon.collector.config.trap_maps import TrapEntry, TrapMap, load_trap_maps
from opsmon.collector.core.incidents import CRITICAL, MAJOR, MINOR
from opsmon.collector.core.messages import Event, HardwareSignal, Message, SecurityFinding
from opsmon.collector.core.states import DOWN, UP
from opsmon.collector.inputs.base import InputContext, bind_udp
from opsmon.collector.inputs.snmp.trap_details import details
from opsmon.collector.inputs.snmp.trap_guard import SM_FAILURES, TrapGate, guarded_transport, security_reason
from opsmon.collector.inputs.snmp.trap_limits import SourceBuckets
from opsmon.collector.inputs.snmp.trap_refusals import Refusals
from opsmon.collector.inputs.snmp.trap_storms import Storms, storm_key

log = logging.getLogger(__name__)

SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
RECEIVE_BUFFER = 1 << 20
TICK = 1.0  # seconds between writes of storm counts and pending log lines
IF_INDEX = (1, 3, 6, 1, 2, 1, 2, 2, 1, 1)
UNMAPPED = "未知陷阱 / vendor trap"  # the summary of a trap no map names
AUTH = {"MD5": "USM_AUTH_HMAC96_MD5", "SHA": "USM_AUTH_HMAC96_SHA", "SHA224": "USM_AUTH_HMAC128_SHA224",
        "SHA256": "USM_AUTH_HMAC192_SHA256", "SHA384": "USM_AUTH_HMAC256_SHA384", "SHA512": "USM_AUTH_HMAC384_SHA512"}
PRIV = {"DES": "USM_PRIV_CBC56_DES", "AES": "USM_PRIV_CFB128_AES", "AES128": "USM_PRIV_CFB128_AES",
        "AES192": "USM_PRIV_CFB192_AES_BLUMENTHAL", "AES256": "USM_PRIV_CFB256_AES_BLUMENTHAL",
        "AES192C": "USM_PRIV_CFB192_AES", "AES256C": "USM_PRIV_CFB256_AES"}


def make(ctx: InputContext) -> TrapReceiver | None:
    """The trap receiver, when `snmp.traps.enabled` (it needs the SNMP credentials and hub)."""
    if ctx.snmp is None or not ctx.config.snmp.traps.enabled:
        return None
    return TrapReceiver(ctx.config.snmp.traps, ctx.snmp.credentials, ctx.publish, ctx.asset_at, ctx.snmp, ctx.clock,
                        ctx.assets_at, ctx.config.trap_maps())  # as the loader parsed them at start


@dataclass
class TrapCounts:
    """What /metrics shows of the receiver (outputs/metrics.py reads it at scrape time)."""

    gate: TrapGate = field(repr=False)
    refused: dict[tuple[str, str], int]  # (reason, source label) -> traps refused
    accepted: int = 0  # traps authenticated and handled (stored, or counted in a stored event)
    grouped: int = 0  # ... of which only raised the count of an event already stored

    @property
    def packets(self) -> int:
        """Datagrams that reached the trap port."""
        return self.gate.packets


class TrapReceiver:
    """An input (inputs/base.py): SNMP traps in, events out; link and restart traps act on the polled devices."""

    name = "snmp-traps"

    def __init__(self, settings: Any, credentials: dict[str, Credential], publish: Callable[[Message], None],
                 asset_for: Callable[[str], str | None], hub: Any,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 assets_at: Callable[[str], tuple[str, ...]] = lambda _address: (),
                 maps: TrapMap | None = None) -> None:
        self.settings = settings
        self.maps = maps if maps is not None else load_trap_maps()
        self.assets_at = assets_at
        self._by_engine = {engine_id.lower(): asset for asset, engine_id in settings.engine_ids.items()}
        self._ambiguous_told: set[str] = set()
        self._usm_engine: str | None = None  # of the v3 message being received
        self._sender_engine: str | None = None  # of the message whose trap the callback handles
        self.credentials = credentials
        self.publish = publish
        self.asset_for = asset_for
        self.hub = hub
        self.clock = clock
        self.engine: Any = None
        self.port: int | None = None
        self.sock: socket.socket | None = None
        self.refusals = Refusals(settings.refused_sources, lambda address: asset_for(address) is not None)
        self.gate = TrapGate(SourceBuckets(settings.rate, settings.burst), self.refusals)
        self.storms = Storms(settings.storm_window, publish)
        self.counts = TrapCounts(self.gate, self.refusals.counts)
        self._ticker: asyncio.TimerHandle | None = None

    def bind(self) -> None:
        """Take the trap port at start, so a taken port fails the start, not the first trap."""
        # A burst (a chassis reporting every port's link) must wait in the kernel, not be dropped there:
        # 1 MB holds ~4,000 small traps.
        sock = bind_udp(self.settings.host, self.settings.port, RECEIVE_BUFFER, "SNMP traps")
        self.sock = sock

    def start(self, sock: socket.socket | None = None) -> None:
        """Register on `sock` (default: the one `bind()` took).

        Call inside the running event loop: pysnmp binds its transport to it.
        """
        sock = sock or self.sock
        if sock is None:
            raise RuntimeError("TrapReceiver.start() before bind()")
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv
        from pysnmp.proto.api import v2c

        eng = engine.SnmpEngine()
        config.add_transport(eng, udp.DOMAIN_NAME, guarded_transport(self.gate).open_server_mode(sock=sock))
        self.gate.watch(eng)
        self.port = sock.getsockname()[1]
        for name in self.settings.credentials:
            cred = self.credentials[name]
            if cred.version == "2c":
                config.add_v1_system(eng, name, cred.secret("community"))
                continue
            auth = getattr(config, AUTH[cred.auth_protocol]) if cred.auth_protocol else config.USM_AUTH_NONE
            priv = getattr(config, PRIV[cred.priv_protocol]) if cred.priv_protocol else config.USM_PRIV_NONE
            for engine_id in self.settings.engine_ids.values():
                config.add_v3_user(eng, cred.user, auth, cred.secret("auth_key") if cred.auth_protocol else None,
                                   priv, cred.secret("priv_key") if cred.priv_protocol else None,
                                   securityEngineId=v2c.OctetString(hexValue=engine_id))
        eng.observer.register_observer(self._refused, *SM_FAILURES)
        # The v3 sender is the engine its USM parameters authenticated (msgAuthoritativeEngineID), not the
        # PDU's context engine ID, which net-snmp's snmptrap fills with its own: seen as the message passes
        # USM, and handed to the trap's callback (same thread, same message) at the request point.
        eng.observer.register_observer(self._usm_passed, "rfc3414.processIncomingMsg")
        eng.observer.register_observer(self._message_taken, "rfc3412.receiveMessage:request")
        ntfrcv.NotificationReceiver(eng, self._on_trap)
        self.engine = eng
        self._ticker = asyncio.get_running_loop().call_later(TICK, self._tick)
        log.info("snmp trap receiver listening", extra={"address": f"{self.settings.host}:{self.port}"})

    def _usm_passed(self, _engine: Any, _point: str, variables: dict[str, Any], _ctx: Any) -> None:
        engine_id = variables.get("securityEngineId")
        self._usm_engine = bytes(engine_id.asOctets()).hex() if engine_id is not None else None

    def _message_taken(self, _engine: Any, _point: str, variables: dict[str, Any], _ctx: Any) -> None:
        """The message whose PDU goes to the callback next: v3 keeps the engine USM saw, others have none."""
        # Only an authenticated engine ID names the sender: a noAuthNoPriv message's is anyone's to claim.
        authenticated = variables.get("securityModel") == 3 and int(variables.get("securityLevel") or 0) >= 2
        self._sender_engine = self._usm_engine if authenticated else None
        self._usm_engine = None

    def _refused(self, _engine: Any, _point: str, variables: dict[str, Any], _ctx: Any) -> None:
        """A wrong community or v3 user, key or engine ID: counted by reason and source, never the secrets."""
        address = variables.get("transportAddress")
        engine_ids = {e.lower() for e in self.settings.engine_ids.values()}
        self.refusals.refuse(security_reason(variables, engine_ids), str(address[0]) if address else "?")

    def _tick(self) -> None:
        """Once a second: storm counts to the store, refusal lines due to the log."""
        self.storms.tick()
        self.refusals.tick()
        self.counts.grouped = self.storms.grouped
        if self.engine is not None:
            self._ticker = asyncio.get_running_loop().call_later(TICK, self._tick)

    def _on_trap(self, snmp_engine: Any, state_ref: Any, _ctx_engine: Any, _ctx_name: Any,
                 var_binds: Any, _cb: Any) -> None:
        host = "?"
        try:
            _domain, (host, _port) = snmp_engine.message_dispatcher.get_transport_info(state_ref)
            self.handle(str(host), [(tuple(oid), value) for oid, value in var_binds], self._sender_engine)
        except Exception as exc:  # noqa: BLE001 - one odd trap must not stop the receiver, nor flood the log
            self.refusals.refuse("error", str(host), f"{type(exc).__name__}: {exc}"[:200])

    def attribute(self, host: str, engine_id: str | None) -> str | None:
        """The asset a trap belongs to: by the v3 sender's engine ID when it is configured, else by address."""
        asset = self._by_engine.get(engine_id.lower()) if engine_id else None
        if asset is not None:
            return asset
        asset = self.asset_for(host)
        if asset is not None and host not in self._ambiguous_told:
            owners = self.assets_at(host)
            if len(owners) > 1:
                self._ambiguous_told.add(host)
                log.warning("traps from an address several assets share go to one of them; give v3 senders "
                            "their engine IDs (snmp.traps.engine_ids) to tell them apart",
                            extra={"source": host, "assets": ",".join(owners), "chosen": asset})
        return asset

    def handle(self, host: str, var_binds: list[tuple[tuple[int, ...], Any]], engine_id: str | None = None) -> None:
        """Store one trap as an event (or count it in its storm's) and act on link and restart traps."""
        ts = self.clock()
        asset = self.attribute(host, engine_id)
        if asset is None and not self.settings.store_unknown:
            self.refusals.refuse("unknown_source", host)
            return
        self.take(host, asset, ts, var_binds)

    def take(self, host: str, asset: str | None, ts: datetime, var_binds: list[tuple[tuple[int, ...], Any]],
             observer: str | None = None) -> None:
        """A trap already attributed, received at `ts`: stored as an event (or counted in its storm's), mapped,
        acted on. observer: the site poller that received it (inputs/poller/trap_ingest.py), in the details."""
        from pysnmp.proto.rfc1902 import TimeTicks

        trap_oid: tuple[int, ...] | None = None
        entry: TrapEntry | None = None
        kept: list[tuple[str, Any]] = []
        same: list[tuple[str, Any]] = []  # what makes two traps the same: time values apart
        if_index: int | None = None
        for oid, value in var_binds:
            if oid == SNMP_TRAP_OID:
                trap_oid = tuple(value)
                continue
            dotted = ".".join(map(str, oid))
            kept.append((dotted, value))
            if oid != SYS_UPTIME and not isinstance(value, TimeTicks):
                same.append((dotted, bytes(value.asOctets()).hex() if hasattr(value, "asOctets") else str(value)))
            if oid[:len(IF_INDEX)] == IF_INDEX and len(oid) == len(IF_INDEX) + 1:
                if_index = oid[-1]
        if trap_oid is None:
            self.refusals.refuse("not_a_trap", host)
            return
        self.counts.accepted += 1
        entry = self.maps.get(trap_oid)
        if entry is None:
            name, severity, summary = ".".join(map(str, trap_oid)), "info", UNMAPPED
        else:
            name, severity, summary = entry.name, entry.severity, f"{entry.summary.zh} / {entry.summary.en}"
        component = _component(entry, var_binds) if entry is not None else None
        meaning = summary  # what the trap says, without the component the incident names apart
        if component is not None:
            summary += f": {component}"
        if if_index is not None:
            summary += f" (ifIndex {if_index})"
        self.storms.add(storm_key(f"{host}/{asset}", name, same), ts, lambda: Event(
            asset, ts, host, "trap", name, severity, summary,
            details(kept, self.settings.max_detail_bytes, self.settings.max_varbinds)
            | ({"poller": observer} if observer else {})))
        self.counts.grouped = self.storms.grouped
        if asset is None:
            return
        if entry is not None:
            self._act(asset, ts, trap_oid, entry, component, meaning)
        if self.hub is None:
            return  # no SNMP polling here (a poller's traps reach a collector without snmp.credentials)
        if name in ("linkDown", "linkUp") and if_index is not None:
            status = DOWN if name == "linkDown" else UP
            self.hub.interface_event(asset, if_index, status, "linkDown trap" if status == DOWN else "")
        elif name in ("coldStart", "warmStart"):
            state = self.hub.devices.get(asset)
            if state is not None:
                state.static_at = None

    def _act(self, asset: str, ts: datetime, trap_oid: tuple[int, ...], entry: TrapEntry, component: str | None,
             summary: str) -> None:
        """What the map says the trap does beyond its event: a hardware fault raised or cleared, a security
        incident (config/trap_maps.py). A repeat of a raised fault keeps its one incident (the engine de-duplicates
        by asset and component). Without a component varbind the fault is named by the trap that raises it, so
        its recovery (another trap, another name) finds it. A component the polled profiles name otherwise is
        renamed by the raising entry's `same_fault`, so a fault both polled and trapped is one incident; a part
        renamed by `*` keeps its own name in the problem ("fan failed: FAN 2"). A recovery of a fault the device's
        latest poll still reports clears nothing: a recovery trap ends one alarm, while the poll reads the state,
        which may hold the fault through another object (a UPS's input-bad alarm removed while it still runs on
        battery; another fan of the device still failed); the poll's own clearing ends the incident once gone."""
        raised = self.maps.cleared.get(trap_oid)
        named = component or (raised or entry).name
        same = (raised or entry).same_fault
        component = same.get(named) or same.get("*") or named
        if named not in same and "*" in same:  # the part's own name is in no component: keep it in the problem
            summary += f": {named}"
        if raised is not None:
            if raised.action == "hardware":
                if self._polled_fault(asset, component):
                    return
                self.publish(HardwareSignal(asset, component, ts, summary, cleared=True, source="trap"))
            else:
                self.publish(SecurityFinding(asset, f"trap:{raised.name}:{component}", False, ts, summary))
        elif entry.action == "hardware":
            self.publish(HardwareSignal(asset, component, ts, summary, source="trap"))
        elif entry.action == "security":
            self.publish(SecurityFinding(asset, f"trap:{entry.name}:{component}", True, ts, summary,
                                         severity=_SEVERITY.get(entry.severity, MAJOR)))

    def _polled_fault(self, asset: str, component: str) -> bool:
        """True when the asset's latest SNMP poll answered and reported a hardware fault of `component`
        (state.faults). A latest poll the device did not answer sees nothing: its faults are an older poll's."""
        state = self.hub.devices.get(asset) if self.hub is not None else None
        return state is not None and state.answered and any(c == component for c, _en, _zh in state.faults)

    def close(self) -> None:
        """Stop taking packets, then write what storms counted and what the log still owes."""
        self.gate.open = False
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.storms.close()
        self.refusals.flush()
        if self.engine is not None:
            try:
                self.engine.close_dispatcher()
            except Exception:  # noqa: BLE001 - closing must not fail a shutdown
                pass
            self.engine = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None


_SEVERITY = {"critical": CRITICAL, "major": MAJOR, "minor": MINOR}


def _component(entry: TrapEntry, var_binds: list[tuple[tuple[int, ...], Any]]) -> str | None:
    """The component a trap names (the varbind under `component_from`, e.g. entPhysicalName.<index>)."""
    if entry.component_from is None:
        return None
    prefix = tuple(int(p) for p in entry.component_from.split("."))
    for oid, value in var_binds:
        if oid[:len(prefix)] == prefix:
            if isinstance(value, tuple) or type(value).__name__ == "ObjectIdentifier":
                text = ".".join(map(str, tuple(value)))
            else:
                text = bytes(value.asOctets()).decode("utf-8", "replace") if hasattr(value, "asOctets") \
                    else str(value)
            return text.strip()[:100] or None
    return None
