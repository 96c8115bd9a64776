"""Long imports do not block operators (issue 12, item 13): the import reads, checks and stages
every row without the write lock and holds it only for the final copy; what the database holds
then (a concurrent import of the same users, a recompute's swap, new columns) is found there, and
a schema upgrade in between refuses the import."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from core.audience import campaigns as cmp
from core.errors import DatabaseError, InputError
from core.ingest import importer
from core.ingest.importer import import_files
from core.pipeline import recompute
from core.store.db import get_meta, open_db, set_meta

ROOT = Path(__file__).resolve().parents[2]
N_ORDERS = 30_000


def orders_file(path: Path, n: int = N_ORDERS) -> Path:
    with path.open("w") as f:
        f.write("order_id,user_id,amount,created_at\n")
        for i in range(n):
            f.write(f"x{i:05d},u{i % 3000:04d},{i % 97}.5,2024-06-{1 + i % 28:02d} 10:00:00\n")
    return path


# The import made long (> 4 s) by a pause in writing its rows (where a loaded machine spends
# its time), so that the test does not depend on this machine's speed: what is measured is
# whether the write lock is held meanwhile. The pause is in _executemany, which writes the
# stage here and wrote the database itself, inside the transaction, before the stage.
SLOW_CHILD = """
import sys, time
from core.ingest import importer
from core.store.db import open_db

original = importer._executemany
paused = []

def slow(*args):
    if not paused:
        paused.append(1)
        print("writing", flush=True)
        time.sleep(float(sys.argv[3]))
    return original(*args)

