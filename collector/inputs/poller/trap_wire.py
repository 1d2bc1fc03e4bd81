"""A trap as a site poller forwards it (docs/poller.md, "SNMP traps at a site"): its varbinds as received,
typed, so the centre rebuilds the very values its own receiver would have decoded.

Why the varbinds and not an event: the trap maps (what a vendor trap means, which component, which trap clears
which) live in one place, the centre's collector.yaml and bundled packs; the centre hands a forwarded trap to
the same code as a trap it received itself (TrapReceiver.take), so the event, the storm grouping, the
hardware fault and its clearing are the same whoever received it. Each value keeps its SNMP type (a TimeTicks
is left out of what makes two traps the same; an IpAddress or Counter32 shows as itself), as a tag and a JSON
value: octet strings (and their kin) as hex, OIDs dotted, numbers as numbers.

    encode([((1,3,6,1,2,1,1,3,0), TimeTicks(42)), ...]) -> [["1.3.6.1.2.1.1.3.0", "TimeTicks", 42], ...]
    decode(that) -> the same [(oid tuple, pysnmp value)]; ValueError for a tag or value it cannot take
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

OCTETS = ("OctetString", "IpAddress", "Opaque", "Bits")
NUMBERS = ("Integer", "Integer32", "Counter32", "Gauge32", "Unsigned32", "TimeTicks", "Counter64")
TAGS = (*OCTETS, *NUMBERS, "ObjectIdentifier", "Null")
MAX_VARBINDS = 1000  # of one trap on the wire (the centre keeps snmp.traps.max_varbinds of them in the event)
# What a poller sends of one trap: so that one trap cannot make a report the collector refuses (1 MiB), its
# first 100 varbinds, each octet value's first 512 bytes (the centre stores 4 KB of a trap by default).
SENT_VARBINDS = 100
SENT_OCTETS = 512
MAX_TRAPS = 2000  # in one report (a report is at most 1 MiB)
_DOTTED = re.compile(r"^[0-9]+(\.[0-9]+){1,127}$")


class ForwardedTrap(BaseModel):
    """One trap a site poller received: when (its clock, corrected by the report's offset like its results), from
    which address, the asset it belongs to at its site, and its varbinds [dotted OID, tag, value]."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ts: float
    source: str = Field(max_length=64)
    asset: str = Field(max_length=128)
    varbinds: list[tuple[str, str, int | str]] = Field(max_length=MAX_VARBINDS)


def encode(var_binds: list[tuple[tuple[int, ...], Any]]) -> list[list[Any]]:
    """pysnmp varbinds as JSON lists, within SENT_VARBINDS and SENT_OCTETS; an unknown type is kept as its text
    (tag OctetString)."""
    out: list[list[Any]] = []
    for oid, value in var_binds[:SENT_VARBINDS]:
        tag = type(value).__name__
        dotted = ".".join(map(str, oid))
        if tag == "ObjectIdentifier":
            out.append([dotted, tag, ".".join(map(str, tuple(value)))])
        elif tag in NUMBERS:
            out.append([dotted, tag, int(value)])
        elif tag == "Null":
            out.append([dotted, tag, ""])
        elif hasattr(value, "asOctets"):
            out.append([dotted, tag if tag in OCTETS else "OctetString", bytes(value.asOctets())[:SENT_OCTETS].hex()])
        else:
            out.append([dotted, "OctetString", str(value).encode()[:SENT_OCTETS].hex()])
    return out


def decode(varbinds: list[tuple[str, str, int | str]]) -> list[tuple[tuple[int, ...], Any]]:
    """The varbinds as pysnmp values, as the centre's receiver gets them from pysnmp."""
    from pyasn1.error import PyAsn1Error
    from pysnmp.proto import rfc1902, rfc1905

    out: list[tuple[tuple[int, ...], Any]] = []
    for dotted, tag, value in varbinds:
        if not _DOTTED.match(dotted):
            raise ValueError(f"not an OID: {dotted[:40]!r}")
        oid = tuple(int(p) for p in dotted.split("."))
        try:
            if tag in OCTETS and isinstance(value, str):
                out.append((oid, getattr(rfc1902, tag)(hexValue=value)))
            elif tag in NUMBERS and isinstance(value, int):
                out.append((oid, getattr(rfc1902, tag)(value)))
            elif tag == "ObjectIdentifier" and isinstance(value, str) and _DOTTED.match(value):
                out.append((oid, rfc1902.ObjectIdentifier(value)))
            elif tag == "Null":
                out.append((oid, rfc1905.Null("")))
            else:
                raise ValueError(f"{dotted}: no value of type {tag[:20]!r} is {str(value)[:40]!r}")
        except PyAsn1Error as exc:  # out of range (a Counter32 over 2**32), odd hex
            raise ValueError(f"{dotted}: {type(exc).__name__}") from None
    return out
