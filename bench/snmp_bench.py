#!/usr/bin/env python3
"""SNMP polling benchmark: opsmon (pysnmp client, fast client) against prometheus-snmp-exporter.

What it measures (issue: 1,000 48-port switches at a 60 s interval in under one
core, i.e. at most 60 ms of CPU per device per cycle, all in, with the same
interface figures snmp_exporter reports):

  --devices simulated 48-port switches (bench/snmpsim_switch.py recordings,
  counters growing with snmpsim's `numeric` variation) served by --sim-procs
  snmpsim processes on 127.0.0.1; snmpsim picks a recording by community, so
  each device has its own community (its name) and its own UDP port.

  opsmon: the real poll path, opsmon.collector.inputs.snmp.hub.SnmpHub.poll() with the
  `interfaces` profile, once with the pysnmp client and once with FastClient
  (hub.client replaced). A first poll of every device reads the static columns;
  then --cycles steady-state cycles poll every device (--concurrency at a time).
  CPU = time.process_time() of this process over the cycle (hub, poller, rates,
  client, event loop: all in) / devices.

  snmp_exporter: Debian's prometheus-snmp-exporter 0.21 with a hand-written
  `if_mib` module as upstream's generator makes it (walk ifTable/interfaces and
  ifXTable, every column a metric, ifAlias/ifDescr/ifName lookups), scraped
  over HTTP for the same devices with the same concurrency. 0.21 keeps the
  community inside the module and ignores `auth=`, so snmp.yml holds that one
  module once per device (`if_mib_<device>`), identical but for the community. CPU = the exporter
  process's utime+stime (/proc/PID/stat) over the cycle / devices. The scraping
  (what Prometheus would do) is not counted.

  Same figures: for --compare devices, an opsmon (fast client) poll and then an
  exporter scrape of the same device; ifOperStatus, ifHighSpeed and ifName per
  ifIndex must be equal, ifHCInOctets within the recording's rate x the time
  between the two reads.

  The simulator's own CPU is excluded from every figure but printed.

--fair (issue 25: the figures of docs/snmp.md): the exporter's module walks exactly the columns opsmon
  exports (fair_columns(): the `interfaces` profile's metric columns), no lookups; both /metrics are scraped
  by one client in a child process (gzip accepted, as Prometheus does; its CPU counts for neither side).
  opsmon's figure is poll + rates + encoding + serving its page (a stdlib HTTP server in this process
  rendering CollectorMetrics.render(), gzipped as the API does) per cycle: every device polled, one scrape;
  the exporter's is its utime+stime over one scrape per device. It also prints opsmon's SNMP page size at
  1,000 devices (this run's first device's state encoded 1,000 times), the CPU that encoding took, and the
  time of a second scrape with no poll since (the cached bytes).

How to run (from the repository root; ~1-2 minutes for 50 devices on 2 cores):
    .venv/bin/python bench/snmp_bench.py
    .venv/bin/python bench/snmp_bench.py --devices 200 --sim-procs 4 --cycles 3
    .venv/bin/python bench/snmp_bench.py --fair --devices 100 --cycles 3
The snmpsim venv is built on demand from /usr/bin/python3 (snmpsim drops to
`nobody`, who cannot read a Python under /root) at --sim-venv.
Every process it starts is stopped by PID at the end; only 127.0.0.1 is used.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from snmpsim_switch import in_octets_rate, switch_snmprec  # noqa: E402

from opsmon.collector.config.checks import SnmpSpec  # noqa: E402
from opsmon.collector.config.schema import SnmpConfig  # noqa: E402
from opsmon.collector.core.states import UP  # noqa: E402
from opsmon.collector.inputs.snmp.client import Target, walk_columns  # noqa: E402
from opsmon.collector.inputs.snmp.fast_client import FastClient  # noqa: E402
from opsmon.collector.inputs.snmp.hub import SnmpHub  # noqa: E402

GOAL_MS = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
IF_COLUMNS = [  # (name, sub-id, exporter type) as upstream's generated if_mib module has them
    ("ifIndex", 1, "gauge"), ("ifDescr", 2, "DisplayString"), ("ifType", 3, "gauge"), ("ifMtu", 4, "gauge"),
    ("ifSpeed", 5, "gauge"), ("ifPhysAddress", 6, "PhysAddress48"), ("ifAdminStatus", 7, "gauge"),
    ("ifOperStatus", 8, "gauge"), ("ifLastChange", 9, "gauge"), ("ifInOctets", 10, "counter"),
    ("ifInUcastPkts", 11, "counter"), ("ifInNUcastPkts", 12, "counter"), ("ifInDiscards", 13, "counter"),
    ("ifInErrors", 14, "counter"), ("ifInUnknownProtos", 15, "counter"), ("ifOutOctets", 16, "counter"),
    ("ifOutUcastPkts", 17, "counter"), ("ifOutNUcastPkts", 18, "counter"), ("ifOutDiscards", 19, "counter"),
    ("ifOutErrors", 20, "counter"), ("ifOutQLen", 21, "gauge")]
IFX_COLUMNS = [
    ("ifName", 1, "DisplayString"), ("ifInMulticastPkts", 2, "counter"), ("ifInBroadcastPkts", 3, "counter"),
    ("ifOutMulticastPkts", 4, "counter"), ("ifOutBroadcastPkts", 5, "counter"), ("ifHCInOctets", 6, "counter"),
    ("ifHCInUcastPkts", 7, "counter"), ("ifHCInMulticastPkts", 8, "counter"),
    ("ifHCInBroadcastPkts", 9, "counter"), ("ifHCOutOctets", 10, "counter"), ("ifHCOutUcastPkts", 11, "counter"),
    ("ifHCOutMulticastPkts", 12, "counter"), ("ifHCOutBroadcastPkts", 13, "counter"),
    ("ifLinkUpDownTrapEnable", 14, "gauge"), ("ifHighSpeed", 15, "gauge"), ("ifPromiscuousMode", 16, "gauge"),
    ("ifConnectorPresent", 17, "gauge"), ("ifAlias", 18, "DisplayString"),
    ("ifCounterDiscontinuityTime", 19, "gauge")]


@dataclass
class Device:
    name: str
    port: int
    proc: int


@dataclass
class Result:
    """One client's steady-state cycles."""

    label: str
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    sim_cpu: list[float] = field(default_factory=list)
    varbinds: list[int] = field(default_factory=list)
    failures: int = 0
    client_rate: float | None = None

    def cpu_ms_per_device(self, devices: int) -> float:
        return 1000 * sum(self.cpu) / len(self.cpu) / devices

    def devices_per_s(self, devices: int) -> float:
        return devices * len(self.wall) / sum(self.wall)


