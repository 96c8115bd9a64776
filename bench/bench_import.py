"""How fast is `userops import` on 1M orders, against the floor of its two halves, and how long
does it hold the write lock (what a mark made meanwhile waits)?

Run: .venv/bin/python bench/bench_import.py [N_ORDERS ...] [--before REV]

Generates a deterministic orders CSV (seed 7, 200k users) in a temp dir, then times, in one run:
  read_csv    pandas.read_csv(dtype=str) of the file alone (the parsing floor)
  bare load   read_csv + a bare executemany of the rows into a table without constraints/indexes
  import      core.ingest.importer.import_files into a new userops database (parse, check, upsert, index)
  re-import   the same file again (every row conflicts; nothing changes)
  + 10%       a tenth more orders (new ids, the same users) into the database of the import
  + 10% dirty another tenth, with the refresh's dirty triggers installed (as after a recompute
              as of 2025-12-31: every row is before the features' date and fires them)
and, for each import, the write lock: "held" is the longest of the importer's write
transactions (BEGIN IMMEDIATE to COMMIT; a large first import has one per chunk of its build,
then the swap: their number and total are shown too), "wait" the longest a second process trying
BEGIN IMMEDIATE every 10 ms was refused, the database file's size after it and the largest its WAL was meanwhile (a transaction's pages
are all in the WAL until a checkpoint after its commit: disk needed besides the file).
With --before REV (default 2fbd067, before the large first-import path), the importer of that
commit runs the same imports on the same file first: before/after in one run. Several N_ORDERS
run one after another.
"""

from __future__ import annotations

import argparse
import importlib.util
import sqlite3
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from core.ingest import importer
from core.pipeline import install_dirty_triggers
from core.store.db import open_db

SEED = 7
N_USERS = 200_000
ROOT = Path(__file__).resolve().parents[1]
BEFORE = "2fbd067"  # the last commit before the large path (23c2866: before the staging)

# A second writer: BEGIN IMMEDIATE every 10 ms without waiting; prints the longest stretch of
# refusals (seconds) and the largest size the WAL file had (bytes) when its stdin closes.
PROBE = """
import os, sqlite3, sys, threading, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
longest, since, wal = 0.0, None, 0
print("probing", flush=True)
while not stop.is_set():
    now = time.perf_counter()
    try:
        wal = max(wal, os.stat(sys.argv[1] + "-wal").st_size)
    except OSError:
        pass
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        if since is not None:
            longest, since = max(longest, now - since), None
    except sqlite3.OperationalError:
        since = now if since is None else since
    time.sleep(0.01)
if since is not None:
    longest = max(longest, time.perf_counter() - since)
print(longest, wal, flush=True)
"""


def make_orders(path: Path, n: int) -> None:
    rng = np.random.default_rng(SEED)
    users = rng.zipf(1.3, n) % N_USERS  # long tail: a few heavy buyers
    seconds = rng.integers(0, 2 * 365 * 86400, n)
    created = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.sort(seconds), unit="s")
    pd.DataFrame(
        {
            "order_id": [f"o{i:07d}" for i in range(n)],
            "user_id": [f"{u:06d}" for u in users],
            "amount": np.round(rng.lognormal(4.0, 1.0, n), 2),
            "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
        }
    ).to_csv(path, index=False)


def timed(label: str, fn):  # noqa: ANN001, ANN201 - a tiny harness
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<12} {seconds:7.2f} s", flush=True)
    return seconds, result


def bare_executemany(csv_path: Path, db_path: Path) -> None:
    df = pd.read_csv(csv_path, dtype=str)
    rows = list(zip(*(df[c].tolist() for c in df.columns), strict=True))
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE bare(order_id, user_id, amount, created_at)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO bare VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.close()


def extra_orders(path: Path, n: int, part: int = 0) -> None:
    """A tenth more orders: ids after the file's (and after ``part`` tenths already made),
    users of the same population."""
    rng = np.random.default_rng(SEED + 1 + part)
    k = n // 10
    n += part * k
    users = rng.zipf(1.3, k) % N_USERS
    seconds = np.sort(rng.integers(0, 30 * 86400, k))
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(seconds, unit="s")
    pd.DataFrame(
        {
            "order_id": [f"o{i:07d}" for i in range(n, n + k)],
            "user_id": [f"{u:06d}" for u in users],
            "amount": np.round(rng.lognormal(4.0, 1.0, k), 2),
            "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
        }
    ).to_csv(path, index=False)


