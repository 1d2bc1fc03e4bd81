"""The Ansible deployment (ansible/): lint, syntax, and a real run over real SSH, run twice.

The real run starts an OpenSSH server on a loopback port, reaches this machine through it as root
(by key, host key verified against a known_hosts file written here) and applies site.yml: the
collector, one agent, Prometheus and Alertmanager (their Debian packages, with promtool and amtool
checks) and the Grafana provisioning, all installed under a temporary prefix. systemd is not PID 1
here, so the roles start no service; the test then starts the installed collector and runs the
installed agent, as their own users, to prove the written config and tokens work, and runs the play
again with the "collector sees the agent" check turned on.
"""
from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ansible import wheels
from tests.conftest import ROOT, free_port
from tests.peers import CI, missing_peer, needs_peer
from tests.peers import sshd as sshd_peer

ANSIBLE = ROOT / "ansible"
BIN = Path(sys.executable).parent
PLAYBOOK = BIN / "ansible-playbook"
LINT = BIN / "ansible-lint"
needs_ansible = needs_peer(not PLAYBOOK.exists(), reason=(
    "ansible-core is not installed in this venv: pip install 'ansible-core>=2.19,<2.20' 'ansible-lint>=26,<27'"))

COLLECTOR_USER, AGENT_USER = "opsmontest", "opsmontest-agent"


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_RETRY_FILES_ENABLED="0",
               PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    env.update(extra or {})
    return env


