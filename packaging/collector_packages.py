"""`make collector-packages`: the collector as dist/opsmon-collector_<version>-1_amd64.deb and
dist/opsmon-collector-<version>-1.x86_64.rpm.

What the opsmon_collector role does on a server, as a package that needs no network:
- /usr/share/opsmon/wheels: the opsmon wheel and every dependency's, pinned by packaging/constraints-collector.txt
  (copied to /usr/share/opsmon/constraints.txt); the post-install makes /opt/opsmon-collector a venv of the host's
  CPython 3.11 and installs `opsmon[collector,postgres,report]` from there with --no-index, and links
  /usr/bin/opsmon to it (so `opsmon` reads /etc/opsmon/collector.yaml by default);
- the unit rendered from the role's template (ansible/roles/opsmon_collector/templates/opsmon-collector.service.j2),
  so its hardening has one source;
- /etc/opsmon/collector.yaml (the role's collector.yaml.j2 with its defaults: SQLite in /var/lib/opsmon, the API
  on 127.0.0.1:8470) and /etc/opsmon/targets.yaml (rules/targets.yaml), conffiles;
- /usr/share/opsmon: the Prometheus rules and their tests, the Alertmanager example, the baseline policies
  (rules/), and the Grafana dashboards and provisioning (grafana/);
- the post-install (packaging/collector/postinst.sh) creates the service user `opsmon` and /var/lib/opsmon.

The dependencies' wheels need the package index, so they are made by a setup step (`--setup`, which `make
collector-packages` passes) into build/collector-wheels, kept while the pins stay; the packages themselves are
built from there without the network. Written by packaging/pkgbuild.py (dpkg-deb and rpmbuild).

Usage: python packaging/collector_packages.py [--setup] [--wheels-only]
"""
from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
import tempfile
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # its siblings, last: nothing of the importer's shadowed
    sys.path.append(str(Path(__file__).resolve().parent))
import pkgbuild  # noqa: E402 - packaging/ is not a package (PyPI's `packaging` owns the name)

ROOT = pkgbuild.ROOT
HERE = ROOT / "packaging" / "collector"
CONSTRAINTS = ROOT / "packaging" / "constraints-collector.txt"
WHEELS = ROOT / "build" / "collector-wheels"
DIST = ROOT / "dist"
NAME = "opsmon-collector"
EXTRAS = "collector,postgres,report"
SUMMARY = "opsmon collector: checks, timeline, incidents, SLA, API, console, reports"
DESCRIPTION = """\
The central server of opsmon: ICMP/TCP/HTTP/SSH checks, SNMP, HJ 212 and the host agents' reports
turned into states, incidents and the SLA of the performance-target table (项目支出绩效目标表),
with its API, web console, /metrics and reports. Installs into /opt/opsmon-collector from the wheels
it carries (no network), runs as the unprivileged user opsmon under a hardened systemd unit."""
CONFIG_DIR = "/etc/opsmon"
STATE_DIR = "/var/lib/opsmon"
VENV = "/opt/opsmon-collector"
SHARE = "/usr/share/opsmon"


def version() -> str:
    found = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert found, "pyproject.toml has no version"
    return found.group(1)


def _wheels_key() -> str:
    return hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()[:16]


def wheels_ready() -> bool:
    stamp = WHEELS / ".opsmon-pins"
    return stamp.exists() and stamp.read_text().strip() == _wheels_key()


def setup() -> None:
    """The dependencies' wheels for CPython 3.11 from the package index (a setup step: tests never reach it)."""
    if wheels_ready():
        return
    shutil.rmtree(WHEELS, ignore_errors=True)
    WHEELS.mkdir(parents=True)
    pkgbuild.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "-w", WHEELS,
                  "-c", CONSTRAINTS, "--no-build-isolation", f"{ROOT}[{EXTRAS}]"], "collector-packages")
    for own in WHEELS.glob("opsmon-*.whl"):  # built fresh with each package, below
        own.unlink()
    (WHEELS / ".opsmon-pins").write_text(_wheels_key() + "\n")


def _own_wheel(work: Path) -> Path:
    """The opsmon wheel of the work tree, built without the network (setuptools is in the test extra) from a copy
    of what it is made of, so setuptools' build/ never lands in (or races another build in) the work tree."""
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("agent", "collector", "rules"):
        shutil.copytree(ROOT / folder, src / folder, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", "packaging"))
    pkgbuild.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                  "-w", work / "own", src], "collector-packages")
    (wheel,) = (work / "own").glob("opsmon-*.whl")
    return wheel


