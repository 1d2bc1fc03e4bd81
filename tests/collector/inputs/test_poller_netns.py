"""Issue 22's first proof: the centre and two prefectures in network namespaces, one prefecture's link cut for two
minutes (link down in its namespace), then restored.

The topology (tests/peers/topology.py): the collector runs in the centre's namespace (SQLite); prefectures `a` and
`b` each run an `opsmon poller` in their own namespace with two hosts there, `srv-<x>` (a TCP listener) and
`web-<x>` (an HTTP server). The centre pings the prefecture's end of the link (127.1.<i>.2, the prefecture's
router) as the link `wan-<x>`, as docs/poller.md shows for a real link; the poller probes the centre from the far
end (`from-site`, a TCP connection to the collector's port on the centre's end of its link, 127.1.<i>.1). The cut
is the real thing: `ip link set to-centre down` in prefecture a's namespace; the centre's echo requests go
unanswered, the poller's reports and its probes of the centre find no route.
"""
from __future__ import annotations

import math
import re
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.collector.inputs.test_site_poller import _intervals, _joined, _results, _stream_position, _transitions, _ts
from tests.conftest import OPSMON, ROOT
from tests.peers.collector import Collector, wait_for
from tests.peers.topology import Topology
from tests.peers.wan import shut, tcp_service

PRE = 5.0  # seconds of the measured period before the cut, all up
CUT = 120.0  # seconds prefecture a's link is down
STOP, START = 40.0, 80.0  # srv-a's listener closed, then open again, this long into the cut
POST = 5.0  # seconds of the measured period after the link is back


