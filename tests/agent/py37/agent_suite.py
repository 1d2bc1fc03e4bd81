"""The agent's units under an old Python: run by tests/agent/test_old_pythons.py in a venv of each
interpreter from 3.7 to 3.13, where only the installed opsmon-agent wheel and its dependencies are.

Standard library only (unittest, http.server): the rest of tests/ is written for the collector's 3.11 and
needs pytest and the collector; this file is written for 3.7 (ruff target py37 and vermin check it, as they
check agent/). It covers what differs between Pythons: agent.toml parsing (tomllib or tomli), durations,
the spool and its lock, the HTTP transport against a real loopback server, one collection by every
collector, the Prometheus exposition, the baseline policies (TOML) and the auth-log timestamps
(datetime.fromisoformat), and that every module of the agent imports (a runtime `dict[str, int]` or
`X | Y` fails there on 3.7, not in a linter).

    python agent_suite.py -v        # exit status 0 when every test passed
"""
from __future__ import annotations

import http.server
import importlib
import json
import os
import pkgutil
import socketserver
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from typing import Any

import psutil

import opsmon.agent
from opsmon.agent.config import load
from opsmon.agent.durations import parse_duration
from opsmon.agent.errors import ConfigError, Rejected, SpoolBusy, TransportError
from opsmon.agent.spool import Spool, SpoolLock
from opsmon.agent.transport import Transport

TOKEN = "opsmon_agent_old-python-suite"
PSUTIL = tuple(int(x) for x in psutil.__version__.split(".")[:2])


