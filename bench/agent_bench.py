#!/usr/bin/env python3
"""Agent benchmark: the opsmon host agent beside Debian's prometheus-node-exporter and zabbix-agent.

What it measures, side by side in one window on this machine:

  opsmon agent   `python -m agent --config agent.toml` (mode 0600, interval 1, three services: two that
                 run and one that does not, see SERVICES and --services; the full collector set: cpu,
                 memory, system, filesystems, disks, net, sensors, services and smart where smartctl is
                 installed) pushing to a real `opsmon serve` on a free loopback port
                 with a temporary SQLite database (`agents: {interval: 1s}`), enrolled with
                 `opsmon agents enroll bench-01`. Collections = the agent's reports the collector
                 stored (its `agent` observations in the SQLite database, counted at both ends of the
                 window; the agent's spool must stay empty, or reports would be missing from the count).
                 A second copy (bench-03) runs with a PATH that lacks smartctl's folder, as on a host
                 without smartmontools, to show what `smartctl --scan` every collection costs.
  node_exporter  the peer: `prometheus-node-exporter --web.listen-address=127.0.0.1:PORT
                 --collector.disable-defaults` plus exactly the collectors that match the agent's report
                 (NODE_COLLECTORS: cpu, loadavg, meminfo, vmstat, stat, time, filesystem, diskstats, netdev,
                 netclass, hwmon, and uname, os, dmi for the host facts), scraped once a second over a
                 keep-alive HTTP connection with Prometheus' headers (Accept text/plain 0.0.4,
                 Accept-Encoding gzip). The agent collects and sends on its own 1 s timer; the scrape is
                 driven at the same 1 s rate, so both do one collection a second in the same window.
                 A second node_exporter with its default collectors (about twice the work) is shown for
                 reference, scraped the same way.
  zabbix_agentd  `zabbix_agentd -f` with a temporary config (Server=127.0.0.1, ListenIP=127.0.0.1, a free
                 ListenPort, no ServerActive, AllowRoot=1, pid and log files in the temp dir), polled once a
                 second with Zabbix's passive protocol (ZBXD header, one key per TCP connection, as
                 zabbix_get and the Zabbix server do) for an item set comparable to the agent's report: see
                 zabbix_items().

For each: resident memory sampled once a second from /proc/PID/status (VmRSS; zabbix_agentd forks
workers, so its main process and the sum over all its processes are shown, with PSS from smaps_rollup,
which does not double-count shared pages), and CPU per collection = utime+stime delta from /proc/PID/stat
over the window / collections in the window. Children's CPU (cutime+cstime: the agent runs `smartctl
--scan` every collection where smartctl is installed) is shown on a separate line.

Then, in this process, where the agent's time goes: Registry.collect() alone and each collector alone
(time.process_time over --calls calls, plus RUSAGE_CHILDREN for subprocesses), Agent.make_report()
(collect + host facts + JSON + stream file), json.dumps of a report, and Transport.send() of one report
to the same collector (a second enrolled agent, bench-02). And reference RSS: a bare interpreter, with
psutil, with psutil + prometheus-client, and with the agent's modules imported.

Goals (issue 25 item 4): the agent's RSS under 25 MB and its CPU per collection at or below the peer's
(node_exporter with the matching collectors), both printed with the ratio.

    .venv/bin/python bench/agent_bench.py [--duration 300] [--warmup 10] [--calls 300] [--services a,b]
        [--node-collectors cpu,meminfo,...] [--json]

Needs the Debian packages prometheus-node-exporter and zabbix-agent (`apt-get install -y ...`); none of
them is started as a service, every process started here is stopped at the end.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
OPSMON = [PY, "-m", "collector"]
NODE_EXPORTER = "prometheus-node-exporter"
# node_exporter's collectors that read what the agent's report holds: CPU times and count (cpu), load
# (loadavg), memory and swap (meminfo; swap in/out from vmstat), boot time and processes (stat; uptime is
# time - boot time), filesystems with inodes (filesystem), disk I/O (diskstats), interface counters
# (netdev) with link state and speed (netclass), temperatures and fans (hwmon), and the host facts
# (uname, os for os-release, dmi for the serial). The agent's services and SMART have no node_exporter
# collector (those are extra work on the agent's side).
NODE_COLLECTORS = ["cpu", "loadavg", "meminfo", "vmstat", "stat", "time", "filesystem", "diskstats", "netdev",
                   "netclass", "hwmon", "uname", "os", "dmi"]
ZABBIX_AGENTD = "zabbix_agentd"
# The agents' configured services: two that run during the window and one that never runs (a service
# that is down is the expensive case: it cannot be confirmed by a remembered pid). --services overrides.
SERVICES = ["zabbix_agentd", "prometheus-node-exporter", "opsmon-bench-absent"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
GOAL_RSS_MB = 25.0  # issue 25 item 4: RSS under 25 MB, CPU per collection at or below node_exporter's


# -- /proc ------------------------------------------------------------------------------

def proc_cpu(pid: int) -> tuple[float, float]:
    """(utime+stime, cutime+cstime) in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        rest = fh.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK, (int(rest[13]) + int(rest[14])) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds over all cores since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        ticks = [int(x) for x in fh.readline().split()[1:]]
    total = sum(ticks[:8])  # guest time is already counted in user
    return (total - ticks[3] - ticks[4]) / CLK_TCK, total / CLK_TCK


