"""Evaluation: a policy's checks on a Host, each check's rules through the registered probes.

A rule's `${param}` references are resolved first; a check's rule results are combined by its
condition (all, any, none) with Wazuh SCA's truth table.
"""
from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from typing import Any

# Every probe module registers its probes in PROBE_FUNCS when imported: all of them are named here.
from opsmon.agent.baseline import filescan, packages, probes, runtime, trust  # noqa: F401
from opsmon.agent.baseline.host import Host
from opsmon.agent.baseline.policy import PARAM, Check, Policy, Rule
from opsmon.agent.baseline.registry import PROBE_FUNCS
from opsmon.agent.baseline.results import ERROR, EVIDENCE_MAX, FAIL, NA, PASS


def resolve(value: Any, params: dict[str, Any]) -> Any:
    """`${name}` alone is the parameter's value (any type); inside a string it is interpolated."""
    if isinstance(value, str):
        m = PARAM.fullmatch(value)
        if m:
            return params[m.group(1)]
        return PARAM.sub(lambda mm: str(params[mm.group(1)]), value)
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            r = resolve(v, params)
            out.extend(r) if isinstance(v, str) and PARAM.fullmatch(v) and isinstance(r, list) else out.append(r)
        return out
    return value


def run_rule(host: Host, rule: Rule, params: dict[str, Any]) -> tuple[str, str]:
    args = {k: resolve(v, params) for k, v in rule.args.items()}
    try:
        status, evidence = PROBE_FUNCS[rule.probe](host, args)
    except PermissionError as exc:
        return ERROR, f"permission denied: {exc.filename or exc}"[:EVIDENCE_MAX]
    except (OSError, ValueError, re.error, subprocess.SubprocessError) as exc:
        return ERROR, f"{rule.probe}: {type(exc).__name__}: {exc}"[:EVIDENCE_MAX]
    if rule.negate and status in (PASS, FAIL):
        status = FAIL if status == PASS else PASS
        evidence = f"not: {evidence}"
    if status in (PASS, FAIL) and resolve(rule.enforce, params) is False:  # a "report" item: evidence only
        return NA, f"not required by the policy: {evidence}"[:EVIDENCE_MAX]
    return status, evidence


def aggregate(condition: str, statuses: list[str]) -> str:
    """Wazuh SCA's truth table, with `error` where a rule could not be judged and decided nothing."""
    has = set(statuses)
    if condition == "all":
        if FAIL in has:
            return FAIL
        return ERROR if ERROR in has else NA if NA in has else PASS
    if condition == "any":
        if PASS in has:
            return PASS
        return ERROR if ERROR in has else NA if NA in has else FAIL
    # none
    if PASS in has:
        return FAIL
    return ERROR if ERROR in has else NA if NA in has else PASS


def run_check(host: Host, check: Check, params: dict[str, Any]) -> dict[str, str]:
    results = [run_rule(host, r, params) for r in check.rules]
    status = aggregate(check.condition, [s for s, _ in results])
    # evidence: the rules that decided the outcome first
    deciding = {PASS: {PASS} if check.condition != "none" else {FAIL},
                FAIL: {FAIL} if check.condition != "none" else {PASS}}.get(status, {status})
    ordered = [e for s, e in results if s in deciding] + [e for s, e in results if s not in deciding]
    evidence = " | ".join(ordered)
    if len(evidence) > EVIDENCE_MAX:
        evidence = evidence[:EVIDENCE_MAX - 1] + "…"
    return {"id": check.id, "status": status, "evidence": evidence}


def run_policy(policy: Policy, host: Host | None = None, params: dict[str, Any] | None = None,
               only: Iterable[str] | None = None) -> list[dict[str, str]]:
    host = host or Host()
    merged = {**policy.params, **(params or {})}
    wanted = set(only) if only is not None else None
    return [run_check(host, c, merged) for c in policy.checks if wanted is None or c.id in wanted]
