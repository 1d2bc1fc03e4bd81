"""SNMP polling against a real net-snmp snmpd on loopback: v2c, v3 at each security level, profiles, failures.

The oracle for every figure is net-snmp's own snmpget against the same agent.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsmon.collector.config.checks import SnmpSpec
from opsmon.collector.config.schema import SnmpConfig
from opsmon.collector.core.messages import Message
from opsmon.collector.core.states import DEGRADED, DOWN, UNKNOWN, UP, Observation
from opsmon.collector.inputs.checks.pinger import Pinger
from opsmon.collector.inputs.snmp.hub import SnmpHub, Uplink
from tests.conftest import split_into
from tests.peers.snmp import COMMUNITY, V3_LOWER_USERS, V3_USERS, Snmpd, UdpRelay, free_udp_port

CLIENT = {"kind": "fast"}


@pytest.fixture(autouse=True, params=["fast", "pysnmp"])
def client_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test runs with the built-in client and with pysnmp 7's: both must give the same results."""
    CLIENT["kind"] = request.param
    yield request.param
    CLIENT["kind"] = "fast"


def make_hub(tmp_path: Path, pinger: Any = None, **settings: Any) -> tuple[SnmpHub, list[Observation], list[Message]]:
    creds: dict[str, Any] = {"v2": {"version": "2c", "community": COMMUNITY},
                             "v2-wrong": {"version": "2c", "community": "not-the-community"}}
    for user, (_a, akey, _p, pkey, (aname, pname)) in V3_USERS.items():
        creds[user] = {"version": "3", "user": user, "auth_protocol": aname, "auth_key": akey,
                       "priv_protocol": pname, "priv_key": pkey}
    creds["v3-wrong"] = dict(creds["opsha"], auth_key="not-the-auth-key")
    for user, auth_only in V3_LOWER_USERS.items():
        creds[user] = {"version": "3", "user": user}
        if auth_only:
            creds[user].update(auth_protocol=auth_only[0], auth_key=auth_only[1])
    # the authNoPriv user asked at authPriv, a level the agent does not hold a priv key for
    creds["opsauth-with-priv"] = dict(creds["opsauth"], priv_protocol="AES", priv_key="priv-pass-unknown")
    cfg = SnmpConfig.model_validate({"credentials": creds, "timeout": 0.5, "retries": 1,
                                     "client": CLIENT["kind"], **settings})
    obs: list[Observation] = []
    ops: list[Message] = []
    return SnmpHub(cfg, tmp_path, "collector.yaml", split_into(obs, ops), pinger), obs, ops


@pytest.fixture(autouse=True)
def _one_loop() -> Iterator[None]:
    """pysnmp binds its engine to the loop it first ran on: each test keeps one loop, as the collector does."""
    global RUNNER
    with asyncio.Runner() as runner:
        RUNNER = runner
        yield
    RUNNER = None


RUNNER: asyncio.Runner | None = None


def poll(hub: SnmpHub, asset: str, port: int, credential: str = "v2", host: str = "127.0.0.1", **spec: Any):
    assert RUNNER is not None
    return RUNNER.run(asyncio.wait_for(
        hub.poll(asset, host, SnmpSpec(type="snmp", credential=credential, port=port, **spec)), 30))


