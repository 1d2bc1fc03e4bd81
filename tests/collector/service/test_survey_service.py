"""The satisfaction survey end to end, in one real `opsmon serve` with a real SMTP server (STARTTLS, its own
certificate): the quarterly send at start, answers over HTTP on the signed links (forged, expired, unknown
and replayed links refused and audited; a second answer of the period refused), and the figure of
`opsmon sla` / `opsmon survey results` / the API computed by hand, "no data" for a quarter nobody answered.

Figure by hand: 9 contacts in 3 departments get the survey of the quarter that last ended (Q). 7 answer:
5 满意, 1 基本满意, 1 不满意 -> (5 + 1) / 7 = 0.857142... = 85.714%, n = 7/9, below 95 %: fail.
The quarter before Q (P), sent with `opsmon survey send --period P`: 9 mailed, nobody answers -> no data, n = 0/9.
After an incident of srv-9 is resolved now (in the current quarter C), the office's 2 contacts are asked about
it; 1 answers 不满意 -> C: 0 / 1 = 0 %, n = 1/2 (Q and P unchanged: the incident is filed in C).
"""
from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from opsmon.collector.core.signing import Signer, load_key
from opsmon.collector.sla.periods import containing, last_complete, previous
from tests.peers.collector import wait_for
from tests.peers.smtp import SmtpServer, self_signed

TZ = "Asia/Shanghai"
DEPARTMENTS = {"monitoring": ("监测处", 4), "law": ("执法局", 3), "office": ("办公室", 2)}  # 4 + 3 + 2 = 9


def survey_section(port: int, cert: Path, key_file: Path) -> str:
    lines = ["notify:", "  channels:", "    mail:", "      type: email", "      host: 127.0.0.1",
             f"      port: {port}", f"      ca_file: {cert}", "      sender: opsmon@it.example.gov.cn",
             "      to: [noc@it.example.gov.cn]",
             "incidents:", f"  link_key_file: {key_file}", "survey:", "  channel: mail", "  departments:"]
    for dept, (name, count) in DEPARTMENTS.items():
        lines += [f"    {dept}:", f"      name_zh: {name}", "      contacts:"]
        if dept == "office":  # the office is also asked after each resolved incident of srv-9
            lines.insert(-1, "      after_incidents: {assets: [srv-9]}")
        lines += [f"        - {{name: {dept} {i}, email: {dept}{i}@env.example.gov.cn}}" for i in range(count)]
    return "\n".join(lines) + "\n"


def links_of(messages: list[tuple[str, list[str], bytes]], base: str) -> dict[str, str]:
    """recipient -> the token of their survey link; each mail is to its contact alone, Chinese part first."""
    out = {}
    for _, rcpt, raw in messages:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = [(p["Content-Language"], p.get_content()) for p in msg.iter_parts()]
        assert [lang for lang, _ in parts] == ["zh-CN", "en"] and "满意度调查" in str(msg["Subject"])
        [token] = re.findall(re.escape(base) + r"/survey/([A-Za-z0-9_\-.]+)", parts[0][1])
        assert len(rcpt) == 1 and rcpt[0] not in out and "noc@" not in rcpt[0]
        out[rcpt[0]] = token
    return out