# -- processes --------------------------------------------------------------------------------------

def proc_cpu(pid: int) -> float:
    """utime + stime of a process, seconds (fields 14 and 15 of /proc/PID/stat, after the command name)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_ports(n: int, kind: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def ensure_sim_venv(venv: Path) -> Path:
    exe = venv / "bin" / "snmpsim-command-responder"
    if not exe.exists():
        print(f"building the snmpsim venv at {venv} (from /usr/bin/python3) ...", flush=True)
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "snmpsim", "pysmi"], check=True)
    return exe


def start_simulators(exe: Path, work: Path, devices: list[Device], procs: int) -> list[subprocess.Popen[bytes]]:
    """One snmpsim per slice of devices, each device on its own port with its own community (the file name)."""
    started: list[subprocess.Popen[bytes]] = []
    os.chmod(work, 0o755)
    for p in range(procs):
        mine = [d for d in devices if d.proc == p]
        if not mine:
            continue
        data = work / f"sim{p}" / "data"
        cache = work / f"sim{p}" / "cache"
        data.mkdir(parents=True)
        cache.mkdir()
        for dev in mine:
            (data / f"{dev.name}.snmprec").write_text(switch_snmprec(dev.name))
        for path in (work / f"sim{p}", data):
            os.chmod(path, 0o755)
        shutil.chown(cache, "nobody", "nogroup")
        cmd = [str(exe), f"--data-dir={data}", f"--cache-dir={cache}",
               "--process-user=nobody", "--process-group=nogroup", "--logging-method=stderr", "--log-level=error",
               *(f"--agent-udpv4-endpoint=127.0.0.1:{d.port}" for d in mine)]
        log = open(work / f"sim{p}.log", "wb")  # noqa: SIM115 - kept open for the child's lifetime
        started.append(subprocess.Popen(cmd, stdout=log, stderr=log))
    return started


async def wait_answering(devices: list[Device], sims: list[subprocess.Popen[bytes]], deadline: float) -> None:
    client = FastClient(SnmpHubConfig.credentials_resolved(devices))
    try:
        waiting = list(devices)
        while waiting:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(waiting)} simulated devices still silent (e.g. {waiting[0]})")
            for sim in sims:
                if sim.poll() is not None:
                    raise RuntimeError(f"snmpsim exited with {sim.returncode}")

            async def probe(dev: Device) -> bool:
                try:
                    got = await client.get(Target("127.0.0.1", dev.port, dev.name, 1.0, 0), [SYS_NAME])
                except Exception:  # noqa: BLE001 - not up yet
                    return False
                return got[0][1] == dev.name.encode()

            answers = await asyncio.gather(*(probe(d) for d in waiting))
            waiting = [d for d, ok in zip(waiting, answers, strict=True) if not ok]
            if waiting:
                await asyncio.sleep(0.5)
    finally:
        client.close()


class SnmpHubConfig:
    """One v2c credential per simulated device, named like the device (snmpsim: community = recording)."""

    @staticmethod
    def settings(devices: list[Device], timeout: float) -> SnmpConfig:
        creds = {d.name: {"version": "2c", "community": d.name} for d in devices}
        return SnmpConfig.model_validate({"credentials": creds, "timeout": timeout, "retries": 1})

    @staticmethod
    def credentials_resolved(devices: list[Device]) -> dict[str, Any]:
        from opsmon.collector.config.snmp_credentials import resolve

        specs = SnmpHubConfig.settings(devices, 1.0).credentials
        return {name: resolve(name, spec, Path("."), "bench") for name, spec in specs.items()}


# -- opsmon -----------------------------------------------------------------------------------------

def make_hub(kind: str, work: Path, devices: list[Device], timeout: float) -> SnmpHub:
    hub = SnmpHub(SnmpHubConfig.settings(devices, timeout), work, "bench", lambda _o: None, lambda _op: None)
    if kind == "fast":
        hub.client.close()
        hub.client = FastClient(hub.credentials)
    return hub


def spec_for(dev: Device) -> SnmpSpec:
    return SnmpSpec(type="snmp", credential=dev.name, port=dev.port, profiles=("interfaces",))


async def poll_all(hub: SnmpHub, devices: list[Device], concurrency: int) -> int:
    """Poll every device once; the number that did not come back UP."""
    sem = asyncio.Semaphore(concurrency)

    async def one(dev: Device) -> bool:
        async with sem:
            outcome = await hub.poll(dev.name, "127.0.0.1", spec_for(dev))
        if outcome.status != UP:
            print(f"  {dev.name}: {outcome.status} {outcome.reason}", file=sys.stderr)
        return outcome.status == UP

    return sum(not ok for ok in await asyncio.gather(*(one(d) for d in devices)))


def run_opsmon(runner: asyncio.Runner, hub: SnmpHub, label: str, devices: list[Device],
               sims: list[subprocess.Popen[bytes]], args: argparse.Namespace) -> Result:
    res = Result(label)
    res.failures += runner.run(poll_all(hub, devices, args.concurrency))  # first poll: static columns too
    for _ in range(args.cycles):
        vb0, cpu0, sim0, t0 = hub.varbinds, time.process_time(), sim_cpu(sims), time.perf_counter()
        res.failures += runner.run(poll_all(hub, devices, args.concurrency))
        res.wall.append(time.perf_counter() - t0)
        res.cpu.append(time.process_time() - cpu0)
        res.sim_cpu.append(sim_cpu(sims) - sim0)
        res.varbinds.append(hub.varbinds - vb0)
    return res


def client_rate(runner: asyncio.Runner, hub: SnmpHub, devices: list[Device], varbinds_per_request: int) -> float:
    """Varbinds per CPU second of the client alone: walk_columns of every ifTable and ifXTable column."""
    columns = [(1, 3, 6, 1, 2, 1, 2, 2, 1, c) for c in range(1, 23)]
    columns += [(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, c) for c in range(1, 20)]
    count, cpu0 = 0, time.process_time()
    for dev in devices:
        target = Target("127.0.0.1", dev.port, dev.name, 10.0, 1)
        walked = runner.run(walk_columns(hub.client, target, columns, varbinds_per_request))
        count += sum(len(v) for v in walked.values())
    return count / (time.process_time() - cpu0)


def sim_cpu(sims: list[subprocess.Popen[bytes]]) -> float:
    return sum(proc_cpu(s.pid) for s in sims)


# -- snmp_exporter ----------------------------------------------------------------------------------

def exporter_modules(devices: list[Device], max_repetitions: int, timeout: float) -> dict[str, Any]:
    """if_mib as upstream's generator writes it, in the 0.21 layout (auth inside: one copy per community)."""
    lookups = [{"labels": ["ifIndex"], "labelname": name, "oid": f"1.3.6.1.2.1.{oid}", "type": "DisplayString"}
               for name, oid in (("ifAlias", "31.1.1.1.18"), ("ifDescr", "2.2.1.2"), ("ifName", "31.1.1.1.1"))]
    metrics: list[dict[str, Any]] = [{"name": "ifNumber", "oid": "1.3.6.1.2.1.2.1", "type": "gauge",
                                      "help": "The number of network interfaces - 1.3.6.1.2.1.2.1"}]
    for base, columns in (("1.3.6.1.2.1.2.2.1", IF_COLUMNS), ("1.3.6.1.2.1.31.1.1.1", IFX_COLUMNS)):
        for name, sub, kind in columns:
            metrics.append({"name": name, "oid": f"{base}.{sub}", "type": kind, "help": f"{name} - {base}.{sub}",
                            "indexes": [{"labelname": "ifIndex", "type": "gauge"}], "lookups": lookups})
    return {f"if_mib_{d.name}": {"version": 2, "auth": {"community": d.name}, "max_repetitions": max_repetitions,
                                 "retries": 1, "timeout": f"{timeout:g}s",
                                 "walk": ["1.3.6.1.2.1.2", "1.3.6.1.2.1.31.1.1"], "metrics": metrics}
            for d in devices}


