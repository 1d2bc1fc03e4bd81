"""The SNMP client interface the poller needs, and the table walk built on it.

A client only does single requests (GET, GETBULK) against a target and returns
plain Python values; everything above it (walking columns, detecting profiles,
reading types) is shared code, so the pysnmp client and a faster one are
interchangeable and give the same figures.

Values: int for INTEGER, Counter32/64, Gauge32, TimeTicks; bytes for OCTET
STRING and IpAddress; a tuple of ints for an OBJECT IDENTIFIER; one of the
three `Exception` sentinels below for noSuchObject, noSuchInstance, endOfMibView.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from opsmon.collector.core.errors import ProtocolError

Oid = tuple[int, ...]


class _Special:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_SUCH_OBJECT = _Special("noSuchObject")
NO_SUCH_INSTANCE = _Special("noSuchInstance")
END_OF_MIB_VIEW = _Special("endOfMibView")
Value = int | bytes | tuple | _Special
VarBind = tuple[Oid, Value]


@dataclass(frozen=True)
class Target:
    """Where a device answers and with which credential (by name; the client holds the secrets)."""

    host: str
    port: int
    credential: str
    timeout: float
    retries: int
    version: str = "2c"


def no_answer(target: Target) -> str:
    """The reason for a timeout: with v2c a wrong community looks exactly like a silent device."""
    hint = " (device down, or wrong community)" if target.version == "2c" else ""
    return f"no SNMP answer after {target.retries + 1} tries of {target.timeout:g}s{hint}"


class TooBig(ProtocolError):
    """The agent answered tooBig: ask for fewer varbinds."""


class SnmpClient(Protocol):
    """One request at a time; raises PeerTimeout, AuthFailed or ProtocolError, never returns garbage."""

    name: str

    async def get(self, target: Target, oids: Sequence[Oid]) -> list[VarBind]: ...

    async def get_bulk(self, target: Target, oids: Sequence[Oid], non_repeaters: int,
                       max_repetitions: int) -> list[VarBind]: ...

    def close(self) -> None: ...


async def get_next(client: SnmpClient, target: Target, oids: Sequence[Oid]) -> list[VarBind]:
    """GETNEXT of each OID, as a GETBULK whose every OID is a non-repeater (one round trip)."""
    return await client.get_bulk(target, oids, len(oids), 0)


async def walk_columns(client: SnmpClient, target: Target, columns: Sequence[Oid],
                       varbinds_per_request: int,
                       stamps: dict[Oid, dict[Oid, float]] | None = None) -> dict[Oid, dict[Oid, Value]]:
    """Walk several table columns at once with GETBULK: {column: {index: value}}.

    Columns advance together (one varbind per column per repetition); a column
    leaves the request when it leaves its subtree or the agent says endOfMibView.
    An agent that answers an OID not after the one asked for would loop forever:
    that is a ProtocolError. tooBig halves the request until one row fits.
    `stamps`, when given, receives the arrival time of each value: a counter read late
    in a long walk must not be dated at the walk's start or end, or its rate is off.
    """
    out: dict[Oid, dict[Oid, Value]] = {c: {} for c in columns}
    cursor: dict[Oid, Oid] = {c: c for c in columns}
    budget = max(1, varbinds_per_request)
    while cursor:
        active = list(cursor)
        reps = max(1, budget // len(active))
        try:
            vbs = await client.get_bulk(target, [cursor[c] for c in active], 0, reps)
        except TooBig:
            if reps > 1:
                budget = len(active) * (reps // 2)
                continue
            if len(active) == 1:
                raise
            for col in active:  # even one row of all columns is too big: one column at a time
                out[col].update((await walk_columns(client, target, [col], 1, stamps))[col])
            return out
        if not vbs:
            raise ProtocolError("empty GETBULK response")
        arrived = time.time()
        n = len(active)
        for k, col in enumerate(active):
            # One column at a time over its own varbinds (every n-th, issue 25: no per-varbind index
            # arithmetic or prefix slice). `col < oid < stop` is "inside the column's subtree and not
            # the column itself": every OID after `col` that has it as a prefix sorts before the next
            # sibling `stop`, and every other OID after `col` sorts at or after it.
            size, got, cur = len(col), out[col], cursor[col]
            stop = col[:-1] + (col[-1] + 1,)
            at = stamps.setdefault(col, {}) if stamps is not None else None
            for oid, value in vbs[k::n]:
                if value is END_OF_MIB_VIEW or not col < oid < stop:
                    del cursor[col]
                    break
                if oid <= cur:
                    raise ProtocolError(f"agent returned {'.'.join(map(str, oid))}, not after "
                                        f"{'.'.join(map(str, cur))} (OIDs not increasing)")
                cur = oid
                if value is NO_SUCH_OBJECT or value is NO_SUCH_INSTANCE:
                    continue
                index = oid[size:]
                got[index] = value
                if at is not None:
                    at[index] = arrived
            else:
                cursor[col] = cur
    return out
