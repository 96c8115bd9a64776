"""Reliability: concurrent writers queue instead of losing marks; locked and read-only are clear."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.audience import campaigns as cmp
from core.errors import DatabaseError
from core.store.db import open_db

ROOT = Path(__file__).resolve().parents[2]
N_EACH = 200

# Each writer marks its own 200 users, one small transaction (and audit row) per mark, with a
# 1 ms pause like key presses (a tight loop starves the other writer: SQLite's busy wait is not
# fair, so the two would run one after the other). Each says it is ready (its imports done: they
# take a second or more on a loaded machine, and differ) and waits for a "go" file given once both
# are, so that their loops really overlap.
WRITER = """
import os, sys, time
from core.audience import campaigns as cmp
from core.store.db import open_db
conn = open_db(sys.argv[1])
prefix = sys.argv[2]
open(sys.argv[1] + ".ready-" + prefix, "w").close()
while not os.path.exists(sys.argv[1] + ".go"):
    time.sleep(0.002)
for i in range(int(sys.argv[3])):
    cmp.mark(conn, "race", [f"{prefix}{i:04d}"], who=prefix)
    time.sleep(0.001)
conn.close()
"""


def _setup(db_path: Path) -> None:
    conn = open_db(db_path)
    ids = [f"{p}{i:04d}" for p in ("a", "b") for i in range(N_EACH)]
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(u,) for u in ids])
    cmp.create_campaign(conn, "race", who="test")
    conn.close()


def test_two_processes_marking_concurrently_lose_no_marks(db_path):
    _setup(db_path)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db_path), prefix, str(N_EACH)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b")
    ]
    ready = [Path(f"{db_path}.ready-{prefix}") for prefix in ("a", "b")]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        assert all(w.poll() is None for w in writers), "a writer ended before it was ready"
        time.sleep(0.01)
    Path(f"{db_path}.go").touch()
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    conn = open_db(db_path)
    assert cmp.counts(conn, "race") == (2 * N_EACH, 0)
    n_marks = conn.execute(
        "SELECT who, count(*) FROM campaign_audit WHERE action = 'mark' GROUP BY who"
    ).fetchall()
    assert n_marks == [("a", N_EACH), ("b", N_EACH)]
    order = [
        r[0]
        for r in conn.execute("SELECT who FROM campaign_audit WHERE action = 'mark' ORDER BY id")
    ]
    switches = sum(1 for x, y in zip(order, order[1:], strict=False) if x != y)
    assert switches > 10  # the writes really interleaved (about 380 when measured)
    conn.close()


def test_locked_beyond_the_timeout_is_a_clear_error(db_path):
    _setup(db_path)
    holder = open_db(db_path)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    conn = open_db(db_path)
    conn.execute("PRAGMA busy_timeout = 100")  # do not wait the full 5 s in a test
    try:
        with pytest.raises(DatabaseError, match="locked"):
            cmp.mark(conn, "race", ["a0001"], who="test")
    finally:
        holder.execute("ROLLBACK")
    assert cmp.mark(conn, "race", ["a0001"], who="test").changed == ("a0001",)


def test_read_only_database_is_a_clear_error(db_path):
    _setup(db_path)
    conn = open_db(db_path, readonly=True)
    with pytest.raises(DatabaseError, match="read-only"):
        cmp.mark(conn, "race", ["a0001"], who="test")
    with pytest.raises(DatabaseError, match="read-only"):
        cmp.create_campaign(conn, "other", who="test")
    assert cmp.counts(conn, "race") == (0, 0)
