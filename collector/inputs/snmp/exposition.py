"""/metrics for polled devices, under snmp_exporter's names so existing dashboards work.

Profile fields marked `metric: true` are exported under their own name, without
`_total`, exactly as snmp_exporter writes them: counter types untyped (the
client library would rename a typed counter to `*_total`; rate() works the same),
everything else as gauges. Table metrics carry the
asset, the index label (e.g. ifIndex) and the table's label columns (ifName,
ifAlias, ifDescr). Rates computed by opsmon (already wrap- and reset-safe) are
gauges named by the profile (opsmon_if_in_bits_per_second, ...), and the
interface utilisation is derived from them.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from opsmon.collector.config.snmp_profiles import COUNTERS


class SnmpCollector(Collector):
    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        fams: dict[str, Metric] = {}

        def family(name: str, kind: str, help_: str, labels: list[str]) -> Metric:
            fam = fams.get(name)
            if fam is None:
                fam = Metric(name, help_ or name, kind)
                fams[name] = fam
            return fam

        up = GaugeMetricFamily("opsmon_snmp_up", "1 when the device answered its last SNMP poll", labels=["asset"])
        duration = GaugeMetricFamily("opsmon_snmp_poll_duration_seconds", "Wall time of the last poll",
                                     labels=["asset"])
        varbinds = GaugeMetricFamily("opsmon_snmp_poll_varbinds", "Varbinds read by the last complete poll",
                                     labels=["asset"])
        discards = CounterMetricFamily("opsmon_snmp_rate_discarded", "Counter deltas refused (reboot, reset, "
                                       "absurd, clock) instead of becoming a rate", labels=["asset", "reason"])
        util = GaugeMetricFamily("opsmon_if_utilisation_ratio",
                                 "max(in, out) bits per second over the interface speed (ifHighSpeed)",
                                 labels=["asset", "ifIndex", "ifName", "ifAlias", "ifDescr"])
        for asset, state in list(self.hub.devices.items()):
            up.add_metric([asset], 1.0 if state.answered else 0.0)
            duration.add_metric([asset], state.duration)
            for reason, count in state.discarded.items():
                discards.add_metric([asset, reason], count)
            poll = state.last
            if poll is None:
                continue
            varbinds.add_metric([asset], poll.varbinds)
            for profile in state.profiles:
                for f in profile.scalars:
                    value = poll.scalars.get(f.name)
                    if f.metric and isinstance(value, int):
                        kind = "unknown" if f.type in COUNTERS else "gauge"
                        family(f.name, kind, f.help, ["asset"]).add_sample(f.name, {"asset": asset}, value)
                for table in profile.tables:
                    rows = poll.tables.get(table.name, {})
                    rates = state.rates.get(table.name, {})
                    helps = {r.metric: r.help for r in table.rates}
                    metric_cols = [c for c in table.columns if c.metric]
                    for idx, row in rows.items():
                        labels = {"asset": asset, table.index_label: idx}
                        for name in table.labels:
                            labels[name] = str(row.get(name, ""))
                        for c in metric_cols:
                            value = row.get(c.name)
                            if isinstance(value, int):
                                kind = "unknown" if c.type in COUNTERS else "gauge"
                                family(c.name, kind, c.help, []).add_sample(c.name, labels, value)
                        for metric, value in rates.get(idx, {}).items():
                            family(metric, "gauge", helps.get(metric, ""), []).add_sample(metric, labels, value)
                        if table.name == "if":
                            speed = row.get("ifHighSpeed")
                            r = rates.get(idx, {})
                            bps = [r[m] for m in ("opsmon_if_in_bits_per_second", "opsmon_if_out_bits_per_second")
                                   if m in r]
                            if isinstance(speed, int) and speed > 0 and bps:
                                util.add_metric([asset, idx] + [str(row.get(k, "")) for k in
                                                                ("ifName", "ifAlias", "ifDescr")],
                                                max(bps) / (speed * 1e6))
        yield from (up, duration, varbinds, discards, util)
        yield from fams.values()
