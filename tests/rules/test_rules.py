"""Prometheus rules and the example Alertmanager config, checked by the real tools.

`promtool check rules` parses every expression; `promtool test rules` runs the unit tests
in rules/tests/ (every alert fires when it should and stays quiet when it should);
`amtool check-config` validates rules/alertmanager.yml, `amtool config routes test` shows where
each alert goes (only faults opsmon cannot see itself reach its webhook), and a real Alertmanager
(Debian's prometheus-alertmanager) shows the inhibit rules silencing what they should.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import ROOT, free_port
from tests.peers import missing_peer

RULES = ROOT / "rules"
ALERTMANAGER = RULES / "alertmanager.yml"
OPSMON = "opsmon-incidents"

# Alerts mirroring a fault opsmon turns into an incident by itself: an asset's state turning down or
# degraded (availability incident), an agent or SNMP hardware observation (hardware incident). They
# carry opsmon_native="true" and must never reach opsmon's webhook, where each would open a second
# incident (fingerprint alert:<fp>) and count twice in the response SLA. A new alert is one or the other
# on purpose: add it here or to PROMETHEUS_ONLY_TO_OPSMON / TO_PEOPLE.
NATIVE = {
    "OpsmonAssetDown": "asset state down: availability incident",
    "OpsmonLinkDown": "the link asset's state down: availability incident",
    "OpsmonAgentNotReporting": "the agent pseudo-check down after 3 silent intervals: availability incident",
    "HostFilesystemReadOnly": "agent hardware signal (remounted read-only): hardware incident",
    "HostDiskSmartFailing": "agent hardware signal (SMART failed): hardware incident",
    "SnmpDeviceNotAnswering": "the SNMP poll is the device's check: availability incident",
    "TlsCertificateExpiring": "the HTTPS check turns degraded under tls_warn_days (14): availability incident",
    **dict.fromkeys(("OpsmonBruteForce", "OpsmonCriticalFileChanged", "OpsmonUnexpectedConfigChange",
                     "OpsmonSshHostKeyChanged", "OpsmonCriticalBaselineFailed"),
                    "an active security incident opsmon opened itself: security incident (issue 23)"),
    "OpsmonTrapIncident": "an incident a mapped trap opened (hardware or security): opsmon's own (issue 23)",
}
# Critical alerts opsmon does not detect itself: these become opsmon incidents through the webhook.
PROMETHEUS_ONLY_TO_OPSMON = {"HostFilesystemFull", "HostServiceDown"}
# Everything else goes to people: warnings to the team, opsmon's own SLA alerts to the lead.
# opsmon's notification path failing goes to the lead's mail too, never to opsmon's webhook (it would be
# told through the very channels that fail).
TO_PEOPLE = {"IncidentUnacknowledged45m": "team-lead-mail", "SlaTargetBelowThreshold": "team-lead-mail",
             "OpsmonNotificationChannelFailing": "team-lead-mail", "OpsmonNotificationsDropped": "team-lead-mail",
             # the collector itself failing: the team, at once, and never opsmon's webhook (it may be what is down)
             **dict.fromkeys(("OpsmonCollectorDown", "OpsmonCollectorNotScraped", "OpsmonStoreFailing",
                              "OpsmonStoreDroppingOperations", "OpsmonStoreQueueGrowing", "OpsmonSlaWorkerStale"),
                             "ops-team-mail")}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing_peer(f"{name} is not installed (Debian packages prometheus and prometheus-alertmanager)")
    return path


def rule_files() -> list[Path]:
    return sorted((RULES / "prometheus").glob("*.yml"))


def alert_rules() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for path in rule_files() for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule}


def static_labels(alertname: str) -> dict[str, str]:
    """The labels an alert's rule sets (severity, kind, opsmon_native) and its name."""
    return {"alertname": alertname, **{k: str(v) for k, v in alert_rules()[alertname].get("labels", {}).items()}}