def start_exporter(work: Path, devices: list[Device], args: argparse.Namespace,
                   config: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    exe = shutil.which("prometheus-snmp-exporter")
    if exe is None:
        raise RuntimeError("prometheus-snmp-exporter is not installed (Debian package prometheus-snmp-exporter)")
    if config is None:
        config = work / "snmp.yml"
        modules = exporter_modules(devices, args.max_repetitions, args.timeout * 4)
        config.write_text(json.dumps(modules, indent=1))  # JSON is YAML
    subprocess.run([exe, f"--config.file={config}", "--dry-run"], check=True, capture_output=True, timeout=30)
    port = free_ports(1, socket.SOCK_STREAM)[0]
    log = open(work / "exporter.log", "wb")  # noqa: SIM115 - kept open for the child's lifetime
    proc = subprocess.Popen([exe, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
                             "--log.level=warn"], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2):
                return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"snmp_exporter did not start: {(work / 'exporter.log').read_text()[-500:]}") \
                    from None
            time.sleep(0.2)


def scrape(port: int, dev: Device) -> str:
    url = f"http://127.0.0.1:{port}/snmp?target=127.0.0.1:{dev.port}&module=if_mib_{dev.name}"
    with urllib.request.urlopen(url, timeout=120) as resp:
        return resp.read().decode()


SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            out.append((m[1], dict(LABEL.findall(m[2] or "")), float(m[3])))
    return out


def run_exporter(proc: subprocess.Popen[bytes], port: int, devices: list[Device],
                 sims: list[subprocess.Popen[bytes]], args: argparse.Namespace) -> Result:
    res = Result("snmp_exporter")

    def one(dev: Device) -> tuple[bool, int]:
        try:
            text = scrape(port, dev)
        except OSError as exc:
            print(f"  {dev.name}: exporter scrape failed: {exc}", file=sys.stderr)
            return False, 0
        pdus = next((int(v) for n, _l, v in parse_exposition(text) if n == "snmp_scrape_pdus_returned"), 0)
        return "ifHCInOctets{" in text, pdus

    with ThreadPoolExecutor(args.concurrency) as pool:
        res.failures += sum(not ok for ok, _ in pool.map(one, devices))  # warm-up, as opsmon's first poll
        for _ in range(args.cycles):
            cpu0, sim0, t0 = proc_cpu(proc.pid), sim_cpu(sims), time.perf_counter()
            got = list(pool.map(one, devices))
            res.wall.append(time.perf_counter() - t0)
            res.cpu.append(proc_cpu(proc.pid) - cpu0)
            res.sim_cpu.append(sim_cpu(sims) - sim0)
            res.failures += sum(not ok for ok, _ in got)
            res.varbinds.append(sum(p for _, p in got))
    return res


# -- same figures -----------------------------------------------------------------------------------

