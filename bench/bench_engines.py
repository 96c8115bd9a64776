"""Benchmark: segment counts from the raw events and orders on SQLite and on its DuckDB and chDB
(ClickHouse in-process) copies, side by side in one run (issue 17).

    .venv/bin/python bench/bench_engines.py                      # demo.db (20k users)
    .venv/bin/python bench/bench_engines.py --users 100000       # + a generated database

The demo is copied (never touched); ``--users N`` also generates N users / ~10N orders / ~20N
events with bench_refresh.py's generator (recomputed, cached as bench/bench_refresh_<N>_mbgnbd.db).
Each database is copied to DuckDB and to chDB with ``userops copy`` (timed). Then each condition is
compiled with ``materialised=False`` (every behaviour window read from the raw rows, not from
the stored columns) and counted RUNS times on each engine: p50 of compile + count, and the
counts, which must be equal. Baseline in the same run on each engine: ``SELECT count(*) FROM
features``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.audience import segments  # noqa: E402
from core.query import compile_condition  # noqa: E402
from core.store.copy import copy_database  # noqa: E402
from core.store.db import open_db, stored_as_of  # noqa: E402
from core.store.engines import open_database  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
CONDITIONS = [
    "count(login, 30d) >= 3",
    "orders(90d) >= 2 and spent(90d) > 300",
    "orders(-59d..-30d) >= 1 and orders(30d) = 0",
    "last(login) < -30d and frequency >= 1",
    "count(view, 30d) >= 2 or count(cart_add, 7d) >= 1",
    "did view in 30d then cart_add within 1d",
    "did order then no order within 60d",
    "spent(30d) > 2 * spent(-59d..-30d)",
]


def p50(conn, text: str) -> tuple[float, int]:
    as_of = stored_as_of(conn)
    times, n = [], -1
    for _ in range(RUNS):
        started = time.perf_counter()
        compiled = compile_condition(conn, text, as_of=as_of, materialised=False)
        n = segments.count(conn, compiled)
        times.append(time.perf_counter() - started)
    return statistics.median(times), n


def baseline(conn) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        conn.execute("SELECT count(*) FROM features").fetchone()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


ENGINES = [("duckdb", "DuckDB", ".duckdb"), ("chdb", "chDB", ".chdb")]


def size_mb(path: Path) -> float:
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


def compare(name: str, sqlite_path: Path, folder: Path) -> None:
    """SQLite and each engine's copy (``userops copy``, timed), condition by condition."""
    others, notes, result = [], [], None
    for engine, label, suffix in ENGINES:
        path = folder / (sqlite_path.stem + suffix)
        started = time.perf_counter()
        result = copy_database(sqlite_path, f"{engine}:///{path}", force=True)
        notes.append(
            f"copy to {label} {time.perf_counter() - started:.1f} s, {size_mb(path):.0f} MB"
        )
        others.append((label, open_database(f"{engine}:///{path}", readonly=True)))
    assert result is not None
    lite = open_db(sqlite_path, readonly=True)
    rows = {t: result.rows[t] for t in ("users", "orders", "events")}
    print(
        f"\n{name}: {rows['users']:,} users, {rows['orders']:,} orders, {rows['events']:,} "
        f"events ({result.total:,} rows); {size_mb(sqlite_path):.0f} MB SQLite; " + "; ".join(notes)
    )
    head = "".join(f" {label:>9} {'x':>5}" for label, _ in others)
    print(f"  {'condition (from the raw rows)':<52} {'SQLite':>9}{head}  users")
    base = "".join(f" {baseline(conn) * 1e3:7.1f}ms {'':>5}" for _, conn in others)
    print(f"  {'baseline: count(*) FROM features':<52} {baseline(lite) * 1e3:7.1f}ms{base}")
    for text in CONDITIONS:
        t_lite, n_lite = p50(lite, text)
        cells, different = [], []
        for label, conn in others:
            t, n = p50(conn, text)
            cells.append(f" {t * 1e3:7.0f}ms {t_lite / t:4.1f}x")
            if n != n_lite:
                different.append(f"  DIFFERENT: {label} {n:,}")
        print(f"  {text:<52} {t_lite * 1e3:7.0f}ms{''.join(cells)}  {n_lite:,}{''.join(different)}")
    lite.close()
    for _, conn in others:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=0, help="also a generated database")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(ROOT / "demo.db", folder / "demo.db")
        compare("demo.db", folder / "demo.db", folder)
        if args.users:
            from bench_refresh import build

            # bench_refresh.py's cache and default model (its recompute fits MBG/NBD only)
            cached = Path(__file__).resolve().parent / f"bench_refresh_{args.users}_mbgnbd.db"
            if not cached.exists():
                build(cached, args.users, args.seed, "mbgnbd")
            shutil.copy(cached, folder / "generated.db")
            compare(f"generated ({args.users:,} users)", folder / "generated.db", folder)


if __name__ == "__main__":
    main()
