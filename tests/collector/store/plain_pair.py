"""What the plain-read tests share (test_plain_reads*.py): an estate populated into SQLite and into the real
PostgreSQL, the plain store opened on each beside the full one, and the CLI's outputs for a list of commands, so
that each file holds only its estate, its checks and the lines it computes by hand."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from opsmon.collector.cli import main
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.dbapi import PlainStore, open_reading_store
from tests.conftest import write_config
from tests.peers.postgres import own_database


def cli_outputs(config: Path, capsys: pytest.CaptureFixture[str], argvs: Sequence[Sequence[str]]) -> list[str]:
    """What each command prints (each must exit 0), in order."""
    out = []
    for argv in argvs:
        assert main(["--config", str(config), *argv]) == 0, argv
        out.append(capsys.readouterr().out)
    return out


def sqlite_estate(factory: pytest.TempPathFactory, name: str, populate: Callable[[Store], None],
                  config_text: Callable[[Path], str]) -> Iterator[tuple[Store, Path]]:
    """For a module fixture (`yield from`): a SQLite store in a folder of its own, populated, and its
    collector.yaml (`config_text(folder)`: the text without the database, which is added; it may write files the
    config names into the folder)."""
    folder = factory.mktemp(name)
    store = open_store(f"sqlite:///{folder / 'opsmon.db'}")
    populate(store)
    yield store, write_config(folder, f"{config_text(folder)}database:\n  path: {folder / 'opsmon.db'}\n")
    store.close()


@contextmanager
def plain_store(full: Store, dialect: str) -> Iterator[PlainStore]:
    """The plain driver's store on the database `full` (the full store) has open (not the full store's fallback),
    closed after; `dialect` is the one the test means to run on."""
    plain = open_reading_store(full.engine.url.render_as_string(hide_password=False))
    assert isinstance(plain, PlainStore) and plain.dialect == full.dialect == dialect
    try:
        yield plain
    finally:
        plain.close()


@contextmanager
def postgres_estate(postgres_url: str, name: str, populate: Callable[[Store], None]) -> Iterator[tuple[Store, str]]:
    """A database of its own on the real PostgreSQL peer, populated by the full store: (that store, its URL)."""
    url = own_database(postgres_url, name)
    full = open_store(url)
    try:
        populate(full)
        yield full, url
    finally:
        full.close()