def compare(runner: asyncio.Runner, hub: SnmpHub, exporter_port: int, sample: list[Device]) -> list[str]:
    """Differences between opsmon's rows and the exporter's samples (empty: the figures match)."""
    problems: list[str] = []
    for dev in sample:
        t0 = time.time()
        runner.run(hub.poll(dev.name, "127.0.0.1", spec_for(dev)))
        text = scrape(exporter_port, dev)
        t1 = time.time()
        state = hub.devices[dev.name]
        rows = state.last.tables["if"] if state.last else {}
        theirs: dict[str, dict[str, Any]] = {}
        for name, labels, value in parse_exposition(text):
            if "ifIndex" in labels and name in ("ifHCInOctets", "ifOperStatus", "ifHighSpeed"):
                row = theirs.setdefault(labels["ifIndex"], {})
                row[name] = value
                row["ifName"] = labels.get("ifName")
        if set(rows) != set(theirs) or len(rows) != 48:
            problems.append(f"{dev.name}: ifIndex sets differ (opsmon {len(rows)}, exporter {len(theirs)})")
            continue
        for idx, row in rows.items():
            other = theirs[idx]
            for key in ("ifOperStatus", "ifHighSpeed", "ifName"):
                if row.get(key) != (other.get(key) if key == "ifName" else int(other.get(key, -1))):
                    problems.append(f"{dev.name} ifIndex {idx} {key}: opsmon {row.get(key)!r}, exporter "
                                    f"{other.get(key)!r}")
            rate = in_octets_rate(int(idx))
            delta = other["ifHCInOctets"] - row["ifHCInOctets"]
            if not -rate * 0.05 <= delta <= rate * (t1 - t0 + 1.0):
                problems.append(f"{dev.name} ifIndex {idx} ifHCInOctets: opsmon {row['ifHCInOctets']}, exporter "
                                f"{other['ifHCInOctets']:.0f}: {delta:.0f} apart, more than {rate}/s x "
                                f"{t1 - t0:.2f}s")
    return problems


# -- fair mode: same columns, exposition and scrape in both figures (issue 25) ---------------------------

SCRAPER = r"""
import gzip, json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
conc = int(sys.argv[1])
def get(url):
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            wire = resp.read()
            body = gzip.decompress(wire) if resp.headers.get("Content-Encoding") == "gzip" else wire
    except OSError as exc:
        return [0, 0, False, str(exc)]
    return [len(wire), len(body), b"ifHCInOctets{" in body, ""]
with ThreadPoolExecutor(conc) as pool:
    for line in sys.stdin:
        print(json.dumps(list(pool.map(get, json.loads(line)))), flush=True)
"""


class Scraper:
    """The one HTTP client both sides are scraped with, as Prometheus does (gzip accepted): a child process,
    so its own CPU counts for neither side (printed apart)."""

    def __init__(self, concurrency: int) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", SCRAPER, str(concurrency)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def get(self, urls: list[str]) -> list[tuple[int, int, bool, str]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(urls) + "\n")
        self.proc.stdin.flush()
        return [tuple(r) for r in json.loads(self.proc.stdout.readline())]  # type: ignore[misc]

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(10)


def fair_columns() -> list[tuple[str, str, str]]:
    """(name, oid, exporter type) of every column opsmon exports per device from the `interfaces` profile:
    the snmp_exporter module is given exactly these, so both sides put the same series on their page."""
    from opsmon.collector.config.snmp_profiles import COUNTERS, load_profiles

    table = load_profiles(())["interfaces"].tables[0]
    return [(c.name, c.oid, "counter" if c.type in COUNTERS else "gauge") for c in table.columns
            if c.metric and not (c.type in COUNTERS and c.refresh == "static")]


def fair_modules(devices: list[Device], max_repetitions: int, timeout: float) -> dict[str, Any]:
    """One module per community (0.21 keeps auth inside), walking only fair_columns(), no lookups."""
    cols = fair_columns()
    metrics = [{"name": name, "oid": oid, "type": kind, "help": f"{name} - {oid}",
                "indexes": [{"labelname": "ifIndex", "type": "gauge"}]} for name, oid, kind in cols]
    return {f"if_mib_{d.name}": {"version": 2, "auth": {"community": d.name}, "max_repetitions": max_repetitions,
                                 "retries": 1, "timeout": f"{timeout:g}s", "walk": [oid for _n, oid, _k in cols],
                                 "metrics": metrics}
            for d in devices}


def serve_metrics(render: Any) -> tuple[Any, int]:
    """opsmon's /metrics as the API serves it (collector/outputs/api/metrics.py: the page, gzipped when the
    scraper accepts it), on a stdlib server in a thread of this process: its CPU counts on opsmon's side."""
    import gzip
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = render()
            gz = "gzip" in self.headers.get("Accept-Encoding", "")
            if gz:
                body = gzip.compress(body, compresslevel=6)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if gz:
                self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_a: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@dataclass
class FairResult(Result):
    wire: list[int] = field(default_factory=list)
    page: list[int] = field(default_factory=list)
    scraper_cpu: list[float] = field(default_factory=list)


