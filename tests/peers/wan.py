"""A WAN path on loopback that a test can cut: a TCP relay between a prefecture's address and the centre.

Without root (no network namespaces, no iptables) the honest cut is the path's: the relay listens on a
prefecture-side address (127.0.0.x) and forwards every connection to the centre. `cut()` closes its listener
and every connection through it, so a sender gets "connection refused" as from a down link; `restore()`
listens again on the same address and port. What is behind the relay (the central collector) keeps running.
"""
from __future__ import annotations

import contextlib
import socket
import threading


class WanPath:
    def __init__(self, host: str, target: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        """target: where connections go (may be set later, before the first connection: a collector's port)."""
        self.host = host
        self.target = target
        with socket.socket() as probe:
            probe.bind((host, 0))
            self.port = probe.getsockname()[1]
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.restore()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, set()
        for sock in (*([listener] if listener is not None else []), *conns):
            shut(sock)

    close = cut

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                near, _ = listener.accept()
            except OSError:
                return
            try:
                far = socket.create_connection(self.target, timeout=5)
            except OSError:
                near.close()
                continue
            for sock in (near, far):  # forward each piece at once, as a router does: without this, Nagle held a
                # request's body behind its headers until the collector's delayed ACK (40 ms a request)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    near.close()
                    far.close()
                    return
                self._conns.update((near, far))
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


def tcp_service(host: str, port: int = 0) -> socket.socket:
    """A TCP service on `host` (any free port, or `port`: the same service started again) that accepts and
    closes: what a TCP check finds up. Close the returned socket to stop it, or `shut` it to stop it at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock


def shut(sock: socket.socket) -> None:
    """Shut a socket down, then close it: a listener (a `tcp_service`, the relay's) refuses the next connection
    at once. A close alone leaves the thread blocked in its accept(), which then takes one more connection (a
    probe a second after a service's stop found it up)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
