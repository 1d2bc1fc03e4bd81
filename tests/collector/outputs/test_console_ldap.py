"""LDAP login to the web console (issue 24 item 2) against a real OpenLDAP (slapd) on loopback, through the
console's own login form (its CSRF token posted back), in one real `opsmon serve`.

The directory (tests/peers/slapd.py, suffix dc=opsmon,dc=test):
  uid=svc               the service account the collector searches with (its password in a file: a secret)
  uid=li.ops            member of cn=ops       -> mapped to operator
  uid=zhao.view         member of cn=viewers   -> mapped to viewer
  uid=wu.none           member of cn=printers  -> not mapped: no console role
Local accounts (made in the store): ops.local (operator) and zhao.view (admin, a password of its own): a local
account decides alone, so zhao.view's directory password does not open it.
Lockout: 3 failures of one name within 900 s lock it.
"""
from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from opsmon.collector.core.errors import InvalidInput
from tests.peers import missing_peer
from tests.peers.slapd import SUFFIX, Slapd, available

PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
LOCAL_PASSWORD = "local-password-1"
LDIF = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: opsmon
o: opsmon test

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

dn: {GROUPS}
objectClass: organizationalUnit
ou: groups

dn: uid=svc,{SUFFIX}
objectClass: inetOrgPerson
uid: svc
cn: opsmon service
sn: svc
userPassword: {{plain}}svc-secret-0001
""" + "".join(f"""
dn: uid={uid},{PEOPLE}
objectClass: inetOrgPerson
uid: {uid}
cn: {uid}
sn: {uid}
userPassword: {{plain}}{uid}-dir-pass
""" for uid in ("li.ops", "zhao.view", "wu.none")) + "".join(f"""
dn: cn={group},{GROUPS}
objectClass: groupOfNames
cn: {group}
member: uid={uid},{PEOPLE}
""" for group, uid in (("ops", "li.ops"), ("viewers", "zhao.view"), ("printers", "wu.none")))


def login(base: str, name: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    """The login form as a browser posts it: GET the page (the pre-login CSRF cookie), POST with its token."""
    client = httpx.Client(base_url=base, timeout=15)
    page = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf and csrf.group(1) == client.cookies.get("opsmon_pre")
    return client, client.post("/ui/login", data={"csrf": csrf.group(1), "name": name, "password": password,
                                                  "next": "/ui/maintenance"})


def add_window(client: httpx.Client, window_id: str) -> httpx.Response:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/maintenance").text)
    assert csrf
    return client.post("/ui/maintenance", data={
        "csrf": csrf.group(1), "id": window_id, "reason": "ldap test", "scope": "assets", "names": "web",
        "start": "2030-01-01T02:00:00", "end": "2030-01-01T03:00:00"})


def audit(db: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT actor, action, target, detail FROM audit_log ORDER BY id"))


def test_ldap_login_through_the_console_form(collector_factory, tmp_path) -> None:
    reason = available()
    if reason:
        missing_peer(reason)
    with Slapd(tmp_path / "slapd", LDIF) as directory:
        (tmp_path / "bind.secret").write_text("svc-secret-0001\n")  # the file's newline is not the secret's
        c = collector_factory("assets:\n  - {id: web, category: server}\n", extra=f"""
console:
  lockout_failures: 3
ldap:
  url: {directory.url}
  bind_dn: uid=svc,{SUFFIX}
  bind_password_file: bind.secret
  user_base: {PEOPLE}
  user_filter: (&(objectClass=inetOrgPerson)(uid={{name}}))
  groups:
    cn=ops,{GROUPS}: operator
    cn=viewers,{GROUPS}: viewer
  connect_timeout: 1s
  timeout: 2s
