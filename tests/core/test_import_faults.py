"""Faults during an import (issue 12's standing suite): kill -9 at any moment, and a full disk
(RLIMIT_FSIZE in a child process). After each: SQLite's integrity check passes, foreign keys
hold, and the database holds either everything it held before or everything the import adds,
never a part. ``USEROPS_FAULT_KILLS=N`` kills N times (bench/reliability_import.py)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.ingest.importer import import_files
from core.store.db import open_db

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("USEROPS_FAULT_KILLS", "3"))
BIG_ROWS = 40_000


def big_orders(path: Path, n: int = BIG_ROWS) -> Path:
    with path.open("w") as f:
        f.write("order_id,user_id,amount,created_at,city\n")
        for i in range(n):
            f.write(f"x{i},u{i % 4000},{i % 97}.5,2024-0{1 + i % 9}-1{i % 10} 10:00:00,c{i % 7}\n")
    return path


def state(db: Path) -> dict[str, object]:
    """What the import can change, read through a fresh connection (after recovery)."""
    conn = sqlite3.connect(db)
    try:
        return {
            "integrity": conn.execute("PRAGMA integrity_check").fetchall(),
            "foreign_keys": conn.execute("PRAGMA foreign_key_check").fetchall(),
            "users": conn.execute("SELECT count(*), max(user_id) FROM users").fetchone(),
            "orders": conn.execute(
                "SELECT count(*), sum(amount), max(created_at) FROM orders"
            ).fetchone(),
            "meta": sorted(conn.execute("SELECT key, value FROM meta")),
            "indexes": sorted(conn.execute("SELECT name FROM sqlite_master WHERE type='index'")),
        }
    finally:
        conn.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return prepare(tmp_path_factory.mktemp("faults"))


def prepare(root: Path) -> tuple[Path, Path, dict, dict]:
    """(a database with a few rows, a big orders file, the state before, the state after)."""
    (root / "o.csv").write_text("order_id,user_id,amount,created_at\no1,1,5,2024-01-01\n")
    base = root / "base.db"
    conn = open_db(base, create=True)
    import_files(conn, orders=root / "o.csv")
    conn.close()
    big = big_orders(root / "big.csv")
    done = root / "done.db"
    done.write_bytes(base.read_bytes())
    conn = open_db(done)
    import_files(conn, orders=big)
    conn.close()
    before, after = state(base), state(done)
    assert before["integrity"] == [("ok",)] and after["orders"][0] == BIG_ROWS + 1
    return base, big, before, after


def child(*args: str, prelude: str = "") -> subprocess.Popen:
    code = prelude + "\nfrom tui.cli import cli\ncli(sys.argv[1:], prog_name='userops')\n"
    return subprocess.Popen(
        [sys.executable, "-c", "import sys\n" + code, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# The final copy (the one write transaction) in batches of 10,000 stage rows: after the second
# batch of orders (half of them, and every user) is written, the child stops and is killed.
STALL = """
import time
from core.ingest import importer
importer.COPY_BATCH = 10_000
real = importer._copy_rows
batches = []
def stalled(conn, statements, first, last):
    got = real(conn, statements, first, last)
    if "INTO orders" in statements[-1]:
        batches.append(first)
    if len(batches) == 2:
        assert conn.in_transaction
        print("half-way", flush=True)
        time.sleep(60)
    return got
importer._copy_rows = stalled
"""


def test_kill_in_the_middle_of_the_write_leaves_the_database_as_it_was(setup, tmp_path):
    base, big, before, after = setup
    db = tmp_path / "k.db"
    db.write_bytes(base.read_bytes())
    proc = child("import", str(db), "--orders", str(big), prelude=STALL)
    assert proc.stdout.readline().strip() == "half-way"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert Path(str(db) + "-wal").exists()  # the kill left half a transaction in the WAL
    assert state(db) == before
    conn = open_db(db)  # and the next import works and adds everything
    try:
        report = import_files(conn, orders=big)
    finally:
        conn.close()
    assert report.orders_inserted == BIG_ROWS
    assert state(db) == after


def test_kill_at_random_moments(setup, tmp_path):
    base, big, before, after = setup
    rng = random.Random(12)
    outcomes = {"before": 0, "after": 0}
    for i in range(KILLS):
        db = tmp_path / f"r{i}.db"
        db.write_bytes(base.read_bytes())
        proc = child("import", str(db), "--orders", str(big))
        time.sleep(rng.uniform(0.2, 2.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        got = state(db)
        assert got["integrity"] == [("ok",)] and got["foreign_keys"] == []
        assert got in (before, after), f"kill {i}: partial state {got}"
        outcomes["before" if got == before else "after"] += 1
    assert sum(outcomes.values()) == KILLS


FULL_DISK = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
"""


@pytest.mark.parametrize("room", [0, 256 * 1024])
def test_full_disk_during_import(setup, tmp_path, room):
    base, big, before, _ = setup
    db = tmp_path / "f.db"
    db.write_bytes(base.read_bytes())
    limit = db.stat().st_size + room
    proc = child(str(limit), "import", str(db), "--orders", str(big), prelude=FULL_DISK)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("userops: "), err
    assert "Traceback" not in err
    assert db.read_bytes() == base.read_bytes()
    assert state(db) == before


def test_full_disk_on_a_first_import_leaves_no_database(setup, tmp_path):
    _, big, _, _ = setup
    db = tmp_path / "new.db"
    proc = child(str(200_000), "import", str(db), "--orders", str(big), prelude=FULL_DISK)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []
