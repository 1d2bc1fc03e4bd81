"""The web console (/ui/) in a real headless Chromium against a real collector process (one start for the
module): log in, the target table, acknowledging an incident a real check opened, at 1280 px and 375 px,
in Chinese and English; and the security properties over plain HTTP (a viewer cannot act, CSRF, session
fixation, the lockout, HTML shown as text). Then the later pages: the assets, a maintenance window added
through the page changing the target table's figure, a report generated and downloaded, the audit log.
Screenshots go to build/ui-shots/.

The incidents: web1 and web2 have a TCP check to a closed loopback port, every 1 s, down after 2 failures
(`timeline.down_after`), so each has an open incident about 2-3 s after the start. web3 (site lab) checks a
port this module listens on, so it is up.
"""
from __future__ import annotations

import hashlib
import io
import re
import socket
import subprocess
import textwrap
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from opsmon.collector.config.load import load_config
from opsmon.collector.core.fields import parse_timestamp
from opsmon.collector.core.maintenance import unknown_text
from opsmon.collector.incidents.read import IncidentFilter, list_incidents, show_incident
from opsmon.collector.outputs.report.labels import TEXT
from opsmon.collector.sla.engine import measure
from opsmon.collector.sla.periods import containing
from opsmon.collector.sla.targets import load_targets
from opsmon.collector.store import audit, open_store, users
from tests.conftest import OPSMON, ROOT, closed_port, utc
from tests.peers.browser import click_and_wait, set_width, shot
from tests.peers.collector import Collector, wait_for

PASSWORD = "correct-horse-1"
EVIL = "<script>alert(1)</script>"
# lockout: 3 failures within 10 minutes
EXTRA = "console:\n  lockout_failures: 3\n  lockout_window: 10m\nreports:\n  folder: reports\nsla:\n  refresh: 1s\n"


