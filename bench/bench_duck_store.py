"""Benchmark: ``check``, ``backup`` and ``model --validate``'s holdout on a SQLite database and its
DuckDB copy, side by side in one run (issue 17).

    .venv/bin/python bench/bench_duck_store.py --sqlite DB --duckdb DB.duckdb [--skip-sqlite-check]

Both are read only (the backups go to a temporary folder beside this file, one at a time, each
deleted once timed). DuckDB with ``memory_limit`` 3 GB and 2 threads. Figures: wall time and this
process's CPU time (every thread's), with the load average before and after.

- check: SQLite's ``quick_check`` (``integrity_check`` unless --skip-sqlite-check) beside the
  DuckDB check and its quick form (core.store.maintenance.check_duckdb);
- backup: SQLite's online backup; on DuckDB the byte copy under the shared lock (what `userops
  backup` does for a checkpointed file) beside COPY FROM DATABASE (the rewrite, the way for a
  file with a .wal), each followed by the quick check of the copy;
- the holdout of ``model --validate`` (its calibration end 60 days before the database's date):
  core.analytics.validation._holdout on each engine (DuckDB: two aggregates in the engine;
  SQLite: its (user, day) pairs counted in pandas), and on SQLite the same two aggregates too
  (what DuckDB runs: slower there, so not used); the figures must be equal.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.analytics import validation as V  # noqa: E402
from core.analytics.predict import summarise  # noqa: E402
from core.analytics.validation import _holdout  # noqa: E402
from core.errors import DatabaseError  # noqa: E402
from core.store.db import open_db, stored_as_of  # noqa: E402
from core.store.duck import open_duckdb  # noqa: E402
from core.store.maintenance import backup, backup_duckdb, check, check_duckdb  # noqa: E402

HERE = Path(__file__).resolve().parent
DUCK = {"memory_limit": "3GB", "threads": "2"}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, work):
    load = os.getloadavg()[0]
    wall, used = time.perf_counter(), cpu()
    result = work()
    wall, used = time.perf_counter() - wall, cpu() - used
    print(
        f"  {label:<52} {wall:8.2f} s wall {used:8.2f} s CPU"
        f"   load {load:.1f} -> {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return result


def aggregates(conn, summary, cut, end):
    """DuckDB's holdout statements (core.analytics.validation), run on SQLite."""
    params = {
        "start": (cut + timedelta(days=1)).isoformat(),
        "end": (end + timedelta(days=1)).isoformat(),
    }
    per_user = dict(conn.execute(V._HOLDOUT_BY_USER_SQL, params).fetchall())
    actual = summary["user_id"].map(per_user).fillna(0).to_numpy(dtype="float64")
    days = conn.execute(V._HOLDOUT_BY_DAY_SQL, params).fetchall()
    return actual, sorted(days)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", required=True)
    parser.add_argument("--duckdb", required=True)
    parser.add_argument("--skip-sqlite-check", action="store_true")
    parser.add_argument(
        "--holdout-only", action="store_true", help="Only the validation's holdout."
    )
    args = parser.parse_args()
    lite, duck = Path(args.sqlite), Path(args.duckdb)
    print(
        f"{lite} ({lite.stat().st_size / 1e9:.2f} GB), {duck} ({duck.stat().st_size / 1e9:.2f} GB)"
    )
    print(f"load average {os.getloadavg()}")

    if not args.holdout_only:
        check_and_backup(lite, duck, args.skip_sqlite_check)
    holdout(lite, duck)
    print(f"load average {os.getloadavg()}")


def check_and_backup(lite: Path, duck: Path, skip_sqlite_check: bool) -> None:
    print("check")
    timed("SQLite quick_check", lambda: check(lite, quick=True))
    if not skip_sqlite_check:
        timed("SQLite integrity_check", lambda: check(lite))
    for quick in (True, False):
        got = timed(
            f"DuckDB {'quick ' if quick else ''}check",
            lambda q=quick: check_duckdb(duck, quick=q, config=DUCK),
        )
        assert got.ok, got.problems

    print("backup (each copy deleted once timed)")
    with tempfile.TemporaryDirectory(dir=HERE, prefix=".bench-backup-") as folder:
        out = Path(folder) / "copy"
        timed("SQLite online backup + quick_check", lambda: backup(lite, out))
        out.unlink()
        timed(
            "DuckDB byte copy under the lock + quick check",
            lambda: backup_duckdb(duck, out, config=DUCK),
        )
        print(f"    {out.stat().st_size / 1e9:.2f} GB")
        out.unlink()
        try:
            timed(
                "DuckDB COPY FROM DATABASE + quick check",
                lambda: backup_duckdb(duck, out, config=DUCK, rewrite=True),
            )
            print(f"    {out.stat().st_size / 1e9:.2f} GB")
        except DatabaseError as exc:  # at 1M within 3 GB: out of memory
            print(f"    failed: {exc}")
        out.unlink(missing_ok=True)


def holdout(lite: Path, duck: Path) -> None:

    print("model --validate's holdout (calibration end 60 days before the database's date)")
    conn = open_db(lite, readonly=True)
    end = stored_as_of(conn)
    assert end is not None
    cut = end - timedelta(days=60)
    summary = timed("SQLite: the summary (for reference)", lambda: summarise(conn, cut))
    actual, day_of, on_day = timed(
        "SQLite: (user, day) pairs counted in pandas (used)",
        lambda: _holdout(conn, summary, cut, end),
    )
    actual_agg, days_agg = timed(
        "SQLite: DuckDB's two aggregates (not used)",
        lambda: aggregates(conn, summary, cut, end),
    )
    conn.close()
    dconn = open_duckdb(duck, readonly=True)
    dconn.execute("SET memory_limit = '3GB'")
    dconn.execute("SET threads = 2")
    d_actual, d_day_of, d_on_day = timed(
        "DuckDB: the engine's two aggregates (used)", lambda: _holdout(dconn, summary, cut, end)
    )
    dconn.close()
    assert np.array_equal(actual, actual_agg) and np.array_equal(actual, d_actual)
    assert sum(n for _, n in days_agg) == int(on_day.sum())
    order, d_order = np.argsort(day_of), np.argsort(d_day_of)
    assert np.array_equal(day_of[order], d_day_of[d_order])
    assert np.array_equal(on_day[order], d_on_day[d_order])
    print(
        f"  the same figures: {len(summary):,} buyers, {int(actual.sum()):,} holdout purchase "
        f"days on {len(day_of)} days"
    )


if __name__ == "__main__":
    main()
