"""The whole path in a real `opsmon serve`: a DAU's frames make its asset up, are stored and answered; a wrong
password is a stored security event; a unit that goes silent is down in the timeline, with an incident.

Frames: the real ones of hj212_frames.py (sources named there); this DAU has their MN and password, so they
are sent unchanged, apart from the frame given a wrong password (wrapped here by answers.wrap for its CRC).
"""
from __future__ import annotations

import json
import socket

import httpx
from sqlalchemy import func, select

from opsmon.collector.inputs.hj212 import wrap
from opsmon.collector.store import open_store
from opsmon.collector.store.models import Event, Hj212Datum
from tests.collector.inputs import hj212_frames as F
from tests.conftest import free_port
from tests.peers.collector import Collector, wait_for

ASSETS = """
assets:
  - id: dau-dxcbz
    name: 某污水处理厂数采仪
    category: dau
    site: 昌吉回族自治州
    checks:
      - type: hj212
        mn: DXCBZ000000005
        credential: dxcbz
        enterprise: 某污水处理有限公司
        stale_after: 3s
        points:
          ww1:
            name: 总排口
            factors: {w01018: {limit: 50, unit: mg/L}, w21003: {limit: 5, unit: mg/L}}
"""
ANSWER_2011 = b"##0077QN=20210409103207982;ST=91;CN=9014;PW=123456;MN=DXCBZ000000005;Flag=4;CP=&&&&0780\r\n"


