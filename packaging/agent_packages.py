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

Built with Debian's own tools rather than nfpm (a Go program on neither PyPI nor Debian): dpkg-deb (dpkg) for
the .deb, and rpmbuild (Debian's `rpm` package) for the .rpm, from a spec written here. Both are the formats'
reference tools, so what they write is what dpkg and rpm expect, and neither needs the network.

Usage: python packaging/agent_packages.py   (after `make agent-binary`; `make agent-packages` does both)
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jinja2
import yaml

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "packaging" / "agent"
ROLE = ROOT / "ansible" / "roles" / "opsmon_agent"
DIST = ROOT / "dist"
NAME = "opsmon-agent"
RELEASE = "1"
SUMMARY = "opsmon host agent (self-contained: no Python or libc needed on the host)"
DESCRIPTION = """\
System metrics, configured services, hardware faults and a graded-protection (等级保护 2.0) security
baseline, reported to an opsmon collector and spooled on disk while it is unreachable. One file with its own
Python and libraries, run by a hardened systemd unit as the unprivileged user opsmon-agent."""
CONFIG = "/etc/opsmon/agent.toml"
TOKEN = "/etc/opsmon/agent.token"
SPOOL = "/var/lib/opsmon-agent/spool"
BINARY = "/usr/bin/opsmon-agent"
# Where each format's systemd keeps packaged units (Debian 10 and UOS read /lib; RPM systems /usr/lib).
UNIT_DIR = {"deb": "/lib/systemd/system", "rpm": "/usr/lib/systemd/system"}
# What each format's scripts are called with, turned into the variables the shared bodies read.
HEADERS = {
    ("deb", "postinst"): 'set -e\n[ "$1" = configure ] || exit 0\nUPGRADE="$2"\n',
    ("deb", "prerm"): 'set -e\n[ "$1" = remove ] || exit 0\n',
    ("deb", "postrm"): 'set -e\nPURGE=""\n[ "$1" = purge ] && PURGE=1\n',
    ("rpm", "postinst"): 'UPGRADE=""\n[ "$1" -ge 2 ] && UPGRADE=1\n',
    ("rpm", "prerm"): '[ "$1" -eq 0 ] || exit 0\n',
    ("rpm", "postrm"): 'PURGE=""\n[ "$1" -eq 0 ] || exit 0\n',
}


def _role_template(name: str, **values: Any) -> str:
    """A template of the opsmon_agent role rendered with the role's defaults for a package install: Ansible's
    own filters that the templates use (bool, to_json) given their meaning here."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE / "templates"), keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["bool"] = lambda v: v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on")
    env.filters["to_json"] = json.dumps
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    context = {
        "ansible_managed": f"Installed by the {NAME} package: rendered from the opsmon_agent role's {name}",
        "opsmon_agent_user": defaults["opsmon_agent_user"], "opsmon_agent_group": defaults["opsmon_agent_group"],
        "opsmon_agent_venv": "/usr",  # ExecStart={venv}/bin/opsmon-agent: the binary at /usr/bin
        "opsmon_agent_config_file": CONFIG, "opsmon_agent_token_file": TOKEN,
        "opsmon_agent_config_dir": str(Path(CONFIG).parent), "opsmon_agent_spool_dir": SPOOL,
        "opsmon_agent_smart": defaults["opsmon_agent_smart"],
        **{k: defaults[k] for k in ("opsmon_agent_interval", "opsmon_agent_spool_max_mb", "opsmon_agent_spool_max_age",
                                    "opsmon_agent_services", "opsmon_agent_log_level", "opsmon_agent_ca_file",
                                    "opsmon_agent_metrics_port")},
        **values,
    }
    return env.get_template(name).render(context)


def unit() -> str:
    """The packages' opsmon-agent.service: the role's unit, for the binary at /usr/bin."""
    return _role_template("opsmon-agent.service.j2")


def default_config() -> str:
    """/etc/opsmon/agent.toml as installed: the role's template with a collector URL to edit."""
    return _role_template("agent.toml.j2", opsmon_agent_collector_url="https://opsmon-collector:8470")


def script(fmt: str, which: str) -> str:
    return "#!/bin/sh\n" + HEADERS[(fmt, which)] + (HERE / f"{which}.sh").read_text(encoding="utf-8")


def stage(tree: Path, fmt: str, binary: Path) -> list[tuple[str, int]]:
    """Lay the package's files under `tree`; returns (path, mode) of each."""
    unit_dir = UNIT_DIR[fmt]
    files: list[tuple[str, bytes, int]] = [
        (BINARY, binary.read_bytes(), 0o755),
        (f"{unit_dir}/opsmon-agent.service", unit().encode(), 0o644),
        (f"{unit_dir}/opsmon-agent.service.d/package.conf", (HERE / "package.conf").read_bytes(), 0o644),
        (CONFIG, default_config().encode(), 0o600),
        (f"/usr/share/doc/{NAME}/{'copyright' if fmt == 'deb' else 'LICENSE'}", (ROOT / "LICENSE").read_bytes(),
         0o644),
    ]
    for path, body, mode in files:
        target = tree / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        target.chmod(mode)
    return [(path, mode) for path, _, mode in files]


def _run(argv: list[str | Path]) -> None:
    out = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"agent-packages: {' '.join(map(str, argv))} failed ({out.returncode}):\n"
                         f"{out.stdout[-3000:]}{out.stderr[-3000:]}")