def proc_ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def proc_kb(pid: int, field: str, file: str = "status") -> int:
    with open(f"/proc/{pid}/{file}") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def descendants(pid: int) -> list[int]:
    """pid and every process below it (zabbix_agentd's workers)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = proc_ppid(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = [pid], [pid]
    while frontier:
        kids = [p for p, pp in parents.items() if pp in frontier]
        out += kids
        frontier = kids
    return out


class Watched:
    """One measured program: its processes, RSS samples and CPU at the window's ends."""

    def __init__(self, name: str, pid: int, tree: bool = False) -> None:
        self.name, self.pid, self.tree = name, pid, tree
        self.rss_main: list[int] = []
        self.rss_all: list[int] = []
        self.pss_all: list[int] = []
        self.nprocs = 1
        self.cpu0 = self.cpu1 = (0.0, 0.0)
        self.collections0 = self.collections1 = 0

    def pids(self) -> list[int]:
        return descendants(self.pid) if self.tree else [self.pid]

    def cpu(self) -> tuple[float, float]:
        own = children = 0.0
        for p in self.pids():
            try:
                a, b = proc_cpu(p)
            except OSError:
                continue
            own, children = own + a, children + b
        return own, children

    def sample(self) -> None:
        pids = self.pids()
        self.nprocs = len(pids)
        rss = pss = 0
        for p in pids:
            try:
                rss += proc_kb(p, "VmRSS")
                pss += proc_kb(p, "Pss", "smaps_rollup")
            except OSError:
                continue
        self.rss_main.append(proc_kb(self.pid, "VmRSS"))
        self.rss_all.append(rss)
        self.pss_all.append(pss)


# -- helpers ----------------------------------------------------------------------------

def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+uncommitted changes" if dirty else "")
    except OSError:
        return "unknown"


