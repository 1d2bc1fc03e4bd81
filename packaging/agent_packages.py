"""`make agent-packages`: the self-contained agent as dist/opsmon-agent_<version>-1_amd64.deb and
dist/opsmon-agent-<version>-1.x86_64.rpm; `make agent-python-packages`: the agent on the host's own python3 as
dist/opsmon-agent-python3_<version>-1_all.deb and dist/opsmon-agent-python3-<version>-1.noarch.rpm.

The second pair is for the hosts the binary does not serve: the aarch64 of Kunpeng and Phytium machines (Kylin
V10, UOS V20, openEuler), and any host that would rather run the OS's Python. Arch-independent (all, noarch),
not one per CPU: what it carries is the agent's Python source, byte for byte the same on every CPU, and the one
compiled part the agent needs, psutil, is the OS's own python3-psutil, built by the OS for its CPU (a dependency,
as is python3 >= 3.7, the agent's floor). So one .deb and one .rpm serve aarch64 and x86_64 hosts alike;
tests/packaging/test_agent_aarch64.py runs the .deb's payload on Debian's aarch64 python3 and python3-psutil under
qemu-aarch64. Its files: the agent wheel's opsmon/agent under /usr/lib/opsmon-agent (what pip would install,
nothing else), /usr/bin/opsmon-agent a launcher for it (packaging/agent/launcher.py), the pure-Python libraries of
packaging/agent/vendor.txt (tomli: agent.toml before Python 3.11) in /usr/lib/opsmon-agent/vendor with their
licences in /usr/share/doc, and everything below as the binary's packages have it. The two pairs install the same
paths, so each conflicts with the other.

Why tomli is carried and not a dependency: UOS V20 (Debian 10 base, Python 3.7) packages no python3-tomli, so a
dependency on it made the package uninstallable there. The launcher puts the vendor folder last on the path, so
tomllib (3.11+) or the OS's own tomli, where either exists, is what the agent uses. The wheel comes from the package
index once (`make agent-vendor`, pip's hash-checking mode against the pin in vendor.txt) into build/agent-vendor;
the packages are built from there without the network, and its hash is checked again on every build.

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
       python packaging/agent_packages.py --vendor   (`make agent-vendor`: the vendored wheels, from the index)
       python packaging/agent_packages.py --python   (`make agent-python-packages`; after --vendor)
"""
from __future__ import annotations

import hashlib
import re
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
PY_VENDOR = f"{PY_LIB}/vendor"  # the carried libraries: last on the launcher's path (packaging/agent/launcher.py)
# python3 3.6 (RHEL 8) is refused; no python3-tomli: the package carries tomli (UOS V20 has none; see above)
PY_DEB_DEPENDS = ("passwd", "python3 (>= 3.7)", "python3-psutil (>= 5.5.1)")
PY_RPM_REQUIRES = ("python3 >= 3.7", "python3-psutil >= 5.5.1")
VENDOR_PINS = HERE / "vendor.txt"
VENDOR_WHEELS = ROOT / "build" / "agent-vendor"
VENDOR_PYTHON = "3.7"  # the agent's floor: a carried library must install there (pip download --python-version)


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


def vendor_pins() -> list[tuple[str, str, str]]:
    """(name, version, sha256) of each `name==version --hash=sha256:...` line of packaging/agent/vendor.txt."""
    pins = []
    for number, line in enumerate(VENDOR_PINS.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)==([A-Za-z0-9_.+-]+) +--hash=sha256:([0-9a-f]{64})", line)
        if not found:
            raise SystemExit(f"{VENDOR_PINS}:{number}: not `name==version --hash=sha256:<64 hex>`: {line}")
        pins.append((found.group(1), found.group(2), found.group(3)))
    return pins


