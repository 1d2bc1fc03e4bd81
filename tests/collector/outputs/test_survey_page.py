"""The survey's answer page on a phone: at 375 px nothing is wider than the screen (no sideways scrolling),
in a real browser (Debian's chromium, headless). Headless windows are at least 500 px wide, so the page is
shown in a 375 px frame of a harness page, whose script reads the frame's widths back (the survey page
itself has no scripts). The harness is checked too: a page with a 600 px block is seen to overflow."""
from __future__ import annotations

import re
import shutil
import subprocess
from html import escape
from pathlib import Path

import pytest

from opsmon.collector.outputs.api.survey_page import done_html, form_html, refused_html

CHROMIUM = shutil.which("chromium")
HARNESS = ("<!doctype html><html><body style='margin:0'><iframe id='f' style='border:0;width:375px;height:800px' "
           "srcdoc=\"{page}\"></iframe><script>document.getElementById('f').onload=function(){{"
           "var d=this.contentDocument.documentElement;document.body.setAttribute('data-w', d.scrollWidth)}}"
           "</script></body></html>")


def width_at_375(page: str, folder: Path) -> int:
    """The page's scroll width in a 375 px frame: over 375 means the reader scrolls sideways."""
    probe = folder / "harness.html"
    probe.write_text(HARNESS.format(page=escape(page, quote=True)), encoding="utf-8")
    dom = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=500,900",
                          "--virtual-time-budget=2000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=60).stdout
    found = re.search(r'data-w="(\d+)"', dom)
    assert found is not None, dom[:300]
    return int(found.group(1))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
@pytest.mark.parametrize("page", [
    form_html("2026Q3", "生态环境综合行政执法局 / Ecological and environmental law enforcement bureau",
              ("choose one of satisfied, fair, dissatisfied", "请选择一项评价（意见不超过 2000 字）")),
    done_html("2026Q3"),
    refused_html("an answer for this period was already given by this contact", "该联系人本期已提交过评价"),
])
def test_the_page_fits_a_375_px_phone(page: str, tmp_path: Path) -> None:
    assert "<script" not in page and "src=" not in page and "href=" not in page  # nothing from elsewhere
    assert "width=device-width" in page and page.index("满意度调查") < page.index("Satisfaction survey")
    assert width_at_375(page, tmp_path) == 375


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_harness_sees_a_page_too_wide(tmp_path: Path) -> None:
    wide = done_html("2026Q3").replace("<p", "<div style='width:600px'>x</div><p", 1)
    assert width_at_375(wide, tmp_path) > 375
