"""Benchmark: the physical order of a DuckDB copy's orders (core.store.copy.COPY_ORDER), by user
(an import's order, the copy before this step) against by time (the copy now, with the
orders_user index), side by side in one run (issue 17).

    .venv/bin/python bench/bench_copy_order.py              # 100k users / ~1M orders / ~2M events
    .venv/bin/python bench/bench_copy_order.py --users 20000

The SQLite database is bench_refresh.py's generator, recomputed (cached as
bench/bench_refresh_<N>_mbgnbd.db). It is copied to DuckDB twice with ``userops copy``'s code:
once with orders written by user and no orders_user index (the copy before), once as the copy
now writes it; each copy timed (wall and this process's CPU), with its size. Then on each copy
(DuckDB memory_limit 3 GB, 2 threads): the p50 of 5 of the orders conditions counted from the
raw rows (compile + count; the counts must be equal), the profile's read of one user's
orders (``core.views.profile._timeline``, p50 over 50 users), and the full DuckDB recompute
(``core.pipeline.recompute``) once each. Baseline in the same run: ``count(*) FROM features``.
Wall (CPU) ms; the load average is printed beside.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engines import cpu, p50_cpu, size_mb  # noqa: E402

from core.pipeline import recompute  # noqa: E402
from core.store import copy as store_copy  # noqa: E402
from core.store import duck  # noqa: E402
from core.store.copy import copy_database  # noqa: E402
from core.store.db import stored_as_of  # noqa: E402
from core.store.duck import open_duckdb  # noqa: E402
from core.views import profile  # noqa: E402

HERE = Path(__file__).resolve().parent
CONDITIONS = [
    "orders(30d) >= 1",
    "orders(90d) >= 2 and spent(90d) > 300",
    "orders(-59d..-30d) >= 1 and orders(30d) = 0",
    "orders(90d, amount >= 200) >= 2",
    "spent(30d) > 2 * spent(-59d..-30d)",
    "did order then no order within 60d",
]


@contextmanager
def orders_by_user():
    """The copy as it was written before: orders in the source's order, no orders_user."""
    order, indexes = dict(store_copy.COPY_ORDER), dict(duck.INDEXES)
    store_copy.COPY_ORDER.pop("orders", None)
    duck.INDEXES.pop("orders_user", None)
    try:
        yield
    finally:
        store_copy.COPY_ORDER.clear()
        store_copy.COPY_ORDER.update(order)
        duck.INDEXES.clear()
        duck.INDEXES.update(indexes)


def timed_copy(src: Path, dst: Path) -> str:
    started, spent = time.perf_counter(), cpu()
    copy_database(src, f"duckdb:///{dst}", force=True)
    wall, used = time.perf_counter() - started, cpu() - spent
    return f"copy {wall:.1f} s ({used:.1f} s CPU), {size_mb(dst):.0f} MB"


def open_bounded(path: Path, readonly: bool = True):
    conn = open_duckdb(path, readonly=readonly)
    conn.execute("SET memory_limit = '3GB'")  # the shared machine's rule
    conn.execute("SET threads = 2")
    return conn


def profile_read(conn, users: list[str]) -> tuple[float, float]:
    as_of = stored_as_of(conn)
    walls, cpus = [], []
    for user in users:
        started, spent = time.perf_counter(), cpu()
        profile._timeline(conn, "orders", user, as_of)  # noqa: SLF001
        walls.append(time.perf_counter() - started)
        cpus.append(cpu() - spent)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-recompute", action="store_true")
    args = parser.parse_args()
    src = HERE / f"bench_refresh_{args.users}_mbgnbd.db"
    if not src.exists():
        from bench_refresh import build

        build(src, args.users, args.seed, "mbgnbd")
    by_user, by_time = HERE / "copy_order_by_user.duckdb", HERE / "copy_order_by_time.duckdb"
    print(f"{src.name}: {size_mb(src):.0f} MB; load average {os.getloadavg()}")
    with orders_by_user():
        notes = {"by user": timed_copy(src, by_user)}
    notes["by time"] = timed_copy(src, by_time)
    for label, note in notes.items():
        print(f"  orders {label}: {note}")
    copies = {"by user": open_bounded(by_user), "by time": open_bounded(by_time)}
    users = [r[0] for r in copies["by user"].execute("SELECT user_id FROM features LIMIT 50")]
    print(f"  {'(wall (CPU) ms)':<48} {'orders by user':>18} {'orders by time':>18}")
    cells = []
    for conn in copies.values():
        started = time.perf_counter()
        conn.execute("SELECT count(*) FROM features").fetchone()
        cells.append(f"{(time.perf_counter() - started) * 1e3:17.1f} ")
    print(f"  {'baseline: count(*) FROM features':<48} {''.join(cells)}")
    for text in CONDITIONS:
        got = {label: p50_cpu(conn, text) for label, conn in copies.items()}
        cells = "".join(f"{w * 1e3:8.0f} ({c * 1e3:5.0f})  " for w, c, _ in got.values())
        counts = {n for _, _, n in got.values()}
        same = f"{counts.pop():,}" if len(counts) == 1 else f"DIFFERENT {got}"
        print(f"  {text:<48} {cells} {same}", flush=True)
    reads = [profile_read(conn, users) for conn in copies.values()]
    cells = "".join(f"{w * 1e3:8.1f} ({c * 1e3:5.1f})  " for w, c in reads)
    print(f"  {'profile: one user orders (p50 of 50 users)':<48} {cells}")
    for conn in copies.values():
        conn.close()
    if not args.skip_recompute:
        cells = []
        for path in (by_user, by_time):
            conn = open_bounded(path, readonly=False)
            started, spent = time.perf_counter(), cpu()
            recompute(conn, stored_as_of(conn))
            cells.append(f"{time.perf_counter() - started:8.1f} ({cpu() - spent:5.1f}) s")
            conn.close()
        print(f"  {'recompute (core.pipeline.recompute)':<48} {'  '.join(cells)}")
    print(f"  load average {os.getloadavg()}")
    for path in (by_user, by_time):
        path.unlink(missing_ok=True)
        Path(f"{path}.wal").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