def listening() -> int:
    """A loopback port that accepts (and closes) every connection, for web3's check, as long as the module runs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def serve() -> None:
        while True:
            conn, _ = server.accept()
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return int(server.getsockname()[1])


@dataclass
class Console:
    c: Collector
    incidents: dict[str, str]  # asset -> its open incident's id

    def store(self) -> Any:
        return open_store(f"sqlite:///{self.c.db}", migrate=False)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    assets = textwrap.dedent(f"""
        assets:
          - id: web1
            name: "{EVIL}"
            category: server
            site: hq
            checks: [{{type: tcp, host: 127.0.0.1, port: {closed_port()}}}]
          - id: web2
            name: 网站二
            category: server
            site: branch
            checks: [{{type: tcp, host: 127.0.0.1, port: {closed_port()}}}]
          - id: web3
            name: 网站三
            category: server
            site: lab
            checks: [{{type: tcp, host: 127.0.0.1, port: {listening()}}}]
    """)
    c = Collector(folder, assets, EXTRA)
    # The first account through the CLI as an administrator would make it; the others in process (cheaper).
    added = subprocess.run([*OPSMON, "--config", str(c.config), "users", "add", "ops", "--role", "operator",
                            "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT,
                           timeout=60)
    assert added.returncode == 0, added.stderr
    store = open_store(f"sqlite:///{c.db}")
    for name, role in (("ops2", "operator"), ("viewer", "viewer"), ("locky", "operator"), ("boss", "admin")):
        users.add(store, name, role, PASSWORD, "test", utc(2026, 1, 1))
    assert [(u.name, u.role) for u in users.list_users(store)] == [
        ("boss", "admin"), ("locky", "operator"), ("ops", "operator"), ("ops2", "operator"), ("viewer", "viewer")]
    store.close()
    c.start()
    try:
        def opened() -> dict[str, str] | None:
            s = open_store(f"sqlite:///{c.db}", migrate=False)
            try:
                found = {d["asset"]: d["id"] for d in list_incidents(s, IncidentFilter(status="open"))}
            finally:
                s.close()
            return found if set(found) == {"web1", "web2"} else None

        yield Console(c, wait_for(opened, 20, "both checks to open an incident"))
    finally:
        if c.proc is not None:
            c.stop()


def http_login(c: Collector, name: str, password: str = PASSWORD,
               client: httpx.Client | None = None) -> tuple[httpx.Client, httpx.Response]:
    """Log in as a browser does: the login page sets the pre-login CSRF cookie, the form echoes it."""
    client = client or httpx.Client(base_url=c.base, timeout=10)
    client.get("/ui/login")
    answer = client.post("/ui/login", data={"csrf": client.cookies.get("opsmon_pre", ""), "name": name,
                                            "password": password, "next": "/ui/"})
    return client, answer


def page_csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def browser_login(driver: Any, c: Collector, name: str) -> None:
    driver.delete_all_cookies()
    driver.get(c.base + "/ui/")  # no session: sent to the login page
    assert "/ui/login" in driver.current_url
    driver.find_element("id", "name").send_keys(name)
    driver.find_element("id", "password").send_keys(PASSWORD)
    driver.find_element("id", "login").click()
    wait_for(lambda: driver.current_url.endswith("/ui/") and driver.find_elements("id", "targets"), 10,
             "the target table after login")


def fits(driver: Any) -> bool:
    """Nothing wider than the viewport: no sideways scrolling."""
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(("width", "lang", "asset", "person"),
                         [(1280, "zh", "web1", "ops"), (375, "en", "web2", "ops2")])
def test_an_operator_sees_the_targets_and_acknowledges_a_real_incident(
        console: Console, browser: Any, width: int, lang: str, asset: str, person: str) -> None:
    c, driver = console.c, browser
    set_width(driver, width)
    assert driver.execute_script("return window.innerWidth") == width
    browser_login(driver, c, person)
    if lang == "en":  # Chinese first; the switch is kept on the account: still English after a new login
        driver.find_element("id", "lang-switch").click()
        wait_for(lambda: driver.execute_script("return document.documentElement.lang") == "en", 10, "English")
        driver.find_element("id", "logout").click()
        wait_for(lambda: "/ui/login" in driver.current_url, 10, "the login page after logout")
        browser_login(driver, c, person)
    assert driver.find_element("tag name", "html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")

    # The target table: the rows of this quarter's measurement (the engine `opsmon sla` and the API use), each
    # name as the target table has it, each verdict one of the SLA table's four words in this language.
    config = load_config(c.config)
    now = datetime.now(UTC)
    document = measure(console.store(), load_targets(config.targets_path()),
                       containing("quarter", now, config.timezone), now).as_document()
    rows = driver.find_elements("css selector", "#targets tbody tr")
    assert [r.get_attribute("id") for r in rows] == [f"target-{t['id']}" for t in document["targets"]]
    verdicts = {TEXT[lang][s] for s in ("pass", "fail", "low_coverage", "no_data")}
    for row, target in zip(rows, document["targets"], strict=True):
        cells = [td.text for td in row.find_elements("tag name", "td")]
        assert cells[0] == target[f"name_{lang}"]
        assert cells[3].split(" (")[0] in verdicts  # a response target may add "(pending N)" (fmt.status)
    figure = driver.find_element("css selector", "#targets th:nth-child(2)").text
    assert figure == ("实测值" if lang == "zh" else "Figure")
    shot(driver, f"targets-{width}-{lang}")

    # The incident list: both open incidents, the asset's name shown as text (web1's is HTML).
    driver.get(c.base + "/ui/incidents")
    incident = console.incidents[asset]
    row = driver.find_element("id", f"row-{incident}")
    assert row.find_element("css selector", ".asset").text == (EVIL if asset == "web1" else "网站二")
    assert row.find_element("css selector", ".badge").text == ("未响应" if lang == "zh" else "open")
    assert fits(driver)
    shot(driver, f"incidents-{width}-{lang}")

    # One incident: deadline in Asia/Shanghai (UTC+8), time left, and the acknowledge button on screen.
    row.find_element("tag name", "a").click()
    wait_for(lambda: driver.find_elements("id", "ack"), 10, "the incident's page")
    stored = show_incident(console.store(), incident)
    deadline = parse_timestamp(stored["deadline"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert driver.find_element("id", "deadline").text.startswith(f"{deadline:%Y-%m-%d %H:%M:%S}")
    assert driver.find_element("id", "time-left").text  # minutes left of the target table's deadline
    button = driver.find_element("id", "ack")
    assert driver.execute_script("const r = arguments[0].getBoundingClientRect(); return r.right <= innerWidth",
                                 button)
    assert fits(driver)
    shot(driver, f"incident-{width}-{lang}")
    driver.find_element("id", "note").send_keys("<i>on my way</i>")
    click_and_wait(driver, button, "done", 10, "the acknowledged page")
    assert driver.find_element("id", "done").text == ("已确认响应。" if lang == "zh" else "Acknowledged.")
    assert driver.find_element("id", "status").text == ("已响应" if lang == "zh" else "acknowledged")
    assert driver.find_element("id", "acknowledged-by").text.startswith(f"ui:{person} · ")
    assert driver.find_element("css selector", "#trail li:last-child q").text == "<i>on my way</i>"
    assert driver.find_elements("id", "ack") == []  # acknowledged: nothing left to acknowledge
    with pytest.raises(Exception, match="no such alert"):  # the asset's <script> never ran
        driver.switch_to.alert  # noqa: B018 - the property raises when there is no alert
    shot(driver, f"acknowledged-{width}-{lang}")
    stored = show_incident(console.store(), incident)
    assert (stored["status"], stored["acknowledged_by"]) == ("acknowledged", f"ui:{person}")
    entries = [(e.actor, e.action, e.target) for e in audit.read(console.store(), 200)]
    assert (f"ui:{person}", "incident.acknowledged", incident) in entries
    assert (f"ui:{person}", "console.login", person) in entries


def test_a_viewer_sees_no_buttons_and_is_refused_when_posting(console: Console, browser: Any) -> None:
    c, driver = console.c, browser
    set_width(driver, 375)
    browser_login(driver, c, "viewer")
    incident = console.incidents["web1"]
    driver.get(f"{c.base}/ui/incidents/{incident}")
    assert driver.find_elements("id", "act") == [] and driver.find_element("id", "viewer-note").text
    shot(driver, "viewer-375-zh")

    client, _ = http_login(c, "viewer")
    answer = client.post(f"/ui/incidents/{incident}/note",
                         data={"csrf": page_csrf(client, "/ui/"), "note": "viewer was here"})
    assert answer.status_code == 403
    assert "此操作需要 operator 角色；viewer 的角色是 viewer。" in answer.text
    assert all(e["detail"].get("note") != "viewer was here" for e in show_incident(console.store(), incident)["trail"])


def test_a_form_without_its_csrf_token_is_refused(console: Console) -> None:
    c = console.c
    client, _ = http_login(c, "ops")
    incident = console.incidents["web1"]
    reason = "表单缺少有效的 CSRF 令牌"
    for data in ({"note": "forged"}, {"note": "forged", "csrf": "x" * 43}):
        answer = client.post(f"/ui/incidents/{incident}/note", data=data)
        assert answer.status_code == 403 and reason in answer.text
    assert all(e["detail"].get("note") != "forged" for e in show_incident(console.store(), incident)["trail"])
    # the later forms too: a window, ending one, a report; refused before anything is read from them
    for path in ("/ui/maintenance", "/ui/maintenance/upgrade/end", "/ui/reports"):
        answer = client.post(path, data={"id": "forged", "scope": "assets", "names": "web1", "period": "2026Q3"})
        assert answer.status_code == 403 and reason in answer.text
    # the login form too: a cross-site login (into the attacker's account) needs the page's token
    fresh = httpx.Client(base_url=c.base, timeout=10)
    answer = fresh.post("/ui/login", data={"name": "ops", "password": PASSWORD})
    assert answer.status_code == 403 and reason in answer.text
    # the token of the session itself is accepted (the refusal above is the token's, not the form's)
    answer = client.post(f"/ui/incidents/{incident}/note", data={"note": "real", "csrf": page_csrf(client, "/ui/")})
    assert answer.status_code == 303


def test_a_login_never_keeps_a_session_id_it_was_offered(console: Console) -> None:
    c = console.c
    client = httpx.Client(base_url=c.base, timeout=10)
    client.cookies.set("opsmon_session", "planted-by-the-attacker", domain="127.0.0.1", path="/ui")
    client, answer = http_login(c, "ops", client=client)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    new = re.search(r"opsmon_session=([^;]+)", cookie)
    assert new is not None and new.group(1) != "planted-by-the-attacker"
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/ui"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain HTTP here
    root = httpx.get(c.base + "/")  # the collector's address opens the console
    assert (root.status_code, root.headers["location"]) == (303, "/ui/")
    planted = httpx.get(c.base + "/ui/", cookies={"opsmon_session": "planted-by-the-attacker"})
    assert planted.status_code == 303 and planted.headers["location"].startswith("/ui/login")
    assert client.get("/ui/").status_code == 200
    # logging out ends the session in the store, not only in the browser: its id opens nothing after
    assert client.post("/ui/logout", data={"csrf": page_csrf(client, "/ui/")}).status_code == 303
    assert httpx.get(c.base + "/ui/", cookies={"opsmon_session": new.group(1)}).status_code == 303
    # served over HTTPS (a proxy on loopback says so): the cookie is Secure
    proxied = httpx.Client(base_url=c.base, timeout=10, headers={"X-Forwarded-Proto": "https"})
    _, answer = http_login(c, "ops", client=proxied)
    assert "Secure" in answer.headers["set-cookie"]


def test_repeated_failures_lock_the_account(console: Console) -> None:
    """lockout_failures 3 in lockout_window 10m: three wrong passwords, then even the right one is refused
    (429) until the first failure is 10 minutes old; the page names that time in Asia/Shanghai (UTC+8)."""
    c = console.c
    client = httpx.Client(base_url=c.base, timeout=10)
    for _ in range(3):
        _, answer = http_login(c, "locky", "wrong-password", client)
        assert answer.status_code == 401 and "用户名或密码错误。" in answer.text
    _, answer = http_login(c, "locky", PASSWORD, client)
    assert answer.status_code == 429
    failed = [e.ts for e in audit.read(console.store(), 200)
              if (e.action, e.target) == ("console.login_failed", "locky")]
    assert len(failed) == 3
    until: datetime = min(failed) + timedelta(minutes=10)
    assert f"该账户已锁定至 {until.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M:%S}。" in answer.text
    assert "opsmon_session" not in answer.headers.get("set-cookie", "")


def servers_figure(console: Console) -> str:
    """servers_ok (scope: category server: web1, web2, web3) by hand from the stored intervals of this quarter:
    up seconds over up + down seconds (docs/sla.md), as the table writes a ratio (3 decimals of a per cent).
    Only closed intervals are summed: called once every asset is in an open maintenance interval."""
    config = load_config(console.c.config)
    quarter = containing("quarter", datetime.now(UTC), config.timezone)
    up = down = 0.0
    with console.store().session() as session:
        from sqlalchemy import select

        from opsmon.collector.store.models import StateInterval

        for r in session.scalars(select(StateInterval).where(StateInterval.asset_id.in_(["web1", "web2", "web3"]))):
            if r.end_ts is None:
                assert r.state == "maintenance"
                continue
            seconds = (min(r.end_ts, quarter.end) - max(r.start_ts, quarter.start)).total_seconds()
            up += seconds if r.state == "up" else 0.0
            down += seconds if r.state == "down" else 0.0
    assert up > 0 and down > 0  # web3 was up, web1 and web2 down, each for a few seconds
    return f"{up / (up + down) * 100:.3f}%"


def target_figure(driver: Any, c: Collector, target: str = "servers_ok") -> str:
    driver.get(c.base + "/ui/")
    return str(driver.find_element("css selector", f"#target-{target} td:nth-child(2)").text)


def test_a_window_added_through_the_page_changes_the_figure(console: Console, browser: Any) -> None:
    """An operator adds a window over the sites hq, branch and lab (every server) from now for two hours: a
    refused name first, in the API's words; then the three go to maintenance, nothing more is up or down, and
    servers_ok's figure freezes at the hand-computed up / (up + down) of the intervals before it, and the
    click-through shows each of the three with maintenance time. Then the window is ended early.

    Not asserted: that the figure differs from the one before the window. Up on web3 and down on web1 and web2
    grow together (the figure tends to 1/3), so over the few seconds between the two readings it moves by
    less than the 0.001 % the page shows, or not, by timing: a fresh-clone CI run read 33.350% both times."""
    c, driver = console.c, browser
    set_width(driver, 1280)
    browser_login(driver, c, "ops")
    assert target_figure(driver, c).endswith("%")
    driver.get(c.base + "/ui/maintenance")
    driver.find_element("id", "w-id").send_keys("upgrade")
    driver.find_element("css selector", "#w-scope option[value=sites]").click()
    driver.find_element("id", "w-names").send_keys("hq, nowhere")
    driver.find_element("id", "w-reason").send_keys("<b>机房</b> upgrade")
    driver.find_element("id", "w-add").click()
    wait_for(lambda: driver.find_elements("id", "window-error"), 10, "the refusal")
    assert driver.find_element("id", "window-error").text == unknown_text([("sites", 1, "nowhere")])
    shot(driver, "maintenance-refused-1280-zh")
    names = driver.find_element("id", "w-names")  # the form keeps what was typed
    assert names.get_attribute("value") == "hq, nowhere"
    names.clear()
    names.send_keys("hq, branch, lab")
    click_and_wait(driver, driver.find_element("id", "w-add"), "done", 10, "the window added")
    assert driver.find_element("css selector", "#window-upgrade q").text == "<b>机房</b> upgrade"

    def frozen() -> bool:
        from opsmon.collector.store.history import current_states

        states = current_states(console.store(), ["web1", "web2", "web3"])
        return {s.state for s in states.values()} == {"maintenance"}

    wait_for(frozen, 15, "web1, web2 and web3 in maintenance")
    # this quarter's table is the SLA worker's, measured every second here (sla.refresh: 1s)
    after = servers_figure(console)
    wait_for(lambda: target_figure(driver, c) == after, 10, f"servers_ok at {after}")
    time.sleep(1.1)  # a second later, nothing observed has changed: the figure is the same
    assert target_figure(driver, c) == after
    shot(driver, "targets-window-1280-zh")
    # the click-through: the assets behind the figure, each with its maintenance time
    driver.find_element("css selector", "#target-servers_ok a").click()
    # measured in the background: a page without its figures yet (or with the last ones) reloads itself
    wait_for(lambda: driver.find_elements("id", "behind-assets") and not driver.find_elements("id", "refreshing"),
             10, "the assets behind servers_ok")
    assert driver.find_element("id", "figure").text == after
    rows = driver.find_elements("css selector", "#behind-assets tbody tr")
    assert {r.get_attribute("id") for r in rows} == {"behind-web1", "behind-web2", "behind-web3"}
    assert driver.find_element("css selector", "#behind-web3 td:nth-child(2)").text == "100.000%"
    assert driver.find_element("css selector", "#behind-web1 td:nth-child(2)").text == "0.000%"
    # the window's time, as maintenance (the fifth column), on each: at least the 1.1 s slept above
    assert all(driver.find_element("css selector", f"#behind-web{i} td:nth-child(5)").text != "0秒" for i in (1, 2, 3))
    shot(driver, "target-servers_ok-1280-zh")

    # a viewer cannot add or end one: 403 naming the role
    viewer, _ = http_login(c, "viewer")
    token = page_csrf(viewer, "/ui/maintenance")
    for path in ("/ui/maintenance", "/ui/maintenance/upgrade/end"):
        answer = viewer.post(path, data={"csrf": token, "id": "sneaky", "scope": "assets", "names": "web1",
                                         "start": "2030-01-01T00:00:00", "end": "2030-01-01T01:00:00"})
        assert answer.status_code == 403 and "此操作需要 operator 角色" in answer.text
    # ended early by the operator
    driver.get(c.base + "/ui/maintenance")
    click_and_wait(driver, driver.find_element("id", "end-upgrade"), "done", 10, "the window ended")
    assert driver.find_elements("id", "window-upgrade") == []
    entries = [(e.actor, e.action, e.target) for e in audit.read(console.store(), 200)]
    assert ("ui:ops", "maintenance.add", "upgrade") in entries
    assert ("ui:ops", "maintenance.remove", "upgrade") in entries
    assert not any(t == "sneaky" for _, _, t in entries)


def test_an_outage_reclassified_as_planned_counts_once_another_person_approves(console: Console, browser: Any) -> None:
    """ops reclassifies web1's outage (its incident's span: from the fault to the moment the form was drawn) as
    planned, on a phone in Chinese: a pending exclusion marked planned, which changes no figure and which ops
    may not approve (four eyes). ops2 (English, kept on the account) approves it: servers_ok's exclusion
    seconds become the span less web1's maintenance seconds inside it (the window of the test above stays
    maintenance), computed by hand from the stored exclusion and intervals. A viewer cannot approve."""
    from sqlalchemy import select

    from opsmon.collector.store.exclusions import list_exclusions
    from opsmon.collector.store.models import StateInterval

    c, driver = console.c, browser
    config = load_config(c.config)
    table = load_targets(config.targets_path())

    def taken_out() -> float:
        now = datetime.now(UTC)
        result = measure(console.store(), table, containing("quarter", now, config.timezone), now)
        return float(result.target("servers_ok").availability.exclusion_seconds)

    set_width(driver, 375)
    browser_login(driver, c, "ops")
    incident = console.incidents["web1"]
    driver.get(f"{c.base}/ui/incidents/{incident}")
    driver.find_element("css selector", "#reclassify-box summary").click()
    driver.find_element("id", "r-reason").send_keys("<b>割接</b> agreed with the carrier")
    assert fits(driver)
    shot(driver, "reclassify-375-zh")
    click_and_wait(driver, driver.find_element("id", "r-submit"), "done", 10, "the maintenance page after the request")
    [doc] = [d for d in list_exclusions(console.store()) if d["asset"] == "web1"]
    assert (doc["planned"], doc["status"], doc["requested_by"]) == (True, "pending", "ui:ops")
    assert doc["reason"] == f"<b>割接</b> agreed with the carrier ({incident})"
    row = driver.find_element("id", f"exclusion-{doc['id']}")
    assert "计划停机" in row.text and "待批准" in row.text
    assert f"<b>割接</b> agreed with the carrier ({incident})" in row.text  # shown as text
    assert driver.find_elements("id", f"approve-{doc['id']}") == []  # not by the one who asked
    assert fits(driver)
    shot(driver, "exclusion-pending-375-zh")
    assert taken_out() == 0.0  # pending: no figure changes

    viewer, _ = http_login(c, "viewer")
    answer = viewer.post(f"/ui/exclusions/{doc['id']}/approve", data={"csrf": page_csrf(viewer, "/ui/maintenance")})
    assert answer.status_code == 403 and "此操作需要 operator 角色" in answer.text

    set_width(driver, 1280)
    browser_login(driver, c, "ops2")
    driver.get(c.base + "/ui/maintenance")
    click_and_wait(driver, driver.find_element("id", f"approve-{doc['id']}"), "done", 10, "approved")
    assert driver.find_element("id", "done").text == "Approved."
    assert "approved" in driver.find_element("id", f"exclusion-{doc['id']}").text
    shot(driver, "exclusion-approved-1280-en")
    start, end = parse_timestamp(str(doc["start"])), parse_timestamp(str(doc["end"]))

    def expected() -> float:
        """The span less web1's maintenance seconds inside it (they stay maintenance), as stored now."""
        maintenance = 0.0
        with console.store().session() as session:
            for r in session.scalars(select(StateInterval).where(StateInterval.asset_id == "web1",
                                                                 StateInterval.state == "maintenance")):
                stop = r.end_ts or datetime.now(UTC)
                maintenance += max(0.0, (min(stop, end) - max(r.start_ts, start)).total_seconds())
        return (end - start).total_seconds() - maintenance

    assert expected() > 0
    # The span less its maintenance, never more. On loaded machines the engine's figure came out 28 ms and 376 ms
    # short of this reading. The form's start (the fault's time) is now rounded up to the second, so the span
    # cannot begin before web1's life when it was rounded down; whether that was the whole cause is not proven
    # (in the run read, web1's fault came 7.6 s after its creation), so the lower bound stays within 1 s.
    taken, wanted = taken_out(), expected()
    assert wanted - 1.0 <= taken <= wanted + 0.002, (taken, wanted)
    entries = [(e.actor, e.action, e.target) for e in audit.read(console.store(), 200)]
    assert ("ui:ops", "exclusion.request", str(doc["id"])) in entries
    assert ("ui:ops2", "exclusion.approve", str(doc["id"])) in entries


