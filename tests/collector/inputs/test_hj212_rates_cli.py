"""`opsmon hj212 rates`, `opsmon hj212 exempt` and `opsmon sla` on the same stored hours (issue 17, item 2).

The range measured is the 48 complete hours before the current hour, so every hour's correction deadline
(the 10th of a later month) is still ahead and an exemption entered now counts. Hours k = 0..47 of the range:
- point ww1, w01018: every hour sent, flag N, except hour 5 sent with flag D;
- point ww1, w21003: hours 0..39 sent (N), hours 40..47 missing.
By hand: 应传 96, 实传 48 + 40 = 88, 有效 47 + 40 = 87: 传输率 88/96 = 91.67 %, 有效率 87/88 = 98.86 %,
传输有效率 87/96 = 90.625 %. With hours 40..47 of w21003 exempted (停产): 应传 88, 87/88 = 98.864 %.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsmon.collector.store import open_store
from opsmon.collector.store.models import Hj212Datum
from tests.collector.inputs.test_hj212_service import ASSETS  # the DAU dau-dxcbz, point ww1
from tests.conftest import run_cli, write_config


def test_rates_exemptions_and_the_sla_agree(tmp_path: Path) -> None:
    (tmp_path / "assets.yaml").write_text(ASSETS, encoding="utf-8")
    path = write_config(tmp_path, "timezone: Asia/Shanghai\ndatabase:\n  path: opsmon.db\n"
                                  "inventory:\n  files: [assets.yaml]\n"
                                  "hj212:\n  credentials:\n    dxcbz: {password: '123456'}\n")
    cfg = ("--config", str(path))
    assert run_cli(*cfg, "assets", "import", str(tmp_path / "assets.yaml")).returncode == 0
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=48)
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    with store.session.begin() as s:
        for k in range(48):
            for factor, sent, flag in (("w01018", True, "D" if k == 5 else "N"), ("w21003", k < 40, "N")):
                if sent:
                    s.add(Hj212Datum(asset_id="dau-dxcbz", mn="DXCBZ000000005", cn="2061", point="ww1", factor=factor,
                                     data_time=start + timedelta(hours=k), avg="1.0", flag=flag, crc="ok",
                                     received=start + timedelta(hours=k + 1)))
    store.close()
    window = ("--from", start.isoformat(), "--to", end.isoformat())

    proc = run_cli(*cfg, "hj212", "rates", *window, "--by", "point", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)["rows"]
    assert row["key"] == ["昌吉回族自治州", "某污水处理有限公司", "dau-dxcbz", "ww1"]
    assert (row["should"], row["transmitted"], row["effective"]) == (96, 88, 87)
    assert row["rate"] == pytest.approx(87 / 96) and row["transmission_rate"] == pytest.approx(88 / 96)
    table = run_cli(*cfg, "hj212", "rates", *window, "--by", "site").stdout
    assert "昌吉回族自治州" in table and "90.62%" in table and "91.67%" in table and "98.86%" in table, table
    sla = json.loads(run_cli(*cfg, "sla", *window, "--format", "json").stdout)
    target = next(t for t in sla["targets"] if t["id"] == "data_transmission_effective_rate")
    assert target["value"] == pytest.approx(87 / 96) and target["status"] == "pass"
    assert target["detail"]["should"] == 96 and target["detail"]["points_below_90"] == 0

    # Refused, with every reason at once: no proof, a point the DAU does not have.
    ex = ("hj212", "exempt", "add", "dau-dxcbz", "--start", (start + timedelta(hours=40)).isoformat(),
          "--end", end.isoformat(), "--kind", "stopped", "--reason", "停产检修")
    bad = run_cli(*cfg, *ex, "--point", "ww9", "--proof", " ")
    assert bad.returncode == 2
    assert "proof is required" in bad.stderr and "DAU 'dau-dxcbz' has no point 'ww9' (points: ww1)" in bad.stderr
    ok = run_cli(*cfg, *ex, "--point", "ww1", "--factor", "w21003", "--proof", "昌环函〔2026〕7号")
    assert ok.returncode == 0, ok.stderr
    listing = run_cli(*cfg, "hj212", "exempt", "list").stdout
    shown = (start + timedelta(hours=40)).astimezone(ZoneInfo("Asia/Shanghai")).isoformat(sep=" ", timespec="minutes")
    assert "停产检修" in listing and "昌环函〔2026〕7号" in listing and shown in listing, listing  # local time
    row = json.loads(run_cli(*cfg, "hj212", "rates", *window, "--by", "point", "--format", "json").stdout)["rows"][0]
    assert (row["should"], row["transmitted"], row["effective"], row["exempt"]) == (88, 88, 87, 8)
    assert row["rate"] == pytest.approx(87 / 88)
    sla = json.loads(run_cli(*cfg, "sla", *window, "--format", "json").stdout)
    assert next(t for t in sla["targets"] if t["id"] == "data_transmission_effective_rate")["value"] == \
        pytest.approx(87 / 88)

    assert run_cli(*cfg, "hj212", "exempt", "remove", "1").returncode == 0
    assert run_cli(*cfg, "hj212", "exempt", "remove", "1").returncode == 2
    audit = run_cli(*cfg, "audit").stdout
    assert "hj212.exemption.add" in audit and "hj212.exemption.remove" in audit
    row = json.loads(run_cli(*cfg, "hj212", "rates", *window, "--by", "point", "--format", "json").stdout)["rows"][0]
    assert row["should"] == 96
