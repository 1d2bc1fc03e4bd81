"""The console's accounts, sessions and lockout (store/users.py), in process with a fake clock."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.store import Store, audit, users
from opsmon.collector.store.models import ConsoleUser
from tests.conftest import utc

T0 = utc(2026, 12, 6, 2, 0, 0)
PASSWORD = "correct-horse-1"
# lockout: 3 failures within 600 s; sessions last 3600 s
N, WINDOW, LIFE = 3, 600.0, 3600.0


def login(store: Store, name: str, password: str, at: float) -> users.Login:
    return users.login(store, name, password, T0 + timedelta(seconds=at), N, WINDOW, LIFE)


def test_a_password_is_stored_as_argon2id_and_checked(store: Store) -> None:
    users.add(store, "zhang", "operator", PASSWORD, "cli:root", T0)
    with store.session() as session:  # the hash as stored (the listing never reads it)
        (hashed,) = session.scalars(select(ConsoleUser.password_hash)).all()
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert [(u.name, u.login) for u in users.list_users(store)] == [("zhang", "local")]
    ok = login(store, "zhang", PASSWORD, 1)
    assert ok.session is not None and ok.person is not None and ok.person.role == "operator"
    assert ok.person.lang == "zh"  # Chinese first
    assert login(store, "zhang", PASSWORD + "x", 2).session is None
    with pytest.raises(InvalidInput, match="at least 10"):
        users.add(store, "li", "viewer", "short", "cli:root", T0)
    with pytest.raises(InvalidInput, match="role must be"):
        users.add(store, "li", "root", PASSWORD, "cli:root", T0)
    with pytest.raises(InvalidInput, match="exists"):
        users.add(store, "zhang", "viewer", PASSWORD, "cli:root", T0)


def test_every_login_is_a_new_session_and_a_new_password_ends_them(store: Store) -> None:
    users.add(store, "zhang", "admin", PASSWORD, "cli:root", T0)
    first, second = login(store, "zhang", PASSWORD, 1), login(store, "zhang", PASSWORD, 2)
    assert first.session and second.session and first.session != second.session
    assert first.person and second.person and first.person.csrf != second.person.csrf
    now = T0 + timedelta(seconds=3)
    assert users.person(store, first.session, now) is not None
    assert users.person(store, "planted-by-someone-else", now) is None
    # the session lasts LIFE = 3600 s from its login at T0+1 s: alive at T0+3600 s, gone at T0+3601 s
    assert users.person(store, first.session, T0 + timedelta(seconds=3600)) is not None
    assert users.person(store, first.session, T0 + timedelta(seconds=3601)) is None
    users.set_password(store, "zhang", "another-password", "cli:root", now)
    assert users.person(store, second.session, now) is None
    users.remove(store, "zhang", "cli:root", now)
    with pytest.raises(NotFound):
        users.remove(store, "zhang", "cli:root", now)
    actions = [e.action for e in reversed(audit.read(store))]
    assert actions == ["users.add", "console.login", "console.login", "users.passwd", "users.remove"]


def test_the_lockout_counts_failures_in_the_window_and_opens_again(store: Store) -> None:
    """Failures at 0, 100 and 200 s (N = 3): locked from then on, even with the right password, until the
    first failure leaves the window (0, 600]: at 600 s exactly it has left (the window is half-open), so a
    login at 599 s is refused (until = 0 + 600 s) and one at 600 s succeeds. A name nobody has is locked
    the same way, so the lockout says nothing of who has an account."""
    users.add(store, "zhang", "operator", PASSWORD, "cli:root", T0)
    for at in (0, 100, 200):
        outcome = login(store, "zhang", "wrong-password", at)
        assert outcome.session is None and outcome.locked_until is None
    locked = login(store, "zhang", PASSWORD, 599)
    assert locked.session is None and locked.locked_until == T0 + timedelta(seconds=600)
    assert login(store, "zhang", PASSWORD, 600).session is not None
    # a success clears the count: three more failures are needed to lock again
    for at in (601, 602):
        login(store, "zhang", "wrong-password", at)
    assert login(store, "zhang", PASSWORD, 603).session is not None

    for at in (0, 1, 2):
        assert login(store, "nobody", "whatever-password", at).locked_until is None
    assert login(store, "nobody", "whatever-password", 3).locked_until == T0 + timedelta(seconds=600)
    entries = [(e.actor, e.action) for e in audit.read(store, 100) if e.target == "nobody"]
    assert entries.count(("ui:nobody", "console.login_failed")) == 3
    assert entries.count(("ui:nobody", "console.login_locked")) == 1
