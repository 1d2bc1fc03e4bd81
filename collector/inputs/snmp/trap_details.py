"""A trap's varbinds as the JSON details of its event, within a size cap.

Why a cap: events are kept 400 days by default, and a trap is whatever its sender put in it. A 60 KB octet
string was stored as 180 KB (hex with colons, 3 characters a byte). So values are cut with a marker, the
number of varbinds is capped, and a `truncated` entry says what came; binary values are converted only up
to what can be kept, so a big one costs no 180 KB string first.

    details(varbinds, max_bytes=4096, max_varbinds=50)
    -> {"1.3.6.1.2.1.1.3.0": 1234, "1.3.6.1.4.1.9999.1.1.0": "abab…[截断 truncated]",
        "truncated": {"varbinds": 101, "kept": 50}}
"""
from __future__ import annotations

import json
from typing import Any

MARKER = "…[截断 truncated]"
RESERVED = 480  # bytes kept free for what the receiver adds: count, first, last, group, truncated, poller


def text(value: Any, limit: int | None = None) -> Any:
    """A pyasn1 value as JSON: numbers, dotted OIDs, printable text, or hex for binary (at most `limit` chars)."""
    from pyasn1.type import univ

    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(map(str, value))
    if isinstance(value, univ.OctetString):
        raw = value.asOctets()
        cut = limit is not None and len(raw) > limit
        if cut:
            raw = raw[:limit]
        try:
            decoded = raw.decode("utf-8")
            if decoded.isprintable():
                return decoded + MARKER if cut else decoded
        except UnicodeDecodeError:
            pass
        shown = raw.hex(":")
        if limit is not None and len(shown) > limit:
            shown, cut = shown[:limit], True
        return shown + MARKER if cut else shown
    try:
        return int(value)
    except (TypeError, ValueError):
        return value.prettyPrint()


def _size(doc: dict[str, Any]) -> int:
    return len(json.dumps(doc))  # ensure_ascii, as the store's JSON column writes it: the upper bound


def details(varbinds: list[tuple[str, Any]], max_bytes: int, max_varbinds: int) -> dict[str, Any]:
    """{dotted OID: value} of at most max_varbinds varbinds, in under max_bytes of JSON with RESERVED to spare."""
    budget = max_bytes - RESERVED
    kept = varbinds[:max_varbinds]
    per_value = max(16, budget // max(1, len(kept)) - 24)
    out: dict[str, Any] = {}
    cut_values = 0
    for oid, value in kept:
        shown = text(value, per_value)
        if isinstance(shown, str) and shown.endswith(MARKER):
            cut_values += 1
        out[oid] = shown
    while len(out) > 1 and _size(out) > budget:  # long OIDs or escaped text: drop from the end
        out.popitem()
    if len(out) < len(varbinds) or cut_values:
        out["truncated"] = {"varbinds": len(varbinds), "kept": len(out), "values_cut": cut_values}
    return out
