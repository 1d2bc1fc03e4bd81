"""The SNMP page is byte-for-byte what it was before the poll path was made cheaper (issue 25).

The demo's devices (a 24-port switch, a printer with hrStorage/hrDevice/printer tables whose label columns go
on every series, a UPS with scalars) answer over real UDP on loopback; the simulator's, the poller's and the
hub's clocks are one fake clock, so every counter, every arrival stamp and every poll duration (0 s) is the same
at every run. Three polls 30 s apart: the first reads the static columns, the second and third give rates. One
alias carries a double quote, a backslash and a newline (escaped on the page); port 5's ifHCInOctets drops to
0 at the third poll, a 64-bit counter going backwards, so one rate is refused as a reset (the page's
opsmon_snmp_rate_discarded_total{reason="reset"} 1 for the switch). The pages after polls 2 and 3, without and
with `snmp.export_rates`, were written by the encoder and poller as they were before the change
(data/snmp_exposition.txt); a faster encoder must give the same bytes.

Run with OPSMON_WRITE_GOLDEN=1 to rewrite the file (only when what is exported is meant to change).
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from opsmon.collector.config.checks import SnmpSpec
from opsmon.collector.config.schema import SnmpConfig
from opsmon.collector.core.states import UP
from opsmon.collector.inputs.snmp import client as client_mod
from opsmon.collector.inputs.snmp import hub as hub_mod
from opsmon.collector.inputs.snmp import poller as poller_mod
from opsmon.collector.inputs.snmp import simulator
from opsmon.collector.inputs.snmp.exposition import SnmpExposition
from opsmon.collector.inputs.snmp.hub import SnmpHub
from opsmon.collector.inputs.snmp.simulator import COUNTER64, DEMO, OCTETS, Responder
from tests.peers.snmp import free_udp_port

GOLDEN = Path(__file__).parent / "data" / "snmp_exposition.txt"


class FakeClock:
    """time.time, perf_counter and monotonic for the modules that date a poll: still within a poll (so the page
    does not depend on how often the code reads the clock; every poll lasts 0 s), `jump` moves 30 s on."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def tick(self) -> float:
        return self.now

    def jump(self, seconds: float) -> None:
        self.now += seconds

    def module(self) -> SimpleNamespace:
        return SimpleNamespace(time=self.tick, perf_counter=self.tick, monotonic=self.tick)


def test_page_bytes_unchanged_across_three_polls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    fake = clock.module()
    for mod in (client_mod, hub_mod, poller_mod):
        monkeypatch.setattr(mod, "time", fake)
    # the simulator's counters grow with its own clock: seconds since START, read without ticking
    monkeypatch.setattr(simulator, "time", SimpleNamespace(monotonic=lambda: clock.now))
    monkeypatch.setattr(simulator, "START", clock.now)
    devices = {name: make() for name, make in DEMO.items()}
    switch = devices["demo-core-switch"]
    switch.put("1.3.6.1.2.1.31.1.1.1.18.4", OCTETS, 'to "Ili" \\ hall\nB')
    reset_at = clock.now + 50  # between the second poll and the third
    switch.put("1.3.6.1.2.1.31.1.1.1.6.5", COUNTER64,
               lambda t: 0 if simulator.START + t > reset_at else int(35 + 625_000 * t))
    cfg = SnmpConfig.model_validate({"timeout": 2, "retries": 1, "credentials": {
        name: {"version": "2c", "community": name} for name in DEMO}})
    pages: list[bytes] = []

    async def scenario() -> None:
        port = free_udp_port()
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: Responder(devices), local_addr=("127.0.0.1", port))
        hub = SnmpHub(cfg, tmp_path, "collector.yaml", lambda _m: None)
        plain, rates = SnmpExposition(hub), SnmpExposition(hub, export_rates=True)
        try:
            for poll in range(3):
                for name in DEMO:
                    spec = SnmpSpec(type="snmp", credential=name, port=port)
                    assert (await hub.poll(name, "127.0.0.1", spec)).status == UP
                if poll:
                    pages.extend((plain.render(), rates.render()))
                clock.jump(30)
        finally:
            hub.close()
            transport.close()

    asyncio.run(scenario())
    got = b"".join(b"=== page %d\n" % k + page for k, page in enumerate(pages))
    if os.environ.get("OPSMON_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(got)
    assert b'ifAlias="to \\"Ili\\" \\\\ hall\\nB"' in got
    assert pages[2].count(b'opsmon_snmp_rate_discarded_total{asset="demo-core-switch",reason="reset"} 1\n') == 1
    assert got == GOLDEN.read_bytes()
