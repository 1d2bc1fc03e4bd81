"""One real `opsmon serve` for issue 20 items 6 and 7: /docs served from the collector's own files (no CDN),
and /metrics as Prometheus' conventions want it: gzip when asked, opsmon_build_info, no `_created` series,
counters typed as counters, `promtool check metrics` clean except what docs/operations.md lists, and the
self-watch gauges the opsmon-collector alerts read (store healthy, SLA refreshed)."""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.peers import missing_peer
from tests.peers.browser import shot, start_browser
from tests.peers.collector import wait_for

# promtool's findings that docs/operations.md ("Metric conventions") lists with its reason: none today.
ALLOWED_PROMTOOL: set[str] = set()


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append(value)


def _sample(text: str, name: str) -> float:
    found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    assert found, name
    return float(found.group(1))


def test_docs_and_metrics_of_a_real_collector(collector_factory, tcp_listener: int) -> None:  # noqa: ANN001
    promtool = shutil.which("promtool")
    if promtool is None:
        missing_peer("promtool is not installed (Debian package prometheus)")
    c = collector_factory(f"""
assets:
  - {{id: db, category: server, site: urumqi, address: 127.0.0.1, checks: [{{type: tcp, port: {tcp_listener}}}]}}
""", extra="api:\n  public_read: true\nsla:\n  refresh: 1s\n")
    started = time.time()
    c.start()

    # /docs: every script, stylesheet and icon it names is a path on the collector itself, and served there.
    page = c.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, no outside icon
    parser = _Refs()
    parser.feed(page.text)
    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    assert len(parser.refs) == 3, parser.refs  # the stylesheet, the icon, the script
    for ref in parser.refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        got = c.get(ref)
        assert got.status_code == 200 and len(got.content) > 500, ref
        suffix = Path(ref.split("?")[0]).suffix
        assert kinds[suffix] in got.headers["content-type"], (ref, got.headers["content-type"])
    assert "SwaggerUIBundle" in c.get(next(r for r in parser.refs if ".js" in r)).text
    assert c.get("/openapi.json").json()["openapi"].startswith("3.1")  # what Swagger UI 5 renders
    # and a real Chromium renders the operations from it, having loaded nothing from anywhere else
    driver = start_browser()
    try:
        driver.get(c.base + "/docs")
        wait_for(lambda: driver.execute_script("return document.querySelectorAll('.opblock').length") > 10, 20,
                 "Swagger UI to render the API's operations")
        assert "Unable to render" not in driver.page_source
        loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(url.startswith(c.base + "/") for url in loaded), loaded
        shot(driver, "api-docs")
    finally:
        driver.quit()

    # The SLA worker refreshes (every second here): its gauge moves on.
    first = _sample(c.get("/metrics").text, "opsmon_sla_last_refresh_timestamp_seconds")
    assert started - 5 <= first <= time.time()
    wait_for(lambda: _sample(c.get("/metrics").text, "opsmon_sla_last_refresh_timestamp_seconds") > first, 30,
             "the SLA worker's first refresh")

    # gzip when the scraper accepts it (Prometheus sends Accept-Encoding: gzip), plain otherwise
    raw = httpx.get(c.base + "/metrics", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert raw.headers["content-encoding"] == "gzip"
    plain = httpx.get(c.base + "/metrics", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "content-encoding" not in plain.headers
    body = plain.text
    assert raw.num_bytes_downloaded < len(raw.content)  # what crossed the wire is smaller than the text
    c.stop()

    assert re.search(r'^opsmon_build_info\{python_version="3\.\d+\.\d+",version="0\.1\.0"\} 1\.0$', body, re.M)
    assert "_created" not in body
    assert _sample(body, "opsmon_store_healthy") == 1.0
    assert _sample(body, "opsmon_store_write_failures_total") == 0.0
    assert _sample(body, "opsmon_sla_refresh_failures_total") == 0.0
    # every counter is typed counter and named _total; nothing else is named _total
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", body, re.M))
    for name, kind in types.items():
        assert (kind == "counter") == name.endswith("_total"), (name, kind)

    out = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    findings = {line.strip() for line in (out.stdout + out.stderr).splitlines() if line.strip()}
    assert findings <= ALLOWED_PROMTOOL, findings
    assert out.returncode == 0 or findings, out
    documented = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert all(f.split(" ")[0] in documented for f in ALLOWED_PROMTOOL)
