"""`make run`'s two simulated HJ 212 units (collector/inputs/hj212/simulator.py) against a real `opsmon serve`
with the demo's own DAU assets and credentials: the rate comes out as the demo promises, under 90 %, and
`opsmon hj212 rates --by point` says why.

By hand, over the 48 hours of history the units send (hours h = 0..47):
- ww1 (COD, NH3-N): 应传 96, 实传 96, 有效 96 - (6 M + 3 D) x 2 = 78: 78/96 = 81.25 %;
- gas1 (SO2, NOx, dust): 144, 144, 144: 100 %;
- gas2 (same factors): silent from hour 38, so 实传 38 x 3 = 114 of 144, all N: 114/144 = 79.17 %;
- all: 应传 384, 实传 354, 有效 336: 336/384 = 87.5 % < 90 %: fail.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from opsmon.collector.store import open_store
from opsmon.collector.store.models import Hj212Datum
from tests.conftest import ROOT, free_port
from tests.peers.collector import wait_for

DEMO = ROOT / "collector" / "demo"


def demo_daus() -> str:
    """The demo inventory's DAUs, as the demo has them."""
    assets = yaml.safe_load((DEMO / "demo-assets.yaml").read_text(encoding="utf-8"))["assets"]
    return yaml.safe_dump({"assets": [a for a in assets if a["category"] == "dau"]}, allow_unicode=True)


def demo_hj212(port: int) -> str:
    section = yaml.safe_load((DEMO / "collector.yaml").read_text(encoding="utf-8"))["hj212"]
    return yaml.safe_dump({"hj212": {**section, "port": port}}, allow_unicode=True)


def test_the_demo_units_give_a_rate_under_90_percent_and_why(collector_factory, tmp_path: Path) -> None:
    port = free_port()
    c = collector_factory(demo_daus(), extra=demo_hj212(port))
    c.start()
    sim = subprocess.Popen([sys.executable, "-m", "opsmon.collector.inputs.hj212.simulator", "--port", str(port),
                            "--every", "1"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    store = open_store(f"sqlite:///{c.db}")
    try:
        def hourly() -> int:
            with store.session() as s:
                return s.scalar(select(func.count()).select_from(Hj212Datum).where(Hj212Datum.cn == "2061")) or 0
        wait_for(lambda: hourly() >= 354, 60, "the 48 hours of history stored (354 hourly values)")
        with store.session() as s:
            first = s.scalar(select(func.min(Hj212Datum.data_time)).where(Hj212Datum.cn == "2061"))
            minutes = s.scalar(select(func.count()).select_from(Hj212Datum).where(Hj212Datum.cn == "2051"))
        assert first is not None
        window = ("--from", first.isoformat(), "--to", (first + timedelta(hours=48)).isoformat())
        rows = {r["key"][3]: r for r in json.loads(c.cli("hj212", "rates", *window, "--by", "point",
                                                          "--format", "json").stdout)["rows"]}
        got = {p: (r["should"], r["transmitted"], r["effective"]) for p, r in rows.items()}
        assert got == {"ww1": (96, 96, 78), "gas1": (144, 144, 144), "gas2": (144, 114, 114)}
        assert rows["ww1"]["rate"] == pytest.approx(78 / 96) and rows["gas2"]["rate"] == pytest.approx(114 / 144)
        sla = json.loads(c.cli("sla", *window, "--format", "json").stdout)
        target = next(t for t in sla["targets"] if t["id"] == "data_transmission_effective_rate")
        assert target["value"] == pytest.approx(336 / 384) and target["status"] == "fail"
        assert [w["point"] for w in target["worst"]] == ["gas2", "ww1", "gas1"]
        assert minutes and minutes > 0  # the live minute data arrives too (gas2's never)
        assert "refused" not in c.log() and "wrong password" not in c.log()
    finally:
        store.close()
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=10)
    assert sim.returncode == 0, sim.stderr.read() if sim.stderr else ""
    assert c.stop()[0] == 0