def test_a_prefecture_cut_in_its_namespace_charges_the_link_and_keeps_every_result(
        topology: Callable[..., Topology], collector_factory: Callable[..., Collector], http_server: Any,
        tmp_path: Path) -> None:
    """Every check runs each 1 s (timeout 0.8 s), down after 2 results, up after 1; a check silent for 3 intervals
    is unknown; each poller reports every 1 s, and the collector judges a poller silent after 3 agents.interval
    of 2 s, 6 s: above the link's detection time as docs/poller.md asks (2 results 1 s apart, the second up to
    0.8 s long, plus lateness: about 3 s; with agents.interval 1 s, silent after 3 s, a poller whose last report
    came just before the cut was judged down before the link in 1 run of 9). The cut spans 120 check intervals, 40
    silence limits of every check and 20 of each poller. A is when the link goes down, B
    when it is up again (measured: A + 120 s, a little more on a loaded machine); srv-a's listener is closed at
    S = A + 40 s and open again at R = A + 80 s (both measured). Time bounds allow 2 intervals (2 s) of scheduling
    lateness, as tests/collector/inputs/test_site_poller.py does (its reasoning for each bound holds here).

    State intervals from P's start (below; touching rows of one state joined; before it the pollers start, and a
    poller starved of CPU at its start on a loaded machine has left a check a few seconds unknown there):
    - wan-a: up, then one down interval [d0, d1) with d0 in [A - 1 s, A + 2 s]
      and d1 in [B - 1 s, B + 2 s] (the centre's pings of a's end go unanswered from A; the poller's probes of the
      centre, replayed, agree), then up; never degraded (both ends agree, and no loss or RTT threshold is set).
    - 30 s into the cut (what the API says then): wan-a down; p-a unknown (silent behind a cut link, not down);
      srv-a and web-a unknown (no result for 30 s, over the 3 s silence limit; the replay rewrites it later);
      wan-b, srv-b, web-b, p-b up.
    - srv-a: up, then down [s0, s1) with s0 in [S - 1 s, S + 2 s] and s1 in
      [R - 1 s, R + 2 s] (what p-a saw in its namespace, replayed after B), then up: its own fault, never
      unreachable; no unknown (the replay undoes the silence the centre judged).
    - web-a, srv-b, web-b: up to the end. p-a, p-b: never down, in the whole run.
    - wan-b: up to the end: prefecture b is not touched.

    SLA over P = [A - 5 s, B + 5 s) (its ends on whole milliseconds, the store's resolution), L = B - A + 10 s
    long (about 130 s), all states known there; seconds compared within 10 ms (each interval end is rounded to
    the millisecond), ratios within 1e-4:
    - wan-a: down D = d1 - d0 (B - A within 3 s, about 120 s), up L - D: value (L - D) / L, about 10 / 130 = 7.7 %,
      coverage 1. wan-b: value 1, coverage 1.
    - network_connectivity (scope: links; a fleet sums seconds): down D, observed 2L, value (2L - D) / 2L, about
      140 / 260 = 53.8 %; nothing unreachable, nothing unknown.
    - servers_ok (srv-a, web-a, srv-b, web-b, p-a, p-b): srv-a down E = s1 - s0 (R - S within 3 s, about 40 s),
      value (L - E) / L, about 90 / 130 = 69.2 %; the other five value 1, coverage 1 each; the fleet: down E,
      observed 6L, value (6L - E) / 6L, about 740 / 780 = 94.9 %, unreachable 0 s, unknown 0 s: the cut is
      charged to the link only.

    Nothing lost, nothing doubled, per observer: each poller logs at its stop how many results its checks gave
    (N), on which stream, its last report number (Q), and that none is spooled or waiting; the store holds exactly
    N check results with that poller as observer, each (asset, check, time) once, and its position on that stream
    is Q. p-a's srv-a results inside (A, B): between CUT / 2 = 60 (a run is skipped only when the poller's loop
    stalls over a second) and ceil(B - A) + 1 (one per 1 s grid point in (A - 1, B)). Site hosts are probed by
    their poller only (observer p-a or p-b, never the centre's empty observer); the links' centre checks by the
    centre only.
    """
    topo = topology(["a", "b"])
    a = topo.sites["a"]
    srvs = {x: topo.inside(s.netns, lambda s=s: tcp_service(s.hosts[0])) for x, s in topo.sites.items()}
    webs = {x: topo.inside(s.netns, lambda s=s: http_server({"/": (200, b"ok", 0.0)}, host=s.hosts[1]))
            for x, s in topo.sites.items()}
    c = collector_factory("", extra="agents:\n  interval: 2s\n", netns=topo.centre)
    assets = "assets:\n"
    for x, s in topo.sites.items():
        assets += f"""
  - {{id: wan-{x}, category: link, site: {x}, address: {s.site_end}, checks: [
      {{type: icmp}}, {{type: tcp, id: from-site, port: {c.port}, from_site: true}}]}}
  - {{id: srv-{x}, category: server, site: {x}, parent: wan-{x}, address: {s.hosts[0]},
      checks: [{{type: tcp, port: {srvs[x].getsockname()[1]}}}]}}
  - {{id: web-{x}, category: server, site: {x}, parent: wan-{x}, address: {s.hosts[1]},
      checks: [{{type: http, url: "{webs[x]}/"}}]}}
"""
    (c.config.parent / "assets.yaml").write_text(assets)
    pollers, logs = {}, {}
    tokens = {x: c.cli("agents", "enroll", f"p-{x}", "--site", x, "--poller").stdout.strip() for x in topo.sites}
    assert all(t.startswith("opsmon_agent_") for t in tokens.values()), tokens
    c.start()
    for x, s in topo.sites.items():
        conf = tmp_path / f"poller-{x}.toml"
        conf.write_text(f'collector_url = "http://{s.centre_end}:{c.port}"\ntoken = "{tokens[x]}"\ninterval = 1\n'
                        f'timeout = 2\nspool_dir = "{tmp_path / f"spool-{x}"}"\n')
        conf.chmod(0o600)
        logs[x] = tmp_path / f"poller-{x}.log"
        with open(logs[x], "w") as out:
            pollers[x] = topo.popen(s.netns, [*OPSMON, "poller", str(conf)], out, ROOT)
    everything = {"wan-a", "srv-a", "web-a", "p-a", "wan-b", "srv-b", "web-b", "p-b"}
    c.token = c.cli("tokens", "create", "t", "--role", "viewer").stdout.strip()
    wait_for(lambda: {k: v["state"] for k, v in c.states().items() if k in everything}
             == dict.fromkeys(everything, "up"), 60, "both prefectures, their links and pollers up")
    time.sleep(PRE + 1)
    cut_at = time.time()
    topo.cut("a")
    _sleep_until(cut_at + 30)
    during = {k: v["state"] for k, v in c.states().items() if k in everything}
    _sleep_until(cut_at + STOP)
    stop_at = time.time()
    port = srvs["a"].getsockname()[1]
    shut(srvs["a"])
    _sleep_until(cut_at + START)
    start_at = time.time()
    srvs["a"] = topo.inside(a.netns, lambda: tcp_service(a.hosts[0], port))
    _sleep_until(cut_at + CUT)
    back_at = time.time()
    topo.restore("a")
    wait_for(lambda: c.states()["wan-a"]["state"] == "up", 20, "the link up again")
    end = round(back_at + POST, 3)
    # the replay has caught up once srv-a has a result from after the measured period (2 s of margin)
    wait_for(lambda: _ts(_results(c, "srv-a")[-1][0]) > end + 2, 30, "p-a's replay")
    for proc in pollers.values():
        proc.send_signal(signal.SIGTERM)
    for proc in pollers.values():
        proc.wait(timeout=30)
    c.stop()
    for sock in srvs.values():
        sock.close()

    # 30 s into the cut: the link down, the poller silent behind it unknown, prefecture b untouched
    assert during == {"wan-a": "down", "p-a": "unknown", "srv-a": "unknown", "web-a": "unknown",
                      "wan-b": "up", "srv-b": "up", "web-b": "up", "p-b": "up"}, during

    # state intervals from P's start
    begin = round(cut_at - PRE, 3)
    link = _since(c, "wan-a", begin)
    assert [state for state, _, _ in link] == ["up", "down", "up"], link
    d0, d1 = _ts(link[1][1]), _ts(link[1][2])
    assert cut_at - 1.0 <= d0 <= cut_at + 2.0, d0 - cut_at
    assert back_at - 1.0 <= d1 <= back_at + 2.0, d1 - back_at
    srv = _since(c, "srv-a", begin)
    assert [state for state, _, _ in srv] == ["up", "down", "up"], srv
    s0, s1 = _ts(srv[1][1]), _ts(srv[1][2])
    assert stop_at - 1.0 <= s0 <= stop_at + 2.0, s0 - stop_at
    assert start_at - 1.0 <= s1 <= start_at + 2.0, s1 - start_at
    for asset in ("web-a", "srv-b", "web-b", "wan-b"):
        assert [state for state, _, _ in _since(c, asset, begin)] == ["up"], (asset, _intervals(c, asset))
    for poller in ("p-a", "p-b"):
        assert "down" not in [state for state, _, _ in _intervals(c, poller)], _intervals(c, poller)
        assert "down" not in _transitions(c, poller)

    # who probed what: the site's hosts and the link's far end by its poller only, the link's near end by the centre
    for x in ("a", "b"):
        for asset in (f"srv-{x}", f"web-{x}"):
            assert {observer for _, observer in _results(c, asset)} == {f"p-{x}"}, asset
        assert {o for _, o in _results(c, f"wan-{x}", check="from-site")} == {f"p-{x}"}
        assert {o for _, o in _results(c, f"wan-{x}", check="icmp")} == {""}

    # nothing lost, nothing doubled, per poller
    counts = {}
    for x, log in logs.items():
        text = log.read_text()
        stopped = re.findall(r"opsmon\.poller: poller stopped (.*)", text)
        assert len(stopped) == 1, text[-2000:]
        produced = dict(pair.split("=", 1) for pair in stopped[0].split())
        assert (produced["spooled"], produced["waiting"]) == ("0", "0"), produced
        stored = _by_observer(c, f"p-{x}")
        assert len(set(stored)) == len(stored) == int(produced["results"]), (x, len(stored), produced)
        assert _stream_position(c, f"p-{x}", produced["stream"]) == int(produced["seq"])
        counts[x] = (len(stored), produced["seq"])
    assert "collector unreachable; spooling reports" in logs["a"].read_text()
    assert "collector unreachable" not in logs["b"].read_text()
    inside = [t for t in (_ts(ts) for ts, _ in _results(c, "srv-a")) if cut_at < t < back_at]
    assert CUT / 2 <= len(inside) <= math.ceil(back_at - cut_at) + 1, (len(inside), back_at - cut_at)

    # the figures over P
    result = _measure(c, begin, end)
    length = end - begin
    down, srv_down = d1 - d0, s1 - s0
    print(f"cut {back_at - cut_at:.1f} s; wan-a down {d0 - cut_at:+.2f} s .. {d1 - back_at:+.2f} s ({down:.1f} s); "
          f"srv-a down {s0 - stop_at:+.2f} s .. {s1 - start_at:+.2f} s ({srv_down:.1f} s); srv-a results in the cut "
          f"{len(inside)}; stored = produced (results, last report) {counts}; P {length:.1f} s; "
          f"network_connectivity {result.target('network_connectivity').value:.4f} "
          f"({ {f.asset: round(f.value or 0, 4) for f in result.target('network_connectivity').per_asset} }); "
          f"servers_ok "
          f"{result.target('servers_ok').value:.4f}")
    assert abs(down - (back_at - cut_at)) <= 3.0 and abs(srv_down - (start_at - stop_at)) <= 3.0
    links = result.target("network_connectivity")
    per = {f.asset: f for f in links.per_asset}
    assert set(per) == {"wan-a", "wan-b"}
    assert per["wan-a"].value is not None and abs(per["wan-a"].value - (length - down) / length) < 1e-4
    assert 7.0 / length <= per["wan-a"].value <= 13.0 / length  # about 10 s up of 130
    assert (per["wan-b"].value, per["wan-a"].coverage, per["wan-b"].coverage) == (1.0, 1.0, 1.0)
    detail = links.availability
    assert abs(detail.down_seconds - down) < 0.01 and abs(detail.observed_seconds - 2 * length) < 0.01
    assert (detail.unreachable_excluded_seconds, detail.unknown_seconds) == (0.0, 0.0)
    assert links.value is not None and abs(links.value - (2 * length - down) / (2 * length)) < 1e-4
    servers = result.target("servers_ok")
    per = {f.asset: f for f in servers.per_asset}
    assert set(per) == {"srv-a", "web-a", "srv-b", "web-b", "p-a", "p-b"}
    assert per["srv-a"].value is not None and abs(per["srv-a"].value - (length - srv_down) / length) < 1e-4
    for asset in ("web-a", "srv-b", "web-b", "p-a", "p-b"):
        assert (per[asset].value, per[asset].coverage) == (1.0, 1.0), (asset, per[asset])
    detail = servers.availability
    assert abs(detail.down_seconds - srv_down) < 0.01 and abs(detail.observed_seconds - 6 * length) < 0.01
    assert (detail.unreachable_excluded_seconds, detail.unknown_seconds) == (0.0, 0.0)
    assert servers.value is not None and abs(servers.value - (6 * length - srv_down) / (6 * length)) < 1e-4


