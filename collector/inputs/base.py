"""What the service needs of an input that runs on its own (a receiver or a poller), and what it gives one.

An input folder exposes `make(ctx: InputContext) -> Input | None` (None: not configured), and the
service lists that factory once (`opsmon.collector.service.inputs.INPUTS`). The service then:

1. calls `bind()` at start, before it recovers the timeline, so a taken port or an unreadable key fails
   the start with a message naming it, not the first packet;
2. calls `start()` inside the running event loop;
3. calls `close()` at stop, before the store writer flushes, so what the input published last is stored.

Everything an input observes leaves it through `ctx.publish` as a message of `core/messages.py`.
"""
from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from opsmon.collector.core.messages import Message


class Input(Protocol):
    name: str

    def bind(self) -> None:
        """Take sockets and other exclusive resources; raise OSError naming the address on failure."""

    def start(self) -> None:
        """Begin receiving or polling; called inside the running event loop."""

    def close(self) -> None:
        """Stop; nothing is published after this returns."""


@dataclass(frozen=True)
class InputContext:
    """The narrow face of the running collector an input is built from."""

    config: Any  # CollectorConfig: the input reads its own section
    publish: Callable[[Message], None]
    clock: Callable[[], datetime]
    asset_at: Callable[[str], str | None]  # the asset id at a source address (inventory), if any
    snmp: Any = None  # the SNMP hub, for inputs that act on polled devices (traps)
    # The live inventory: asset specs by id, a new mapping at each reload (the HJ 212 receiver finds its DAUs).
    assets: Callable[[], Mapping[str, Any]] = dict
    # Resolves once everything published so far is committed: a door that acknowledges waits for it (at the
    # store writer's own pace, a batch gathers 50 ms: the HJ 212 receiver answers many units from one commit).
    durable: Callable[[], Awaitable[None]] | None = None
    store_trouble: Callable[[], str | None] = lambda: None  # why the store cannot be written now, or None
    # (received, raw, crc) of the HJ 212 frames stored since an instant: the receiver rebuilds its split messages.
    hj212_frames_since: Callable[[datetime], Iterable[tuple[datetime, bytes, str]]] | None = None
    # (data_time, factor) of the hourly values (CN 2061) stored for an MN since an instant: the history pull.
    hj212_hours: Callable[[str, datetime], Iterable[tuple[datetime, str]]] | None = None
    # An hour (UTC) -> the end of its correction window (sla/hj212_rates.py): the history pull asks only before.
    hj212_deadline: Callable[[datetime], datetime] | None = None
    # Every asset at a source address (the trap receiver warns when traps by address are ambiguous).
    assets_at: Callable[[str], tuple[str, ...]] = lambda _address: ()
    # A link's stored bytes per interval start (store/flows.py interval_totals): the flow volume baseline.
    flow_totals: Callable[[str, list[datetime]], Mapping[datetime, int]] | None = None


def bind_udp(host: str, port: int, receive_buffer: int, what: str) -> socket.socket:
    """A UDP socket bound at start (the trap and flow receivers), its receive buffer raised so a burst waits
    in the kernel instead of being dropped there (Linux caps it at net.core.rmem_max). OSError names the
    address and `what` was to be received there."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot receive {what} on {host}:{port}: {exc.strerror}") from None
    return sock