importer._executemany = slow
report = importer.import_files(open_db(sys.argv[1]), orders=sys.argv[2])
print("done", report.orders_inserted, report.users_created, flush=True)
"""


def test_marks_during_a_long_import_succeed_within_2_s(db_path, tmp_path):
    conn = open_db(db_path)
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(f"m{i}",) for i in range(3)])
    cmp.create_campaign(conn, "c", who="t")
    conn.close()
    path = orders_file(tmp_path / "o.csv")
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_CHILD, str(db_path), str(path), "4"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "writing"
        conn = open_db(db_path)
        took = []
        for uid in ("m0", "m1", "m2"):
            t = time.perf_counter()
            cmp.mark(conn, "c", [uid], who="t")
            took.append(time.perf_counter() - t)
            time.sleep(0.3)
        # the goal itself as the bound: a mark with the lock free takes milliseconds even on
        # this loaded machine; one kept waiting by the import waits for its 4 s pause
        assert max(took) < 2.0, took
        assert child.poll() is None  # the import was still running during the marks
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert out.strip() == f"done {N_ORDERS} 3000"
        assert conn.execute("SELECT count(*) FROM campaign_members").fetchone() == (3,)
        assert conn.execute("SELECT count(*), sum(amount) FROM orders").fetchone() == (
            N_ORDERS,
            sum(i % 97 + 0.5 for i in range(N_ORDERS)),
        )
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert time.perf_counter() - started < 60


def _between(monkeypatch, change) -> list[int]:
    """Run ``change(other_connection)`` after the import staged its rows, before its write."""
    original = importer._stage
    calls = []

    def stage(conn, *args):
        staged = original(conn, *args)
        if calls:  # the other connection's own import
            return staged
        calls.append(1)
        path = next(r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main")
        other = open_db(path)
        try:
            change(other)
        finally:
            other.close()
        return staged

    monkeypatch.setattr(importer, "_stage", stage)
    return calls


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_an_import_of_the_same_users_meanwhile_is_merged_not_lost(conn, tmp_path, monkeypatch):
    mine_u = write(tmp_path / "u.csv", "user_id,name,city,vip\nu1,Alice,,gold\nu2,Bob,Rome,\n")
    mine_o = write(
        tmp_path / "o.csv",
        "order_id,user_id,amount,created_at\no1,u1,5,2024-01-01\no2,u3,7,2024-01-02\n",
    )
    theirs_u = write(tmp_path / "t.csv", "user_id,name,city,vip\nu1,Al,Paris,silver\nu4,Dan,,\n")
    theirs_o = write(
        tmp_path / "to.csv",
        "order_id,user_id,amount,created_at\no1,u1,5,2024-01-01\no9,u4,1,2024-03-01\n",
    )
    calls = _between(
        monkeypatch, lambda other: import_files(other, users=theirs_u, orders=theirs_o)
    )
    report = import_files(conn, users=mine_u, orders=mine_o)
    assert calls == [1]
    users = conn.execute("SELECT user_id, name, city, vip FROM users ORDER BY user_id").fetchall()
    assert users == [
        ("u1", "Alice", "Paris", "gold"),  # the later import wins; its empty city erases nothing
        ("u2", "Bob", "Rome", None),
        ("u3", None, None, None),
        ("u4", "Dan", None, None),
    ]
    orders = conn.execute("SELECT * FROM orders ORDER BY order_id").fetchall()
    assert orders == [
        ("o1", "u1", 5.0, "2024-01-01 00:00:00"),
        ("o2", "u3", 7.0, "2024-01-02 00:00:00"),
        ("o9", "u4", 1.0, "2024-03-01 00:00:00"),
    ]
    # counted against the database as it was at the write: u1, vip and o1 came from the other
    assert (report.users_created, report.users_updated) == (2, 1)
    assert (report.orders_inserted, report.orders_updated) == (1, 0)
    assert report.columns_added == []
    assert get_meta(conn, "data_latest") == "2024-03-01"


def test_a_clashing_column_added_meanwhile_refuses_the_import(conn, tmp_path, monkeypatch):
    mine = write(tmp_path / "u.csv", "user_id,vip\nu1,gold\n")
    theirs = write(tmp_path / "t.csv", "user_id,VIP\nu2,x\n")
    _between(monkeypatch, lambda other: import_files(other, users=theirs))
    with pytest.raises(InputError, match="clashes with the existing attribute 'VIP'"):
        import_files(conn, users=mine)
    assert conn.execute("SELECT user_id FROM users").fetchall() == [("u2",)]


def test_a_schema_upgrade_meanwhile_refuses_the_import(conn, tmp_path, monkeypatch):
    path = write(tmp_path / "o.csv", "order_id,user_id,amount,created_at\no1,u1,5,2024-01-01\n")
    version = get_meta(conn, "schema_version")

    def upgrade(other):
        other.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version + "0",))

    _between(monkeypatch, upgrade)
    with pytest.raises(DatabaseError, match=r"Import refused, nothing imported: .*upgraded"):
        import_files(conn, orders=path)
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    assert get_meta(conn, "data_latest") is None
    names = {r[1] for r in conn.execute("PRAGMA database_list")}
    assert "import_stage" not in names  # the stage is detached whatever happens


def test_a_recompute_swap_meanwhile_is_seen_by_the_dirty_tracking(conn, tmp_path, monkeypatch):
    """The import's rows are dated before the features' date the recompute set during the
    staging: the triggers that recompute installed note them (features stale)."""
    first = write(
        tmp_path / "a.csv",
        "order_id,user_id,amount,created_at\na1,u1,5,2024-01-10\na2,u2,5,2024-01-10\n",
    )
    import_files(conn, orders=first)
    recompute(conn, date(2024, 1, 31))
    path = write(
        tmp_path / "o.csv",
        "order_id,user_id,amount,created_at\nb1,u1,5,2024-02-10\nb2,u2,5,2024-03-10\n",
    )
    _between(monkeypatch, lambda other: recompute(other, date(2024, 2, 29)))
    report = import_files(conn, orders=path)
    assert get_meta(conn, "features_as_of") == "2024-02-29"
    # b1 is dated after the old features' date (2024-01-31), before the new one's
    assert conn.execute("SELECT user_id FROM refresh_dirty").fetchall() == [("u1",)]
    assert get_meta(conn, "features_stale") == "1"
    assert report.features_as_of == date(2024, 2, 29)
    # the triggers' rows in refresh_dirty are not counted as updated orders or users
    assert (report.orders_inserted, report.orders_updated) == (2, 0)
    assert (report.users_created, report.users_updated) == (0, 0)


def test_counts_leave_out_the_rows_the_refresh_triggers_write(conn, tmp_path):
    """Imported rows dated before the features' end fire the dirty triggers (one row each in
    refresh_dirty): the report counts only the import's own changes."""
    path = write(
        tmp_path / "o.csv",
        "order_id,user_id,amount,created_at\no1,u1,5,2024-01-10\no2,u2,6,2024-01-11\n",
    )
    import_files(conn, orders=path)
    recompute(conn, date(2024, 1, 31))
    more = write(
        tmp_path / "m.csv",
        "order_id,user_id,amount,created_at\no1,u1,9,2024-01-10\no3,u3,1,2024-01-12\n"
        "o4,u1,2,2024-01-13\n",
    )
    report = import_files(conn, orders=more)
    assert (report.orders_inserted, report.orders_updated) == (2, 1)
    assert (report.users_created, report.users_updated) == (1, 0)
    dirty = conn.execute("SELECT user_id FROM refresh_dirty ORDER BY 1").fetchall()
    assert dirty == [("u1",), ("u3",)]
    # u1 is in refresh_dirty already: updating it (its trigger notes it again) is no error
    users = write(tmp_path / "u.csv", "user_id,city\nu1,Rome\nu2,\nu9,Oslo\n")
    report = import_files(conn, users=users)
    assert (report.users_created, report.users_updated) == (1, 1)
    assert conn.execute("SELECT city FROM users WHERE user_id = 'u1'").fetchone() == ("Rome",)
    events = write(tmp_path / "e.csv", "user_id,kind,created_at\nu1,login,2024-01-05\n")
    report = import_files(conn, events=events)
    assert (report.events_inserted, report.events_ignored, report.users_updated) == (1, 0, 0)


