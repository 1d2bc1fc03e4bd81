"""The gate of the trap port: each datagram is rate-limited, then handed to pysnmp with every failure counted.

Why here and not in an asyncio exception handler: pysnmp 7's UDP protocol schedules its dispatcher with
`loop.call_soon` for every datagram (pysnmp/carrier/asyncio/dgram/base.py, datagram_received), and the
dispatcher catches only PyAsn1Error and ProtocolError while decoding. Bytes such as b"\\xff\\xfe..." make
pyasn1 raise a TypeError instead, which reaches the loop's default handler: a 27-line traceback per packet
(issue 16). A handler for the whole loop would hide every other callback's failures too; this subclass of
pysnmp's transport calls the dispatcher itself, for its own socket only.

The failures pysnmp does catch are silent: a decode error or an unknown version only bumps a counter of its
own MIB (snmpInASNParseErrs, snmpInBadVersions, snmpUnknownPDUHandlers), and a wrong community or v3 key is
published to the engine's observer ("rfc2576|rfc3412.prepareDataElements:sm-failure"). The gate reads the
counters around each call and the receiver listens to the observer, so each refusal gets its reason.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from opsmon.collector.inputs.snmp.trap_limits import SourceBuckets
from opsmon.collector.inputs.snmp.trap_refusals import Refusals

# pysnmp's error indications (pysnmp.proto.errind) by class name -> our reason
SECURITY_REASONS = {
    "UnknownCommunityName": "community",
    "UnknownEngineID": "unknown_engine",
    "UnknownUserName": "unknown_user",
    "UnknownSecurityName": "unknown_user",
    "WrongDigest": "auth_key",
    "AuthenticationFailure": "auth_key",
    "AuthenticationError": "auth_key",
    "DecryptionError": "priv_key",
    "NotInTimeWindow": "time_window",
    "UnsupportedSecurityLevel": "security_level",
    "ParseError": "malformed",
    "DeserializationError": "malformed",
}
SM_FAILURES = ("rfc2576.prepareDataElements:sm-failure", "rfc3412.prepareDataElements:sm-failure")


def security_reason(variables: dict[str, Any], engine_ids: set[str]) -> str:
    """Our reason for a security-model failure the engine's observer reported.

    pysnmp keys v3 users by (engine ID, user name), so a trap from an engine it was not told about is an
    "unknown user" to it; the sender's engine ID, read from the message's USM parameters, tells them apart.
    """
    error = (variables.get("statusInformation") or {}).get("errorIndication")
    reason = SECURITY_REASONS.get(type(error).__name__, "security")
    if reason == "unknown_user" and _engine_id(variables.get("securityParameters")) not in engine_ids:
        return "unknown_engine"
    return reason


def _engine_id(params: Any) -> str | None:
    """msgAuthoritativeEngineID (hex) of a v3 message's USM parameters, None if they do not decode."""
    from pyasn1.codec.ber import decoder
    from pyasn1.error import PyAsn1Error
    from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

    try:
        usm, _rest = decoder.decode(bytes(params), asn1Spec=UsmSecurityParameters())
        return bytes(usm.getComponentByPosition(0)).hex()
    except (PyAsn1Error, TypeError, ValueError):
        return None


class TrapGate:
    """Counts datagrams, drops those beyond their source's bucket, runs pysnmp's dispatcher under a guard."""

    def __init__(self, buckets: SourceBuckets, refusals: Refusals) -> None:
        self.buckets = buckets
        self.refusals = refusals
        self.packets = 0
        self.open = True
        self._silent: list[Any] = []  # pysnmp's MIB counters of failures it catches without a word

    def watch(self, engine: Any) -> None:
        """Find the MIB counters of `engine` read around each datagram (once: the lookup is not free)."""
        builder = engine.get_mib_builder()
        self._silent = [builder.import_symbols("__SNMPv2-MIB", "snmpInASNParseErrs")[0],
                        builder.import_symbols("__SNMPv2-MIB", "snmpInBadVersions")[0],
                        builder.import_symbols("__SNMP-MPD-MIB", "snmpUnknownPDUHandlers")[0]]

    def _silent_counts(self) -> list[int]:
        return [int(c.syntax) for c in self._silent]

    def receive(self, deliver: Callable[[], Any], source: str) -> None:
        """One datagram from `source`; `deliver` hands it to pysnmp."""
        if not self.open:
            return  # the receiver closed: pysnmp has unregistered the transport
        self.packets += 1
        if not self.buckets.take(source):
            self.refusals.refuse("rate", source)
            return
        before = self._silent_counts()
        try:
            deliver()
        except Exception as exc:  # noqa: BLE001 - any byte string may reach pyasn1: none may escape to the loop
            self.refusals.refuse("malformed", source, f"{type(exc).__name__}: {exc}"[:200])
            return
        after = self._silent_counts()
        if after[0] != before[0] or after[1] != before[1]:
            self.refusals.refuse("malformed", source)
        elif after[2] != before[2]:
            self.refusals.refuse("not_a_trap", source)


def guarded_transport(gate: TrapGate) -> Any:
    """pysnmp's UDP transport whose datagrams pass through `gate` instead of straight to the loop."""
    transport = _transport_class()()
    transport.gate = gate
    return transport


@cache
def _transport_class() -> type:
    """Made at first use: pysnmp is imported when the receiver starts, not with the collector."""
    from pysnmp.carrier.asyncio.dgram import udp

    class GuardedUdpTransport(udp.UdpAsyncioTransport):  # type: ignore[misc]
        gate: TrapGate

        def datagram_received(self, datagram: bytes, transportAddress: Any) -> None:  # noqa: N803 - pysnmp's
            callback = self._callback_function
            if callback is None:
                return
            self.gate.receive(lambda: callback(self, transportAddress, datagram), str(transportAddress[0]))

    return GuardedUdpTransport