def old_importer(rev: str) -> types.ModuleType:
    """core/ingest/importer.py as it was at ``rev`` (readers and store of today)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:core/ingest/importer.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    spec = importlib.util.spec_from_loader(f"importer_{rev}", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"importer@{rev}", "exec"), module.__dict__)  # noqa: S102 - our own file
    return module


@contextmanager
def lock_watch(module: types.ModuleType, db: Path, held: list[float]) -> Iterator[list[float]]:
    """Time ``module``'s write transactions (into ``held``) and run the probe beside; yields a
    list that gets the probe's longest wait."""
    real = module.transaction

    @contextmanager
    def timed(conn):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        try:
            with real(conn) as c:
                yield c
        finally:
            held.append(time.perf_counter() - start)

    module.transaction = timed
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert probe.stdout.readline().strip() == "probing"
    wait: list[float] = []
    try:
        yield wait
    finally:
        module.transaction = real
        out, _ = probe.communicate("", timeout=60)
        longest, wal = out.split()
        wait.extend([float(longest), int(wal)])


def imports(module: types.ModuleType, label: str, csv_path: Path, more: list[Path], db: Path):  # noqa: ANN201
    """import, re-import, + 10%, + 10% with the refresh's triggers, with ``module``; returns
    [(name, seconds, held, wait, report)]."""
    open_db(db, create=True).close()
    rows = []
    runs = (
        ("import", csv_path),
        ("re-import", csv_path),
        ("+ 10%", more[0]),
        ("+ 10% dirty", more[1]),
    )
    for name, path in runs:
        conn = open_db(db)
        if name == "+ 10% dirty":  # the refresh's triggers, as after a recompute; every row fires
            install_dirty_triggers(conn, date(2025, 12, 31))
        held: list[float] = []
        with lock_watch(module, db, held) as wait:
            start = time.perf_counter()
            report = module.import_files(conn, orders=path)
            seconds = time.perf_counter() - start
        conn.close()
        rows.append((name, seconds, max(held, default=0.0), wait[0], report))
        size, wal_size = db.stat().st_size, wait[1]
        print(
            f"{label:<7} {name:<12} {seconds:7.2f} s   write lock held {max(held):6.2f} s "
            f"(longest of {len(held)}, total {sum(held):6.2f} s)   longest wait of another "
            f"writer {wait[0]:6.2f} s   file {size / 1e6:4.0f} MB + WAL {wal_size / 1e6:4.0f} MB",
            flush=True,
        )
    return rows


def main(n: int, before: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "orders.csv"
        more = [Path(tmp) / "more.csv", Path(tmp) / "more2.csv"]
        made, _ = timed(
            "generate",
            lambda: (
                make_orders(csv_path, n),
                extra_orders(more[0], n),
                extra_orders(more[1], n, 1),
            ),
        )
        print(f"{n:,} orders, {csv_path.stat().st_size / 1e6:.0f} MB CSV; + {n // 10:,} more")
        read, _ = timed("read_csv", lambda: pd.read_csv(csv_path, dtype=str))
        bare, _ = timed("bare load", lambda: bare_executemany(csv_path, Path(tmp) / "bare.db"))
        old = []
        if before:
            old = imports(old_importer(before), "before", csv_path, more, Path(tmp) / "b.db")
        new = imports(importer, "after", csv_path, more, Path(tmp) / "a.db")
    (_, full, _, _, report), (_, again, _, _, report2), (_, _, _, _, report3), *_ = new
    assert report.orders_inserted == n and report2.orders_inserted == report2.orders_updated == 0
    assert report3.orders_inserted == n // 10
    print(f"users created {report.users_created:,}; as of {report.as_of}")
    print(f"import / read_csv          {full / read:5.1f}x")
    print(f"import / bare load         {full / bare:5.1f}x")
    print(f"orders per second          {n / full:,.0f}")
    for (name, t0, h0, w0, _), (_, t1, h1, w1, _) in zip(old, new, strict=False):
        print(
            f"{name:<12} after/before: total {t1 / t0:4.2f}x, write lock {h1 / h0:4.2f}x "
            f"({h0:.2f} -> {h1:.2f} s), longest wait {w0:.2f} -> {w1:.2f} s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="*", type=int, default=[1_000_000])
    parser.add_argument("--before", default=BEFORE, help="git revision of the baseline importer")
    parser.add_argument("--no-before", dest="before", action="store_const", const=None)
    args = parser.parse_args()
    for n in args.n:
        main(n, args.before)
