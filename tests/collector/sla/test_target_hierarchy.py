"""rules/targets.yaml's 绩效目标表 hierarchy (issue 19 item 9): a target placed outside it is refused
with the file, the line and the key, every such target at once; the hierarchy itself is validated
like the rest of the file."""
from __future__ import annotations

from pathlib import Path

import pytest

from opsmon.collector.core.errors import ConfigError, ConfigProblems
from opsmon.collector.sla.targets import bundled_targets_path, load_targets
from tests.conftest import write_config

HIERARCHY = """\
indicators:
  output:
    name_zh: 产出指标
    name_en: Output indicators
    levels:
      quantity: {name_zh: 数量指标, name_en: Quantity}
      quality: {name_zh: 质量指标, name_en: Quality}
targets:
"""
TARGET = ("  - {{id: {id}, name_zh: a, name_en: a, indicator: {indicator}, measure: availability,"
          " comparator: '>=', threshold: 0.9}}\n")


def test_targets_outside_the_hierarchy_are_all_named_with_file_line_and_key(tmp_path: Path) -> None:
    """Lines: the hierarchy takes 8 lines, so targets[0] is on line 9, [1] on 10, [2] on 11."""
    body = HIERARCHY + "".join(TARGET.format(id=i, indicator=ind) for i, ind in (
        ("ok", "output.quality"), ("speed", "output.speed"), ("benefit", "effect.social")))
    path = write_config(tmp_path, body, "targets.yaml")
    with pytest.raises(ConfigProblems) as err:
        load_targets(path)
    problems = err.value.problems
    assert [(p.file, p.keypath) for p in problems] == [(f"{path}:10", "targets[1].indicator"),
                                                        (f"{path}:11", "targets[2].indicator")]
    assert "output (产出指标) has no 二级指标 'speed'; it has quantity, quality" in problems[0].reason
    assert "'effect.social' is not LEVEL1.LEVEL2 with LEVEL1 one of output" in problems[1].reason
    assert str(err.value).splitlines() == ["2 targets are outside the indicator hierarchy (indicators:):",
                                           f"{path}:10: targets[1].indicator: {problems[0].reason}",
                                           f"{path}:11: targets[2].indicator: {problems[1].reason}"]


@pytest.mark.parametrize("body, file_line, key, reason", [
    (TARGET.join(["targets:\n", ""]).format(id="x", indicator="output.quality"), 2, "targets[0].indicator",
     "no 'indicators:' hierarchy"),
    (HIERARCHY.replace("      quality: {name_zh: 质量指标, name_en: Quality}\n", "      quality: {name_zh: 质量指标}\n")
     + "  []\n", 7, "indicators.output.levels.quality.name_en", "required key is missing"),
    (HIERARCHY.replace("    levels:\n      quantity: {name_zh: 数量指标, name_en: Quantity}\n"
                       "      quality: {name_zh: 质量指标, name_en: Quality}\n", "    levels: {}\n") + "  []\n",
     5, "indicators.output.levels", "at least 1 item"),
])
def test_a_bad_hierarchy_names_file_line_and_key(tmp_path: Path, body: str, file_line: int, key: str,
                                                 reason: str) -> None:
    path = write_config(tmp_path, body, "targets.yaml")
    with pytest.raises(ConfigError) as err:
        load_targets(path)
    assert (err.value.file, err.value.keypath) == (f"{path}:{file_line}", key), str(err.value)
    assert reason in err.value.reason, str(err.value)


def test_the_bundled_table_places_each_target_as_the_2019_budget_does() -> None:
    """seed/budget-2019.txt, 项目支出绩效目标表 of the two projects: 时效 holds the response time limit,
    数量 the response rate, the reports and the three 'working normally' rows, 质量 connectivity,
    availability and the two national rates; satisfaction is its own 一级 and 二级 满意度指标."""
    table = load_targets(bundled_targets_path())
    placed = {t.id: (t.indicator, t.goal("zh")) for t in table.targets}
    assert placed == {
        "hardware_fault_response_time": ("output.timeliness", "1 小时内"),
        "security_incident_response_time": ("output.timeliness", "30 分钟内"),  # local policy (issue 23)
        "fault_response_rate": ("output.quantity", "≥100%"),
        "monitoring_analysis_reports": ("output.quantity", "24 份"),
        "servers_ok": ("output.quantity", "≥95%"),
        "computers_ok": ("output.quantity", "≥90%"),
        "network_security_devices_ok": ("output.quantity", "≥95%"),
        "network_connectivity": ("output.quality", "≥90%"),
        "system_availability": ("output.quality", "≥95%"),
        "satisfaction": ("satisfaction.satisfaction", "≥95%"),
        "data_transmission_effective_rate": ("output.quality", "达到国家考核要求（90%以上）"),
        "self_monitoring_publication_rate": ("output.quality", "≥95%"),
    }
    assert [(a.name_zh, a.name_en) for a in table.indicators.values()] == [
        ("产出指标", "Output indicators"), ("效益指标", "Effect indicators"), ("满意度指标", "Satisfaction indicators")]
    assert [lv.name_zh for lv in table.indicators["output"].levels.values()][:3] == ["数量指标", "质量指标", "时效指标"]
