"""The agent on aarch64 (Kunpeng and Phytium hosts): the arch-independent package on the OS's python3 and psutil.

This machine is x86_64. The proof runs the .deb's own payload (dpkg-deb -x: the launcher and the agent's code as
the package lays them) on Debian's aarch64 python3 and python3-psutil (`make debian-root-arm64`: an unpacked
arm64 root, psutil's C extension compiled for aarch64) under qemu-aarch64-static, called by path with -L (the
root is where the emulated process finds its loader and libraries first): no binfmt_misc registration, which CI
may not allow. The agent runs as its unit runs it (`--config`, no --once) against a real collector on loopback,
reports, and stops cleanly on SIGTERM; the collector keeps the host up with the figures the emulated psutil read.
The .rpm is read back with rpm itself: the same files, the OS's python3 and psutil required, the same scripts.
Cost: one collector, one emulated agent start (about 3 s for the interpreter and the agent's imports) and two
reports a second apart.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from opsmon.collector.store import open_store
from opsmon.collector.store.models import Asset
from tests.agent.test_agent import agent_rows
from tests.conftest import ROOT
from tests.packaging.builds import load
from tests.packaging.roots import rpm_payload, rpm_query
from tests.packaging.test_agent_binary import _meminfo_total
from tests.peers import missing_peer
from tests.peers.agent import agent_config
from tests.peers.collector import wait_for

QEMU = "qemu-aarch64-static"
EM_AARCH64 = 183  # e_machine of an aarch64 ELF file (the ELF spec's number for ARM 64-bit)
LIB = "/usr/lib/opsmon-agent"


def _user_seconds() -> float:
    """The `cpu` line's user time of /proc/stat in seconds: its ticks / USER_HZ (100 on x86_64 and aarch64 Linux
    alike), what psutil.cpu_times().user reads."""
    with open("/proc/stat") as fh:
        return int(fh.readline().split()[1]) / os.sysconf("SC_CLK_TCK")


def _elf_machine(path: Path) -> int:
    """e_machine of an ELF file: the 2 bytes at offset 18 (little-endian on both CPUs here)."""
    return int.from_bytes(path.read_bytes()[18:20], "little")


def _agent_sources() -> dict[str, bytes]:
    """What the agent wheel carries, from the work tree: agent/'s modules (not its packaging/) and the baseline
    policies (agent/baseline/policies is a link), keyed by their path under the package's folder."""
    agent = ROOT / "agent"
    files = {p.relative_to(agent): p for p in agent.rglob("*.py")
             if "__pycache__" not in p.parts and p.relative_to(agent).parts[0] != "packaging"}
    files.update({p.relative_to(agent): p for p in (agent / "baseline" / "policies").glob("*.toml")})
    return {f"{LIB}/opsmon/agent/{rel}": p.read_bytes() for rel, p in files.items()}