def test_a_report_is_generated_and_downloaded(console: Console, browser: Any) -> None:
    """Generated on the page (this quarter, English), listed, and each file downloaded: the PDF starts with
    %PDF-, the XLSX is a zip holding xl/workbook.xml, the DOCX one holding word/document.xml, and each file's
    SHA-256 is the one listed."""
    c, driver = console.c, browser
    set_width(driver, 375)
    browser_login(driver, c, "ops2")
    driver.get(c.base + "/ui/reports")
    label = containing("quarter", datetime.now(UTC), "Asia/Shanghai").label
    field = driver.find_element("id", "r-period")
    field.clear()
    field.send_keys(label)
    driver.find_element("css selector", "#r-lang option[value=en]").click()
    click_and_wait(driver, driver.find_element("id", "r-generate"), "done", 60, "the report generated")
    assert fits(driver)
    shot(driver, "reports-375-zh")
    links = {a.get_attribute("class").split()[-1]: a.get_attribute("href")
             for a in driver.find_elements("css selector", "#reports a.download")}
    assert set(links) == {"pdf", "html", "xlsx", "docx"}  # docx: the copy to edit in WPS or Word (issue 21 item 9)
    client, _ = http_login(c, "viewer")  # a viewer may download
    for kind, href in links.items():
        answer = client.get(href.removeprefix(c.base))
        assert answer.status_code == 200
        assert answer.headers["x-opsmon-sha256"] == hashlib.sha256(answer.content).hexdigest()
        if kind == "pdf":
            assert answer.content.startswith(b"%PDF-") and answer.headers["content-type"] == "application/pdf"
        if kind == "xlsx":
            assert "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
        if kind == "docx":
            assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    refused = client.post("/ui/reports", data={"csrf": page_csrf(client, "/ui/reports"), "period": label})
    assert refused.status_code == 403
    assert any((e.actor, e.action, e.target) == ("ui:ops2", "report.generate", label)
               for e in audit.read(console.store(), 200))