def free_port(low: int = 0, high: int = 0) -> int:
    """A free loopback port; within [low, high] when given (zabbix_agentd takes 1024-32767 only)."""
    import random

    for _ in range(200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", random.randint(low, high) if high else 0))
            except OSError:
                continue
            return s.getsockname()[1]
    raise SystemExit("no free port")


def wait_for(cond: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout}s waiting for {what} (last error: {last})")


def zabbix_get(port: int, key: str, timeout: float = 3.0) -> str:
    """One passive check: ZBXD\\x01 + 8-byte little-endian length + key; the answer has the same header."""
    data = key.encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"ZBXD\x01" + struct.pack("<Q", len(data)) + data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    if raw[:4] != b"ZBXD":
        raise RuntimeError(f"zabbix_agentd answered {raw[:40]!r} for {key}")
    (length,) = struct.unpack("<Q", raw[5:13])
    return raw[13:13 + length].decode(errors="replace")


def zabbix_items() -> list[str]:
    """Comparable to one opsmon report: CPU, load, memory, swap, filesystem, disks, every NIC, uptime,
    process count and the configured services' processes (an absent one answers 0)."""
    nics = sorted(os.listdir("/sys/class/net")) if os.path.isdir("/sys/class/net") else ["lo"]
    items = ["system.cpu.util[,user]", "system.cpu.util[,system]", "system.cpu.util[,iowait]",
             "system.cpu.util[,idle]", "system.cpu.load[all,avg1]", "system.cpu.load[all,avg5]",
             "system.cpu.num", "vm.memory.size[total]", "vm.memory.size[available]", "system.swap.size[,total]",
             "system.swap.size[,free]", "vfs.fs.size[/,total]", "vfs.fs.size[/,free]", "vfs.fs.inode[/,free]",
             "vfs.dev.read[,operations]", "vfs.dev.write[,operations]"]
    for nic in nics:
        items += [f"net.if.in[{nic}]", f"net.if.out[{nic}]"]
    items += ["system.uptime", "system.boottime", "proc.num[]"] + [f"proc.num[{s}]" for s in SERVICES]
    return items


class Scraper:
    """node_exporter scraped like Prometheus does: one keep-alive connection, gzip accepted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.bytes = 0
        self.samples = 0

    def scrape(self) -> None:
        headers = {"Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1", "Accept-Encoding": "gzip",
                   "X-Prometheus-Scrape-Timeout-Seconds": "1"}
        try:
            self.conn.request("GET", "/metrics", headers=headers)
            resp = self.conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            self.conn.request("GET", "/metrics", headers=headers)
            resp = self.conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"node_exporter answered HTTP {resp.status}")
        self.bytes = len(body)
        if resp.getheader("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        self.samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


def baseline_stored(db: Path, asset: str) -> bool:
    """The collector holds the agent's first baseline run."""
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute("SELECT count(*) FROM baseline_results WHERE asset_id = ?", (asset,)).fetchone()[0] > 0


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of a process so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reports_stored(db: Path, asset: str) -> int:
    """The agent's reports the collector has written (its store writer commits within about 0.5 s)."""
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute("SELECT count(*) FROM observations WHERE asset_id = ? AND check_id = 'agent'",
                            (asset,)).fetchone()[0]


def rss_of_snippet(code: str) -> float:
    """VmRSS (MB) of a fresh interpreter after running `code`."""
    out = subprocess.run([PY, "-c", code + "\nimport re\nprint(re.search(r'VmRSS:\\s+(\\d+)', "
                          "open('/proc/self/status').read()).group(1))"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True)
    return int(out.stdout.split()[-1]) / 1024


# -- in-process breakdown -----------------------------------------------------------------

def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def per_call(fn: Any, calls: int) -> tuple[float, float]:
    """(own CPU ms, children CPU ms) per call."""
    fn()
    t0, c0 = time.process_time(), children_cpu()
    for _ in range(calls):
        fn()
    return (time.process_time() - t0) / calls * 1000, (children_cpu() - c0) / calls * 1000


def breakdown(collector_url: str, token: str, spool: Path, calls: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from opsmon.agent.collectors import build
    from opsmon.agent.collectors.facts import host_facts
    from opsmon.agent.config import AgentConfig
    from opsmon.agent.runner import Agent

    out: dict[str, Any] = {"calls": calls}
    reg = build(list(SERVICES), None)
    out["collect"] = per_call(reg.collect, calls)
    out["collectors"] = {c.name: per_call(c.collect, calls) for c in reg.collectors}
    absent = next(c for c in build(["no-such-process-xyz"], None).collectors if c.name == "services")
    out["services_one_absent"] = per_call(absent.collect, min(calls, 100))
    smart = next(c for c in reg.collectors if c.name == "smart")
    if smart.collect() is not None and hasattr(smart, "_read"):  # the agent caches SMART: time a real read too
        out["smart_read"] = per_call(smart._read, min(calls, 30))
    cfg = AgentConfig(collector_url=collector_url, token=token, interval=1.0, spool_dir=str(spool),
                      services=tuple(SERVICES))
    agent = Agent(cfg)
    _, first = agent.make_report()
    _, body = agent.make_report()
    out["report_bytes"], out["first_report_bytes"] = len(body), len(first)
    out["make_report"] = per_call(agent.make_report, calls)
    out["host_facts"] = per_call(host_facts, calls)
    doc = json.loads(body)
    out["json_dumps"] = per_call(lambda: json.dumps(doc, separators=(",", ":")).encode(), calls)
    out["save_stream"] = per_call(agent._save_stream, calls)
    sends = min(calls, 200)
    t0 = time.perf_counter()
    out["transport_send"] = per_call(lambda: agent.transport.send(body), sends)
    out["transport_send_wall_ms"] = (time.perf_counter() - t0) / (sends + 1) * 1000
    return out


# -- the run ------------------------------------------------------------------------------

def start(cmd: list[str], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
    fh = open(log, "wb")  # noqa: SIM115 - kept open for the child's lifetime
    return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, **kw)


def stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=300.0, help="measured seconds (default 300)")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds after every agent runs before measuring")
    ap.add_argument("--calls", type=int, default=300, help="calls per in-process measurement")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, configs, database)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    ap.add_argument("--node-collectors", default=",".join(NODE_COLLECTORS),
                    help="comma-separated node_exporter collectors of the peer (default: the set matching the agent's "
                         f"report, {','.join(NODE_COLLECTORS)})")
    ap.add_argument("--services", default=",".join(SERVICES),
                    help=f"comma-separated process names the agents check (default {','.join(SERVICES)})")
    args = ap.parse_args()
    SERVICES[:] = [s for s in args.services.split(",") if s]
    NODE_COLLECTORS[:] = [c for c in args.node_collectors.split(",") if c]
    for exe in (NODE_EXPORTER, ZABBIX_AGENTD):
        if shutil.which(exe) is None:
            raise SystemExit(f"{exe} not found: apt-get install -y prometheus-node-exporter zabbix-agent")

    tmp = Path(tempfile.mkdtemp(prefix="opsmon-agent-bench-"))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        # -- the collector, and two enrolled agents ----------------------------------------
        cport = free_port()
        base = f"http://127.0.0.1:{cport}"
        (tmp / "collector.yaml").write_text(textwrap.dedent(f"""\
            database:
              path: {tmp / 'opsmon.db'}
            listen:
              host: 127.0.0.1
              port: {cport}
            agents:
              interval: 1s
            api:
              public_read: true
        """))
        procs["collector"] = start([*OPSMON, "--config", str(tmp / "collector.yaml"), "serve"], tmp / "collector.log")
        wait_for(lambda: urllib.request.urlopen(base + "/api/v1/health", timeout=1).status == 200, 60,
                 "the collector's /api/v1/health")
        tokens = {}
        for name in ("bench-01", "bench-02", "bench-03"):
            done = subprocess.run([*OPSMON, "--config", str(tmp / "collector.yaml"), "agents", "enroll", name],
                                  cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
            tokens[name] = done.stdout.strip()

        # -- the three agents ------------------------------------------------------------------
        nport, zport = free_port(), free_port(20000, 32767)
        procs["node_exporter"] = start([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{nport}",
                                        "--collector.disable-defaults",
                                        *(f"--collector.{c}" for c in NODE_COLLECTORS)], tmp / "node_exporter.log")
        dport = free_port()
        procs["node_defaults"] = start([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{dport}"],
                                       tmp / "node_defaults.log")
        (tmp / "zabbix_agentd.conf").write_text(textwrap.dedent(f"""\
            PidFile={tmp / 'zabbix_agentd.pid'}
            LogType=file
            LogFile={tmp / 'zabbix_agentd.log'}
            Server=127.0.0.1
            ListenIP=127.0.0.1
            ListenPort={zport}
            Hostname=bench
            AllowRoot=1
            Timeout=3
        """))
        procs["zabbix_agentd"] = start([ZABBIX_AGENTD, "-f", "-c", str(tmp / "zabbix_agentd.conf")],
                                       tmp / "zabbix_agentd.out")
        spool = tmp / "spool"
        agent_toml = tmp / "agent.toml"
        agent_toml.write_text(f'collector_url = "{base}"\ntoken = "{tokens["bench-01"]}"\ninterval = 1\n'
                              f'spool_dir = "{spool}"\nservices = {json.dumps(SERVICES)}\n')
        agent_toml.chmod(0o600)
        procs["agent"] = start([PY, "-m", "agent", "--config", str(agent_toml)], tmp / "agent.log")
        # The same agent on a host without smartmontools: its PATH lacks smartctl's folder, so the smart
        # collector reports null instead of running `smartctl --scan` every collection.
        spool_ns = tmp / "spool-nosmart"
        toml_ns = tmp / "agent-nosmart.toml"
        toml_ns.write_text(f'collector_url = "{base}"\ntoken = "{tokens["bench-03"]}"\ninterval = 1\n'
                           f'spool_dir = "{spool_ns}"\nservices = {json.dumps(SERVICES)}\n')
        toml_ns.chmod(0o600)
        smart_dir = os.path.dirname(shutil.which("smartctl") or "/nonexistent/smartctl")
        env_ns = dict(os.environ, PATH=os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                                                       if d and os.path.realpath(d) != os.path.realpath(smart_dir)))
        procs["agent_nosmart"] = start([PY, "-m", "agent", "--config", str(toml_ns)], tmp / "agent-nosmart.log",
                                       env=env_ns)

        scraper, scraper_d = Scraper(nport), Scraper(dport)
        wait_for(lambda: scraper.scrape() or scraper.samples, 30, "node_exporter's /metrics")
        wait_for(lambda: scraper_d.scrape() or scraper_d.samples, 30, "node_exporter's (defaults) /metrics")
        wait_for(lambda: zabbix_get(zport, "agent.ping") == "1", 30, "zabbix_agentd's agent.ping")
        db = tmp / "opsmon.db"
        wait_for(lambda: reports_stored(db, "bench-01") >= 2 and reports_stored(db, "bench-03") >= 2, 30,
                 "the opsmon agents' first reports")
        # The security baseline (docs/baseline.md) runs at start and then hourly, in a low-priority thread;
        # its first run (apt's simulation, dpkg --verify) is not a collection: wait it out, and show its
        # cost on its own line, so the window measures collections as the agent runs them all hour.
        wait_for(lambda: baseline_stored(db, "bench-01") and baseline_stored(db, "bench-03"), 600,
                 "the agents' first baseline runs")
        first_baseline = {k: procs[k] for k in ("agent", "agent_nosmart")}
        first_baseline_cpu = {k: sum(proc_cpu(p.pid)) for k, p in first_baseline.items()}
        first_baseline_hwm = {k: vm_hwm_mb(p.pid) for k, p in first_baseline.items()}
        items = zabbix_items()
        unsupported = {k: v for k in items if (v := zabbix_get(zport, k)).startswith("ZBX_NOTSUPPORTED")}
        items = [k for k in items if k not in unsupported]

        watched = {
            "agent": Watched("opsmon agent", procs["agent"].pid),
            "agent_nosmart": Watched("opsmon agent, no smartctl", procs["agent_nosmart"].pid),
            "node_exporter": Watched("node_exporter", procs["node_exporter"].pid),
            "node_defaults": Watched("node_exporter, defaults", procs["node_defaults"].pid),
            "zabbix_agentd": Watched("zabbix_agentd", procs["zabbix_agentd"].pid, tree=True),
        }

        def poll_all() -> None:
            scraper.scrape()
            scraper_d.scrape()
            for key in items:
                zabbix_get(zport, key)

        # -- warm-up, then the window --------------------------------------------------------
        warm_end = time.monotonic() + args.warmup
        while time.monotonic() < warm_end:
            poll_all()
            time.sleep(max(0.0, 1.0 - (time.monotonic() % 1.0)))
        polls = 0
        for w in watched.values():
            w.cpu0 = w.cpu()
        watched["agent"].collections0 = reports_stored(db, "bench-01")
        watched["agent_nosmart"].collections0 = reports_stored(db, "bench-03")
        collector_cpu0, bench_cpu0, machine0 = proc_cpu(procs["collector"].pid), time.process_time(), machine_cpu()
        t0 = time.monotonic()
        next_at = t0
        failures = 0
        if not args.json:
            print(f"measuring for {args.duration:.0f} s (opsmon agent pid {procs['agent'].pid}, node_exporter "
                  f"{procs['node_exporter'].pid}, zabbix_agentd {procs['zabbix_agentd'].pid}) ...", flush=True)
        while time.monotonic() - t0 < args.duration:
            try:
                poll_all()
                polls += 1
            except (OSError, RuntimeError):
                failures += 1
            for w in watched.values():
                w.sample()
            for name, p in procs.items():
                if p.poll() is not None:
                    raise SystemExit(f"{name} exited with {p.returncode}; see {tmp}")
            next_at += 1.0
            time.sleep(max(0.0, next_at - time.monotonic()))
        wall = time.monotonic() - t0
        for w in watched.values():
            w.cpu1 = w.cpu()
        collector_cpu1, bench_cpu1, machine1 = proc_cpu(procs["collector"].pid), time.process_time(), machine_cpu()
        ours = sum(w.cpu1[0] - w.cpu0[0] + w.cpu1[1] - w.cpu0[1] for w in watched.values())
        ours += collector_cpu1[0] - collector_cpu0[0] + bench_cpu1 - bench_cpu0
        busy = machine1[0] - machine0[0]
        machine = {"busy_pct_of_2_cores": round(100 * busy / (machine1[1] - machine0[1]), 1),
                   "collector_cpu_pct": round(100 * (collector_cpu1[0] - collector_cpu0[0]) / wall, 1),
                   "bench_cpu_pct": round(100 * (bench_cpu1 - bench_cpu0) / wall, 1),
                   "other_processes_cpu_pct": round(100 * max(0.0, busy - ours) / wall, 1),
                   "cores": os.cpu_count()}
        watched["agent"].collections1 = reports_stored(db, "bench-01")
        watched["agent_nosmart"].collections1 = reports_stored(db, "bench-03")
        watched["node_exporter"].collections0, watched["node_exporter"].collections1 = 0, polls
        watched["node_defaults"].collections0, watched["node_defaults"].collections1 = 0, polls
        watched["zabbix_agentd"].collections0, watched["zabbix_agentd"].collections1 = 0, polls
        spooled = len(list(spool.glob("*.report"))) + len(list(spool_ns.glob("*.report")))
        agent_log = (tmp / "agent.log").read_text(errors="replace") + (tmp / "agent-nosmart.log").read_text(
            errors="replace")
        agent_warnings = sum(1 for line in agent_log.splitlines() if "level=WARNING" in line or "level=ERROR" in line)

        # -- where the agent's time goes, measured in this process -----------------------------
        parts = breakdown(base, tokens["bench-02"], tmp / "spool-02", args.calls)
    finally:
        for name in ("agent", "agent_nosmart", "node_exporter", "node_defaults", "zabbix_agentd", "collector"):
            stop(procs.get(name), signal.SIGINT if name == "collector" else signal.SIGTERM)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    refs = {
        "python -c pass": rss_of_snippet("pass"),
        "+ import psutil": rss_of_snippet("import psutil"),
        "+ psutil, prometheus_client": rss_of_snippet("import psutil, prometheus_client"),
        # as a plain-HTTP agent imports them (main(): http.client without ssl), then as an https:// one
        "agent modules imported (http:// collector)": rss_of_snippet(
            "from opsmon.agent.compat import http_client_without_ssl\nhttp_client_without_ssl()\n"
            "import opsmon.agent.__main__, opsmon.agent.runner, opsmon.agent.config"),
        "agent modules imported (https:// collector: + ssl)": rss_of_snippet(
            "import ssl\nssl.create_default_context()\n"
            "import opsmon.agent.__main__, opsmon.agent.runner, opsmon.agent.config"),
        "agent modules (http://) + 1 collect + 1 JSON report": rss_of_snippet(
            "from opsmon.agent.compat import http_client_without_ssl\nhttp_client_without_ssl()\n"
            "import opsmon.agent.runner, json\nfrom opsmon.agent.collectors import build\n"
            f"m = build({SERVICES!r}).collect(); json.dumps(m)"),
    }

    def row(w: Watched) -> dict[str, Any]:
        n = w.collections1 - w.collections0
        own = (w.cpu1[0] - w.cpu0[0]) / n * 1000 if n else float("nan")
        kids = (w.cpu1[1] - w.cpu0[1]) / n * 1000 if n else float("nan")
        return {"collections": n, "cpu_ms_per_collection": round(own, 2),
                "children_cpu_ms_per_collection": round(kids, 2),
                "cpu_ms_incl_children": round(own + kids, 2),
                "cpu_pct_of_core": round(100 * (w.cpu1[0] - w.cpu0[0] + w.cpu1[1] - w.cpu0[1]) / wall, 2),
                "rss_mb_mean": round(statistics.fmean(w.rss_main) / 1024, 1),
                "rss_mb_max": round(max(w.rss_main) / 1024, 1),
                "rss_all_procs_mb_mean": round(statistics.fmean(w.rss_all) / 1024, 1),
                "pss_all_procs_mb_mean": round(statistics.fmean(w.pss_all) / 1024, 1),
                "processes": w.nprocs}

    results: dict[str, Any] = {
        "revision": git_revision(), "window_s": round(wall, 1), "polls": polls, "poll_failures": failures,
        "machine": machine,
        "agents": {k: row(w) for k, w in watched.items()},
        "agent_spooled_at_end": spooled, "agent_log_warnings": agent_warnings,
        "node_exporter_collectors": NODE_COLLECTORS,
        "node_exporter_samples": scraper.samples, "node_exporter_gzip_bytes": scraper.bytes,
        "node_defaults_samples": scraper_d.samples, "node_defaults_gzip_bytes": scraper_d.bytes,
        "zabbix_items": items, "zabbix_unsupported": unsupported,
        "breakdown": parts, "reference_rss_mb": {k: round(v, 1) for k, v in refs.items()},
        "start_and_first_baseline": {k: {"cpu_s": round(first_baseline_cpu[k], 2),
                                         "peak_rss_mb": round(first_baseline_hwm[k], 1)} for k in first_baseline},
    }
    a = results["agents"]["agent"]
    ns = results["agents"]["agent_nosmart"]
    peer = results["agents"]["node_exporter"]["cpu_ms_per_collection"]
    results["pass"] = {"rss": a["rss_mb_max"] < GOAL_RSS_MB, "cpu": a["cpu_ms_per_collection"] <= peer,
                       "cpu_incl_children": a["cpu_ms_incl_children"] <= peer,
                       "nosmart_rss": ns["rss_mb_max"] < GOAL_RSS_MB,
                       "nosmart_cpu": ns["cpu_ms_per_collection"] <= peer,
                       "nosmart_cpu_incl_children": ns["cpu_ms_incl_children"] <= peer}
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        report(results)
    return 0


def report(r: dict[str, Any]) -> None:
    a, n, d, z = (r["agents"][k] for k in ("agent", "node_exporter", "node_defaults", "zabbix_agentd"))

    def ratio(x: float, y: float) -> str:
        return f"{x / y:.2f}x" if y else "-"

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    print(f"\nAgents side by side (opsmon {r['revision']}): {r['window_s']:.0f} s window, 1 collection a second each "
          f"({r['polls']} node_exporter scrapes and zabbix polls, {r['poll_failures']} failed)")
    flags = " ".join(f"--collector.{c}" for c in r["node_exporter_collectors"])
    print(f"  node_exporter (the peer): --collector.disable-defaults {flags}; "
          f"{r['node_exporter_samples']} samples a scrape ({r['node_exporter_gzip_bytes']} bytes gzip)")
    print(f"  node_exporter, defaults (reference): {r['node_defaults_samples']} samples a scrape "
          f"({r['node_defaults_gzip_bytes']} bytes gzip)")
    print(f"  zabbix_agentd: {len(r['zabbix_items'])} passive items a poll, one TCP connection each: "
          f"{', '.join(r['zabbix_items'])}" + (f"; unsupported here and left out: {', '.join(r['zabbix_unsupported'])}"
                                               if r["zabbix_unsupported"] else ""))
    m = r["machine"]
    print(f"  machine ({m['cores']} cores) busy {m['busy_pct_of_2_cores']} % of all cores; the opsmon collector "
          f"used {m['collector_cpu_pct']} % of a core, this script {m['bench_cpu_pct']} %, other processes "
          f"{m['other_processes_cpu_pct']} %")
    print(f"  opsmon agent: report body {r['breakdown']['report_bytes']} bytes "
          f"({r['breakdown']['first_report_bytes']} with facts); spool files at end "
          f"{r['agent_spooled_at_end']}; warnings in its log {r['agent_log_warnings']}\n")
    ns = r["agents"]["agent_nosmart"]
    header = (f"  {'':<36}{'opsmon agent':>13}{'no smartctl':>12}{'node_exporter':>14}{'node default':>13}"
              f"{'zabbix_agentd':>14}{'opsmon/node':>12}{'opsmon/zbx':>11}{'goal':>10}{'opsmon':>8}{'no smartctl':>12}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    lines = [
        ("collections in window", "collections", "{:.0f}", None, None),
        ("RSS MB, mean (main process)", "rss_mb_mean", "{:.1f}", None, None),
        ("RSS MB, max (main process)", "rss_mb_max", "{:.1f}", f"< {GOAL_RSS_MB:g}", "rss"),
        ("RSS MB, all processes (mean)", "rss_all_procs_mb_mean", "{:.1f}", None, None),
        ("PSS MB, all processes (mean)", "pss_all_procs_mb_mean", "{:.1f}", None, None),
        ("processes", "processes", "{:.0f}", None, None),
        ("CPU ms / collection (utime+stime)", "cpu_ms_per_collection", "{:.2f}", "<= node", "cpu"),
        ("  + children (smartctl) ms", "children_cpu_ms_per_collection", "{:.2f}", None, None),
        ("CPU ms / collection incl. children", "cpu_ms_incl_children", "{:.2f}", "<= node", "cpu_incl_children"),
        ("CPU % of one core, incl. children", "cpu_pct_of_core", "{:.2f}", None, None),
    ]
    for label, key, fmt, goal, verdict_key in lines:
        show_ratio = "MB" in label or "ms" in label
        print(f"  {label:<36}{fmt.format(a[key]):>13}{fmt.format(ns[key]):>12}{fmt.format(n[key]):>14}"
              f"{fmt.format(d[key]):>13}{fmt.format(z[key]):>14}{ratio(a[key], n[key]) if show_ratio else '':>12}"
              f"{ratio(a[key], z[key]) if show_ratio else '':>11}{goal or '':>10}"
              f"{verdict(r['pass'][verdict_key]) if verdict_key else '':>8}"
              f"{verdict(r['pass']['nosmart_' + verdict_key]) if verdict_key else '':>12}")
    print("  (no smartctl = the same agent started with a PATH without smartctl's folder, like a host without "
          "smartmontools; ratios are for the full opsmon agent against the peer, node_exporter with the matching "
          "collectors; CPU goals compare with the peer's utime+stime per scrape)")
    fb = r["start_and_first_baseline"]
    print(f"  start-up + first security baseline run (before the window; then hourly, packages cached): "
          f"CPU {fb['agent']['cpu_s']:.1f} s / {fb['agent_nosmart']['cpu_s']:.1f} s incl. children, "
          f"peak RSS {fb['agent']['peak_rss_mb']:.1f} / {fb['agent_nosmart']['peak_rss_mb']:.1f} MB")

    b = r["breakdown"]
    print(f"\nWhere the agent's CPU goes, measured in-process ({b['calls']} calls each; "
          "ms of CPU per call, own + children):")
    rows = [("Registry.collect(), all collectors", b["collect"])]
    rows += [(f"  {name}", v) for name, v in b["collectors"].items()]
    if "smart_read" in b:
        rows.append(("  smart, one uncached read (smartctl --scan, -H)", b["smart_read"]))
    rows += [("  services, one configured name absent", b["services_one_absent"]),
             ("Agent.make_report() (collect+facts+JSON+stream file)", b["make_report"]),
             ("  host_facts() (one call)", b["host_facts"]),
             ("  json.dumps(report)", b["json_dumps"]),
             ("  _save_stream() (stream.json, as called per report)", b["save_stream"]),
             ("Transport.send() one report (kept-alive connection)", b["transport_send"])]
    print(f"  {'':<54}{'own':>9}{'children':>10}{'total':>9}")
    for label, (own, kids) in rows:
        print(f"  {label:<54}{own:>9.3f}{kids:>10.3f}{own + kids:>9.3f}")
    print(f"  (Transport.send wall time incl. the collector's answer: {b['transport_send_wall_ms']:.2f} ms)")
    print("\nReference RSS of a fresh interpreter (MB):")
    for label, mb in r["reference_rss_mb"].items():
        print(f"  {label:<50}{mb:>8.1f}")


if __name__ == "__main__":
    raise SystemExit(main())
