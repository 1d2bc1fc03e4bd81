"""A real collector and a real `opsmon poller` on loopback, and a WAN cut between them (issue 22 items 1, 2, 4).

The prefecture `hotan`: the poller `p-hotan` and the server `srv` (127.0.0.3, a TCP listener of this test) stand
behind the WAN link `wan-hotan`. The link is the relay tests/peers/wan.py on 127.0.0.2: the poller reaches the
collector through it, and the collector checks the link by connecting to it; the link's far end is the poller's
probe of the centre (the check `from-site`, `from_site: true`: a TCP connection to the collector's address as the
poller knows it, the relay). Cutting the relay cuts all three, as a real link cut does; the collector itself keeps
running.
"""
from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from tests.conftest import OPSMON, ROOT
from tests.peers.collector import wait_for
from tests.peers.wan import WanPath, tcp_service

CUT = 6.0  # seconds the link is down


def _ts(dt: datetime) -> float:
    return dt.replace(tzinfo=UTC).timestamp() if dt.tzinfo is None else dt.timestamp()


def test_a_wan_cut_keeps_the_polled_assets_real_states_and_charges_the_link(collector_factory, tmp_path: Path) -> None:
    """Every check runs each 1 s (timeout 0.8 s), down after 2 results, up after 1; silence after 3 intervals.

    Hand-computed expectations, with A the moment the relay is cut and B (measured, A + 6 s or a little more on a
    loaded machine) when it listens again. Time bounds allow 2 intervals (2 s) of scheduling lateness: CI runs
    two test workers on a loaded 2-core machine.

    - wan-hotan (checked by the collector through the relay, and from its far end by the poller): the first probe
      of either end started after A is refused (the centre's two refusals confirm it down, dated to the first; the
      poller's, replayed, move the start earlier when it probed first, by less than an interval): down from d0 in
      [A - 1 s, A + 2 s] (a probe dated up to one interval before A whose connect ran after the cut; the first
      after A due within 1 s, plus 1 s late), up again from the first probe of either end after B: d1 in
      [B - 1 s, B + 2 s]; so d1 - d0 is B - A within 3 s either way.
    - srv (checked only by the poller): its probes go on every second; the reports that carry them are refused at
      the relay and spooled, then replayed in order after B. Nothing lost, nothing twice, by identity, not by
      gaps: the poller logs at its stop how many results its checks gave, on which report stream, the last report
      number, and that none is spooled or waiting; the collector stored exactly that many results of srv and of
      the link's far end, each check's with distinct times (no result stored twice), srv's all with the observer
      p-hotan (the collector never probes it), and
      its position on that stream is that last report number (every report arrived).
    - srv's probes started inside (A, B): the scheduler's grid is 1 s, a run at most once per grid point and at
      most 1 s late (APScheduler's misfire grace; a later run is skipped), so at most ceil(B - A) + 1 (the points in
      (A - 1, B)); at least 3, half the cut's 6 points: a run is skipped only when the poller's own event loop
      stalls over a second, and three such stalls in 6 s is a machine too loaded to measure anything on.
    - srv's intervals: unknown until its first result, then one up interval to the end. During the cut the
      collector judged its silence (3 s without a result) and made it unknown from last result + 1 s; the first
      replayed result is dated that very second, within 2 intervals of it, so the silence is undone from its
      start and the unknown time merged back into the up interval: no gap, never unreachable.
    - wan-hotan from both ends (item 4): the poller's probe of the centre (from-site) fails through the cut too, its
      results spooled and replayed with srv's: the link has results of both observers inside (A, B), down from
      each end (the centre's observer is empty, the far end's p-hotan); both agree, so the one down interval
      above stays as it is, and the link is never degraded (the two ends probing out of phase make no sliver).
    - p-hotan's own asset (its reports' arrival, every 1 s; agents.interval 1 s, so silent after 3 s): up before
      the cut; during it, silent behind its cut link: unknown, never down (sampled 5 s into the cut: the link
      down, the poller unknown); after the replay its reports dated inside the cut undo the silence: no down
      interval and no transition to down of p-hotan at all.
    - The doors: the share is refused to a plain agent's token (403) and to no token (401).
    - A revoked poller: p-yutian, enrolled and revoked before the start, with a share.json kept in its spool from
      before (srv's check): it starts running the kept check, its first fetch (at once, at start) is refused
      (401), and it stops the check and deletes share.json, saying so once, with the 1 check it stopped. Its
      reports are refused too (401), so nothing of it is stored.
    """
    target = tcp_service("127.0.0.3")
    wan = WanPath("127.0.0.2")
    c = collector_factory(f"""
assets:
  - {{id: wan-hotan, category: link, site: hotan, address: 127.0.0.2, checks: [{{type: tcp, port: {wan.port}}},
      {{type: tcp, id: from-site, port: {wan.port}, from_site: true}}]}}
  - {{id: srv, category: server, site: hotan, parent: wan-hotan, address: 127.0.0.3,
      checks: [{{type: tcp, port: {target.getsockname()[1]}}}]}}
""", extra="agents:\n  interval: 1s\n")
    wan.target = ("127.0.0.1", c.port)
    token = c.cli("agents", "enroll", "p-hotan", "--site", "hotan", "--poller").stdout.strip()
    plain = c.cli("agents", "enroll", "web-9", "--site", "hotan").stdout.strip()
    assert token.startswith("opsmon_agent_") and plain.startswith("opsmon_agent_")
    revoked = c.cli("agents", "enroll", "p-yutian", "--site", "yutian", "--poller").stdout.strip()
    c.cli("agents", "revoke", "p-yutian")
    c.start()
    poller, log = start_poller(tmp_path, wan.url, token)
    try:
        share = httpx.get(c.base + "/api/v1/poller/checks", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert share.status_code == 200
        doc = share.json()
        # its site's checks, and of the link only its far end (the centre measures the link from its own end)
        assert (doc["poller"], doc["site"]) == ("p-hotan", "hotan")
        assert sorted((x["asset"], x["spec"].get("id")) for x in doc["checks"]) == [("srv", None),
                                                                                   ("wan-hotan", "from-site")]
        assert httpx.get(c.base + "/api/v1/poller/checks", headers={"Authorization": f"Bearer {plain}"},
                         timeout=5).status_code == 403
        assert httpx.get(c.base + "/api/v1/poller/checks", timeout=5).status_code == 401
        kept = tmp_path / "revoked-spool" / "share.json"
        kept.parent.mkdir()
        kept.write_text(json.dumps({**doc, "poller": "p-yutian", "site": "yutian",
                                    "checks": [x for x in doc["checks"] if x["asset"] == "srv"]}))
        gone = tmp_path / "revoked.toml"
        gone.write_text(f'collector_url = "{c.base}"\ntoken = "{revoked}"\ninterval = 1\ntimeout = 2\n'
                        f'spool_dir = "{kept.parent}"\n')
        gone.chmod(0o600)
        with open(tmp_path / "revoked.log", "w") as err:
            stale = subprocess.Popen([*OPSMON, "poller", str(gone)], cwd=ROOT, stdout=err, stderr=err)
        try:
            wait_for(lambda: not kept.exists(), 20, "the revoked poller deleting its share.json")
        finally:
            stale.send_signal(signal.SIGTERM)
            stale.wait(timeout=30)
        refusals = re.findall(r"collector refuses this poller's token.* status=(\d+) checks=(\d+)",
                              (tmp_path / "revoked.log").read_text())
        assert refusals == [("401", "1")], (tmp_path / "revoked.log").read_text()[-2000:]

        c.token = c.cli("tokens", "create", "t", "--role", "viewer").stdout.strip()
        wait_for(lambda: {k: v["state"] for k, v in c.states().items() if k in ("srv", "wan-hotan", "p-hotan")}
                 == {"srv": "up", "wan-hotan": "up", "p-hotan": "up"}, 30, "srv, the link and the poller up")
        time.sleep(2)
        cut_at = time.time()
        wan.cut()
        time.sleep(CUT - 1)
        during = {k: v["state"] for k, v in c.states().items() if k in ("wan-hotan", "p-hotan")}
        time.sleep(max(0.0, cut_at + CUT - time.time()))
        back_at = time.time()
        wan.restore()
        wait_for(lambda: c.states()["wan-hotan"]["state"] == "up", 15, "the link up again")
        # the replay has caught up once srv has a result from after B + 2 s
        time.sleep(3)
        wait_for(lambda: _results(c, "srv") and _ts(_results(c, "srv")[-1][0]) > back_at + 2, 20,
                 "the poller's replay")
    finally:
        poller.send_signal(signal.SIGTERM)
        poller.wait(timeout=30)
        wan.close()
        target.close()
    c.stop()
    poller_log = log.read_text()
    assert "collector unreachable; spooling reports" in poller_log and "collector reachable again" in poller_log
    stopped = re.findall(r"opsmon\.poller: poller stopped (.*)", poller_log)  # key=value pairs
    assert len(stopped) == 1, poller_log[-2000:]
    produced = dict(pair.split("=", 1) for pair in stopped[0].split())
    assert (produced["spooled"], produced["waiting"]) == ("0", "0")

    # the link: one down interval, charged to it (a piece the poller's replay rewrote next to the interval then
    # open is a row of its own: touching rows of one state are one interval here)
    link = _joined(_intervals(c, "wan-hotan"))
    downs = [(s, e) for state, s, e in link if state == "down"]
    assert len(downs) == 1, link
    d0, d1 = (_ts(t) for t in downs[0])
    assert cut_at - 1.0 <= d0 <= cut_at + 2.0, (d0 - cut_at)
    assert back_at - 1.0 <= d1 <= back_at + 2.0, (d1 - back_at)
    assert abs((d1 - d0) - (back_at - cut_at)) <= 3.0, (d1 - d0, back_at - cut_at)

    # the link from both ends: each saw the cut; they agree, so nothing was rewritten and nothing is degraded
    assert during == {"wan-hotan": "down", "p-hotan": "unknown"}, during
    assert "degraded" not in [state for state, _, _ in link], link
    ends = _results(c, "wan-hotan", with_status=True)
    # each end probed by its own side only: the far end's check by the poller, never the centre too
    assert {observer for _, observer in _results(c, "wan-hotan", check="from-site")} == {"p-hotan"}
    assert {observer for _, observer in _results(c, "wan-hotan", check=f"tcp:{wan.port}")} == {""}
    assert {(observer, status) for ts, observer, status in ends if cut_at + 1.0 < _ts(ts) < back_at - 1.0} == {
        ("", "down"), ("p-hotan", "down")}, ends

    # the poller's own asset: never down, not even while silent behind the cut
    assert "down" not in [state for state, _, _ in _intervals(c, "p-hotan")], _intervals(c, "p-hotan")
    assert _intervals(c, "p-hotan")[-1][0] == "up"
    assert "down" not in _transitions(c, "p-hotan")

    # srv: unknown until its first result, then up to the end: no gap, never unreachable
    srv = _intervals(c, "srv")
    assert [state for state, _, _ in srv] == ["unknown", "up"], srv
    assert srv[1][2] is None

    # srv's results: all the poller's, every one it produced stored once, every report arrived
    results = _results(c, "srv")
    assert {observer for _, observer in results} == {"p-hotan"}
    times = [_ts(ts) for ts, _ in results]
    assert len(set(times)) == len(times)
    far_end = [_ts(ts) for ts, observer, _ in ends if observer == "p-hotan"]  # its probes of the centre
    assert len(set(far_end)) == len(far_end)
    assert len(times) + len(far_end) == int(produced["results"]), (len(times), len(far_end), produced)
    assert _stream_position(c, "p-hotan", produced["stream"]) == int(produced["seq"])
    inside = [t for t in times if cut_at < t < back_at]
    assert 3 <= len(inside) <= math.ceil(back_at - cut_at) + 1, (len(inside), back_at - cut_at)


def start_poller(tmp_path: Path, url: str, token: str, *args: str,
                 env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """A real `opsmon poller` (its poller.toml in tmp_path: reports every second, spool in tmp_path/poller-spool)
    reporting to `url`, its log in tmp_path/poller.log; args: more of its command line."""
    conf = tmp_path / "poller.toml"
    conf.write_text(f'collector_url = "{url}"\ntoken = "{token}"\ninterval = 1\ntimeout = 2\n'
                    f'spool_dir = "{tmp_path / "poller-spool"}"\n')
    conf.chmod(0o600)
    log = tmp_path / "poller.log"
    with open(log, "w") as err:
        return subprocess.Popen([*OPSMON, "poller", str(conf), *args], cwd=ROOT, stdout=err, stderr=err,
                                env=env), log


def _intervals(c, asset: str) -> list[tuple[str, datetime, datetime | None]]:  # type: ignore[no-untyped-def]
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import StateInterval

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = [(r.state, r.start_ts, r.end_ts) for r in s.scalars(
            select(StateInterval).where(StateInterval.asset_id == asset).order_by(StateInterval.start_ts))]
    store.close()
    return rows


def _joined(rows: list[tuple[str, datetime, datetime | None]]) -> list[tuple[str, datetime, datetime | None]]:
    """Touching rows of one state as one interval."""
    out: list[tuple[str, datetime, datetime | None]] = []
    for state, start, end in rows:
        if out and out[-1][0] == state and out[-1][2] == start:
            out[-1] = (state, out[-1][1], end)
        else:
            out.append((state, start, end))
    return out


def _results(c, asset: str, with_status: bool = False,  # type: ignore[no-untyped-def]
             check: str | None = None) -> list[tuple[Any, ...]]:
    """(time, observer) of the asset's stored check results (of one check if given), and their status with_status."""
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import Observation

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = [(ts, observer, status)[:3 if with_status else 2] for ts, observer, status in s.execute(
            select(Observation.ts, Observation.observer, Observation.status)
            .where(Observation.asset_id == asset, Observation.kind == "check",
                   *(() if check is None else (Observation.check_id == check,))).order_by(Observation.ts))]
    store.close()
    return rows


def _transitions(c, asset: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The new states of the asset's recorded transitions, in order."""
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import Transition as TransitionRow

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = list(s.scalars(select(TransitionRow.new_state).where(TransitionRow.asset_id == asset)
                              .order_by(TransitionRow.id)))
    store.close()
    return rows


def _stream_position(c, agent: str, stream: str) -> int | None:  # type: ignore[no-untyped-def]
    """The highest report number the collector accepted on this agent's stream (inputs/agents/streams.py)."""
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import AgentStream

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        seq = s.scalar(select(AgentStream.max_seq).where(AgentStream.agent == agent, AgentStream.stream == stream))
    store.close()
    return seq
