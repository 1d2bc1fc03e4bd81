"""The SNMP client on pysnmp 7 (asyncio): every version and USM protocol, used for v3 and traps.

One SnmpEngine per credential: pysnmp keys USM users by user name inside an
engine, so two credentials with the same user and different keys would
overwrite each other in a shared engine. Transports are created once per
(host, port, timeout, retries) and reused. MIB lookup is off: profiles carry
numeric OIDs, and resolving names costs most of pysnmp's time.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
)
from pysnmp.proto import errind, rfc1905

from opsmon.collector.config.snmp_credentials import Credential
from opsmon.collector.core.errors import AuthFailed, PeerTimeout, ProtocolError
from opsmon.collector.inputs.snmp.client import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    Oid,
    Target,
    TooBig,
    Value,
    VarBind,
    no_answer,
)

_AUTH_ERRORS = (errind.WrongDigest, errind.UnknownUserName, errind.UnknownSecurityName,
                errind.AuthenticationFailure, errind.AuthenticationError, errind.DecryptionError,
                errind.UnsupportedSecurityLevel, errind.UnknownEngineID)


def _auth_protocols() -> dict[str, Any]:
    from pysnmp.hlapi.v3arch import asyncio as h

    return {"SHA": h.usmHMACSHAAuthProtocol, "SHA224": h.usmHMAC128SHA224AuthProtocol,
            "SHA256": h.usmHMAC192SHA256AuthProtocol, "SHA384": h.usmHMAC256SHA384AuthProtocol,
            "SHA512": h.usmHMAC384SHA512AuthProtocol, "MD5": h.usmHMACMD5AuthProtocol}


def _priv_protocols() -> dict[str, Any]:
    from pysnmp.hlapi.v3arch import asyncio as h

    # AES192/AES256 stretch a short key as net-snmp does (Blumenthal draft); the C variants as Cisco does (Reeder).
    return {"AES": h.usmAesCfb128Protocol, "AES128": h.usmAesCfb128Protocol,
            "AES192": h.usmAesBlumenthalCfb192Protocol, "AES256": h.usmAesBlumenthalCfb256Protocol,
            "AES192C": h.usmAesCfb192Protocol, "AES256C": h.usmAesCfb256Protocol, "DES": h.usmDESPrivProtocol}


def convert(value: Any) -> Value:
    """A pyasn1 value as a plain Python value (see opsmon.collector.inputs.snmp.client).

    The exception values come first: pyasn1 derives them from Null, itself an OctetString.
    """
    if isinstance(value, rfc1905.EndOfMibView):
        return END_OF_MIB_VIEW
    if isinstance(value, rfc1905.NoSuchInstance):
        return NO_SUCH_INSTANCE
    if isinstance(value, rfc1905.NoSuchObject):
        return NO_SUCH_OBJECT
    if isinstance(value, rfc1905.UnSpecified | univ.Null):
        raise ProtocolError("unspecified value in a response")
    if isinstance(value, univ.OctetString):  # OctetString, IpAddress, Opaque
        return value.asOctets()
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value)
    return int(value)


class PysnmpClient:
    name = "pysnmp"

    def __init__(self, credentials: dict[str, Credential]) -> None:
        self.credentials = credentials
        self._engines: dict[str, SnmpEngine] = {}
        self._auth: dict[str, CommunityData | UsmUserData] = {}
        self._transports: dict[tuple[str, int, float, int], UdpTransportTarget] = {}

    def _session(self, target: Target) -> tuple[SnmpEngine, CommunityData | UsmUserData]:
        name = target.credential
        if name not in self._engines:
            cred = self.credentials[name]
            if cred.version == "2c":
                auth: CommunityData | UsmUserData = CommunityData(cred.secret("community"), mpModel=1)
            else:
                kwargs: dict[str, Any] = {}
                if cred.auth_protocol:
                    kwargs.update(authKey=cred.secret("auth_key"), authProtocol=_auth_protocols()[cred.auth_protocol])
                if cred.priv_protocol:
                    kwargs.update(privKey=cred.secret("priv_key"), privProtocol=_priv_protocols()[cred.priv_protocol])
                auth = UsmUserData(cred.user, **kwargs)
            self._engines[name] = SnmpEngine()
            self._auth[name] = auth
        return self._engines[name], self._auth[name]

    async def _transport(self, target: Target) -> UdpTransportTarget:
        key = (target.host, target.port, target.timeout, target.retries)
        transport = self._transports.get(key)
        if transport is None:
            transport = await UdpTransportTarget.create((target.host, target.port), timeout=target.timeout,
                                                        retries=target.retries)
            self._transports[key] = transport
        return transport

    async def get(self, target: Target, oids: Sequence[Oid]) -> list[VarBind]:
        engine, auth = self._session(target)
        result = await get_cmd(engine, auth, await self._transport(target), ContextData(),
                               *[ObjectType(ObjectIdentity(o)) for o in oids], lookupMib=False)
        return self._unpack(target, result)

    async def get_bulk(self, target: Target, oids: Sequence[Oid], non_repeaters: int,
                       max_repetitions: int) -> list[VarBind]:
        engine, auth = self._session(target)
        result = await bulk_cmd(engine, auth, await self._transport(target), ContextData(), non_repeaters,
                                max_repetitions, *[ObjectType(ObjectIdentity(o)) for o in oids], lookupMib=False)
        return self._unpack(target, result)

    def _unpack(self, target: Target, result: tuple[Any, Any, Any, Any]) -> list[VarBind]:
        indication, status, index, varbinds = result
        if indication is not None:
            if isinstance(indication, errind.RequestTimedOut):
                raise PeerTimeout(no_answer(target))
            if isinstance(indication, _AUTH_ERRORS):
                raise AuthFailed(f"SNMPv3: {indication}")
            raise ProtocolError(str(indication))
        if status and int(status) != 0:
            if int(status) == 1:
                raise TooBig("tooBig")
            raise ProtocolError(f"agent error {status.prettyPrint() if hasattr(status, 'prettyPrint') else status}"
                                f" at varbind {int(index)}")
        try:
            return [(tuple(name), convert(value)) for name, value in varbinds]
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"undecodable value: {exc}") from None

    def close(self) -> None:
        for engine in self._engines.values():
            try:
                engine.close_dispatcher()
            except Exception:  # noqa: BLE001 - closing must not fail a shutdown
                pass
        self._engines.clear()
