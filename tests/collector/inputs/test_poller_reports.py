"""The poller's reports (collector/inputs/poller/runner.py): how many results one report carries."""
from __future__ import annotations

import json
from collections import deque
from datetime import UTC, datetime

from opsmon.collector.core.states import DOWN, Observation
from opsmon.collector.inputs.agents.ingest import MAX_BYTES
from opsmon.collector.inputs.poller.runner import Forwarder


def test_a_pollers_report_stays_inside_the_collectors_bound() -> None:
    """3,000 results waiting, each with a 600-character reason (cut to 500) and a check id of 9 characters
    ("tcp:00000"): each counts 150 + 3 + 9 + 500 = 662 bytes, and a report takes results while the count is
    under 700,000: 1,057 x 662 = 699,734 lets a 1,058th in (700,396 stops it). Its JSON stays under the door's
    1 MiB, and the other 1,942 wait for the next report."""
    forwarder = Forwarder.__new__(Forwarder)  # only its queue: no spool, no transport
    forwarder._results = deque(Observation("srv", f"tcp:{i % 10:05d}", datetime.now(UTC), DOWN, "x" * 600)
                               for i in range(3000))
    doc: dict[str, object] = {}
    forwarder.extend(doc)
    assert len(doc["observations"]) == 1058  # type: ignore[arg-type]
    assert len(json.dumps(doc)) < MAX_BYTES
    assert forwarder.waiting == 3000 - 1058
