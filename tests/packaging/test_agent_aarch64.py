"""The agent on aarch64 (Kunpeng and Phytium hosts): the arch-independent package on the OS's python3 and psutil.

This machine is x86_64. The proof runs the .deb's own payload (dpkg-deb -x: the launcher and the agent's code as
the package lays them) on Debian's aarch64 python3 and python3-psutil (`make debian-root-arm64`: an unpacked
arm64 root, psutil's C extension compiled for aarch64) under qemu-aarch64-static, called by path with -L (the
root is where the emulated process finds its loader and libraries first): no binfmt_misc registration, which CI
may not allow. The agent runs as its unit runs it (`--config`, no --once) against a real collector on loopback,
reports, and stops cleanly on SIGTERM; the collector keeps the host up with the figures the emulated psutil read.
The same payload then reports to that collector from Python 3.7 as UOS V20 has it (Debian 10 base: python3 3.7 and
python3-psutil, no python3-tomli, which the package therefore no longer depends on): a venv of pyenv's 3.7 holding
only psutil, so agent.toml is read by the tomli the package carries in /usr/lib/opsmon-agent/vendor; and from the
old-Python venv of 3.7 that has tomli installed, which must use that one, not the package's.
The .rpm is read back with rpm itself: the same files, the OS's python3 and psutil required, the same scripts.
Cost: one collector, one emulated agent start (about 3 s for the interpreter and the agent's imports), two
reports a second apart, and two native `--once` runs on 3.7 (about 1 s each).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from opsmon.collector.store import open_store
from opsmon.collector.store.models import Asset
from tests.agent import old_pythons
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
VENDOR = f"{LIB}/vendor"
# tomli 2.0.1, the last release for Python 3.7, as PyPI publishes it: this hash is PyPI's for the file (also pinned in
# packaging/agent/vendor.txt, which the build checks; written here again so a changed pin shows in this test's diff).
TOMLI_WHEEL = "tomli-2.0.1-py3-none-any.whl"
TOMLI_SHA256 = "939de3e7a6161af0c887ef91b7d41a53e7c5a1ca976325f429cb46ea9bc30ecc"


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


def _vendored() -> dict[str, bytes]:
    """What the package carries of the pinned tomli wheel (build/agent-vendor, checked against PyPI's hash): its
    importable files under VENDOR as the wheel has them, and its licence in the package's doc folder."""
    wheel = ROOT / "build" / "agent-vendor" / TOMLI_WHEEL
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == TOMLI_SHA256
    with zipfile.ZipFile(wheel) as whl:
        names = [n for n in whl.namelist() if not n.endswith("/")]
        files = {f"{VENDOR}/{n}": whl.read(n) for n in names if n.startswith("tomli/")}
        files["/usr/share/doc/opsmon-agent-python3/tomli-2.0.1-LICENSE"] = whl.read("tomli-2.0.1.dist-info/LICENSE")
    # the wheel's tomli/: __init__, _parser, _re, _types and py.typed; METADATA, WHEEL and RECORD stay behind
    assert sorted(files) == [f"{VENDOR}/tomli/{n}" for n in ("__init__.py", "_parser.py", "_re.py", "_types.py",
                                                              "py.typed")] + [
        "/usr/share/doc/opsmon-agent-python3/tomli-2.0.1-LICENSE"]
    assert files["/usr/share/doc/opsmon-agent-python3/tomli-2.0.1-LICENSE"].startswith(b"MIT License")
    return files


def _python37_without_tomli(folder: Path) -> tuple[Path, Path]:
    """(UOS V20's interpreter, one with tomli installed): a venv of pyenv's 3.7 holding only psutil 5.5.1 (linked
    from the old-Python venv of 3.7, `make old-pythons`: the agent's floor, built from source as Debian 10 ships
    it), as python3 plus python3-psutil without python3-tomli; and that old-Python venv itself (psutil 5.5.1,
    tomli 1.2: an OS that has python3-tomli). The old-Python venv is only read (other checkouts use it too)."""
    python = old_pythons.interpreter("3.7")
    env = old_pythons.prepared(python, old_pythons.requirements("3.7")) if python else None
    if env is None:
        missing_peer("no Python 3.7 with psutil: pyenv's 3.7 and `make old-pythons` (OPSMON_OLD_PYTHONS)")
    made = subprocess.run([str(python), "-m", "venv", "--without-pip", str(folder)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    (site,) = folder.glob("lib/python3.7/site-packages")
    (site / "psutil").symlink_to(env / "lib" / "python3.7" / "site-packages" / "psutil")
    return folder / "bin" / "python", env / "bin" / "python"


def test_the_python_package_runs_on_aarch64_under_emulation_and_on_python37_without_tomli(
        agent_python_packages: tuple[Path, Path], debian_root_arm64: Path, collector_factory, tmp_path: Path) -> None:
    qemu = shutil.which(QEMU)
    if qemu is None:
        missing_peer(f"needs {QEMU} (apt-get install qemu-user-static)")
    deb, _ = agent_python_packages
    fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Architecture", "Depends", "Conflicts"],
                            capture_output=True, text=True, check=True).stdout
    assert fields.splitlines() == [
        "Package: opsmon-agent-python3", "Architecture: all",
        "Depends: passwd, python3 (>= 3.7), python3-psutil (>= 5.5.1)",  # no python3-tomli: UOS V20 has none
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
    # Python 3.11 read agent.toml with tomllib: the carried tomli was never imported (its __pycache__, which any
    # interpreter writes on the first import of a module from a writable folder, is not there).
    tomli_cache = payload / VENDOR.lstrip("/") / "tomli" / "__pycache__"
    assert (payload / VENDOR.lstrip("/") / "tomli" / "__init__.py").is_file() and not tomli_cache.exists()

    # UOS V20: Python 3.7 with psutil and no tomli at all (the defect: the agent stopped at `import tomli`, and the
    # package asked for a python3-tomli the OS does not have).
    bare, with_tomli = _python37_without_tomli(tmp_path / "py37")
    probe = subprocess.run([str(bare), "-I", "-c", "import psutil, sys; print(sys.version_info[:2]); import tomli"],
                           capture_output=True, text=True)
    assert probe.stdout == "(3, 7)\n" and "No module named 'tomli'" in probe.stderr, probe.stderr
    enrolled = collector.cli("agents", "enroll", "uos20", "--category", "server")
    assert enrolled.returncode == 0, enrolled.stderr
    (tmp_path / "uos20").mkdir()
    config = agent_config(tmp_path / "uos20", collector.base, enrolled.stdout.strip(),
                          'baseline = false\nfim_paths = []\nauth_log = "off"\n')
    # First where the OS has tomli (the old-Python venv's 1.2): one report, and that tomli was used, not the
    # package's (still no __pycache__ beside the carried copy).
    once = subprocess.run([str(with_tomli), "-I", str(launcher), "--config", str(config), "--once"],
                          capture_output=True, text=True, timeout=60)
    assert once.returncode == 0, once.stderr
    assert agent_rows(collector, "uos20") == 1 and not tomli_cache.exists()
    # Then without any tomli: the carried one reads agent.toml (3.7 compiled it: __init__ and _parser, which it
    # imports, cached as cpython-37), and the second report arrives (1 + 1 = 2 rows).
    once = subprocess.run([str(bare), "-I", str(launcher), "--config", str(config), "--once"],
                          capture_output=True, text=True, timeout=60)
    assert once.returncode == 0, once.stderr
    assert agent_rows(collector, "uos20") == 2, collector.log()[-2000:]
    assert {"__init__.cpython-37.pyc", "_parser.cpython-37.pyc"} <= {p.name for p in tomli_cache.iterdir()}
    assert not list((tmp_path / "uos20" / "spool").glob("*.report"))  # both accepted


def test_the_noarch_rpm_holds_the_same_agent_requires_the_os_python_and_runs_the_same_scripts(
        agent_python_packages: tuple[Path, Path], tmp_path: Path) -> None:
    deb, rpm = agent_python_packages
    packages = load("agent_packages")

    def query(*args: str) -> str:
        return rpm_query(rpm, *args)

    assert (query("--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH} %{LICENSE}")
            == "opsmon-agent-python3 0.1.0-1 noarch Apache-2.0")
    # The OS's python3 (3.7 the floor: Kylin V10 and UOS V20; RHEL 8's 3.6 refused) and psutil; no tomli (the
    # package carries it, for the OSes that have no python3-tomli).
    requires = [r for r in query("--requires").splitlines() if not r.startswith("rpmlib(")]
    assert requires == ["/bin/sh", "/bin/sh", "/bin/sh", "python3 >= 3.7", "python3-psutil >= 5.5.1", "shadow-utils"]
    assert query("--conflicts").split() == ["opsmon-agent"]  # both install /usr/bin/opsmon-agent and the unit

    # Files: every folder of the agent's code owned by the package (removal leaves none behind), modes as the .deb's.
    listed = {row[-1]: (row[0], row[2], row[3]) for row in map(str.split, query("-lv").splitlines())}
    sources = _agent_sources()
    vendored = _vendored()
    folders = {str(Path(p).parent) for p in sources} | {LIB, f"{LIB}/opsmon", VENDOR, f"{VENDOR}/tomli"}
    expected = {
        "/etc/opsmon": ("drwxr-xr-x", "root", "root"),
        "/etc/opsmon/agent.toml": ("-rw-------", "root", "root"),
        "/usr/bin/opsmon-agent": ("-rwxr-xr-x", "root", "root"),
        "/usr/lib/systemd/system/opsmon-agent.service": ("-rw-r--r--", "root", "root"),
        "/usr/lib/systemd/system/opsmon-agent.service.d/package.conf": ("-rw-r--r--", "root", "root"),
        "/usr/share/doc/opsmon-agent-python3/LICENSE": ("-rw-r--r--", "root", "root"),
        f"{LIB}/opsmon/__init__.py": ("-rw-r--r--", "root", "root"),
        **{path: ("-rw-r--r--", "root", "root") for path in (*sources, *vendored)},
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
    assert {p: payload[p] for p in vendored} == vendored  # the pinned wheel's bytes, and its MIT licence
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


def test_a_vendored_wheel_that_differs_from_its_pin_is_refused(tmp_path: Path) -> None:
    """The build takes the carried tomli only as pinned: a file whose sha256 differs (here the one byte b"x",
    sha256 2d711642...) is refused naming both hashes, and a missing one names the setup step that fetches it."""
    packages = load("agent_packages")
    assert packages.vendor_pins() == [("tomli", "2.0.1", TOMLI_SHA256)]
    (tmp_path / TOMLI_WHEEL).write_bytes(b"x")
    with pytest.raises(SystemExit, match=f"has sha256 {hashlib.sha256(b'x').hexdigest()}, vendor.txt pins "
                                         f"{TOMLI_SHA256}"):
        packages.vendored_wheels(tmp_path)
    with pytest.raises(SystemExit, match="run `make agent-vendor`"):
        packages.vendored_wheels(tmp_path / "none")
