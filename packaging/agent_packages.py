"""`make agent-packages`: the self-contained agent as dist/opsmon-agent_<version>-1_amd64.deb and
dist/opsmon-agent-<version>-1.x86_64.rpm.

Both hold the same files, made once here:
- /usr/bin/opsmon-agent: `make agent-binary`'s file (no Python and no libc needed, so one package serves every
  x86_64 host of the estate, whatever its release);
- the systemd unit rendered from the opsmon_agent role's template (ansible/roles/opsmon_agent/templates/
  opsmon-agent.service.j2), so the hardening has one source: a change there reaches the role and both packages,
  plus one drop-in of the packages' own (packaging/agent/package.conf: start once enrolled);
- /etc/opsmon/agent.toml rendered from the role's agent.toml.j2 with the role's defaults (a conffile: an upgrade
  keeps the operator's edits);
- maintainer scripts from packaging/agent/*.sh: the post-install creates the dedicated user and its spool.

Written by packaging/pkgbuild.py (dpkg-deb and rpmbuild; why not nfpm: there).

Usage: python packaging/agent_packages.py   (after `make agent-binary`; `make agent-packages` does both)
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # its siblings, last: nothing of the importer's shadowed
    sys.path.append(str(Path(__file__).resolve().parent))
import agent_binary  # noqa: E402 - packaging/ is not a package (PyPI's `packaging` owns the name)
import pkgbuild  # noqa: E402

ROOT = pkgbuild.ROOT
HERE = ROOT / "packaging" / "agent"
DIST = ROOT / "dist"
NAME = "opsmon-agent"
SUMMARY = "opsmon host agent (self-contained: no Python or libc needed on the host)"
DESCRIPTION = """\
System metrics, configured services, hardware faults and a graded-protection (等级保护 2.0) security
baseline, reported to an opsmon collector and spooled on disk while it is unreachable. One file with its own
Python and libraries, run by a hardened systemd unit as the unprivileged user opsmon-agent."""
CONFIG = "/etc/opsmon/agent.toml"
TOKEN = "/etc/opsmon/agent.token"
SPOOL = "/var/lib/opsmon-agent/spool"
BINARY = "/usr/bin/opsmon-agent"


def _role_template(name: str, **values: object) -> str:
    """A template of the opsmon_agent role with the role's defaults, for the binary at /usr/bin."""
    defaults = pkgbuild.role_defaults("opsmon_agent")
    return pkgbuild.role_template("opsmon_agent", name, {
        "opsmon_agent_venv": "/usr",  # ExecStart={venv}/bin/opsmon-agent: the binary at /usr/bin
        "opsmon_agent_config_file": CONFIG, "opsmon_agent_token_file": TOKEN,
        "opsmon_agent_config_dir": str(Path(CONFIG).parent), "opsmon_agent_spool_dir": SPOOL,
        **{k: defaults[k] for k in ("opsmon_agent_user", "opsmon_agent_group", "opsmon_agent_smart",
                                    "opsmon_agent_interval", "opsmon_agent_spool_max_mb", "opsmon_agent_spool_max_age",
                                    "opsmon_agent_services", "opsmon_agent_log_level", "opsmon_agent_ca_file",
                                    "opsmon_agent_metrics_port", "opsmon_agent_baseline",
                                    "opsmon_agent_baseline_interval", "opsmon_agent_baseline_policy",
                                    "opsmon_agent_baseline_params", "opsmon_agent_fim_paths",
                                    "opsmon_agent_fim_interval", "opsmon_agent_auth_log",
                                    "opsmon_agent_bruteforce_threshold", "opsmon_agent_bruteforce_window")},
        **values,
    })


def unit() -> str:
    """The packages' opsmon-agent.service: the role's unit, for the binary at /usr/bin."""
    return _role_template("opsmon-agent.service.j2")


def default_config() -> str:
    """/etc/opsmon/agent.toml as installed: the role's template with a collector URL to edit."""
    return _role_template("agent.toml.j2", opsmon_agent_collector_url="https://opsmon-collector:8470")


def package(binary: Path) -> pkgbuild.Package:
    def files(fmt: str) -> list[pkgbuild.File]:
        unit_dir = pkgbuild.UNIT_DIR[fmt]
        return [
            (BINARY, binary.read_bytes(), 0o755),
            (f"{unit_dir}/opsmon-agent.service", unit().encode(), 0o644),
            (f"{unit_dir}/opsmon-agent.service.d/package.conf", (HERE / "package.conf").read_bytes(), 0o644),
            (CONFIG, default_config().encode(), 0o600),
            (f"/usr/share/doc/{NAME}/{'copyright' if fmt == 'deb' else 'LICENSE'}", (ROOT / "LICENSE").read_bytes(),
             0o644),
        ]

    return pkgbuild.Package(
        name=NAME, unit="opsmon-agent.service", version=agent_binary.version(), summary=SUMMARY,
        description=DESCRIPTION, deb_arch="amd64",
        rpm_arch="x86_64", files=files, scripts=HERE, conffiles=(CONFIG,), dirs=(str(Path(CONFIG).parent),),
        deb_depends=("passwd",))


def script(fmt: str, which: str) -> str:
    return pkgbuild.Package.script(package(Path("/dev/null")), fmt, which)


def build(binary: Path | None = None, dist: Path = DIST) -> tuple[Path, Path]:
    """Both packages from the binary, into `dist`; returns (.deb, .rpm)."""
    binary = binary or agent_binary.artefact()
    if not agent_binary.is_fresh(binary):
        raise SystemExit(f"agent-packages: {binary} is missing or older than agent/: run `make agent-binary`")
    dist.mkdir(parents=True, exist_ok=True)
    pkg = package(binary)
    with tempfile.TemporaryDirectory(prefix="opsmon-agent-packages-") as scratch:
        return pkgbuild.build_deb(pkg, Path(scratch), dist), pkgbuild.build_rpm(pkg, Path(scratch), dist)


if __name__ == "__main__":
    for made in build():
        print(made)