def test_v2c_poll_reads_what_snmpget_reads(snmpd: Snmpd, tmp_path: Path) -> None:
    hub, _obs, _ops = make_hub(tmp_path)
    outcome = poll(hub, "srv", snmpd.port)
    assert (outcome.status, outcome.reason) == (UP, "")
    state = hub.devices["srv"]
    assert {"system", "interfaces", "host"} <= {p.name for p in state.profiles}  # detected
    rows = state.last.tables["if"]
    lo = next(idx for idx, row in rows.items() if row["ifDescr"] == "lo")
    assert rows[lo]["ifName"] == snmpd.get(f"1.3.6.1.2.1.31.1.1.1.1.{lo}").strip('"')
    assert rows[lo]["ifHighSpeed"] == int(snmpd.get(f"1.3.6.1.2.1.31.1.1.1.15.{lo}"))
    assert rows[lo]["ifOperStatus"] == 1
    assert state.last.scalars["sysName"] == snmpd.get("1.3.6.1.2.1.1.5.0").strip('"')
    before = int(snmpd.get(f"1.3.6.1.2.1.31.1.1.1.6.{lo}"))
    poll(hub, "srv", snmpd.port)
    after = int(snmpd.get(f"1.3.6.1.2.1.31.1.1.1.6.{lo}"))
    assert before <= state.last.tables["if"][lo]["ifHCInOctets"] <= after
    # the second poll re-reads only the poll columns; names are carried over
    assert state.last.tables["if"][lo]["ifDescr"] == "lo"
    storage = state.last.tables["hr_storage"]
    assert storage and all("hrStorageDescr" in row for row in storage.values())


@pytest.mark.parametrize("user", sorted(V3_USERS))
def test_v3_authpriv_each_protocol_pair(snmpd: Snmpd, tmp_path: Path, user: str) -> None:
    hub, _obs, _ops = make_hub(tmp_path)
    outcome = poll(hub, "dev", snmpd.port, credential=user, profiles=("system",))
    assert (outcome.status, outcome.reason) == (UP, "")
    assert hub.devices["dev"].last.scalars["sysName"] == snmpd.get("1.3.6.1.2.1.1.5.0").strip('"')


@pytest.mark.parametrize(("user", "level"), [("opsnone", "noAuthNoPriv"), ("opsauth", "authNoPriv")])
def test_v3_below_authpriv(snmpd: Snmpd, tmp_path: Path, user: str, level: str) -> None:
    """Each user of snmpd may read only at its own level (`rouser opsnone noauth`, `rouser opsauth auth`;
    opsnone has no key to authenticate with, opsauth none to decrypt with): an answer proves the level."""
    hub, _obs, _ops = make_hub(tmp_path)
    assert hub.settings.credentials[user].level == level
    outcome = poll(hub, "dev", snmpd.port, credential=user, profiles=("system",))
    assert (outcome.status, outcome.reason) == (UP, "")
    assert hub.devices["dev"].last.scalars["sysName"] == snmpd.get("1.3.6.1.2.1.1.5.0").strip('"')
    assert isinstance(hub.devices["dev"].last.uptime, int)


def test_authnopriv_user_asked_with_authpriv_is_refused_not_down(snmpd: Snmpd, tmp_path: Path, caplog) -> None:
    """snmpd answers a Report usmStatsUnsupportedSecLevels: the credential is wrong, the device is not down."""
    hub, _obs, _ops = make_hub(tmp_path)
    with caplog.at_level(logging.WARNING):
        outcome = poll(hub, "dev", snmpd.port, credential="opsauth-with-priv", profiles=("system",))
        again = poll(hub, "dev", snmpd.port, credential="opsauth-with-priv", profiles=("system",))
    assert outcome.status == UNKNOWN
    assert outcome.reason.startswith("SNMP credential 'opsauth-with-priv' refused: SNMPv3: "), outcome.reason
    assert "security level" in outcome.reason.lower() or "unsupportedseclevel" in outcome.reason.lower(), \
        outcome.reason
    assert again == outcome  # and the next poll says the same, it does not crash on the left-over state
    failed = [r for r in caplog.records if r.getMessage() == "snmp poll failed"]
    assert len(failed) == 1 and failed[0].asset == "dev" and failed[0].reason == outcome.reason  # logged once
    assert "priv-pass-unknown" not in caplog.text and "auth-pass-nopriv" not in caplog.text


