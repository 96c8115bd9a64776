"""`userops import` into SQLite and into DuckDB, side by side in one run (issue 17).

Run: .venv/bin/python bench/bench_import_engines.py [N_ORDERS ...]

bench_import.py's deterministic orders CSV (seed 7, 200k users) is made in a temp dir, then each
engine, one after the other, gets in a new database of its own:
  import      core.ingest.importer.import_files of the file (parse, check, stage, merge)
  re-import   the same file again (every row conflicts; nothing changes)
  + 10%       a tenth more orders (new ids, the same users)
Wall and CPU time (this process: DuckDB's threads included) of each, the load average before
and after, and the databases compared at the end (orders, users, the sum of the amounts): they
must be equal. DuckDB runs with memory_limit 3GB and 2 threads (a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import extra_orders, make_orders  # noqa: E402

from core.ingest.importer import import_files  # noqa: E402
from core.store.db import open_db  # noqa: E402
from core.store.duck import open_duckdb  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(label: str, fn) -> None:  # noqa: ANN001 - a tiny harness
    wall, used = time.perf_counter(), cpu()
    report = fn()
    wall, used = time.perf_counter() - wall, cpu() - used
    print(
        f"  {label:<10} {wall:7.2f} s wall {used:7.2f} s CPU  "
        f"(orders {report.orders_inserted:,} inserted, {report.orders_updated:,} updated)",
        flush=True,
    )


def run(engine: str, folder: Path, csv_path: Path, more: Path) -> tuple:
    if engine == "sqlite":
        conn = open_db(folder / "b.db", create=True)
    else:
        conn = open_duckdb(folder / "b.duckdb", create=True)
        conn.raw.execute("SET memory_limit = '3GB'")
        conn.raw.execute("SET threads = 2")
    print(f"{engine} (load {load()})", flush=True)
    try:
        timed("import", lambda: import_files(conn, orders=csv_path))
        timed("re-import", lambda: import_files(conn, orders=csv_path))
        timed("+ 10%", lambda: import_files(conn, orders=more))
        print(f"  load after: {load()}", flush=True)
        return conn.execute(
            "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM users), "
            "(SELECT round(sum(amount), 2) FROM orders)"
        ).fetchone()
    finally:
        conn.close()


def main(n: int) -> None:
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as tmp:
        folder = Path(tmp)
        csv_path, more = folder / "orders.csv", folder / "more.csv"
        make_orders(csv_path, n)
        extra_orders(more, n)
        print(f"{n:,} orders ({csv_path.stat().st_size / 1e6:.0f} MB CSV), + {n // 10:,}")
        results = {engine: run(engine, folder, csv_path, more) for engine in ("sqlite", "duckdb")}
        same = results["sqlite"] == results["duckdb"]
        print(f"orders, users, sum of amounts: {results['sqlite']} {'same' if same else 'DIFFER'}")
        print(f"  duckdb: {results['duckdb']}" if not same else "", end="")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="*", type=int, default=[1_000_000])
    for count in parser.parse_args().n:
        main(count)