def run_opsmon_fair(runner: asyncio.Runner, devices: list[Device], sims: list[subprocess.Popen[bytes]],
                    scraper: Scraper, work: Path, args: argparse.Namespace) -> tuple[FairResult, SnmpHub, Any]:
    """Per cycle: every device polled (FastClient, --concurrency at a time), then one scrape of /metrics."""
    from opsmon.collector.outputs.metrics import CollectorMetrics

    res = FairResult("opsmon")
    hub = make_hub("fast", work, devices, args.timeout)
    metrics = CollectorMetrics()
    metrics.watch_snmp(hub)
    server, port = serve_metrics(metrics.render)
    url = f"http://127.0.0.1:{port}/metrics"
    res.failures += runner.run(poll_all(hub, devices, args.concurrency))  # first poll: static columns too
    scraper.get([url])
    for _ in range(args.cycles):
        vb0, cpu0, sim0, sc0, t0 = hub.varbinds, time.process_time(), sim_cpu(sims), scraper.cpu(), time.perf_counter()
        res.failures += runner.run(poll_all(hub, devices, args.concurrency))
        ((wire, page, ok, err),) = scraper.get([url])
        res.wall.append(time.perf_counter() - t0)
        res.cpu.append(time.process_time() - cpu0)
        res.sim_cpu.append(sim_cpu(sims) - sim0)
        res.scraper_cpu.append(scraper.cpu() - sc0)
        res.varbinds.append(hub.varbinds - vb0)
        res.wire.append(wire)
        res.page.append(page)
        res.failures += 0 if ok else 1
        if err:
            print(f"  opsmon scrape failed: {err}", file=sys.stderr)
    server.shutdown()
    return res, hub, metrics


def run_exporter_fair(proc: subprocess.Popen[bytes], port: int, devices: list[Device],
                      sims: list[subprocess.Popen[bytes]], scraper: Scraper, args: argparse.Namespace) -> FairResult:
    """Per cycle: one scrape per device (the exporter polls on the scrape), --concurrency at a time."""
    res = FairResult("snmp_exporter")
    urls = [f"http://127.0.0.1:{port}/snmp?target=127.0.0.1:{d.port}&module=if_mib_{d.name}" for d in devices]
    scraper.get(urls)  # warm-up, as opsmon's first poll
    for _ in range(args.cycles):
        cpu0, sim0, sc0, t0 = proc_cpu(proc.pid), sim_cpu(sims), scraper.cpu(), time.perf_counter()
        got = scraper.get(urls)
        res.wall.append(time.perf_counter() - t0)
        res.cpu.append(proc_cpu(proc.pid) - cpu0)
        res.sim_cpu.append(sim_cpu(sims) - sim0)
        res.scraper_cpu.append(scraper.cpu() - sc0)
        res.varbinds.append(0)
        res.wire.append(sum(g[0] for g in got))
        res.page.append(sum(g[1] for g in got))
        res.failures += sum(not g[2] for g in got)
        for g in got:
            if g[3]:
                print(f"  exporter scrape failed: {g[3]}", file=sys.stderr)
    return res


def page_at(hub: SnmpHub, n: int) -> tuple[int, int, int, float, float]:
    """(bytes, gzipped bytes, series, CPU s of the first render, wall s of a second) of opsmon's SNMP page with
    `n` devices like the bench's first one: its polled state copied under n names and encoded as /metrics
    encodes it. The first render encodes every device (as after each one's poll); the second finds no poll
    since and serves the cached bytes (docs/snmp.md quotes both)."""
    import gzip
    from types import SimpleNamespace

    from opsmon.collector.inputs.snmp.exposition import SnmpExposition

    one = next(iter(hub.devices.values()))
    fake = SimpleNamespace(devices={f"sw{k + 1:04d}": one for k in range(n)})
    exposition = SnmpExposition(fake)
    cpu = time.process_time()
    body = exposition.render()
    cpu = time.process_time() - cpu
    wall = time.perf_counter()
    exposition.render()
    wall = time.perf_counter() - wall
    series = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
    return len(body), len(gzip.compress(body, compresslevel=6)), series, cpu, wall