def build_deb(binary: Path, version: str, work: Path, dist: Path = DIST) -> Path:
    tree = work / "deb"
    files = stage(tree, "deb", binary)
    control = tree / "DEBIAN"
    control.mkdir()
    size_kb = sum((tree / p.lstrip("/")).stat().st_size for p, _ in files) // 1024 + 1
    (control / "control").write_text(
        f"Package: {NAME}\nVersion: {version}-{RELEASE}\nArchitecture: amd64\n"
        "Maintainer: opsmon contributors <opsmon@users.noreply.github.com>\n"
        f"Installed-Size: {size_kb}\nDepends: passwd\nSection: admin\nPriority: optional\n"
        "Homepage: https://github.com/opsmon/opsmon\n"
        f"Description: {SUMMARY}\n" + "".join(f" {line}\n" for line in DESCRIPTION.splitlines()))
    (control / "conffiles").write_text(f"{CONFIG}\n")
    (control / "md5sums").write_text("".join(
        f"{hashlib.md5((tree / p.lstrip('/')).read_bytes()).hexdigest()}  {p.lstrip('/')}\n" for p, _ in files))
    for which in ("postinst", "prerm", "postrm"):
        (control / which).write_text(script("deb", which))
        (control / which).chmod(0o755)
    out = dist / f"{NAME}_{version}-{RELEASE}_amd64.deb"
    _run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", tree, out])
    return out


def build_rpm(binary: Path, version: str, work: Path, dist: Path = DIST) -> Path:
    tree = work / "rpm-tree"
    files = stage(tree, "rpm", binary)
    listed = []
    for path, mode in files:
        attr = f"%attr({mode:04o},root,root) "
        listed.append(f"%config(noreplace) {attr}{path}" if path == CONFIG else f"{attr}{path}")
    spec = work / f"{NAME}.spec"
    spec.write_text("\n".join([
        # The binary is already what it must be: no stripping (staticx's archive rides at its end), no debug
        # package, no dependencies read off it (it has none on the host).
        "%global debug_package %{nil}",
        "%global __os_install_post %{nil}",
        "%global _build_id_links none",
        f"Name: {NAME}", f"Version: {version}", f"Release: {RELEASE}", f"Summary: {SUMMARY}",
        "License: Apache-2.0", "URL: https://github.com/opsmon/opsmon", "BuildArch: x86_64", "AutoReqProv: no",
        "Requires(post): shadow-utils", "",
        "%description", DESCRIPTION, "",
        "%install", f"cp -a {tree}/. %{{buildroot}}/", "",
        "%files", f"%dir %attr(0755,root,root) {Path(CONFIG).parent}", *listed, "",
        "%post", script("rpm", "postinst"), "%preun", script("rpm", "prerm"),
        "%postun", script("rpm", "postrm"), "",
    ]))
    top = work / "rpmbuild"
    _run(["rpmbuild", "--quiet", "-bb", "--target", "x86_64", "--define", f"_topdir {top}", spec])
    (built,) = (top / "RPMS").rglob("*.rpm")
    out = dist / built.name
    shutil.move(built, out)
    return out


def build(binary: Path | None = None, dist: Path = DIST) -> tuple[Path, Path]:
    """Both packages from the binary, into `dist`; returns (.deb, .rpm)."""
    sys.path.insert(0, str(ROOT / "packaging"))
    import agent_binary

    binary = binary or agent_binary.artefact()
    if not agent_binary.is_fresh(binary):
        raise SystemExit(f"agent-packages: {binary} is missing or older than agent/: run `make agent-binary`")
    version = agent_binary.version()
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="opsmon-agent-packages-") as scratch:
        return build_deb(binary, version, Path(scratch), dist), build_rpm(binary, version, Path(scratch), dist)


if __name__ == "__main__":
    for made in build():
        print(made)
