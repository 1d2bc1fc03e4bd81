"""Two real `opsmon poller` processes at one site and a real collector: one killed, its assets move (issue 22 item 3).

hotan has the pollers p-a and p-b and six servers srv-1 .. srv-6 (one TCP check each, on a listener of this test
at 127.0.0.3). By the rendezvous scores (tests/collector/inputs/test_poller_group.py gives them by hand) p-a runs
srv-3 and srv-5, p-b srv-1, srv-2, srv-4 and srv-6. The failover delay is 3 s (collector.yaml `pollers`), so a
poller of the pair asks for its share every second (a quarter of it, raised to 1 s).
"""
from __future__ import annotations

import re
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.collector.inputs.test_site_poller import _intervals, _results, _ts
from tests.conftest import OPSMON, ROOT
from tests.peers.collector import wait_for
from tests.peers.wan import tcp_service

DELAY = 3.0
MOVED = ("srv-1", "srv-2", "srv-4", "srv-6")  # p-b's
KEPT = ("srv-3", "srv-5")  # p-a's


def _handovers(c: Any) -> list[tuple[str, float, dict[str, Any]]]:
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import Event

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = [(a, _ts(ts), d) for a, ts, d in s.execute(
            select(Event.asset_id, Event.ts, Event.details).where(Event.kind == "poller").order_by(Event.ts, Event.id))]
    store.close()
    return rows


def _start(name: str, token: str, tmp_path: Path, base: str) -> tuple[subprocess.Popen[bytes], Path]:
    conf = tmp_path / f"{name}.toml"
    conf.write_text(f'collector_url = "{base}"\ntoken = "{token}"\ninterval = 1\ntimeout = 2\n'
                    f'spool_dir = "{tmp_path / (name + "-spool")}"\n')
    conf.chmod(0o600)
    log = tmp_path / f"{name}.log"
    with open(log, "a") as err:
        return subprocess.Popen([*OPSMON, "poller", str(conf)], cwd=ROOT, stdout=err, stderr=err), log


def _stopped(log: Path) -> dict[str, str]:
    """The last "poller stopped" line's key=value pairs: what the poller's checks gave, all sent."""
    lines = re.findall(r"opsmon\.poller: poller stopped (.*)", log.read_text())
    assert lines, log.read_text()[-2000:]
    return dict(pair.split("=", 1) for pair in lines[-1].split())


