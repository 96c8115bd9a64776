"""What we write out cannot be turned against its reader (issue 12, items 6, 9, 12): formula
cells neutralised in every CSV, files written whole or not at all, an export kept only once
its audit entry is committed, the audit's "who" from the real account."""

from __future__ import annotations

import csv
import io
import os
import pwd
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from core.audience import campaigns as cmp
from core.errors import CoreError
from core.store.db import open_db, set_meta
from core.store.outputs import atomic_output, csv_cell, csv_writer
from tui.cli import cli

HOSTILE = {  # user_id -> (name, city)
    "u1": ('=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0"),
    "u2": ("-2+3", "@SUM(1)"),
    "u3": ("\t=1", "\r=2"),
    "u4": ("Alice", "Paris"),
}


@pytest.fixture
def db(db_path: Path) -> str:
    conn = open_db(db_path)
    for uid, (name, city) in HOSTILE.items():
        conn.execute("INSERT INTO users(user_id, name, city) VALUES (?, ?, ?)", (uid, name, city))
        monetary = -3.5 if uid == "u2" else 10.0
        conn.execute(
            "INSERT INTO features(user_id, name, city, monetary) VALUES (?, ?, ?, ?)",
            (uid, name, city, monetary),
        )
    set_meta(conn, "as_of", "2024-06-30")
    conn.close()
    return str(db_path)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_cell_prefixes_formulas_keeps_numbers():
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("+cmd") == "'+cmd"
    assert csv_cell("-2+3") == "'-2+3"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("\t=1") == "'\t=1"
    assert csv_cell("\r=1") == "'\r=1"
    assert csv_cell("Alice") == "Alice"
    assert csv_cell(-3.5) == -3.5 and csv_cell(-2) == -2 and csv_cell(None) is None
    # text that is a plain number stays one: a phone number, a negative amount stored as text
    assert csv_cell("+8613800000000") == "+8613800000000"
    assert csv_cell("-3.5") == "-3.5" and csv_cell("-1e-3") == "-1e-3"
    assert csv_cell("=1+1", raw=True) == "=1+1"
    out = io.StringIO()
    csv_writer(out, lineterminator="\n").writerow(["=x", -3.5, "-3.5", "a"])
    assert out.getvalue() == "'=x,-3.5,-3.5,a\n"
    out = io.StringIO()  # a CR inside a cell is quoted even with a "\n" line terminator
    csv_writer(out, lineterminator="\n").writerow(["\r=2", 1])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'\r=2", "1"]]


def test_users_csv_neutralises_every_hostile_cell(db, tmp_path):
    out = tmp_path / "users.csv"
    result = run("users", db, "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = {r["user_id"]: r for r in read_csv(out)}
    for uid, (name, city) in HOSTILE.items():
        expected = (name, city) if uid == "u4" else ("'" + name, "'" + city)
        assert (rows[uid]["name"], rows[uid]["city"]) == expected
    assert rows["u2"]["monetary"] == "-3.5"  # a number from a numeric column: not prefixed
    raw = tmp_path / "raw.csv"
    assert run("users", db, "-o", str(raw), "--raw").exit_code == 0
    rows = {r["user_id"]: r for r in read_csv(raw)}
    assert rows["u1"]["name"] == HOSTILE["u1"][0] and rows["u3"]["city"] == "\r=2"


def _campaign(db: str) -> None:
    conn = open_db(db)
    cmp.create_campaign(conn, "c", who="t")
    cmp.mark(conn, "c", list(HOSTILE), who="t")
    conn.close()


def test_campaign_export_neutralises_and_raw_keeps(db, tmp_path):
    _campaign(db)
    out = tmp_path / "t.csv"
    result = run("campaign", "export", db, "c", "-o", str(out), "--columns", "name,city,monetary")
    assert result.exit_code == 0, result.output
    rows = {r["user_id"]: r for r in read_csv(out)}
    assert rows["u1"]["name"] == "'" + HOSTILE["u1"][0]
    assert rows["u2"]["city"] == "'@SUM(1)" and rows["u2"]["monetary"] == "-3.5"
    assert rows["u4"]["name"] == "Alice"
    raw = tmp_path / "raw.csv"
    args = ("campaign", "export", db, "c", "-o", str(raw), "--columns", "name", "--raw")
    assert run(*args).exit_code == 0
    assert {r["user_id"]: r["name"] for r in read_csv(raw)}["u2"] == "-2+3"


def test_atomic_output_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    with pytest.raises(RuntimeError), atomic_output(target) as out:
        out.file.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    with atomic_output(target) as out:
        out.file.write("new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_export_not_kept_when_the_audit_cannot_be_written(db, tmp_path):
    """The log is locked by another writer: the export fails and leaves no file."""
    _campaign(db)
    out = tmp_path / "t.csv"
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    conn = open_db(db)
    conn.execute("PRAGMA busy_timeout = 100")
    try:
        with pytest.raises(CoreError, match="locked"):
            cmp.export_targets(conn, "c", out, ["name"], who="t")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("test.db")) == []
    assert (
        conn.execute("SELECT count(*) FROM campaign_audit WHERE action = 'export'").fetchone()[0]
        == 0
    )
    conn.close()


def test_audit_who_is_the_real_account_not_user_env(db, tmp_path, monkeypatch):
    _campaign(db)
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    monkeypatch.setenv("USERNAME", "mallory")
    assert run("campaign", "unmark", db, "c", "u4").exit_code == 0
    conn = open_db(db)
    who = conn.execute("SELECT who FROM campaign_audit ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.close()
    assert who == pwd.getpwuid(os.getuid()).pw_name != "mallory"


def _limited(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("command", ["users", "export"])
def test_full_disk_leaves_no_partial_file_and_says_so(db, tmp_path, command):
    """RLIMIT_FSIZE stands in for a full disk: the write fails part-way."""
    conn = open_db(db)
    conn.executemany(
        "INSERT INTO features(user_id, name) VALUES (?, ?)",
        [(f"x{i:05d}", "n" * 50) for i in range(20000)],
    )
    conn.executemany(
        "INSERT INTO users(user_id) VALUES (?)", [(f"x{i:05d}",) for i in range(20000)]
    )
    conn.close()
    _campaign(db)
    conn = open_db(db)
    cmp.mark(conn, "c", [f"x{i:05d}" for i in range(20000)], who="t")
    conn.close()
    out = tmp_path / "out" / "big.csv"
    out.parent.mkdir()
    args = (
        ["users", db, "-o", str(out)]
        if command == "users"
        else ["campaign", "export", db, "c", "-o", str(out), "--columns", "user_id,monetary"]
    )
    code = "import sys; from tui.cli import cli; sys.exit(cli(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        preexec_fn=_limited(150_000),
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"cannot write {out}" in result.stderr and "nothing was written" in result.stderr
    assert list(out.parent.iterdir()) == []  # no partial file, no temporary left


# --- terminal escapes in CLI output (item 7) -------------------------------------------------

ESCAPES = "\x1b]0;owned\x07\x9b2J\u202e"


def test_visible_makes_controls_visible():
    from core.views.text import visible

    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible(ESCAPES) == "\\x1b]0;owned\\x07\\u009b2J\\u202e"
    assert visible("l1\nl2\t", keep="\n") == "l1\nl2\\x09"
    assert visible("王芳 [red]") == "王芳 [red]"


def test_cli_output_shows_escapes_as_text(db):
    conn = open_db(db)
    cmp.create_campaign(conn, "c" + ESCAPES, offer="o" + ESCAPES, who="t")
    conn.close()
    for args in (["campaign", "show", db, "c" + ESCAPES], ["campaign", "list", db]):
        out = run(*args).output
        assert "c\\x1b]0;owned\\x07\\u009b2J\\u202e" in out, out
        assert not any(ch in out for ch in "\x1b\x07\x9b\u202e")
    result = run("campaign", "show", db, "nope\x1b[2J")  # the error line quotes user text
    assert result.exit_code == 2 and "nope\\x1b[2J" in result.stderr
    assert "\x1b" not in result.stderr


def test_users_json_on_a_terminal_stays_json_without_raw_controls(db):
    conn = open_db(db)
    conn.execute("UPDATE features SET name = ? WHERE user_id = 'u4'", ("A" + ESCAPES,))
    conn.close()
    result = run("users", db, "--format", "json")
    assert result.exit_code == 0
    assert not any(ch in result.output for ch in "\x1b\x07\x9b\u202e")
    import json

    names = {r["user_id"]: r["name"] for r in json.loads(result.output)}
    assert names["u4"] == "A" + ESCAPES  # the same value, escaped the JSON way


def test_visible_stream_on_a_terminal_keeps_newlines_escapes_the_rest():
    from tui.cli.common import VisibleStream

    real = io.StringIO()
    VisibleStream(real).write("x\x1b[2J\ty\n")
    assert real.getvalue() == "x\\x1b[2J\ty\n"


# --- the standing output-safety properties (hypothesis) ------------------------------------

HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from(list("=+-@\t\r\n\x1b\x07\x9b\u202e'\",;aZ0 9.e王")), max_size=12
) | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(HOSTILE_TEXT | st.floats(allow_nan=False) | st.integers(), min_size=1, max_size=5))
def test_no_csv_cell_reads_back_as_a_formula_and_nothing_is_lost(row):
    from core.store.outputs import _PLAIN_NUMBER, FORMULA_START

    out = io.StringIO()
    csv_writer(out, lineterminator="\n").writerow(row)
    (back,) = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert len(back) == len(row)
    for value, cell in zip(row, back, strict=True):
        if not isinstance(value, str):
            assert cell == str(value)  # numbers stay numbers
        elif cell.startswith(FORMULA_START):
            assert _PLAIN_NUMBER.fullmatch(cell) and cell == value
        else:
            assert cell in (value, "'" + value)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_visible_text_holds_no_control_character(text):
    from core.views.text import _CONTROL, visible

    shown = visible(text)
    assert not _CONTROL.search(shown)
    assert visible(shown) == shown  # already visible: unchanged


def test_escapes_stay_visible_on_an_ascii_terminal(db):
    """click re-wraps an ASCII stdout through its byte buffer: the filter must not be bypassed."""
    conn = open_db(db)
    cmp.create_campaign(conn, "王" + ESCAPES, who="t")
    conn.close()
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}
    code = "import sys; from tui.cli import cli; sys.exit(cli(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", code, "campaign", "list", db], capture_output=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert b"\\u738b\\x1b]0;owned\\x07\\u009b2J\\u202e" in result.stdout
    assert not any(ch in result.stdout for ch in (b"\x1b", b"\x07", b"\x9b"))
