"""What a probe returns, and how a value it read is judged against a rule's `op` and `value`.

A probe returns (status, evidence): status is pass, fail, not_applicable or error;
evidence is a short text for the auditor. It never holds secrets: shadow probes
name users, never hashes; `redact` content rules name the file and line number only.
"""
from __future__ import annotations

import re
from typing import Any

PASS, FAIL, NA, ERROR = "pass", "fail", "not_applicable", "error"
EVIDENCE_MAX = 300


def number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return None


def compare(actual: Any, op: str, expected: Any) -> bool:
    if op in ("in", "not_in"):
        items = expected if isinstance(expected, list) else [expected]
        hit = any(str(actual).lower() == str(e).lower() for e in items)
        return hit if op == "in" else not hit
    if op in ("match", "not_match"):
        hit = re.search(str(expected), str(actual)) is not None
        return hit if op == "match" else not hit
    if op == "excludes":  # no element of a comma/space separated list matches the regex
        return not any(re.search(str(expected), e) for e in re.split(r"[,\s]+", str(actual)) if e)
    a, e = number(actual), number(expected)
    if a is not None and e is not None:
        return {"==": a == e, "!=": a != e, "<": a < e, "<=": a <= e, ">": a > e, ">=": a >= e}[op]
    if op in ("==", "!="):
        same = str(actual).strip().lower() == str(expected).strip().lower()
        return same if op == "==" else not same
    return False  # an ordering between non-numbers: does not hold


def judge(name: str, actual: Any, op: str, expected: Any, source: str) -> tuple[str, str]:
    ok = compare(actual, op, expected)
    exp = ",".join(map(str, expected)) if isinstance(expected, list) else expected
    return (PASS if ok else FAIL), f"{name}={actual} ({source}); want {op} {exp}"
