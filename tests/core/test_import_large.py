"""A large first import keeps each write transaction short (issue 12, item 13): orders and events
for an empty table are built beside it, as hidden tables, in chunks of short transactions that
other writers get in between, and swapped in by one short final transaction. Readers see
nothing before it; a failure or a kill -9 between chunks leaves the visible tables as they were,
and the next import drops what a killed one left. Small settings (LARGE_ROWS, CHUNK_ROWS) make
these small files take that path; the results are the small path's, exactly."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from core.audience import campaigns as cmp
from core.ingest import importer
from core.ingest.importer import import_files
from core.pipeline import recompute
from core.store.db import get_meta, open_db

ROOT = Path(__file__).resolve().parents[2]
N_ORDERS, N_EVENTS, CHUNK = 3000, 2000, 700  # 5 chunks of orders, 3 of events


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def orders_file(path: Path, n: int = N_ORDERS, prefix: str = "x") -> Path:
    with path.open("w") as f:
        f.write("order_id,user_id,amount,created_at,city\n")
        for i in range(n):
            f.write(
                f"{prefix}{i:05d},u{i % 300:04d},{i % 97}.5,2024-0{1 + i % 6}-{1 + i % 28:02d} "
                f"10:00:00,c{i % 7}\n"
            )
    return path


def events_file(path: Path, n: int = N_EVENTS) -> Path:
    with path.open("w") as f:
        f.write("user_id,kind,created_at,value\n")
        for i in range(n):  # every 10th row repeats the one before: 1,800 distinct events
            j = i - 1 if i % 10 == 9 else i
            kind = ("login", "view", "cart")[j % 3]
            f.write(f"u{j % 400:04d},{kind},2024-0{1 + j % 7}-{1 + j % 28:02d} 0{j % 10}:00:00,")
            f.write(f"{'sku' + str(j % 5) if kind == 'view' else ''}\n")
    return path


@pytest.fixture
def large(monkeypatch):
    """Files of thousands of rows take the large path, in chunks of CHUNK rows, no pause."""
    monkeypatch.setattr(importer, "LARGE_ROWS", 1000)
    monkeypatch.setattr(importer, "CHUNK_ROWS", CHUNK)
    monkeypatch.setattr(importer, "CHUNK_PAUSE", 0)
    monkeypatch.setattr(importer, "CHUNK_SECONDS", 0)  # chunks of CHUNK rows, not timed
    chunks: list[tuple[str, int]] = []
    original = importer._between_chunks

    def count(conn, table, done):
        chunks.append((table, done))
        original(conn, table, done)

    monkeypatch.setattr(importer, "_between_chunks", count)
    return chunks


def snapshot(conn: sqlite3.Connection) -> dict[str, object]:
    """Everything an import can change, and the schema (without root pages)."""
    return {
        "schema": conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall(),
        **{
            t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in ("users", "orders", "events", "meta", "refresh_dirty", "column_flags")
        },
        "integrity": conn.execute("PRAGMA integrity_check").fetchall(),
        "foreign_keys": conn.execute("PRAGMA foreign_key_check").fetchall(),
    } | {  # less the recompute's wall-clock time (metadata only)
        "meta": conn.execute(
            "SELECT * FROM meta WHERE key != 'features_computed_at' ORDER BY key"
        ).fetchall()
    }


def strays(conn: sqlite3.Connection) -> list[str]:
    """The build tables in the database (with their indexes: an index is named after its
    build, so no index without its table is left either)."""
    found = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE name LIKE 'uo\\_import\\_%' ESCAPE '\\'"
    ).fetchall()
    tables = [name for kind, name in found if kind == "table"]
    assert all(name.split("__")[0] in tables for _, name in found)
    return tables


def both_paths(tmp_path, monkeypatch, chunks, steps):
    """Run ``steps(conn)`` (imports, recomputes) on a new database with the small path and
    with the large one; returns (the results and snapshots of each)."""
    out = []
    for name, rows in (("small", 10**9), ("large", 1000)):
        monkeypatch.setattr(importer, "LARGE_ROWS", rows)
        conn = open_db(tmp_path / f"{name}.db", create=True)
        result = steps(conn)
        out.append((result, snapshot(conn)))
        conn.close()
    return out


def test_the_large_path_stores_and_counts_what_the_small_path_does(tmp_path, monkeypatch, large):
    orders, events = orders_file(tmp_path / "o.csv"), events_file(tmp_path / "e.csv")
    users = write(tmp_path / "u.csv", "user_id,name,city\nu0001,Ann,Rome\nz9,Zed,\n")

    def steps(conn):
        return import_files(
            conn, users=users, orders=orders, events=events, user_columns={"city": "city"}
        )

    (small, before), (big, after) = both_paths(tmp_path, monkeypatch, large, steps)
    assert big == small
    assert after == before  # rows, meta, schema text: byte for byte the small path's
    assert (big.orders_inserted, big.events_inserted, big.events_ignored) == (3000, 1800, 200)
    # 300 order users, 90 more from events (no id ending in 9 there), z9; u0001 gets a city
    assert (big.users_created, big.users_updated) == (391, 1)
    assert after["integrity"] == [("ok",)] and after["foreign_keys"] == []
    assert large.count(("orders", 3000)) == 1 and len(large) == 5 + 3  # 5 + 3 chunks
    conn = open_db(tmp_path / "large.db")
    assert strays(conn) == []
    # the indexes are the schema's, under their names: queries that name them work
    sql = "SELECT count(*) FROM orders INDEXED BY orders_time WHERE created_at >= '2024-06-01'"
    assert conn.execute(sql).fetchone() == (500,)
    sql = "SELECT count(*) FROM events INDEXED BY events_kind_time WHERE kind = 'view'"
    assert conn.execute(sql).fetchone() == (600,)
    # and the next (small) import finds the usual schema: a re-import changes nothing
    again = import_files(conn, orders=orders)
    assert (again.orders_inserted, again.orders_updated) == (0, 0)


def test_features_computed_before_a_first_import_of_orders(tmp_path, monkeypatch, large):
    """Users imported and computed first: the refresh's triggers are on the empty orders table.
    The swapped-in table gets them back, and refresh_dirty what they would have noted."""
    users = write(tmp_path / "u.csv", "user_id\n" + "".join(f"u{i:04d}\n" for i in range(350)))
    orders = orders_file(tmp_path / "o.csv")
    later = write(tmp_path / "l.csv", "order_id,user_id,amount,created_at\nl1,u0007,1,2024-01-02\n")

    def steps(conn):
        import_files(conn, users=users)
        recompute(conn, date(2024, 3, 31))
        first = import_files(conn, orders=orders)
        second = import_files(conn, orders=later)  # fires the recreated triggers
        return first, second

    (small, before), (big, after) = both_paths(tmp_path, monkeypatch, large, steps)
    assert big == small and after == before
    dirty = after["refresh_dirty"]
    assert len(dirty) == 150  # every user with an order dated before 2024-04-01 (k % 6 < 3)
    triggers = [row[1] for row in after["schema"] if row[0] == "trigger" and row[2] == "orders"]
    assert triggers == [
        "uo_dirty_orders_delete",
        "uo_dirty_orders_insert",
        "uo_dirty_orders_update",
    ]


def test_another_writer_gets_the_lock_between_chunks_and_readers_see_nothing(
    db_path, tmp_path, large, monkeypatch
):
    conn = open_db(db_path)
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(f"m{i}",) for i in range(5)])
    cmp.create_campaign(conn, "c", who="t")
    path = orders_file(tmp_path / "o.csv")
    seen = []

    def between(conn_, table, done):
        assert not conn_.in_transaction  # the build's transaction is committed
        other = open_db(db_path)
        other.execute("PRAGMA busy_timeout = 0")  # the lock free now, or an error at once
        try:
            cmp.mark(other, "c", [f"m{len(seen)}"], who="t")
            seen.append(other.execute("SELECT count(*) FROM orders").fetchone()[0])
        finally:
            other.close()

    monkeypatch.setattr(importer, "_between_chunks", between)
    report = import_files(conn, orders=path)
    assert seen == [0, 0, 0, 0, 0]  # five marks, one after each chunk; no order visible yet
    assert report.orders_inserted == N_ORDERS
    assert conn.execute("SELECT count(*) FROM campaign_members").fetchone() == (5,)
    assert conn.execute("SELECT count(*), sum(amount) FROM orders").fetchone() == (
        N_ORDERS,
        sum(i % 97 + 0.5 for i in range(N_ORDERS)),
    )


class Interrupted(BaseException):
    """A BaseException, as KeyboardInterrupt is (which the test runner would take for its own)."""


def test_an_error_between_chunks_leaves_the_tables_as_they_were(conn, tmp_path, monkeypatch, large):
    import_files(conn, users=write(tmp_path / "u.csv", "user_id,city\nu0001,Rome\n"))
    before = snapshot(conn)
    path = orders_file(tmp_path / "o.csv")

    def fail(conn_, table, done):
        if done >= 2 * CHUNK:
            raise Interrupted  # like Ctrl-C half-way through the build (not an Exception)

    monkeypatch.setattr(importer, "_between_chunks", fail)
    with pytest.raises(Interrupted):
        import_files(conn, orders=path)
    assert snapshot(conn) == before  # the build is dropped on the way out
    assert "import_stage" not in {r[1] for r in conn.execute("PRAGMA database_list")}
    monkeypatch.setattr(importer, "_between_chunks", lambda *a: None)
    assert import_files(conn, orders=path).orders_inserted == N_ORDERS


def test_a_failure_after_the_swap_rolls_the_swap_back(conn, db_path, tmp_path, monkeypatch, large):
    """The final transaction fails after the rename and the indexes' new names: all of it rolls
    back (the schema too, for this connection and others), and the build is dropped."""
    import_files(conn, users=write(tmp_path / "u.csv", "user_id,city\nu0001,Rome\n"))
    before = snapshot(conn)
    reader = open_db(db_path)
    sql = "SELECT count(*) FROM orders INDEXED BY orders_time"
    assert reader.execute(sql).fetchone() == (0,)  # prepared now: must see the schema change

    def fail(conn_, staged=None):
        assert conn_.execute(sql).fetchone() == (N_ORDERS,)  # swapped in, inside the transaction
        raise OSError("disk full")

    original = importer._refresh_as_of
    monkeypatch.setattr(importer, "_refresh_as_of", fail)
    with pytest.raises(OSError, match="disk full"):
        import_files(conn, orders=orders_file(tmp_path / "o.csv"))
    assert snapshot(conn) == before and strays(conn) == []
    assert reader.execute(sql).fetchone() == (0,) and conn.execute(sql).fetchone() == (0,)
    monkeypatch.setattr(importer, "_refresh_as_of", original)
    chunks = len(large)
    assert import_files(conn, orders=orders_file(tmp_path / "o.csv")).orders_inserted == N_ORDERS
    assert len(large) == chunks + 5  # the large path again
    assert reader.execute(sql).fetchone() == (N_ORDERS,)
    reader.close()


def test_an_import_meanwhile_is_merged_by_the_small_path(tmp_path, monkeypatch, large):
    """Another import writes orders during the build: the visible table is no longer empty,
    so the swap is not done and the staged rows are merged into it (the later import wins)."""
    mine = orders_file(tmp_path / "o.csv")
    theirs = write(
        tmp_path / "t.csv",
        "order_id,user_id,amount,created_at\nx00001,u0001,99,2024-02-02\nt1,u0999,5,2024-12-01\n",
    )

    def sequential(conn):
        first = import_files(conn, orders=theirs)
        return first, import_files(conn, orders=mine)

    (_, expected), _ = both_paths(tmp_path, monkeypatch, large, sequential)
    conn = open_db(tmp_path / "c.db", create=True)
    calls = []

    def between(conn_, table, done):
        if not calls:
            calls.append(1)
            other = open_db(tmp_path / "c.db")
            import_files(other, orders=theirs)  # small: below LARGE_ROWS
            other.close()

    monkeypatch.setattr(importer, "_between_chunks", between)
    report = import_files(conn, orders=mine)
    assert calls == [1]
    assert (report.orders_inserted, report.orders_updated) == (N_ORDERS - 1, 1)
    assert snapshot(conn) == expected
    assert get_meta(conn, "data_latest") == "2024-12-01"
    assert strays(conn) == []


def test_a_recompute_meanwhile_is_seen_at_the_swap(tmp_path, monkeypatch, large):
    """The recompute installs the refresh's triggers on the empty table during the build:
    the swap recreates them and notes the dirty users for that recompute's date."""
    users = write(tmp_path / "u.csv", "user_id\n" + "".join(f"u{i:04d}\n" for i in range(300)))
    conn = open_db(tmp_path / "r.db", create=True)
    import_files(conn, users=users)
    calls = []

    def between(conn_, table, done):
        if not calls:
            calls.append(1)
            other = open_db(tmp_path / "r.db")
            recompute(other, date(2024, 2, 29))
            other.close()

    monkeypatch.setattr(importer, "_between_chunks", between)
    report = import_files(conn, orders=orders_file(tmp_path / "o.csv"))
    assert calls == [1] and report.features_as_of == date(2024, 2, 29)
    # the users with an order dated in January or February (i % 6 in 0, 1)
    dirty = {u for (u,) in conn.execute("SELECT user_id FROM refresh_dirty")}
    assert dirty == {f"u{i % 300:04d}" for i in range(N_ORDERS) if i % 6 in (0, 1)}
    assert get_meta(conn, "features_stale") == "1"
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name='orders'")}
    assert {"uo_dirty_orders_insert", "orders_time", "orders_user_time_amount"} <= names


