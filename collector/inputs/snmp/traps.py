"""The SNMP trap receiver (pysnmp 7, v1/v2c communities and v3 USM users).

Every trap accepted is stored as an event with the device it came from (matched
by source address). Link traps act at once: linkDown/linkUp of an interface that
is the uplink of a `link` asset update that link's state without waiting for the
next poll; coldStart/warmStart make the next poll re-read the static columns.

v3 traps are sent by the device's own engine, so the receiver must know each
sender's engine ID (snmp.traps.engine_ids). A trap with an unknown engine ID, a
wrong key or a wrong community is dropped by pysnmp; opsmon counts the v3 ones
and logs them once a minute at most, with the sender and never the secrets.
"""
from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.config.snmp_credentials import Credential
from opsmon.collector.core.messages import Event, Message
from opsmon.collector.core.states import DOWN, UP
from opsmon.collector.inputs.base import InputContext

log = logging.getLogger(__name__)

SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
IF_INDEX = (1, 3, 6, 1, 2, 1, 2, 2, 1, 1)
GENERIC = {
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 1): ("coldStart", "warning", "device restarted (coldStart)"),
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 2): ("warmStart", "warning", "SNMP agent restarted (warmStart)"),
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 3): ("linkDown", "warning", "interface went down"),
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 4): ("linkUp", "info", "interface came up"),
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 5): ("authenticationFailure", "warning",
                                     "SNMP request with a wrong community or user"),
}
AUTH = {"MD5": "USM_AUTH_HMAC96_MD5", "SHA": "USM_AUTH_HMAC96_SHA", "SHA224": "USM_AUTH_HMAC128_SHA224",
        "SHA256": "USM_AUTH_HMAC192_SHA256", "SHA384": "USM_AUTH_HMAC256_SHA384", "SHA512": "USM_AUTH_HMAC384_SHA512"}
PRIV = {"DES": "USM_PRIV_CBC56_DES", "AES": "USM_PRIV_CFB128_AES", "AES128": "USM_PRIV_CFB128_AES",
        "AES192": "USM_PRIV_CFB192_AES_BLUMENTHAL", "AES256": "USM_PRIV_CFB256_AES_BLUMENTHAL",
        "AES192C": "USM_PRIV_CFB192_AES", "AES256C": "USM_PRIV_CFB256_AES"}


def text(value: Any) -> Any:
    """A pyasn1 value as JSON: numbers, dotted OIDs, printable text, or hex for binary."""
    from pyasn1.type import univ

    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(map(str, value))
    if isinstance(value, univ.OctetString):
        raw = value.asOctets()
        try:
            decoded = raw.decode("utf-8")
            if decoded.isprintable():
                return decoded
        except UnicodeDecodeError:
            pass
        return raw.hex(":")
    try:
        return int(value)
    except (TypeError, ValueError):
        return value.prettyPrint()


def make(ctx: InputContext) -> TrapReceiver | None:
    """The trap receiver, when `snmp.traps.enabled` (it needs the SNMP credentials and hub)."""
    if ctx.snmp is None or not ctx.config.snmp.traps.enabled:
        return None
    return TrapReceiver(ctx.config.snmp.traps, ctx.snmp.credentials, ctx.publish, ctx.asset_at, ctx.snmp, ctx.clock)


class TrapReceiver:
    """An input (inputs/base.py): SNMP traps in, events out; link and restart traps act on the polled devices."""

    name = "snmp-traps"

    def __init__(self, settings: Any, credentials: dict[str, Credential], publish: Callable[[Message], None],
                 asset_for: Callable[[str], str | None], hub: Any,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.credentials = credentials
        self.publish = publish
        self.asset_for = asset_for
        self.hub = hub
        self.clock = clock
        self.engine: Any = None
        self.received = 0
        self.rejected = 0
        self._last_warning = 0.0
        self.port: int | None = None
        self.sock: socket.socket | None = None

    def bind(self) -> None:
        """Take the trap port at start, so a taken port fails the start, not the first trap."""
        host, port = self.settings.host, self.settings.port
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot receive SNMP traps on {host}:{port}: {exc.strerror}") from None
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
        transport = udp.UdpTransport().open_server_mode(sock=sock)
        config.add_transport(eng, udp.DOMAIN_NAME, transport)
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
        eng.observer.register_observer(self._rejected, "rfc3412.prepareDataElements:sm-failure")
        ntfrcv.NotificationReceiver(eng, self._on_trap)
        self.engine = eng
        log.info("snmp trap receiver listening", extra={"address": f"{self.settings.host}:{self.port}"})

    def _rejected(self, _engine: Any, _point: str, variables: dict[str, Any], _ctx: Any) -> None:
        self.rejected += 1
        now = time.monotonic()
        if now - self._last_warning >= 60:
            self._last_warning = now
            address = variables.get("transportAddress")
            error = (variables.get("statusInformation") or {}).get("errorIndication")
            log.warning("snmp v3 trap rejected (unknown engine ID, user or key?)",
                        extra={"source": str(address[0]) if address else "?", "error": str(error),
                               "rejected_total": self.rejected})

    def _on_trap(self, snmp_engine: Any, state_ref: Any, _ctx_engine: Any, _ctx_name: Any,
                 var_binds: Any, _cb: Any) -> None:
        try:
            _domain, (host, _port) = snmp_engine.message_dispatcher.get_transport_info(state_ref)
            self.handle(str(host), [(tuple(oid), value) for oid, value in var_binds])
        except Exception:  # noqa: BLE001 - one odd trap must not stop the receiver
            log.exception("snmp trap could not be handled")

    def handle(self, host: str, var_binds: list[tuple[tuple[int, ...], Any]]) -> None:
        """Store one trap as an event and act on link and restart traps."""
        self.received += 1
        ts = self.clock()
        asset = self.asset_for(host)
        trap_oid: tuple[int, ...] | None = None
        details: dict[str, Any] = {}
        if_index: int | None = None
        for oid, value in var_binds:
            if oid == SNMP_TRAP_OID:
                trap_oid = tuple(value)
                continue
            details[".".join(map(str, oid))] = text(value)
            if oid[:len(IF_INDEX)] == IF_INDEX and len(oid) == len(IF_INDEX) + 1:
                if_index = oid[-1]
        if trap_oid is None:
            return
        name, severity, summary = GENERIC.get(trap_oid, (".".join(map(str, trap_oid)), "info", "vendor trap"))
        if if_index is not None:
            summary += f" (ifIndex {if_index})"
        self.publish(Event(asset, ts, host, "trap", name, severity, summary, details))
        if asset is None:
            return
        if name in ("linkDown", "linkUp") and if_index is not None:
            status = DOWN if name == "linkDown" else UP
            self.hub.interface_event(asset, if_index, status, "linkDown trap" if status == DOWN else "")
        elif name in ("coldStart", "warmStart"):
            state = self.hub.devices.get(asset)
            if state is not None:
                state.static_at = None

    def close(self) -> None:
        if self.engine is not None:
            try:
                self.engine.close_dispatcher()
            except Exception:  # noqa: BLE001 - closing must not fail a shutdown
                pass
            self.engine = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