""")
        c.start()
        from opsmon.collector.store import open_store, users

        store = open_store(f"sqlite:///{c.db}", migrate=False)
        users.add(store, "ops.local", "operator", LOCAL_PASSWORD, "test", datetime.now(UTC))
        users.add(store, "zhao.view", "admin", LOCAL_PASSWORD, "test", datetime.now(UTC))
        store.close()

        # -- the operator group's person logs in through the form, gets a session and acts --
        li, answer = login(c.base, "li.ops", "li.ops-dir-pass")
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/maintenance"
        cookie = answer.headers["set-cookie"]
        assert "opsmon_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        page = li.get("/ui/maintenance")
        assert page.status_code == 200 and "li.ops" in page.text
        added = add_window(li, "ldap-op")
        assert added.status_code == 303 and added.headers["location"] == "/ui/maintenance?done=added"

        # -- a local account of the name decides alone: zhao.view's directory password is refused there... --
        _, shadowed = login(c.base, "zhao.view", "zhao.view-dir-pass")
        assert shadowed.status_code == 401 and "用户名或密码错误" in shadowed.text
        # ... and a directory viewer (no local account of its name) may look but not act
        store = open_store(f"sqlite:///{c.db}", migrate=False)
        users.remove(store, "zhao.view", "test", datetime.now(UTC))
        store.close()
        zhao, answer = login(c.base, "zhao.view", "zhao.view-dir-pass")
        assert answer.status_code == 303
        assert zhao.get("/ui/maintenance").status_code == 200
        refused = add_window(zhao, "ldap-viewer")
        assert refused.status_code == 403 and "此操作需要 operator 角色；zhao.view 的角色是 viewer" in refused.text

        # -- a wrong directory password is refused and counted: failures 1, 2, 3 -> the 4th try is locked,
        #    even with the right password (lockout_failures 3, window 900 s) --
        for _ in range(3):
            _, wrong = login(c.base, "li.ops", "not-the-password")
            assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
        _, locked = login(c.base, "li.ops", "li.ops-dir-pass")
        assert locked.status_code == 429 and "已锁定" in locked.text

        # -- a person in no mapped group (cn=printers is not under ldap.groups) is refused, saying why --
        _, nobody = login(c.base, "wu.none", "wu.none-dir-pass")
        assert nobody.status_code == 403 and "不在任何有权使用本控制台的组中" in nobody.text
        assert "opsmon_session" not in nobody.headers.get("set-cookie", "")

        # -- the directory stops: a clear refusal (503, not 500), and local accounts still log in --
        directory.stop()
        _, down = login(c.base, "zhao.view", "zhao.view-dir-pass")
        assert down.status_code == 503 and "目录服务器（LDAP）暂时无法连接" in down.text
        local, answer = login(c.base, "ops.local", LOCAL_PASSWORD)
        assert answer.status_code == 303
        assert add_window(local, "local-op").status_code == 303

        c.stop()
        entries = audit(c.db)
        logins = [(actor, action, detail) for actor, action, _, detail in entries if action.startswith("console.login")]
        # in order: li.ops in (ldap); zhao.view refused locally (failure 1 of that name); zhao.view in (ldap);
        # li.ops 3 failures (ldap); li.ops locked; wu.none refused (no_role); zhao.view refused (unreachable);
        # ops.local in (local)
        assert [(a, act) for a, act, _ in logins] == [
            ("ui:li.ops", "console.login"), ("ui:zhao.view", "console.login_failed"),
            ("ui:zhao.view", "console.login"),
            ("ui:li.ops", "console.login_failed"), ("ui:li.ops", "console.login_failed"),
            ("ui:li.ops", "console.login_failed"), ("ui:li.ops", "console.login_locked"),
            ("ui:wu.none", "console.login_refused"), ("ui:zhao.view", "console.login_refused"),
            ("ui:ops.local", "console.login")]
        details = [d for _, _, d in logins]
        assert '"via": "ldap"' in details[0] and '"role": "operator"' in details[0]
        assert '"via": "local"' in details[1] and '"role": "viewer"' in details[2]
        assert '"failures": 1' in details[3] and '"via": "ldap"' in details[3] and '"failures": 3' in details[5]
        assert '"why": "no_role"' in details[7] and '"why": "unreachable"' in details[8]
        assert '"via": "local"' in details[9]
        # the window li.ops added is in his name; the viewer's refused post changed nothing
        assert ("ui:li.ops", "maintenance.add", "ldap-op") in [(a, act, t) for a, act, t, _ in entries]
        assert not any("ldap-viewer" in target for _, _, target, _ in entries)
        # the directory people have accounts here without a password: one cannot be given them
        store = open_store(f"sqlite:///{c.db}", migrate=False)
        rows = {u.name: (u.role, u.login == users.DIRECTORY) for u in users.list_users(store)}
        assert rows == {"li.ops": ("operator", True), "ops.local": ("operator", False), "zhao.view": ("viewer", True)}
        with pytest.raises(InvalidInput, match="logs in through LDAP"):
            users.set_password(store, "li.ops", "a-local-password", "test", datetime.now(UTC))
        store.close()
        # no password, typed or the service account's, in the audit log or the collector's log
        everything = repr(entries) + c.log() + c.output()
        for secret in ("li.ops-dir-pass", "not-the-password", "zhao.view-dir-pass", "svc-secret-0001",
                       "wu.none-dir-pass", LOCAL_PASSWORD):
            assert secret not in everything


def test_start_tls_and_ldaps_verify_the_directory_with_the_ca_file(tmp_path) -> None:
    """In process (no collector needed): the same slapd with a certificate for 127.0.0.1 offers StartTLS on its
    ldap:// port and TLS from the start on an ldaps:// port. With ca_file naming that certificate both take li.ops
    to operator; with another CA file the certificate is refused, which is "unreachable", never a login."""
    reason = available()
    if reason:
        missing_peer(reason)
    from opsmon.collector.config.ldap import LdapConfig
    from opsmon.collector.outputs.ui.directory import Directory
    from tests.peers.smtp import self_signed

    cert, key = self_signed(tmp_path, "slapd")
    other, _ = self_signed(tmp_path, "other")
    with Slapd(tmp_path / "slapd", LDIF, tls=(cert, key)) as directory:
        def check(url: str, ca: Path, start_tls: bool) -> tuple[str | None, str, str]:
            config = LdapConfig(url=url, start_tls=start_tls, ca_file=str(ca), bind_dn=f"uid=svc,{SUFFIX}",
                                bind_password="svc-secret-0001", user_base=PEOPLE,
                                groups={f"cn=ops,{GROUPS}": "operator"}, connect_timeout=1, timeout=2)
            verdict = Directory(config, tmp_path, "collector.yaml").check("li.ops", "li.ops-dir-pass")
            return verdict.role, verdict.why, verdict.detail

        assert check(directory.url, cert, True) == ("operator", "", "")
        assert check(directory.ldaps_url, cert, False) == ("operator", "", "")
        for url, start_tls in ((directory.url, True), (directory.ldaps_url, False)):
            role, why, detail = check(url, other, start_tls)
            assert (role, why) == (None, "unreachable") and "certificate" in detail.lower(), detail
