#!/usr/bin/env python3
"""Site poller benchmark (issue 22 items 1 and 6): the poller's memory and CPU per 100 checks, and the central
collector's ingest with many pollers.

What runs, all on loopback: a real `opsmon serve` (temporary SQLite database) whose inventory holds --checks
assets spread over --pollers sites (site-01, site-02, ...), each asset with one check every --interval
seconds: a TCP check, or for a --http share of them an HTTP check (GET /, answered 200). Site i's targets
listen on its own loopback address 127.0.0.(10+i) (a TCP listener that accepts and closes, and an HTTP
server, both in this script), and its poller (`opsmon agents enroll bench-poller-NN --site site-NN --poller`)
reaches the collector through a relay on that same address (tests/peers/wan.py, the prefecture's WAN path),
reporting every --report-interval seconds. ICMP is not run: unprivileged ICMP needs net.ipv4.ping_group_range
to include the user, and the printed setting says whether it does here.

Each poller runs as `opsmon poller`, with one addition made by this script in its process: the time of every
report POST (opsmon.agent.transport.Transport._send_one) is kept and written out at its stop: the ingest
latency as the poller sees it, from sending the report to the collector's answer, which comes after the
commit (a 200 is a promise that the report is durable, inputs/agents/route.py).

After --warmup seconds, over --duration seconds, sampled every --sample seconds:
- each poller's CPU (utime+stime, /proc/PID/stat) divided by the checks it ran in the window (its results
  the collector stored with it as observer, counted in the database at both ends), times 100; its RSS
  (VmRSS) at the end and its peak (VmHWM);
- the collector's CPU (user+sys seconds per second, all its threads), its RSS and peak;
- ingest: results/s and reports/s stored (the pollers' results; reports from agent_streams.max_seq), and
  the POST latency (p50/p90/p99/max over all pollers' reports in the window);
- the store's write rate: observation rows written per second (the results and each report's `agent` row);
- the lag of stored results: at each sample, for the results stored since the previous one, the sample's
  time minus the time their probe started (check time + the wait for the next report + POST + commit +
  up to one sample period of this script's own looking);
- the machine's load average at the start and the end (other work on the machine skews every figure).

    .venv/bin/python bench/poller_bench.py [--pollers 1] [--checks 500] [--interval 5] [--http 0]
                                           [--report-interval 1] [--duration 60] [--warmup 15]
    .venv/bin/python bench/poller_bench.py --pollers 14 --checks 5000 --interval 60 --http 0.5 \\
                                           --report-interval 5 --duration 180 --warmup 75

--snmp N, --ssh N (issue 22 item 1, the device checks): one more poller each, alone at its site (site-snmp,
site-ssh; relay on the next loopback address), beside the TCP pollers of the same run: N SNMP checks, each its own
asset polling a --snmp-ports-port switch (tests/peers/snmp.py's recording, one snmpsim on 127.0.0.1, community
bench-sw), and N SSH checks (`echo opsmon-ok` on tests/peers/sshd.py's sshd, key login), every --interval
seconds. The secrets only in the pollers' credentials file, which the collector names (`pollers.snmp_credentials`,
`ssh_credentials`), as tests/collector/inputs/test_poller_devices.py does. Printed: their CPU per 100 checks and
RSS, and their ratio to the TCP pollers' median (same run, same load). SNMP's figure is the poller's own: the
snmpsim and sshd CPU is not in it; paramiko runs in the poller's threads, so SSH's is.

    .venv/bin/python bench/poller_bench.py --checks 200 --snmp 100 --ssh 20 --interval 5 --duration 60

--replay N (TCP checks only: --http 0): the first poller's spool is filled before it starts, as a WAN cut
leaves it (N reports of --report-interval seconds, each with the results its site's checks gave in that time,
made by the poller's own Forwarder in this process), then the poller starts and the time until its spool is
empty is printed, with the collector's CPU per report and the rate carried to 3 days of reports.
"""
from __future__ import annotations

import argparse
import getpass
import http.server
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from agent_bench import OPSMON, PY, ROOT, free_port, proc_cpu, proc_kb, start, stop, vm_hwm_mb, wait_for  # noqa: E402
from scheduler_bench import pct  # noqa: E402

from tests.peers.snmp import Snmpsim, start_snmpsim, stop_snmpsim, switch_recording  # noqa: E402
from tests.peers.sshd import Sshd  # noqa: E402
from tests.peers.wan import WanPath, tcp_service  # noqa: E402

