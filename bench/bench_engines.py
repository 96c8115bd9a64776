"""Benchmark: segment counts from the raw events and orders on SQLite and on its DuckDB and chDB
(ClickHouse in-process) copies, and the whole recompute on SQLite, DuckDB and chDB, side by side in one
run (issue 17).

    .venv/bin/python bench/bench_engines.py                      # demo.db (20k users)
    .venv/bin/python bench/bench_engines.py --users 100000       # + a generated database
    .venv/bin/python bench/bench_engines.py --users 1000000 --recompute --skip-counts

The demo is copied (never touched); ``--users N`` also generates N users / ~10N orders / ~20N
events with bench_refresh.py's generator (recomputed, cached as bench/bench_refresh_<N>_mbgnbd.db).
Each database is copied to DuckDB and to chDB with ``userops copy`` (timed). Then each condition is
compiled with ``materialised=False`` (every behaviour window read from the raw rows, not from
the stored columns) and counted RUNS times on each engine: p50 of compile + count, and the
counts, which must be equal. Baseline in the same run on each engine: ``SELECT count(*) FROM
features``.

``--recompute``: the full recompute (``core.pipeline.recompute``: features, RFM, the model fits,
predictions, layers, tags, histories) of each database as of its own date, on SQLite, then on
the DuckDB copy, then on the chDB copy (each a copy of the same file; ``--skip-chdb`` leaves chDB
out: it is measured at 100k, not at 1M), timed, with the load average before and after
each; then the results compared (users per layer, per RFM group and per tag, the sums of
recency, frequency and monetary, predictions filled and their sums): "same" or what differs.
The generated database's DuckDB copy is cached beside it (bench/bench_refresh_<N>_mbgnbd.duckdb)
once made: ``userops copy`` of 1M users takes minutes.

``--sqlite DB --duckdb DB.duckdb``: the counts on an existing SQLite database and its existing
DuckDB copy, both opened read-only as they are (no copy: at 1M users the copy takes 15 min),
DuckDB with ``memory_limit`` 3 GB and 2 threads (``--memory-limit``); the p50 of wall time and
of this process's CPU time (every thread's, DuckDB's too), and the load average.
``--sqlite-runs 0`` leaves SQLite out; ``--before`` also counts each condition on DuckDB in
the forms before this step (per-user subqueries, last/first per user, every sequence one
ASOF join: ``forms_before``), in the same run; ``--orders-by-user TABLE`` (a table of the
DuckDB copy holding its orders as a copy wrote them before COPY_ORDER had orders: by user)
reads that table for the before column, so the layout and the forms are compared together;
``--only TEXT`` (repeatable): those conditions instead of the list.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.audience import segments  # noqa: E402
from core.pipeline import recompute  # noqa: E402
from core.query import compile_condition  # noqa: E402
from core.store.copy import copy_database  # noqa: E402
from core.store.db import open_db, stored_as_of  # noqa: E402
from core.store.duck import open_duckdb  # noqa: E402
from core.store.engines import open_database  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
CONDITIONS = [
    "count(login, 30d) >= 3",
    "orders(30d) >= 1",
    "orders(90d) >= 2 and spent(90d) > 300",
    "orders(-59d..-30d) >= 1 and orders(30d) = 0",
    "last(login) < -30d and frequency >= 1",
    "count(view, 30d) >= 2 or count(cart_add, 7d) >= 1",
    "did view in 30d then cart_add within 1d",
    "did order then no order within 60d",
    "spent(30d) > 2 * spent(-59d..-30d)",
    "orders(90d, amount >= 200) >= 2",
    "first(order) > -30d",
    "did cart_add then order within 1d",
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


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def p50_cpu(conn, text: str, runs: int = RUNS) -> tuple[float, float, int]:
    """p50 of wall and CPU time (seconds) of compile + count, and the count."""
    as_of = stored_as_of(conn)
    walls, cpus, n = [], [], -1
    for _ in range(runs):
        started, spent = time.perf_counter(), cpu()
        compiled = compile_condition(conn, text, as_of=as_of, materialised=False)
        n = segments.count(conn, compiled)
        walls.append(time.perf_counter() - started)
        cpus.append(cpu() - spent)
    return statistics.median(walls), statistics.median(cpus), n


@contextmanager
def forms_before():
    """DuckDB's condition forms before this step: SQLite's per-user subqueries, last/first per
    user, every sequence one ASOF join (Dialect.followed; not the next-row form)."""
    from core.store.engines import DUCKDB, Dialect

    saved = DUCKDB.per_user, DUCKDB.span_joins, DUCKDB.next_row_sequences
    DUCKDB.per_user = lambda *args: Dialect.per_user(DUCKDB, *args)  # type: ignore[method-assign]
    DUCKDB.span_joins = DUCKDB.next_row_sequences = False
    try:
        yield
    finally:
        DUCKDB.per_user, DUCKDB.span_joins, DUCKDB.next_row_sequences = saved  # type: ignore[method-assign]


@contextmanager
def orders_from(duck, table: str | None):
    """``orders`` read from ``table`` (the same rows in another physical order) through a
    TEMP view, which DuckDB finds before the stored table; None: the stored table."""
    if table is None:
        yield
        return
    duck.execute(f"CREATE TEMP VIEW orders AS SELECT * FROM {table}")  # a bench-given name
    try:
        yield
    finally:
        duck.execute("DROP VIEW temp.orders")


def compare_existing(
    sqlite_path: Path,
    duck_path: Path,
    memory_limit: str,
    sqlite_runs: int,
    before: bool,
    orders_by_user: str | None = None,
    only: list[str] | None = None,
) -> None:
    """The counts on an existing SQLite database and its DuckDB copy, read as they are.
    ``sqlite_runs`` 0 leaves SQLite out (its sequences take minutes at 1M users); ``before``
    also counts each condition on DuckDB in the forms before this step (forms_before), in the
    same run; ``orders_by_user``: the name of a table of the DuckDB copy holding its orders
    as a copy wrote them before COPY_ORDER had orders (by user): each condition is counted
    before (old forms, that table) and after (new forms, orders by time), in the same run;
    ``only``: these conditions instead of CONDITIONS."""
    lite = open_db(sqlite_path, readonly=True)
    duck = open_duckdb(duck_path, readonly=True)
    duck.execute(f"SET memory_limit = '{memory_limit}'")  # the shared machine's rule
    duck.execute("SET threads = 2")
    users, orders, events = (
        duck.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("features", "orders", "events")
    )
    print(
        f"\n{sqlite_path.name} ({size_mb(sqlite_path):,.0f} MB) and {duck_path.name} "
        f"({size_mb(duck_path):,.0f} MB): {users:,} users, {orders:,} orders, {events:,} events; "
        f"DuckDB memory_limit {memory_limit}, 2 threads; p50 of {RUNS} on DuckDB, "
        f"{sqlite_runs} on SQLite; wall (CPU) ms"
    )
    print(f"  load average {os.getloadavg()}")
    head = f"{'DuckDB before':>20}" if before or orders_by_user else ""
    print(
        f"  {'condition (from the raw rows)':<52} {'SQLite':>16} {'DuckDB':>16} {'x':>5}{head}  users"
    )
    b_lite, b_duck = baseline(lite) * 1e3, baseline(duck) * 1e3
    print(f"  {'baseline: count(*) FROM features':<52} {b_lite:14.1f}ms {b_duck:14.1f}ms")
    for text in only or CONDITIONS:
        w_lite, c_lite, n_lite = p50_cpu(lite, text, sqlite_runs) if sqlite_runs else (0, 0, -1)
        w_duck, c_duck, n_duck = p50_cpu(duck, text)
        cells = (
            f"{w_lite * 1e3:7.0f} ({c_lite * 1e3:5.0f})ms {w_duck * 1e3:7.0f} "
            f"({c_duck * 1e3:5.0f})ms {w_lite / w_duck:4.1f}x"
        )
        if before or orders_by_user:
            with forms_before(), orders_from(duck, orders_by_user):
                w_old, c_old, n_old = p50_cpu(duck, text)
            cells += f" {w_old * 1e3:7.0f} ({c_old * 1e3:5.0f})ms"
            if n_old != n_duck:
                cells += f" DIFFERENT before: {n_old:,}"
        flag = "" if n_lite in (n_duck, -1) else f"  DIFFERENT: DuckDB {n_duck:,}"
        print(f"  {text:<52} {cells}  {n_duck:,}{flag}", flush=True)
        print(f"    load average {os.getloadavg()}", flush=True)
    lite.close()
    duck.close()


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


# what the recompute's results are checked by on both engines: cheap aggregates over 1M rows
FINGERPRINT = [
    "SELECT layer, count(*) FROM features GROUP BY 1 ORDER BY 1",
    "SELECT coalesce(rfm_group, '-'), count(*) FROM features GROUP BY 1 ORDER BY 1",
    "SELECT coalesce(rfm_cell27, '-'), count(*) FROM features GROUP BY 1 ORDER BY 1",
    "SELECT tag, count(*) FROM user_tags GROUP BY 1 ORDER BY 1",
    "SELECT count(*), sum(recency_days), sum(frequency), sum(r_score), sum(f_score), "
    "sum(m_score), sum(days_since_active), sum(logins_30d), sum(carts_open), "
    "count(favourite_category), count(p_alive), count(clv) FROM features",
    "SELECT sum(monetary), sum(spent_90d), sum(night_order_share), sum(p_alive), "
    "sum(expected_purchases_90d), sum(clv) FROM features",
]


def fingerprint(conn) -> list:
    return [conn.execute(sql).fetchall() for sql in FINGERPRINT]


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed_statements(log: list[tuple[float, float, str, str]]) -> None:
    """Wrap the DuckDB adapter's execute/frame/execute_with_frame so each statement's start
    (from the first), seconds, thread and text are appended to ``log`` (``--statements``)."""
    import threading

    from core.store import duck as duck_module

    for method in ("execute", "frame", "execute_with_frame"):
        original = getattr(duck_module.DuckDBConnection, method)

        def timed(self, sql, *args, _original=original, _method=method, **kwargs):
            started = time.perf_counter()
            try:
                return _original(self, sql, *args, **kwargs)
            finally:
                text = args[1] if _method == "execute_with_frame" else sql
                log.append(
                    (
                        started,
                        time.perf_counter() - started,
                        threading.current_thread().name,
                        " ".join(str(text).split()),
                    )
                )

        setattr(duck_module.DuckDBConnection, method, timed)


def recompute_both(
    name: str,
    sqlite_path: Path,
    duck_path: Path,
    duck_memory: str,
    statements: bool,
    chdb_path: Path | None = None,
) -> None:
    """The recompute on SQLite, then on DuckDB (then on chDB, given its copy), of the same data
    as of its own date: wall and CPU seconds (this process and its waited-for children:
    SQLite's second reader), the load average before and after each."""
    from bench_refresh import cpu

    lite = open_db(sqlite_path)
    duck = open_duckdb(duck_path)
    # a shared machine: DuckDB's memory bounded, its threads the cores (docs/engines.md)
    duck.raw.execute(f"SET memory_limit = '{duck_memory}'")
    duck.raw.execute(f"SET threads = {os.cpu_count() or 2}")
    engines = [("SQLite", lite), ("DuckDB", duck)]
    if chdb_path is not None:
        ch = open_database(f"chdb:///{chdb_path}")
        # the same bounds for ClickHouse's engine (its session: the recompute's connection)
        ch.execute(f"SET max_memory_usage = {parse_bytes(duck_memory)}")
        ch.execute(f"SET max_threads = {os.cpu_count() or 2}")
        engines.append(("chDB", ch))
    as_of = stored_as_of(lite)
    assert all(stored_as_of(conn) == as_of for _, conn in engines)
    print(f"\n{name}: recompute as of {as_of} ({load()}; DuckDB memory_limit {duck_memory})")
    times, cpus = {}, {}
    log: list[tuple[float, float, str, str]] = []
    for label, conn in engines:
        if label == "DuckDB" and statements:
            timed_statements(log)
        started, cpu_started = time.perf_counter(), cpu()
        report = recompute(conn, as_of)
        times[label] = time.perf_counter() - started
        cpus[label] = cpu() - cpu_started
        print(
            f"  {label:<7} {times[label]:8.1f} s wall {cpus[label]:8.1f} s CPU   "
            f"{report.users:,} users, {report.buyers:,} buyers, models: "
            f"{', '.join(f'{m} {s[:12]}' for m, s in report.models.items())} ({load()})"
        )
        if label == "DuckDB" and statements:
            print("  DuckDB's statements from 0.2 s (start, seconds, thread, SQL):")
            first = min(at for at, _, _, _ in log)
            for at, seconds, thread, text in log:
                if seconds >= 0.2:
                    print(f"    {at - first:7.1f} {seconds:6.1f} {thread[:12]:<12} {text[:90]}")
    a = fingerprint(lite)
    for label, conn in engines[1:]:
        print(
            f"  {label} / SQLite speed: {times['SQLite'] / times[label]:.1f}x wall, "
            f"{cpus['SQLite'] / cpus[label]:.1f}x CPU"
        )
        b = fingerprint(conn)
        differ = [sql for sql, x, y in zip(FINGERPRINT, a, b, strict=True) if not _close(x, y)]
        print(f"  results on {label}: " + ("same" if not differ else f"DIFFERENT in {differ}"))
    for _, conn in engines:
        conn.close()


def parse_bytes(text: str) -> int:
    """'3GB' -> 3,000,000,000 (DuckDB's memory_limit, as ClickHouse's max_memory_usage)."""
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    unit = text.strip()[-2:].upper()
    return int(float(text.strip()[:-2]) * units[unit]) if unit in units else int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=0, help="also a generated database")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--recompute", action="store_true", help="the recompute side by side")
    parser.add_argument("--skip-counts", action="store_true", help="no segment counts")
    parser.add_argument("--skip-demo", action="store_true", help="the generated database only")
    parser.add_argument("--sqlite", type=Path, help="an existing SQLite database (read-only)")
    parser.add_argument("--duckdb", type=Path, help="its existing DuckDB copy (read-only)")
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB's, with --duckdb")
    parser.add_argument(
        "--sqlite-runs", type=int, default=RUNS, help="with --sqlite: runs per condition there"
    )
    parser.add_argument(
        "--before", action="store_true", help="with --duckdb: also the forms before this step"
    )
    parser.add_argument(
        "--orders-by-user",
        metavar="TABLE",
        help="with --duckdb: the copy's orders as written by user, for the before column",
    )
    parser.add_argument(
        "--only", action="append", help="with --duckdb: this condition only (repeatable)"
    )
    parser.add_argument(
        "--duck-memory", default="3GB", help="DuckDB's memory_limit in the recompute (3GB)"
    )
    parser.add_argument(
        "--statements", action="store_true", help="time each statement of DuckDB's recompute"
    )
    parser.add_argument(
        "--skip-chdb", action="store_true", help="no chDB in the recompute (not run at 1M)"
    )
    args = parser.parse_args()
    if args.sqlite or args.duckdb:
        if not (args.sqlite and args.duckdb):
            parser.error("--sqlite and --duckdb go together")
        compare_existing(
            args.sqlite,
            args.duckdb,
            args.memory_limit,
            args.sqlite_runs,
            args.before,
            args.orders_by_user,
            args.only,
        )
        return
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as tmp:
        folder = Path(tmp)
        if not args.skip_demo:
            shutil.copy(ROOT / "demo.db", folder / "demo.db")
            run("demo.db", folder / "demo.db", folder, args, None)
        if args.users:
            from bench_refresh import build

            here = Path(__file__).resolve().parent
            cached = here / f"bench_refresh_{args.users}_mbgnbd.db"
            if not cached.exists():
                build(cached, args.users, args.seed, "mbgnbd")
            shutil.copy(cached, folder / "generated.db")
            duck_cache = cached.with_suffix(".duckdb")
            name = f"generated ({args.users:,} users)"
            run(name, folder / "generated.db", folder, args, duck_cache)


