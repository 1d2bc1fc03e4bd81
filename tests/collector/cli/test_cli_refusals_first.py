"""A read command's own mistakes are said before the store is opened.

Opening the store is not free of effects: a SQLite path that does not exist yet is created and migrated (the
full store's way), and an unreachable PostgreSQL server is waited on until its connect timeout, after which the
error names the connection, not the argument the person got wrong. So every read command checks its arguments
and the files of its own (the target table, the on-call file) first. Each case runs `opsmon` in process on a
collector.yaml whose database path does not exist yet: exit 2, the reason on stderr, and no database file after.
(A review found `events`, `incidents list`, `history show`, `configs show|diff`, `oncall now|next`, `survey
results` with a broken target table and `sla` creating the file before refusing; each such case below failed so
before its command was mended: 12 failed, 3 passed at 34b3394, where `sla` was mended already and `survey results`
refused a wrong --period first.)
"""
from __future__ import annotations

from pathlib import Path

import pytest

from opsmon.collector.cli import main
from tests.conftest import write_config

# A valid on-call file (test_its_files_are_valid): only the arguments are wrong in CASES.
ONCALL = ("people:\n  li.wei: {name: 李伟}\nschedules:\n  ops:\n    rotation: {people: [li.wei], shift: 1d, "
          "start: '2026-07-01T00:00:00+08:00'}\n"
          "policies:\n  default:\n    levels:\n      - {after: 0s, notify: [schedule:ops], channels: [hook]}\n"
          "routes:\n  - {policy: default}\n")
CASES = (
    (("sla", "--period", "2026Q9"), "2026Q9"),
    (("sla", "--from", "2026-07-01T00:00:00+08:00"), "give both --from and --to"),
    (("events", "--from", "yesterday"), "--from: 'yesterday'"),
    (("events", "--to", "2026-07-01"), "--to: '2026-07-01'"),  # no UTC offset
    (("incidents", "list", "--from", "yesterday"), "--from: 'yesterday'"),
    (("history", "show", "sw-1", "--from", "yesterday"), "--from: 'yesterday'"),
    (("history", "show", "sw-1", "--from", "2026-07-02T00:00:00Z", "--to", "2026-07-01T00:00:00Z"),
     "--to must be after --from"),
    (("configs", "show", "sw-1", "newest"), "version 'newest'"),
    (("configs", "show", "sw-1", "0"), "versions count from 1"),
    (("configs", "diff", "sw-1", "x"), "version 'x'"),
    (("configs", "diff", "sw-1", "1", "y"), "version 'y'"),
    (("oncall", "now", "--at", "yesterday"), "--at: 'yesterday'"),
    (("oncall", "next", "--at", "yesterday"), "--at: 'yesterday'"),
    (("survey", "results", "--period", "2026Q9"), "2026Q9"),
)


def _config(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    db = tmp_path / "new" / "opsmon.db"
    db.parent.mkdir()
    (tmp_path / "oncall.yaml").write_text(ONCALL, encoding="utf-8")
    return write_config(tmp_path, f"timezone: Asia/Shanghai\nincidents:\n  oncall_file: oncall.yaml\n{extra}"
                                  f"database:\n  path: {db}\n"), db


def test_its_files_are_valid(tmp_path: Path) -> None:
    """The on-call file CASES run with is valid, so each case is refused for its argument alone."""
    from opsmon.collector.config.oncall import load_oncall

    _config(tmp_path)
    assert list(load_oncall(str(tmp_path / "oncall.yaml")).schedules) == ["ops"]


@pytest.mark.parametrize(("argv", "said"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_wrong_argument_is_said_before_the_store_is_opened(tmp_path: Path, argv: tuple[str, ...], said: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = _config(tmp_path)
    assert main(["--config", str(cfg), *argv]) == 2
    assert said in capsys.readouterr().err
    assert not db.exists()


def test_a_broken_file_of_the_commands_own_is_said_before_the_store_is_opened(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The on-call file (`oncall now`) and the target table (`survey results`, `sla`) are read, and refused with
    their file and line, before the store is opened."""
    cfg, db = _config(tmp_path, "sla:\n  targets_file: targets.yaml\n")
    (tmp_path / "targets.yaml").write_text("targets:\n  - id: [\n", encoding="utf-8")
    (tmp_path / "oncall.yaml").write_text("people: {li.wei: {name: 李伟}}\nschedules: [\n", encoding="utf-8")
    for argv, file in ((("oncall", "now"), "oncall.yaml"), (("survey", "results", "--period", "2026"), "targets.yaml"),
                       (("sla", "--period", "2026Q3"), "targets.yaml")):
        assert main(["--config", str(cfg), *argv]) == 2, argv
        assert file in capsys.readouterr().err, argv
        assert not db.exists(), argv
