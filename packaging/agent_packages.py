"""`make agent-packages`: the self-contained agent as dist/opsmon-agent_<version>-1_amd64.deb and
dist/opsmon-agent-<version>-1.x86_64.rpm; `make agent-python-packages`: the agent on the host's own python3 as
dist/opsmon-agent-python3_<version>-1_all.deb and dist/opsmon-agent-python3-<version>-1.noarch.rpm.

The second pair is for the hosts the binary does not serve: the aarch64 of Kunpeng and Phytium machines (Kylin
V10, UOS V20, openEuler), and any host that would rather run the OS's Python. Arch-independent (all, noarch),
not one per CPU: what it carries is the agent's Python source, byte for byte the same on every CPU, and the one
compiled part the agent needs, psutil, is the OS's own python3-psutil, built by the OS for its CPU (a dependency,
as are python3 >= 3.7, the agent's floor, and python3-tomli where python3 is older than 3.11). So one .deb and one
.rpm serve aarch64 and x86_64 hosts alike; tests/packaging/test_agent_aarch64.py runs the .deb's payload on
Debian's aarch64 python3 and python3-psutil under qemu-aarch64. Its files: the agent wheel's opsmon/agent under
/usr/lib/opsmon-agent (what pip would install, nothing else), /usr/bin/opsmon-agent a launcher for it
(packaging/agent/launcher.py), and everything below as the binary's packages have it. The two pairs install the
same paths, so each conflicts with the other.

Both pairs hold the same other files, made once here:
- /usr/bin/opsmon-agent: `make agent-binary`'s file (no Python and no libc needed, so one package serves every
  x86_64 host of the estate, whatever its release);
- the systemd unit rendered from the opsmon_agent role's template (ansible/roles/opsmon_agent/templates/
  opsmon-agent.service.j2), so the hardening has one source: a change there reaches the role and both packages,
  plus one drop-in of the packages' own (packaging/agent/package.conf: start once enrolled);
- /etc/opsmon/agent.toml rendered from the role's agent.toml.j2 with the role's defaults (a conffile: an upgrade
  keeps the operator's edits);
- maintainer scripts from packaging/agent/*.sh: the post-install creates the dedicated user and its spool.

Written by packaging/pkgbuild.py (dpkg-deb and rpmbuild; why not nfpm: there).

Usage: python packaging/agent_packages.py            (after `make agent-binary`; `make agent-packages` does both)
       python packaging/agent_packages.py --python   (`make agent-python-packages`; no binary needed)
"""
from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

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
PY_NAME = "opsmon-agent-python3"
PY_SUMMARY = "opsmon host agent on the host's own python3 (3.7 and later) and python3-psutil, for any CPU"
PY_DESCRIPTION = """\
System metrics, configured services, hardware faults and a graded-protection (等级保护 2.0) security
baseline, reported to an opsmon collector and spooled on disk while it is unreachable. Pure Python on the
OS's python3 and python3-psutil (aarch64 and x86_64 alike), run by a hardened systemd unit as the
unprivileged user opsmon-agent."""
PY_LIB = "/usr/lib/opsmon-agent"  # the agent's own folder: on no Python's path but the launcher's
# python3-tomli only where python3 is older than 3.11 (tomllib after: agent/compat.py); python3 3.6 (RHEL 8) is refused
PY_DEB_DEPENDS = ("passwd", "python3 (>= 3.7)", "python3-psutil (>= 5.5.1)",
                  "python3 (>= 3.11) | python3-tomli (>= 1.2)")
PY_RPM_REQUIRES = ("python3 >= 3.7", "python3-psutil >= 5.5.1",
                   "(python3 >= 3.11 or python3-tomli >= 1.2)")  # a rich dependency: rpm 4.13 and later


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


def _service_files(fmt: str, name: str) -> list[pkgbuild.File]:
    """What both pairs of packages hold besides the agent itself: the unit, its drop-in, the config, the licence."""
    unit_dir = pkgbuild.UNIT_DIR[fmt]
    return [
        (f"{unit_dir}/opsmon-agent.service", unit().encode(), 0o644),
        (f"{unit_dir}/opsmon-agent.service.d/package.conf", (HERE / "package.conf").read_bytes(), 0o644),
        (CONFIG, default_config().encode(), 0o600),
        (f"/usr/share/doc/{name}/{'copyright' if fmt == 'deb' else 'LICENSE'}", (ROOT / "LICENSE").read_bytes(), 0o644),
    ]


def package(binary: Path) -> pkgbuild.Package:
    return pkgbuild.Package(
        name=NAME, unit="opsmon-agent.service", version=agent_binary.version(), summary=SUMMARY,
        description=DESCRIPTION, deb_arch="amd64", rpm_arch="x86_64",
        files=lambda fmt: [(BINARY, binary.read_bytes(), 0o755), *_service_files(fmt, NAME)],
        scripts=HERE, conffiles=(CONFIG,), dirs=(str(Path(CONFIG).parent),), deb_depends=("passwd",),
        conflicts=(PY_NAME,))


def python_package(wheel: Path) -> pkgbuild.Package:
    """The agent on the host's python3: the agent wheel's opsmon/agent under PY_LIB, the launcher at /usr/bin."""
    with zipfile.ZipFile(wheel) as whl:
        code = [(f"{PY_LIB}/{n}", whl.read(n), 0o644) for n in sorted(whl.namelist())
                if n.startswith("opsmon/agent/") and not n.endswith("/")]
    # opsmon a regular package here (the wheel leaves it a namespace): found first, nothing elsewhere mixes in
    code.append((f"{PY_LIB}/opsmon/__init__.py", b"", 0o644))
    folders = sorted({str(PurePosixPath(path).parent) for path, _, _ in code} | {PY_LIB})
    return pkgbuild.Package(
        name=PY_NAME, unit="opsmon-agent.service", version=agent_binary.version(), summary=PY_SUMMARY,
        description=PY_DESCRIPTION, deb_arch="all", rpm_arch="noarch",
        files=lambda fmt: [(BINARY, (HERE / "launcher.py").read_bytes(), 0o755), *code, *_service_files(fmt, PY_NAME)],
        scripts=HERE, conffiles=(CONFIG,), dirs=(str(Path(CONFIG).parent), *folders), deb_depends=PY_DEB_DEPENDS,
        rpm_requires=PY_RPM_REQUIRES, conflicts=(NAME,))


def script(fmt: str, which: str) -> str:
    return pkgbuild.Package.script(package(Path("/dev/null")), fmt, which)


def build_python(dist: Path = DIST) -> tuple[Path, Path]:
    """The arch-independent pair from the agent's sources (its wheel, built offline, ~3 s), into `dist`;
    returns (.deb, .rpm)."""
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="opsmon-agent-python3-") as scratch:
        pkg = python_package(agent_binary.agent_wheel(Path(scratch)))
        return pkgbuild.build_deb(pkg, Path(scratch), dist), pkgbuild.build_rpm(pkg, Path(scratch), dist)


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
    for made in build_python() if sys.argv[1:] == ["--python"] else build():
        print(made)