def receivers(labels: dict[str, str]) -> list[str]:
    out = subprocess.run([tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                          *(f"{k}={v}" for k, v in labels.items())], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return [r.strip() for r in out.stdout.strip().split(",")]


def test_promtool_check_rules() -> None:
    out = subprocess.run([tool("promtool"), "check", "rules", *map(str, rule_files())], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_unit_tests_pass() -> None:
    tests = sorted((RULES / "tests").glob("*_test.yml"))
    assert tests
    out = subprocess.run([tool("promtool"), "test", "rules", *map(str, tests)], capture_output=True, text=True,
                         timeout=120, cwd=RULES / "tests")
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_has_a_unit_test_that_fires_it_and_bilingual_summaries() -> None:
    alerts: set[str] = set()
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts.add(rule["alert"])
                    assert {"summary", "summary_zh"} <= set(rule.get("annotations", {})), rule["alert"]
                    assert re.search(r"[\u4e00-\u9fff]", rule["annotations"]["summary_zh"]), rule["alert"]
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in (RULES / "tests").glob("*_test.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts - fired == set(), "alerts never shown firing"
    assert alerts - quiet == set(), "alerts never shown staying quiet (an eval with no exp_alerts)"


def test_every_alert_links_its_runbook_entry() -> None:
    """Every alert has a `runbook_url` naming its entry of docs/runbook.md: a heading that is the alert's own
    name, whose GitHub anchor (the heading in lower case) is the URL's fragment (issue 20). The opsmon-collector
    group (the collector watched by Prometheus) holds exactly the six self-watch alerts."""
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    anchors = {line[3:].strip().lower() for line in runbook.splitlines() if line.startswith("## ")}
    collector = {rule["alert"] for path in rule_files() for group in yaml.safe_load(path.read_text())["groups"]
                 if group["name"] == "opsmon-collector" for rule in group["rules"]}
    assert collector == {"OpsmonCollectorDown", "OpsmonCollectorNotScraped", "OpsmonStoreFailing",
                         "OpsmonStoreDroppingOperations", "OpsmonStoreQueueGrowing", "OpsmonSlaWorkerStale"}
    linked = {name: rule["annotations"]["runbook_url"] for name, rule in alert_rules().items()
              if "runbook_url" in rule.get("annotations", {})}
    assert set(linked) == set(alert_rules())
    for name, url in linked.items():
        assert url == f"docs/runbook.md#{name.lower()}", (name, url)
        assert name.lower() in anchors, f"docs/runbook.md has no section ## {name}"


def test_native_alerts_are_labelled_and_every_alert_is_classified() -> None:
    rules = alert_rules()
    labelled = {name for name, rule in rules.items() if rule.get("labels", {}).get("opsmon_native") == "true"}
    assert labelled == set(NATIVE)
    assert set(rules) >= set(NATIVE) | PROMETHEUS_ONLY_TO_OPSMON | set(TO_PEOPLE)


def test_only_alerts_opsmon_cannot_see_itself_reach_its_webhook() -> None:
    """`amtool config routes test` for every alert of rules/prometheus with the labels its rule sets."""
    for name in alert_rules():
        got = receivers(static_labels(name))
        assert len(got) == len(set(got)), (name, got)  # never sent twice to one receiver
        if name in PROMETHEUS_ONLY_TO_OPSMON:
            assert got == [OPSMON], (name, got)
        else:
            assert OPSMON not in got, (name, got, NATIVE.get(name))
            assert got == [TO_PEOPLE.get(name, "ops-team-mail")], (name, got)
    # the review's cases, spelled out
    assert receivers({"alertname": "OpsmonAssetDown", "severity": "critical", "opsmon_native": "true"}) == [
        "ops-team-mail"]
    assert receivers({"alertname": "HostDiskSmartFailing", "severity": "critical", "kind": "hardware",
                      "opsmon_native": "true"}) == ["ops-team-mail"]
    assert receivers({"alertname": "HostFilesystemFull", "severity": "critical", "asset": "db"}) == [OPSMON]
    # an alert someone adds later, critical or hardware and not marked native: an opsmon incident
    assert receivers({"alertname": "RaidDegraded", "severity": "warning", "kind": "hardware"}) == [OPSMON]
    assert receivers({"alertname": "BackupFailed", "severity": "critical"}) == [OPSMON]
    # opsmon's own notifications, whatever their severity and kind, go to people and never back
    for severity in ("critical", "major", "minor"):
        for kind in ("availability", "hardware", "alert", "security"):
            assert receivers({"alertname": "OpsmonIncident", "severity": severity, "kind": kind,
                              "incident": "INC-20261129-0001", "asset": "db-01", "site": "urumqi"}) == [
                "ops-team-mail"]


def start_alertmanager(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Debian's Alertmanager with the example's routes and inhibit rules; receivers without a target,
    so nothing is mailed or posted (group_wait is 30 s anyway)."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        missing_peer("Alertmanager is not installed (Debian package prometheus-alertmanager)")
    config = yaml.safe_load(ALERTMANAGER.read_text())
    config["receivers"] = [{"name": r["name"]} for r in config["receivers"]]
    config["global"] = {"resolve_timeout": "5m"}
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen([binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=(tmp_path / "am.log").open("wb"))
    base = f"http://127.0.0.1:{port}/api/v2"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/status", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("Alertmanager did not start: " + (tmp_path / "am.log").read_text()[-2000:])
        time.sleep(0.2)


def test_inhibit_rules_in_a_real_alertmanager(tmp_path: Path) -> None:
    """A down WAN link silences the alerts of its site (now that the rules give them `site`), not other
    sites' and not alerts without a site; a down host silences its services. `amtool` cannot evaluate
    inhibition offline, so the alerts, with the labels the rules give them (rules/tests/alerts_test.yml),
    are posted to a running Alertmanager and their status read back."""
    def alert(name: str, **labels: str) -> dict[str, Any]:
        return {"labels": {**static_labels(name), **labels}}

    sent = {
        "link": alert("OpsmonLinkDown", asset="wan-07", category="link", site="prefecture-07"),
        "link itself": alert("OpsmonAssetDown", asset="wan-07", state="down", site="prefecture-07"),
        "host behind": alert("OpsmonAssetDown", asset="srv-07", state="down", site="prefecture-07"),
        "switch behind": alert("SnmpDeviceNotAnswering", asset="sw-07", site="prefecture-07"),
        "port behind": alert("InterfaceDown", asset="sw-07", site="prefecture-07", ifIndex="1", ifName="Gi0/1",
                             ifAlias="office", ifDescr="x"),
        "agent behind": alert("OpsmonAgentNotReporting", asset="pc-07", site="prefecture-07"),
        "other site": alert("OpsmonAssetDown", asset="app-01", state="down", site="urumqi"),
        "link without site": alert("OpsmonLinkDown", asset="wan-00", category="link"),
        "host without site": alert("OpsmonAssetDown", asset="lab-01", state="down"),
        "service of a down host": alert("HostServiceDown", asset="srv-07", service="nginx"),
        "service of a live host": alert("HostServiceDown", asset="db-01", service="postgresql"),
    }
    inhibited = {"link itself", "host behind", "switch behind", "port behind", "agent behind",
                 "service of a down host"}
    proc, base = start_alertmanager(tmp_path)
    try:
        httpx.post(f"{base}/alerts", json=list(sent.values()), timeout=10).raise_for_status()
        by_labels = {tuple(sorted(a["labels"].items())): key for key, a in sent.items()}
        deadline = time.monotonic() + 20
        while True:
            got = {by_labels[tuple(sorted(a["labels"].items()))]: bool(a["status"]["inhibitedBy"])
                   for a in httpx.get(f"{base}/alerts", timeout=10).json()}
            if len(got) == len(sent) and {k for k, v in got.items() if v} == inhibited:
                break
            if time.monotonic() > deadline:
                assert len(got) == len(sent) and {k for k, v in got.items() if v} == inhibited, got
            time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_example_alertmanager_config_is_valid() -> None:
    out = subprocess.run([tool("amtool"), "check-config", str(RULES / "alertmanager.yml")], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
