"""The centre and a device its site poller polls (issue 22's leftovers, items 2 and 4), in process: the collector's
Service on a fake clock (no collector process, no poller process), its SNMP hub polling a real snmpd on loopback.

The decision is the inventory reload's (service.py, `reload_inventory`): a device whose `snmp` check a site poller
runs (`snmp_owner`) is forgotten by the centre's hub (`self.snmp.forget(set(live) - set(snmp_owner))`), so its last
central poll is not served, frozen, on the centre's /metrics beside the poller's own page. The running collector
calls it every 10 s (`_every(10.0, self._reload)`, real time), acting only when the assets or the enrolled agents
changed; here those ticks are called by hand at T0+10, T0+20, ... of the fake clock.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import write_config
from tests.peers.snmp import COMMUNITY

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # the collector's start
RELOAD = 10  # seconds between the reload loop's ticks (service.py)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def _asset(asset_id: str, site: str | None, port: int) -> Any:
    from opsmon.collector.config.inventory import AssetSpec

    return AssetSpec.model_validate({
        "id": asset_id, "category": "network", "site": site, "address": "127.0.0.1",
        "checks": [{"type": "snmp", "credential": "v2", "port": port, "profiles": ["system", "interfaces"]}]})


@contextmanager
def _collector(tmp_path: Path, now: list[datetime], port: int) -> Iterator[tuple[Any, Any]]:
    """The Service (not started: no loop, no port) with sw at hotan and core (no site, always the centre's), both
    polling the snmpd at `port`; the API's app over its face (reads open: api.public_read)."""
    from opsmon.collector.config import load_config
    from opsmon.collector.config.inventory import upsert_assets
    from opsmon.collector.outputs.api.app import create_app
    from opsmon.collector.service.face import ServiceFace
    from opsmon.collector.service.service import Service

    config = load_config(str(write_config(tmp_path, f"""
        database: {{path: {tmp_path / 'c.db'}}}
        listen: {{host: 127.0.0.1, port: 0}}
        api: {{public_read: true}}
        snmp:
          credentials:
            v2: {{version: '2c', community: {COMMUNITY}}}
          timeout: 2s
          retries: 1
    """)))
    service = Service(config, clock=lambda: now[0])
    try:
        upsert_assets(service.store, [_asset("sw", "hotan", port), _asset("core", None, port)], "cli:test")
        yield service, create_app(ServiceFace(service))
    finally:
        service.ctx.pinger.close()
        service.store.close()


def _poll(service: Any, asset_id: str) -> str:
    """One run of the centre's own scheduled job for the asset's SNMP check (what its scheduler would run)."""
    check = service.scheduler._jobs[f"{asset_id}/snmp"][0]
    return str(asyncio.run(check.probe()).status)


def _get(app: Any, path: str) -> httpx.Response:
    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            return await client.get(path)

    return asyncio.run(get())


def _page(service: Any) -> str:
    """The centre's /metrics as a scrape gets it."""
    return str(service.metrics.render().decode())


def _names(page: str, asset: str) -> set[str]:
    """The metric names of the page's samples labelled with the asset."""
    return {line.split("{", 1)[0] for line in page.splitlines()
            if not line.startswith("#") and f'asset="{asset}"' in line}


def test_the_centre_forgets_a_switch_at_the_first_reload_after_its_site_poller_is_enrolled(snmpd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """By hand, reload ticks every RELOAD = 10 s from T0:

    - T0 (the start's load): sw and core are the centre's (hotan has no poller): both jobs scheduled; one poll
      each of the real snmpd puts both on the centre's page (`opsmon_snmp_up{asset="sw"} 1`, core's too).
    - T0+10, T0+20: nothing changed (False): sw still on the page.
    - T0+25: p-hotan enrolled as hotan's poller. This is inside the start's grace (the failover delay, 60 s, to
      T0+60), which holds moves between pollers, not a first poller: sw has none, so it goes to p-hotan at once
      (group.py, `pick(asset, live or pollers)`).
    - T0+30: the first tick at or after T0+25 (25 rounded up to a multiple of 10), 5 s after the enrolment (at most
      RELOAD, 10 s, whenever it falls): sw's snmp check is in p-hotan's share, the centre's job sw/snmp is gone,
      and the centre's page has none of sw's device series (the SNMP part: opsmon_snmp_up, ifHCInOctets, ...);
      core's stay, and sw's state series (opsmon_asset_up: the centre's, fed by p-hotan's results).
    - T0+45: p-hotan revoked; T0+50, the next tick: sw's job is the centre's again; its page gets sw back from
      that job's first poll (not before: the hub holds no poll of it). Before, this tick raised KeyError:
      'p-hotan' (hotan's group still counted its revoked poller online: the test below), and so would every
      reload after it.
    The hand check of issue 22 (the centre's page lost the switch ~62 s after a real poller started) was on a
    running collector; these are the steps that decide it, each at its tick."""
    from opsmon.collector.inputs.agents.auth import enroll, revoke

    now = [T0]
    with _collector(tmp_path, now, snmpd.port) as (service, _app):
        def tick(s: int) -> bool:
            now[0] = at(s)
            return bool(service.reload_inventory())

        assert tick(0)
        assert (_poll(service, "sw"), _poll(service, "core")) == ("up", "up")
        page = _page(service)
        assert 'opsmon_snmp_up{asset="sw"} 1' in page and 'opsmon_snmp_up{asset="core"} 1' in page
        # the device series (the SNMP part of the page: opsmon_snmp_up, ifHCInOctets, ...): the same for both, one
        # snmpd and the same profiles
        device = _names(service.metrics.snmp.render().decode(), "core")
        assert {"opsmon_snmp_up", "ifHCInOctets", "opsmon_snmp_if_info"} <= device <= _names(page, "sw")
        assert (tick(10), tick(20)) == (False, False)
        assert device <= _names(_page(service), "sw")

        now[0] = at(25)
        enroll(service.store, "p-hotan", "server", "hotan", "cli:test", role="poller")
        assert tick(30)
        share = service.poller_share("p-hotan")
        assert share is not None and [(c.asset, c.spec["type"]) for c in share.checks] == [("sw", "snmp")]
        assert sorted(j for j in service.scheduler._jobs if j.endswith("/snmp")) == ["core/snmp"]
        page = _page(service)
        assert not _names(page, "sw") & device  # sw's state series stay: its state is the centre's, from p-hotan
        assert device <= _names(page, "core")

        now[0] = at(45)
        revoke(service.store, "p-hotan", "cli:test")
        assert tick(50)
        assert sorted(j for j in service.scheduler._jobs if j.endswith("/snmp")) == ["core/snmp", "sw/snmp"]
        assert not _names(_page(service), "sw") & device
        assert _poll(service, "sw") == "up"
        assert device <= _names(_page(service), "sw")


def test_the_api_says_which_poller_holds_a_sited_devices_interfaces(snmpd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """GET /api/v1/assets/{id}/interfaces:
    - core (the centre polls it; one poll): 200 with its rows (lo among them), polled_at set, polled_by null;
    - sw (p-hotan enrolled before the start's load: the centre never polls it): 200 with empty lists, polled_at
      null, polled_by p-hotan, and a reason, Chinese first, naming p-hotan and its /metrics (before: 404 "no SNMP
      poll of 'sw' yet", which said nothing of the poller and was untrue for a device polled every minute);
    - p-hotan itself (no SNMP check anywhere): 404 as before."""
    from opsmon.collector.inputs.agents.auth import enroll

    now = [T0]
    with _collector(tmp_path, now, snmpd.port) as (service, app):
        enroll(service.store, "p-hotan", "server", "hotan", "cli:test", role="poller")
        assert service.reload_inventory()
        assert _poll(service, "core") == "up"

        core = _get(app, "/api/v1/assets/core/interfaces")
        assert core.status_code == 200, core.text
        assert core.json()["polled_by"] is None and core.json()["polled_at"] is not None
        assert any(row.get("ifDescr") == "lo" for row in core.json()["interfaces"])

        sw = _get(app, "/api/v1/assets/sw/interfaces")
        assert sw.status_code == 200, sw.text
        doc = sw.json()
        reason = doc.pop("reason")
        assert doc == {"asset": "sw", "polled_at": None, "profiles": [], "interfaces": [], "faults": [],
                       "polled_by": "p-hotan"}
        assert reason.startswith("sw 由站点轮询器 p-hotan 轮询：接口计数和速率在该轮询器自己的 /metrics 上")
        assert ("sw is polled by the site poller p-hotan: its interface counters and rates are on that poller's own "
                "/metrics (at metrics_address:metrics_port when its poller.toml sets metrics_port, off by default)"
                ) in reason

        gone = _get(app, "/api/v1/assets/p-hotan/interfaces")
        assert gone.status_code == 404 and "no SNMP poll of 'p-hotan' yet" in gone.text


def test_revoking_a_sites_last_poller_gives_its_assets_back_to_the_centre() -> None:
    """group.py alone (failover delay 60 s, minimum 1): hotan's one poller p-a owns srv-1 from T0 (its first poller:
    no move); p-a revoked, seen at T0+100 (members without hotan, after the start's grace): srv-1 has no poller any
    more, one move p-a -> nobody (reason revoked), and p-a owned it until T0+100. Before, hotan's online set kept p-a
    (only the members' sites are looked at), srv-1 stayed p-a's, a poller with no share, and the service's reload
    failed on it (KeyError, the test above); the same during the start's grace (at T0+50)."""
    from opsmon.collector.inputs.poller.group import REVOKED, PollerGroups

    for seen in (100, 50):
        g = PollerGroups(lambda site: 60.0, lambda site: 1, T0)
        assert g.arrange({"hotan": ["srv-1"]}, {"hotan": ["p-a"]}, T0) == []
        assert g.owner == {"srv-1": "p-a"}
        moves = g.arrange({"hotan": ["srv-1"]}, {}, at(seen))
        assert [(m.asset, m.old, m.new, m.reason) for m in moves] == [("srv-1", "p-a", None, REVOKED)], seen
        assert g.owner == {} and g.online == {}
        assert (g.owner_at("srv-1", at(seen - 1)), g.owner_at("srv-1", at(seen))) == ("p-a", None)
