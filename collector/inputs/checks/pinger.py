"""ICMP echo over one shared socket per address family.

Why one socket: with a raw socket every ICMP packet on the host is delivered to
every raw socket, so thousands of concurrent pings on their own sockets cost
O(n^2). One socket and a table of pending (sequence, token) pairs cost O(n).

Privileges: the collector runs unprivileged, so it first opens an unprivileged
"ping socket" (SOCK_DGRAM, IPPROTO_ICMP). Linux allows that only to groups in
`net.ipv4.ping_group_range` (see docs/operations.md). Failing that it tries a raw
socket, which needs CAP_NET_RAW (or root).
"""
from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from typing import Any

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}

HOWTO = (
    "ICMP needs either net.ipv4.ping_group_range to include the collector's group "
    "(sysctl -w net.ipv4.ping_group_range='0 2147483647') or CAP_NET_RAW"
)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


class Pinger:
    """Sends echo requests and resolves the matching replies; one per event loop."""

    def __init__(self) -> None:
        self._socks: dict[int, tuple[socket.socket, bool]] = {}
        self._pending: dict[tuple[int, int, bytes], asyncio.Future[float]] = {}
        self._seq = 0
        self._ident = os.getpid() & 0xFFFF
        self._loop: asyncio.AbstractEventLoop | None = None

    def _socket(self, family: int) -> tuple[socket.socket, bool]:
        entry = self._socks.get(family)
        if entry is not None:
            return entry
        errors = []
        for kind, raw in ((socket.SOCK_DGRAM, False), (socket.SOCK_RAW, True)):
            try:
                sock = socket.socket(family, kind, PROTO[family])
            except PermissionError as exc:
                errors.append(exc)
                continue
            sock.setblocking(False)
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(sock.fileno(), self._readable, family)
            self._socks[family] = (sock, raw)
            return sock, raw
        raise PermissionError(HOWTO)

    async def ping(self, address: str, timeout: float) -> float:
        """Round-trip time in seconds; raises TimeoutError or OSError."""
        infos = await asyncio.get_running_loop().getaddrinfo(address, None, type=socket.SOCK_DGRAM)
        family, _, _, _, sockaddr = next(
            (i for i in infos if i[0] == socket.AF_INET), infos[0]
        )
        sock, _raw = self._socket(family)
        self._seq = (self._seq + 1) & 0xFFFF
        seq = self._seq
        token = os.urandom(8)
        payload = token + struct.pack("!d", time.time()) + b"opsmon-icmp-probe"
        header = struct.pack("!BBHHH", ECHO_REQUEST[family], 0, 0, self._ident, seq)
        checksum = _checksum(header + payload) if family == socket.AF_INET else 0
        packet = struct.pack("!BBHHH", ECHO_REQUEST[family], 0, checksum, self._ident, seq) + payload
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        key = (family, seq, token)
        self._pending[key] = fut
        t0 = time.perf_counter()
        try:
            sock.sendto(packet, sockaddr)
            await asyncio.wait_for(fut, timeout)
            return time.perf_counter() - t0
        finally:
            self._pending.pop(key, None)

    def _readable(self, family: int) -> None:
        sock, raw = self._socks[family]
        while True:
            try:
                data, _addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if raw and family == socket.AF_INET:
                data = data[(data[0] & 0x0F) * 4:]
            if len(data) < 16 or data[0] != ECHO_REPLY[family]:
                continue
            seq = struct.unpack("!H", data[6:8])[0]
            fut = self._pending.get((family, seq, data[8:16]))
            if fut is not None and not fut.done():
                fut.set_result(0.0)

    def close(self) -> None:
        for sock, _ in self._socks.values():
            if self._loop is not None and not self._loop.is_closed():
                try:
                    self._loop.remove_reader(sock.fileno())
                except (ValueError, OSError):
                    pass
            sock.close()
        self._socks.clear()

    def __del__(self, _getattr: Any = getattr) -> None:  # best effort; close() is the contract
        for sock, _ in _getattr(self, "_socks", {}).values():
            sock.close()