def test_wrong_community_is_down_and_says_so(snmpd: Snmpd, tmp_path: Path, caplog) -> None:
    hub, _obs, _ops = make_hub(tmp_path)
    with caplog.at_level(logging.WARNING):
        outcome = poll(hub, "dev", snmpd.port, credential="v2-wrong", profiles=("system",))
    assert outcome.status == DOWN
    assert outcome.reason == "no SNMP answer after 2 tries of 0.5s (device down, or wrong community)"
    assert any(r.getMessage() == "snmp poll failed" and r.asset == "dev" for r in caplog.records)
    assert COMMUNITY not in caplog.text and "not-the-community" not in caplog.text


def test_wrong_v3_key_is_unknown_not_down(snmpd: Snmpd, tmp_path: Path, caplog) -> None:
    """The device answers: it is not down; opsmon cannot judge it, and says why."""
    hub, _obs, _ops = make_hub(tmp_path)
    with caplog.at_level(logging.WARNING):
        outcome = poll(hub, "dev", snmpd.port, credential="v3-wrong", profiles=("system",))
    assert outcome.status == UNKNOWN
    assert outcome.reason.startswith("SNMP credential 'v3-wrong' refused: SNMPv3:")
    assert "digest" in outcome.reason.lower(), outcome.reason  # usmStatsWrongDigests, in either client's words
    (record,) = [r for r in caplog.records if r.getMessage() == "snmp poll failed"]
    assert record.levelno == logging.WARNING and record.asset == "dev" and record.reason == outcome.reason
    assert record.target == f"127.0.0.1:{snmpd.port}"
    assert "not-the-auth-key" not in caplog.text


def test_silent_device_is_degraded_while_ping_answers(tmp_path: Path) -> None:
    pinger = Pinger()
    try:
        hub, _obs, _ops = make_hub(tmp_path, pinger=pinger)
        outcome = poll(hub, "dev", free_udp_port(), profiles=("system",))
    finally:
        pinger.close()
    assert outcome.status == DEGRADED
    assert outcome.reason.endswith("; ICMP answers")


def test_device_that_stops_answering_mid_walk_changes_nothing(snmpd: Snmpd, tmp_path: Path, caplog) -> None:
    relay = UdpRelay(("127.0.0.1", snmpd.port))
    try:
        hub, obs, _ops = make_hub(tmp_path, varbinds_per_request=10)
        hub.set_uplinks({"sw": [Uplink("wan", "if:sw:lo", "lo")]})
        assert poll(hub, "sw", relay.port).status == UP
        first = hub.devices["sw"].last
        assert obs[-1].status == UP
        relay.answer_limit = relay.answered + 3  # the scalars and two walk steps, then silence
        with caplog.at_level(logging.WARNING):
            outcome = poll(hub, "sw", relay.port)
    finally:
        relay.close()
    assert outcome.status == DOWN
    assert outcome.reason == "no SNMP answer after 2 tries of 0.5s (device down, or wrong community)"
    assert relay.answered >= 3  # it did stop part-way through the walk, not at the first request
    (record,) = [r for r in caplog.records if r.getMessage() == "snmp poll failed"]
    assert record.asset == "sw" and record.reason == outcome.reason and record.target == f"127.0.0.1:{relay.port}"
    state = hub.devices["sw"]
    assert state.last is first  # no half table replaced the last complete one
    assert obs[-1].status == UNKNOWN and obs[-1].reason == "sw: device not answering SNMP"


def test_malformed_responses_are_a_timeout_not_a_crash(snmpd: Snmpd, tmp_path: Path, caplog) -> None:
    relay = UdpRelay(("127.0.0.1", snmpd.port))
    relay.garbage = b"\x30\x82\xff\xff\x02\x01"  # a truncated BER sequence
    try:
        hub, _obs, _ops = make_hub(tmp_path)
        with caplog.at_level(logging.WARNING):
            outcome = poll(hub, "dev", relay.port, profiles=("system",))
    finally:
        relay.close()
    assert outcome.status == DOWN and relay.requests >= 2
    assert outcome.reason.startswith("no SNMP answer after 2 tries of 0.5s"), outcome.reason
    (record,) = [r for r in caplog.records if r.getMessage() == "snmp poll failed"]
    assert record.asset == "dev" and record.reason == outcome.reason


