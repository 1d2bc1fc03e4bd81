"""The check base: subclasses write only `probe()`; `run()` owns everything else.

`run()` times the probe, enforces the timeout, maps every exception to a state
with a short reason, and never raises into the scheduler (Datadog's AgentCheck
lesson). A bug in a check becomes an `unknown` result and a logged traceback,
never a false `down`.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from opsmon.collector.config.checks import CheckSpecBase
from opsmon.collector.core.errors import AuthFailed, PeerTimeout, ProtocolError
from opsmon.collector.core.states import DEGRADED, DOWN, UNKNOWN, UP, Observation

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a probe concluded: a status and a reason (empty when all is well)."""

    status: Literal["up", "down", "degraded", "unknown"]
    reason: str = ""


@dataclass
class CheckContext:
    """Shared, injectable resources: tests swap the clock; the pinger is one per process."""

    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    pinger: Any = None
    snmp: Any = None  # the SnmpHub, when collector.yaml configures SNMP
    ssh: Any = None  # the SshHub, when collector.yaml configures SSH
    presence: Any = None  # the PresenceHub (inputs/snmp/presence.py), beside the SnmpHub
    cert_expiry: dict[tuple[str, str], float] = field(default_factory=dict)  # (asset, check) -> notAfter, Unix s
    # (asset, check) -> (mean RTT of the last run's replies in s, None without one; its loss 0..1)
    icmp: dict[tuple[str, str], tuple[float | None, float]] = field(default_factory=dict)
    ssl_contexts: dict[tuple[bool, str | None], ssl.SSLContext] = field(default_factory=dict)

    def ssl_context(self, verify: bool, ca_file: str | None) -> ssl.SSLContext:
        key = (verify, ca_file)
        ctx = self.ssl_contexts.get(key)
        if ctx is None:
            if verify:
                ctx = ssl.create_default_context(cafile=ca_file)
            else:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self.ssl_contexts[key] = ctx
        return ctx


class Check:
    """One configured probe of one asset."""

    type_name: ClassVar[str]
    Spec: ClassVar[type[CheckSpecBase]]
    passive: ClassVar[bool] = False  # fed by another check's results; never scheduled

    def __init__(self, asset_id: str, address: str | None, spec: Any, timeout: float, ctx: CheckContext) -> None:
        self.asset_id = asset_id
        self.address = address
        self.spec = spec
        self.timeout = timeout
        self.ctx = ctx
        self.check_id = spec.check_id

    async def probe(self) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    async def run(self) -> Observation:
        started = self.ctx.clock()
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                outcome = await self.probe()
        except (TimeoutError, PeerTimeout):
            outcome = Outcome(DOWN, f"no answer within {self.timeout:g}s")
        except AuthFailed as exc:
            outcome = Outcome(DOWN, f"authentication failed: {exc}")
        except ProtocolError as exc:
            outcome = Outcome(DOWN, f"protocol error: {exc}")
        except ssl.SSLError as exc:
            outcome = Outcome(DOWN, f"TLS error: {getattr(exc, 'verify_message', None) or exc.reason or exc}")
        except PermissionError as exc:
            outcome = Outcome(UNKNOWN, f"not permitted: {exc}")
        except socket.gaierror as exc:
            outcome = Outcome(DOWN, f"cannot resolve address: {exc.strerror}")
        except OSError as exc:
            outcome = Outcome(DOWN, describe_oserror(exc))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("check crashed", extra={"asset": self.asset_id, "check": self.check_id})
            outcome = Outcome(UNKNOWN, "internal error in the check (see the collector log)")
        latency = (time.perf_counter() - t0) * 1000
        return Observation(
            self.asset_id,
            self.check_id,
            started,
            outcome.status,
            outcome.reason,
            round(latency, 3) if outcome.status in (UP, DEGRADED) else None,
        )


def slow(what: str, seconds: float, limit: float | None) -> str | None:
    """Why a run is degraded when `seconds` exceeds the configured `limit` (a link's latency threshold), else None."""
    if limit is None or seconds <= limit:
        return None
    return f"{what} {seconds * 1000:.0f} ms > {limit * 1000:.0f} ms"


def describe_oserror(exc: OSError) -> str:
    names = {
        errno.ECONNREFUSED: "connection refused",
        errno.EHOSTUNREACH: "host unreachable",
        errno.ENETUNREACH: "network unreachable",
        errno.ECONNRESET: "connection reset",
        errno.ETIMEDOUT: "timed out",
    }
    if exc.errno in names:
        return names[exc.errno]
    return exc.strerror or str(exc) or type(exc).__name__