def _answer(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    try:
        return sock.recv(4096)
    except TimeoutError:
        return b""


def test_a_dau_is_received_stored_answered_and_down_when_silent(collector_factory) -> None:
    port = free_port()
    c = collector_factory(ASSETS, extra=f"""
api:
  public_read: true
hj212:
  enabled: true
  port: {port}
  credentials:
    dxcbz: {{password: "123456"}}
""")
    c.start()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as dau:
        dau.sendall(F.CN2011_ANSWER_WANTED + b"\r\n")
        assert _answer(dau, 10) == ANSWER_2011
        wait_for(lambda: c.states().get("dau-dxcbz", {}).get("state") == "up", 10, "the DAU up")
        bad = F.CN2011_ANSWER_WANTED.decode()[6:-4].replace("PW=123456", "PW=654321")
        dau.sendall(wrap(bad))
        assert _answer(dau, 1) == b""  # refused: no answer
        metrics = c.get("/metrics").text
        assert 'opsmon_hj212_frames_accepted_total{dau="DXCBZ000000005"} 1.0' in metrics
        assert 'opsmon_hj212_frames_refused_total{dau="DXCBZ000000005",reason="password"} 1.0' in metrics
        assert 'opsmon_hj212_answers_total{cn="9014"} 1.0' in metrics
        _exemptions_through_the_api(c)  # while the DAU falls silent
        # silent from here: down after stale_after (3 s), with the reason, and an incident opens
        state = wait_for(lambda: (s := c.states().get("dau-dxcbz", {})).get("state") == "down" and s, 20,
                         "the silent DAU down")
        assert "DAU not sending" in str(state), state
        incidents = wait_for(lambda: c.get("/api/v1/incidents?status=active").json(), 20, "an incident")
        assert [i["asset"] for i in incidents] == ["dau-dxcbz"], incidents
        dau.sendall(F.CN2021 + b"\r\n")  # it speaks again: up
        wait_for(lambda: c.states().get("dau-dxcbz", {}).get("state") == "up", 10, "the DAU up again")
    code, _out, err = c.stop()
    assert code == 0 and "Traceback" not in err and "123456" not in err and "654321" not in err
    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = s.scalar(select(func.count()).select_from(Hj212Datum).where(Hj212Datum.mn == "DXCBZ000000005"))
        events = list(s.scalars(select(Event).where(Event.name == "hj212_password")))
    store.close()
    assert rows == 5 + 2  # the 2011's five factors, the 2021's two (SB1, SB2)
    assert len(events) == 1 and events[0].asset_id == "dau-dxcbz" and events[0].kind == "auth"
    # The good frames are stored (their audit copies masked), the wrong one refused: neither password is in any
    # byte of the database's files.
    files = list(c.db.parent.glob(c.db.name + "*"))
    assert files and not any(b"123456" in f.read_bytes() or b"654321" in f.read_bytes() for f in files)


def _exemptions_through_the_api(c: Collector) -> None:
    """GET/POST/DELETE /api/v1/hj212/exemptions: the CLI's rules (store/hj212_exemptions.py), an operator to write,
    4xx with the reason for bad input, each change audited with the person."""
    operator = c.cli("tokens", "create", "li.wei", "--role", "operator").stdout.strip()
    viewer = c.cli("tokens", "create", "wang.fang", "--role", "viewer").stdout.strip()
    url = f"{c.base}/api/v1/hj212/exemptions"
    good = {"asset": "dau-dxcbz", "point": "ww1", "factor": "w21003", "start": "2026-11-03T08:00:00+08:00",
            "end": "2026-11-05T17:00:00+08:00", "kind": "stopped", "reason": "停产检修", "proof": "昌环函〔2026〕7号"}

    def post(body: dict[str, object], token: str | None = operator) -> httpx.Response:
        return httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=10)

    assert post(good, None).status_code == 401
    assert post(good, viewer).status_code == 403
    for change, why in (({"proof": ""}, "required: proof"),
                        ({"kind": "holiday"}, "kind 'holiday' is not one of stopped, no_discharge"),
                        ({"point": "ww9"}, "has no point 'ww9' (points: ww1)"),
                        ({"factor": "w01001"}, "point 'ww1' assesses no factor 'w01001' (factors: w01018, w21003)"),
                        ({"end": good["start"]}, "end must be after start"),
                        ({"start": "2026-11-03 08:00"}, "start: '2026-11-03 08:00' is not an ISO 8601 timestamp"),
                        ({"asset": "web-01"}, "no DAU 'web-01'"),
                        ({"reason": 7}, "reason must be a text"),
                        ({"proof": "昌环函\u0000"}, "no text may hold a NUL character")):
        r = post({**good, **change})
        assert r.status_code == 422 and why in r.json()["detail"], (change, r.status_code, r.text)
    r = post(good)
    assert r.status_code == 201, r.text
    doc = r.json()
    # 08:00 and 17:00 in UTC+8 are 00:00 and 09:00 UTC
    assert {k: doc[k] for k in ("asset", "point", "factor", "kind", "entered_by", "removed_at")} == {
        "asset": "dau-dxcbz", "point": "ww1", "factor": "w21003", "kind": "stopped", "entered_by": "api:li.wei",
        "removed_at": None}
    # answered in the configured zone (Asia/Shanghai): the instants sent
    assert (doc["start"], doc["end"]) == ("2026-11-03T08:00:00+08:00", "2026-11-05T17:00:00+08:00")
    listed = c.get("/api/v1/hj212/exemptions").json()  # public_read: a viewer's read
    assert [x["id"] for x in listed] == [doc["id"]]
    cli = json.loads(c.cli("hj212", "exempt", "list", "--format", "json").stdout)
    assert [x["proof"] for x in cli] == ["昌环函〔2026〕7号"]
    # one row type (store/hj212_exemptions.ExemptionRow) for both, every field, times in the configured zone
    assert cli == listed and listed[0] == doc
    auth = {"Authorization": f"Bearer {operator}"}
    assert httpx.delete(f"{url}/{doc['id']}", headers=auth).json() == {"removed": str(doc["id"])}
    assert httpx.delete(f"{url}/{doc['id']}", headers=auth).status_code == 404  # removed already
    assert httpx.delete(f"{url}/99999999999999999999", headers=auth).status_code == 422
    assert c.get("/api/v1/hj212/exemptions").json() == []
    assert [x["removed_by"] for x in c.get("/api/v1/hj212/exemptions?removed=true").json()] == ["api:li.wei"]
    audit = c.cli("audit").stdout
    assert f"api:li.wei hj212.exemption.add {doc['id']}" in audit
    assert f"api:li.wei hj212.exemption.remove {doc['id']}" in audit
