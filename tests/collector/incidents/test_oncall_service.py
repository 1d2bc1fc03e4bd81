"""On call run from the API and CLI, and accountable acknowledge links (issue 18 items 5 and 7), in a real
`opsmon serve` with a recording webhook (a group channel) and a real SMTP sink, all on loopback.

One collector start carries every check (collector starts are what costs here). Checks run every 1 s,
two failures confirm a fault, the tick is 0.2 s; repeat_every is 2 s and links live 15 s.
"""
from __future__ import annotations

import email
import json
import re
import signal
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.collector.outputs.test_console_browser import PASSWORD, browser_login, fits
from tests.conftest import closed_port
from tests.peers.browser import click_and_wait, set_width, shot
from tests.peers.collector import wait_for
from tests.peers.smtp import SmtpServer

UA = {"User-Agent": "oncall-test/1.0"}
SH = ZoneInfo("Asia/Shanghai")


def text(raw: bytes) -> str:
    """Every text part of a mail, decoded (notices are Chinese then English, one part each)."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    return "\n".join(part.get_content() for part in msg.walk() if part.get_content_type() == "text/plain")


def oncall_yaml(start: datetime, first: str = "li.wei", extra: str = "") -> str:
    second = "wang.fang" if first == "li.wei" else "li.wei"
    return (f"people:\n  li.wei: {{name: 李伟, email: li@example.org}}\n"
            f"  wang.fang: {{name: 王芳, email: wang@example.org}}\n{extra}"
            f"schedules:\n  ops:\n    rotation: {{people: [{first}, {second}], shift: 1d, "
            f"start: '{start.isoformat()}'}}\n"
            "policies:\n  default:\n    repeat_every: 2s\n    levels:\n"
            "      - {after: 0s, notify: [schedule:ops], channels: [hook, mail]}\n"
            "routes:\n  - {policy: default}\n")


def console_people(c: Any) -> None:
    """Console accounts in the collector's store (in process, as the console's own tests make them): ops
    (operator, Chinese), ops2 (operator, English kept on the account), guest (viewer)."""
    from opsmon.collector.store import open_store, users

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    for name, role in (("ops", "operator"), ("ops2", "operator"), ("guest", "viewer")):
        users.add(store, name, role, PASSWORD, "test", datetime.now(UTC))
    users.set_lang(store, "ops2", "en", "test", datetime.now(UTC))
    store.close()


def test_oncall_and_links_in_a_running_collector(collector_factory, recorder, tmp_path, browser) -> None:
    rec = recorder(default=(200, {"ok": True}))
    smtp = SmtpServer(None).start()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # li.wei's turn: until start + 1 day
    (tmp_path / "oncall.yaml").write_text(oncall_yaml(start))
    c = collector_factory(f"""
assets:
  - {{id: db, name: 数据库服务器, category: server, criticality: high, address: 127.0.0.1,
     checks: [{{type: tcp, port: {closed_port()}}}]}}
  - {{id: web, name: 门户网站, category: system, criticality: high, address: 127.0.0.1,
     checks: [{{type: tcp, port: {closed_port()}}}]}}