def report_fair(ops: FairResult, exp: FairResult, n: int, sizes: tuple[int, int, int, float, float],
                load: str, concurrency: int) -> bool:
    o_ms, e_ms = ops.cpu_ms_per_device(n), exp.cpu_ms_per_device(n)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    rows = [("CPU per device per cycle (ms), all in", f"{o_ms:.2f}", f"{e_ms:.2f}"),
            ("scrape page per cycle (bytes, all devices)", f"{mean(ops.page):,.0f}", f"{mean(exp.page):,.0f}"),
            ("  on the wire, gzip (bytes)", f"{mean(ops.wire):,.0f}", f"{mean(exp.wire):,.0f}"),
            ("devices per second (wall)", f"{ops.devices_per_s(n):.1f}", f"{exp.devices_per_s(n):.1f}"),
            ("failed polls/scrapes", str(ops.failures), str(exp.failures)),
            ("simulator CPU per device (ms, excluded)", f"{1000 * mean(ops.sim_cpu) / n:.1f}",
             f"{1000 * mean(exp.sim_cpu) / n:.1f}"),
            ("scraper CPU per cycle (ms, excluded)", f"{1000 * mean(ops.scraper_cpu):.1f}",
             f"{1000 * mean(exp.scraper_cpu):.1f}")]
    width = max(len(r[0]) for r in rows) + 2
    print()
    print(f"FAIR MODE: {n} devices x 48 interfaces, {len(ops.cpu)} steady-state cycles each, concurrency "
          f"{concurrency} both sides; load average before the run: {load}")
    print("".ljust(width) + "opsmon".rjust(16) + "snmp_exporter".rjust(16))
    for label, a, b in rows:
        print(label.ljust(width) + a.rjust(16) + b.rjust(16))
    ratio = o_ms / e_ms if e_ms else float("inf")
    print(f"opsmon / snmp_exporter CPU per device per cycle: {ratio:.2f}")
    raw, gz, series, encode_cpu, cached_wall = sizes
    print(f"opsmon SNMP page at 1,000 such devices: {raw / 1e6:.1f} MB ({gz / 1e6:.1f} MB gzipped), "
          f"{series:,} series ({series / 1000:.0f} per device); goal < 30 MB; encoding them {encode_cpu:.2f} s "
          f"of CPU, a scrape with no poll since {1000 * cached_wall:.1f} ms (the cached bytes)")
    cols = ", ".join(name for name, _o, _k in fair_columns())
    print(f"columns on both pages (the exporter walks all of them every scrape, opsmon reads the static ones "
          f"hourly): {cols}")
    ok = ratio <= 1.0 and raw < 30e6 and ops.failures == 0 and exp.failures == 0
    print(f"RESULT: {'PASS' if ok else 'FAIL'} (ratio {ratio:.2f}, goal <= 1; page {raw / 1e6:.1f} MB, goal < 30)")
    return ok


def main_fair(args: argparse.Namespace, work: Path, devices: list[Device],
              sims: list[subprocess.Popen[bytes]], started: list[subprocess.Popen[bytes]]) -> int:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    exe = shutil.which("prometheus-snmp-exporter")
    if exe is None:
        raise RuntimeError("prometheus-snmp-exporter is not installed (Debian package prometheus-snmp-exporter)")
    config = work / "snmp.yml"
    config.write_text(json.dumps(fair_modules(devices, args.max_repetitions, args.timeout * 4), indent=1))
    exporter, port = start_exporter(work, devices, args, config)
    started.append(exporter)
    scraper = Scraper(args.concurrency)
    try:
        with asyncio.Runner() as runner:
            print("opsmon: polling and scraping ...", flush=True)
            ops, hub, _m = run_opsmon_fair(runner, devices, sims, scraper, work, args)
            sizes = page_at(hub, 1000)
            hub.close()
        print("snmp_exporter: scraping ...", flush=True)
        exp = run_exporter_fair(exporter, port, devices, sims, scraper, args)
    finally:
        scraper.close()
    return 0 if report_fair(ops, exp, len(devices), sizes, load, args.concurrency) else 1


# -- report -----------------------------------------------------------------------------------------

