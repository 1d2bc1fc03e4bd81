"""The collector's .deb installed into a clean Debian root with no network, and its .rpm read back with rpm.

The .deb's post-install makes the venv from the wheels the package carries, so dpkg runs here in a network
namespace of its own (loopback only): a step that reached for an index would fail. Then the installed
`opsmon` runs as the service user with no --config (it reads /etc/opsmon/collector.yaml), `opsmon serve`
answers its health check, and removal takes the venv but never the database.
"""
from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT
from tests.packaging.builds import load
from tests.packaging.conftest import needs_root
from tests.packaging.roots import Overlay, fixed_lines, rpm_query, stat

ROLE_UNIT = ROOT / "ansible" / "roles" / "opsmon_collector" / "templates" / "opsmon-collector.service.j2"

# As the service runs it: its user, the default config; serve until /api/v1/health answers, then stop it.
SERVE = """\
set -e
opsmon serve > /tmp/serve.log 2>&1 &
pid=$!
/opt/opsmon-collector/bin/python - <<'PY'
import time, urllib.request
for _ in range(300):
    try:
        print(urllib.request.urlopen("http://127.0.0.1:8470/api/v1/health", timeout=1).status)
        break
    except OSError:
        time.sleep(0.1)
PY
kill -INT $pid
wait $pid || true
"""


def test_the_collector_deb_installs_offline_serves_and_keeps_its_data(collector_packages: tuple[Path, Path],
                                                                      debian_root: Path, tmp_path: Path) -> None:
    needs_root()
    deb, _ = collector_packages
    packages = load("collector_packages")
    root = Overlay(debian_root, tmp_path)
    root.put("/tmp/opsmon-collector.deb", deb.read_bytes())

    installed = root.run("dpkg", "-i", "/tmp/opsmon-collector.deb", offline=True, timeout=300)
    assert "Setting up opsmon-collector (0.1.0-1)" in installed.stdout, installed.stdout + installed.stderr

    _, _, uid, _, comment, home, shell = root.run("getent", "passwd", "opsmon").stdout.strip().split(":")
    assert int(uid) < 1000 and (home, shell, comment) == ("/var/lib/opsmon", "/usr/sbin/nologin", "opsmon collector")
    assert stat(root, "/var/lib/opsmon", "/etc/opsmon/collector.yaml", "/etc/opsmon/targets.yaml",
                "/etc/opsmon/inventory", "/opt/opsmon-collector/bin/opsmon") == {
        "/var/lib/opsmon": "opsmon:opsmon 750",
        "/etc/opsmon/collector.yaml": "root:opsmon 640",  # a database URL may hold a password
        "/etc/opsmon/targets.yaml": "root:opsmon 640",
        "/etc/opsmon/inventory": "root:opsmon 750",
        "/opt/opsmon-collector/bin/opsmon": "root:root 755",
    }
    assert root.run("readlink", "/usr/bin/opsmon").stdout.strip() == "/opt/opsmon-collector/bin/opsmon"
    assert root.run("dpkg-query", "-W", "-f", "${Conffiles}", "opsmon-collector").stdout.split()[::2] == [
        "/etc/opsmon/collector.yaml", "/etc/opsmon/targets.yaml"]

    unit = root.run("cat", "/lib/systemd/system/opsmon-collector.service").stdout
    assert unit == packages.unit()
    assert len(fixed_lines(ROLE_UNIT)) >= 25
    assert [line for line in fixed_lines(ROLE_UNIT) if line not in unit.splitlines()] == []
    assert "ExecStart=/opt/opsmon-collector/bin/opsmon --config /etc/opsmon/collector.yaml serve" in unit

    # The rules and dashboards, as in the repository; every pinned wheel and opsmon's own, and the venv holds
    # exactly the pins (pip freeze, less opsmon itself).
    for shipped, source in (("rules/prometheus/alerts.yml", "rules/prometheus/alerts.yml"),
                            ("rules/targets.yaml", "rules/targets.yaml"),
                            ("dashboards/overview.json", "grafana/dashboards/overview.json")):
        assert root.run("cat", f"/usr/share/opsmon/{shipped}").stdout == (ROOT / source).read_text()
    pins = sorted(line.lower().replace("_", "-") for line in packages.CONSTRAINTS.read_text().splitlines()
                  if line and not line.startswith("#"))
    frozen = root.run("/opt/opsmon-collector/bin/python", "-m", "pip", "freeze", "--exclude", "opsmon").stdout
    assert sorted(line.lower().replace("_", "-") for line in frozen.split()) == pins

    # The service user's `opsmon`, no --config: /etc/opsmon/collector.yaml. check-config passes, serve answers.
    as_opsmon = ("setpriv", "--reuid=opsmon", "--regid=opsmon", "--init-groups")
    checked = root.run(*as_opsmon, "opsmon", "check-config", check=False, offline=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    served = root.run(*as_opsmon, "sh", "-c", SERVE, check=False, offline=True, timeout=120)
    assert served.stdout.strip() == "200", served.stdout + served.stderr + root.run("cat", "/tmp/serve.log").stdout
    data = root.run("ls", "/var/lib/opsmon").stdout.split()
    assert "opsmon.db" in data

    # Remove: the unit, the venv and the command go; the database stays, through a purge too.
    root.run("dpkg", "-r", "opsmon-collector")
    gone = root.run("ls", "/opt/opsmon-collector", "/usr/bin/opsmon", "/lib/systemd/system/opsmon-collector.service",
                    check=False)
    assert gone.returncode != 0 and gone.stdout == ""
    root.run("dpkg", "-P", "opsmon-collector")
    assert root.run("ls", "/var/lib/opsmon").stdout.split() == data
    assert root.run("ls", "-A", "/etc/opsmon", check=False).stdout == ""


def test_the_collector_rpm_holds_the_wheels_unit_rules_and_scripts(collector_packages: tuple[Path, Path]) -> None:
    _, rpm = collector_packages
    packages = load("collector_packages")

    def query(*args: str) -> str:
        return rpm_query(rpm, *args)

    assert query("--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH}") == "opsmon-collector 0.1.0-1 x86_64"
    requires = [r for r in query("--requires").splitlines() if not r.startswith(("rpmlib(", "/bin/sh"))]
    assert requires == ["(python3.11 or (python3 >= 3.11 with python3 < 3.12))", "shadow-utils"]
    assert query("-c").split() == ["/etc/opsmon/collector.yaml", "/etc/opsmon/targets.yaml"]
    listed = query("-l").split()
    wheels = [p for p in listed if p.startswith("/usr/share/opsmon/wheels/")]
    # the pins (comments aside) and opsmon's own wheel
    pins = [line for line in packages.CONSTRAINTS.read_text().splitlines() if line and not line.startswith("#")]
    assert len(wheels) == len(pins) + 1 and any(w.split("/")[-1].startswith("opsmon-0.1.0-") for w in wheels)
    for path in ("/usr/lib/systemd/system/opsmon-collector.service", "/usr/share/opsmon/rules/prometheus/alerts.yml",
                 "/usr/share/opsmon/rules/alertmanager.yml", "/usr/share/opsmon/dashboards/overview.json",
                 "/usr/share/opsmon/constraints.txt"):
        assert path in listed, path
    scripts = query("--scripts")
    for label, which in (("postinstall", "postinst"), ("preuninstall", "prerm"), ("postuninstall", "postrm")):
        assert f"{label} scriptlet (using /bin/sh):\n{packages.package(Path('/dev/null')).script('rpm', which)}" \
            in scripts, scripts
    assert "useradd --system" in scripts and "--no-index" in scripts