def test_nosuchobject_and_endofmibview_leave_fields_absent(snmpd: Snmpd, tmp_path: Path, caplog) -> None:
    extra = tmp_path / "profiles"
    extra.mkdir()
    (extra / "odd.yaml").write_text(
        "name: odd\n"
        "scalars:\n"
        "  - {name: missing, oid: 1.3.6.1.2.1.1.99.0, type: gauge, metric: true}\n"
        "tables:\n"
        "  - name: beyond\n"
        "    columns:\n"
        "      - {name: past_the_end, oid: 1.3.6.1.6.3.99.1.1, type: gauge, metric: true}\n")
    hub, _obs, _ops = make_hub(tmp_path, profile_dirs=[str(extra)])
    with caplog.at_level(logging.INFO, logger="opsmon.collector.inputs.snmp.hub"):
        outcome = poll(hub, "dev", snmpd.port, profiles=("system", "odd"))
        assert poll(hub, "dev", snmpd.port, profiles=("system", "odd")).status == UP
    assert (outcome.status, outcome.reason) == (UP, "")
    last = hub.devices["dev"].last
    assert "missing" not in last.scalars
    assert last.tables["beyond"] == {}
    assert last.scalars["sysName"] == snmpd.get("1.3.6.1.2.1.1.5.0").strip('"')  # the rest was read
    assert not [r for r in caplog.records if r.getMessage() == "snmp poll failed"]
    (record,) = [r for r in caplog.records if r.getMessage() == "snmp device lacks profile fields"]  # once
    assert record.asset == "dev" and record.fields == "missing (noSuchObject), beyond (no rows)"


def test_uplink_follows_the_interface(snmpd: Snmpd, tmp_path: Path, caplog) -> None:
    """A mistyped interface is unknown with a reason naming the interfaces the device has in ifIndex order
    (snmpd's first is `lo`, ifIndex 1), logged once over two polls, and one line when the inventory is fixed
    (issue 21, item 7)."""
    hub, obs, _ops = make_hub(tmp_path)
    hub.set_uplinks({"sw": [Uplink("wan-1", "if:sw:lo", "lo"), Uplink("wan-2", "if:sw:nope", "nope")]})
    with caplog.at_level(logging.INFO, logger="opsmon.collector.inputs.snmp.hub"):
        poll(hub, "sw", snmpd.port, profiles=("interfaces",))
        poll(hub, "sw", snmpd.port, profiles=("interfaces",))
        got = {o.asset_id: (o.status, o.reason) for o in obs}
        assert got["wan-1"] == (UP, "")
        status, reason = got["wan-2"]
        assert status == UNKNOWN and reason.startswith("interface 'nope' not found on sw (valid: lo")
        warned = [r for r in caplog.records if r.getMessage() == "uplink interface not found"]
        assert len(warned) == 1 and warned[0].asset == "wan-2" and warned[0].reason == reason
        hub.set_uplinks({"sw": [Uplink("wan-2", "if:sw:nope", "lo")]})
        poll(hub, "sw", snmpd.port, profiles=("interfaces",))
    assert obs[-1].asset_id == "wan-2" and obs[-1].status == UP
    assert [r.asset for r in caplog.records if r.getMessage() == "uplink interface found again"] == ["wan-2"]


def test_bad_profile_file_names_file_and_key(tmp_path: Path) -> None:
    from opsmon.collector.config.snmp_profiles import load_profiles
    from opsmon.collector.core.errors import ConfigError

    (tmp_path / "bad.yaml").write_text("name: bad\nscalars:\n  - {name: x, oid: not-an-oid, type: gauge}\n")
    with pytest.raises(ConfigError) as err:
        load_profiles((tmp_path,))
    assert "bad.yaml:3" in str(err.value) and "scalars[0].oid" in str(err.value)
    assert "not a numeric OID" in str(err.value)