# A child import that stops after its second chunk of orders (two committed transactions of
# the hidden build table), until killed.
KILLED = """
import time
from core.ingest import importer
importer.LARGE_ROWS, importer.CHUNK_ROWS, importer.CHUNK_PAUSE = 1000, 700, 0
importer.CHUNK_SECONDS = 0
def between(conn, table, done):
    if done >= 1400:
        assert not conn.in_transaction
        print("between chunks", flush=True)
        time.sleep(60)
importer._between_chunks = between
"""


def visible(db: Path) -> dict[str, object]:
    conn = sqlite3.connect(db)
    try:
        got = snapshot(conn)
        got["schema"] = [row for row in got["schema"] if not row[2].startswith("uo_import_")]
        # a build's rows name users the swap creates: a build left by a kill fails the check
        got["foreign_keys"] = [r for r in got["foreign_keys"] if not r[0].startswith("uo_import_")]
        return got
    finally:
        conn.close()


def test_kill_between_chunks_then_the_next_import_cleans_up(tmp_path):
    db = tmp_path / "k.db"
    conn = open_db(db, create=True)
    import_files(conn, users=write(tmp_path / "u.csv", "user_id,city\nu0001,Rome\n"))
    conn.close()
    before = visible(db)
    path = orders_file(tmp_path / "o.csv")
    code = (
        "import sys\n"
        + KILLED
        + "\nfrom tui.cli import cli\ncli(sys.argv[1:], prog_name='userops')\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "import", str(db), "--orders", str(path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "between chunks"
        conn = open_db(db)
        assert len(strays(conn)) == 1  # the build, alive: another import leaves it alone
        import_files(conn, users=write(tmp_path / "v.csv", "user_id\nu0002\n"))
        assert len(strays(conn)) == 1
        conn.close()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    conn = open_db(db)
    import_files(conn, users=write(tmp_path / "w.csv", "user_id\nu0002\n"))  # nothing new
    conn.close()
    # u0002 came from the import made while the build ran; nothing of the killed one is seen
    got = visible(db)
    assert got["users"] == [("u0001", None, None, "Rome", None, None, None, None, None),
                            ("u0002", None, None, None, None, None, None, None, None)]  # fmt: skip
    assert {k: v for k, v in got.items() if k != "users"} == {
        k: v for k, v in before.items() if k != "users"
    }
    conn = open_db(db)
    assert strays(conn) == []  # the killed import's build, dropped by that import
    report = import_files(conn, orders=path)
    assert report.orders_inserted == N_ORDERS
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_a_build_left_by_a_process_of_this_one_is_dropped(conn, tmp_path, monkeypatch, large):
    """An earlier import of this process that could not drop its build (e.g. the lock not
    got): not a live build, so the next import drops it."""
    monkeypatch.setattr(importer, "_drop_tables", lambda conn_, names: None)
    monkeypatch.setattr(importer, "_between_chunks", _raise_at_second_chunk)
    with pytest.raises(RuntimeError):
        import_files(conn, orders=orders_file(tmp_path / "o.csv"))
    assert len(strays(conn)) == 1 and not importer._LIVE_BUILDS
    monkeypatch.undo()
    import_files(conn, users=write(tmp_path / "u.csv", "user_id\nu1\n"))
    assert strays(conn) == []


def _raise_at_second_chunk(conn, table, done):
    if done >= 2 * CHUNK:
        raise RuntimeError("stop")


def test_no_scan_of_the_tables_for_the_latest_date_under_the_lock(conn, tmp_path):
    """The new latest date is the later of the stored one and the staged rows' (events has no
    index on created_at: its max was a scan of the table inside the write transaction)."""
    first = write(tmp_path / "e.csv", "user_id,kind,created_at\nu1,login,2024-05-01\n")
    import_files(conn, events=first)
    statements = []
    conn.set_trace_callback(statements.append)
    second = write(tmp_path / "f.csv", "user_id,kind,created_at\nu2,login,2024-03-01\n")
    report = import_files(conn, events=second)
    conn.set_trace_callback(None)
    assert report.as_of == date(2024, 5, 1)
    assert not [s for s in statements if "max(created_at)" in s and "events" in s]
    third = write(tmp_path / "g.csv", "user_id,kind,created_at\nu2,view,2024-06-09 10:00:00\n")
    assert import_files(conn, events=third).as_of == date(2024, 6, 9)
    assert get_meta(conn, "data_latest") == "2024-06-09"


KILLS = int(os.environ.get("USEROPS_FAULT_KILLS", "3"))
# A large-path import of 40,000 orders in ten chunks of 4,000 rows, 0.1 s apart (~2 s).
RANDOM = """
from core.ingest import importer
importer.LARGE_ROWS, importer.CHUNK_ROWS, importer.CHUNK_SECONDS = 1000, 4000, 0
"""


def test_kill_at_random_moments_of_a_large_import(tmp_path):
    """kill -9 anywhere (reading, staging, the build's chunks, the swap, the commit): the
    visible tables are those from before or those of the complete import, never a part, and
    the next import leaves no build behind."""
    base, done = tmp_path / "base.db", tmp_path / "done.db"
    users = write(tmp_path / "u.csv", "user_id,city\nu0001,Rome\n")
    for db in (base, done):
        conn = open_db(db, create=True)
        import_files(conn, users=users)
        conn.close()
    path = orders_file(tmp_path / "o.csv", 40_000)
    conn = open_db(done)
    import_files(conn, orders=path)  # the small path: the same rows
    conn.close()
    before, after = visible(base), visible(done)
    code = (
        "import sys\n"
        + RANDOM
        + "\nfrom tui.cli import cli\ncli(sys.argv[1:], prog_name='userops')\n"
    )
    rng = random.Random(5)
    outcomes, builds = [], 0
    for i in range(KILLS):
        db = tmp_path / f"r{i}.db"
        shutil.copyfile(base, db)
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "import", str(db), "--orders", str(path)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.5, 4.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        got = visible(db)
        assert got["integrity"] == [("ok",)] and got["foreign_keys"] == []
        assert got in (before, after), [
            (k, set(v) ^ set(before[k]), set(v) ^ set(after[k]))
            for k, v in got.items()
            if v not in (before[k], after[k])
        ]
        outcomes.append("before" if got == before else "after")
        conn = open_db(db)
        builds += bool(strays(conn))  # killed during the build
        import_files(conn, users=users)  # nothing new; drops what the kill left
        assert strays(conn) == []
        conn.close()
        assert visible(db) == got
    print(f"kill -9 during a large import: {KILLS} tried, {outcomes.count('before')} before, "
          f"{outcomes.count('after')} complete, 0 partial; {builds} left a build")  # fmt: skip


def test_the_usual_path_where_the_large_one_cannot_be_taken(conn, tmp_path, monkeypatch, large):
    """A table with rows, a batch below LARGE_ROWS, or a SQLite whose schema table this
    connection cannot write (SQLITE_DBCONFIG_DEFENSIVE): no build, the usual copy."""
    import_files(conn, orders=write(tmp_path / "a.csv", "order_id,user_id,amount,created_at\n"
                                    "a1,u1,5,2024-01-01\n"))  # fmt: skip
    assert import_files(conn, orders=orders_file(tmp_path / "o.csv")).orders_inserted == N_ORDERS
    assert large == []  # orders has rows
    other = open_db(tmp_path / "o.db", create=True)
    assert import_files(other, events=events_file(tmp_path / "e.csv", 999)).events_inserted
    assert large == []  # 999 rows, below LARGE_ROWS
    monkeypatch.setattr(importer, "_schema_writable", lambda conn_: False)
    assert import_files(other, orders=orders_file(tmp_path / "o.csv")).orders_inserted == N_ORDERS
    assert large == []
    other.close()
    monkeypatch.undo()
    assert importer._schema_writable(conn) is True  # this SQLite: the large path is open
    assert conn.execute("PRAGMA writable_schema").fetchone() == (0,)  # and left off
