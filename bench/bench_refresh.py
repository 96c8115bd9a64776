"""Benchmark: one day's import + ``refresh`` against the full recompute and against DuckDB.

    .venv/bin/pip install -e '.[bench]'                 # pyarrow (duckdb is a dependency now)
    .venv/bin/python bench/bench_refresh.py --users 100000
    .venv/bin/python bench/bench_refresh.py             # 1M users / 10M orders / 20M events

The history (2 years to 2024-12-31: 70 % of users buy, ~10 orders and ~20 events per user) is
generated once (numpy, seeded), recomputed as of 2024-12-31 and cached as
bench/bench_refresh_<users>_<model>.db (``--model``: the purchase model recorded as the
operator's choice, so the recompute fits it and Gamma-Gamma only; default MBG/NBD; "all" records
none, and the recompute then fits all three: on this data Pareto/NBD's fit alone takes ~12 min
at 100k users). Then, in one run on a copy of it, side by side:
1. the next day, 2025-01-01: ``--day-share`` (default 1 %) of the orders and of the events,
   for random users, inserted as an import does (one transaction; the refresh triggers fire);
2. ``refresh`` to 2025-01-01 (incremental);
3. the full recompute to 2025-01-01 of the same database (the same result: checked);
4. DuckDB computing the same per-user aggregates from a Parquet export of users, orders and
   events (the export is made once, untimed), into an in-memory table.
With ``--duckdb``, then the same on a copy of the cache's DuckDB copy (``userops copy``,
cached beside it as bench_refresh_<users>_<model>.duckdb; DuckDB ``memory_limit`` 3 GB, 2
threads): the same day's rows imported (one transaction, staged and merged by SQL as the
import does), ``refresh`` on DuckDB, its full recompute; the three results compared. With
``--chdb``, the same on a copy of the cache's chDB copy (bench_refresh_<users>_<model>.chdb, a
directory; ``max_memory_usage`` as DuckDB's limit, 2 threads): the day's rows inserted as a
loader would (one INSERT per table: `userops import` does not run on ClickHouse yet), ``refresh``
on chDB, its full recompute; compared likewise. Run it at 100k users, not 1M.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas  # noqa: F401  loaded before either timing (the refresh would pay it first)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.analytics.models import PURCHASE_MODELS  # noqa: E402  (scipy: loaded before any timing)
from core.analytics.predict import record_choice  # noqa: E402
from core.pipeline import recompute  # noqa: E402
from core.query.parser import lark_parser  # noqa: E402
from core.refresh import refresh  # noqa: E402
from core.rules.tags import install_defaults_once  # noqa: E402
from core.store.db import get_meta, open_db, set_meta  # noqa: E402
from core.store.schema import (  # noqa: E402
    DDL,
    FEATURE_COLUMNS,
    MODEL_OUTPUT_COLUMNS,
    SCHEMA_VERSION,
)

HERE = Path(__file__).resolve().parent
AS_OF, NEXT = date(2024, 12, 31), date(2025, 1, 1)
START = np.datetime64("2023-01-01T00:00:00")
SPAN_S = 730 * 86400
KINDS = np.array(["login", "view", "post", "checkin", "cart_add", "share", "coupon_use"])
KIND_P = [0.35, 0.3, 0.08, 0.1, 0.1, 0.05, 0.02]
CATEGORIES = np.array(["bags", "beauty", "books", "food", "home", "kids", "shoes", "sport"])
BULK_INDEXES = ("orders_user_time_amount", "orders_time", "events_kind_time")
CHUNK = 100_000


def uid(ix: np.ndarray) -> list[str]:
    return [f"u{i:08d}" for i in ix.tolist()]


def as_text(start: np.datetime64, secs: np.ndarray) -> list[str]:
    t = start + secs.astype("timedelta64[s]")
    return np.char.replace(np.datetime_as_string(t, unit="s"), "T", " ").tolist()


def orders_rows(rng, users: np.ndarray, start, span_s: int, first_no: int) -> list[tuple]:
    n = len(users)
    amounts = np.round(rng.gamma(2.0, 30.0, n), 2).tolist()
    times = as_text(start, rng.integers(0, span_s, n))
    ids = [f"o{i:010d}" for i in range(first_no, first_no + n)]
    return list(zip(ids, uid(users), amounts, times, strict=True))


KIND_RANK = np.argsort(np.argsort(KINDS))  # a kind's index -> its place in text order


def events_rows(rng, users: np.ndarray, start, span_s: int) -> list[tuple]:
    """The events, in their primary key's order (user, kind, time, value): inserted in that
    order, the WITHOUT ROWID table is only appended to (random order: a B-tree seek per row,
    the build's largest cost at 1M users). The draws are those of an unsorted generation."""
    n = len(users)
    kinds = rng.choice(len(KINDS), n, p=KIND_P)
    values = np.where(np.isin(kinds, [1, 4]), CATEGORIES[rng.integers(0, len(CATEGORIES), n)], "")
    secs = rng.integers(0, span_s, n)
    order = np.lexsort((values, secs, KIND_RANK[kinds], users))
    users, kinds, values, secs = users[order], kinds[order], values[order], secs[order]
    times = as_text(start, secs)
    return list(zip(uid(users), KINDS[kinds].tolist(), times, values.tolist(), strict=True))


def build(path: Path, n_users: int, seed: int, model: str) -> None:
    """The history to AS_OF, recomputed as of AS_OF (default rules installed; ``model``
    recorded as the operator's choice unless "all")."""
    started = time.perf_counter()
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    conn = open_db(tmp, create=True)
    conn.execute("PRAGMA journal_mode = OFF")
    for name in BULK_INDEXES:  # rebuilt after the load, from the schema's own DDL
        conn.execute(f"DROP INDEX {name}")
    rng = np.random.default_rng(seed)
    order_no = 0
    conn.execute("BEGIN")
    for first in range(0, n_users, CHUNK):
        ids = np.arange(first, min(first + CHUNK, n_users))
        cities = rng.choice(["Shanghai", "Beijing", "Shenzhen"], len(ids)).tolist()
        conn.executemany(
            "INSERT INTO users(user_id, city, signup_at) VALUES (?, ?, '2023-01-01')",
            zip(uid(ids), cities, strict=True),
        )
        buyers = ids[ids % 10 < 7]
        rows = orders_rows(rng, np.sort(rng.choice(buyers, 10 * len(ids))), START, SPAN_S, order_no)
        order_no += len(rows)
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", rows)
        conn.executemany(
            "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)",
            events_rows(rng, rng.choice(ids, 20 * len(ids)), START, SPAN_S),
        )
        print(f"  generated {ids[-1] + 1:,} users", file=sys.stderr)
    conn.execute("COMMIT")
    conn.executescript(DDL)
    conn.execute("PRAGMA journal_mode = WAL")
    set_meta(conn, "as_of", AS_OF.isoformat())
    set_meta(conn, "data_latest", AS_OF.isoformat())
    install_defaults_once(conn, as_of=AS_OF)
    if model != "all":
        record_choice(conn, model, "the benchmark's choice (--model)", "explicit")
    recompute(conn, AS_OF)
    conn.close()
    tmp.rename(path)
    print(f"built {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def renew_stale(path: Path) -> None:
    """A cache whose features were computed by an older userops (the refresh would fall back to
    the full recompute): migrated by opening it, recomputed as of AS_OF once, in place. A cache
    linked from another worktree is copied first (``cp``, not ``ln``: this writes to it)."""
    conn = open_db(path, readonly=True)  # a cache linked read-only stays as it is when fresh
    stale = get_meta(conn, "features_schema") != str(SCHEMA_VERSION)
    if stale:
        conn.close()
        conn = open_db(path)
        started = time.perf_counter()
        recompute(conn, AS_OF)
        print(f"recomputed {path.name} (older features) in {time.perf_counter() - started:.0f} s")
    conn.close()


def cpu() -> float:
    """CPU seconds of this process and of its waited-for children (the recompute reads the
    purchase history in a second process): on a shared machine the wall clock also counts
    the time others held the cores, so the figures are given both ways."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def day_rows(conn, n_users: int, share: float, seed: int) -> tuple[list[tuple], list[tuple]]:
    """The next day's rows: share of the orders and of the events."""
    n_orders = conn.execute("SELECT max(rowid) FROM orders").fetchone()[0]
    n_events = round(20 * n_users * share)
    rng = np.random.default_rng([seed, 1])
    start = np.datetime64(f"{NEXT.isoformat()}T00:00:00")
    orders = orders_rows(
        rng, rng.integers(0, n_users, round(n_orders * share)), start, 86400, n_orders
    )
    return orders, events_rows(rng, rng.integers(0, n_users, n_events), start, 86400)


def next_day(conn, orders: list[tuple], events: list[tuple]) -> tuple[float, float, int, int]:
    """Import the next day into SQLite, one transaction (the refresh triggers fire)."""
    started, cpu_started = time.perf_counter(), cpu()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", orders)
    conn.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)", events)
    set_meta(conn, "data_latest", NEXT.isoformat())
    conn.execute("COMMIT")
    return time.perf_counter() - started, cpu() - cpu_started, len(orders), len(events)


# The refresh scores with the stored fit (a day old); the recompute refits on the day: the model
# outputs differ by design (tests/core/test_refresh_property.py compares them with refit=True).
COMPARED = [c for c in FEATURE_COLUMNS if c not in MODEL_OUTPUT_COLUMNS]


def duck_next_day(conn, orders: list[tuple], events: list[tuple]) -> tuple[float, float]:
    """The same rows into DuckDB as its import writes them: the rows as one frame each, merged
    by one INSERT … SELECT (events: OR IGNORE) in one transaction (rows of a later day than
    the features': nothing for refresh_dirty)."""
    import pandas as pd

    frames = {
        "orders": pd.DataFrame(orders, columns=["order_id", "user_id", "amount", "created_at"]),
        "events": pd.DataFrame(events, columns=["user_id", "kind", "created_at", "value"]),
    }
    started, cpu_started = time.perf_counter(), cpu()
    conn.execute("BEGIN IMMEDIATE")
    for table, how in (("orders", "INSERT"), ("events", "INSERT OR IGNORE")):
        conn.execute_with_frame(
            "day_rows", frames[table], f"{how} INTO {table} SELECT * FROM day_rows"
        )
    set_meta(conn, "data_latest", NEXT.isoformat())
    conn.execute("COMMIT")
    return time.perf_counter() - started, cpu() - cpu_started


def duck_day(
    cached: Path, folder: Path, orders: list[tuple], events: list[tuple], memory: str
) -> dict[str, object]:
    """On a copy of the DuckDB cache: the day imported, refreshed, then the full recompute."""
    from core.store.copy import copy_database
    from core.store.duck import open_duckdb

    source = cached.with_suffix(".duckdb")
    if not source.exists():  # the cache's DuckDB copy, made once
        started = time.perf_counter()
        copy_database(cached, f"duckdb:///{source}")
        print(f"copied {cached.name} to DuckDB in {time.perf_counter() - started:.0f} s")
    work = folder / "work.duckdb"
    shutil.copy(source, work)
    conn = open_duckdb(work)
    conn.execute(f"SET memory_limit = '{memory}'")  # the shared machine's rule
    conn.execute("SET threads = 2")
    out = _day_then_recompute(conn, lambda: duck_next_day(conn, orders, events))
    conn.close()
    work.unlink()
    return out


def _day_then_recompute(conn, import_day: Callable[[], tuple[float, float]]) -> dict[str, object]:
    """The day imported (``import_day``: its wall and CPU seconds), refreshed, then the full
    recompute to the same date, each timed, with both results' snapshots."""
    out: dict[str, object] = {"load_before": os.getloadavg()[0]}
    out["import"] = import_day()
    cpu_started = cpu()
    report = refresh(conn, NEXT)
    out["refresh"] = (report.seconds, cpu() - cpu_started)
    assert report.full == "", report.full
    out["report"] = report
    out["refreshed"] = snapshot(conn)
    started, cpu_started = time.perf_counter(), cpu()
    recompute(conn, NEXT)
    out["full"] = (time.perf_counter() - started, cpu() - cpu_started)
    out["recomputed"] = snapshot(conn)
    out["load_after"] = os.getloadavg()[0]
    return out


def chdb_next_day(conn, orders: list[tuple], events: list[tuple]) -> tuple[float, float]:
    """The same rows into chDB as a loader writes them into ClickHouse (`userops import` does
    not run there yet): one INSERT of each table's rows (Arrow), and the data's latest date
    (rows of a later day than the features': nothing for refresh_dirty)."""
    import pyarrow as pa

    columns = {
        "orders": ("order_id", "user_id", "amount", "created_at"),
        "events": ("user_id", "kind", "created_at", "value"),
    }
    frames = {
        table: pa.table(dict(zip(columns[table], map(list, zip(*rows, strict=True)), strict=True)))
        for table, rows in (("orders", orders), ("events", events))
    }
    started, cpu_started = time.perf_counter(), cpu()
    for table, frame in frames.items():
        conn.backend.insert_arrow(table, frame)
    set_meta(conn, "data_latest", NEXT.isoformat())
    return time.perf_counter() - started, cpu() - cpu_started


def chdb_day(
    cached: Path, folder: Path, orders: list[tuple], events: list[tuple], memory: str
) -> dict[str, object]:
    """On a copy of the cache's chDB copy: the day inserted, refreshed, then the full
    recompute (chDB's session bounded as DuckDB's: max_memory_usage, 2 threads)."""
    from core.store.copy import copy_database
    from core.store.engines import open_database

    source = cached.with_suffix(".chdb")
    if not source.exists():  # the cache's chDB copy, made once
        started = time.perf_counter()
        copy_database(cached, f"chdb:///{source}")
        print(f"copied {cached.name} to chDB in {time.perf_counter() - started:.0f} s")
    work = folder / "work.chdb"
    shutil.copytree(source, work, symlinks=True)  # its links are relative: into the copy
    conn = open_database(f"chdb:///{work}")
    conn.execute(f"SET max_memory_usage = {int(float(memory.upper().rstrip('GB')) * 1e9)}")
    conn.execute("SET max_threads = 2")
    out = _day_then_recompute(conn, lambda: chdb_next_day(conn, orders, events))
    conn.close()
    shutil.rmtree(work)
    return out


def snapshot(conn) -> int:
    """A checksum of every column of features but the model outputs, the tags, layer and RFM
    history of NEXT."""
    rows = conn.execute(f"SELECT {', '.join(COMPARED)} FROM features ORDER BY user_id")
    digest = hash(tuple(rows))
    for query in (
        "SELECT user_id, tag FROM user_tags ORDER BY 1, 2",
        "SELECT user_id, layer FROM layer_history WHERE as_of = '2025-01-01' ORDER BY 1",
        "SELECT user_id, rfm_group FROM rfm_history WHERE as_of = '2025-01-01' ORDER BY 1",
    ):
        digest ^= hash(tuple(conn.execute(query)))
    return digest


DUCKDB_FEATURES = """
CREATE TABLE f AS
WITH o AS (SELECT * FROM read_parquet('{orders}') WHERE created_at < '{end}'),
     e AS (SELECT * FROM read_parquet('{events}') WHERE created_at < '{end}'),
ro AS (
  SELECT user_id, max(created_at) AS last_at, count(*) AS frequency, sum(amount) AS monetary,
         min(created_at) AS first_at,
         count(*) FILTER (WHERE created_at >= '{d30}') AS o30, count(*) FILTER (WHERE created_at >= '{d90}') AS o90,
         coalesce(sum(amount) FILTER (WHERE created_at >= '{d30}'), 0) AS s30,
         coalesce(sum(amount) FILTER (WHERE created_at >= '{d90}'), 0) AS s90,
         count(*) FILTER (WHERE length(created_at) >= 13 AND substr(created_at, 12, 2) NOT BETWEEN '06' AND '21') AS night,
         count(*) FILTER (WHERE length(created_at) >= 13) AS timed
  FROM o GROUP BY user_id),
re AS (
  SELECT user_id, max(created_at) AS last_at,
         {last_kinds},
         count(*) FILTER (WHERE kind = 'login' AND created_at >= '{d7}') AS logins_7d,
         count(*) FILTER (WHERE kind = 'login' AND created_at >= '{d30}') AS logins_30d,
         count(*) FILTER (WHERE kind = 'post' AND created_at >= '{d7}') AS posts_7d,
         count(*) FILTER (WHERE kind = 'post' AND created_at >= '{d30}') AS posts_30d,
         count(*) FILTER (WHERE kind = 'checkin' AND created_at >= '{d7}') AS checkins_7d,
         count(*) FILTER (WHERE kind = 'checkin' AND created_at >= '{d30}') AS checkins_30d,
         count(*) FILTER (WHERE kind = 'view' AND created_at >= '{d30}') AS views_30d,
         count(*) FILTER (WHERE kind = 'share' AND created_at >= '{d30}') AS shares_30d,
         count(*) FILTER (WHERE kind = 'coupon_use' AND created_at >= '{d90}') AS coupon_uses_90d
  FROM e GROUP BY user_id),
carts AS (
  SELECT e.user_id, count(*) AS open FROM e LEFT JOIN ro ON ro.user_id = e.user_id
  WHERE e.kind = 'cart_add' AND e.created_at >= '{d30}' AND (ro.last_at IS NULL OR e.created_at > ro.last_at)
  GROUP BY e.user_id),
fav AS (
  SELECT user_id, arg_min(value, (-n, value)) AS category FROM (
    SELECT user_id, value, count(*) AS n FROM e
    WHERE kind IN ('view', 'cart_add') AND created_at >= '{d90}' AND value <> ''
    GROUP BY user_id, value) GROUP BY user_id)
SELECT u.user_id, u.city, date_diff('day', CAST(ro.last_at AS DATE), DATE '{as_of}') AS recency_days,
       coalesce(ro.frequency, 0) AS frequency, coalesce(ro.monetary, 0) AS monetary,
       ro.first_at, ro.last_at, coalesce(o30, 0), coalesce(o90, 0), coalesce(s30, 0), coalesce(s90, 0),
       re.* EXCLUDE (user_id), coalesce(carts.open, 0) AS carts_open,
       night / nullif(timed, 0) AS night_order_share, fav.category AS favourite_category,
       ntile(5) OVER (ORDER BY ro.frequency) AS f_score
FROM read_parquet('{users}') AS u
LEFT JOIN ro USING (user_id) LEFT JOIN re USING (user_id)
LEFT JOIN carts USING (user_id) LEFT JOIN fav USING (user_id)
"""


def duckdb_features(folder: Path, as_of: date) -> tuple[float, float, int]:
    import duckdb  # the bench extra

    def day(n: int) -> str:
        return date.fromordinal(as_of.toordinal() - n).isoformat()

    sql = DUCKDB_FEATURES.format(
        orders=folder / "orders.parquet",
        events=folder / "events.parquet",
        users=folder / "users.parquet",
        end=date.fromordinal(as_of.toordinal() + 1).isoformat(),
        as_of=as_of.isoformat(),
        d7=day(6),
        d30=day(29),
        d90=day(89),
        last_kinds=", ".join(
            f"max(created_at) FILTER (WHERE kind = '{k}') AS last_{k}" for k in KINDS
        ),
    )
    con = duckdb.connect()
    con.execute("SET threads = 2")
    started, cpu_started = time.perf_counter(), cpu()
    con.execute(sql)
    seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started
    return seconds, cpu_seconds, con.execute("SELECT count(*) FROM f").fetchone()[0]


def export_parquet(conn, folder: Path) -> None:
    """users, orders, events as Parquet (untimed), through pyarrow in batches."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for table, cols in (
        ("users", "user_id, city, signup_at"),
        ("orders", "order_id, user_id, amount, created_at"),
        ("events", "user_id, kind, created_at, value"),
    ):
        cursor = conn.execute(f"SELECT {cols} FROM {table}")
        names = [c.strip() for c in cols.split(",")]
        writer = None
        while rows := cursor.fetchmany(500_000):
            batch = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
            writer = writer or pq.ParquetWriter(folder / f"{table}.parquet", batch.schema)
            writer.write_table(batch)
        if writer:
            writer.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--day-share", type=float, default=0.01, help="the day's share of the rows")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--model",
        choices=[*PURCHASE_MODELS, "all"],
        default="mbgnbd",
        help="the recorded model choice: the recompute fits it (and Gamma-Gamma) only;\n"
        "'all': none recorded, the recompute fits all three (Pareto/NBD's fit is most of it)",
    )
    ap.add_argument(
        "--duckdb",
        action="store_true",
        help="then the same day imported and refreshed on the cache's DuckDB copy",
    )
    ap.add_argument(
        "--chdb",
        action="store_true",
        help="then the same day inserted and refreshed on the cache's chDB copy (at 100k)",
    )
    ap.add_argument(
        "--duck-memory", default="3GB", help="DuckDB's memory_limit (--duckdb; chDB's too)"
    )
    args = ap.parse_args()
    # The condition grammar is built once per process (~0.6 s of CPU): before either timing,
    # or the refresh, timed first, pays it and the recompute does not.
    lark_parser()
    cached = HERE / f"bench_refresh_{args.users}_{args.model}.db"
    if not cached.exists():
        build(cached, args.users, args.seed, args.model)
    renew_stale(cached)
    with tempfile.TemporaryDirectory(dir=HERE) as folder:
        work = Path(folder) / "work.db"
        shutil.copy(cached, work)
        conn = open_db(work)
        load_before = os.getloadavg()[0]
        counts = [conn.execute(f"SELECT max(rowid) FROM {t}").fetchone()[0] for t in ("orders",)]
        n_events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        orders, events = day_rows(conn, args.users, args.day_share, args.seed)
        t_import, c_import, n_o, n_e = next_day(conn, orders, events)
        report_steps: dict[str, float] = {}
        report_cpu: dict[str, float] = {}
        clock = [time.perf_counter(), cpu(), ""]

        def progress(done: int, total: int, what: str) -> None:
            now, now_cpu = time.perf_counter(), cpu()
            if clock[2]:
                report_steps[str(clock[2])] = now - float(clock[0])
                report_cpu[str(clock[2])] = now_cpu - float(clock[1])
            clock[:] = [now, now_cpu, what]

        cpu_started = cpu()
        report = refresh(conn, NEXT, progress=progress)
        c_refresh = cpu() - cpu_started
        assert report.full == "", report.full
        refreshed = snapshot(conn)
        started, cpu_started = time.perf_counter(), cpu()
        recompute(conn, NEXT)
        t_full, c_full = time.perf_counter() - started, cpu() - cpu_started
        same = snapshot(conn) == refreshed
        export_parquet(conn, Path(folder))
        conn.close()
        t_duck, c_duck, n_duck = duckdb_features(Path(folder), NEXT)
        load_after = os.getloadavg()[0]
        for name in ("work.db", "users.parquet", "orders.parquet", "events.parquet"):
            (Path(folder) / name).unlink(missing_ok=True)  # disk: one copy at a time
        duck = (
            duck_day(cached, Path(folder), orders, events, args.duck_memory)
            if args.duckdb
            else None
        )
        ch = chdb_day(cached, Path(folder), orders, events, args.duck_memory) if args.chdb else None
    new_rows = n_o + n_e
    t_day, c_day = t_import + report.seconds, c_import + c_refresh
    print(f"data: {args.users:,} users, {counts[0]:,} orders, {n_events:,} events to {AS_OF}")
    print(f"next day {NEXT}: {n_o:,} orders + {n_e:,} events ({args.day_share:.1%} of each)")
    print("                               wall        CPU")
    print(f"  import of the day          {t_import:8.2f} s {c_import:8.2f} s")
    print(
        f"  refresh (incremental)      {report.seconds:8.2f} s {c_refresh:8.2f} s"
        f"  ({report.touched:,} users touched, {report.reread:,} of them with their order"
        " history re-read)"
    )
    print(
        f"  import + refresh           {t_day:8.2f} s {c_day:8.2f} s  = {t_day / t_full:.1%} of"
        f" the full recompute ({c_day / c_full:.1%} in CPU)"
    )
    print(f"  full recompute             {t_full:8.2f} s {c_full:8.2f} s")
    print(
        f"  DuckDB, same aggregates    {t_duck:8.2f} s {c_duck:8.2f} s  ({n_duck:,} users, from"
        " Parquet, 2 threads)"
    )
    print(
        f"  refresh per new row        {report.seconds / new_rows * 1e6:8.1f} µs"
        f" {c_refresh / new_rows * 1e6:8.1f} µs"
    )
    print(
        f"  refresh == full recompute (all but model outputs): {'identical' if same else 'DIFFERENT'}"
    )
    for name, seconds in report_steps.items():
        print(f"    refresh step {name:<18} {seconds:6.2f} s {report_cpu[name]:6.2f} s")
    print(f"load average (1 min) {load_before:.1f} before the run, {load_after:.1f} after it")
    if duck is not None:
        print_duck(duck, new_rows, refreshed)
    if ch is not None:
        print_duck(ch, new_rows, refreshed, "chDB")


def print_duck(
    duck: dict[str, object], new_rows: int, sqlite_refreshed: int, engine: str = "DuckDB"
) -> None:
    (t_import, c_import), (t_refresh, c_refresh) = duck["import"], duck["refresh"]
    t_full, c_full = duck["full"]
    report = duck["report"]
    t_day, c_day = t_import + t_refresh, c_import + c_refresh
    print(f"{engine} (a copy of the cache's {engine} copy), the same day's {new_rows:,} rows")
    print("                               wall        CPU")
    print(f"  import of the day          {t_import:8.2f} s {c_import:8.2f} s")
    print(
        f"  refresh (incremental)      {t_refresh:8.2f} s {c_refresh:8.2f} s"
        f"  ({report.touched:,} users touched, {report.reread:,} re-read)"
    )
    print(
        f"  import + refresh           {t_day:8.2f} s {c_day:8.2f} s  = {t_day / t_full:.1%} of"
        f" {engine}'s full recompute ({c_day / c_full:.1%} in CPU)"
    )
    print(f"  full recompute             {t_full:8.2f} s {c_full:8.2f} s")
    same = duck["refreshed"] == duck["recomputed"]
    print(f"  refresh == full recompute on {engine}: {'identical' if same else 'DIFFERENT'}")
    same = duck["refreshed"] == sqlite_refreshed
    print(f"  {engine}'s refresh == SQLite's refresh: {'identical' if same else 'DIFFERENT'}")
    print(f"load average (1 min) {duck['load_before']:.1f} before, {duck['load_after']:.1f} after")


if __name__ == "__main__":
    main()
