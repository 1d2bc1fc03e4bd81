"""The agent's .deb installed into a clean Debian root, and its .rpm read back with rpm itself.

The .deb goes into `make debian-root`'s minbase root through an overlay of this test's own (the cached root
stays clean): dpkg runs the real maintainer scripts in a chroot, the installed agent runs there as its
dedicated user and reports to a real collector on loopback, and removal and purge leave what Debian's policy
says they leave. The .rpm is checked by rpm (-qp --scripts, -qlvp, -qcp, --requires) and its payload unpacked
with rpm2archive: the same binary, the same unit (the opsmon_agent role's template, rendered), the same scripts.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from opsmon.collector.store import open_store
from opsmon.collector.store.models import Asset
from tests.agent.test_agent import agent_rows
from tests.conftest import ROOT
from tests.packaging.builds import load
from tests.packaging.conftest import needs_root
from tests.packaging.roots import Overlay, fixed_lines, rpm_payload, rpm_query, stat

ROLE_UNIT = ROOT / "ansible" / "roles" / "opsmon_agent" / "templates" / "opsmon-agent.service.j2"


def test_the_deb_installs_runs_and_goes_in_a_clean_debian_root(agent_packages: tuple[Path, Path], debian_root: Path,
                                                                collector_factory, tmp_path: Path) -> None:
    needs_root()
    deb, _ = agent_packages
    packages = load("agent_packages")
    root = Overlay(debian_root, tmp_path)
    assert root.run("dpkg-query", "-W", "opsmon-agent", check=False).returncode == 1  # clean: not there before
    root.put("/tmp/opsmon-agent.deb", deb.read_bytes())

    installed = root.run("dpkg", "-i", "/tmp/opsmon-agent.deb")
    assert "Setting up opsmon-agent (0.1.0-1)" in installed.stdout, installed.stdout

    # The post-install made a system user (Debian's SYS_UID_MAX is 999) that cannot log in, homed at the spool.
    name, _, uid, gid, comment, home, shell = root.run("getent", "passwd", "opsmon-agent").stdout.strip().split(":")
    assert int(uid) < 1000 and (home, shell, comment) == ("/var/lib/opsmon-agent", "/usr/sbin/nologin",
                                                          "opsmon host agent")
    assert root.run("getent", "group", "opsmon-agent").stdout.split(":")[2] == gid
    # ...owning its config (0600: the agent refuses a config others can read) and its spool, nothing else.
    assert stat(root, "/etc/opsmon/agent.toml", "/var/lib/opsmon-agent", "/var/lib/opsmon-agent/spool",
                 "/usr/bin/opsmon-agent", "/etc/opsmon") == {
        "/etc/opsmon/agent.toml": "opsmon-agent:opsmon-agent 600",
        "/var/lib/opsmon-agent": "opsmon-agent:opsmon-agent 750",
        "/var/lib/opsmon-agent/spool": "opsmon-agent:opsmon-agent 700",
        "/usr/bin/opsmon-agent": "root:root 755",
        "/etc/opsmon": "root:root 755",
    }
    conffiles = root.run("dpkg-query", "-W", "-f", "${Conffiles}", "opsmon-agent").stdout
    assert conffiles.split()[0] == "/etc/opsmon/agent.toml"

    # The unit is the role's template rendered for /usr/bin, with every fixed line of the role's hardening.
    unit = root.run("cat", "/lib/systemd/system/opsmon-agent.service").stdout
    assert unit == packages.unit()
    assert len(fixed_lines(ROLE_UNIT)) >= 25
    assert [line for line in fixed_lines(ROLE_UNIT) if line not in unit.splitlines()] == []
    assert "ExecStart=/usr/bin/opsmon-agent --config /etc/opsmon/agent.toml" in unit.splitlines()
    assert "User=opsmon-agent" in unit.splitlines() and "ReadWritePaths=/var/lib/opsmon-agent/spool" in unit
    dropin = root.run("cat", "/lib/systemd/system/opsmon-agent.service.d/package.conf").stdout
    assert "ConditionPathExists=/etc/opsmon/agent.token" in dropin and "PrivateTmp=yes" in dropin

    # The operator's two steps (docs/install.md): the collector's URL into agent.toml, the enrolment token into
    # agent.token (0600, the agent's user). Edited in place, so the file keeps its owner and mode.
    collector = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    collector.start()
    enrolled = collector.cli("agents", "enroll", "debhost", "--category", "server")
    assert enrolled.returncode == 0, enrolled.stderr
    config = root.upper / "etc/opsmon/agent.toml"
    text = config.read_text()
    assert 'collector_url = "https://opsmon-collector:8470"' in text
    assert 'token_file = "/etc/opsmon/agent.token"' in text
    # baseline off: the bundled Debian policy's first run costs half a minute of CPU (tests/peers/agent.py)
    with open(config, "r+") as fh:
        fh.write(text.replace("https://opsmon-collector:8470", collector.base).replace("baseline = true",
                                                                                       "baseline = false"))
        fh.truncate()  # the edited text is shorter (the URL): nothing of the old may stay behind it
    root.put("/tmp/token", enrolled.stdout.strip().encode())
    root.run("install", "-o", "opsmon-agent", "-g", "opsmon-agent", "-m", "0600", "/tmp/token",
             "/etc/opsmon/agent.token")

    # As the unit runs it: the installed binary, as opsmon-agent, its default --config; one report (--once).
    once = root.run("setpriv", "--reuid=opsmon-agent", "--regid=opsmon-agent", "--init-groups",
                    "/usr/bin/opsmon-agent", "--once", check=False)
    assert once.returncode == 0, once.stderr
    assert agent_rows(collector, "debhost") == 1, once.stderr + collector.log()[-2000:]
    store = open_store(f"sqlite:///{collector.db}", migrate=False)
    with store.session() as s:
        facts = s.scalar(select(Asset.facts).where(Asset.id == "debhost"))
    store.close()
    pretty = next(line.split("=", 1)[1].strip('"') for line in (debian_root / "etc/os-release").read_text().splitlines()
                  if line.startswith("PRETTY_NAME="))
    assert facts["os_release"] == pretty  # read inside the root: Debian GNU/Linux 12 (bookworm) on Debian 12
    assert root.run("find", "/var/lib/opsmon-agent/spool", "!", "-user", "opsmon-agent").stdout == ""

    # Remove keeps the edited conffile; purge takes it and the spool; the user stays (Debian policy).
    root.run("dpkg", "-r", "opsmon-agent")
    gone = root.run("ls", "/usr/bin/opsmon-agent", "/lib/systemd/system/opsmon-agent.service", check=False)
    assert gone.returncode != 0 and gone.stdout == ""
    assert collector.base in root.run("cat", "/etc/opsmon/agent.toml").stdout
    root.run("dpkg", "-P", "opsmon-agent")
    left = root.run("ls", "-A", "/etc/opsmon", "/var/lib").stdout
    assert "agent.toml" not in left and "opsmon-agent" not in left
    assert root.run("getent", "passwd", "opsmon-agent").returncode == 0
    assert not (debian_root / "etc/opsmon").exists()  # the cached root was never touched


def test_the_rpm_holds_the_same_agent_unit_and_scripts(agent_packages: tuple[Path, Path], agent_binary: Path,
                                                       tmp_path: Path) -> None:
    _, rpm = agent_packages
    packages = load("agent_packages")

    def query(*args: str) -> str:
        return rpm_query(rpm, *args)

    assert query("--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH} %{LICENSE}") == "opsmon-agent 0.1.0-1 x86_64 Apache-2.0"
    # Nothing asked of the host but useradd's package and rpm's own features: no libc, no python3.
    requires = query("--requires").splitlines()
    assert [r for r in requires if not r.startswith("rpmlib(")] == ["/bin/sh", "/bin/sh", "/bin/sh", "shadow-utils"]
    assert query("--conflicts").split() == ["opsmon-agent-python3"]  # the agent on python3 lays the same paths
    # Files, modes and owners (-qlvp: mode, links, owner, group, size, date, path).
    listed = {row[-1]: (row[0], row[2], row[3]) for row in map(str.split, query("-lv").splitlines())}
    assert listed == {
        "/etc/opsmon": ("drwxr-xr-x", "root", "root"),
        "/etc/opsmon/agent.toml": ("-rw-------", "root", "root"),  # chowned to opsmon-agent by %post
        "/usr/bin/opsmon-agent": ("-rwxr-xr-x", "root", "root"),
        "/usr/lib/systemd/system/opsmon-agent.service": ("-rw-r--r--", "root", "root"),
        "/usr/lib/systemd/system/opsmon-agent.service.d/package.conf": ("-rw-r--r--", "root", "root"),
        "/usr/share/doc/opsmon-agent/LICENSE": ("-rw-r--r--", "root", "root"),
    }
    assert query("-c").split() == ["/etc/opsmon/agent.toml"]  # %config(noreplace): upgrades keep the edits
    # The scripts: the shared bodies behind rpm's headers ($1 is the count of installed versions).
    scripts = query("--scripts")
    for label, which in (("postinstall", "postinst"), ("preuninstall", "prerm"), ("postuninstall", "postrm")):
        assert f"{label} scriptlet (using /bin/sh):\n{packages.script('rpm', which)}" in scripts, scripts
    assert "useradd --system --gid \"$USER\" --home-dir \"$HOME_DIR\" --no-create-home" in scripts
    assert "UNIT=opsmon-agent.service" in scripts and 'systemctl --no-reload disable --now "$UNIT"' in scripts

    # The payload: the session's binary byte for byte, the role's unit, the same default config as the .deb.
    payload = rpm_payload(rpm)
    sha256 = hashlib.sha256
    assert sha256(payload["/usr/bin/opsmon-agent"]).digest() == sha256(agent_binary.read_bytes()).digest()
    assert payload["/usr/lib/systemd/system/opsmon-agent.service"].decode() == packages.unit()
    assert payload["/etc/opsmon/agent.toml"].decode() == packages.default_config()