@pytest.mark.parametrize("width", [1280, 375])
def test_the_assets_and_the_audit_log(console: Console, browser: Any, width: int) -> None:
    """The assets by site and category (web1's HTML name as text), web3's page with its state bar and check,
    and the audit log for the admin, searched by actor and action; refused to an operator."""
    c, driver = console.c, browser
    set_width(driver, width)
    browser_login(driver, c, "boss")
    driver.get(c.base + "/ui/assets")
    rows = driver.find_elements("css selector", "#assets tbody tr")
    # sorted by site: branch (web2), hq (web1), lab (web3)
    assert [r.get_attribute("id") for r in rows] == ["asset-web2", "asset-web1", "asset-web3"]
    assert driver.find_element("css selector", "#asset-web1 a").text == EVIL
    assert fits(driver)
    shot(driver, f"assets-{width}-zh")
    driver.find_element("css selector", "#asset-web3 a").click()
    wait_for(lambda: driver.find_elements("id", "statebar"), 10, "web3's page")
    states = {r.get_attribute("class") for r in driver.find_elements("css selector", "#statebar rect")}
    assert {"s-up", "s-maintenance"} <= states  # up, then the window of the test above
    assert driver.find_element("css selector", "#checks li strong").text == "tcp"
    assert fits(driver)
    shot(driver, f"asset-{width}-zh")
    for page, name in (("/ui/maintenance", "maintenance"), ("/ui/targets/servers_ok", "target-servers_ok"),
                       ("/ui/?period=2026-11", "targets-month")):
        driver.get(c.base + page)
        assert driver.find_elements("css selector", "main h1") and fits(driver)
        shot(driver, f"{name}-{width}-zh")
    assert driver.find_element("id", "period-label").text == "2026-11"
    driver.get(c.base + "/ui/audit?actor=ui:ops&action=maintenance")
    found = [(r.find_element("css selector", ".actor").text, r.find_element("css selector", ".action").text)
             for r in driver.find_elements("css selector", "#audit tbody tr")]
    assert found == [("ui:ops", "maintenance.remove"), ("ui:ops", "maintenance.add")]  # newest first
    # by what was changed: web1's incident, whoever acted (ops acknowledged it in the first test; the request
    # and the approval of its reclassification name the exclusion, not the incident)
    incident = console.incidents["web1"]
    driver.get(f"{c.base}/ui/audit?target={incident}")
    found = {(r.find_element("css selector", ".actor").text, r.find_element("css selector", ".action").text)
             for r in driver.find_elements("css selector", "#audit tbody tr")}
    assert ("ui:ops", "incident.acknowledged") in found
    assert all(r.find_element("css selector", ".target").text == incident
               for r in driver.find_elements("css selector", "#audit tbody tr"))
    assert fits(driver)
    shot(driver, f"audit-{width}-zh")
    client, _ = http_login(c, "ops")
    answer = client.get("/ui/audit")
    assert answer.status_code == 403 and "此操作需要 admin 角色" in answer.text