def _role_template(name: str) -> str:
    """A template of the opsmon_collector role with the role's defaults for a package install."""
    defaults = pkgbuild.role_defaults("opsmon_collector")
    keys = ("opsmon_collector_user", "opsmon_collector_group", "opsmon_collector_limit_nofile",
            "opsmon_collector_organisation", "opsmon_collector_timezone", "opsmon_collector_listen_host",
            "opsmon_collector_listen_port", "opsmon_collector_tls_cert", "opsmon_collector_tls_key",
            "opsmon_collector_public_read", "opsmon_collector_agent_interval", "opsmon_collector_database",
            "opsmon_collector_postgres_url", "opsmon_collector_inventory_files", "opsmon_collector_config_extra",
            "opsmon_collector_icmp_capability")
    return pkgbuild.role_template("opsmon_collector", name, {
        **{k: defaults[k] for k in keys},
        "opsmon_collector_venv": VENV, "opsmon_collector_config_dir": CONFIG_DIR,
        "opsmon_collector_state_dir": STATE_DIR, "opsmon_collector_sqlite_path": f"{STATE_DIR}/opsmon.db",
        "opsmon_collector_public_url": f"http://127.0.0.1:{defaults['opsmon_collector_listen_port']}",
    })


def unit() -> str:
    return _role_template("opsmon-collector.service.j2")


def default_config() -> str:
    return _role_template("collector.yaml.j2")


def _tree(folder: Path, to: str, mode: int = 0o644) -> list[pkgbuild.File]:
    """Every file under `folder` (links followed), at `to` on the host; no caches or generators' outputs."""
    return [(f"{to}/{p.relative_to(folder)}", p.read_bytes(), mode) for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]


def package(own_wheel: Path) -> pkgbuild.Package:
    def files(fmt: str) -> list[pkgbuild.File]:
        unit_dir = pkgbuild.UNIT_DIR[fmt]
        wheels = [own_wheel, *sorted(WHEELS.glob("*.whl"))]
        return [
            (f"{unit_dir}/opsmon-collector.service", unit().encode(), 0o644),
            (f"{CONFIG_DIR}/collector.yaml", default_config().encode(), 0o640),
            (f"{CONFIG_DIR}/targets.yaml", (ROOT / "rules" / "targets.yaml").read_bytes(), 0o640),
            *((f"{SHARE}/wheels/{w.name}", w.read_bytes(), 0o644) for w in wheels),
            (f"{SHARE}/constraints.txt", CONSTRAINTS.read_bytes(), 0o644),
            *_tree(ROOT / "rules", f"{SHARE}/rules"),
            *_tree(ROOT / "grafana" / "dashboards", f"{SHARE}/dashboards"),
            *_tree(ROOT / "grafana" / "provisioning", f"{SHARE}/grafana-provisioning"),
            (f"/usr/share/doc/{NAME}/{'copyright' if fmt == 'deb' else 'LICENSE'}", (ROOT / "LICENSE").read_bytes(),
             0o644),
        ]

    return pkgbuild.Package(
        name=NAME, unit="opsmon-collector.service", version=version(), summary=SUMMARY,
        description=DESCRIPTION, deb_arch="amd64",
        rpm_arch="x86_64", files=files, scripts=HERE, conffiles=(f"{CONFIG_DIR}/collector.yaml",
                                                                 f"{CONFIG_DIR}/targets.yaml"),
        dirs=(CONFIG_DIR, SHARE), deb_depends=("passwd", "python3 (>= 3.11)", "python3 (<< 3.12)", "python3-venv"),
        rpm_requires=("(python3.11 or (python3 >= 3.11 with python3 < 3.12))",))


def build(dist: Path = DIST) -> tuple[Path, Path]:
    """Both packages and the opsmon wheel in them, into `dist`; returns (.deb, .rpm)."""
    if not wheels_ready():
        raise SystemExit(f"collector-packages: no wheelhouse at {WHEELS} for these pins: run `make collector-packages` "
                         "(it needs the package index once)")
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="opsmon-collector-packages-") as scratch:
        work = Path(scratch)
        own = _own_wheel(work)
        shutil.copy(own, dist)
        pkg = package(own)
        return pkgbuild.build_deb(pkg, work, dist), pkgbuild.build_rpm(pkg, work, dist)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setup", action="store_true", help="make the wheelhouse first (needs the package index)")
    parser.add_argument("--wheels-only", action="store_true", help="with --setup: the wheelhouse, no packages")
    args = parser.parse_args()
    if args.setup:
        setup()
        if args.wheels_only:
            print(WHEELS)
            return 0
    for made in build():
        print(made)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
