"""What each baseline check is, for the collector: control point, titles, severity, incident.

The collector imports this (agent/ may be imported by collector/, never the reverse); it needs
only the standard library. Keys are (policy id, check id) and, for checks whose id is the same
in every policy (the opsmon policies share ids), ("", check id):

    from opsmon.agent.baseline.catalog import load_catalog, CONTROLS
    info = load_catalog()[("opsmon-debian", "ac.ssh-root-login")]
    info == {"policy": "opsmon-debian", "policy_version": "1.0", "id": "ac.ssh-root-login",
             "control": "access_control", "control_zh": "访问控制", "control_en": "Access control",
             "mlps": "8.1.4.2-b", "cis": "5.1.20", "title_zh": "SSH 禁止 root 直接登录",
             "title_en": "SSH root login is disabled", "severity": "critical", "incident": True,
             "rationale": "...", "remediation": "..."}

`control` is a key of CONTROLS (its 等保 clause, Chinese and English names).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from opsmon.agent.baseline.policy import CONTROLS, Policy, load_policies

__all__ = ["CONTROLS", "entries", "load_catalog"]


def entries(policy: Policy) -> list[dict[str, Any]]:
    out = []
    for c in policy.checks:
        ctl = CONTROLS[c.control]
        out.append({"policy": policy.id, "policy_version": policy.version, "id": c.id, "control": c.control,
                    "control_zh": ctl["zh"], "control_en": ctl["en"], "mlps": c.mlps or ctl["mlps"], "cis": c.cis,
                    "title_zh": c.title_zh, "title_en": c.title_en, "severity": c.severity, "incident": c.incident,
                    "rationale": c.rationale, "remediation": c.remediation})
    return out


def load_catalog(directory: str | Path | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Every check of every policy in `directory` (default: rules/baseline of opsmon).

    Raises opsmon.agent.baseline.policy.PolicyError (file, check, key named) on a bad policy file.
    """
    catalog: dict[tuple[str, str], dict[str, Any]] = {}
    shared: dict[str, dict[str, Any] | None] = {}
    for policy in load_policies(directory):
        for e in entries(policy):
            catalog[(policy.id, e["id"])] = e
            prev = shared.get(e["id"], e)
            # the policy-free key only when every policy agrees on where the check belongs
            same = prev is not None and (prev["control"], prev["severity"], prev["incident"]) == (
                e["control"], e["severity"], e["incident"])
            shared[e["id"]] = e if same and e["id"] not in shared else (prev if same else None)
    for check_id, e in shared.items():
        if e is not None:
            catalog[("", check_id)] = e
    return catalog
