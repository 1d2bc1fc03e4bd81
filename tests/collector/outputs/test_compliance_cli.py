"""`opsmon compliance` (issue 23 item 3): per host and control point in the standard's order, Chinese or English,
JSON; with --host, the failing checks and their evidence; an unknown host is an error naming it (exit 2, as
every bad argument)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opsmon.collector.cli import main
from opsmon.collector.store import open_store
from opsmon.collector.store.models import BaselineResult
from tests.conftest import utc, write_config


def test_compliance_per_host_and_control_point(tmp_path: Path, capsys: Any) -> None:
    """srv-1: ia.passwd-shadowed pass, ia.no-empty-passwords fail (8.1.4.1: 1/2 = 50.0%), ac.ssh-root-login pass
    (8.1.4.2: 100.0%), ri.suid-dumpable fail (8.1.4.10: 0.0%), br.backup-fresh error (8.1.4.9: nothing counted,
    listed with no score); srv-2: ac.ssh-root-login fail (8.1.4.2: 0.0%)."""
    config = write_config(tmp_path, "database:\n  path: opsmon.db\ntimezone: Asia/Shanghai\n")
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    t = utc(2026, 11, 29, 2)
    with store.session() as s:
        for asset, check, status, evidence in (
                ("srv-1", "ia.passwd-shadowed", "pass", ""), ("srv-1", "ia.no-empty-passwords", "fail", "guest"),
                ("srv-1", "ac.ssh-root-login", "pass", ""), ("srv-1", "ri.suid-dumpable", "fail", "fs.suid_dumpable=2"),
                ("srv-1", "br.backup-fresh", "error", "timed out"), ("srv-2", "ac.ssh-root-login", "fail", "yes")):
            s.add(BaselineResult(asset_id=asset, check_id=check, policy="opsmon-debian", status=status,
                                 evidence=evidence, ran_at=t, since=t))
        s.commit()
    store.close()
    assert main(["--config", str(config), "compliance", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["asset"], r["clause"], r["passed"], r["failed"], r["score"]) for r in rows] == [
        ("srv-1", "8.1.4.1", 1, 1, 0.5), ("srv-1", "8.1.4.2", 1, 0, 1.0), ("srv-1", "8.1.4.9", 0, 0, None),
        ("srv-1", "8.1.4.10", 0, 1, 0.0), ("srv-2", "8.1.4.2", 0, 1, 0.0)]
    assert rows[0]["failing"][0]["check"] == "ia.no-empty-passwords" and rows[0]["failing"][0]["evidence"] == "guest"
    assert main(["--config", str(config), "compliance", "--host", "srv-1"]) == 0
    zh = capsys.readouterr().out
    assert zh.splitlines()[0].split() == ["主机", "条款", "控制点", "通过", "不通过", "符合率"]
    assert "身份鉴别" in zh and "50.0%" in zh and "剩余信息保护" in zh and "srv-2" not in zh
    assert "8.1.4.10 ri.suid-dumpable" in zh and "fs.suid_dumpable=2" in zh
    assert main(["--config", str(config), "compliance", "--lang", "en"]) == 0
    en = capsys.readouterr().out
    assert "Identification and authentication" in en and en.index("srv-1") < en.index("srv-2")
    assert main(["--config", str(config), "compliance", "--host", "nope"]) == 2
    assert "no baseline results for host 'nope'" in capsys.readouterr().err
