"""`make offline-bundle`: dist/opsmon-offline-<version>.tar, everything an estate without the internet installs from.

    opsmon-offline-<version>/
      README.md            how to install from it, in Chinese and English (packaging/offline/README.md)
      constraints.txt      the collector's pins (packaging/constraints-collector.txt)
      wheels/              every dependency's wheel those pins name (CPython 3.11, x86_64)
      dist/                opsmon and opsmon-agent wheels, the self-contained agent, the four .deb and .rpm
                           (where the playbook's roles look for them: playbook_dir/../dist)
      ansible/             site.yml, ansible.cfg, the example inventory, the roles, and the same roles as the
                           collection opsmon.estate (collections/opsmon-estate-<version>.tar.gz, ansible-galaxy)
      rules/, grafana/     what the roles install beside the collector (playbook_dir/../rules, ../grafana)

An uncompressed tar: wheels and packages are compressed already. Everything comes from what the other steps
made (`make agent-binary`, `make collector-wheels`), so building it needs no network.

Usage: python packaging/offline_bundle.py
"""
from __future__ import annotations

import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # its siblings, last: nothing of the importer's shadowed
    sys.path.append(str(Path(__file__).resolve().parent))
import agent_binary  # noqa: E402 - packaging/ is not a package (PyPI's `packaging` owns the name)
import agent_packages  # noqa: E402
import collector_packages  # noqa: E402
import pkgbuild  # noqa: E402

ROOT = pkgbuild.ROOT
DIST = ROOT / "dist"
COLLECTION = ("opsmon", "estate")


def _collection(out: Path, work: Path, version: str) -> Path:
    """ansible/roles as the collection opsmon.estate, built by ansible-galaxy (what `ansible-galaxy collection
    install` reads offline from the file)."""
    src = work / "collection"
    shutil.copytree(ROOT / "ansible" / "roles", src / "roles")
    (src / "README.md").write_text("# opsmon.estate\n\nThe opsmon roles: opsmon_collector, opsmon_agent, prometheus, "
                                   "alertmanager, grafana_provisioning. docs/deploy.md in opsmon.\n")
    (src / "galaxy.yml").write_text(
        f"namespace: {COLLECTION[0]}\nname: {COLLECTION[1]}\nversion: {version}\nreadme: README.md\n"
        "authors: [opsmon contributors]\nlicense: [Apache-2.0]\n"
        "description: Deploy the opsmon collector, its host agents, Prometheus, Alertmanager and Grafana provisioning\n"
        f"repository: {pkgbuild.HOMEPAGE}\n")
    galaxy = Path(sys.executable).with_name("ansible-galaxy")
    pkgbuild.run([galaxy, "collection", "build", "--output-path", out, src], "offline-bundle")
    (made,) = out.glob(f"{COLLECTION[0]}-{COLLECTION[1]}-*.tar.gz")
    return made


def build(dist: Path = DIST, made: tuple[Path, ...] = ()) -> Path:
    """The bundle, into `dist`. `made`: the wheels and packages already built from this tree (the tests' own), put
    in dist/ as they are instead of building them again."""
    version = collector_packages.version()
    binary = agent_binary.artefact()
    if not agent_binary.is_fresh(binary):
        raise SystemExit(f"offline-bundle: {binary} is missing or older than agent/: run `make agent-binary`")
    if not collector_packages.wheels_ready():
        raise SystemExit("offline-bundle: no collector wheelhouse: run `make collector-wheels`")
    name = f"opsmon-offline-{version}"
    with tempfile.TemporaryDirectory(prefix="opsmon-offline-") as scratch:
        work = Path(scratch)
        top = work / name
        (top / "dist").mkdir(parents=True)
        shutil.copy(ROOT / "packaging" / "offline" / "README.md", top / "README.md")
        shutil.copy(collector_packages.CONSTRAINTS, top / "constraints.txt")
        shutil.copytree(collector_packages.WHEELS, top / "wheels", ignore=shutil.ignore_patterns(".*"))
        shutil.copy(agent_binary.agent_wheel(work / "agent-wheel"), top / "dist")
        if made:
            for path in made:
                shutil.copy(path, top / "dist")
        else:
            collector_packages.build(top / "dist")  # the opsmon wheel and the collector's packages
            agent_packages.build(binary, top / "dist")
            agent_packages.build_python(top / "dist")  # the agent on the host's python3: aarch64 hosts
        shutil.copy(binary, top / "dist")
        shutil.copytree(ROOT / "ansible", top / "ansible", ignore=shutil.ignore_patterns("__pycache__", "*.retry"))
        (top / "ansible" / "collections").mkdir()
        _collection(top / "ansible" / "collections", work, version)
        for folder in ("rules", "grafana"):
            shutil.copytree(ROOT / folder, top / folder, ignore=shutil.ignore_patterns("__pycache__"))
        dist.mkdir(parents=True, exist_ok=True)
        out = dist / f"{name}.tar"
        with tarfile.open(out, "w") as tar:
            tar.add(top, arcname=name, filter=_owned_by_root)
    return out


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


if __name__ == "__main__":
    print(build())
