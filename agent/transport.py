"""HTTP(S) push to the collector with the agent's token. TLS is verified; a custom CA may be given.

One persistent connection (HTTP/1.1 keep-alive) carries every report, so a report costs no TCP or
TLS handshake while the collector keeps the connection open. A connection the collector has closed
in the meantime (its idle timeout) is noticed before sending and replaced; if the collector closes
it while the request is on the way, the request is sent once more on a new connection (a report
the collector did take is answered "duplicate" the second time, and stored once). Any other failure
closes the connection, and the next report opens a new one.

Proxies are taken from the environment (and, on Windows, the system settings) as urllib does:
http_proxy / https_proxy / no_proxy; HTTPS goes through a CONNECT tunnel and is verified end to end.

What the agent keeps in memory matters (docs/agent.md, "Cost on the host"): urllib.request (1.8 MB
resident, with hashlib's OpenSSL) is imported only where a proxy can be configured, and ssl only for
an https:// collector (see compat.http_client_without_ssl for the agent process itself).
"""
from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import select
import sys
import time
import urllib.parse
from typing import Any, Sequence

from opsmon.agent import __version__
from opsmon.agent.errors import Rejected, TransportError

log = logging.getLogger("opsmon.agent")
REJECTED = (400, 401, 403, 413, 422)  # the report or the token is refused for good: retrying will not help
# The collector closed a kept-alive connection: worth one more try on a fresh connection.
CLOSED_BY_PEER = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def _proxies() -> dict[str, str]:
    """urllib.request.getproxies(): on Linux and other POSIX systems but macOS that reads only the
    environment's *_proxy variables, so with none set there is no proxy and no need to import it."""
    if os.name == "posix" and sys.platform != "darwin" and not any(k.lower().endswith("_proxy") for k in os.environ):
        return {}
    from urllib.request import getproxies

    return getproxies()


class Transport:
    def __init__(self, base_url: str | Sequence[str], token: str, ca_file: str | None, timeout: float) -> None:
        """base_url: the collector, or the collectors of an active/standby pair in order of preference: a
        report that cannot be delivered to the one in use is tried at each other once, and the one that
        took it is used from then on (only the active collector listens; a report taken twice is stored
        once, by its stream and sequence)."""
        self.bases = (base_url,) if isinstance(base_url, str) else tuple(base_url)
        if not self.bases:
            raise ValueError("no collector URL")
        self._token = token
        self.timeout = timeout
        self._ca_file = ca_file
        self._conn: http.client.HTTPConnection | None = None
        self.connections = 0  # connections opened so far (for tests and the benchmark)
        self.switches = 0  # times a report went to another collector than the one before (failover)
        self._use(0)

    def _use(self, index: int) -> None:
        """Send to the collector bases[index] from now on."""
        self.close()
        self.current = index
        self.url = f"{self.bases[index]}/api/v1/agent/report"
        parts = urllib.parse.urlsplit(self.url)
        self._https = parts.scheme == "https"
        self.context: Any = None
        if self._https:
            import ssl

            self.context = ssl.create_default_context(cafile=self._ca_file)
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        self._proxy: tuple[str, int, dict[str, str]] | None = None
        proxy_url = _proxies().get(parts.scheme)
        if proxy_url:
            from urllib.request import proxy_bypass

            if not proxy_bypass(parts.netloc):
                self._set_proxy(proxy_url)

    def _set_proxy(self, proxy_url: str) -> None:
        if "://" not in proxy_url:
            proxy_url = "http://" + proxy_url
        p = urllib.parse.urlsplit(proxy_url)
        headers = {}
        if p.username:
            cred = f"{urllib.parse.unquote(p.username)}:{urllib.parse.unquote(p.password or '')}"
            headers["Proxy-Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode("ascii")
        self._proxy = (p.hostname or "", p.port or 80, headers)
        if not self._https:  # plain HTTP through a proxy: the request line carries the whole URL
            self._target = self.url

    def _connect(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self._proxy is None:
            host, port = self._host, self._port
        else:
            host, port = self._proxy[0], self._proxy[1]
        if self._https:
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self.context)
            if self._proxy is not None:
                conn.set_tunnel(self._host, self._port, headers=self._proxy[2])
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        conn.connect()
        self.connections += 1
        return conn

    def _usable(self, conn: http.client.HTTPConnection) -> bool:
        """An idle kept-alive connection has nothing to read; readable means the collector closed it."""
        sock = conn.sock
        if sock is None:
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = self._conn
        if conn is not None and not self._usable(conn):
            self.close()
            conn = None
        reused = conn is not None
        if conn is None:
            conn = self._conn = self._connect()
        try:
            conn.request("POST", self._target, body=body, headers=headers)
            resp = conn.getresponse()
        except CLOSED_BY_PEER:
            self.close()
            if not reused:
                raise
            conn = self._conn = self._connect()  # closed while the request was on the way: once more
            conn.request("POST", self._target, body=body, headers=headers)
            resp = conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.close()
        return resp.status, data

    def send(self, body: bytes, backlog: int = 0) -> dict[str, Any]:
        """POST one report; returns the collector's answer (settings). Raises TransportError or Rejected.

        With several collectors, a report the one in use cannot take goes to each other in turn; the
        first that takes it is used from then on. A refusal (Rejected) is an answer and is not retried.
        """
        first = self.current
        try:
            return self._send_one(body, backlog)
        except TransportError as exc:
            failure = exc
        for step in range(1, len(self.bases)):
            self._use((first + step) % len(self.bases))
            try:
                answer = self._send_one(body, backlog)
            except TransportError as exc:
                failure = exc
                continue
            self.switches += 1
            log.warning("collector unreachable; reports go to the next one",
                        extra={"from": self.bases[first], "to": self.bases[self.current], "reason": str(failure)})
            return answer
        if self.current != first:
            self._use(first)  # none took it: the next report starts again with the one before
        raise failure

    def _send_one(self, body: bytes, backlog: int) -> dict[str, Any]:
        """POST one report to the collector in use.

        backlog: how many reports follow this one from the spool; the collector does not judge this host
        silent while they drain (after an outage the first of them is older than its silence limit).
        """
        # The send time lets the collector measure this host's clock offset (see collector/inputs/agents/ingest.py).
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self._token}",
                   "User-Agent": f"opsmon-agent/{__version__}", "X-Opsmon-Sent-At": f"{time.time():.3f}"}
        if backlog > 0:
            headers["X-Opsmon-Backlog"] = str(backlog)
        try:
            status, data = self._post(body, headers)
        except (OSError, TimeoutError, ValueError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(str(exc) or type(exc).__name__) from None
        if not 200 <= status < 300:
            if status in REJECTED:
                raise Rejected(f"HTTP {status}: {data[:500].decode(errors='replace')}")
            raise TransportError(f"HTTP {status}")
        try:
            return json.loads(data or b"{}")
        except ValueError as exc:
            raise TransportError(str(exc)) from None