def test_quarterly_survey_answers_and_figure(collector_factory, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = SmtpServer((cert, key)).start()
    key_file = tmp_path / "link.key"
    try:
        c = collector_factory("assets: []\n", extra=survey_section(server.port, cert, key_file))
        c.start()
        q = last_complete("quarter", datetime.now(UTC), TZ)
        wait_for(lambda: len(server.mailbox.messages) >= 9, 30, "the quarter's 9 survey mails")
        public = "http://127.0.0.1:8470"  # incidents.public_url's default: the link's base in the mail
        tokens = links_of(server.mailbox.messages, public)
        assert len(tokens) == 9

        def post(token: str, **form: str) -> httpx.Response:
            return httpx.post(f"{c.base}/survey/{token}", data=form, timeout=10)

        # the page: zh first, phone-sized, self-contained
        page = httpx.get(f"{c.base}/survey/{tokens['law0@env.example.gov.cn']}", timeout=10)
        assert page.status_code == 200 and "width=device-width" in page.text
        assert page.text.index("满意度调查") < page.text.index("Satisfaction survey") and q.label in page.text
        assert "执法局" in page.text and not re.search(r"<script|src=|href=|url\(", page.text)
        # a score not offered: asked again (422), nothing stored
        assert post(tokens["law0@env.example.gov.cn"], score="excellent").status_code == 422

        answers = {"monitoring0": "satisfied", "monitoring1": "satisfied", "monitoring2": "satisfied",
                   "law0": "satisfied", "law1": "satisfied", "office0": "fair", "office1": "dissatisfied"}
        for who, score in answers.items():
            r = post(tokens[f"{who}@env.example.gov.cn"], score=score, comment="巡检及时" if who == "law0" else "")
            assert r.status_code == 200 and "感谢" in r.text, r.text

        # replayed link (a second answer of the period): refused, and the first answer stays
        replay = post(tokens["office1@env.example.gov.cn"], score="satisfied")
        assert replay.status_code == 409 and "本期已提交" in replay.text
        # forged: one character of the MAC changed
        good = tokens["monitoring3@env.example.gov.cn"]
        forged = good[:-1] + ("A" if good[-1] != "A" else "B")
        assert post(forged, score="satisfied").status_code == 403
        # expired: sealed with the collector's own key, for a real invitation, a second before now
        signer = Signer(load_key(key_file), purpose="survey")
        (nonce,), _ = signer.open(good, datetime.now(UTC), 1)
        expired = signer.seal((nonce,), datetime.now(UTC) - timedelta(seconds=1))
        assert post(expired, score="satisfied").status_code == 410
        # signed right but never sent by this collector
        assert post(signer.seal(("f" * 32,), datetime.now(UTC) + timedelta(days=1)),
                    score="satisfied").status_code == 404
        # an acknowledge-link token (no purpose) does not open the survey's page
        ack_token = Signer(load_key(key_file), expiry_at=2).seal(("INC-1", "x", nonce),
                                                                 datetime.now(UTC) + timedelta(days=1))
        assert httpx.get(f"{c.base}/survey/{ack_token}", timeout=10).status_code == 403

        # the figure, by hand above: 6/7 with n = 7/9 (API and CLI; the CLI's table is `opsmon sla`'s cell)
        operator = c.cli("tokens", "create", "wang.fang", "--role", "operator").stdout.strip()

        def satisfaction(label: str) -> dict:
            [t] = [t for t in c.get(f"/api/v1/sla?period={label}", operator).json()["targets"]
                   if t["id"] == "satisfaction"]
            return t

        t = satisfaction(q.label)
        assert abs(t["value"] - 6 / 7) < 1e-12 and (t["status"], t["pass"]) == ("fail", False)
        assert t["detail"] == {"sent": 9, "answered": 7, "satisfied": 5, "fair": 1, "dissatisfied": 1}
        results = c.cli("survey", "results", "--period", q.label)
        # Chinese unless told otherwise (collector.yaml's lang: defaults to zh, issue 21 item 6)
        assert "85.714% (n=7/9)" in results.stdout and "未达标" in results.stdout, results.stderr
        api = c.get(f"/api/v1/surveys?period={q.label}", operator).json()
        assert api["targets"] == [t] and len(api["contacts"]) == 9
        assert {r["email"]: r["score"] for r in api["contacts"]}["office1@env.example.gov.cn"] == "dissatisfied"
        assert c.get(f"/api/v1/surveys?period={q.label}").status_code == 401  # personal data: a token

        # sending Q again asks nobody twice; the quarter before (P): 9 mailed, nobody answers -> no data, n = 0/9
        again = c.cli("survey", "send")  # default: the quarter that last ended, Q
        assert again.returncode == 0 and f"{q.label}: sent 0, failed 0, already sent 9" in again.stdout, again.stderr
        p = previous(q)
        sent_p = c.cli("survey", "send", "--period", p.label)
        assert f"{p.label}: sent 9, failed 0, already sent 0" in sent_p.stdout, sent_p.stderr
        assert len(server.mailbox.messages) == 18
        tp = satisfaction(p.label)
        assert (tp["value"], tp["status"], tp["pass"]) == (None, "no_data", False)
        assert (tp["detail"]["sent"], tp["detail"]["answered"]) == (9, 0)

        # after a resolved incident of srv-9 (opened and resolved through Alertmanager's webhook)
        alert = {"status": "firing", "fingerprint": "f00d", "startsAt": "2026-11-29T01:00:00Z",
                 "labels": {"alertname": "HostDiskFull", "instance": "srv-9", "severity": "warning"}}
        hook = f"{c.base}/api/v1/alertmanager"
        auth = {"Authorization": f"Bearer {operator}"}
        [inc_id] = httpx.post(hook, json={"version": "4", "alerts": [alert]}, headers=auth).json()["incidents"]
        assert len(server.mailbox.messages) == 18  # opening asks nobody
        httpx.post(hook, json={"version": "4", "alerts": [{**alert, "status": "resolved"}]}, headers=auth)
        wait_for(lambda: len(server.mailbox.messages) >= 20, 20, "the office's 2 mails after the incident")
        after = links_of(server.mailbox.messages[18:], public)
        assert sorted(after) == ["office0@env.example.gov.cn", "office1@env.example.gov.cn"]
        assert post(after["office1@env.example.gov.cn"], score="dissatisfied").status_code == 200
        now_q = containing("quarter", datetime.now(UTC), TZ)  # the current quarter, C
        tc = satisfaction(now_q.label)
        assert (tc["value"], tc["detail"]["sent"], tc["detail"]["answered"]) == (0.0, 2, 1)
        assert satisfaction(q.label)["detail"]["answered"] == 7
        rows = c.get(f"/api/v1/surveys?period={now_q.label}", operator).json()["contacts"]
        assert {r["period"] for r in rows} == {inc_id}

        audit = c.get("/api/v1/audit?limit=1000", operator).json()
        actions = [e["action"] for e in audit]
        assert actions.count("survey.answer") == 8 and actions.count("survey.send") == 4
        refused = sorted((e["detail"]["status"], e["actor"]) for e in audit if e["action"] == "survey.refused")
        # forged, ack token, unknown, replayed (names the contact), expired
        assert refused == [(403, "survey:?"), (403, "survey:?"), (404, "survey:?"),
                           (409, "survey:office1@env.example.gov.cn"), (410, "survey:monitoring3@env.example.gov.cn")]
        assert good not in c.log()  # a link is a credential: never logged
    finally:
        server.stop()