def test_the_python_package_runs_on_aarch64_under_emulation(agent_python_packages: tuple[Path, Path],
                                                            debian_root_arm64: Path, collector_factory,
                                                            tmp_path: Path) -> None:
    qemu = shutil.which(QEMU)
    if qemu is None:
        missing_peer(f"needs {QEMU} (apt-get install qemu-user-static)")
    deb, _ = agent_python_packages
    fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Architecture", "Depends", "Conflicts"],
                            capture_output=True, text=True, check=True).stdout
    assert fields.splitlines() == [
        "Package: opsmon-agent-python3", "Architecture: all",
        "Depends: passwd, python3 (>= 3.7), python3-psutil (>= 5.5.1), python3 (>= 3.11) | python3-tomli (>= 1.2)",
        "Conflicts: opsmon-agent"]
    payload = tmp_path / "payload"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(payload)], check=True)
    launcher = payload / "usr/bin/opsmon-agent"
    assert launcher.read_text().splitlines()[0] == "#!/usr/bin/python3 -I"  # run below exactly so, by hand
    # The interpreter and psutil that run it are aarch64 files (a loader of this machine could not start them).
    python = debian_root_arm64 / "usr/bin/python3"
    (psutil_ext,) = (debian_root_arm64 / "usr/lib/python3/dist-packages/psutil").glob("_psutil_linux*.so")
    assert _elf_machine(python.resolve()) == EM_AARCH64 and _elf_machine(psutil_ext) == EM_AARCH64

    collector = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    collector.start()
    enrolled = collector.cli("agents", "enroll", "kunpeng1", "--category", "server")
    assert enrolled.returncode == 0, enrolled.stderr
    # Every second; no baseline (its first run costs half a minute of CPU natively; emulated, several times that),
    # no file integrity, no auth log: this run proves the interpreter, psutil and the report, which those skip.
    config = agent_config(tmp_path, collector.base, enrolled.stdout.strip(),
                          'baseline = false\nfim_paths = []\nauth_log = "off"\n')

    user_before = _user_seconds()
    log = tmp_path / "agent.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([qemu, "-L", str(debian_root_arm64), str(python), "-I", str(launcher),
                                 "--config", str(config)], stdout=out, stderr=out)
    try:
        # two reports: the first cycle and one more a second later (interval = 1), so the loop runs
        wait_for(lambda: agent_rows(collector, "kunpeng1") >= 2 or proc.poll() is not None, 90, "two reports")
        assert proc.poll() is None, log.read_text()
        wait_for(lambda: collector.states().get("kunpeng1", {}).get("state") == "up", 20, "kunpeng1 up")
        exposed = {(s.name, s.labels.get("mode") or s.labels.get("mountpoint")): s.value
                   for family in text_string_to_metric_families(collector.get("/metrics").text)
                   for s in family.samples if s.labels.get("asset") == "kunpeng1"}
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    user_after = _user_seconds()
    assert code == 0, log.read_text()  # SIGTERM reached the emulated agent, and it stopped cleanly
    assert agent_rows(collector, "kunpeng1") >= 2, log.read_text() + collector.log()[-2000:]

    # Inside the run: the agent's platform.machine() said aarch64 (it reads the emulated CPU, not this machine's),
    # on the host's kernel (qemu-user passes the system calls through).
    store = open_store(f"sqlite:///{collector.db}", migrate=False)
    with store.session() as s:
        facts = s.scalar(select(Asset.facts).where(Asset.id == "kunpeng1"))
    store.close()
    assert facts["arch"] == "aarch64" and os.uname().machine != "aarch64"
    assert facts["kernel"] == os.uname().release and facts["hostname"] == os.uname().nodename
    # The figures the aarch64 psutil read, as the collector keeps them (its /metrics, from the last report):
    # memory: MemTotal of /proc/meminfo in kB x 1024, exactly (a constant while the machine runs);
    assert exposed[("opsmon_host_memory_total_bytes", None)] == _meminfo_total() == facts["memory_bytes"]
    # CPU: the logical CPUs (the online ones of /sys, as os.cpu_count() counts them here) and the machine's
    # user seconds, read between this test's two reads of /proc/stat (a counter: only grows);
    assert exposed[("opsmon_host_cpu_count", None)] == os.cpu_count() == facts["cpu_count"]
    assert user_before <= exposed[("opsmon_host_cpu_seconds_total", "user")] <= user_after
    # disk: the size of the filesystem at "/" is f_blocks x f_frsize of statvfs. qemu's -L looks a path up in the
    # root first, so the emulated statvfs("/") reads the filesystem that holds the aarch64 root (on this
    # machine the same as the host's /; in CI it need not be).
    vfs = os.statvfs(debian_root_arm64)
    assert exposed[("opsmon_host_filesystem_size_bytes", "/")] == vfs.f_blocks * vfs.f_frsize
    assert not list((tmp_path / "spool").glob("*.report"))  # all accepted, nothing left to resend