def run(name: str, sqlite_path: Path, folder: Path, args, duck_cache: Path | None) -> None:
    if not args.skip_counts:
        compare(name, sqlite_path, folder)
    if not args.recompute:
        return
    duck_path = folder / (sqlite_path.stem + ".duckdb")
    if duck_cache is not None and duck_cache.exists():
        shutil.copy(duck_cache, duck_path)
        print(f"\n{name}: DuckDB copy from {duck_cache.name} (made by userops copy before)")
    elif not duck_path.exists():  # compare() made it otherwise
        started = time.perf_counter()
        result = copy_database(sqlite_path, f"duckdb:///{duck_path}", force=True)
        print(
            f"\n{name}: copied to DuckDB in {time.perf_counter() - started:.1f} s "
            f"({result.total:,} rows)"
        )
    if duck_cache is not None and not duck_cache.exists():
        shutil.copy(duck_path, duck_cache)
    chdb_path = None
    if not args.skip_chdb:
        chdb_path = folder / (sqlite_path.stem + ".chdb")
        if not chdb_path.exists():  # compare() made it otherwise
            started = time.perf_counter()
            result = copy_database(sqlite_path, f"chdb:///{chdb_path}", force=True)
            print(
                f"\n{name}: copied to chDB in {time.perf_counter() - started:.1f} s "
                f"({result.total:,} rows)"
            )
    recompute_both(name, sqlite_path, duck_path, args.duck_memory, args.statements, chdb_path)


if __name__ == "__main__":
    main()
