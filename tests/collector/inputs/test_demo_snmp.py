"""The demo's simulated SNMP agent answers as the demo promises: the Kashgar uplink down, the
Hotan uplink up and carrying 2 Mbit/s, the printer jammed; polled with both SNMP clients. Its log is clean
(issue 21, item 7): no device is said to lack data, and the switch, whose MIB ends before the UPS-MIB, is
not detected as a UPS or a printer (endOfMibView is no match)."""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from opsmon.collector.config.checks import SnmpSpec
from opsmon.collector.config.schema import IncidentsConfig, SnmpConfig
from opsmon.collector.core.messages import HardwareSignal
from opsmon.collector.core.states import DOWN, UP
from opsmon.collector.incidents.engine import AssetInfo, IncidentEngine
from opsmon.collector.incidents.read import list_incidents
from opsmon.collector.inputs.snmp.hub import SnmpHub, Uplink
from opsmon.collector.inputs.snmp.simulator import DEMO, Responder
from opsmon.collector.store import Store
from tests.conftest import split_into, utc
from tests.peers.snmp import free_udp_port

T0 = utc(2026, 7, 1, 2)


@pytest.mark.parametrize("client", ["fast", "pysnmp"])
def test_demo_devices(tmp_path: Path, client: str, caplog: pytest.LogCaptureFixture, store: Store) -> None:
    obs, ops = [], []
    cfg = SnmpConfig.model_validate({"client": client, "timeout": 1, "retries": 1, "credentials": {
        name: {"version": "2c", "community": name} for name in DEMO}})

    async def scenario() -> None:
        port = free_udp_port()
        loop = asyncio.get_running_loop()
        devices = {name: make() for name, make in DEMO.items()}
        transport, _ = await loop.create_datagram_endpoint(lambda: Responder(devices), local_addr=("127.0.0.1", port))
        hub = SnmpHub(cfg, tmp_path, "collector.yaml", split_into(obs, ops))
        hub.set_uplinks({"sw": [Uplink("wan-kashgar", "k", "Gi1/0/1"), Uplink("wan-hotan", "h", "Gi1/0/2")]})
        try:
            for name in ("demo-core-switch", "demo-printer", "demo-ups"):
                asset = "sw" if name == "demo-core-switch" else name
                assert (await hub.poll(asset, "127.0.0.1", SnmpSpec(type="snmp", credential=name, port=port))
                        ).status == UP
            t0 = time.monotonic()
            await asyncio.sleep(5.0)  # 7 % of 5 s is 0.35 s of poll-timing jitter (2 s left 0.14 s: it failed once)
            await hub.poll("sw", "127.0.0.1", SnmpSpec(type="snmp", credential="demo-core-switch", port=port))
            assert time.monotonic() - t0 < 10
        finally:
            hub.close()
            transport.close()
        links = {o.asset_id: o.status for o in obs}
        assert links == {"wan-kashgar": DOWN, "wan-hotan": UP}
        rate = hub.devices["sw"].rates["if"]["2"]["opsmon_if_in_bits_per_second"]
        assert abs(rate - 2_000_000) < 2_000_000 * 0.07  # port 2 moves 2 Mbit/s in
        faults = {f"hw:{o.component}" for o in ops if isinstance(o, HardwareSignal) and o.asset_id == "demo-printer"}
        # One jam seen through hrPrinterDetectedErrorState and prtAlertTable: one component, one fault,
        # and the incident engine (keyed by asset and component) opens one incident for it, not two.
        assert faults == {"hw:printer 1"}
        engine = IncidentEngine(store, lambda: T0, {"demo-printer": AssetInfo("printer-3f", "peripheral", None,
                                                                             "medium", None)}.get,
                                IncidentsConfig(), lambda _kind: 3600.0)
        for o in ops:
            if isinstance(o, HardwareSignal) and o.asset_id == "demo-printer":
                engine.on_hardware(o.asset_id, o.component, T0, o.problem)
        engine.flush()
        [incident] = list_incidents(store)
        assert (incident["kind"], incident["asset"]) == ("hardware", "demo-printer")
        assert incident["cause"] == "printer 1: paper jam; critical alert: Paper jam, tray 2"
        assert {p.name for p in hub.devices["demo-ups"].profiles} >= {"system", "ups"}
        assert {p.name for p in hub.devices["sw"].profiles} == {"system", "interfaces"}

    with caplog.at_level(logging.INFO, logger="opsmon.collector.inputs.snmp"):
        asyncio.run(scenario())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