def test_the_noarch_rpm_holds_the_same_agent_requires_the_os_python_and_runs_the_same_scripts(
        agent_python_packages: tuple[Path, Path], tmp_path: Path) -> None:
    deb, rpm = agent_python_packages
    packages = load("agent_packages")

    def query(*args: str) -> str:
        return rpm_query(rpm, *args)

    assert (query("--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH} %{LICENSE}")
            == "opsmon-agent-python3 0.1.0-1 noarch Apache-2.0")
    # The OS's python3 (3.7 the floor: Kylin V10 and UOS V20; RHEL 8's 3.6 refused) and psutil, and tomli only
    # where python3 is older than 3.11 (a rich dependency: rpm 4.13+, which every RPM system of the estate has).
    requires = [r for r in query("--requires").splitlines() if not r.startswith("rpmlib(")]
    assert requires == ["(python3 >= 3.11 or python3-tomli >= 1.2)", "/bin/sh", "/bin/sh", "/bin/sh",
                        "python3 >= 3.7", "python3-psutil >= 5.5.1", "shadow-utils"]
    assert query("--conflicts").split() == ["opsmon-agent"]  # both install /usr/bin/opsmon-agent and the unit

    # Files: every folder of the agent's code owned by the package (removal leaves none behind), modes as the .deb's.
    listed = {row[-1]: (row[0], row[2], row[3]) for row in map(str.split, query("-lv").splitlines())}
    sources = _agent_sources()
    folders = {str(Path(p).parent) for p in sources} | {LIB, f"{LIB}/opsmon"}
    expected = {
        "/etc/opsmon": ("drwxr-xr-x", "root", "root"),
        "/etc/opsmon/agent.toml": ("-rw-------", "root", "root"),
        "/usr/bin/opsmon-agent": ("-rwxr-xr-x", "root", "root"),
        "/usr/lib/systemd/system/opsmon-agent.service": ("-rw-r--r--", "root", "root"),
        "/usr/lib/systemd/system/opsmon-agent.service.d/package.conf": ("-rw-r--r--", "root", "root"),
        "/usr/share/doc/opsmon-agent-python3/LICENSE": ("-rw-r--r--", "root", "root"),
        f"{LIB}/opsmon/__init__.py": ("-rw-r--r--", "root", "root"),
        **{path: ("-rw-r--r--", "root", "root") for path in sources},
        **{folder: ("drwxr-xr-x", "root", "root") for folder in folders},
    }
    assert listed == expected
    # 39 today: 37 modules (agent/**/*.py without packaging/) and 2 policies; a floor, so a lost folder cannot pass
    assert len(sources) >= 39
    assert query("-c").split() == ["/etc/opsmon/agent.toml"]
    scripts = query("--scripts")
    for label, which in (("postinstall", "postinst"), ("preuninstall", "prerm"), ("postuninstall", "postrm")):
        assert f"{label} scriptlet (using /bin/sh):\n{packages.script('rpm', which)}" in scripts, scripts

    # The payload: the agent's sources byte for byte (what pip installs from the wheel), the launcher, the unit
    # and config of the self-contained packages; and the .deb lays the very same bytes.
    payload = rpm_payload(rpm)
    assert {p: payload[p] for p in sources} == sources
    assert payload["/usr/bin/opsmon-agent"] == (ROOT / "packaging/agent/launcher.py").read_bytes()
    assert payload["/usr/lib/systemd/system/opsmon-agent.service"].decode() == packages.unit()
    assert payload["/etc/opsmon/agent.toml"].decode() == packages.default_config()
    laid = tmp_path / "deb"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(laid)], check=True)

    def as_rpm(path: str) -> str:
        """Where the .rpm has what the .deb has at `path`: each format's place for the unit and the licence."""
        if path.startswith("/lib/systemd/"):
            return "/usr" + path
        return path.replace("/opsmon-agent-python3/copyright", "/opsmon-agent-python3/LICENSE")

    assert {as_rpm("/" + str(p.relative_to(laid))): p.read_bytes() for p in laid.rglob("*") if p.is_file()} == payload
