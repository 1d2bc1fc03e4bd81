"""/metrics for polled devices: encoded once per poll, served as bytes, under snmp_exporter's names.

Why our own encoder (issue 25): with prometheus_client's custom collectors every scrape rebuilt ~1,155
sample objects per 48-port switch and formatted them again, 60-70 % of opsmon's SNMP cost; and its counter
families always append `_total`, while snmp_exporter's names (which the dashboards use) have none. Here a
device's lines are encoded once after each of its polls (`DeviceState.generation` moved) and kept as bytes;
a scrape joins the cached bytes, and a scrape with no poll since the last one returns the same bytes object.

What a device exports:
- opsmon_snmp_up, opsmon_snmp_poll_duration_seconds, opsmon_snmp_poll_varbinds and
  opsmon_snmp_rate_discarded_total (refused counter deltas by reason);
- every profile field marked `metric: true` under its own name: counter types as `# TYPE <name> counter`
  (no `_total`, exactly as snmp_exporter writes them), everything else as gauges. A counter column read
  only on static refreshes (ifInOctets beside ifHCInOctets) is exported only when the device lacks the
  column it stands in for (the poller then reads it every poll): an hour-old counter is no counter;
- a table's label columns (ifName, ifAlias, ifDescr) on every series of the row, or, for a table with
  `info: true` (interfaces), on one `opsmon_snmp_<table>_info` series per row, so the page stays small;
- with `snmp.export_rates`, opsmon's own wrap- and reset-safe rates (opsmon_if_in_bits_per_second, ...)
  and opsmon_if_utilisation_ratio; otherwise Prometheus derives them (rules/prometheus/recording.yml).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from opsmon.collector.config.snmp_profiles import COUNTERS

UTILISATION = "opsmon_if_utilisation_ratio"
BPS = ("opsmon_if_in_bits_per_second", "opsmon_if_out_bits_per_second")
DEVICE_FAMILIES = (
    ("opsmon_snmp_up", "gauge", "1 when the device answered its last SNMP poll"),
    ("opsmon_snmp_poll_duration_seconds", "gauge", "Wall time of the last poll"),
    ("opsmon_snmp_poll_varbinds", "gauge", "Varbinds read by the last complete poll"),
    ("opsmon_snmp_rate_discarded", "counter", "Counter deltas refused (reboot, reset, absurd, clock) instead of "
                                              "becoming a rate"),
)


def label_value(text: str) -> str:
    """A label value as the text format wants it: backslash, double quote and newline escaped."""
    if "\\" in text or '"' in text or "\n" in text:
        return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return text


def number(value: float | int) -> str:
    """A sample value as prometheus_client.utils.floatToGoString writes it (Go's exponent from 1e7 on, +Inf, NaN),
    here so that a site poller serving this page (poller/metrics_door.py) does not load prometheus_client, which
    it does not otherwise need (1.4 MB RSS and 90 ms of imports measured)."""
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    s = repr(float(value))
    dot = s.find(".")
    if value > 0 and dot > 6:
        return f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.") + f"e+{dot - 1:02d}"
    return s


@dataclass
class _Device:
    generation: int
    families: dict[str, list[str]]  # family -> this device's sample lines


class SnmpExposition:
    """The SNMP part of /metrics, re-encoded per device only after that device's poll.

    `render()` may run in several threads at once (the API renders off the event loop): a lock keeps the
    cache whole. The hub's event loop replaces a device's state fields whole (never edits them in place), and
    the generation is read before encoding, so a poll that lands mid-encoding is encoded at the next scrape.
    """

    def __init__(self, hub: Any, export_rates: bool = False) -> None:
        self.hub = hub
        self.export_rates = export_rates
        self.encodes = 0  # devices encoded since start: a scrape without a poll in between encodes none
        self._lock = threading.Lock()
        self._devices: dict[str, _Device] = {}
        self._heads: dict[str, str] = {name: f"# HELP {name} {text}\n# TYPE {name} {kind}\n"
                                       for name, kind, text in DEVICE_FAMILIES}
        self._body: bytes | None = None
        # asset -> (table, column names) -> row index -> (label values, label text, info line, line prefixes)
        self._rows: dict[str, dict[tuple[str, tuple[str, ...]], dict[str, Any]]] = {}

    def render(self) -> bytes:
        with self._lock:
            devices = list(self.hub.devices.items())
            changed = self._body is None or len(devices) != len(self._devices)
            for asset, state in devices:
                cached = self._devices.get(asset)
                if cached is None or cached.generation != state.generation:
                    self._devices[asset] = self._encode(asset, state)
                    changed = True
            if len(self._devices) != len(devices):  # devices the hub forgot
                live = {asset for asset, _s in devices}
                self._devices = {a: d for a, d in self._devices.items() if a in live}
                self._rows = {a: r for a, r in self._rows.items() if a in live}
            if not changed and self._body is not None:
                return self._body
            parts: list[str] = []
            for name, head in self._heads.items():
                lines = [d.families[name] for d in self._devices.values() if name in d.families]
                if lines:
                    parts.append(head)
                    for chunk in lines:
                        parts.extend(chunk)
            self._body = "".join(parts).encode()
            return self._body

    def _family(self, fams: dict[str, list[str]], name: str, kind: str, text: str) -> list[str]:
        lines = fams.get(name)
        if lines is None:
            if name not in self._heads:
                help_ = (text or name).replace("\\", "\\\\").replace("\n", "\\n")
                self._heads[name] = f"# HELP {name} {help_}\n# TYPE {name} {kind}\n"
            lines = fams[name] = []
        return lines

    def _encode(self, asset: str, state: Any) -> _Device:
        generation = state.generation
        self.encodes += 1
        fams: dict[str, list[str]] = {}
        a = f'asset="{label_value(asset)}"'
        up, duration, varbinds, discarded = (n for n, _k, _t in DEVICE_FAMILIES)
        self._family(fams, up, "gauge", "").append(f"{up}{{{a}}} {1 if state.answered else 0}\n")
        self._family(fams, duration, "gauge", "").append(f"{duration}{{{a}}} {number(state.duration)}\n")
        for reason, count in list(state.discarded.items()):
            self._family(fams, discarded, "counter", "").append(
                f'{discarded}_total{{{a},reason="{label_value(reason)}"}} {count}\n')
        poll = state.last
        if poll is None:
            return _Device(generation, fams)
        self._family(fams, varbinds, "gauge", "").append(f"{varbinds}{{{a}}} {poll.varbinds}\n")
        for profile in state.profiles:
            for f in profile.scalars:
                value = poll.scalars.get(f.name)
                if f.metric and isinstance(value, int):
                    kind = "counter" if f.type in COUNTERS else "gauge"
                    self._family(fams, f.name, kind, f.help).append(f"{f.name}{{{a}}} {value}\n")
            for table in profile.tables:
                self._table(fams, asset, a, state, poll, table)
        return _Device(generation, fams)

    def _table(self, fams: dict[str, list[str]], asset: str, a: str, state: Any, poll: Any, table: Any) -> None:
        rows = poll.tables.get(table.name, {})
        if not rows:
            return
        cols = [(c.name, "counter" if c.type in COUNTERS else "gauge", c.help) for c in table.columns
                if c.metric and not (c.type in COUNTERS and c.refresh == "static"
                                     and (table.name, c.name) not in state.promoted)]
        outs = [self._family(fams, name, kind, text) for name, kind, text in cols]
        rates = state.rates.get(table.name, {}) if self.export_rates else {}
        helps = {r.metric: r.help for r in table.rates}
        info = f"opsmon_snmp_{table.name}_info"
        info_out = (self._family(fams, info, "gauge", f"The label columns of each {table.name} row, always 1: "
                                 f"join on (asset, {table.index_label})")
                    if table.info and table.labels else None)
        names = tuple(name for name, _k, _t in cols)
        # A row's label text, info line and "<column>{<labels>} " prefixes change only when its label columns do
        # (static: hourly): kept per device, table and column set, rebuilt for a row whose label values moved.
        key = (table.name, names)
        cached = self._rows.setdefault(asset, {}).get(key, {})
        fresh: dict[str, tuple[list[Any], str, str, tuple[str, ...]]] = {}
        pairs: list[tuple[dict[str, Any], tuple[str, ...]]] = []
        for idx, row in rows.items():
            values = [row.get(n, "") for n in table.labels]
            entry = cached.get(idx)
            if entry is None or entry[0] != values:
                labels = f'{a},{table.index_label}="{label_value(idx)}"'
                extra = "".join(f',{n}="{label_value(str(v))}"' for n, v in zip(table.labels, values, strict=True))
                line = ""
                if info_out is not None:
                    line = f"{info}{{{labels}{extra}}} 1\n"
                else:
                    labels += extra
                entry = (values, labels, line, tuple(f"{name}{{{labels}}} " for name in names))
            fresh[idx] = entry
            pairs.append((row, entry[3]))
            if info_out is not None:
                info_out.append(entry[2])
        self._rows[asset][key] = fresh
        for k, (name, out) in enumerate(zip(names, outs, strict=True)):
            out.extend([f"{prefixes[k]}{value}\n" for row, prefixes in pairs
                        if isinstance(value := row.get(name), int)])
        if not self.export_rates:
            return
        for idx, row in rows.items():
            labels = fresh[idx][1]
            got = rates.get(idx, {})
            for metric, value in got.items():
                self._family(fams, metric, "gauge", helps.get(metric, "")).append(
                    f"{metric}{{{labels}}} {number(value)}\n")
            speed = row.get("ifHighSpeed")
            bps = [got[m] for m in BPS if m in got]
            if table.name == "if" and isinstance(speed, int) and speed > 0 and bps:
                self._family(fams, UTILISATION, "gauge", "max(in, out) bits per second over the interface speed "
                             "(ifHighSpeed)").append(f"{UTILISATION}{{{labels}}} {number(max(bps) / (speed * 1e6))}\n")