SNMP_CREDENTIAL, SSH_CREDENTIAL = "bench-v2", "bench-key"

# `opsmon poller CONF`, timing each report POST; the times go to OUT at the stop (atexit: SIGTERM ends it cleanly).
TIMED_POLLER = """\
import atexit, json, sys, time
from opsmon.agent import transport
sent, times = transport.Transport._send_one, []
def _timed(self, body, backlog):
    t0 = time.monotonic()
    try:
        return sent(self, body, backlog)
    finally:
        times.append((time.time(), time.monotonic() - t0))
transport.Transport._send_one = _timed
atexit.register(lambda: open(sys.argv[2], "w").write(json.dumps(times)))
from opsmon.collector.cli import main
sys.exit(main(["poller", sys.argv[1], *sys.argv[3:]]))
"""


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def http_service(host: str) -> http.server.ThreadingHTTPServer:
    """An HTTP server on `host` (any free port) answering 200 "ok" to every GET; shutdown() stops it."""
    server = http.server.ThreadingHTTPServer((host, 0), _Ok)
    server.daemon_threads = True
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]  # a check hangs up: fine
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def counts(db: Path) -> dict[str, int]:
    """Per poller: its check results stored ('r:NAME'; an SNMP poll's hardware rows not counted), those up
    ('u:NAME') and its reports taken ('s:NAME', its stream's highest sequence);
    'rows': every observation row; 'max_id'."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        out = {f"r:{o}": int(n) for o, n in conn.execute(
            "SELECT observer, count(*) FROM observations WHERE observer != '' AND kind = 'check' GROUP BY observer")}
        out.update({f"u:{o}": int(n) for o, n in conn.execute(
            "SELECT observer, count(*) FROM observations WHERE observer != '' AND kind = 'check' AND status = 'up' "
            "GROUP BY observer")})
        out.update({f"s:{a}": int(n) for a, n in conn.execute("SELECT agent, max(max_seq) FROM agent_streams "
                                                              "GROUP BY agent")})
        out["max_id"] = int(conn.execute("SELECT coalesce(max(id), 0) FROM observations").fetchone()[0])
    return out


def new_results(db: Path, after: int) -> tuple[int, list[int]]:
    """(highest id, probe times in ms) of the pollers' results stored after row `after`."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("SELECT id, ts FROM observations WHERE id > ? AND observer != '' AND kind = 'check'",
                            (after,)).fetchall()
    return max((r[0] for r in rows), default=after), [int(r[1]) for r in rows]


