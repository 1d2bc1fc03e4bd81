"""Grafana dashboards: generated JSON in sync, structure, and every query's PromQL and metric names."""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.peers import needs_peer

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DASHBOARDS = GRAFANA / "dashboards"


def _load_generator():
    spec = importlib.util.spec_from_file_location("opsmon_grafana_generate", GRAFANA / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


gen = _load_generator()
BOARDS = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DASHBOARDS.glob("*.json"))}

# What the collector, agent and SNMP poller expose (docs/*.md, collector/outputs/metrics.py, agent/exposition.py,
# collector/inputs/snmp/exposition.py and the SNMP profiles), and the recording rules of rules/.
HISTOGRAMS = {"opsmon_check_duration_seconds", "opsmon_scheduler_lag_seconds",
              "opsmon_incident_time_to_acknowledge_seconds", "opsmon_incident_time_to_resolve_seconds"}
METRICS = {
    # collector
    "opsmon_asset_up", "opsmon_asset_state", "opsmon_sla_value", "opsmon_sla_threshold",
    "opsmon_sla_budget_left_seconds", "opsmon_sla_coverage", "opsmon_sla_pass", "opsmon_check_results_total",
    "opsmon_scheduler_missed_total", "opsmon_scheduler_skipped_total", "opsmon_store_queue_length",
    "opsmon_agent_last_report_timestamp_seconds", "opsmon_agent_clock_offset_seconds",
    "opsmon_asset_info", "opsmon_icmp_rtt_seconds", "opsmon_icmp_loss_ratio", "opsmon_tls_cert_not_after_seconds",
    # HJ 212 (the receiver's counters and the SLA worker's hours and rates)
    "opsmon_hj212_should_hourly_values", "opsmon_hj212_transmitted_hourly_values",
    "opsmon_hj212_effective_hourly_values", "opsmon_hj212_transmission_ratio", "opsmon_hj212_effective_ratio",
    "opsmon_hj212_effective_transmission_ratio", "opsmon_hj212_frames_accepted_total",
    "opsmon_hj212_frames_refused_total", "opsmon_hj212_answers_total", "opsmon_hj212_connections",
    # security
    "opsmon_compliance_ratio", "opsmon_baseline_checks", "opsmon_host_auth_failures_total",
    "opsmon_host_logins_total", "opsmon_fim_changes_total",
    # flows
    "opsmon_flow_link_bytes_total", "opsmon_flow_link_interval_bytes", "opsmon_flow_link_baseline_bytes",
    "opsmon_flow_outside_events_total", "opsmon_flow_records_total", "opsmon_flow_refused_total",
    "opsmon_flow_datagrams_total", "opsmon_flow_site_bytes_total", "opsmon_flow_exporter_info",
    # incidents
    "opsmon_incidents_open", "opsmon_incident_unacknowledged_seconds", "opsmon_incident_breaches_total",
    # host agent
    "opsmon_host_cpu_seconds_total", "opsmon_host_cpu_count", "opsmon_host_load1", "opsmon_host_load5",
    "opsmon_host_load15", "opsmon_host_memory_total_bytes", "opsmon_host_memory_available_bytes",
    "opsmon_host_swap_total_bytes", "opsmon_host_swap_used_bytes", "opsmon_host_uptime_seconds",
    "opsmon_host_boot_time_seconds", "opsmon_host_procs", "opsmon_host_filesystem_size_bytes",
    "opsmon_host_filesystem_avail_bytes", "opsmon_host_filesystem_files", "opsmon_host_filesystem_files_free",
    "opsmon_host_filesystem_readonly", "opsmon_host_disk_read_bytes_total", "opsmon_host_disk_written_bytes_total",
    "opsmon_host_disk_reads_completed_total", "opsmon_host_disk_writes_completed_total",
    "opsmon_host_network_receive_bytes_total", "opsmon_host_network_transmit_bytes_total",
    "opsmon_host_network_receive_errs_total", "opsmon_host_network_transmit_errs_total",
    "opsmon_host_network_receive_drop_total", "opsmon_host_network_transmit_drop_total",
    "opsmon_host_network_receive_packets_total", "opsmon_host_network_transmit_packets_total",
    "opsmon_host_network_up", "opsmon_host_service_up", "opsmon_host_temperature_celsius", "opsmon_host_fan_rpm",
    "opsmon_host_smart_healthy",
    # SNMP (snmp_exporter names, no _total)
    "ifHCInOctets", "ifHCOutOctets", "ifHCInUcastPkts", "ifHCOutUcastPkts", "ifHCInBroadcastPkts",
    "ifHCOutBroadcastPkts", "ifInErrors", "ifOutErrors", "ifInDiscards", "ifOutDiscards", "ifOperStatus",
    "ifAdminStatus", "ifHighSpeed", "sysUpTime", "hrStorageSize", "hrStorageUsed",
    "hrStorageAllocationUnits", "hrProcessorLoad", "hrDeviceStatus", "opsmon_snmp_if_info",
    "opsmon_snmp_up", "opsmon_snmp_poll_duration_seconds", "opsmon_snmp_poll_varbinds",
    "opsmon_snmp_rate_discarded_total",
} | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}
RECORDING_RULES = {
    "opsmon:asset_up:avg_by_category", "opsmon:asset_up:avg_by_site", "opsmon:host_cpu_utilisation:ratio_rate5m",
    "opsmon:host_memory_utilisation:ratio", "opsmon:host_filesystem_utilisation:ratio",
    "opsmon:incidents_open:sum_by_kind", "opsmon:incident_time_to_acknowledge_seconds:p90_rate1d",
    "opsmon:if_in_bits:rate5m", "opsmon:if_out_bits:rate5m", "opsmon:if_in_errors:rate5m",
    "opsmon:if_out_errors:rate5m", "opsmon:if_in_discards:rate5m", "opsmon:if_out_discards:rate5m",
    "opsmon:if_utilisation:ratio_rate5m",
}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
            "group_right", "inf", "nan", "atan2"}
