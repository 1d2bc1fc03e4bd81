"""The whole path in a real `opsmon serve`: a DAU's frames make its asset up, are stored and answered; a wrong
password is a stored security event; a unit that goes silent is down in the timeline, with an incident.

Frames: the real ones of hj212_frames.py (sources named there); this DAU has their MN and password, so they
are sent unchanged, apart from the frame given a wrong password (wrapped here by answers.wrap for its CRC).
"""
from __future__ import annotations

import socket

from sqlalchemy import func, select

from opsmon.collector.inputs.hj212 import wrap
from opsmon.collector.store import open_store
from opsmon.collector.store.models import Event, Hj212Datum
from tests.collector.inputs import hj212_frames as F
from tests.conftest import free_port
from tests.peers.collector import wait_for

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
