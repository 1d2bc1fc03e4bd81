"""What the console's pages draw from the records, in process: an asset's state bar and its checks."""
from __future__ import annotations

from opsmon.collector.outputs.ui.views import check_rows, state_bar, time_left
from opsmon.collector.store.history import Span
from tests.conftest import utc


def test_the_state_bar_places_each_interval_by_its_share_of_the_period() -> None:
    """A 10-day period from 2026-10-01 00:00Z, now = 10-06 00:00Z. up 10-01 00:00 -> 10-03 12:00 is 2.5 days
    = 25 % at x 0; down 10-03 12:00 -> 10-04 00:00 is 0.5 day = 5 % at x 25; maintenance still open from
    10-04 00:00 is drawn up to now: 2 days = 20 % at x 30; the 4 days to come stay blank."""
    start, end, now = utc(2026, 10, 1), utc(2026, 10, 11), utc(2026, 10, 6)
    spans = [Span("up", start, utc(2026, 10, 3, 12), ""), Span("down", utc(2026, 10, 3, 12), utc(2026, 10, 4), "x"),
             Span("maintenance", utc(2026, 10, 4), None, "window")]
    bars = state_bar(spans, start, end, now, "Asia/Shanghai")
    assert [(b.state, b.x, b.width) for b in bars] == [("up", 0.0, 25.0), ("down", 25.0, 5.0),
                                                       ("maintenance", 30.0, 20.0)]
    # the tooltip in the configured zone (UTC+8): 10-03 12:00Z is 20:00 there
    assert bars[1].title == "down 2026-10-03 20:00:00 - 2026-10-04 08:00:00 x"


def test_a_check_is_shown_without_the_secrets_a_viewer_must_not_read() -> None:
    rows = check_rows([{"type": "http", "url": "https://user:s3cret@portal.example/login",
                        "headers": {"Authorization": "Bearer s3cret"}, "ca_file": None},
                       {"type": "tcp", "host": "10.0.0.5", "port": 443}])
    assert rows == [("http", "url=https://portal.example/login headers=Authorization"),
                    ("tcp", "host=10.0.0.5 port=443")]
    assert "s3cret" not in repr(rows)


def test_time_left_speaks_the_pages_language() -> None:
    """A deadline 1 h 5 min 40 s away shows whole minutes in the page's units; 10 min past, as overdue."""
    now = utc(2026, 12, 6, 12, 0)
    words = {"overdue": "超时"}
    assert time_left("2026-12-06T13:05:40+00:00", now, words, "zh") == ("1小时5分", False)
    assert time_left("2026-12-06T13:05:40+00:00", now, words, "en") == ("1h5m", False)
    assert time_left("2026-12-06T19:50:00+08:00", now, words, "zh") == ("超时 10分", True)


def test_a_page_says_where_its_figures_stand() -> None:
    """views.offer: figures current -> no note, never reloads; none yet -> "computing", the last ones while newer
    are measured -> "refreshing": both reload after RELOAD (2) seconds; a failed measurement -> "failed", naming
    the error (cut at 300 characters), and reloads after FAILED_FOR (30) seconds, when the cache tries again."""
    from opsmon.collector.outputs.ui.views import RELOAD, offer
    from opsmon.collector.sla.cache import Answer

    result = object()  # offer reads only whether there is one
    assert offer(Answer(result, None, True)) == {"state": "", "reload": 0}  # type: ignore[arg-type]
    assert offer(Answer(None, None, False)) == {"state": "computing", "reload": RELOAD}
    assert offer(Answer(result, None, False)) == {"state": "refreshing", "reload": RELOAD}  # type: ignore[arg-type]
    assert RELOAD == 2
    assert offer(Answer(None, None, False, "database gone")) == {"state": "failed", "reload": 30,
                                                                 "error": "database gone"}
    assert offer(Answer(None, None, False, "x" * 301))["error"] == "x" * 300