UIDS = {"overview.json": "opsmon-overview", "hosts.json": "opsmon-hosts", "network.json": "opsmon-network",
        "incidents.json": "opsmon-incidents", "availability.json": "opsmon-availability",
        "security.json": "opsmon-security", "hj212.json": "opsmon-hj212", "quarter.json": "opsmon-quarter",
        "flows.json": "opsmon-flows"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def metric_names(expr: str) -> set[str]:
    """Metric names in PromQL, roughly: identifiers outside strings, matchers, ranges and label lists
    that are not followed by "(" (functions, aggregations) and are not keywords."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        if m.start() and (e[m.start() - 1].isdigit() or e[m.start() - 1] in ".$"):
            continue  # 1e-9, 0.5, a $variable
        rest = e[m.end():].lstrip()
        if rest.startswith("(") or re.match(r"(by|without)\b", rest) or m.group() in KEYWORDS:
            continue  # a function, an aggregation (also "sum by (...) (...)") or a keyword
        names.add(m.group())
    return names


def all_queries():
    return list(gen.queries(BOARDS.values()))


# --------------------------------------------------------------------------- in sync with the generator
def test_committed_json_matches_the_generator():
    built = gen.build()
    assert set(built) == set(BOARDS), "python grafana/generate.py adds or removes dashboards"
    for name, board in built.items():
        assert (DASHBOARDS / name).read_text(encoding="utf-8") == gen.render(board), \
            f"{name} is out of date: run python grafana/generate.py"


def test_check_flag(tmp_path):
    cmd = [sys.executable, str(GRAFANA / "generate.py"), "--check"]
    assert subprocess.run(cmd, capture_output=True, cwd=ROOT).returncode == 0
    out = tmp_path / "dashboards"
    shutil.copytree(DASHBOARDS, out)
    assert subprocess.run([*cmd, "--out", str(out)], capture_output=True).returncode == 0
    board = out / "hosts.json"
    board.write_text(board.read_text(encoding="utf-8").replace("Host CPU", "Host CPUs"), encoding="utf-8")
    run = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 1 and "hosts.json" in run.stderr
    # a rewrite brings it back
    assert subprocess.run([sys.executable, str(GRAFANA / "generate.py"), "--out", str(out)],
                          capture_output=True).returncode == 0
    assert board.read_text(encoding="utf-8") == (DASHBOARDS / "hosts.json").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- structure
def test_the_dashboards_with_stable_uids_and_bilingual_titles():
    assert {n: b["uid"] for n, b in BOARDS.items()} == UIDS
    for board in BOARDS.values():
        assert board["schemaVersion"] == 39
        assert board["id"] is None and "opsmon" in board["tags"]
        assert " / " in board["title"] and CJK.search(board["title"]), board["title"]


@pytest.mark.parametrize("name", sorted(UIDS))
def test_panels_have_unique_ids_bilingual_titles_and_the_datasource_variable(name):
    board = BOARDS[name]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}"
    for p in board["panels"]:
        assert " / " in p["title"] and CJK.search(p["title"]), p["title"]
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert p["targets"], f"panel {p['id']} {p['title']} has no query"
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs))
        for t in p["targets"]:
            assert t["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert t["expr"].strip(), f"empty query in panel {p['id']}"


@pytest.mark.parametrize("name", sorted(UIDS))
def test_variables(name):
    variables = {v["name"]: v for v in BOARDS[name]["templating"]["list"]}
    ds = variables["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    for var in ("site", "category"):
        v = variables[var]
        assert v["type"] == "query" and v["includeAll"] and v["allValue"] == ".*" and v["multi"]
        assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert v["definition"].startswith("label_values(opsmon_asset_up") and v["definition"].endswith(f", {var})")
    for v in variables.values():
        if v["type"] != "datasource":
            assert v["allValue"] == ".*"
    # every $variable a query uses is defined on its dashboard
    for q in gen.queries([BOARDS[name]]):
        for used in re.findall(r"\$\{?(\w+)\}?", q["expr"]):
            assert used in variables, f"panel {q['panel']} uses ${used}, not a variable of {name}"


def test_site_and_category_filter_the_queries():
    """Where the dashboards offer site/category, queries over assets honour them."""
    for name in ("overview.json", "hosts.json", "network.json", "availability.json"):
        exprs = " ".join(q["expr"] for q in gen.queries([BOARDS[name]]))
        assert 'site=~"$site"' in exprs and 'category=~"$category"' in exprs, name


# --------------------------------------------------------------------------- PromQL
def test_metric_name_parser():
    assert metric_names('sum by (asset, mode) (rate(opsmon_host_cpu_seconds_total{mode!="idle"}[5m]))') \
        == {"opsmon_host_cpu_seconds_total"}
    assert metric_names("histogram_quantile(0.9, sum by (le) (rate(x_bucket[1d]))) or on() vector(0)") \
        == {"x_bucket"}
    assert metric_names('a / on(asset) group_left(site) b{site=~"$site"} > 1e-9 and c:d:e') == {"a", "b", "c:d:e"}
    assert metric_names("count(time() - opsmon_agent_last_report_timestamp_seconds > 180)") == \
        {"opsmon_agent_last_report_timestamp_seconds"}
    # a typo is caught
    assert not metric_names("rate(opsmon_host_cpu_second_total[5m])") <= METRICS


def test_queries_use_only_known_metrics():
    unknown = {}
    for q in all_queries():
        bad = metric_names(q["expr"]) - METRICS - RECORDING_RULES
        if bad:
            unknown[f"{q['dashboard']} panel {q['panel']} {q['refId']}"] = sorted(bad)
    assert not unknown, unknown


def test_recording_rules_used_are_defined_in_rules():
    defined = set()
    for path in [*ROOT.glob("rules/**/*.yml"), *ROOT.glob("rules/**/*.yaml")]:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict):
            for group in doc.get("groups") or []:
                defined |= {r["record"] for r in group.get("rules") or [] if "record" in r}
    if not defined:
        pytest.skip("rules/ has no recording rules yet")
    used = set().union(*(metric_names(q["expr"]) for q in all_queries())) & RECORDING_RULES
    assert used <= defined, f"used but not recorded in rules/: {sorted(used - defined)}"


PROMTOOL = shutil.which("promtool")


@needs_peer(PROMTOOL is None, reason="promtool is not installed")
def test_every_query_parses_with_promtool(tmp_path):
    """promtool (2.42) has no query-parse command: each expr becomes a recording rule, which
    `promtool check rules` parses with the real PromQL parser."""
    groups = {}
    for q in all_queries():
        record = f"grafana_check:{q['dashboard'].replace('-', '_')}:panel{q['panel']}_{q['refId']}"
        groups.setdefault(q["dashboard"], []).append({"record": record, "expr": gen.substitute(q["expr"])})
    for i, a in enumerate(gen.ANNOTATIONS):
        groups.setdefault("annotations", []).append({"record": f"grafana_check:annotation{i}", "expr": a["expr"]})
    rules = tmp_path / "panels.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": n, "rules": r} for n, r in groups.items()]},
                                    allow_unicode=True, sort_keys=False), encoding="utf-8")
    run = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{sum(len(r) for r in groups.values())} rules found" in run.stdout


@needs_peer(PROMTOOL is None, reason="promtool is not installed")
def test_promtool_check_catches_a_broken_query(tmp_path):
    rules = tmp_path / "bad.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"record": "grafana_check:bad", "expr": "sum by (asset (opsmon_asset_up)"}]}]}), encoding="utf-8")
    assert subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True).returncode != 0


# --------------------------------------------------------------------------- the target table
def _overrides(panel):
    return {o["matcher"]["options"]: {p["id"]: p["value"] for p in o["properties"]}
            for o in panel["fieldConfig"]["overrides"]}


def test_target_stats_are_coloured_at_their_thresholds():
    table = yaml.safe_load((ROOT / "rules" / "targets.yaml").read_text(encoding="utf-8"))
    targets = {t["id"]: t for t in table["targets"]}
    overview = BOARDS["overview.json"]
    values = next(p for p in overview["panels"] if p.get("targets") and p["targets"][0]["expr"].startswith(
        "opsmon_sla_value"))
    over = _overrides(values)
    assert set(over) == set(targets), "one tile per target of rules/targets.yaml"
    for tid, t in targets.items():
        steps = over[tid]["thresholds"]["steps"]
        assert over[tid]["displayName"] == f"{t['name_zh']} / {t['name_en']}"
        assert steps[0]["value"] is None and len(steps) == 2
        if t["comparator"] in (">=", ">"):
            assert [s["color"] for s in steps] == ["red", "green"], tid
        else:
            assert [s["color"] for s in steps] == ["green", "red"], tid
    # "<=": exactly at the threshold still passes (green), just above fails
    hw = over["hardware_fault_response_time"]["thresholds"]["steps"]
    assert targets["hardware_fault_response_time"]["comparator"] == "<="
    assert 3600 < hw[1]["value"] < 3600.001 and over["hardware_fault_response_time"]["unit"] == "s"
    # ">=": green from the threshold on
    assert over["servers_ok"]["thresholds"]["steps"][1]["value"] == targets["servers_ok"]["threshold"]
    assert over["servers_ok"]["unit"] == "percentunit"
    # counts: the yearly threshold prorated to a quarter, as opsmon sla judges a quarter
    assert over["monitoring_analysis_reports"]["thresholds"]["steps"][1]["value"] == \
        targets["monitoring_analysis_reports"]["threshold"] / 4


def test_overview_has_open_incidents_and_downtime_budget():
    exprs = [q["expr"] for q in gen.queries([BOARDS["overview.json"]])]
    assert any("opsmon_incidents_open" in e for e in exprs)
    assert any(e.startswith("opsmon_sla_budget_left_seconds") for e in exprs)


def test_platform_dependent_panels_sit_in_their_own_row():
    """Temperatures, fans and SMART have no data on a VM: they are alone in one row of Hosts."""
    sensors = {"opsmon_host_temperature_celsius", "opsmon_host_fan_rpm", "opsmon_host_smart_healthy"}
    platform = gen.platform_dependent(BOARDS.values())
    assert list(platform) == ["opsmon-hosts"] and len(platform["opsmon-hosts"]) == 3
    for q in all_queries():
        uses = bool(metric_names(q["expr"]) & sensors)
        assert uses == (q["panel"] in platform.get(q["dashboard"], [])), q


# --------------------------------------------------------------------------- provisioning
def test_provisioning_files():
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "opsmon.yaml").read_text(encoding="utf-8"))
    assert ds["apiVersion"] == 1
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://127.0.0.1:9090"
    dash = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "opsmon.yaml").read_text(encoding="utf-8"))
    (provider,) = dash["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards/opsmon"


# --------------------------------------------------------------------------- matching the SLA (issue 21 item 8)
def _panels(name):
    return [p for p in BOARDS[name]["panels"] if p["type"] != "row"]


def test_state_timelines_show_opsmon_asset_state_one_colour_per_state():
    """Every asset or link timeline reads opsmon_asset_state; each of the six states has its own code and colour."""
    from opsmon.collector.core.states import STATES

    (mapping,) = gen.STATE_MAP
    options = mapping["options"]
    assert sorted(gen.STATE_COLOURS[int(code)][0] for code in options) == sorted(STATES)
    assert len({o["color"] for o in options.values()}) == len(STATES)
    timelines = [(name, p) for name in ("availability.json", "network.json", "hj212.json")
                 for p in _panels(name) if p["type"] == "state-timeline"]
    assert len(timelines) == 3
    for name, p in timelines:
        (t,) = p["targets"]
        assert "opsmon_asset_state" in t["expr"] and "opsmon_asset_up ==" not in t["expr"], name
        assert p["fieldConfig"]["defaults"]["mappings"] == gen.STATE_MAP
        assert t["legendFormat"] == "{{name}} ({{asset}})" and "group_left(name) opsmon_asset_info" in t["expr"]


def test_unreachable_and_maintenance_are_never_down():
    """A query that averages opsmon_asset_up or counts it at 0 leaves out unreachable, maintenance and unknown
    (the SLA's exclusions), and so do the recording rules the dashboards read."""
    rules = yaml.safe_load((ROOT / "rules" / "prometheus" / "recording.yml").read_text(encoding="utf-8"))
    recorded = {r["record"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    for name in ("opsmon:asset_up:avg_by_category", "opsmon:asset_up:avg_by_site"):
        assert gen.NOT_COUNTED in " ".join(recorded[name].split()).replace("on (asset)", "on(asset)"), name
    judged = 0
    for q in all_queries():
        e = q["expr"]
        if re.search(r"avg by \([^)]*\) \(+opsmon_asset_up|count\(+opsmon_asset_up.*== 0\)", e):  # share up, count down
            judged += 1
            assert gen.NOT_COUNTED in e, (q["dashboard"], q["title"], e)
    assert judged >= 9  # up now and over time by category and site (overview, availability), links, down counts


def test_names_beside_ids_and_the_new_panels():
    """Every legend that names an asset puts its inventory name beside the id (joined from opsmon_asset_info), but a
    count that falls back to a bare 0 (no asset to join)."""
    legends = [(t["legendFormat"], t["expr"]) for b in BOARDS.values() for p in b["panels"]
               for t in p.get("targets", []) if "{{asset}}" in t["legendFormat"]]
    assert len(legends) > 40
    for legend, expr in legends:
        assert ("{{name}} ({{asset}})" in legend and "group_left(name) opsmon_asset_info" in expr) or \
            "vector(0)" in expr, (legend, expr)
    titles = {q["title"]: q["expr"] for q in all_queries()}
    assert "opsmon_icmp_rtt_seconds" in titles["链路时延 / Link latency (ICMP RTT)"]
    assert "opsmon_icmp_loss_ratio" in titles["链路丢包率 / Link loss (ICMP)"]
    assert f"< {30 * 86400}" in titles["30 天内到期的证书 / Certificates expiring within 30 days"]
    assert "opsmon_asset_info" in titles["证书剩余天数（最少 20 个） / Certificate days left (fewest 20)"]
    quarter = BOARDS["quarter.json"]
    assert quarter["time"] == {"from": "now/fQ", "to": "now"}
    trend = [q for q in gen.queries([quarter]) if q["expr"].startswith("last_over_time(opsmon_sla_value")]
    table = yaml.safe_load((ROOT / "rules" / "targets.yaml").read_text(encoding="utf-8"))
    shown = set().union(*(set(re.search(r'target=~"([^"]+)"', q["expr"]).group(1).split("|")) for q in trend))
    assert shown == {t["id"] for t in table["targets"]}, "every target's daily trend, this quarter"


def test_annotations_for_incidents_and_maintenance():
    for board in BOARDS.values():
        names = [a["name"] for a in board["annotations"]["list"]]
        assert names[1:] == ["事件（待确认） / Incidents awaiting acknowledgement", "维护 / Maintenance"]
        for a in board["annotations"]["list"][1:]:
            assert a["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert metric_names(a["expr"]) <= METRICS


def test_hj212_board_rates_against_90_percent():
    """Rates per prefecture, enterprise and point: effective / due hours pooled (the national denominator:
    (实传/应传) x (有效/实传) = 有效/应传), green from 90 %; points at 0, DAUs offline and refusals by reason."""
    panels = {p["title"]: p for p in _panels("hj212.json")}
    for title, by in (("传输有效率（按地州） / Rate per prefecture", "site"),
                      ("传输有效率（按企业，最低 20） / Rate per enterprise (lowest 20)", "site, enterprise"),
                      ("监测点传输有效率（最低 50） / Rate per monitoring point (lowest 50)",
                       "site, enterprise, asset, mn, point")):
        p = panels[title]
        assert f"sum by ({by}) (opsmon_hj212_effective_hourly_values{{{gen.HALF}}}) / " \
               f"(sum by ({by}) (opsmon_hj212_should_hourly_values{{{gen.HALF}}}) > 0)" in p["targets"][0]["expr"]
        assert p["fieldConfig"]["defaults"]["thresholds"]["steps"][-1] == {"color": "green", "value": 0.9}
    assert "== 0" in panels["零传输点位 / Points at 0"]["targets"][0]["expr"]
    assert 'state="down"' in panels["离线数采仪 / DAUs offline"]["targets"][0]["expr"]
    assert "sum by (reason)" in panels["拒收的帧（按原因） / Frames refused, by reason"]["targets"][0]["expr"]


def test_flows_board_volume_baseline_and_outside_traffic():
    """The flow board (issue 23 item 5): per-link traffic from the interval counter in bits/s, the interval's
    bytes beside its baseline, the ratio to it (orange below 1/3 and from 3 on, the default flows.baseline.factor),
    the outside-destination events; traffic per prefecture filtered by the site variable, the exporters outside
    the inventory; and a link variable of the links of the chosen sites."""
    board = BOARDS["flows.json"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["link"]["definition"] == 'label_values(opsmon_flow_exporter_info{site=~"$site"}, link)'
    panels = {p["title"]: p for p in _panels("flows.json")}
    sites = panels["地州流量（比特/秒） / Traffic per prefecture, bits/s"]
    assert sites["targets"][0]["expr"] == 'sum by (site) (rate(opsmon_flow_site_bytes_total{site=~"$site"}[15m])) * 8'
    outside = panels["清单外的导出设备 / Exporters outside the inventory"]
    assert outside["targets"][0]["expr"] == 'count(opsmon_flow_exporter_info{inventory!="link"}) or on() vector(0)'
    traffic = panels["链路流量（比特/秒） / Link traffic, bits/s"]
    assert traffic["targets"][0]["expr"] == 'sum by (link) (rate(opsmon_flow_link_bytes_total{link=~"$link"}[15m])) * 8'
    ratio = panels["相对基线的倍数 / Ratio to baseline"]
    assert "/ on(link) (opsmon_flow_link_baseline_bytes" in ratio["targets"][0]["expr"]
    steps_ = ratio["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps_] == [None, 1 / 3, 3]
    assert "opsmon_flow_outside_events_total" in panels[
        "越界流量事件（24 小时） / Outside-destination events, 24 h"]["targets"][0]["expr"]