def _sleep_until(at: float) -> None:
    time.sleep(max(0.0, at - time.time()))


def _since(c: Collector, asset: str, at: float) -> list[tuple[str, datetime, datetime | None]]:
    """The asset's intervals (touching rows of one state joined) that end after `at`."""
    return [row for row in _joined(_intervals(c, asset)) if row[2] is None or _ts(row[2]) > at]


def _by_observer(c: Collector, observer: str) -> list[tuple[str, str, datetime]]:
    """(asset, check, time) of every check result stored with this observer."""
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import Observation

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = [tuple(r) for r in s.execute(select(Observation.asset_id, Observation.check_id, Observation.ts)
                                            .where(Observation.observer == observer, Observation.kind == "check"))]
    store.close()
    return rows  # type: ignore[return-value]


def _measure(c: Collector, start: float, end: float) -> Any:
    """The bundled target table measured over [start, end) from the collector's database."""
    from opsmon.collector.config.schema import bundled_targets_path
    from opsmon.collector.sla.engine import measure
    from opsmon.collector.sla.periods import range_period
    from opsmon.collector.sla.targets import load_targets
    from opsmon.collector.store import open_store

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    try:
        period = range_period(*(datetime.fromtimestamp(t, UTC).isoformat() for t in (start, end)), "Asia/Shanghai")
        return measure(store, load_targets(bundled_targets_path()), period)
    finally:
        store.close()