def inventory(args: argparse.Namespace, sites: list[tuple[str, str, int, int]]) -> str:
    """assets.yaml: --checks assets dealt round the sites, every (1/--http)-th of each site's an HTTP check."""
    every = round(1 / args.http) if args.http > 0 else 0
    lines = []
    for i in range(args.checks):
        site, host, tcp_port, http_port = sites[i % len(sites)]
        check = (f"{{type: http, url: 'http://{host}:{http_port}/', interval: {args.interval}s}}"
                 if every and (i // len(sites)) % every == 0
                 else f"{{type: tcp, port: {tcp_port}, interval: {args.interval}s}}")
        lines.append(f"  - {{id: srv-{i:05d}, category: server, site: {site}, address: {host}, checks: [{check}]}}")
    return "assets:\n" + "\n".join(lines) + "\n"


def device_assets(args: argparse.Namespace, snmp_port: int | None, ssh_port: int | None) -> str:
    """The device pollers' assets (appended to assets.yaml): --snmp switches at site-snmp, each its own asset (the
    hub polls each asset on its own, all through one snmpsim endpoint), and --ssh servers at site-ssh, each one
    `echo opsmon-ok` command check on the one sshd; every --interval seconds like the TCP checks."""
    lines = [f"  - {{id: sw-{i:04d}, category: network, site: site-snmp, address: 127.0.0.1, checks: [{{type: snmp, "
             f"credential: {SNMP_CREDENTIAL}, port: {snmp_port}, interval: {args.interval}s}}]}}"
             for i in range(args.snmp)]
    lines += [f"  - {{id: ssh-{i:04d}, category: server, site: site-ssh, address: 127.0.0.1, checks: [{{type: ssh, "
              f"credential: {SSH_CREDENTIAL}, port: {ssh_port}, command: echo opsmon-ok, expect: opsmon-ok, "
              f"interval: {args.interval}s}}]}}" for i in range(args.ssh)]
    return "".join(line + "\n" for line in lines)


def fill_spool(conf: Path, reports: int, per_report: int, assets: list[str], check: str, every: float) -> None:
    """A poller's spool as a WAN cut of `reports` report intervals leaves it: each report (the poller's own
    Forwarder.make_report, host metrics included) holds `per_report` up results of `assets`' check `check`,
    dated `every` seconds apart, ending now."""
    from opsmon.agent.config import load
    from opsmon.collector.core.states import UP, Observation
    from opsmon.collector.inputs.poller.runner import Forwarder

    fw = Forwarder(load(conf))
    start_at = time.time() - reports * every
    n = 0
    for i in range(reports):
        at = start_at + i * every
        for _ in range(per_report):
            asset = assets[n % len(assets)]
            fw.take(Observation(asset, check, datetime.fromtimestamp(at, UTC), UP, "", 0.3))
            n += 1
        seq, body = fw.make_report(now=at)
        fw.spool.put(seq, body)


class Run:
    """One collector and its pollers, on loopback; stop() ends them all."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="opsmon-poller-bench-"))
        self.db = self.tmp / "opsmon.db"
        self.names = [f"bench-poller-{i + 1:02d}" for i in range(args.pollers)]
        self.hosts = [f"127.0.0.{10 + i}" for i in range(args.pollers)]
        self.targets = [(tcp_service(h), http_service(h)) for h in self.hosts]
        self.sites = [(f"site-{i + 1:02d}", h, t.getsockname()[1], s.server_address[1])
                      for i, (h, (t, s)) in enumerate(zip(self.hosts, self.targets, strict=True))]
        # the device pollers (--snmp, --ssh): one more poller each, alone at its site, its relay on the next address
        self.kinds = {name: "tcp" for name in self.names}
        for kind in ("snmp", "ssh"):
            if getattr(args, kind):
                self.kinds[f"bench-poller-{kind}"] = kind
                self.names.append(f"bench-poller-{kind}")
                self.hosts.append(f"127.0.0.{10 + len(self.hosts)}")
        self.site_of = {n: (self.sites[i][0] if i < args.pollers else f"site-{self.kinds[n]}")
                        for i, n in enumerate(self.names)}
        self.sim: Snmpsim | None = None
        self.sshd: Sshd | None = None
        if args.snmp:  # one recording, one community: a small switch (--snmp-ports), every 8th port down
            self.sim = start_snmpsim({"bench-sw": switch_recording("bench-sw", ports=args.snmp_ports)})
        if args.ssh:
            self.sshd = Sshd(self.tmp / "sshd").__enter__()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.pollers: dict[str, subprocess.Popen[bytes]] = {}
        self.relays: list[WanPath] = []
        self.confs: dict[str, Path] = {}

    def collector(self) -> subprocess.Popen[bytes]:
        """The collector started with every poller enrolled, and each poller's poller.toml written."""
        tmp, cport = self.tmp, free_port()
        (tmp / "assets.yaml").write_text(inventory(self.args, self.sites) + device_assets(
            self.args, self.sim.port if self.sim else None, self.sshd.port if self.sshd else None))
        (tmp / "collector.yaml").write_text(textwrap.dedent(f"""\
            database:
              path: {self.db}
            listen:
              host: 127.0.0.1
              port: {cport}
            inventory:
              files: [{tmp / 'assets.yaml'}]
            pollers:
              snmp_credentials: [{SNMP_CREDENTIAL}]
              ssh_credentials: [{SSH_CREDENTIAL}]
        """))
        self.credentials()
        for name, host in zip(self.names, self.hosts, strict=True):
            token = subprocess.run([*OPSMON, "--config", str(tmp / "collector.yaml"), "agents", "enroll", name,
                                    "--site", self.site_of[name], "--poller"], cwd=ROOT, capture_output=True,
                                   text=True, timeout=60, check=True).stdout.strip()
            self.relays.append(relay := WanPath(host, ("127.0.0.1", cport)))
            conf = self.confs[name] = tmp / f"{name}.toml"
            conf.write_text(f'collector_url = "{relay.url}"\ntoken = "{token}"\n'
                            f'interval = {self.args.report_interval}\nspool_dir = "{tmp / name / "spool"}"\n')
            conf.chmod(0o600)
        proc = self.procs["collector"] = start([*OPSMON, "--config", str(tmp / "collector.yaml"), "serve"],
                                               tmp / "collector.log")
        base = f"http://127.0.0.1:{cport}"
        wait_for(lambda: urllib.request.urlopen(base + "/api/v1/health", timeout=1).status == 200, 60,
                 "the collector's /api/v1/health")
        return proc

    def credentials(self) -> None:
        """The device pollers' own credentials file (tests/collector/inputs/test_poller_devices.py's form): the
        secrets the collector only names (`pollers.snmp_credentials`, `ssh_credentials`)."""
        text = f"snmp:\n  credentials:\n    {SNMP_CREDENTIAL}: {{version: '2c', community: bench-sw}}\n"
        if self.sshd is not None:
            text += (f"ssh:\n  known_hosts: {self.sshd.known_hosts}\n  credentials:\n    {SSH_CREDENTIAL}: "
                     f"{{user: {getpass.getuser()}, private_key_file: {self.sshd.client_key}}}\n")
        path = self.tmp / "poller-credentials.yaml"
        path.write_text(text)
        path.chmod(0o600)

    def peers_cpu(self) -> tuple[float, float]:
        """CPU seconds so far of snmpsim and of sshd (with its ended session children), 0 for one not run."""
        sim = sum(proc_cpu(self.sim.proc.pid)) if self.sim is not None else 0.0
        sshd = sum(proc_cpu(self.sshd.proc.pid)) if self.sshd is not None and self.sshd.proc is not None else 0.0
        return sim, sshd

    def start_pollers(self) -> None:
        for name in self.names:
            devices = [] if self.kinds[name] == "tcp" else ["--credentials", str(self.tmp / "poller-credentials.yaml")]
            self.procs[name] = self.pollers[name] = start(
                [PY, "-c", TIMED_POLLER, str(self.confs[name]), str(self.tmp / f"{name}.times"), *devices],
                self.tmp / f"{name}.log")

    def spooled(self, name: str) -> int:
        return len(list((self.tmp / name / "spool").glob("*.report")))

    def posts(self, since: float, until: float) -> list[tuple[float, float]]:
        """The pollers' report POSTs answered between `since` and `until` (time.time()): (when answered, seconds
        taken), in order; read after the pollers' stop."""
        for name in self.names:
            stop(self.procs.pop(name, None))
        return sorted((at, d) for name in self.names if (self.tmp / f"{name}.times").exists()
                      for at, d in json.loads((self.tmp / f"{name}.times").read_text()) if since <= at <= until)

    def stop(self) -> None:
        for proc in self.procs.values():
            stop(proc)
        for relay in self.relays:
            relay.cut()
        for tcp, web in self.targets:
            tcp.close()
            web.shutdown()
        if self.sim is not None:
            stop_snmpsim(self.sim)
        if self.sshd is not None:
            self.sshd.__exit__(None, None, None)


def header(args: argparse.Namespace, what: str) -> None:
    print(f"{what}; ICMP not run (net.ipv4.ping_group_range = "
          f"{Path('/proc/sys/net/ipv4/ping_group_range').read_text().split()}, uid {os.getuid()})")
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (other work on the machine "
          "counts in every figure)")


def replay(run: Run, args: argparse.Namespace) -> None:
    """--replay N: the first poller's spool holds N reports when it starts; the time until it is empty."""
    name = run.names[0]
    run.collector()
    assets = [f"srv-{i:05d}" for i in range(0, args.checks, args.pollers)]
    per_report = max(1, round(len(assets) * args.report_interval / args.interval))
    fill_spool(run.confs[name], args.replay, per_report, assets, f"tcp:{run.sites[0][2]}", args.report_interval)
    header(args, f"replay: {args.replay} spooled reports of {per_report} results each ({args.report_interval:g} s of "
                 f"{len(assets)} checks every {args.interval:g} s) after a cut")
    c0, ccpu0 = counts(run.db), proc_cpu(run.procs["collector"].pid)[0]
    t0, w0 = time.monotonic(), time.time()
    run.start_pollers()
    wait_for(lambda: run.spooled(name) == 0, 3600, "the spool to drain")
    t1, w1 = time.monotonic(), time.time()
    ccpu1, c1 = proc_cpu(run.procs["collector"].pid)[0], counts(run.db)
    posts = run.posts(w0, w1)
    times = sorted(d for _, d in posts)
    took = t1 - t0
    reports = c1.get(f"s:{name}", 0) - c0.get(f"s:{name}", 0)
    # the replay proper: from the first answer to the last, without the poller's start (imports, share fetch)
    rate = (len(posts) - 1) / max(posts[-1][0] - posts[0][0], 1e-9) if len(posts) > 1 else float("nan")
    print(f"  drained in {took:.1f} s (poller start included): {reports} reports taken, {reports / took:.1f} "
          f"reports/s, {(c1.get(f'r:{name}', 0) - c0.get(f'r:{name}', 0)) / took:.0f} results/s; from the first "
          f"answer to the last {rate:.1f} reports/s")
    print(f"  report POST p50 {pct(times, .5) * 1000:.1f} ms, p99 {pct(times, .99) * 1000:.1f} ms ({len(times)} POSTs)"
          f"; collector CPU {ccpu1 - ccpu0:.1f} s = {(ccpu1 - ccpu0) / max(reports, 1) * 1000:.2f} ms per report")
    days3 = 3 * 86400 / args.report_interval
    print(f"  3 days of {args.report_interval:g} s reports ({days3:.0f}) at the replay's rate: "
          f"{days3 / rate / 60:.1f} min")


def steady(run: Run, args: argparse.Namespace) -> None:
    """The pollers running their checks: the figures of the module's docstring over the window."""
    collector = run.collector()
    run.start_pollers()
    load0 = os.getloadavg()
    time.sleep(args.warmup)
    db, names, pollers = run.db, run.names, run.pollers
    c0, t0, w0 = counts(db), time.monotonic(), time.time()
    ccpu0 = proc_cpu(collector.pid)[0]
    peers0 = run.peers_cpu()
    pcpu0 = {n: proc_cpu(p.pid)[0] for n, p in pollers.items()}
    last_id, lags, rss_peak = c0["max_id"], [], 0.0
    while time.monotonic() - t0 < args.duration:
        time.sleep(args.sample)
        last_id, probes = new_results(db, last_id)
        now_ms = time.time() * 1000
        lags.extend((now_ms - ts) / 1000 for ts in probes)
        rss_peak = max(rss_peak, proc_kb(collector.pid, "VmRSS") / 1024)
    lags.sort()
    c1, t1, w1 = counts(db), time.monotonic(), time.time()
    ccpu1 = proc_cpu(collector.pid)[0]
    peers1 = run.peers_cpu()
    pcpu1 = {n: proc_cpu(p.pid)[0] for n, p in pollers.items()}
    prss = {n: (proc_kb(p.pid, "VmRSS") / 1024, vm_hwm_mb(p.pid)) for n, p in pollers.items()}
    spooled = {n: run.spooled(n) for n in names}
    crss, chwm = proc_kb(collector.pid, "VmRSS") / 1024, vm_hwm_mb(collector.pid)
    load1 = os.getloadavg()
    span = t1 - t0
    times = sorted(d for _, d in run.posts(w0, w1))
    results = sum(c1.get(f"r:{n}", 0) - c0.get(f"r:{n}", 0) for n in names)
    reports = sum(c1.get(f"s:{n}", 0) - c0.get(f"s:{n}", 0) for n in names)
    https = round(args.checks * args.http) if args.http else 0
    devices = "".join(f" + 1 poller with {n} {kind.upper()} checks"
                      for kind, n in (("snmp", args.snmp), ("ssh", args.ssh)) if n)
    header(args, f"{args.pollers} poller(s), {args.checks} checks ({args.checks - https} TCP, {https} HTTP){devices} "
                 f"every {args.interval:g} s, reports every {args.report_interval:g} s; window {span:.0f} s after "
                 f"{args.warmup:g} s")
    if args.snmp:
        print(f"  SNMP: each check one poll of a {args.snmp_ports}-port switch (snmpsim, v2c, one endpoint on "
              f"127.0.0.1; its CPU is not the poller's: {(peers1[0] - peers0[0]) / span * 100:.1f}% of a core)")
    if args.ssh:
        print(f"  SSH: each check one session to one sshd (its CPU, with its children's that ended, not the "
              f"poller's: {(peers1[1] - peers0[1]) / span * 100:.1f}% of a core)")
    print(f"  load average {load0[0]:.2f} when the pollers started, {load1[0]:.2f} at the end")
    print("central collector (SQLite):")
    print(f"  CPU                    {(ccpu1 - ccpu0) / span:.3f} s/s (user+sys, all threads) = "
          f"{(ccpu1 - ccpu0) / span * 100:.1f}% of one core")
    print(f"  RSS                    {crss:.1f} MB now, {max(rss_peak, crss):.1f} MB sampled peak, "
          f"{chwm:.1f} MB VmHWM")
    print(f"  ingest                 {results / span:.1f} results/s ({results} stored, expected about "
          f"{(args.checks + args.snmp + args.ssh) * span / args.interval:.0f}), {reports / span:.2f} reports/s "
          f"({reports})")
    print(f"  report POST latency    p50 {pct(times, .5) * 1000:.1f} ms, p90 {pct(times, .9) * 1000:.1f}, "
          f"p99 {pct(times, .99) * 1000:.1f}, max {max(times, default=float('nan')) * 1000:.1f} ms "
          f"({len(times)} POSTs, answered after the commit)")
    print(f"  store writes           {(c1['max_id'] - c0['max_id']) / span:.1f} observation rows/s")
    print(f"  lag of stored results  p50 {pct(lags, .5):.2f} s, p99 {pct(lags, .99):.2f} s, max "
          f"{max(lags, default=float('nan')):.2f} s (probe start to seen stored; includes the wait for "
          f"the next report, {args.report_interval:g} s, and up to {args.sample:g} s of sampling)")
    print("pollers:")
    per100: dict[str, float] = {}
    for name in names:
        ran = c1.get(f"r:{name}", 0) - c0.get(f"r:{name}", 0)
        cpu = pcpu1[name] - pcpu0[name]
        per100[name] = cpu / max(ran, 1) * 100 * 1000
        held = {"tcp": args.checks / args.pollers, "snmp": args.snmp, "ssh": args.ssh}[run.kinds[name]]
        up = c1.get(f"u:{name}", 0) - c0.get(f"u:{name}", 0)
        print(f"  {name}  {ran:6d} checks (of {held * span / args.interval:.0f}; {up} up)"
              f"  CPU {cpu:6.2f} s = {per100[name]:5.1f} ms per 100 checks "
              f"({cpu / span * 100:4.1f}% of a core)  RSS {prss[name][0]:5.1f} MB (peak {prss[name][1]:5.1f})  "
              f"spool {spooled[name]}")
    tcp = [per100[n] for n in names if run.kinds[n] == "tcp"]
    if len(tcp) > 1:
        rss = [prss[n][0] for n in names if run.kinds[n] == "tcp"]
        print(f"  TCP pollers: CPU per 100 checks median {statistics.median(tcp):.1f} ms (min {min(tcp):.1f}, "
              f"max {max(tcp):.1f}); RSS median {statistics.median(rss):.1f} MB (max {max(rss):.1f})")
    for name in names:
        if run.kinds[name] != "tcp" and tcp:
            kind = run.kinds[name].upper()
            print(f"  {kind} / TCP: CPU per 100 checks {per100[name] / statistics.median(tcp):.1f}x "
                  f"({per100[name]:.1f} / {statistics.median(tcp):.1f} ms), RSS "
                  f"{prss[name][0] - statistics.median(prss[n][0] for n in names if run.kinds[n] == 'tcp'):+.1f} MB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pollers", type=int, default=1, help="sites, one poller each (at most 200)")
    ap.add_argument("--checks", type=int, default=500, help="checks over all sites")
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between two runs of a check")
    ap.add_argument("--http", type=float, default=0.0, help="share of the checks that are HTTP (0 to 1)")
    ap.add_argument("--report-interval", type=float, default=1.0,
                    help="the pollers' `interval`: seconds between reports")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--sample", type=float, default=2.0, help="seconds between two looks at the collector")
    ap.add_argument("--snmp", type=int, default=0, metavar="N",
                    help="one more poller (site-snmp) with N SNMP checks against snmpsim on loopback")
    ap.add_argument("--snmp-ports", type=int, default=8, help="ports of the simulated switch each SNMP check polls")
    ap.add_argument("--ssh", type=int, default=0, metavar="N",
                    help="one more poller (site-ssh) with N SSH command checks against an sshd on loopback")
    ap.add_argument("--replay", type=int, default=0, metavar="N",
                    help="instead: the first poller starts with N reports in its spool; time their replay")
    args = ap.parse_args()
    run = Run(args)
    try:
        (replay if args.replay else steady)(run, args)
    finally:
        run.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
