"""A real PostgreSQL server for the tests: a throwaway cluster on a loopback port.

initdb and postgres refuse to run as root, so as root the cluster is owned by
the `postgres` system user (Debian's package creates it) and started with runuser.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

from tests.conftest import free_port
from tests.peers import missing_peer


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bindir = _bindir()
    if bindir is None:
        missing_peer("PostgreSQL server binaries (initdb, postgres) are not installed")
    root = tempfile.mkdtemp(prefix="opsmon-pg-")
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, sock = os.path.join(root, "data"), root
    subprocess.run([*prefix, f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--no-locale"], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([*prefix, f"{bindir}/postgres", "-D", data, "-p", str(port), "-k", sock,
                             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = subprocess.run([f"{bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True)
        if ready.returncode == 0:
            break
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    subprocess.run([f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "opsmon"],
                   check=True, capture_output=True)
    yield f"postgresql://postgres@127.0.0.1:{port}/opsmon"
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(root, ignore_errors=True)


def own_database(postgres_url: str, name: str) -> str:
    """A fresh database `name` on the session's PostgreSQL peer, and its URL: a test whose figures need an empty
    store (the session's database `opsmon` is shared by the tests that use it)."""
    from sqlalchemy import create_engine

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + "/" + name
