"""Hardware faults, the 1-hour response target's subject, from the agent's signals to an incident.

The agent derives fault signals from its collections (agent/hardware.py); the collector stores each
as an observation of kind `hardware` and opens one incident per component, with a deadline one hour
(the target table's hardware response limit) after it opened.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime

import httpx

from opsmon.agent.hardware import FaultDetector
from tests.peers.collector import wait_for


def fs(mountpoint: str, readonly: bool) -> dict:
    return {"mountpoint": mountpoint, "readonly": readonly}


def test_fault_detector_signals() -> None:
    d = FaultDetector()
    healthy = {"filesystems": [fs("/", False), fs("/data", False), fs("/media/cdrom", True)],
               "smart": [{"device": "sda", "healthy": True}, {"device": "sdb", "healthy": None}],
               "sensors": {"fans": [{"fan": "cpu_fan", "rpm": 2400}],
                           "temperatures": [{"sensor": "coretemp/Package", "celsius": 99.0, "critical": 100.0},
                                            {"sensor": "acpitz", "celsius": 120.0, "critical": None}]}}
    # Healthy, unknown SMART (None), a filesystem read-only from the start (a CD, by design) and a
    # sensor without a critical mark: no fault.
    assert d.faults(healthy) == []
    failing = {"filesystems": [fs("/", False), fs("/data", True), fs("/media/cdrom", True)],
               "smart": [{"device": "sda", "healthy": False}],
               "sensors": {"fans": [{"fan": "cpu_fan", "rpm": 0}],
                           "temperatures": [{"sensor": "coretemp/Package", "celsius": 100.0, "critical": 100.0}]}}
    assert d.faults(failing) == [
        {"component": "filesystem:/data", "problem": "remounted read-only (I/O errors?)"},
        {"component": "disk:sda", "problem": "SMART overall health failed"},
        {"component": "fan:cpu_fan", "problem": "fan stopped"},
        {"component": "sensor:coretemp/Package", "problem": "temperature 100°C at or over critical 100°C"},
    ]
    # /data was seen writable before, so it keeps being reported while read-only; no sensors, no SMART:
    # nothing else.
    assert d.faults({"filesystems": [fs("/data", True)]}) == [
        {"component": "filesystem:/data", "problem": "remounted read-only (I/O errors?)"}]
    assert d.faults({}) == []


def test_agent_hardware_signal_opens_one_incident_with_a_one_hour_deadline(collector_factory) -> None:
    c = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    c.start()
    token = c.cli("agents", "enroll", "srv-hw", "--category", "server", "--site", "urumqi").stdout.strip()
    seq = iter(range(1, 1000))

    def post(hardware: list[dict]) -> httpx.Response:
        now = time.time()
        doc = {"schema": 1, "stream": "cd" * 16, "seq": next(seq), "ts": now, "interval": 1, "metrics": {},
               "hardware": hardware}
        return httpx.post(c.base + "/api/v1/agent/report", json=doc, timeout=10,
                          headers={"Authorization": f"Bearer {token}", "X-Opsmon-Sent-At": str(now)})

    assert post([]).status_code == 200
    disk = {"component": "disk:sda", "problem": "SMART overall health failed"}
    fan = {"component": "fan:cpu_fan", "problem": "fan stopped"}
    sent = time.time()
    assert post([disk]).status_code == 200
    assert post([disk]).status_code == 200  # still failing on the next collection: the same incident
    assert post([disk, fan]).status_code == 200
    active = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(
        c.get("/api/v1/incidents?status=active").json()), 20, "two hardware incidents")
    by_cause = {i["cause"].split(":")[0] + ":" + i["cause"].split(":")[1]: i for i in active}
    assert set(by_cause) == {"disk:sda", "fan:cpu_fan"}
    inc = by_cause["disk:sda"]
    assert (inc["asset"], inc["kind"], inc["status"]) == ("srv-hw", "hardware", "open")
    assert inc["cause"] == "disk:sda: SMART overall health failed"
    opened = datetime.fromisoformat(inc["opened_at"]).timestamp()
    assert sent - 1 <= opened <= time.time()
    assert (datetime.fromisoformat(inc["deadline"]).timestamp() - opened) == 3600.0
    # The host itself is up: a hardware fault is not down time.
    assert c.states()["srv-hw"]["state"] == "up"
    c.stop()
    with sqlite3.connect(c.config.parent / "opsmon.db") as db:
        kinds = db.execute("SELECT check_id, status, kind FROM observations WHERE asset_id = 'srv-hw' "
                           "AND kind = 'hardware' ORDER BY id").fetchall()
    assert kinds == [("hw:disk:sda", "down", "hardware")] * 3 + [("hw:fan:cpu_fan", "down", "hardware")]
