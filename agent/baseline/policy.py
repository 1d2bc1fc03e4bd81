"""Baseline policies: rules/baseline/<policy>.toml read with tomllib (tomli before 3.11), validated, frozen.

One file per policy. Every error names the file, the check and the key, so a
policy author sees exactly what to fix:

    rules/baseline/debian.toml: check ia.pwquality-minlen: rules[0].op: unknown operator '=>'

The format (see docs/baseline.md) follows Wazuh SCA semantics (condition all/any/none
over rules, three-valued results plus `error`) with typed probes that read the
effective configuration instead of raw regexes over one file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsmon.agent.baseline.host import command_allowed
from opsmon.agent.compat import tomllib
from opsmon.agent.errors import AgentError

CONTROLS: dict[str, dict[str, str]] = {
    # key: the control point of GB/T 22239-2019 level 3 (8.1.4 安全计算环境), or 2008's 资源控制
    "identity_authentication": {"mlps": "8.1.4.1", "zh": "身份鉴别", "en": "Identification and authentication"},
    "access_control": {"mlps": "8.1.4.2", "zh": "访问控制", "en": "Access control"},
    "security_audit": {"mlps": "8.1.4.3", "zh": "安全审计", "en": "Security audit"},
    "intrusion_prevention": {"mlps": "8.1.4.4", "zh": "入侵防范", "en": "Intrusion prevention"},
    "malicious_code_prevention": {"mlps": "8.1.4.5", "zh": "恶意代码防范", "en": "Malicious code prevention"},
    "trusted_verification": {"mlps": "8.1.4.6", "zh": "可信验证", "en": "Trusted verification"},
    "data_integrity": {"mlps": "8.1.4.7", "zh": "数据完整性", "en": "Data integrity"},
    "data_confidentiality": {"mlps": "8.1.4.8", "zh": "数据保密性", "en": "Data confidentiality"},
    "backup_recovery": {"mlps": "8.1.4.9", "zh": "数据备份恢复", "en": "Data backup and recovery"},
    "residual_information": {"mlps": "8.1.4.10", "zh": "剩余信息保护", "en": "Residual information protection"},
    "resource_control": {"mlps": "GB/T 22239-2008 资源控制", "zh": "资源控制", "en": "Resource control"},
    # 8.1.3 安全区域边界: the collector's flow analysis reports traffic to destinations outside the allowed
    # networks under it ("对内部用户非授权联到外部网络的行为进行检查或限制", collector/inputs/flows/boundary.py)
    "boundary_protection": {"mlps": "8.1.3.1", "zh": "边界防护", "en": "Boundary protection"},
}
SEVERITIES = ("critical", "major", "minor")  # the collector's incident severities
CONDITIONS = ("all", "any", "none")
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "match", "not_match", "excludes")
CHECK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# probe -> (required keys, optional keys); every rule may also have `negate`
PROBES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "file": (frozenset({"path"}), frozenset({"exists", "mode_max", "owner", "group", "type", "missing",
                                              "max_age_h"})),
    "content": (frozenset({"paths", "pattern"}), frozenset({"expect", "missing", "ignore_comments", "op", "value",
                                                           "redact"})),
    "sshd": (frozenset({"key", "op", "value"}), frozenset({"default"})),
    "sysctl": (frozenset({"key", "op", "value"}), frozenset()),
    "login_defs": (frozenset({"key", "op", "value"}), frozenset({"default"})),
    "pwquality": (frozenset({"key", "op", "value"}), frozenset({"default", "pam_files"})),
    "pam": (frozenset({"files", "module"}), frozenset({"type", "arg", "op", "value", "expect"})),
    "faillock": (frozenset({"key", "op", "value"}), frozenset({"default", "pam_files"})),
    "shadow": (frozenset({"check"}), frozenset({"value"})),
    "passwd": (frozenset({"check"}), frozenset()),
    "tmout": (frozenset({"value"}), frozenset({"paths", "require_readonly"})),
    "service": (frozenset({"unit", "state"}), frozenset({"process"})),
    "process": (frozenset({"names", "expect"}), frozenset()),
    "listening": (frozenset({"mode", "ports"}), frozenset()),
    "world_writable": (frozenset({"paths"}), frozenset({"budget_s", "max_entries"})),
    "command": (frozenset({"argv", "pattern"}), frozenset({"expect", "missing"})),
    "time_sync": (frozenset(), frozenset()),
    "audit_rules": (frozenset({"pattern"}), frozenset()),
    "backup": (frozenset({"paths", "max_age_h"}), frozenset()),
    "cmdline": (frozenset({"pattern"}), frozenset({"expect"})),
    "mount": (frozenset({"mountpoint", "options"}), frozenset({"missing"})),
    "history": (frozenset({"pattern"}), frozenset({"paths"})),
    "setid": (frozenset({"paths"}), frozenset({"allowed", "evidence_max", "budget_s"})),
    "updates": (frozenset({"manager", "max_age_d"}), frozenset({"origin", "lists", "inputs", "timeout_s"})),
    "reboot": (frozenset(), frozenset({"files", "needs_restarting"})),
    "package_verify": (frozenset({"manager", "paths"}), frozenset({"packages", "interval_h", "timeout_s"})),
    "secure_boot": (frozenset(), frozenset()),
    "tpm": (frozenset(), frozenset()),
    "ima": (frozenset(), frozenset()),
    "encrypted_mounts": (frozenset({"mountpoints"}), frozenset()),
    "swap": (frozenset(), frozenset()),
}
MANAGERS = {"updates": ("apt", "dnf"), "package_verify": ("dpkg", "rpm")}
SHADOW_CHECKS = ("no_empty_password", "max_days", "min_days", "strong_hash")
PASSWD_CHECKS = ("uid0_only_root", "unique_uids", "unique_names", "shadowed", "system_nologin")


class PolicyError(AgentError):
    def __init__(self, file: str, check: str, key: str, reason: str) -> None:
        self.file, self.check, self.key, self.reason = file, check, key, reason
        where = ": ".join(p for p in (file, f"check {check}" if check else "", key) if p)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Rule:
    probe: str
    args: dict[str, Any]  # parameters still as written: `${name}` is resolved at run time
    negate: bool = False
    enforce: bool | str = True  # false (or a false ${param}): pass/fail become not_applicable, evidence kept


@dataclass(frozen=True)
class Check:
    id: str
    control: str
    title_zh: str
    title_en: str
    rationale: str
    remediation: str
    condition: str
    rules: tuple[Rule, ...]
    severity: str = "major"
    incident: bool = False
    mlps: str = ""
    cis: str = ""


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    name_zh: str
    name_en: str
    os_ids: tuple[str, ...]
    params: dict[str, Any]
    checks: tuple[Check, ...]
    file: str = ""
    standard: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)


def _str(file: str, check: str, key: str, value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise PolicyError(file, check, key, f"expected a non-empty string, got {value!r}")
    return value


def _i18n(file: str, check: str, key: str, value: Any) -> tuple[str, str]:
    if not isinstance(value, dict) or set(value) != {"zh", "en"}:
        raise PolicyError(file, check, key, "expected {zh = \"...\", en = \"...\"}")
    return _str(file, check, f"{key}.zh", value["zh"]), _str(file, check, f"{key}.en", value["en"])


def _params_used(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(PARAM.findall(value))
    if isinstance(value, list):
        return set().union(*(_params_used(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(_params_used(v) for v in value.values())) if value else set()
    return set()


def _rule(file: str, check: str, i: int, raw: Any, params: dict[str, Any]) -> Rule:
    where = f"rules[{i}]"
    if not isinstance(raw, dict):
        raise PolicyError(file, check, where, "expected a table {probe = ..., ...}")
    probe = raw.get("probe")
    if probe not in PROBES:
        raise PolicyError(file, check, f"{where}.probe", f"unknown probe {probe!r}; one of {', '.join(PROBES)}")
    required, optional = PROBES[probe]
    args = {k: v for k, v in raw.items() if k not in ("probe", "negate", "enforce")}
    for key in required - set(args):
        raise PolicyError(file, check, f"{where}.{key}", f"required by probe {probe}")
    for key in set(args) - required - optional:
        raise PolicyError(file, check, f"{where}.{key}", f"unknown key for probe {probe}")
    if "op" in args and args["op"] not in OPS:
        raise PolicyError(file, check, f"{where}.op", f"unknown operator {args['op']!r}; one of {', '.join(OPS)}")
    for name in _params_used(args):
        if name not in params:
            raise PolicyError(file, check, where, f"uses ${{{name}}}, which [params] does not define")
    for key in ("pattern",):
        if isinstance(args.get(key), str) and not PARAM.search(args[key]):
            try:
                re.compile(args[key])
            except re.error as exc:
                raise PolicyError(file, check, f"{where}.{key}", f"invalid regular expression: {exc}") from None
    if probe == "shadow" and args["check"] not in SHADOW_CHECKS:
        raise PolicyError(file, check, f"{where}.check", f"one of {', '.join(SHADOW_CHECKS)}")
    if probe == "passwd" and args["check"] not in PASSWD_CHECKS:
        raise PolicyError(file, check, f"{where}.check", f"one of {', '.join(PASSWD_CHECKS)}")
    if probe == "command":
        argv = args["argv"]
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise PolicyError(file, check, f"{where}.argv", "expected a list of strings")
        if not command_allowed(argv):
            raise PolicyError(file, check, f"{where}.argv", f"{' '.join(argv)!r} is not a read-only command the "
                                                            "agent allows (host.ALLOWED_COMMANDS)")
    if probe == "listening" and args["mode"] not in ("allow", "forbid"):
        raise PolicyError(file, check, f"{where}.mode", "allow (only these ports) or forbid (none of these ports)")
    if probe in MANAGERS and args["manager"] not in MANAGERS[probe]:
        raise PolicyError(file, check, f"{where}.manager", f"one of {', '.join(MANAGERS[probe])}")
    negate = raw.get("negate", False)
    if not isinstance(negate, bool):
        raise PolicyError(file, check, f"{where}.negate", "expected true or false")
    enforce = raw.get("enforce", True)
    ref = PARAM.fullmatch(enforce) if isinstance(enforce, str) else None
    if not isinstance(enforce, bool) and not (ref and isinstance(params.get(ref.group(1)), bool)):
        raise PolicyError(file, check, f"{where}.enforce", "expected true, false or ${name} of a boolean parameter")
    return Rule(probe, args, negate, enforce)


def _check(file: str, raw: Any, i: int, params: dict[str, Any]) -> Check:
    if not isinstance(raw, dict):
        raise PolicyError(file, f"#{i}", "", "expected a table [[checks]]")
    cid = raw.get("id")
    if not isinstance(cid, str) or not CHECK_ID.match(cid):
        raise PolicyError(file, f"#{i}", "id", f"expected letters, digits and ._:- (at most 64), got {cid!r}")
    known = {"id", "control", "title", "rationale", "remediation", "condition", "rules", "severity", "incident",
             "mlps", "cis"}
    for key in raw:
        if key not in known:
            raise PolicyError(file, cid, key, "unknown key")
    control = raw.get("control")
    if control not in CONTROLS:
        raise PolicyError(file, cid, "control", f"one of {', '.join(CONTROLS)}, got {control!r}")
    zh, en = _i18n(file, cid, "title", raw.get("title"))
    condition = raw.get("condition", "all")
    if condition not in CONDITIONS:
        raise PolicyError(file, cid, "condition", f"one of all, any, none, got {condition!r}")
    severity = raw.get("severity", "major")
    if severity not in SEVERITIES:
        raise PolicyError(file, cid, "severity", f"one of {', '.join(SEVERITIES)}, got {severity!r}")
    incident = raw.get("incident", False)
    if not isinstance(incident, bool):
        raise PolicyError(file, cid, "incident", "expected true or false")
    rules = raw.get("rules")
    if not isinstance(rules, list) or not rules:
        raise PolicyError(file, cid, "rules", "expected a non-empty list of rules")
    return Check(
        id=cid, control=control, title_zh=zh, title_en=en,
        rationale=_str(file, cid, "rationale", raw.get("rationale")),
        remediation=_str(file, cid, "remediation", raw.get("remediation")),
        condition=condition, rules=tuple(_rule(file, cid, j, r, params) for j, r in enumerate(rules)),
        severity=severity, incident=incident,
        mlps=_str(file, cid, "mlps", raw.get("mlps", ""), empty=True),
        cis=_str(file, cid, "cis", raw.get("cis", ""), empty=True),
    )


def parse_policy(data: dict[str, Any], file: str) -> Policy:
    for key in data:
        if key not in ("policy", "params", "checks"):
            raise PolicyError(file, "", key, "unknown section; expected [policy], [params], [[checks]]")
    head = data.get("policy")
    if not isinstance(head, dict):
        raise PolicyError(file, "", "policy", "required: [policy] with id, version, name, os_ids")
    for key in head:
        if key not in ("id", "version", "name", "os_ids", "standard", "references"):
            raise PolicyError(file, "", f"policy.{key}", "unknown key")
    pid = head.get("id")
    if not isinstance(pid, str) or not CHECK_ID.match(pid):
        raise PolicyError(file, "", "policy.id", f"expected letters, digits and ._:-, got {pid!r}")
    name_zh, name_en = _i18n(file, "", "policy.name", head.get("name"))
    os_ids = head.get("os_ids")
    if not isinstance(os_ids, list) or not os_ids or not all(isinstance(o, str) for o in os_ids):
        raise PolicyError(file, "", "policy.os_ids", "expected a list of /etc/os-release IDs")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise PolicyError(file, "", "params", "expected a table of name = default")
    for name, value in params.items():
        if not isinstance(value, (int, float, str, bool, list)):
            raise PolicyError(file, "", f"params.{name}", "expected a number, string, boolean or list")
    raw_checks = data.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise PolicyError(file, "", "checks", "required: at least one [[checks]]")
    checks = [_check(file, c, i, params) for i, c in enumerate(raw_checks)]
    seen: set[str] = set()
    for c in checks:
        if c.id in seen:
            raise PolicyError(file, c.id, "id", "duplicate check id")
        seen.add(c.id)
    return Policy(id=pid, version=_str(file, "", "policy.version", head.get("version")), name_zh=name_zh,
                  name_en=name_en, os_ids=tuple(o.lower() for o in os_ids), params=dict(params),
                  checks=tuple(checks), file=file, standard=str(head.get("standard", "")),
                  references=tuple(str(r) for r in head.get("references", [])))


def load_policy(path: str | Path) -> Policy:
    file = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise PolicyError(file, "", "", "file not found") from None
    except OSError as exc:
        raise PolicyError(file, "", "", f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(file, "", "", f"invalid TOML: {exc}") from None
    return parse_policy(data, file)


def bundled_policy_dir() -> Path:
    """rules/baseline in a checkout; otherwise where packaging puts the policies."""
    here = Path(__file__).resolve().parents[2] / "rules" / "baseline"
    if here.is_dir():
        return here
    packaged = Path(__file__).resolve().parent / "policies"  # rules/baseline, copied into the wheel
    if packaged.is_dir():
        return packaged
    return Path("/usr/share/opsmon/baseline")


def load_policies(directory: str | Path | None = None) -> list[Policy]:
    folder = Path(directory) if directory else bundled_policy_dir()
    policies = [load_policy(p) for p in sorted(folder.glob("*.toml"))]
    ids: dict[str, str] = {}
    for p in policies:
        if p.id in ids:
            raise PolicyError(p.file, "", "policy.id", f"same id as {ids[p.id]}")
        ids[p.id] = p.file
    return policies


def with_params(policy: Policy, overrides: dict[str, Any], source: str = "agent.toml") -> Policy:
    """The policy with parameters overridden (agent.toml [baseline_params]); types must match the default."""
    params = dict(policy.params)
    for name, value in overrides.items():
        if name not in params:
            raise PolicyError(source, "", f"baseline_params.{name}", f"policy {policy.id} has no such parameter")
        default = params[name]
        if isinstance(default, bool) != isinstance(value, bool) or (
                isinstance(default, (int, float)) and not isinstance(value, (int, float))) or (
                isinstance(default, (str, list)) and not isinstance(value, type(default))):
            raise PolicyError(source, "", f"baseline_params.{name}",
                              f"expected a {type(default).__name__} like the default {default!r}, got {value!r}")
        params[name] = value
    return Policy(**{**policy.__dict__, "params": params})


def os_release(root: str | Path = "/") -> dict[str, str]:
    out: dict[str, str] = {}
    for rel in ("etc/os-release", "usr/lib/os-release"):
        try:
            text = (Path(root) / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip().strip("\"'")
        break
    return out


def select_policy(policies: list[Policy], root: str | Path = "/") -> Policy | None:
    """The policy for this OS: /etc/os-release ID first, then each ID_LIKE in order."""
    info = os_release(root)
    wanted = [info.get("ID", "").lower()] + info.get("ID_LIKE", "").lower().split()
    for os_id in wanted:
        for p in policies:
            if os_id and os_id in p.os_ids:
                return p
    return None
