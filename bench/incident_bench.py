#!/usr/bin/env python3
"""Detection-to-notification benchmark: a loopback target goes down; how long until the webhook holds the notice.

Goal (issue "incidents"): with a 5 s check interval and a 3-strike debounce, the
median time from the fault to the webhook receiver holding the message is under
17 s (3 intervals + 2 s) and the 99th percentile under 20 s. Reported side by side
with the same faults seen by a real Prometheus stack with equivalent settings.

What it runs (everything on 127.0.0.1, temp folders, every process stopped by PID at the end)
  targets     --targets TCP listeners run by this process. "Down" = the listening socket is closed
              (a connect is refused at once, as for a crashed service); the instant after the close
              is t0. The port stays reserved meanwhile by a bound, not listening, SO_REUSEPORT
              socket, so nothing else can take it and "up" is that socket starting to listen.
  receiver    one HTTP server of this process for both stacks; it notes the arrival (monotonic and
              wall clock) of every POST once its body is read, i.e. when the receiver holds it.
              opsmon's notices are checked like a real receiver must (HMAC-SHA256 over the raw
              body, timestamp within 300 s, repeats of X-Opsmon-Key dropped).
  opsmon      a real `python -m collector --config X serve`: scheduler.default_interval 5s,
              timeline.down_after 3, tick 1s (default), one `tcp` check per target, oncall.yaml with
              one person and one level `after: 0s` on a webhook channel, incidents.quiet_time 0s so
              every fault opens a new incident (the `opened` path through the escalation tick, not
              the quicker `reopened` one; both are accepted as "the notification").
  Prometheus  Debian's prometheus scraping Debian's prometheus-blackbox-exporter (tcp_connect) for
              the same targets every 5 s; rule `probe_success == 0` with `for: 10s`, evaluated every
              5 s; Debian's prometheus-alertmanager with group_by [instance], group_wait 0s,
              group_interval 5s (the smallest sensible value: it is also the delay before a new
              alert of a group that has already sent something is told), webhook to the receiver.

How a measurement goes: each target runs its own loop of --rounds faults. Before each fault it
sleeps a random 0-5 s, so the cut falls uniformly over the check/scrape/evaluation phases (the
result depends on phase: up to one interval passes before the first failing check). It cuts, waits
for the firing notice of each stack (opsmon event `opened`/`reopened`, Alertmanager status
`firing` for that instance), brings the target back, and waits for both `resolved` notices before
the next fault, so every fault starts from a clean state in both stacks. Both stacks watch the same
faults at the same time. A notice not received within --timeout is a miss (counted as infinite).

Why the expected figures: opsmon's first failing check comes U(0, 5) s after the cut, the third one
10 s later confirms the fault (the incident opens then, `opened_at`), the next 1 s tick escalates
to level 1 and the webhook gets it within milliseconds: about 10 + U(0,5) + U(0,1) s, median ~13 s,
max ~16 s. Prometheus: the first failing scrape U(0, 5) s after the cut, the next rule evaluation
up to 5 s later makes the alert pending, it fires 10 s (two evaluations) later (Prometheus sends
that moment as the alert's `startsAt`), and Alertmanager sends at once (group_wait 0s) unless the
group has sent before, when it waits for the group_interval tick: about 10 + U(0,5) + U(0,5)
(+ U(0,5)) s.

Percentiles are nearest-rank (the value at rank ceil(q*n) of the sorted samples): with misses
counted as infinite, no interpolation can hide them.

How to run (from the repository root; the Prometheus side needs Debian's prometheus,
prometheus-blackbox-exporter and prometheus-alertmanager packages):
    .venv/bin/python bench/incident_bench.py            # 20 targets x 20 faults each, ~11 minutes
    .venv/bin/python bench/incident_bench.py --quick    # 5 targets x 3 faults, ~2 minutes
    flags: --targets --rounds --timeout --seed --skip-prometheus --keep (keep the temp folder)
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
INTERVAL = 5.0  # check / scrape / rule-evaluation interval of both stacks (s)
GOAL_MEDIAN = 17.0  # 3 intervals + 2 s
GOAL_P99 = 20.0
SECRET = "incident-bench-webhook-secret-5f0c2a9e"  # only ever on loopback
OPSMON = "opsmon"
PROM = "prometheus"
OPSMON_FIRING = {"opened": True, "reopened": True, "resolved": False}  # other events are not about the fault


def free_port() -> int:
    """A free loopback port for a server process (bound and released; the processes bind it at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reserved_socket(port: int) -> socket.socket:
    """A socket bound to 127.0.0.1:port that may share the port with the target's listener.

    SO_REUSEPORT lets it be bound while the old listener still is, so the port is never free between
    "down" and "up"; SO_REUSEADDR lets it bind over the TIME_WAIT connections the listener left behind.
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    return s


class Target:
    """A loopback TCP service the bench takes down (connections refused) and brings back at recorded instants."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.asset_id = f"bench-{index:02d}"
        self.port = 0
        self._server: asyncio.Server | None = None
        self._held: socket.socket | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        self._server = await asyncio.start_server(self._accept, sock=sock, backlog=128)

    @property
    def instance(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    async def _accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()  # a connect is all either stack checks

    def cut(self) -> tuple[float, float]:
        """Stop listening now; returns (monotonic, wall) t0 taken right after the listening socket is closed."""
        assert self._server is not None
        self._held = _reserved_socket(self.port)
        self._server.close()  # closes the listening socket synchronously; accepted ones are already closed
        self._server = None
        return time.monotonic(), time.time()

    async def restore(self) -> None:
        assert self._held is not None
        sock, self._held = self._held, None
        self._server = await asyncio.start_server(self._accept, sock=sock, backlog=128)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._held is not None:
            self._held.close()
            self._held = None


@dataclass
class Arrival:
    """One notice about one target, as the receiver got it."""

    mono: float
    wall: float
    firing: bool
    detected_wall: float | None  # opsmon: opened_at (fault confirmed); Prometheus: startsAt (alert fired)


class Receiver:
    """The webhook receiver of both stacks: a minimal HTTP/1.1 server (keep-alive, Content-Length bodies).

    Written on asyncio rather than taken from http.server so arrivals are stamped on this process's event
    loop, the same clock and thread that stamps t0, and waiting for a notice costs no polling.
    """

    def __init__(self, targets: list[Target]) -> None:
        self.by_asset = {t.asset_id: t.index for t in targets}
        self.by_instance = {t.instance: t.index for t in targets}
        self.arrivals: dict[tuple[str, int], list[Arrival]] = {}
        self.changed = asyncio.Event()
        self.seen_keys: set[str] = set()
        self.rejected = 0
        self.duplicates = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                mono, wall = time.monotonic(), time.time()
                try:
                    status = self._record(path, headers, body, mono, wall)
                except (ValueError, AttributeError):
                    status = 400  # not the JSON either stack sends
                writer.write(f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                             f"Content-Length: 2\r\n\r\n{{}}".encode())
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _add(self, stack: str, index: int, arrival: Arrival) -> None:
        self.arrivals.setdefault((stack, index), []).append(arrival)
        self.changed.set()

    def _record(self, path: str, headers: dict[str, str], body: bytes, mono: float, wall: float) -> int:
        if path.startswith("/opsmon"):
            ts, sig = headers.get("x-opsmon-timestamp", "0"), headers.get("x-opsmon-signature", "")
            want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want, sig) or abs(wall - int(ts)) > 300:
                self.rejected += 1
                return 401
            key = headers.get("x-opsmon-key", "")
            if key in self.seen_keys:
                self.duplicates += 1
                return 200
            self.seen_keys.add(key)
            notice = json.loads(body)
            index = self.by_asset.get(notice.get("asset_id", ""))
            firing = OPSMON_FIRING.get(notice.get("event", ""))
            if index is not None and firing is not None:
                self._add(OPSMON, index, Arrival(mono, wall, firing, _wall(notice.get("opened_at"))))
        elif path.startswith("/alertmanager"):
            for alert in json.loads(body).get("alerts", []):
                index = self.by_instance.get(alert.get("labels", {}).get("instance", ""))
                if index is not None:
                    self._add(PROM, index, Arrival(mono, wall, alert.get("status") == "firing",
                                                   _wall(alert.get("startsAt"))))
        return 200

    async def wait(self, stack: str, index: int, firing: bool, after: float, timeout: float) -> Arrival | None:
        """The first notice of `stack` about target `index` with this firing state that arrived after `after`."""
        deadline = time.monotonic() + timeout
        while True:
            self.changed.clear()  # no await between this and the look below: nothing can slip in between
            for arrival in self.arrivals.get((stack, index), []):
                if arrival.mono > after and arrival.firing is firing:
                    return arrival
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


def _wall(stamp: str | None) -> float | None:
    """Unix seconds of an RFC 3339 stamp (opsmon's isoformat, Go's with nanoseconds and Z)."""
    if not stamp:
        return None
    text = stamp.replace("Z", "+00:00")
    main, dot, rest = text.partition(".")
    if dot:  # Python's fromisoformat takes at most microseconds
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{main}.{digits[:6]}{rest[len(digits):]}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


class Process:
    """A server process with its output in a file; stopped by its own PID (SIGTERM, then SIGKILL)."""

    def __init__(self, name: str, argv: list[str], folder: Path, cwd: Path | None = None) -> None:
        self.name = name
        self.log_path = folder / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd)

    def check(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


async def wait_until(what: str, cond: Callable[[], Awaitable[bool]], timeout: float,
                     procs: list[Process]) -> None:
    """Poll `cond` every 0.25 s; fail early, with its log, if one of `procs` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            p.check()
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            if await cond():
                return
        await asyncio.sleep(0.25)
    raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")


def start_opsmon(folder: Path, targets: list[Target], receiver: str) -> tuple[Process, str]:
    """A real `opsmon serve` with the issue's settings; returns the process and its API base URL."""
    folder.mkdir()
    port = free_port()
    assets = "assets:\n" + "".join(
        f"  - {{id: {t.asset_id}, category: server, criticality: high, address: 127.0.0.1, "
        f"checks: [{{type: tcp, port: {t.port}}}]}}\n" for t in targets)
    (folder / "assets.yaml").write_text(assets)
    (folder / "oncall.yaml").write_text(textwrap.dedent("""
        people:
          bench: {name: Bench Receiver, email: bench@example.org}
        policies:
          default:
            levels:
              - {after: 0s, notify: [person:bench], channels: [hook]}
        routes:
          - {policy: default}
    """))
    (folder / "collector.yaml").write_text(textwrap.dedent(f"""
        timezone: UTC
        database: {{path: opsmon.db}}
        listen: {{host: 127.0.0.1, port: {port}}}
        api: {{public_read: true}}
        scheduler: {{default_interval: 5s}}
        timeline: {{down_after: 3, tick: 1s}}
        inventory: {{files: [assets.yaml]}}
        incidents:
          oncall_file: oncall.yaml
          link_key_file: ack.key
          quiet_time: 0s
          public_url: http://127.0.0.1:{port}
        notify:
          channels:
            hook: {{type: webhook, url: '{receiver}/opsmon', secret: {SECRET}}}
    """))
    proc = Process(OPSMON, [sys.executable, "-m", "collector", "--config", str(folder / "collector.yaml"), "serve"],
                   folder, cwd=ROOT)
    return proc, f"http://127.0.0.1:{port}"


def start_prometheus_stack(folder: Path, targets: list[Target], receiver: str) -> tuple[list[Process], str]:
    """blackbox_exporter, Alertmanager and Prometheus with settings equivalent to opsmon's; returns them and
    Prometheus' base URL."""
    binaries = {"prometheus": shutil.which("prometheus"),
                "blackbox": shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter"),
                "alertmanager": shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")}
    missing = [k for k, v in binaries.items() if v is None]
    if missing:
        raise RuntimeError(f"missing {', '.join(missing)}: apt-get install prometheus prometheus-blackbox-exporter "
                           "prometheus-alertmanager (or run with --skip-prometheus)")
    folder.mkdir()
    bb_port, am_port, prom_port = free_port(), free_port(), free_port()
    (folder / "blackbox.yml").write_text("modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 4s\n")
    (folder / "alertmanager.yml").write_text(textwrap.dedent(f"""
        route:
          receiver: bench
          group_by: [instance]
          group_wait: 0s
          group_interval: 5s
          repeat_interval: 1h
        receivers:
          - name: bench
            webhook_configs:
              - url: {receiver}/alertmanager
                send_resolved: true
    """))
    (folder / "rules.yml").write_text(textwrap.dedent("""
        groups:
          - name: bench
            interval: 5s
            rules:
              - alert: BenchTargetDown
                expr: probe_success == 0
                for: 10s
    """))
    instances = ", ".join(f"'{t.instance}'" for t in targets)
    (folder / "prometheus.yml").write_text(textwrap.dedent(f"""
        global: {{scrape_interval: 5s, scrape_timeout: 4s, evaluation_interval: 5s}}
        rule_files: [rules.yml]
        alerting:
          alertmanagers:
            - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]
        scrape_configs:
          - job_name: blackbox
            metrics_path: /probe
            params: {{module: [tcp_connect]}}
            static_configs: [{{targets: [{instances}]}}]
            relabel_configs:
              - {{source_labels: [__address__], target_label: __param_target}}
              - {{source_labels: [__param_target], target_label: instance}}
              - {{target_label: __address__, replacement: '127.0.0.1:{bb_port}'}}
    """))
    (folder / "am-data").mkdir()
    procs = [
        Process("blackbox", [str(binaries["blackbox"]), f"--config.file={folder / 'blackbox.yml'}",
                             f"--web.listen-address=127.0.0.1:{bb_port}"], folder),
        Process("alertmanager", [str(binaries["alertmanager"]), f"--config.file={folder / 'alertmanager.yml'}",
                                 f"--storage.path={folder / 'am-data'}", f"--web.listen-address=127.0.0.1:{am_port}",
                                 "--cluster.listen-address="], folder),
        Process("prometheus", [str(binaries["prometheus"]), f"--config.file={folder / 'prometheus.yml'}",
                               f"--storage.tsdb.path={folder / 'prom-data'}",
                               f"--web.listen-address=127.0.0.1:{prom_port}"], folder),
    ]
    return procs, f"http://127.0.0.1:{prom_port}"


@dataclass
class Sample:
    """One fault as one stack saw it: seconds from t0 to the webhook (None = missed) and to its own verdict."""

    latency: float | None
    detected: float | None


@dataclass
class Results:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    resolve_misses: dict[str, int] = field(default_factory=dict)


async def fault_loop(target: Target, rounds: int, rng: random.Random, receiver: Receiver, stacks: list[str],
                     timeout: float, results: Results) -> None:
    """--rounds faults of one target: random phase, cut, both firing notices, restore, both resolved notices."""
    for _ in range(rounds):
        await asyncio.sleep(rng.uniform(0.0, INTERVAL))
        t0, t0_wall = target.cut()
        got = await asyncio.gather(*(receiver.wait(s, target.index, True, t0, timeout) for s in stacks))
        for stack, arrival in zip(stacks, got, strict=True):
            detected = (arrival.detected_wall - t0_wall
                        if arrival is not None and arrival.detected_wall is not None else None)
            results.samples[stack].append(Sample(arrival.mono - t0 if arrival else None, detected))
        await target.restore()
        done = await asyncio.gather(*(receiver.wait(s, target.index, False, t0, timeout) for s in stacks))
        for stack, arrival in zip(stacks, done, strict=True):
            if arrival is None:
                results.resolve_misses[stack] += 1


def rank(values: list[float], q: float) -> float:
    """Nearest-rank percentile (misses are +inf and sort last)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def fmt(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "-"
    return "inf" if math.isinf(x) else f"{x:.2f}"


def summary(samples: list[Sample]) -> dict[str, float]:
    lat = [s.latency if s.latency is not None else math.inf for s in samples]
    det = [s.detected for s in samples if s.detected is not None]
    pipe = [s.latency - s.detected for s in samples if s.latency is not None and s.detected is not None]
    if not lat:
        return {}
    return {"n": len(lat), "miss": sum(math.isinf(x) for x in lat), "min": min(lat), "median": rank(lat, 0.5),
            "p90": rank(lat, 0.9), "p99": rank(lat, 0.99), "max": max(lat),
            "detected": rank(det, 0.5) if det else math.nan,
            "pipeline": rank(pipe, 0.5) if pipe else math.nan}


def report(results: Results, receiver: Receiver, args: argparse.Namespace, elapsed: float,
           load: tuple[float, float]) -> bool:
    """Print the side-by-side table; returns whether opsmon meets the goal."""
    stats = {stack: summary(s) for stack, s in results.samples.items()}
    names = {OPSMON: "opsmon", PROM: "Prometheus+blackbox+AM"}
    print(f"\nDetection to notification: {args.targets} loopback targets x {args.rounds} faults, "
          f"check/scrape/eval every {INTERVAL:g} s, 3 strikes (opsmon) / for: 10s (Prometheus)")
    print("seconds from the listener's close (t0) to the webhook receiver holding the notice\n")
    cols = ["n", "miss", "min", "median", "p90", "p99", "max"]
    print(f"{'stack':<24}" + "".join(f"{c:>9}" for c in cols))
    for stack, st in stats.items():
        if st:
            print(f"{names[stack]:<24}" + "".join(
                f"{int(st[c]):>9}" if c in ("n", "miss") else f"{fmt(st[c]):>9}" for c in cols))
    if OPSMON in stats and PROM in stats and stats[OPSMON] and stats[PROM]:
        ratio = "".join(f"{fmt(stats[OPSMON][c] / stats[PROM][c]) if stats[PROM][c] else '-':>9}"
                        for c in cols[2:])
        print(f"{'ratio opsmon/Prometheus':<24}{'':>18}{ratio}")
    print("\nwhere the time goes (medians, s):")
    if stats.get(OPSMON):
        st = stats[OPSMON]
        print(f"  opsmon      t0 -> incident opened (3rd failing check, opened_at) {fmt(st['detected']):>6}; "
              f"then escalation tick + webhook delivery {fmt(st['pipeline']):>5}")
    if stats.get(PROM):
        st = stats[PROM]
        print(f"  Prometheus  t0 -> alert firing (evaluation after for: 10s, startsAt) {fmt(st['detected']):>6}; "
              f"then notifier + Alertmanager + webhook {fmt(st['pipeline']):>5}")
    misses = ", ".join(f"{names[s]} {n}" for s, n in results.resolve_misses.items())
    print(f"\nresolved notices not seen within {args.timeout:g} s: {misses}; opsmon notices with a bad "
          f"signature: {receiver.rejected}, repeated keys: {receiver.duplicates}")
    print(f"run: {elapsed / 60:.1f} min, load average (1 min) {load[0]:.2f} at start, {load[1]:.2f} at end, "
          f"{os.cpu_count()} CPUs, seed {args.seed}")
    st = stats.get(OPSMON) or {}
    ok_median = bool(st) and st["median"] < GOAL_MEDIAN
    ok_p99 = bool(st) and st["p99"] < GOAL_P99
    verdict = "PASS" if ok_median and ok_p99 else "FAIL"
    print(f"\nopsmon goal: median < {GOAL_MEDIAN:g} s: {'PASS' if ok_median else 'FAIL'} ({fmt(st.get('median'))}), "
          f"p99 < {GOAL_P99:g} s: {'PASS' if ok_p99 else 'FAIL'} ({fmt(st.get('p99'))}) -> {verdict}")
    return ok_median and ok_p99


async def run(args: argparse.Namespace, folder: Path) -> bool:
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    targets = [Target(i) for i in range(args.targets)]
    for t in targets:
        await t.start()
    receiver = Receiver(targets)
    url = await receiver.start()
    stacks = [OPSMON] + ([] if args.skip_prometheus else [PROM])
    procs: list[Process] = []
    try:
        opsmon, api = start_opsmon(folder / "opsmon", targets, url)
        procs.append(opsmon)
        prom_url = ""
        if not args.skip_prometheus:
            prom_procs, prom_url = start_prometheus_stack(folder / "prometheus", targets, url)
            procs += prom_procs
        async with httpx.AsyncClient(timeout=2) as http:
            async def opsmon_all_up() -> bool:
                states = (await http.get(api + "/api/v1/states")).json()
                return sum(s["state"] == "up" for s in states) == len(targets)

            async def prometheus_all_up() -> bool:
                res = (await http.get(prom_url + "/api/v1/query", params={"query": "probe_success"})).json()
                vals = res["data"]["result"]
                return len(vals) == len(targets) and all(v["value"][1] == "1" for v in vals)

            print(f"waiting for both stacks to see {len(targets)} targets up ...", flush=True)
            await wait_until("opsmon to see every target up", opsmon_all_up, 60, procs)
            if not args.skip_prometheus:
                await wait_until("Prometheus to see every target up", prometheus_all_up, 60, procs)
        await asyncio.sleep(INTERVAL)  # one more evaluation: no alert state left from start-up
        print(f"measuring: {args.targets} targets x {args.rounds} faults ...", flush=True)
        results = Results({s: [] for s in stacks}, dict.fromkeys(stacks, 0))
        rng = random.Random(args.seed)
        loops = [fault_loop(t, args.rounds, random.Random(rng.random()), receiver, stacks, args.timeout, results)
                 for t in targets]
        watch = asyncio.create_task(_watch(procs))
        try:
            await asyncio.gather(*loops)
        finally:
            watch.cancel()
        for p in procs:
            p.check()
        return report(results, receiver, args, time.monotonic() - started, (load_start, os.getloadavg()[0]))
    finally:
        for p in reversed(procs):
            p.stop()
        await receiver.close()
        for t in targets:
            t.close()


async def _watch(procs: list[Process]) -> None:
    """Fail the run as soon as a server process dies instead of timing out on every fault."""
    while True:
        await asyncio.sleep(1)
        for p in procs:
            p.check()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", type=int, default=20, help="loopback targets, each with its own listener")
    ap.add_argument("--rounds", type=int, default=20, help="faults per target")
    ap.add_argument("--timeout", type=float, default=60.0, help="a notice later than this is a miss (s)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random fault phases")
    ap.add_argument("--quick", action="store_true", help="5 targets x 3 faults (~2 minutes)")
    ap.add_argument("--skip-prometheus", action="store_true", help="measure opsmon alone")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (configs, logs, databases)")
    args = ap.parse_args()
    if args.quick:
        args.targets, args.rounds = 5, 3
    folder = Path(tempfile.mkdtemp(prefix="opsmon-incident-bench-"))
    try:
        ok = asyncio.run(run(args, folder))
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