""", extra=("api:\n  public_read: true\n"
            f"incidents:\n  oncall_file: oncall.yaml\n  link_key_file: {tmp_path / 'ack.key'}\n  link_ttl: 40s\n"
            f"notify:\n  channels:\n    hook: {{type: webhook, url: '{rec.url}/opsmon', secret: s3cret-hook}}\n"
            f"    mail: {{type: email, host: 127.0.0.1, port: {smtp.port}, security: none, "
            "sender: opsmon@example.org}\n"))
    try:
        c.start()
        boss = c.cli("tokens", "create", "boss", "--role", "operator").stdout.strip()
        viewer = c.cli("tokens", "create", "guest", "--role", "viewer").stdout.strip()
        auth = {"Authorization": f"Bearer {boss}"}
        hooks = lambda: [json.loads(r.body) for r in rec.requests]  # noqa: E731

        # -- who is on call now and next: li.wei until start + 1 day, then wang.fang ------------------
        doc = c.get("/api/v1/oncall").json()
        assert doc["shifts"] == [{"schedule": "ops", "person": "li.wei", "name": "李伟",
                                  "until": (start + timedelta(days=1)).astimezone(SH).isoformat(),
                                  "next_person": "wang.fang", "next_name": "王芳"}]
        assert doc["file_errors"] == [] and doc["overrides"] == []
        now = c.cli("oncall", "now").stdout
        assert "li.wei" in now and "李伟" in now and f"{(start + timedelta(days=1)).astimezone(SH):%Y-%m-%d %H:%M%z}" \
            .replace("+0800", "+08:00") in now
        assert "wang.fang" in c.cli("oncall", "next").stdout

        # -- both incidents page li.wei; the pages repeat every 2 s while unacknowledged --------------
        opened = wait_for(lambda: (lambda o: o if len(o) == 2 else None)(
            [n for n in hooks() if n["event"] == "opened"]), 20, "both incidents opened")
        by_asset = {n["asset_id"]: n for n in opened}
        db_id, web_id = by_asset["db"]["incident_id"], by_asset["web"]["incident_id"]
        assert all([p["name"] for p in n["recipients"]] == ["李伟"] for n in opened)
        first_link = by_asset["db"]["ack_url"].split("127.0.0.1:8470", 1)[1]

        def pages(inc_id: str) -> list[dict[str, Any]]:
            trail = c.get(f"/api/v1/incidents/{inc_id}").json()["trail"]
            return [e for e in trail if e["action"] in ("escalated", "repeated")]

        wait_for(lambda: len(pages(db_id)) >= 4, 20, "three repeats of db's page")
        times = [datetime.fromisoformat(e["ts"]) for e in pages(db_id)]
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
        # never sooner than repeat_every (2 s); later by at most the 0.2 s tick plus the load of a busy machine
        assert all(2.0 <= g < 3.0 for g in gaps), gaps
        assert [e["detail"]["to"] for e in pages(db_id)[:4]] == [["li.wei"]] * 4

        # -- an override without restart: wang.fang covers ops from now; handoff notice to wang.fang -
        bad = httpx.post(f"{c.base}/api/v1/oncall/overrides", headers=auth,
                         json={"schedule": "ops", "person": "nobody", "start": start.isoformat(),
                               "end": (start + timedelta(hours=3)).isoformat()})
        assert bad.status_code == 422 and "'nobody' is not under people" in bad.text, bad.text
        assert httpx.post(f"{c.base}/api/v1/oncall/overrides", json={}, headers={
            "Authorization": f"Bearer {viewer}"}).status_code == 403
        added = httpx.post(f"{c.base}/api/v1/oncall/overrides", headers=auth,
                           json={"schedule": "ops", "person": "wang.fang", "start": start.isoformat(),
                                 "end": (start + timedelta(hours=3)).isoformat(), "reason": "swap"})
        assert added.status_code == 201, added.text
        override_id = added.json()["id"]
        shift = c.get("/api/v1/oncall").json()["shifts"][0]
        assert (shift["person"], shift["next_person"]) == ("wang.fang", "li.wei")
        assert shift["until"] == (start + timedelta(hours=3)).astimezone(SH).isoformat()
        handoff = wait_for(lambda: next((n for n in hooks() if n["event"] == "handoff"), None), 10, "handoff")
        assert [p["name"] for p in handoff["recipients"]] == ["王芳"] and handoff["attached"] == 2
        assert "You are now on call (ops); 2 open incidents" in handoff["text"]["en"]
        assert "您现在值班（排班 ops）；未关闭事件 2 个" in handoff["text"]["zh"]

        # -- the console's on-call page (issue 24), the API's document: wang.fang now (the override) until
        # start + 3 h, li.wei next; the override listed; the policy: level 0 s to schedule:ops on hook and mail,
        # repeated every 2 s. ops (zh, 1280 px) adds an override and removes it (audited ui:ops); ops2 sees it
        # in English at 375 px; the viewer sees no form and is refused when posting.
        console_people(c)
        set_width(browser, 1280)
        browser_login(browser, c, "ops")
        browser.get(c.base + "/ui/oncall")
        assert browser.find_element("css selector", "#shift-ops .now").text == "王芳"
        assert browser.find_element("css selector", "#shift-ops .next").text == "李伟"
        assert browser.find_element("css selector", "#shift-ops .until").text == (
            f"{(start + timedelta(hours=3)).astimezone(SH):%Y-%m-%d %H:%M:%S}")
        assert "swap" in browser.find_element("id", f"override-{override_id}").text
        assert browser.find_element("css selector", "#policy-default .levels li").text == (
            "开单后 0: schedule:ops · hook, mail")
        assert "2s" in browser.find_element("id", "policy-default").text
        shot(browser, "oncall-1280-zh")
        browser.find_element("css selector", "#o-person option[value='li.wei']").click()
        browser.find_element("id", "o-reason").send_keys("<b>病假</b>")
        click_and_wait(browser, browser.find_element("id", "o-add"), "done", 10, "the override added")
        added_ui = next(o for o in c.get("/api/v1/oncall").json()["overrides"] if o["reason"] == "<b>病假</b>")
        assert (added_ui["person"], added_ui["schedule"]) == ("li.wei", "ops")
        assert c.get("/api/v1/oncall").json()["shifts"][0]["person"] == "li.wei"  # the newest override covers
        click_and_wait(browser, browser.find_element("id", f"remove-{added_ui['id']}"), "done", 10,
                       "the override removed")
        assert browser.find_element("css selector", "#shift-ops .now").text == "王芳"
        set_width(browser, 375)
        browser_login(browser, c, "ops2")
        browser.get(c.base + "/ui/oncall")
        assert browser.find_element("css selector", "#shifts th:nth-child(2)").text == "On call now"
        assert browser.find_element("css selector", "#policy-default .levels li").text == (
            "after opening 0: schedule:ops · hook, mail")
        assert fits(browser)
        shot(browser, "oncall-375-en")
        browser_login(browser, c, "guest")
        browser.get(c.base + "/ui/oncall")
        assert browser.find_elements("id", "add-override") == [] and browser.find_elements(
            "id", f"remove-{override_id}") == []
        shot(browser, "oncall-viewer-375-zh")
        guest = httpx.Client(base_url=c.base, timeout=10)
        guest.get("/ui/login")
        guest.post("/ui/login", data={"csrf": guest.cookies.get("opsmon_pre", ""), "name": "guest",
                                      "password": PASSWORD, "next": "/ui/"})
        csrf = re.search(r'name="csrf" value="([^"]+)"', guest.get("/ui/oncall").text).group(1)
        refused_ui = guest.post(f"/ui/oncall/overrides/{override_id}/remove", data={"csrf": csrf})
        assert refused_ui.status_code == 403 and "此操作需要 operator 角色" in refused_ui.text

        # -- the follow-up after the handoff goes to those paged (li.wei first), not only wang.fang --
        wait_for(lambda: any(e["detail"]["to"] == ["wang.fang"] for e in pages(web_id)), 10, "a repeat to wang")
        # acknowledged on web's group link (the latest page's) by logging in: a viewer's token is refused
        web_link = [n for n in hooks() if n["incident_id"] == web_id and n["ack_url"]][-1]["ack_url"]
        web_link = c.base + web_link.split("127.0.0.1:8470", 1)[1]
        refused = httpx.post(web_link, data={"action": "token", "token": viewer}, headers=UA)
        assert refused.status_code == 403 and "operator role" in refused.text
        by_token = httpx.post(web_link, data={"action": "token", "token": boss}, headers=UA)
        assert by_token.status_code == 200 and "Acknowledged by boss" in by_token.text, by_token.text
        assert c.get(f"/api/v1/incidents/{web_id}").json()["acknowledged_by"] == "boss"
        told = wait_for(lambda: next((n for n in hooks() if n["event"] == "acknowledged"
                                      and n["incident_id"] == web_id), None), 10, "the acknowledged notice")
        assert [p["name"] for p in told["recipients"]] == ["李伟", "王芳"]  # before: 王芳 alone

        # -- reassign (CLI) and take over (API): the new owner told; audited ---------------------------
        out = c.cli("incidents", "reassign", web_id, "--to", "li.wei", "--token", boss, "--url", c.base)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"{web_id}: acknowledged, given to li.wei (told)"
        wrong = c.cli("incidents", "reassign", web_id, "--to", "zhang", "--token", boss, "--url", c.base)
        assert wrong.returncode == 2 and "'zhang' is not a person of the on-call roster" in wrong.stderr
        moved = wait_for(lambda: next((n for n in hooks() if n["event"] == "reassigned"), None), 10, "reassigned")
        assert [p["name"] for p in moved["recipients"]] == ["李伟"]
        taken = httpx.post(f"{c.base}/api/v1/incidents/{web_id}/takeover", json={}, headers=auth)
        assert taken.status_code == 200 and taken.json()["trail"][-1]["action"] == "taken_over"

        # -- the override removed by the CLI, taken up at SIGHUP (not waiting for the 10 s reload) -----
        assert c.cli("oncall", "unoverride", str(override_id)).returncode == 0
        c.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: c.get("/api/v1/oncall").json()["shifts"][0]["person"] == "li.wei", 5, "override gone")
        audit = c.cli("audit").stdout
        assert f"api:boss oncall.override_add ops#{override_id}" in audit
        assert re.search(rf"cli:\S+ oncall.override_remove ops#{override_id}", audit)
        assert f"boss incident.reassigned {web_id}" in audit and f"boss incident.taken_over {web_id}" in audit

        # -- a bad oncall.yaml at SIGHUP keeps the schedule in force and reports every problem ---------
        good = (tmp_path / "oncall.yaml").read_text()
        (tmp_path / "oncall.yaml").write_text(good.replace("shift: 1d", "shift: -1d").replace(
            "  wang.fang: {name: 王芳,", "  wang.fang: {nmae: 王芳,"))
        c.proc.send_signal(signal.SIGHUP)
        errors = wait_for(lambda: c.get("/api/v1/oncall").json()["file_errors"], 5, "the refused file's errors")
        oncall_file = str(tmp_path / "oncall.yaml")
        assert errors == [  # every problem, each with file:line, key and reason (line 3 wang.fang, 6 rotation)
            f"{oncall_file}:3: people.wang.fang.name: required key is missing",
            f"{oncall_file}:3: people.wang.fang.nmae: unknown key",
            f"{oncall_file}:6: schedules.ops.rotation.shift: '-1d' is not a duration; use forms like 30s, 5m, "
            "1h30m, 7d"], errors
        assert c.get("/api/v1/oncall").json()["shifts"][0]["person"] == "li.wei"  # the old schedule holds
        assert "oncall file refused" in c.log()
        (tmp_path / "oncall.yaml").write_text(oncall_yaml(start, first="wang.fang"))
        c.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: c.get("/api/v1/oncall").json()["shifts"][0]["person"] == "wang.fang", 5, "new file")
        assert c.get("/api/v1/oncall").json()["file_errors"] == []

        # -- links: the mail to li.wei alone carries his one-click link; the webhook's asks who --------
        # db's own (its thread header): web's reassignment, mailed to li.wei too, may come last (a race seen once)
        to_li = [raw for _f, to, raw in smtp.mailbox.messages if to == ["li@example.org"] and "/ack/" in text(raw)
                 and f"<incident-{db_id}@".encode() in raw]
        assert to_li
        personal = re.search(r"/ack/\S+", text(to_li[-1])).group(0)
        assert personal != first_link
        own = httpx.get(c.base + personal, headers=UA)  # his own: one click, as him (not pressed here)
        assert "Acknowledging as: <b>li.wei</b>" in own.text and "<button" in own.text and "<select" not in own.text
        # in the console's layout (its style sheet, no login asked), leading to the incident's console page
        for width in (375, 1280):
            set_width(browser, width)
            browser.delete_all_cookies()
            browser.get(c.base + personal)
            assert browser.find_element("id", "ack").text == "确认 / Acknowledge"
            assert browser.find_element("id", "in-console").get_attribute("href") == f"{c.base}/ui/incidents/{db_id}"
            assert browser.execute_script("return document.styleSheets[0].href").endswith("/ui/static/console.css")
            assert fits(browser)
            shot(browser, f"ack-link-{width}")
        latest = [n for n in hooks() if n["incident_id"] == db_id and n["ack_url"]][-1]
        group = latest["ack_url"].split("127.0.0.1:8470", 1)[1]
        page = httpx.get(c.base + group, headers=UA)
        assert page.status_code == 200 and "say who is acknowledging" in page.text and "<select" in page.text
        assert "数据库服务器 (db)" in page.text and "(Asia/Shanghai)" in page.text
        assert "<option value='li.wei'>李伟 (li.wei)</option>" in page.text
        assert httpx.post(c.base + group[:-3] + "AAA", headers=UA).status_code == 403  # forged
        wrong_code = httpx.post(c.base + group, data={"action": "confirm", "person": "li.wei", "code": "000000"},
                                headers=UA)
        assert wrong_code.status_code == 403 and "wrong or expired code" in wrong_code.text
        before = len(smtp.mailbox.messages)
        asked = httpx.post(c.base + group, data={"action": "code", "person": "li.wei"}, headers=UA)
        assert asked.status_code == 200 and "a code was sent to 李伟" in asked.text
        code_mail = wait_for(lambda: next((m for m in smtp.mailbox.messages[before:]
                                           if "Code to acknowledge" in text(m[2])), None), 10, "the code mail")
        assert code_mail[1] == ["li@example.org"]  # to that person alone
        code = re.search(r"Code to acknowledge \S+: (\d{6})", text(code_mail[2])).group(1)
        assert f"的验证码：{code}（10 分钟内有效）" in text(code_mail[2])
        done = httpx.post(c.base + group, data={"action": "confirm", "person": "li.wei", "code": code}, headers=UA)
        assert done.status_code == 200 and "Acknowledged by li.wei" in done.text, done.text
        inc = c.get(f"/api/v1/incidents/{db_id}").json()
        assert inc["acknowledged_by"] == "link:li.wei"
        ack_row = next(e for e in inc["trail"] if e["action"] == "acknowledged")["detail"]
        assert (ack_row["source"], ack_row["user_agent"]) == ("127.0.0.1", "oncall-test/1.0")
        assert ack_row["via"] == "group link, code sent to the person"
        used = httpx.get(c.base + group, headers=UA)
        assert used.status_code == 409 and "This link was used by link:li.wei at" in used.text
        assert "(Asia/Shanghai)" in used.text and "<button" not in used.text

        # -- reassign in one tap on the console's incident page: db given to wang.fang by ops (audited) ------
        set_width(browser, 375)
        browser_login(browser, c, "ops")
        browser.get(f"{c.base}/ui/incidents/{db_id}")
        browser.find_element("css selector", "#to option[value='wang.fang']").click()
        click_and_wait(browser, browser.find_element("id", "reassign"), "done", 10, "reassigned")
        assert browser.find_element("id", "done").text == "已转派。"
        assert "ui:ops" in [a.text for a in browser.find_elements("css selector", "#trail .actor")]
        assert fits(browser)
        shot(browser, "reassigned-375-zh")
        assert "ui:ops incident.reassigned " + db_id in c.cli("audit").stdout

        # -- expired: the first link, once 40 s old (long enough for the steps above on a loaded machine) --
        expired = wait_for(lambda: (lambda r: r if r.status_code != 200 else None)(
            httpx.get(c.base + first_link, headers=UA)), 45, "the first link to expire")
        assert expired.status_code == 410 and "this link has expired" in expired.text
        audit = c.cli("audit").stdout
        for reason in ("forged", "expired", "bad_code", "bad_login", "used"):
            assert f"link ack_link.{reason}" in audit, reason
        metrics = c.get("/metrics").text
        for reason, n in (("forged", 1), ("expired", 1), ("bad_code", 1), ("bad_login", 1), ("used", 1),
                          ("unknown", 0)):
            assert f'opsmon_ack_link_refusals_total{{reason="{reason}"}} {n}.0' in metrics, reason
        assert "s3cret-hook" not in c.log() and boss not in c.log()
    finally:
        smtp.stop()
