"""Time the collector missed but an agent saw counts as seen (issue 19, item 7), with a real collector process:
killed -9 once, restarted on the same store, and an agent's spool replayed into it with reports stamped inside
the outage. docs/timeline.md (rule 7) states the rule this protects."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from tests.peers.collector import STREAM, wait_for


def test_a_spool_replayed_after_a_restart_turns_the_outage_into_what_the_reports_saw(collector_factory) -> None:
    """The agent reports every 0.5 s (agents.interval; silence limit 3 x 0.5 = 1.5 s). The collector sees it up,
    is killed -9, and starts again 3 s later: recovery closes the host's up interval at the last heartbeat H and
    records [H, R) as unknown, "collector not running" (R: the restart). The agent's spool then replays reports
    stamped H+0.3, H+0.8, H+2.8, H+3.3, ... every 0.5 s up to R, then live ones.

    By hand, over [H, R):
    - [H, H+0.8) up: the host was up at H and the first replay (H+0.3) is 0.3 s <= 1.5 s after it, the next
      (H+0.8) 0.5 s after that: reports at most the silence limit apart prove the host up between them;
    - [H+0.8, H+2.8) unknown: 2.0 s without a report (> 1.5 s): nobody saw the host then;
    - [H+2.8, R) up: reports 0.5 s apart, the last one inside the gap at most 0.5 s before R, the next after R.
    So unknown = 2.000 s (+-2 ms: the store keeps milliseconds), up = (R - H) - 2.000 s, and nothing else;
    the intervals still tile [H, R) and the span before H (which the collector saw itself) is untouched.
    Before the fix: unknown = R - H (all of it), up = 0."""
    c = collector_factory("assets: []\n", extra="agents:\n  interval: 0.5s\napi:\n  public_read: true\n")
    c.start()
    token = c.cli("agents", "enroll", "srv", "--category", "server").stdout.strip()
    seq = 0

    def send(ts: float, backlog: int | None = None) -> int:
        nonlocal seq
        seq += 1
        doc = {"schema": 1, "stream": STREAM, "seq": seq, "ts": ts, "interval": 0.5, "metrics": {}}
        headers = {"Authorization": f"Bearer {token}"}  # no X-Opsmon-Sent-At: ts is stored as given
        if backlog is not None:
            headers["X-Opsmon-Backlog"] = str(backlog)
        return httpx.post(c.base + "/api/v1/agent/report", json=doc, headers=headers, timeout=10).status_code

    for _ in range(3):
        assert send(time.time()) == 200
        time.sleep(0.5)
    wait_for(lambda: c.states().get("srv", {}).get("state") == "up", 10, "srv up before the kill")
    assert send(time.time()) == 200  # answered once committed, with the heartbeat: H is at or after it
    c.crash()
    time.sleep(3)
    c.start()

    def history(start: datetime, end: datetime) -> dict:
        return c.get("/api/v1/assets/srv/history", params={"from": start.isoformat(), "to": end.isoformat()}).json()

    rows = history(datetime.fromtimestamp(time.time() - 60).astimezone(), datetime.now().astimezone())["intervals"]
    gap = [r for r in rows if r["reason"] == "collector not running"]
    assert len(gap) == 1 and gap[0]["state"] == "unknown", rows
    h, r = datetime.fromisoformat(gap[0]["start"]), datetime.fromisoformat(gap[0]["end"])
    before = [x for x in rows if x["end"] == gap[0]["start"]]
    assert [x["state"] for x in before] == ["up"], rows
    assert (r - h).total_seconds() >= 3.3, (h, r)  # room for the pattern below

    stamps = [h.timestamp() + 0.3, h.timestamp() + 0.8]
    t = h.timestamp() + 2.8
    while t < r.timestamp():
        stamps.append(t)
        t += 0.5
    stamps.append(t)  # the first one at or after R, as the spool goes on
    for i, ts in enumerate(stamps):
        assert send(ts, len(stamps) - i - 1) == 200
    assert send(time.time()) == 200

    seen = history(h, r)
    assert abs(seen["seconds"]["unknown"] - 2.0) <= 0.002, seen
    assert abs(seen["seconds"]["up"] - ((r - h).total_seconds() - 2.0)) <= 0.002, seen
    assert sum(v for k, v in seen["seconds"].items() if k not in ("up", "unknown")) == 0, seen
    spans = [(x["state"], datetime.fromisoformat(x["start"]), datetime.fromisoformat(x["end"]))
             for x in seen["intervals"]]
    assert [s for s, _a, _b in spans] == ["up", "unknown", "up"], spans
    assert spans[0][1] == h and spans[-1][2] == r, spans
    assert all(a[2] == b[1] for a, b in zip(spans, spans[1:], strict=False)), spans  # they tile [H, R)
    assert abs((spans[1][1] - h) - timedelta(seconds=0.8)) <= timedelta(milliseconds=2), spans
    # what the collector saw itself, up to H, is as it was
    assert [x for x in history(h - timedelta(seconds=30), h)["intervals"] if x["end"] == gap[0]["start"]] == before


def test_replayed_results_fill_only_the_unwatched_gap_with_what_they_saw(tmp_path) -> None:
    """In process, on a real SQLite store with the real writer and a fake clock: the collector saw host h (an
    agent, interval 10 s: silence limit 3 x 10 = 30 s) and host p (a ping, interval 10 s) up from T0, wrote its
    last heartbeat at t=100 and starts again at t=200. Recovery records [100, 200) unknown for both.

    h's spool replays reports stamped 95 (before the gap: the collector saw that time), 105, 115, 125, 170, 180,
    190, 200 (the first at or after the restart), then 210 live. By hand:
    - 95 fills nothing: the gap starts at 100;
    - 105: h was up at 100 and 105 - 100 = 5 s <= 20 s (one interval less than the limit, since h's last result
      before the stop was up to an interval older than 100) -> [100, 105) up; 115, 125 -> [105, 125) up;
    - 170: 45 s after 125 > 30 s -> [125, 170) stays unknown ("collector not running");
    - 180, 190, 200 -> [170, 200) up (200 is the gap's end; nothing after it is the gap's).
    Over [100, 200): up 25 + 30 = 55 s, unknown 45 s, together 100 s (nothing counted twice); rows:
    up [T0,100) (the collector's own, untouched), up [100,125), unknown [125,170), up [170,200), up [200, open).
    Before the fix: unknown 100 s.
    p's first result after the restart, at 201, is 101 s after the gap's start (> 20 s): [100, 200) stays
    unknown, 100 s: nobody saw p then.
    w (an agent too) is in a maintenance window [110, 120) and replays 105, 115, 125, then 200: [100, 110) up,
    [110, 120) maintenance (a window overrides every state, rule 5), [120, 125) up, [125, 200) unknown (75 s
    without a report): up 15 s, maintenance 10 s, unknown 75 s."""
    from opsmon.collector.core.maintenance import MaintenanceBook, WindowSpec
    from opsmon.collector.core.states import DOWN, UP, Observation
    from opsmon.collector.store import open_store
    from opsmon.collector.store.history import asset_history
    from opsmon.collector.store.models import Heartbeat, StateInterval
    from opsmon.collector.store.writer import StoreWriter
    from opsmon.collector.timeline.engine import REPLAYED, CheckConf, Timeline
    from opsmon.collector.timeline.recovery import recover
    from tests.conftest import utc

    t0 = utc(2026, 7, 1, 0, 0, 0)

    def at(s: float) -> datetime:
        return t0 + timedelta(seconds=s)

    store = open_store(f"sqlite:///{tmp_path / 'gap.db'}")
    with store.session.begin() as s:
        s.add_all([StateInterval(asset_id=a, state="up", start_ts=at(0), end_ts=None, reason="") for a in "hpw"])
        s.add(Heartbeat(id=1, ts=at(100), started_ts=at(0), pid=1))
    recovered = recover(store, at(200))
    assert recovered.resume == at(200) and sorted(recovered.gaps) == ["h", "p", "w"]
    writer = StoreWriter(store, at(200), clock=lambda: at(200))
    writer.start()
    window = WindowSpec(id="patch", assets=("w",), start=at(110), end=at(120), reason="kernel")
    tl = Timeline(writer.put, MaintenanceBook([window], "UTC"), started=at(200))
    for agent_host in "hw":
        tl.upsert_asset(agent_host, None, None, (), [CheckConf("agent", 10.0, 1, 1, DOWN, "agent not reporting")],
                        at(200))
    tl.upsert_asset("p", None, None, (), [CheckConf("icmp", 10.0, 3, 1)], at(200))
    tl.gaps = recovered.gaps
    for t in (95, 105, 115, 125, 170, 180, 190, 200, 210):
        tl.observe(Observation("h", "agent", at(t), UP, ""))
    tl.observe(Observation("p", "icmp", at(201), UP, ""))
    for t in (105, 115, 125, 200):
        tl.observe(Observation("w", "agent", at(t), UP, ""))
    assert writer.flush() and writer.stop()

    spans, seconds = asset_history(store, "h", at(100), at(200), now=at(210))
    assert (seconds["up"], seconds["unknown"]) == (55.0, 45.0) and sum(seconds.values()) == 100.0, seconds
    with store.session() as s:
        rows = [(r.state, r.start_ts, r.end_ts, r.reason) for r in s.scalars(
            select(StateInterval).where(StateInterval.asset_id == "h").order_by(StateInterval.start_ts))]
    assert rows == [("up", at(0), at(100), ""), ("up", at(100), at(125), REPLAYED),
                    ("unknown", at(125), at(170), "collector not running"), ("up", at(170), at(200), REPLAYED),
                    ("up", at(200), None, "")], rows
    _spans, p_seconds = asset_history(store, "p", at(100), at(200), now=at(210))
    assert (p_seconds["up"], p_seconds["unknown"]) == (0.0, 100.0), p_seconds
    assert "h" not in tl.gaps  # its only check is past the gap: nothing more can fill it
    _spans, w_seconds = asset_history(store, "w", at(100), at(200), now=at(210))
    assert {k: v for k, v in w_seconds.items() if v} == {"up": 15.0, "maintenance": 10.0, "unknown": 75.0}
    with store.session() as s:
        rows = [(r.state, r.start_ts, r.end_ts, r.reason) for r in s.scalars(
            select(StateInterval).where(StateInterval.asset_id == "w", StateInterval.end_ts <= at(200))
            .order_by(StateInterval.start_ts))]
    assert rows == [("up", at(0), at(100), ""), ("up", at(100), at(110), REPLAYED),
                    ("maintenance", at(110), at(120), "maintenance window patch: kernel"),
                    ("up", at(120), at(125), REPLAYED), ("unknown", at(125), at(200), "collector not running")], rows
