"""How fast is `userops import` on 1M orders, against the floor of its two halves?

Run: /work/venv/bin/python bench/bench_import.py [N_ORDERS]

Generates a deterministic orders CSV (seed 7, 200k users) in a temp dir, then times, in one run:
  read_csv    pandas.read_csv(dtype=str) of the file alone (the parsing floor)
  bare load   read_csv + a bare executemany of the rows into a table without constraints/indexes
  import      core.ingest.importer.import_files into a new userops database (parse, check, upsert, index)
  re-import   the same file again (every row conflicts; nothing changes)
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.ingest.importer import import_files
from core.store.db import open_db

SEED = 7
N_USERS = 200_000


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


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "orders.csv"
        made, _ = timed("generate", lambda: make_orders(csv_path, n))
        print(f"{n:,} orders, {csv_path.stat().st_size / 1e6:.0f} MB CSV")
        read, _ = timed("read_csv", lambda: pd.read_csv(csv_path, dtype=str))
        bare, _ = timed("bare load", lambda: bare_executemany(csv_path, Path(tmp) / "bare.db"))
        conn = open_db(Path(tmp) / "bench.db", create=True)
        full, report = timed("import", lambda: import_files(conn, orders=csv_path))
        again, report2 = timed("re-import", lambda: import_files(conn, orders=csv_path))
        conn.close()
    assert report.orders_inserted == n and report2.orders_inserted == report2.orders_updated == 0
    print(f"users created {report.users_created:,}; as of {report.as_of}")
    print(f"import / read_csv          {full / read:5.1f}x")
    print(f"import / bare load         {full / bare:5.1f}x")
    print(f"orders per second          {n / full:,.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
