"""The self-contained agent (`make agent-binary`) runs where there is no libc and no Python.

The root it runs in is an empty folder holding only the binary, /proc and /sys bound from the host, its
config bound in, and an empty /tmp (where the binary unpacks itself). No /lib, no /usr: a dynamically
linked file could not even start there (the kernel finds no ELF interpreter), nor could a Python script.
It runs as the unit runs it (`--config /etc/opsmon/agent.toml`, no --once), reports to a real collector on
loopback (the mount namespace is new, the network one is the host's), and stops cleanly on SIGTERM.
"""
from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from pathlib import Path

from sqlalchemy import select

from opsmon.collector.store import open_store
from opsmon.collector.store.models import Asset
from tests.agent.test_agent import agent_rows
from tests.packaging.conftest import needs_root
from tests.peers.collector import wait_for


def _meminfo_total() -> int:
    """MemTotal of /proc/meminfo in bytes: what psutil.virtual_memory().total reads (kB x 1024)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def test_the_binary_reports_from_an_empty_root(agent_binary: Path, collector_factory, tmp_path: Path) -> None:
    needs_root()
    collector = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    collector.start()
    enrolled = collector.cli("agents", "enroll", "static1", "--category", "server")
    assert enrolled.returncode == 0, enrolled.stderr

    root = tmp_path / "root"
    for folder in ("proc", "sys", "etc/opsmon", "tmp"):
        (root / folder).mkdir(parents=True)
    (root / "tmp").chmod(0o1777)
    (root / "opsmon-agent").write_bytes(agent_binary.read_bytes())
    (root / "opsmon-agent").chmod(0o755)
    (root / "etc/opsmon/agent.toml").touch()  # the mount point of the config
    config = tmp_path / "agent.toml"
    # The default baseline chooses its policy from /etc/os-release, which this root lacks: it reports that
    # as a finding and the rest goes on (docs/baseline.md); file integrity has nothing to read here.
    config.write_text(textwrap.dedent(f"""\
        collector_url = "{collector.base}"
        token = "{enrolled.stdout.strip()}"
        interval = 1
        timeout = 2
        spool_dir = "/var/lib/opsmon-agent/spool"
        fim_paths = []
        auth_log = "off"
    """))
    config.chmod(0o600)
    script = textwrap.dedent(f"""\
        set -e
        mount --bind /proc {root}/proc
        mount --rbind /sys {root}/sys
        mount --bind {config} {root}/etc/opsmon/agent.toml
        exec chroot {root} /opsmon-agent --config /etc/opsmon/agent.toml
    """)
    log = tmp_path / "agent.log"
    with open(log, "w") as out:
        # unshare --mount: the binds live and die with this process; nothing is left mounted on the host
        proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                stdout=out, stderr=out)
    try:
        # two reports: the first cycle and one more a second later (interval = 1), so the loop runs
        wait_for(lambda: agent_rows(collector, "static1") >= 2 or proc.poll() is not None, 60, "two reports")
        assert proc.poll() is None, log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0, log.read_text()  # SIGTERM reached the agent through its loaders, and it stopped cleanly
    assert agent_rows(collector, "static1") >= 2, log.read_text() + collector.log()[-2000:]

    # The facts it read through /proc and the kernel, as the host's own figures give them.
    store = open_store(f"sqlite:///{collector.db}", migrate=False)
    with store.session() as s:
        facts = s.scalar(select(Asset.facts).where(Asset.id == "static1"))
    store.close()
    assert facts["hostname"] == os.uname().nodename
    assert facts["kernel"] == os.uname().release and facts["arch"] == "x86_64"
    assert facts["memory_bytes"] == _meminfo_total()
    assert facts["cpu_count"] == os.cpu_count()

    # Nothing was there but what the test put in, and the spool the agent made: no libc, no Python, and the
    # binary cleaned up what it unpacked into /tmp.
    assert sorted(p.name for p in root.iterdir()) == ["etc", "opsmon-agent", "proc", "sys", "tmp", "var"]
    assert list((root / "tmp").iterdir()) == []
    assert not list(root.rglob("libc.so*")) and not list(root.rglob("python3*"))
    assert (root / "var/lib/opsmon-agent/spool").is_dir()
    assert not list((root / "var/lib/opsmon-agent/spool").glob("*.report"))  # all accepted, nothing to resend
