"""Faults get the right diagnosis (issue 12, items 10-12): read-only file or folder, a database
held exclusively by another process, not a database, damaged inside, a non-integer schema
version; ``userops check`` and ``userops backup``."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import core.store.db
from core.errors import DatabaseError
from core.pipeline import recompute
from core.store.db import open_db, set_meta
from tui.cli import cli

CLI = "import sys; from tui.cli import cli; sys.exit(cli(sys.argv[1:], prog_name='userops'))"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """300 users with orders, as of 2024-06-30, recomputed."""
    path = tmp_path / "shop.db"
    conn = open_db(path, create=True)
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(f"u{i:04d}",) for i in range(300)])
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [
            (f"o{i:05d}", f"u{i % 300:04d}", 10.0 + i % 7, f"2024-0{1 + i % 6}-1{i % 10}")
            for i in range(6000)
        ],
    )
    set_meta(conn, "as_of", "2024-06-30")
    recompute(conn)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def _damage(path: Path) -> None:
    """Overwrite the last third of the file's pages (orders and their index) with garbage; the
    first pages (schema, meta) stay sound, so the database still opens."""
    size = path.stat().st_size
    page = 8192
    pages = size // page
    with open(path, "r+b") as f:
        for n in range(pages * 2 // 3, pages):
            f.seek(n * page)
            f.write(bytes([0xA5]) * page)


# --- item 10: each fault says what it is --------------------------------------------------


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all" * 200)
    with pytest.raises(DatabaseError, match=r"junk.db: not a SQLite database"):
        open_db(path)


def test_locked_by_another_process_in_exclusive_mode(shop, monkeypatch):
    monkeypatch.setattr(core.store.db, "BUSY_TIMEOUT_MS", 200)
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA locking_mode = EXCLUSIVE')\n"
            "c.execute('BEGIN EXCLUSIVE'); c.execute('COMMIT')\n"
            "print('held', flush=True); time.sleep(30)\n"
        ), str(shop)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        for readonly in (False, True):
            with pytest.raises(DatabaseError, match="locked by another process") as err:
                open_db(shop, readonly=readonly)
            assert "not a SQLite database" not in str(err.value)
    finally:
        holder.kill()
        holder.wait()


def test_damaged_at_open_says_damaged(shop):
    with open(shop, "r+b") as f:  # page 1 holds the schema: damage its b-tree page header
        f.seek(100)
        f.write(b"\xff" * 40)
    with pytest.raises(DatabaseError, match=r"shop.db: the database is damaged \(database disk"):
        open_db(shop)
    result = run("check", str(shop))
    assert result.exit_code == 2 and "damaged" in result.output


def _read_only_run(target: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI with ``target`` (a file or a folder) read-only: by its mode for a normal
    user; for root, which ignores modes, by a read-only bind mount in a private mount
    namespace (read-only media, as far as the process can tell)."""
    command = [sys.executable, "-c", CLI, *args]
    if os.getuid() != 0:
        return subprocess.run(command, capture_output=True, text=True, timeout=60)
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare: cannot make a read-only medium")
    script = 'mount --bind -o ro "$1" "$1" || exit 97; shift; exec "$@"'
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, "sh", str(target), *command],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if result.returncode == 97 or "unshare failed" in result.stderr:
        pytest.skip("no mount namespace here: cannot make a read-only medium")
    return result


@pytest.mark.parametrize("readonly", ["file", "folder"])
def test_reads_work_on_a_read_only_file_or_folder_and_writes_say_read_only(
    shop, tmp_path, readonly
):
    folder = tmp_path / "media"
    folder.mkdir()
    path = folder / "ro.db"
    shutil.copy(shop, path)
    target = path if readonly == "file" else folder
    target.chmod(0o444 if readonly == "file" else 0o555)
    try:
        probe = _read_only_run(target, "segment", "count", str(path), "monetary > 0")
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.startswith("300 users")
        write = _read_only_run(target, "campaign", "create", str(path), "c")
        assert write.returncode == 2 and "Traceback" not in write.stderr, write.stderr
        assert "read-only" in write.stderr and "not a SQLite database" not in write.stderr
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


# --- item 11: damaged inside: a message, not a traceback; check and backup -------------------


def test_damage_inside_is_a_message_in_recompute_and_import(shop, tmp_path):
    _damage(shop)
    result = run("recompute", str(shop))
    out = one_line_error(result)
    assert "damaged" in out and "userops check" in out
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,user_id,amount,created_at\nz1,u0001,5,2024-06-01\n")
    result = run("import", str(shop), "--orders", str(orders))
    assert "damaged" in one_line_error(result)


def test_check_ok_and_damaged(shop, tmp_path):
    result = run("check", str(shop))
    assert result.exit_code == 0 and result.output.startswith(f"{shop}: ok (integrity_check, ")
    assert run("check", str(shop), "--quick").output.startswith(f"{shop}: ok (quick_check, ")
    _damage(shop)
    result = run("check", str(shop))
    assert result.exit_code == 2, result.output
    assert f"{shop}: damaged (integrity_check found" in result.output
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"x" * 5000)
    result = run("check", str(junk))
    assert result.exit_code == 2 and "not a SQLite database" in result.output


def test_backup_while_another_connection_writes(shop, tmp_path):
    app = open_db(shop)  # the app, open and in the middle of a write
    app.execute("BEGIN IMMEDIATE")
    app.execute("INSERT INTO users(user_id) VALUES ('uncommitted')")
    target = tmp_path / "copy.db"
    result = run("backup", str(shop), str(target))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"backed up {shop} to {target} (")
    app.execute("COMMIT")
    app.close()
    copy = open_db(target, readonly=True)
    assert copy.execute("SELECT count(*) FROM users").fetchone() == (300,)
    assert copy.execute("SELECT count(*) FROM features").fetchone() == (300,)
    copy.close()
    result = run("backup", str(shop), str(target))
    assert "exists already; pass --force" in one_line_error(result)
    assert run("backup", str(shop), str(target), "--force").exit_code == 0
    copy = open_db(target, readonly=True)
    assert copy.execute("SELECT count(*) FROM users").fetchone() == (301,)
    copy.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --- item 12: a non-integer schema_version ---------------------------------------------------


def test_non_integer_schema_version_is_a_clear_error(shop):
    raw = sqlite3.connect(shop)
    raw.execute("UPDATE meta SET value = 'two' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    for args in (["segment", "count", str(shop), "monetary > 0"], ["recompute", str(shop)]):
        out = one_line_error(run(*args))
        assert "schema_version is 'two', not a number" in out and str(shop) in out


def test_quick_check_and_backup_on_a_database_with_tags(shop, tmp_path):
    """SQLite 3.40's quick_check reports "NULL value in user_tags.user_id" on a sound
    user_tags (WITHOUT ROWID, key not in column order): not a fault to report."""
    conn = open_db(shop)
    conn.execute("INSERT INTO tag_rules VALUES ('big', 'result', 'monetary >= 100', '')")
    recompute(conn)
    assert conn.execute("SELECT count(*) FROM user_tags").fetchone()[0] > 0
    conn.close()
    result = run("check", str(shop), "--quick")
    assert result.exit_code == 0 and "ok (quick_check" in result.output, result.output
    result = run("backup", str(shop), str(tmp_path / "copy.db"))
    assert result.exit_code == 0, result.output