class Config(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "agent.toml"

    def tearDown(self) -> None:
        self.dir.cleanup()

    def write(self, text: str, mode: int = 0o600) -> str:
        self.path.write_text(text, encoding="utf-8")
        os.chmod(str(self.path), mode)
        return str(self.path)

    def test_a_full_config_reads_with_durations_lists_and_tables(self) -> None:
        cfg = load(self.write(
            'collector_url = "https://collector.example:8470/"\n'
            f'token = "{TOKEN}"\n'
            'interval = "1m30s"\nspool_max_age = "7d"\nspool_max_mb = 5\n'
            'services = ["sshd", "nginx"]\nmetrics_port = 9101\nfim_paths = []\n'
            '[baseline_params]\n'))
        self.assertEqual(cfg.collector_url, "https://collector.example:8470")
        self.assertEqual((cfg.interval, cfg.spool_max_age), (90.0, 7 * 86400.0))
        self.assertEqual((cfg.services, cfg.metrics_port, cfg.fim_paths), (("sshd", "nginx"), 9101, ()))
        self.assertEqual(cfg.spool_max_bytes, 5 * 1024 * 1024)

    def test_an_active_collector_and_its_standby(self) -> None:
        cfg = load(self.write(f'collector_url = ["https://c1:8470/", "https://c2:8470"]\ntoken = "{TOKEN}"\n'))
        self.assertEqual(cfg.collector_urls, ("https://c1:8470", "https://c2:8470"))
        self.assertEqual(cfg.collector_url, "https://c1:8470")
        for bad in ('[]', '["https://c1:8470", 5]', '["ftp://c1"]'):
            with self.assertRaises(ConfigError) as caught:
                load(self.write(f'collector_url = {bad}\ntoken = "{TOKEN}"\n'))
            self.assertEqual(caught.exception.key, "collector_url")

    def test_errors_name_the_key_and_the_reason(self) -> None:
        cases = [('collector_url = "https://c:1"\ntoken = "x"\nbogus = 1\n', "bogus", "unknown key"),
                 (f'collector_url = "https://c:1"\ntoken = "{TOKEN}"\ninterval = "soon"\n', "interval", "duration"),
                 ('collector_url = "https://c:1"\ntoken = [\n', "", "invalid TOML")]
        for text, key, reason in cases:
            with self.assertRaises(ConfigError) as caught:
                load(self.write(text))
            self.assertEqual(caught.exception.key, key)
            self.assertIn(reason, caught.exception.reason)

    def test_a_table_another_reader_takes_is_left_to_it(self) -> None:
        """`opsmon poller` reads poller.toml's [traps] itself: the agent's loader passes it by name only."""
        text = f'collector_url = "https://c:1"\ntoken = "{TOKEN}"\n[traps]\nenabled = true\n'
        with self.assertRaises(ConfigError) as caught:
            load(self.write(text))
        self.assertEqual((caught.exception.key, caught.exception.reason), ("traps", "unknown key"))
        self.assertEqual(load(self.write(text), ("traps",)).collector_url, "https://c:1")

    def test_a_token_in_a_file_readable_by_others_is_refused(self) -> None:
        with self.assertRaises(ConfigError) as caught:
            load(self.write(f'collector_url = "https://c:1"\ntoken = "{TOKEN}"\n', mode=0o644))
        self.assertIn("chmod 600", caught.exception.reason)

    def test_durations(self) -> None:
        self.assertEqual([parse_duration(v) for v in (30, "30s", "5m", "1h30m", "500ms", "1w")],
                         [30.0, 30.0, 300.0, 5400.0, 0.5, 604800.0])


class SpoolAndLock(unittest.TestCase):
    def test_oldest_first_bounded_by_size_and_age_and_the_drops_counted_across_restarts(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            spool = Spool(d, max_bytes=3000, max_age=3600)
            for seq in range(1, 6):
                spool.put(seq, json.dumps({"seq": seq, "pad": "x" * 900}).encode())
            self.assertEqual(len(spool), 3)  # 5 reports of ~920 bytes, 3000 bytes kept: the 2 oldest went
            self.assertEqual([json.loads(body)["seq"] for _, body in spool.oldest()], [3, 4, 5])
            old = spool.oldest()[0][0]
            os.utime(str(old), (time.time() - 7200, time.time() - 7200))
            self.assertEqual(spool.enforce(), 1)
            spool.remove(old)  # already gone: no error
            self.assertEqual(Spool(d, 3000, 3600).dropped, 3)

    def test_a_second_holder_is_refused_with_the_first_ones_pid(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            lock = SpoolLock.acquire(d)
            try:
                # flock is per open file: a second open in this process is refused like another process
                with self.assertRaises(SpoolBusy) as caught:
                    SpoolLock.acquire(d)
                self.assertEqual(caught.exception.pid, os.getpid())
            finally:
                lock.release()
            SpoolLock.acquire(d).release()


class _Collector(http.server.BaseHTTPRequestHandler):
    """A loopback stand-in for the collector's report endpoint: answers by the path's status table."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the collector does
    status = 200
    seen: list = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((dict(self.headers), body))
        answer = json.dumps({"status": "accepted", "interval": 15}).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class TransportToALoopbackServer(unittest.TestCase):
    def setUp(self) -> None:
        handler = type("H", (_Collector,), {"seen": [], "status": 200})
        self.handler = handler
        self.server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.running = True

    def tearDown(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.running = False

    def test_reports_share_one_connection_and_carry_token_clock_and_backlog(self) -> None:
        t = Transport(self.url, TOKEN, None, 5.0)
        self.assertEqual(t.send(b'{"seq":1}', backlog=2)["interval"], 15)
        self.assertEqual(t.send(b'{"seq":2}')["status"], "accepted")
        t.close()
        self.assertEqual(t.connections, 1)
        headers, body = self.handler.seen[0]
        self.assertEqual(headers["Authorization"], "Bearer " + TOKEN)
        self.assertEqual(headers["X-Opsmon-Backlog"], "2")
        self.assertLess(abs(float(headers["X-Opsmon-Sent-At"]) - time.time()), 60)
        self.assertEqual(body, b'{"seq":1}')

    def test_a_5xx_is_worth_retrying_a_422_is_not_and_a_closed_port_is_unreachable(self) -> None:
        t = Transport(self.url, TOKEN, None, 5.0)
        self.handler.status = 503
        self.assertRaises(TransportError, t.send, b"{}")
        self.handler.status = 422
        self.assertRaises(Rejected, t.send, b"{}")
        t.close()
        self.stop()
        self.assertRaises(TransportError, Transport(self.url, TOKEN, None, 2.0).send, b"{}")


class Collection(unittest.TestCase):
    def test_every_collector_reads_this_host(self) -> None:
        from opsmon.agent.collectors import build
        from opsmon.agent.collectors.facts import host_facts

        registry = build(["python-no-such-xyz"])
        metrics = registry.collect()
        failed = {name for name, n in registry.errors.items() if n}
        if PSUTIL < (5, 7):  # older psutil cannot parse /proc/diskstats of kernels 5.5+ (its 20 fields)
            failed.discard("disks")
        self.assertEqual(failed, set())
        self.assertGreater(metrics["memory"]["total"], 0)
        self.assertGreater(metrics["cpu"]["count"], 0)
        self.assertTrue(any(fs["mountpoint"] == "/" for fs in metrics["filesystems"]))
        self.assertEqual(metrics["services"], {"python-no-such-xyz": False})
        facts = host_facts()
        self.assertTrue(facts["os_release"] and facts["hostname"])

    def test_the_local_metrics_exposition(self) -> None:
        from prometheus_client import CollectorRegistry, generate_latest

        from opsmon.agent.collectors import build
        from opsmon.agent.exposition import families

        metrics = build([]).collect()

        class Local:
            def collect(self) -> Any:
                return families(metrics, {})

        registry = CollectorRegistry()
        registry.register(Local())
        text = generate_latest(registry).decode()
        self.assertIn("opsmon_host_memory_total_bytes ", text)
        self.assertIn('opsmon_host_cpu_seconds_total{mode="user"}', text)


class Baseline(unittest.TestCase):
    def test_the_bundled_policies_load(self) -> None:
        from opsmon.agent.baseline.policy import load_policies

        policies = load_policies()
        self.assertGreaterEqual(len(policies), 2)
        self.assertGreaterEqual(min(len(p.checks) for p in policies), 40)

    def test_auth_log_iso_timestamps_of_every_form(self) -> None:
        from opsmon.agent.baseline.authlog import line_time

        want = 1714528800.0  # 2024-05-01T02:00:00Z
        for stamp in ("2024-05-01T10:00:00+08:00", "2024-05-01T10:00:00+0800", "2024-05-01T02:00:00Z",
                      "2024-05-01T10:00:00.000000+08:00", "2024-05-01T10:00:00.0+0800"):
            self.assertEqual(line_time(stamp + " host sshd[1]: x", time.time()), want, stamp)


class Imports(unittest.TestCase):
    def test_every_module_of_the_agent_imports(self) -> None:
        names = [m.name for m in pkgutil.walk_packages(opsmon.agent.__path__, "opsmon.agent.")]
        self.assertGreaterEqual(len(names), 30)
        for name in names:
            importlib.import_module(name)


if __name__ == "__main__":
    print(f"opsmon-agent suite on Python {sys.version.split()[0]} with psutil {psutil.__version__}", file=sys.stderr)
    unittest.main()
