"""The report's security section: compliance per control point and per host as the baseline stood at
the period's end (computed by hand below), and the security findings opened and closed in the period."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from opsmon.collector.outputs.report import build_report
from opsmon.collector.outputs.report.html import render_html
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.store import Store
from opsmon.collector.store.models import BaselineChange
from tests.conftest import utc, write_config

openpyxl = pytest.importorskip("openpyxl")


def test_security_section_figures(store: Store, tmp_path: Path) -> None:
    from opsmon.collector.config import load_config

    config = load_config(write_config(tmp_path, "database:\n  path: opsmon.db\ntimezone: Asia/Shanghai\n"))
    t = utc(2026, 8, 1)
    rows = [  # host, check, status -> access_control: 2 pass 1 fail; identity_authentication: 1 pass 1 fail
        ("srv-1", "ac.ssh-root-login", "pass"), ("srv-1", "ac.shadow-perms", "pass"),
        ("srv-1", "ia.no-empty-passwords", "fail"), ("srv-2", "ac.ssh-root-login", "fail"),
        ("srv-2", "ia.no-empty-passwords", "pass"), ("srv-2", "ri.coredump-storage", "not_applicable"),
    ]
    earlier = [  # before the rows above, oldest first: the findings' history
        ("srv-2", "ac.ssh-root-login", "pass", utc(2026, 6, 1)),        # fails on Aug 1: opened in Q3
        ("srv-1", "ia.no-empty-passwords", "pass", utc(2026, 7, 5)),
        ("srv-1", "ia.no-empty-passwords", "fail", utc(2026, 7, 10)),   # opened
        ("srv-1", "ia.no-empty-passwords", "error", utc(2026, 7, 11)),  # undecided: changes nothing
        ("srv-1", "ia.no-empty-passwords", "pass", utc(2026, 7, 20)),   # resolved
        ("srv-1", "ac.shadow-perms", "fail", utc(2026, 6, 10)),         # failing before Q3, passes Aug 1:
    ]                                                                    # resolved, but not opened in Q3
    with store.session() as session:
        for asset, check, status, since in earlier:
            session.add(BaselineChange(asset_id=asset, check_id=check, policy="opsmon-debian", status=status,
                                       since=since))
        for asset, check, status in rows:  # srv-1's empty-password check fails again on Aug 1: opened
            session.add(BaselineChange(asset_id=asset, check_id=check, policy="opsmon-debian", status=status,
                                       since=t))
        session.commit()
    data = build_report(store, config, parse_period("2026Q3", "Asia/Shanghai"), "en", utc(2026, 10, 2))
    sec = data.security
    controls = {c["control"]: (c["passed"], c["failed"], c["score"]) for c in sec["controls"]}
    assert controls == {"access_control": (2, 1, 2 / 3), "identity_authentication": (1, 1, 0.5)}
    hosts = [(h["asset"], h["passed"], h["failed"]) for h in sec["hosts"]]
    assert hosts == [("srv-2", 1, 1), ("srv-1", 2, 1)]  # lowest compliance first
    assert (sec["findings_opened"], sec["findings_closed"]) == (3, 1)
    html = render_html(data, draw_charts=False)
    assert "6. Security compliance" in html and "66.7%" in html and "50.0%" in html
    zh = render_html(build_report(store, config, parse_period("2026Q3", "Asia/Shanghai"), "zh", utc(2026, 10, 2)),
                     draw_charts=False)
    assert "六、安全合规" in zh and "访问控制" in zh
    from opsmon.collector.outputs.report import render

    wb = openpyxl.load_workbook(io.BytesIO(render(data, "xlsx")))
    ws = next(ws for ws in wb.worksheets if ws.title.startswith("6."))
    values = [[c.value for c in row] for row in ws.iter_rows()]
    access = next(r for r in values if r[1] == "access_control")
    assert access[2:5] == [2, 1, pytest.approx(2 / 3)]


def test_security_section_is_as_of_the_period_end(store: Store, tmp_path: Path) -> None:
    """srv-1's root-login check: fail from Jun 20, pass from Aug 10 (Q3), fail again from Oct 5 (Q4).
    Q2 sees it failing, Q3 passing at its end, Q4 failing; changes after an end never reach back."""
    from opsmon.collector.config import load_config

    config = load_config(write_config(tmp_path, "database:\n  path: opsmon.db\ntimezone: Asia/Shanghai\n"))
    with store.session() as session:
        for since, status in ((utc(2026, 6, 20), "fail"), (utc(2026, 8, 10), "pass"), (utc(2026, 10, 5), "fail")):
            session.add(BaselineChange(asset_id="srv-1", check_id="ac.ssh-root-login", policy="opsmon-debian",
                                       status=status, since=since))
        # Another check first seen exactly at Q3's end (Oct 1 00:00 Shanghai = Sep 30 16:00Z): Q4's, not Q3's.
        session.add(BaselineChange(asset_id="srv-1", check_id="ac.shadow-perms", policy="opsmon-debian",
                                   status="pass", since=utc(2026, 9, 30, 16)))
        session.commit()

    def controls(period: str) -> dict[str, tuple[int, int]]:
        sec = build_report(store, config, parse_period(period, "Asia/Shanghai"), "en", utc(2026, 12, 1)).security
        return {c["control"]: (c["passed"], c["failed"]) for c in sec["controls"]}

    assert controls("2026Q2") == {"access_control": (0, 1)}
    assert controls("2026Q3") == {"access_control": (1, 0)}
    assert controls("2026Q4") == {"access_control": (1, 1)}
    assert controls("2026Q1") == {}