def test_the_final_copy_in_many_batches_gives_the_same_result(tmp_path, monkeypatch):
    """COPY_BATCH rows per INSERT ... SELECT: 7 rows a batch over 3,000 orders and 1,000 users
    stores and counts exactly what one batch does."""
    users = tmp_path / "u.csv"
    users.write_text("user_id,city\n" + "".join(f"u{i:04d},c{i % 5}\n" for i in range(0, 1000, 2)))
    path = orders_file(tmp_path / "o.csv", 3000)
    results = []
    for batch in (importer.COPY_BATCH, 7):
        monkeypatch.setattr(importer, "COPY_BATCH", batch)
        db = tmp_path / f"b{batch}.db"
        conn = open_db(db, create=True)
        set_meta(conn, "x", "y")
        first = import_files(conn, users=users)
        second = import_files(conn, users=users, orders=path)
        rows = (
            conn.execute("SELECT * FROM users ORDER BY user_id").fetchall(),
            conn.execute("SELECT * FROM orders ORDER BY order_id").fetchall(),
        )
        conn.close()
        results.append((first, second, rows))
    assert results[0] == results[1]
    first, second, _ = results[1]
    assert (first.users_created, second.users_created, second.users_updated) == (500, 2500, 0)
    assert second.orders_inserted == 3000


def test_user_id_need_not_be_the_first_column(conn, tmp_path):
    path = write(tmp_path / "u.csv", "name,user_id,city\nAnn,u2,Rome\nBob,u1,\n")
    report = import_files(conn, users=path)
    assert (report.users_created, report.users_updated) == (2, 0)
    again = write(tmp_path / "v.csv", "name,user_id,city\nAnn,u2,Oslo\nBob,u1,\n")
    report = import_files(conn, users=again)
    assert (report.users_created, report.users_updated) == (0, 1)
    rows = conn.execute("SELECT user_id, name, city FROM users ORDER BY user_id").fetchall()
    assert rows == [("u1", "Bob", None), ("u2", "Ann", "Oslo")]
