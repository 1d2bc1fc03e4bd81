"""Real peers the tests start on loopback (snmpd, snmpsim, sshd, PostgreSQL, Prometheus, Alertmanager, ...)."""
import os
import signal
import subprocess
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

# Under CI=true every real peer must be there (.ci/run installs them): a missing one fails the test
# instead of skipping it, so a green CI run cannot hide a missing install step.
CI = os.environ.get("CI", "").lower() == "true"


def missing_peer(reason: str) -> None:
    """Skip a test whose real peer is not installed here; under CI=true, fail it."""
    if CI:
        pytest.fail(f"CI=true and a real peer is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def needs_peer(missing: bool, reason: str) -> pytest.MarkDecorator:
    """A skipif mark for a missing peer that never skips under CI=true (the test then fails on its own)."""
    return pytest.mark.skipif(missing and not CI, reason=reason)


def terminate(proc: "subprocess.Popen[bytes] | None", wait: float = 10) -> None:
    """Stop a peer the test started, by its pid: SIGTERM, then SIGKILL if it has not exited within `wait` s."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def in_netns(name: str | None, make: Callable[[], T]) -> T:
    """Call `make` (e.g. create a socket) inside network namespace `name`, then come back.

    A socket keeps the namespace it was created in, so the relay can listen on the
    host's loopback and talk to an agent on a test namespace's loopback: no packet
    ever leaves 127.0.0.0/8 of either. Only the calling thread moves (setns).
    """
    if name is None:
        return make()
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet = 0x40000000
    with open("/proc/thread-self/ns/net") as home, open(f"/var/run/netns/{name}") as target:
        if libc.setns(target.fileno(), clone_newnet) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name} failed")
        try:
            return make()
        finally:
            if libc.setns(home.fileno(), clone_newnet) != 0:
                raise OSError(ctypes.get_errno(), "setns back failed")
