"""A site poller's own `/metrics`: the SNMP exposition of the devices it polls (docs/poller.md, "Interface metrics").

The centre's SNMP hub holds only the devices the centre polls, so a device polled at a site has its interface
counters and rates here, on the poller, for the site's (or the centre's) Prometheus to scrape: the same encoder
(inputs/snmp/exposition.py), so the same series names and labels (`asset`, `ifIndex`, ...) as the centre's, and
dashboards and recording rules work unchanged. No `site` or `poller` label: the centre's series carry none (the
join to a site is `opsmon_asset_up`'s, on `asset`); the scrape job's `instance` says which poller served a series.

Secure by default: off unless poller.toml names `metrics_port` (the agent's key), and then bound to 127.0.0.1 unless
`metrics_address` names another address: the page has no authentication (like node_exporter's), and it names the
site's devices and their ports, so opening it beyond the box is the operator's choice (and its firewall's).

Bounded like the other doors: GET /metrics only (404 for another path, 405 for another method), no request body
(413), the standard library's limits on the request line and headers, one request served at a time with a 5 s
socket timeout (a slow client cannot hold more), and at most RATE scrapes a second (429 beyond, Retry-After: 1).
The page is built once per poll (the exposition's cache) and gzipped once per new page, so a scrape costs a copy.
"""
from __future__ import annotations

import gzip
import ipaddress
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from opsmon.agent.errors import ConfigError

log = logging.getLogger("opsmon.poller")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus' text format, as prometheus_client sends it
RATE = 5.0  # scrapes a second at most (a Prometheus scrapes every 15 s or more; two or three servers scrape it)
BURST = 10
TIMEOUT = 5.0  # seconds a client may take to send its request


def metrics_address(path: str, port: int | None) -> str:
    """poller.toml's `metrics_address` (default 127.0.0.1): an IP address to bind the door to. Raises the agent's
    ConfigError (file, key, reason)."""
    from opsmon.agent.compat import tomllib

    with open(path, "rb") as fh:
        value = tomllib.load(fh).get("metrics_address")
    if value is None:
        return "127.0.0.1"
    if port is None:
        raise ConfigError(path, "metrics_address", "given without metrics_port (the door is off without a port)")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ConfigError(path, "metrics_address", f"expected an IP address such as 127.0.0.1 or 10.1.2.3 (the "
                          f"poller's address toward Prometheus), got {value!r}") from None


class _Bucket:
    """RATE tokens a second, BURST at most: a scrape takes one."""

    def __init__(self) -> None:
        self.tokens, self.at = float(BURST), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(BURST), self.tokens + (now - self.at) * RATE)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class SnmpDoor:
    """GET /metrics on (address, port): the exposition of the hub the poller's devices.py made, if any."""

    def __init__(self, address: str, port: int, ctx: Any) -> None:
        """ctx: the poller's CheckContext, whose `snmp` is set when the share first holds an SNMP check."""
        self.ctx = ctx
        self.scrapes = 0
        self.refused = 0
        self._page: Any = None  # SnmpExposition of ctx.snmp, made with the hub
        self._hub: Any = None
        self._body: bytes | None = None
        self._gzipped = b""
        self._bucket = _Bucket()
        door = self

        class Handler(BaseHTTPRequestHandler):
            timeout = TIMEOUT
            server_version = "opsmon-poller"
            sys_version = ""

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                door.serve(self)

            def _refuse(self) -> None:
                door.answer(self, 405, b"GET only\n", {"Allow": "GET"})

            do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return  # a scrape is not news; refusals are counted (and logged once a minute at most)

        self.server = HTTPServer((address, port), Handler, bind_and_activate=True)
        self.address = f"{address}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="opsmon-poller-metrics",
                                        daemon=True)
        self._said = 0.0

    def start(self) -> None:
        self._thread.start()
        log.info("poller metrics door open", extra={"listen": self.address})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def render(self) -> bytes:
        """The SNMP exposition of the poller's devices; empty before its SNMP hub exists."""
        hub = self.ctx.snmp
        if hub is None:
            return b""
        if hub is not self._hub:
            from opsmon.collector.inputs.snmp.exposition import SnmpExposition

            self._hub, self._page = hub, SnmpExposition(hub, hub.settings.export_rates)
        body: bytes = self._page.render()
        return body

    def answer(self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        if status >= 400:
            self.refused += 1
            now = time.monotonic()
            if now - self._said >= 60:
                self._said = now
                log.warning("poller metrics door refused a request", extra={
                    "status": status, "client": h.client_address[0], "refused": self.refused})
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def serve(self, h: BaseHTTPRequestHandler) -> None:
        if h.path.split("?", 1)[0] != "/metrics":
            return self.answer(h, 404, b"only /metrics here\n", {"Content-Type": "text/plain"})
        if h.headers.get("Content-Length", "0") not in ("", "0") or h.headers.get("Transfer-Encoding"):
            return self.answer(h, 413, b"no request body here\n", {"Content-Type": "text/plain", "Connection": "close"})
        if not self._bucket.take():
            return self.answer(h, 429, b"too many scrapes\n", {"Content-Type": "text/plain", "Retry-After": "1"})
        body = self.render()
        self.scrapes += 1
        headers = {"Content-Type": CONTENT_TYPE, "Vary": "Accept-Encoding"}
        if "gzip" in h.headers.get("Accept-Encoding", ""):
            if body is not self._body:  # a new page (a poll since): gzipped once, not once per scrape
                self._body, self._gzipped = body, gzip.compress(body, compresslevel=6)
            body = self._gzipped
            headers["Content-Encoding"] = "gzip"
        return self.answer(h, 200, body, headers)