def report(results: list[Result], n: int, problems: list[str], checked: int) -> bool:
    exporter = next(r for r in results if r.label == "snmp_exporter")
    exp_ms = exporter.cpu_ms_per_device(n)
    rows = [("CPU per device per cycle (ms)", lambda r: f"{r.cpu_ms_per_device(n):.2f}"),
            ("  vs snmp_exporter", lambda r: f"{r.cpu_ms_per_device(n) / exp_ms:.2f}x"),
            ("cores for 1,000 devices @60s", lambda r: f"{r.cpu_ms_per_device(n) * 1000 / 60_000:.3f}"),
            ("devices per second (wall)", lambda r: f"{r.devices_per_s(n):.1f}"),
            ("varbinds per device per cycle", lambda r: f"{sum(r.varbinds) / len(r.varbinds) / n:.0f}"),
            ("CPU per varbind (us)", lambda r: f"{1e6 * sum(r.cpu) / max(1, sum(r.varbinds)):.1f}"),
            ("client alone, varbinds per CPU second",
             lambda r: f"{r.client_rate:,.0f}" if r.client_rate else "-"),
            ("failed polls/scrapes", lambda r: str(r.failures)),
            ("simulator CPU per device (ms, excluded)",
             lambda r: f"{1000 * sum(r.sim_cpu) / len(r.sim_cpu) / n:.1f}"),
            (f"goal <= {GOAL_MS:g} ms/device", lambda r: "PASS" if r.cpu_ms_per_device(n) <= GOAL_MS else "FAIL")]
    width = max(len(label) for label, _ in rows) + 2
    print()
    print(f"{n} devices x 48 interfaces, steady state, {len(exporter.cpu)} cycles each (after a first poll/scrape)")
    print("".ljust(width) + "".join(r.label.rjust(16) for r in results))
    for label, fmt in rows:
        print(label.ljust(width) + "".join(fmt(r).rjust(16) for r in results))
    fast = next(r for r in results if r.label == "opsmon+fast")
    print()
    print("opsmon CPU = this process's process_time() over the cycle (hub, poller, rates, client, event loop);")
    print("exporter CPU = its utime+stime; the exporter walks ifTable+ifXTable every scrape, opsmon reads")
    print("static columns (names, speeds) only on its first poll and every static_refresh.")
    print("client alone: walk_columns of all 41 ifTable+ifXTable columns of a few devices, one at a time.")
    if problems:
        print(f"same figures as snmp_exporter: FAIL ({len(problems)} differences)")
        for p in problems[:10]:
            print("  " + p)
    else:
        print(f"same figures as snmp_exporter: PASS ({checked} devices x 48 interfaces: ifHCInOctets within rate x "
              "time apart, ifOperStatus, ifHighSpeed, ifName equal)")
    ok = fast.cpu_ms_per_device(n) <= GOAL_MS and not problems and fast.failures == 0
    print(f"RESULT: {'PASS' if ok else 'FAIL'} (opsmon+fast {fast.cpu_ms_per_device(n):.2f} ms/device/cycle, "
          f"goal {GOAL_MS:g} ms)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=2, help="steady-state cycles measured per client")
    parser.add_argument("--sim-procs", type=int, default=2, help="snmpsim processes (each ~4-5k varbinds/s)")
    parser.add_argument("--concurrency", type=int, default=25, help="devices polled/scraped at once")
    parser.add_argument("--timeout", type=float, default=5.0, help="per request (the simulator is slow)")
    parser.add_argument("--max-repetitions", type=int, default=25, help="snmp_exporter's (upstream default 25)")
    parser.add_argument("--compare", type=int, default=3, help="devices whose figures are compared")
    parser.add_argument("--sim-venv", type=Path, default=Path("/tmp/opsmon-bench-snmpsim-venv"))
    parser.add_argument("--skip-pysnmp", action="store_true", help="only the fast client and the exporter")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (recordings, logs)")
    parser.add_argument("--fair", action="store_true", help=(
        "same columns both sides, exposition and scrape in both figures: print the CPU ratio (docs/snmp.md)"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="opsmon-snmp-bench-"))
    started: list[subprocess.Popen[bytes]] = []
    try:
        exe = ensure_sim_venv(args.sim_venv)
        ports = free_ports(args.devices, socket.SOCK_DGRAM)
        devices = [Device(f"sw{k + 1:04d}", ports[k], k * args.sim_procs // args.devices) for k in range(args.devices)]
        t = time.monotonic()
        sims = start_simulators(exe, work, devices, args.sim_procs)
        started += sims
        asyncio.run(wait_answering(devices, sims, time.monotonic() + 60 + args.devices * 0.2))
        print(f"{len(sims)} snmpsim processes serving {args.devices} devices after {time.monotonic() - t:.1f}s",
              flush=True)
        if args.fair:
            return main_fair(args, work, devices, sims, started)
        exporter, exporter_port = start_exporter(work, devices, args)
        started.append(exporter)

        results: list[Result] = []
        problems: list[str] = []
        sample = devices[:: max(1, len(devices) // max(1, args.compare))][:args.compare]
        for kind in ("pysnmp", "fast"):
            if kind == "pysnmp" and args.skip_pysnmp:
                continue
            with asyncio.Runner() as runner:
                hub = make_hub(kind, work, devices, args.timeout)
                try:
                    print(f"opsmon+{kind}: polling ...", flush=True)
                    results.append(run_opsmon(runner, hub, f"opsmon+{kind}", devices, sims, args))
                    results[-1].client_rate = client_rate(runner, hub, sample, hub.settings.varbinds_per_request)
                    if kind == "fast":
                        problems = compare(runner, hub, exporter_port, sample)
                finally:
                    hub.close()
        print("snmp_exporter: scraping ...", flush=True)
        results.append(run_exporter(exporter, exporter_port, devices, sims, args))
        return 0 if report(results, args.devices, problems, len(sample)) else 1
    finally:
        for proc in started:
            proc.terminate()
        for proc in started:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