def vendored_wheels(folder: Path = VENDOR_WHEELS) -> list[Path]:
    """The pinned wheels in `folder`, each checked against its pin's sha256. Pure Python only (py3-none-any): the
    package is arch-independent. SystemExit naming the setup step when one is missing or differs."""
    wheels = []
    for name, version, digest in vendor_pins():
        wheel = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
        if not wheel.exists():
            raise SystemExit(f"agent-python-packages: no {wheel}: run `make agent-vendor` (it needs the package "
                             "index once)")
        actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if actual != digest:
            raise SystemExit(f"agent-python-packages: {wheel} has sha256 {actual}, {VENDOR_PINS.name} pins {digest}")
        wheels.append(wheel)
    return wheels


def vendor_ready() -> bool:
    try:
        vendored_wheels()
    except SystemExit:
        return False
    return True


def vendor_setup() -> None:
    """The vendored wheels from the package index into build/agent-vendor, in pip's hash-checking mode (a setup
    step, `make agent-vendor`, which .ci/run runs: tests never reach the index)."""
    if vendor_ready():
        return
    VENDOR_WHEELS.mkdir(parents=True, exist_ok=True)
    pkgbuild.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                  "--only-binary=:all:", "--python-version", VENDOR_PYTHON, "--require-hashes", "-r", VENDOR_PINS,
                  "-d", VENDOR_WHEELS], "agent-vendor")
    vendored_wheels()  # the hash again, and the file name the build looks for


def _vendor_files(name: str) -> list[pkgbuild.File]:
    """Each vendored wheel's importable files under PY_VENDOR as the wheel has them, and its licence in the
    package's doc folder (/usr/share/doc/<package>/<name>-<version>-LICENSE); its other metadata stays behind."""
    files: list[pkgbuild.File] = []
    for wheel in vendored_wheels():
        with zipfile.ZipFile(wheel) as whl:
            members = [n for n in sorted(whl.namelist()) if not n.endswith("/")]
            info = [n for n in members if n.split("/")[0].endswith(".dist-info")]
            licences = [n for n in info if n.rsplit("/", 1)[-1].startswith(("LICENSE", "LICENCE", "COPYING"))]
            if len(licences) != 1:
                raise SystemExit(f"agent-python-packages: {wheel.name} carries {len(licences)} licence files, not 1")
            project = licences[0].split("/")[0][:-len(".dist-info")]
            files.append((f"/usr/share/doc/{name}/{project}-LICENSE", whl.read(licences[0]), 0o644))
            files += [(f"{PY_VENDOR}/{n}", whl.read(n), 0o644) for n in members if n not in info]
    return files


def python_package(wheel: Path) -> pkgbuild.Package:
    """The agent on the host's python3: the agent wheel's opsmon/agent under PY_LIB, the vendored libraries under
    PY_VENDOR, the launcher at /usr/bin."""
    with zipfile.ZipFile(wheel) as whl:
        code = [(f"{PY_LIB}/{n}", whl.read(n), 0o644) for n in sorted(whl.namelist())
                if n.startswith("opsmon/agent/") and not n.endswith("/")]
    # opsmon a regular package here (the wheel leaves it a namespace): found first, nothing elsewhere mixes in
    code.append((f"{PY_LIB}/opsmon/__init__.py", b"", 0o644))
    vendored = _vendor_files(PY_NAME)
    code += [f for f in vendored if f[0].startswith(PY_LIB + "/")]
    licences = [f for f in vendored if not f[0].startswith(PY_LIB + "/")]
    folders = sorted({str(PurePosixPath(path).parent) for path, _, _ in code} | {PY_LIB, PY_VENDOR})
    return pkgbuild.Package(
        name=PY_NAME, unit="opsmon-agent.service", version=agent_binary.version(), summary=PY_SUMMARY,
        description=PY_DESCRIPTION, deb_arch="all", rpm_arch="noarch",
        files=lambda fmt: [(BINARY, (HERE / "launcher.py").read_bytes(), 0o755), *code, *licences,
                           *_service_files(fmt, PY_NAME)],
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
    if sys.argv[1:] == ["--vendor"]:
        vendor_setup()
        print(*vendored_wheels(), sep="\n")
    else:
        for made in build_python() if sys.argv[1:] == ["--python"] else build():
            print(made)
