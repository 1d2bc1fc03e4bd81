"""The web console's local accounts, sessions and lockout (docs/console.md).

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended set): the salt
and cost travel inside the hash, so a later, dearer default re-hashes a person's password at their next
login. Sessions are random 256-bit ids of which only the SHA-256 is stored, so a copy of the database
logs nobody in; each carries the CSRF token its forms must echo. A login gets a new session id every
time (no fixation), and a password change or a removal ends every session of that person.

The lockout counts failed logins by the name typed, known or not, within a window: past the limit the
name is refused, even with the right password, until the window has moved past enough failures; the
answer is the same for a name that does not exist, so the lockout tells nobody who has an account.
Every change, login and refusal is in the audit log.

With `ldap:` configured, a name without a local account is checked against the directory (docs/console.md):
the person then has an account here with no password hash (`DIRECTORY`), kept for their sessions and language.

list_users() is plain SQL on store/dbapi.py's Reader and never reads a hash; the rest imports SQLAlchemy and the
mapped classes when called, so that `opsmon users list` reads without them (issue 25 item 2).
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.millis import from_ms
from opsmon.collector.store.tokens import ROLES

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from sqlalchemy.orm import Session

    from opsmon.collector.store import Store
    from opsmon.collector.store.models import ConsoleUser

MIN_PASSWORD = 10
DIRECTORY = "ldap"  # the password_hash of a person who logs in through the directory: no hash, no local login
# The accounts by name, each with how it logs in (never its hash): local (a password here) or ldap (the directory's)
USER_LINES = ("SELECT name, role, CASE WHEN password_hash = :directory THEN 'ldap' ELSE 'local' END, lang, created_at "
              "FROM console_users ORDER BY name")


class UserLine(NamedTuple):
    """An account as `opsmon users list` shows it."""

    name: str
    role: str
    login: str  # "local" or "ldap" (DIRECTORY)
    lang: str
    created_at: datetime


@functools.cache
def hasher() -> PasswordHasher:
    """argon2's hasher, made at the first hash or login: listing accounts (`opsmon users list`) loads no argon2."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Verified against when the name is unknown, so the answer takes as long as for a real account (made at
    the first such login, not at import: a hash costs a good part of a second)."""
    return hasher().hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Person:
    """Who a session belongs to, as a page needs it."""

    name: str
    role: str
    lang: str
    csrf: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InvalidInput("a password is at most 1024 characters")


def add(store: Store, name: str, role: str, password: str, actor: str, now: datetime) -> None:
    from sqlalchemy import select

    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import ConsoleUser

    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if not name or len(name) > 128 or name != name.strip() or any(c.isspace() for c in name):
        raise InvalidInput("a user needs a name of 1-128 characters without spaces")
    _check_password(password)
    hashed = hasher().hash(password)
    with store.session.begin() as session:
        if session.scalar(select(ConsoleUser).where(ConsoleUser.name == name)) is not None:
            raise InvalidInput(f"a user named {name!r} exists")
        session.add(ConsoleUser(name=name, role=role, password_hash=hashed, lang="zh", created_at=now))
        record(session, actor, "users.add", name, {"role": role}, now)


def remove(store: Store, name: str, actor: str, now: datetime) -> None:
    from sqlalchemy import delete, select

    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import ConsoleSession, ConsoleUser

    with store.session.begin() as session:
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name))
        if user is None:
            raise NotFound(f"no user named {name!r}")
        session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        session.delete(user)
        record(session, actor, "users.remove", name, {}, now)


def set_password(store: Store, name: str, password: str, actor: str, now: datetime) -> None:
    """A new password ends every session of the person (a stolen cookie dies with the old password)."""
    from sqlalchemy import delete, select

    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import ConsoleSession, ConsoleUser, LoginFailure

    _check_password(password)
    hashed = hasher().hash(password)
    with store.session.begin() as session:
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name))
        if user is None:
            raise NotFound(f"no user named {name!r}")
        if user.password_hash == DIRECTORY:
            raise InvalidInput(f"{name!r} logs in through LDAP: their password is the directory's")
        user.password_hash = hashed
        session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        session.execute(delete(LoginFailure).where(LoginFailure.name == name))
        record(session, actor, "users.passwd", name, {}, now)


def list_users(store: Readable) -> list[UserLine]:
    """Every account by name, with how it logs in; its password hash is not read."""
    with store.reader() as r:
        return [UserLine(name, role, login, lang, from_ms(made))
                for name, role, login, lang, made in r.rows(USER_LINES, {"directory": DIRECTORY})]


@dataclass(frozen=True)
class Verdict:
    """What the directory (LDAP/AD, outputs/ui/directory.py) said of a name and password: `role` from the
    person's groups when it took them, else `why` not: "password" (unknown name or wrong password, counted
    toward the lockout), "no_role" (right password, no mapped group) or "unreachable" (no answer; `detail`
    says what failed, never the password)."""

    role: str | None
    why: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Login:
    """The outcome of a login: `session` (the cookie's value) when it succeeded, else why not (`why`: "password",
    "locked", "no_role", "unreachable")."""

    session: str | None
    person: Person | None = None
    locked_until: datetime | None = None
    why: str = ""


def login(store: Store, name: str, password: str, now: datetime, failures: int, window: float,
          lifetime: float, door: str = "ui", directory: Callable[[str, str], Verdict] | None = None) -> Login:
    """Check a password under the lockout; on success open a new session (a new id, never one offered).

    A local account of the name decides alone; without one, `directory` (when LDAP is configured) is asked,
    outside any transaction (it may wait for a server), and a person it accepts gets a console account of
    theirs (no password, role from their groups, refreshed at every login) so their sessions, language and
    audit trail are those of a local person."""
    from sqlalchemy import delete, select

    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import ConsoleUser, LoginFailure

    since = now - timedelta(seconds=window)
    name = name[:128]
    with store.session.begin() as session:
        # The window is (now - window, now]: a failure exactly `window` old has left it.
        session.execute(delete(LoginFailure).where(LoginFailure.ts <= since))
        recent = list(session.scalars(select(LoginFailure.ts).where(LoginFailure.name == name)
                                      .order_by(LoginFailure.ts)))
        if len(recent) >= failures:
            # Locked until enough of the failures have left the window to let one more try in.
            until = recent[len(recent) - failures] + timedelta(seconds=window)
            record(session, f"{door}:{name}", "console.login_locked", name, {"until": until.isoformat()}, now)
            return Login(None, locked_until=until, why="locked")
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name))
        local = user is not None and user.password_hash != DIRECTORY
        if local or directory is None:
            if not _verify(user.password_hash if local and user else _dummy(), password) or user is None:
                _failed(session, door, name, len(recent), now, "local")
                return Login(None, why="password")
            if hasher().check_needs_rehash(user.password_hash):
                user.password_hash = hasher().hash(password)
            return _open(session, user, door, now, lifetime, "local")
    verdict = directory(name, password)
    with store.session.begin() as session:
        if verdict.role is None:
            if verdict.why == "password":
                _failed(session, door, name, len(recent), now, DIRECTORY)
            else:  # the password may be right: not counted toward the lockout, but audited with its reason
                record(session, f"{door}:{name}", "console.login_refused", name,
                       {"via": DIRECTORY, "why": verdict.why, "detail": verdict.detail}, now)
            return Login(None, why=verdict.why)
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name))
        if user is None:
            user = ConsoleUser(name=name, role=verdict.role, password_hash=DIRECTORY, lang="zh", created_at=now)
            session.add(user)
            session.flush()
        elif user.password_hash != DIRECTORY:  # made local in the meantime: the local account decides
            _failed(session, door, name, len(recent), now, "local")
            return Login(None, why="password")
        user.role = verdict.role
        return _open(session, user, door, now, lifetime, DIRECTORY)


def _failed(session: Session, door: str, name: str, before: int, now: datetime, via: str) -> None:
    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import LoginFailure

    session.add(LoginFailure(name=name, ts=now))
    record(session, f"{door}:{name}", "console.login_failed", name, {"failures": before + 1, "via": via}, now)


def _open(session: Session, user: ConsoleUser, door: str, now: datetime, lifetime: float, via: str) -> Login:
    """A new session of `user` (the name's failures forgotten, expired sessions swept), audited."""
    from sqlalchemy import delete

    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import ConsoleSession, LoginFailure

    session.execute(delete(LoginFailure).where(LoginFailure.name == user.name))
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(ConsoleSession(id_hash=_digest(session_id), user_id=user.id, csrf=csrf, created_at=now,
                               expires_at=now + timedelta(seconds=lifetime)))
    record(session, f"{door}:{user.name}", "console.login", user.name, {"role": user.role, "via": via}, now)
    return Login(session_id, Person(user.name, user.role, user.lang, csrf))


def _verify(hashed: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def person(store: Store, session_id: str, now: datetime) -> Person | None:
    """The person of a live session; None for an unknown, ended or expired one."""
    from opsmon.collector.store.models import ConsoleSession, ConsoleUser

    if not session_id or len(session_id) > 128:
        return None
    with store.session() as session:
        row = session.get(ConsoleSession, _digest(session_id))
        if row is None or row.expires_at <= now:
            return None
        user = session.get(ConsoleUser, row.user_id)
        if user is None:
            return None
        return Person(user.name, user.role, user.lang, row.csrf)


def logout(store: Store, session_id: str, door: str, now: datetime) -> None:
    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import ConsoleSession, ConsoleUser

    with store.session.begin() as session:
        row = session.get(ConsoleSession, _digest(session_id))
        if row is None:
            return
        user = session.get(ConsoleUser, row.user_id)
        session.delete(row)
        if user is not None:
            record(session, f"{door}:{user.name}", "console.logout", user.name, {}, now)


def set_lang(store: Store, name: str, lang: str, door: str, now: datetime) -> None:
    from sqlalchemy import select

    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import ConsoleUser

    with store.session.begin() as session:
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name))
        if user is None:
            raise NotFound(f"no user named {name!r}")
        user.lang = lang
        record(session, f"{door}:{name}", "console.lang", name, {"lang": lang}, now)