def test_a_killed_pollers_assets_move_to_the_other_within_the_failover_delay(collector_factory,  # type: ignore[no-untyped-def]
                                                                           tmp_path: Path) -> None:
    """Checks every 1 s (timeout 0.8 s), up after 1 result; silence judged after 3 intervals, dated 1 interval after
    the last result; the collector's tick 0.2 s; the pollers report every 1 s.

    K: p-b killed (SIGKILL). L: its last report's arrival (L <= K). F: the handover.
    - F - L is the failover delay, 3 s, plus at most a tick (0.2 s) and the loaded machine's lateness (1.3 s
      allowed): 3 <= F - L <= 4.5. Four events `poller_handover`, one per moved asset, p-b -> p-a, reason silent,
      each with p-b's last report L; none for srv-3, srv-5.
    - p-a asks for its share within 1 s of F and runs a new check within one interval: its first result of each
      moved asset is in [F, F + 1 + 1 + 2 s lateness].
    - The gap: p-b's last stored result r of srv-1 is at most one report before L, so r <= L; the collector judges
      srv-1 silent at r + 3 s and makes it unknown from r + 1 s; p-a's first result f >= F >= L + 3 >= r + 3 is
      later than r + 1 + (3 - 1) intervals = r + 3 unless equal, so the silence is not undone: srv-1 is unknown
      [r + 1, f), up again from f. Never down, never unreachable. srv-3 and srv-5 are one up interval throughout.
    - p-b restarted (B): it runs the share it kept (share.json, the four assets) at once, and reports; at its
      first report's arrival R (> B) it is online and the four come back to it (reason joined: their highest score).
      Its results dated before R were p-a's time: not counted. p-a's dated after R until its next fetch (1 s): not
      counted either. So each asset's stored results, by time, come from p-b, then p-a, then p-b (srv-3, srv-5:
      p-a only), never interleaved, every time once.
    - Before the kill both run their own ("settled"); everything is judged from then, but no interval is ever down.
    - Nothing lost, nothing twice: at their SIGTERM each poller logs how many results its checks gave (N); the
      collector logs, a line a minute per poller, how many it did not count since its previous line
      (`site poller results not counted ... source=p-a refused=not_owner:n`):
      p-a's stored results + its refused = N(p-a); p-b's second run's likewise.
    """
    target = tcp_service("127.0.0.3")
    port = target.getsockname()[1]
    check = f"[{{type: tcp, port: {port}}}]"
    c = collector_factory("assets:\n" + "".join(
        f"  - {{id: srv-{i}, category: server, site: hotan, address: 127.0.0.3, checks: {check}}}\n"
        for i in range(1, 7)), extra=f"pollers:\n  failover_delay: {DELAY:g}s\n")
    tokens = {p: c.cli("agents", "enroll", p, "--site", "hotan", "--poller").stdout.strip() for p in ("p-a", "p-b")}
    c.start()
    a, a_log = _start("p-a", tokens["p-a"], tmp_path, c.base)
    b, b_log = _start("p-b", tokens["p-b"], tmp_path, c.base)
    try:
        # Both running their own (a poller slower to start than the failover delay on a loaded machine has been
        # offline meanwhile and its assets handed over and back: those moves come before `before`)
        wait_for(lambda: all(_results(c, s) and _results(c, s)[-1][1] == ("p-b" if s in MOVED else "p-a")
                             for s in MOVED + KEPT), 30, "each server run by its own poller")
        settled = time.time()
        before = len(_handovers(c))
        time.sleep(2)
        killed_at = time.time()
        b.kill()
        b.wait()
        wait_for(lambda: len(_handovers(c)) == before + 4, 20, "the handover of p-b's four assets")
        wait_for(lambda: all(any(o == "p-a" for _, o in _results(c, s)) for s in MOVED), 20, "p-a running them")
        time.sleep(2)
        restarted_at = time.time()
        b, b_log = _start("p-b", tokens["p-b"], tmp_path, c.base)
        wait_for(lambda: len(_handovers(c)) == before + 8, 20, "the four assets back to p-b")
        back = max(ts for _, ts, _ in _handovers(c))
        wait_for(lambda: all(_ts(_results(c, s)[-1][0]) > back + 2 for s in MOVED), 20, "p-b running them again")
    finally:
        for p in (a, b):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        target.close()
    _, _, collector_log = c.stop()

    events = _handovers(c)[before:]
    silent, joined = events[:4], events[4:]
    assert sorted(asset for asset, _, _ in silent) == sorted(MOVED)
    assert {(d["from"], d["to"], d["reason"]) for _, _, d in silent} == {("p-b", "p-a", "silent")}
    last_report = _ts(datetime.fromisoformat(silent[0][2]["last_report"]))
    handover = silent[0][1]
    assert {ts for _, ts, _ in silent} == {handover}
    assert last_report <= killed_at and 3.0 <= handover - last_report <= 4.5, (handover - last_report)
    assert sorted(asset for asset, _, _ in joined) == sorted(MOVED)
    assert {(d["from"], d["to"], d["reason"]) for _, _, d in joined} == {("p-a", "p-b", "joined")}
    assert restarted_at < back

    for asset in MOVED:
        results = [(_ts(ts), observer) for ts, observer in _results(c, asset)]
        times = [t for t, _ in results]
        assert len(set(times)) == len(times)  # no result twice
        since = [(t, o) for t, o in results if t >= settled]
        runs = [o for i, (_, o) in enumerate(since) if i == 0 or since[i - 1][1] != o]
        assert runs == ["p-b", "p-a", "p-b"], (asset, runs)  # one owner at a time, never interleaved
        last_b = max(t for t, o in results if o == "p-b" and t < handover)
        first_a = min(t for t, o in results if o == "p-a")
        assert handover <= first_a <= handover + 4.0, (asset, first_a - handover)
        assert all(t < back for t, o in results if o == "p-a")  # p-a's after the move back: not counted
        assert all(t >= back for t, o in results if o == "p-b" and t > handover)  # p-b's before it: not counted
        states = _intervals(c, asset)
        assert not [s for s, _, _ in states if s in ("down", "unreachable")], (asset, states)
        states = [i for i in states if i[2] is None or _ts(i[2]) > settled]
        assert [s for s, _, _ in states] == ["up", "unknown", "up"], (asset, states)
        gap = states[1]
        assert abs(_ts(gap[1]) - (last_b + 1.0)) < 0.002 and abs(_ts(gap[2]) - first_a) < 0.002, (asset, gap, last_b)
    for asset in KEPT:
        assert {o for ts, o in _results(c, asset) if _ts(ts) >= settled} == {"p-a"}
        assert [s for s, _, e in _intervals(c, asset) if e is None or _ts(e) > settled] == ["up"]

    refused = {"p-a": 0, "p-b": 0}
    # at most a line a minute per poller, the refusals since the previous line by reason (not_owner:2,future:1)
    for poller, reasons in re.findall(r"site poller results not counted.* source=(\S+) refused=(\S+)", collector_log):
        refused[poller] += sum(int(part.split(":")[1]) for part in reasons.split(","))
    stored = {p: sum(1 for i in range(1, 7) for ts, o in _results(c, f"srv-{i}") if o == p
                     and (p == "p-a" or _ts(ts) >= restarted_at)) for p in ("p-a", "p-b")}
    assert stored["p-a"] + refused["p-a"] == int(_stopped(a_log)["results"]), (stored, refused)
    assert stored["p-b"] + refused["p-b"] == int(_stopped(b_log)["results"]), (stored, refused)
