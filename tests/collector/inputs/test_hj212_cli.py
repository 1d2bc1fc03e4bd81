"""`opsmon hj212 parse`: one JSON object per frame, refused frames each with its reason, exit 0; 2 when unreadable.

The frames are real (tests/collector/inputs/hj212_frames.py names their sources).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opsmon.collector.cli import main
from tests.collector.inputs import hj212_frames as real
from tests.conftest import run_cli


def parse(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, *opts: str) -> list[dict[str, Any]]:
    path = tmp_path / "frames.txt"
    path.write_bytes(data)
    assert main(["hj212", "parse", *opts, str(path)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def lines(*frames: bytes) -> bytes:
    return b"".join(f + b"\r\n" for f in frames)


def test_good_frames_of_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = [real.CN2011_LOWER_CRC, real.CN2051_SPLIT_PART1, real.CN2061, real.CN2031, real.CN2021, real.CN1013,
              real.CN9014_LIVE_PLATFORM]
    docs = parse(tmp_path, capsys, lines(*frames))
    assert [d["cn"] for d in docs] == ["2011", "2051", "2061", "2031", "2021", "1013", "9014"]
    assert all(d["ok"] and d["crc"] == "ok" and d["error"] is None for d in docs)
    split = docs[1]
    assert (split["flag"], split["pnum"], split["pno"]) == (7, 2, 1)
    assert split["cp"]["a21002-ZsAvg"] == "0.000"
    assert docs[2]["cp"]["a34006-Avg"] == "2.69700"  # as sent, not 2.697
    assert docs[4]["cp"] == {"DataTime": "20210407112000", "SB1-RS": "1", "SB2-RS": "1"}


def test_password_never_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(lines(real.CN2061))
    assert main(["hj212", "parse", str(path)]) == 0
    out = capsys.readouterr().out
    assert "BF470F88957588DE902D1A52" not in out and json.loads(out)["pw"] == "***"


def test_refused_frames_each_with_its_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0: a refused frame is an answer, not a failure; the good frame after them is still read."""
    data = lines(real.BAD_CRC_EDITED, real.MODBUS_LE_868, real.LENGTH_MISMATCH, b"##0x9A" + real.CN2061[6:],
                 real.CN1013)
    docs = parse(tmp_path, capsys, data)
    got = [(d["ok"], d["crc"], d["reason"]) for d in docs]
    assert got == [(False, "bad", "crc"), (False, "modbus_le", "crc_dialect"), (False, None, "length_mismatch"),
                   (False, None, "bad_length"), (True, "ok", None)]
    assert docs[0]["error"] == "bad CRC: sent 4981, computed 4980"
    assert docs[0]["cn"] == "2011"  # the fields of a refused frame still help find the unit
    assert "says 131" in docs[2]["error"]


def test_modbus_dialect_accepted_under_its_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [doc] = parse(tmp_path, capsys, lines(real.MODBUS_LE_OVERSIZE_1025), "--crc", "accept_modbus_le")
    assert (doc["ok"], doc["crc"], doc["oversize"], doc["error"]) == (True, "modbus_le", True, None)


def test_capture_without_line_breaks_and_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = parse(tmp_path, capsys, b"GET / HTTP/1.0\r\n" + real.CN2021 + real.CN9021_HEARTBEAT)
    assert [(d["reason"], d["cn"]) for d in docs] == [("garbage", None), (None, "2021"), (None, "9021")]


def test_unreadable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hj212", "parse", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["hj212", "parse", str(tmp_path)]) == 2  # a directory


def test_stdin() -> None:
    import subprocess

    from tests.conftest import OPSMON, ROOT
    done = subprocess.run([*OPSMON, "hj212", "parse", "-"], input=lines(real.CN2061, real.BAD_CRC_README),
                          capture_output=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["ok"] for x in done.stdout.decode().splitlines()] == [True, False]
    assert run_cli("hj212", "parse", "/nonexistent/frames").returncode == 2