@needs_ansible
def test_playbook_syntax() -> None:
    """site.yml and every role parse, with the example inventory."""
    done = subprocess.run([str(PLAYBOOK), "--syntax-check", "site.yml", "-i", "inventory/example.yml"],
                          cwd=ANSIBLE, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_ansible
@needs_peer(not LINT.exists(), reason="ansible-lint is not installed: pip install 'ansible-lint>=26,<27'")
def test_ansible_lint_production_profile() -> None:
    """ansible-lint passes at its strictest (production) profile: FQCNs, modes, no_log, names, argument specs."""
    done = subprocess.run([str(LINT), "--profile", "production", "--offline", "ansible/"], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_ansible
@pytest.mark.parametrize(("limit", "extra", "message"), [
    # the argument spec: a value outside the choices
    ("collector-01", ["-e", "opsmon_collector_database=mysql"],
     r"value of opsmon_collector_database must be one of: sqlite, postgresql, got: mysql"),
    # the collector listens on 127.0.0.1 by default: Prometheus on another host needs its address
    ("prometheus-01", [], r"cannot scrape the collector collector-01.*opsmon_collector_scrape_address"),
    # an agent's category is server or computer (the target table's categories for hosts)
    ("agent-01", ["-e", "opsmon_category=laptop"], r"agent-01: opsmon_category .*not 'laptop'"),
], ids=["bad-database", "remote-collector-without-address", "bad-category"])
def test_bad_variables_stop_the_run_early_naming_them(tmp_path: Path, limit: str, extra: list[str],
                                                      message: str) -> None:
    """Before anything is installed (on this machine, no SSH: the checks run first and fail)."""
    inventory = tmp_path / "inventory.json"
    local = {"ansible_connection": "local", "ansible_become": False, "ansible_python_interpreter": sys.executable}
    inventory.write_text(json.dumps({"all": {"vars": local, "children": {
        "opsmon_collector": {"hosts": {"collector-01": {}}}, "prometheus": {"hosts": {"prometheus-01": {}}},
        "opsmon_agents": {"hosts": {"agent-01": {"opsmon_site": "urumqi"}}}}}}))
    wheel = tmp_path / "opsmon_agent-0.1.0-py3-none-any.whl"  # the agent's preflight wants a wheel file first
    wheel.write_bytes(b"")
    done = subprocess.run([str(PLAYBOOK), "-i", str(inventory), "site.yml", "--check", "--tags", "preflight",
                           "--limit", limit, "-e", f"opsmon_agent_wheel={wheel}", *extra], cwd=ANSIBLE, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, done.stdout + done.stderr
    assert re.search(message, done.stdout, re.S), done.stdout
    assert _recap(done.stdout)[limit]["failed"] == 1, done.stdout


@needs_ansible
@pytest.mark.parametrize(("limit", "minor", "message"), [
    ("agent-01", "3.6", r"agent-01: the opsmon agent needs Python 3\.7 or later, and \S+/3\.6\.\d+/bin/python on "
                        r"this host is Python 3\.6\.\d+\."),
    ("collector-01", "3.9", r"collector-01: the opsmon collector needs Python 3\.11 or later, and "
                            r"\S+/3\.9\.\d+/bin/python on this host is Python 3\.9\.\d+\."),
    ("agent-01", None, r"agent-01: the opsmon agent needs Python 3\.7 or later, and /nonexistent/python3 on this "
                       r"host is not a working Python \(.*not found"),
], ids=["agent-on-3.6", "collector-on-3.9", "agent-without-python"])
def test_a_python_too_old_stops_the_role_before_anything(tmp_path: Path, limit: str, minor: str | None,
                                                          message: str) -> None:
    """Each role asks the host's Python its version first (raw: no module needs a Python there) and stops with
    the host, its Python and what is needed; nothing else of the role runs (--check, on this machine)."""
    from tests.agent.old_pythons import PYENV, interpreter

    python = interpreter(minor) if minor else Path("/nonexistent/python3")
    if python is None:
        missing_peer(f"needs CPython {minor} under {PYENV} (pyenv install {minor})")
    inventory = tmp_path / "inventory.json"
    local = {"ansible_connection": "local", "ansible_become": False, "ansible_python_interpreter": str(python)}
    inventory.write_text(json.dumps({"all": {"vars": local, "children": {
        "opsmon_collector": {"hosts": {"collector-01": {}}},
        "opsmon_agents": {"hosts": {"agent-01": {"opsmon_site": "urumqi"}}}}}}))
    done = subprocess.run([str(PLAYBOOK), "-i", str(inventory), "site.yml", "--check", "--limit", limit],
                          cwd=ANSIBLE, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, done.stdout + done.stderr
    assert re.search(message, done.stdout, re.S), done.stdout
    assert _recap(done.stdout)[limit]["failed"] == 1, done.stdout
    role, needed = ("agent", "3.7") if limit.startswith("agent") else ("collector", "3.11")
    tasks = re.findall(rf"^TASK \[opsmon_{role} : (.*?)\]", done.stdout, re.M)
    # the argument spec's validation (on the controller), then the check, and nothing else
    assert [t.split(" - ")[0] for t in tasks] == [
        "Validating arguments against arg spec 'main'", "Ask the host's Python for its version",
        f"Check that the host's Python runs the {role} ({needed} or later)"], tasks


def _recap(output: str) -> dict[str, dict[str, int]]:
    """{host: {ok: n, changed: n, failed: n, ...}} from the PLAY RECAP."""
    recap = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        recap[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return recap


class Estate:
    """A temporary prefix, an sshd to reach this machine as root, and an inventory pointing at it."""

    def __init__(self, prefix: Path, ssh: sshd_peer.Sshd, wheel: Path, work: Path) -> None:
        self.prefix, self.ssh, self.wheel, self.work = prefix, ssh, wheel, work
        # the agent's own wheel (Python 3.7+) and its dependencies' wheels: the host installs with --no-index
        self.agent_wheel = wheels.agent_wheel(work / "agent-build")
        wheels.agent_wheelhouse(work / "agent-wheelhouse")
        self.collector_port = free_port()
        self.control_dir = work / "cp"
        self.timings: list[tuple[float, str, str]] = []
        self.control_dir.mkdir()
        assets = work / "estate-assets.yaml"
        assets.write_text(textwrap.dedent("""\
            assets:
              - id: core-switch
                category: network
                site: urumqi
                address: 127.0.0.9
                checks: [{type: tcp, port: 9}]
        """))
        (prefix / "etc/grafana/provisioning").mkdir(parents=True)  # "a Grafana is present"
        # a snapshot of grafana/: dashboards being regenerated during the test must not look like a change
        shutil.copytree(ROOT / "grafana", work / "grafana", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        conn = {"ansible_host": "127.0.0.1", "ansible_port": ssh.port, "ansible_user": "root",
                "ansible_ssh_private_key_file": str(ssh.client_key),
                "ansible_ssh_common_args": " ".join(a for a in ssh.ssh_args() if a not in
                                                    ("-i", "-p", str(ssh.client_key), str(ssh.port))),
                "ansible_python_interpreter": "/usr/bin/python3"}
        self.inventory = work / "inventory.json"
        self.inventory.write_text(json.dumps({"all": {
            "vars": {**conn, "opsmon_prefix": str(prefix), "opsmon_wheel": str(wheel),
                     "opsmon_agent_wheel": str(self.agent_wheel),
                     "opsmon_agent_wheelhouse": str(work / "agent-wheelhouse"),
                     # python3-psutil is not installed here and no test downloads: psutil comes from the wheelhouse
                     "opsmon_agent_os_packages": ["python3-venv"],
                     "opsmon_collector_url": f"http://127.0.0.1:{self.collector_port}",
                     "opsmon_collector_user": COLLECTOR_USER, "opsmon_collector_group": COLLECTOR_USER,
                     "opsmon_agent_collector_user": COLLECTOR_USER,
                     "opsmon_agent_user": AGENT_USER, "opsmon_agent_group": AGENT_USER,
                     "grafana_provisioning_group": "root",
                     "grafana_provisioning_src": str(work / "grafana")},
            "children": {
                "opsmon_collector": {"hosts": {"collector": {
                    "opsmon_collector_listen_port": self.collector_port,
                    "opsmon_collector_inventory_files": [str(assets)]}}},
                # one agent host can run here: a computer, so that the per-host category is shown to be read
                "opsmon_agents": {"hosts": {"agent-01": {"opsmon_category": "computer", "opsmon_site": "urumqi",
                                                          "opsmon_agent_services": ["sshd"]}}},
                "prometheus": {"hosts": {"collector": {}}},
                "alertmanager": {"hosts": {"collector": {}}},
                "grafana": {"hosts": {"collector": {}}},
            }}}, indent=1))

    def play(self, *args: str) -> tuple[int, str]:
        """Run site.yml; returns (exit code, output) and notes each task's duration in self.timings."""
        env = _env({"ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control_dir)})
        proc = subprocess.Popen([str(PLAYBOOK), "-i", str(self.inventory), "site.yml", *args], cwd=ANSIBLE, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        lines, task, since = [], "start", time.monotonic()
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(("TASK [", "RUNNING HANDLER [", "PLAY RECAP")):
                now = time.monotonic()
                self.timings.append((now - since, " ".join(args) or "run", task))
                task, since = line.strip(" *\n"), now
        proc.wait(600)
        return proc.returncode, "".join(lines)

    def close(self) -> None:
        for sock in self.control_dir.iterdir():  # end ansible's persistent ssh connections
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"], capture_output=True, timeout=10)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["runuser", "-u", COLLECTOR_USER, "--",
                               str(self.prefix / "opt/opsmon-collector/bin/opsmon"), "--config",
                               str(self.prefix / "etc/opsmon/collector.yaml"), *args],
                              capture_output=True, text=True, timeout=60)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def estate() -> Iterator[Estate]:
    reason = sshd_peer.available() or (None if PLAYBOOK.exists() else "ansible-core is not installed")
    if reason:
        missing_peer(reason)
    if _user_exists(COLLECTOR_USER) or _user_exists(AGENT_USER):
        # A run killed half-way leaves them (and their processes). Not this test's to delete on a person's machine;
        # under CI=true a skip would hide that the playbook never ran, so it fails, saying how to clean up.
        left = (f"users {COLLECTOR_USER}/{AGENT_USER} exist already (a previous run left them?); clean up: "
                f"pkill -u {COLLECTOR_USER}; pkill -u {AGENT_USER}; userdel {COLLECTOR_USER}; userdel {AGENT_USER}")
        if CI:
            pytest.fail(f"CI=true: {left}", pytrace=False)
        pytest.skip(left)
    # Not under pytest's tmp_path: its folders are 0700 and the service users must reach the prefix.
    work = Path(tempfile.mkdtemp(prefix="opsmon-ansible-"))
    os.chmod(work, 0o755)
    prefix = work / "root"
    for folder in ("etc", "opt", "var/lib"):  # what every real root has, with its usual modes
        (prefix / folder).mkdir(parents=True)
        os.chmod(prefix / folder, 0o755)
    os.chmod(prefix / "var", 0o755)
    try:
        wheels = sorted((ROOT / "dist").glob("opsmon-*.whl"))
        if not wheels:
            subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(work / "dist"), str(ROOT)], check=True, capture_output=True, timeout=300)
            wheels = sorted((work / "dist").glob("opsmon-*.whl"))
        with sshd_peer.Sshd(work / "ssh") as ssh:
            e = Estate(prefix, ssh, wheels[-1], work)
            try:
                yield e
            finally:
                e.close()
                print("slowest tasks:")
                for seconds, run, task in sorted(e.timings, reverse=True)[:12]:
                    print(f"  {seconds:5.1f} s  {run:20}  {task}")
    finally:
        for user in (AGENT_USER, COLLECTOR_USER):
            if _user_exists(user):
                subprocess.run(["userdel", user], capture_output=True)
            subprocess.run(["groupdel", user], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def _mode(path: Path) -> tuple[str, int]:
    st = path.stat()
    return pwd.getpwuid(st.st_uid).pw_name, stat.S_IMODE(st.st_mode)


def _start_collector(e: Estate) -> subprocess.Popen[bytes]:
    log = open(e.work / "collector.log", "wb")  # noqa: SIM115 - the process owns it
    proc = subprocess.Popen(["runuser", "-u", COLLECTOR_USER, "--", str(e.prefix / "opt/opsmon-collector/bin/opsmon"),
                             "--config", str(e.prefix / "etc/opsmon/collector.yaml"), "serve"],
                            stdout=log, stderr=subprocess.STDOUT)
    import httpx

    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, (e.work / "collector.log").read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{e.collector_port}/api/v1/health", timeout=1).status_code in (200, 401):
                return proc
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, (e.work / "collector.log").read_text()
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start_agent(e: Estate) -> subprocess.Popen[bytes]:
    log = open(e.work / "agent.log", "wb")  # noqa: SIM115 - the process owns it
    return subprocess.Popen(["runuser", "-u", AGENT_USER, "--", str(e.prefix / "opt/opsmon-agent/bin/opsmon-agent"),
                             "--config", str(e.prefix / "etc/opsmon/agent.toml")], stdout=log, stderr=subprocess.STDOUT)


def _unit_lines(e: Estate) -> list[str]:
    return (e.prefix / "etc/systemd/system/opsmon-agent.service").read_text().splitlines()


@needs_ansible
def test_site_playbook_real_run_over_ssh_is_idempotent(estate: Estate) -> None:
    """One command deploys collector, agent, Prometheus, Alertmanager and Grafana files; the second changes nothing.

    A bad variable stops the run first with a message naming it. The tokens are never printed,
    agent.toml and the agent token are 0600 and the agent's own, Prometheus's viewer token is
    root:prometheus 0640; the installed agent reports to the installed collector as a computer,
    Prometheus's token opens /metrics, the second run checks that the collector sees the agent, and
    a host that lost its tokens gets new ones (the old revoked).
    """
    e = estate
    started = time.monotonic()
    import httpx

    # (Bad variables, a bad opsmon_category included, stop a run early: test_bad_variables_stop_the_run_...)
    # --check --diff on an empty machine: reports what it would do, changes nothing, fails nowhere.
    rc, out = e.play("--check", "--diff")
    assert rc == 0, out
    assert not (e.prefix / "opt/opsmon-collector").exists() and not _user_exists(AGENT_USER), out
    assert not (e.prefix / "etc/prometheus/opsmon-token").exists()

    rc, out = e.play()
    assert rc == 0, out
    first = _recap(out)
    assert first["collector"]["changed"] > 0 and first["agent-01"]["changed"] > 0, out

    etc = e.prefix / "etc/opsmon"
    token = (etc / "agent.token").read_text().strip()
    assert token.startswith("opsmon_agent_")
    assert token not in out, "the agent token was printed"
    assert _mode(etc / "agent.token") == (AGENT_USER, 0o600)
    assert _mode(etc / "agent.toml") == (AGENT_USER, 0o600)
    toml = (etc / "agent.toml").read_text()
    assert f'collector_url = "http://127.0.0.1:{e.collector_port}"' in toml
    assert f'token_file = "{etc}/agent.token"' in toml and "opsmon_agent_" not in toml
    assert f'spool_dir = "{e.prefix}/var/lib/opsmon-agent/spool"' in toml
    assert _mode(e.prefix / "var/lib/opsmon-agent/spool") == (AGENT_USER, 0o700)
    assert _mode(etc / "collector.yaml") == ("root", 0o640)
    collector_yaml = (etc / "collector.yaml").read_text()
    assert f"path: {e.prefix}/var/lib/opsmon/opsmon.db" in collector_yaml
    assert f"port: {e.collector_port}" in collector_yaml
    unit = _unit_lines(e)
    # hardened, yet able to read what the security baseline needs (shadow, sudoers, auth.log): read only
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=read-only", "PrivateDevices=yes",
                 "AmbientCapabilities=CAP_DAC_READ_SEARCH", "CapabilityBoundingSet=CAP_DAC_READ_SEARCH",
                 "RestrictSUIDSGID=yes", "SystemCallFilter=@system-service",
                 f"ReadWritePaths={e.prefix}/var/lib/opsmon-agent/spool", f"User={AGENT_USER}",
                 f"ExecStart={e.prefix}/opt/opsmon-agent/bin/opsmon-agent --config {etc}/agent.toml"):
        assert line in unit, line
    assert not any("CAP_SYS_RAWIO" in x or "CAP_DAC_OVERRIDE" in x for x in unit if not x.startswith("#")), unit
    assert sum(x.startswith("ReadWritePaths") for x in unit) == 1
    assert (e.prefix / "etc/systemd/system/opsmon-collector.service").exists()
    # the agent's venv has the opsmon-agent distribution (not opsmon[agent]) and its dependencies only, not the
    # collector's web and database stack; made with the host's python3, it sees the OS's packages (python3-psutil)
    agent_py = str(e.prefix / "opt/opsmon-agent/bin/python")
    dists = subprocess.run([agent_py, "-c", "import importlib.metadata as m, psutil, opsmon.agent, os; "
                            "site = os.path.dirname(psutil.__path__[0]); "
                            "print(sorted(d.metadata['Name'] for d in m.distributions(path=[site])))"],
                           capture_output=True, text=True)
    assert dists.returncode == 0, dists.stderr
    assert "opsmon-agent" in dists.stdout and "'opsmon'" not in dists.stdout and "psutil" in dists.stdout, dists.stdout
    assert subprocess.run([agent_py, "-c", "import sqlalchemy"], capture_output=True).returncode != 0
    assert "include-system-site-packages = true" in (e.prefix / "opt/opsmon-agent/pyvenv.cfg").read_text()
    # inventory imported, agent enrolled (as the collector's user: the database has one owner) with the
    # inventory's opsmon_category
    assets = e.cli("assets", "list")
    assert assets.returncode == 0 and "core-switch" in assets.stdout, assets
    assert re.search(r"^agent-01\s+agent-01\s+computer\s+urumqi\s", assets.stdout, re.M), assets.stdout  # id, name
    assert _mode(e.prefix / "var/lib/opsmon/opsmon.db")[0] == COLLECTOR_USER
    listed = e.cli("agents", "list").stdout
    assert re.search(r"^agent-01\s.*\s-$", listed, re.M), listed
    # Prometheus's viewer token, made on the collector, never printed, readable by the prometheus user only
    prom_token_file = e.prefix / "etc/prometheus/opsmon-token"
    prom_token = prom_token_file.read_text().strip()
    assert prom_token.startswith("opsmon_") and prom_token not in out
    assert _mode(prom_token_file) == ("root", 0o640)
    assert grp.getgrgid(prom_token_file.stat().st_gid).gr_name == "prometheus"
    assert subprocess.run(["runuser", "-u", "prometheus", "--", "cat", str(prom_token_file)],
                          capture_output=True, text=True).stdout.strip() == prom_token
    tokens = e.cli("tokens", "list").stdout
    assert re.search(r"^prometheus-collector\s+viewer\s.*\s-$", tokens, re.M), tokens
    # Prometheus and Alertmanager files, checked by promtool and amtool on the way in; the collector on
    # Prometheus's own host is scraped at 127.0.0.1 (no scrape address in the inventory) with the token
    prom = (e.prefix / "etc/prometheus/prometheus.yml").read_text()
    assert f"- 127.0.0.1:{e.collector_port}" in prom and f"{e.prefix}/etc/prometheus/opsmon/*.yml" in prom
    assert f"credentials_file: {prom_token_file}" in prom and "scheme: http\n" in prom, prom
    assert sorted(p.name for p in (e.prefix / "etc/prometheus/opsmon").iterdir()) == \
        sorted(p.name for p in (ROOT / "rules/prometheus").glob("*.yml"))
    assert (e.prefix / "etc/prometheus/alertmanager.yml").read_bytes() == (ROOT / "rules/alertmanager.yml").read_bytes()
    assert subprocess.run(["promtool", "check", "config", str(e.prefix / "etc/prometheus/prometheus.yml")],
                          capture_output=True).returncode == 0
    if (ROOT / "grafana/provisioning/dashboards").is_dir():
        assert (e.prefix / "etc/grafana/provisioning/dashboards/opsmon.yaml").exists()

    # The installed programs work with what the roles wrote: the agent reports to the collector as a
    # computer, and Prometheus's token opens /metrics (closed without it).
    collector = _start_collector(e)
    agent = None
    try:
        metrics = f"http://127.0.0.1:{e.collector_port}/metrics"
        assert httpx.get(metrics, timeout=10).status_code == 401
        assert httpx.get(metrics, headers={"Authorization": f"Bearer {prom_token}"}, timeout=10).status_code == 200
        once = subprocess.run(["runuser", "-u", AGENT_USER, "--", str(e.prefix / "opt/opsmon-agent/bin/opsmon-agent"),
                               "--config", str(etc / "agent.toml"), "--once"],
                              capture_output=True, text=True, timeout=60)
        assert once.returncode == 0, once.stderr
        assert token not in once.stderr + once.stdout
        deadline = time.monotonic() + 30
        while not re.search(r"^agent-01\s+agent-01\s+computer\s+urumqi\s+up\s", status := e.cli("status").stdout, re.M):
            assert time.monotonic() < deadline, status + (e.work / "collector.log").read_text()
            time.sleep(0.5)

        # Second run, the agent running as its service would: nothing to do, and the role's check that
        # the collector sees the host (on by opsmon_agent_verify=true where systemd is not PID 1) passes.
        agent = _start_agent(e)
        rc, again = e.play("-e", "opsmon_agent_verify=true")
        assert rc == 0, again
        recap = _recap(again)
        assert recap and all(c["changed"] == 0 and c["failed"] == 0 for c in recap.values()), again
        verify = again.split("TASK [opsmon_agent : Check that the collector sees the host up")[1].split("TASK [")[0]
        assert "ok: [agent-01" in verify, verify
        assert (etc / "agent.token").read_text().strip() == token  # not enrolled twice
        assert prom_token_file.read_text().strip() == prom_token
    finally:
        if agent is not None:
            _stop(agent)
        _stop(collector)

    # A host whose token files are lost gets new tokens (the old revoked), then is stable again;
    # SMART turned on relaxes the unit just for the disks.
    (etc / "agent.token").unlink()
    prom_token_file.unlink()
    rc, out = e.play("--tags", "opsmon_agent,prometheus", "-e", "opsmon_agent_smart=true")
    assert rc == 0, out
    new = (etc / "agent.token").read_text().strip()
    assert new.startswith("opsmon_agent_") and new != token and new not in out
    assert _recap(out)["agent-01"]["changed"] > 0
    assert "revoked" not in out or token not in out
    new_prom = prom_token_file.read_text().strip()
    assert new_prom.startswith("opsmon_") and new_prom != prom_token and new_prom not in out
    assert _mode(prom_token_file) == ("root", 0o640)
    tokens = e.cli("tokens", "list").stdout
    assert re.search(r"^prometheus-collector\s+viewer\s.*\s-$", tokens, re.M), tokens
    assert re.search(r"^prometheus-collector#revoked-\d+\s+viewer\s", tokens, re.M), tokens
    unit = _unit_lines(e)
    for line in ("AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_SYS_RAWIO", "PrivateDevices=no",
                 "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_SYS_RAWIO", "NoNewPrivileges=yes",
                 "ProtectSystem=strict"):
        assert line in unit, line
    print(f"real runs took {time.monotonic() - started:.0f} s")
