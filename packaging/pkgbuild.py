"""One description of a package, written as a .deb (dpkg-deb) and an .rpm (rpmbuild); the roles' templates
rendered for a package.

Debian's own tools rather than nfpm (a Go program on neither PyPI nor Debian): dpkg-deb (dpkg) and rpmbuild
(Debian's `rpm` package) are the formats' reference tools, so what they write is what dpkg and rpm expect, and
neither needs the network. Each package's maintainer scripts are one body per step for both formats
(packaging/<package>/postinst.sh, prerm.sh, postrm.sh); HEADERS turns each format's arguments into the
variables the bodies read: UPGRADE (post-install, empty on a first install) and PURGE (post-removal). What
every package does with its systemd unit ($UNIT) is written once, in packaging/systemd/: enabled and started
after the package's own post-install, stopped and disabled before its own pre-removal, systemd reloaded after
its own post-removal.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

ROOT = Path(__file__).resolve().parents[1]
ROLES = ROOT / "ansible" / "roles"
RELEASE = "1"
MAINTAINER = "opsmon contributors <opsmon@users.noreply.github.com>"
HOMEPAGE = "https://github.com/opsmon/opsmon"
# Where each format's systemd keeps packaged units (Debian 10 and UOS read /lib; RPM systems /usr/lib).
UNIT_DIR = {"deb": "/lib/systemd/system", "rpm": "/usr/lib/systemd/system"}
HEADERS = {
    ("deb", "postinst"): 'set -e\n[ "$1" = configure ] || exit 0\nUPGRADE="$2"\n',
    ("deb", "prerm"): 'set -e\n[ "$1" = remove ] || exit 0\n',
    ("deb", "postrm"): 'set -e\nPURGE=""\n[ "$1" = purge ] && PURGE=1\n',
    ("rpm", "postinst"): 'UPGRADE=""\n[ "$1" -ge 2 ] && UPGRADE=1\n',
    ("rpm", "prerm"): '[ "$1" -eq 0 ] || exit 0\n',
    ("rpm", "postrm"): 'PURGE=""\n[ "$1" -eq 0 ] || exit 0\n',
}
RPM_SCRIPTLETS = {"postinst": "%post", "prerm": "%preun", "postrm": "%postun"}

# (path on the host, content, mode); owned by root, as both formats install them
File = tuple[str, bytes, int]


@dataclass(frozen=True)
class Package:
    name: str
    unit: str  # its systemd unit, opsmon-agent.service
    version: str
    summary: str
    description: str
    deb_arch: str  # amd64, all
    rpm_arch: str  # x86_64, noarch
    files: Callable[[str], list[File]]  # the format ("deb" or "rpm") -> its files
    scripts: Path  # the folder of postinst.sh, prerm.sh, postrm.sh
    conffiles: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()  # folders the package owns (rpm %dir; dpkg owns every folder it lays)
    deb_depends: tuple[str, ...] = ()
    rpm_requires: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()  # packages that install the same files (both formats: the same names)

    def script(self, fmt: str, which: str) -> str:
        """The maintainer script `which` for `fmt`: the format's header, the package's body and the unit's part
        (before the body on removal, so the service stops before its files go; after it otherwise)."""
        own = (self.scripts / f"{which}.sh").read_text(encoding="utf-8")
        unit = (ROOT / "packaging" / "systemd" / f"{which}.sh").read_text(encoding="utf-8")
        parts = [unit, own] if which == "prerm" else [own, unit]
        return "#!/bin/sh\n" + HEADERS[(fmt, which)] + f"UNIT={self.unit}\n" + "".join(parts) + "exit 0\n"


def role_template(role: str, name: str, context: dict[str, Any]) -> str:
    """A template of an Ansible role rendered for a package: `context` over the role's defaults (only those the
    caller names matter: the defaults are Ansible expressions), and Ansible's filters the templates use (bool,
    to_json) given their meaning here. Undefined names fail the build, never render empty."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLES / role / "templates"), keep_trailing_newline=True,
                             trim_blocks=True, undefined=jinja2.StrictUndefined)  # trim_blocks: as Ansible renders
    env.filters["bool"] = lambda v: v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on")
    env.filters["to_json"] = json.dumps
    env.filters["basename"] = os.path.basename
    env.filters["regex_replace"] = lambda v, pattern, repl="": re.sub(pattern, repl, v)
    env.filters["ansible.builtin.combine"] = _combine
    env.filters["ansible.builtin.to_nice_yaml"] = lambda v, indent=2, sort_keys=True: yaml.safe_dump(
        v, indent=indent, sort_keys=sort_keys, allow_unicode=True, default_flow_style=False)
    return env.get_template(name).render(
        {"ansible_managed": f"Installed by a package: rendered from the {role} role's {name}", **context})


