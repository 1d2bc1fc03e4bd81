"""Agent samples as Prometheus metric families, shared by the agent's local /metrics
and the collector's /metrics (which adds the asset label). Names follow node_exporter's
where one exists, prefixed opsmon_host_."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


def families(m: dict[str, Any], base: dict[str, str]) -> Iterator[Metric]:
    keys, vals = list(base), list(base.values())

    def gauge(name: str, doc: str, extra: list[str] | None = None) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=keys + (extra or []))

    def counter(name: str, doc: str, extra: list[str] | None = None) -> CounterMetricFamily:
        return CounterMetricFamily(name, doc, labels=keys + (extra or []))

    cpu = m.get("cpu")
    if cpu:
        f = counter("opsmon_host_cpu_seconds", "CPU time by mode, all cores", ["mode"])
        for mode, secs in cpu["seconds"].items():
            f.add_metric(vals + [mode], secs)
        yield f
        f = gauge("opsmon_host_cpu_count", "Logical CPUs")
        f.add_metric(vals, cpu["count"])
        yield f
        if cpu.get("load"):
            for i, window in enumerate(("1", "5", "15")):
                f = gauge(f"opsmon_host_load{window}", f"{window}-minute load average")
                f.add_metric(vals, cpu["load"][i])
                yield f
    mem = m.get("memory")
    if mem:
        for key, name in (("total", "memory_total_bytes"), ("available", "memory_available_bytes"),
                          ("swap_total", "swap_total_bytes"), ("swap_used", "swap_used_bytes")):
            f = gauge(f"opsmon_host_{name}", name.replace("_", " "))
            f.add_metric(vals, mem[key])
            yield f
    system = m.get("system")
    if system:
        for key, name, doc in (("uptime", "uptime_seconds", "Seconds since boot"),
                               ("boot_time", "boot_time_seconds", "Boot time, Unix seconds"),
                               ("procs", "procs", "Processes")):
            f = gauge(f"opsmon_host_{name}", doc)
            f.add_metric(vals, system[key])
            yield f
    fs = m.get("filesystems") or []
    if fs:
        labels = ["mountpoint", "fstype", "device"]
        out = {k: gauge(f"opsmon_host_filesystem_{k}", f"Filesystem {k.replace('_', ' ')}", labels)
               for k in ("size_bytes", "avail_bytes", "files", "files_free", "readonly")}
        for d in fs:
            lv = vals + [d["mountpoint"], d["fstype"], d["device"]]
            out["size_bytes"].add_metric(lv, d["size"])
            out["avail_bytes"].add_metric(lv, d["avail"])
            out["readonly"].add_metric(lv, 1.0 if d.get("readonly") else 0.0)
            if "files" in d:
                out["files"].add_metric(lv, d["files"])
                out["files_free"].add_metric(lv, d["files_free"])
        yield from out.values()
    disks = m.get("disks") or []
    if disks:
        out = {k: counter(f"opsmon_host_disk_{k}", f"Disk {k.replace('_', ' ')}", ["device"])
               for k in ("read_bytes", "written_bytes", "reads_completed", "writes_completed")}
        for d in disks:
            lv = vals + [d["device"]]
            out["read_bytes"].add_metric(lv, d["read_bytes"])
            out["written_bytes"].add_metric(lv, d["write_bytes"])
            out["reads_completed"].add_metric(lv, d["reads"])
            out["writes_completed"].add_metric(lv, d["writes"])
        yield from out.values()
    nets = m.get("net") or []
    if nets:
        names = {"rx_bytes": "receive_bytes", "tx_bytes": "transmit_bytes", "rx_packets": "receive_packets",
                 "tx_packets": "transmit_packets", "rx_errors": "receive_errs", "tx_errors": "transmit_errs",
                 "rx_drops": "receive_drop", "tx_drops": "transmit_drop"}
        out = {k: counter(f"opsmon_host_network_{v}", f"Interface {v.replace('_', ' ')}", ["interface"])
               for k, v in names.items()}
        up = gauge("opsmon_host_network_up", "1 when the interface is up", ["interface"])
        for d in nets:
            lv = vals + [d["interface"]]
            for k in names:
                out[k].add_metric(lv, d[k])
            if d.get("up") is not None:
                up.add_metric(lv, 1.0 if d["up"] else 0.0)
        yield from out.values()
        yield up
    services = m.get("services") or {}
    if services:
        f = gauge("opsmon_host_service_up", "1 when a configured service's process runs", ["service"])
        for name, present in services.items():
            f.add_metric(vals + [name], 1.0 if present else 0.0)
        yield f
    sensors = m.get("sensors") or {}
    if sensors.get("temperatures"):
        f = gauge("opsmon_host_temperature_celsius", "Temperature sensor reading", ["sensor"])
        for t in sensors["temperatures"]:
            f.add_metric(vals + [t["sensor"]], t["celsius"])
        yield f
    if sensors.get("fans"):
        f = gauge("opsmon_host_fan_rpm", "Fan speed", ["fan"])
        for t in sensors["fans"]:
            f.add_metric(vals + [t["fan"]], t["rpm"])
        yield f
    smart = m.get("smart") or []
    if smart:
        f = gauge("opsmon_host_smart_healthy", "1 when SMART overall health passed", ["device"])
        for d in smart:
            if d.get("healthy") is not None:
                f.add_metric(vals + [d["device"]], 1.0 if d["healthy"] else 0.0)
        yield f