def _combine(base: dict[str, Any], other: dict[str, Any], recursive: bool = False) -> dict[str, Any]:
    """Ansible's combine: `other` over `base`, nested mappings merged key by key when `recursive`."""
    out = dict(base)
    for key, value in other.items():
        if recursive and isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _combine(out[key], value, recursive=True)
        else:
            out[key] = value
    return out


def role_defaults(role: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text(encoding="utf-8")))


def stage(tree: Path, files: list[File]) -> None:
    for path, body, mode in files:
        target = tree / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        target.chmod(mode)


def run(argv: list[str | Path], what: str) -> None:
    out = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{what}: {' '.join(map(str, argv))} failed ({out.returncode}):\n"
                         f"{out.stdout[-3000:]}{out.stderr[-3000:]}")


def build_deb(pkg: Package, work: Path, dist: Path) -> Path:
    tree = work / f"{pkg.name}-deb"
    files = pkg.files("deb")
    stage(tree, files)
    control = tree / "DEBIAN"
    control.mkdir()
    size_kb = sum(len(body) for _, body, _ in files) // 1024 + 1
    depends = f"Depends: {', '.join(pkg.deb_depends)}\n" if pkg.deb_depends else ""
    depends += f"Conflicts: {', '.join(pkg.conflicts)}\n" if pkg.conflicts else ""
    (control / "control").write_text(
        f"Package: {pkg.name}\nVersion: {pkg.version}-{RELEASE}\nArchitecture: {pkg.deb_arch}\n"
        f"Maintainer: {MAINTAINER}\nInstalled-Size: {size_kb}\n{depends}Section: admin\nPriority: optional\n"
        f"Homepage: {HOMEPAGE}\nDescription: {pkg.summary}\n"
        + "".join(f" {line}\n" for line in pkg.description.splitlines()))
    if pkg.conffiles:
        (control / "conffiles").write_text("".join(f"{c}\n" for c in pkg.conffiles))
    (control / "md5sums").write_text("".join(
        f"{hashlib.md5(body).hexdigest()}  {path.lstrip('/')}\n" for path, body, _ in files))
    for which in ("postinst", "prerm", "postrm"):
        (control / which).write_text(pkg.script("deb", which))
        (control / which).chmod(0o755)
    out = dist / f"{pkg.name}_{pkg.version}-{RELEASE}_{pkg.deb_arch}.deb"
    # gzip -1: what the packages carry is compressed already (staticx's archive, wheels), so xz gained nothing on
    # either and spent a minute on the collector's 70 MB.
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", tree, out], f"{pkg.name} .deb")
    return out


def build_rpm(pkg: Package, work: Path, dist: Path) -> Path:
    tree = work / f"{pkg.name}-rpm"
    files = pkg.files("rpm")
    stage(tree, files)
    listed = [f"%dir %attr(0755,root,root) {d}" for d in pkg.dirs]
    for path, _, mode in files:
        attr = f"%attr({mode:04o},root,root) "
        listed.append(f"%config(noreplace) {attr}{path}" if path in pkg.conffiles else f"{attr}{path}")
    spec = work / f"{pkg.name}.spec"
    spec.write_text("\n".join([
        # What is packaged is already what it must be: no stripping (the agent's file carries staticx's archive
        # at its end), no debug package, no dependencies read off the files (the package says what it needs).
        "%global debug_package %{nil}",
        "%global __os_install_post %{nil}",
        "%global _build_id_links none",
        f"Name: {pkg.name}", f"Version: {pkg.version}", f"Release: {RELEASE}", f"Summary: {pkg.summary}",
        "License: Apache-2.0", f"URL: {HOMEPAGE}", f"BuildArch: {pkg.rpm_arch}", "AutoReqProv: no",
        *(f"Requires: {r}" for r in pkg.rpm_requires), "Requires(post): shadow-utils",
        *(f"Conflicts: {c}" for c in pkg.conflicts), "",
        "%description", pkg.description, "",
        "%install", f"cp -a {tree}/. %{{buildroot}}/", "",
        "%files", *listed, "",
        *(f"{RPM_SCRIPTLETS[w]}\n{pkg.script('rpm', w)}" for w in ("postinst", "prerm", "postrm")), "",
    ]))
    top = work / f"{pkg.name}-rpmbuild"
    run(["rpmbuild", "--quiet", "-bb", "--target", pkg.rpm_arch, "--define", f"_topdir {top}",
         "--define", "_binary_payload w1.gzdio", spec],  # gzip -1, as the .deb
        f"{pkg.name} .rpm")
    (built,) = (top / "RPMS").rglob("*.rpm")
    out = dist / built.name
    built.replace(out)
    return out
