"""Time ``segment count`` (compile + count) on 1M users and ~10M events.

    /work/venv/bin/python bench/bench_segment_count.py [--users 1000000] [--events 10000000]
        [--only-second]

The second edition's constructs (arithmetic, ranges, row filters, first(), entered/left,
sequences) are measured after the first edition's, with their goals (issue 14): arithmetic over
stored columns <= 200 ms; ranges, filters, first, entered <= 500 ms; sequences <= 1 s.
Where the previous-period columns (schema 8) change a condition's compiled form, it is also
measured compiled without them (the form before), counts checked equal; where the fourth
session changed a compiled form (BEFORE), the form before is measured too. Wall and CPU time
(of this process) are printed, with the load average. ``--match TEXT`` (repeatable) measures
only the second edition's conditions containing it. ``--proposals``
measures indexes not in the schema (PROPOSED_INDEXES) before / after, then drops them.

The database is generated with set-based SQL the first time and cached as
bench/segments_v6_<users>_<events>.db.
Baseline in the same run: ``SELECT count(*) FROM features``. Goal: p50 <= 200 ms for attribute and
feature conditions, <= 1 s for behaviour windows.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from core.audience import segments
from core.query import compile_condition, windows
from core.store.db import open_db, set_meta
from core.store.schema import DAYS_SINCE_LAST, DDL, FEATURE_COLUMNS, feature_index_ddl

AS_OF = date(2024, 6, 30)
CACHE = Path(__file__).parent  # bench/*.db* is git-ignored
RUNS = 7


# Reads every row up to its last stored column, which no index covers (features is WITHOUT
# ROWID, so NOT INDEXED does not stop SQLite from counting an index instead): what a condition
# the indexes cannot serve costs at most.
def full_scan(conn) -> str:
    last = conn.execute("SELECT name FROM pragma_table_info('features') ORDER BY cid DESC")
    return f"SELECT count({last.fetchone()[0]}) FROM features"  # a column name from the schema


ATTRIBUTE_QUERIES = [
    'city = "上海"',
    'city = "上海" and recency_days > 30',
    'rfm = "重要保持客户" and m >= 4',
    "p_alive < 0.3 and monetary >= 500",
    "signup_at > -30d",
    'gender = "F" and r >= 4 and f >= 3 and channel in ("app", "mini")',
]
WINDOW_QUERIES = [
    "count(login, 30d) >= 3",
    "count(login, 30d) = 0",
    "orders(90d) >= 2",
    "spent(90d) > 500",
    "last(cart_add) > -1d",
    'rfm = "重要保持客户" and count(login, 30d) = 0',
    "last(login) < -20d",
    "last(view) < -20d",
    "last(cart_add) < -20d",
    "last(post) < -20d",
]
# Windows with no stored column (or where the raw rows are cheaper): from the raw rows.
FALLBACK_QUERIES = [
    "count(login, 14d) >= 3",
    "count(login, 14d) = 0",
    "count(cart_add, 30d) >= 1",
    "last(view) > -7d",
]
# (goal in ms, condition): the second edition
SECOND_QUERIES = [
    (200, "monetary / frequency >= 400"),
    (200, "spent(30d) > 0.5 * spent(90d)"),
    (200, "(monetary - 100) * 2 > recency_days"),
    (500, "orders(-59d..-30d) >= 1"),
    (500, "orders(-59d..-30d) >= 1 and orders(30d) = 0"),
    (500, "count(login, -59d..-30d) >= 1"),
    (500, "count(view, -13d..-7d) >= 1"),
    (500, "spent(2024-06-01..2024-06-18) > 0"),
    (500, "spent(30d) > 2 * spent(-59d..-30d)"),
    (500, "count(login, 30d) < 0.7 * count(login, -59d..-30d)"),
    (500, 'count(view, 30d, value = "美妆") >= 3'),
    (500, 'count(cart_add, 7d, value in ("美妆", "母婴")) >= 1'),
    (500, "orders(90d, amount >= 200) >= 2"),
    (500, "first(order) > -7d"),
    (500, "first(login) > -7d"),
    (500, "first(login) is empty"),
    (500, "first(cart_add) between 2024-06-01 and 2024-06-07"),
    (500, 'entered layer "churned" within 7d'),
    (500, 'left layer "active" within 7d'),
    (500, 'entered rfm "重要保持客户" within 7d'),
    (500, 'entered tag "夜猫子" within 7d'),
    (1000, "did cart_add in 7d then no order within 1d"),
    (1000, "did cart_add in 30d then order within 1d"),
    (1000, "did cart_add then order within 1d"),
    (1000, "did cart_add then no order within 1d"),
    (1000, "did view then cart_add within 1d"),
    (1000, "did view in 30d then cart_add within 1d"),
]
# Two history dates (D - 10 and D) for entered/left: a tenth of the users moved in between.
HISTORY_SQL = """
INSERT INTO layer_history SELECT '2024-06-30', user_id, layer FROM features;
INSERT INTO layer_history SELECT '2024-06-20', user_id,
    CASE WHEN substr(user_id, -1) = '6' THEN 'active' ELSE layer END FROM features;
INSERT INTO rfm_history SELECT '2024-06-30', user_id, rfm_group FROM features;
INSERT INTO rfm_history SELECT '2024-06-20', user_id,
    CASE WHEN substr(user_id, -1) = '3' THEN 'important_value' ELSE rfm_group END FROM features;
INSERT INTO tag_rules(name, dimension, condition) VALUES ('夜猫子', 'behavioural',
    'night_order_share > 0.5');
INSERT INTO user_tags SELECT user_id, '夜猫子' FROM features WHERE substr(user_id, -1) IN ('1', '2');
INSERT INTO tag_history SELECT '2024-06-30', tag, user_id FROM user_tags;
INSERT INTO tag_history SELECT '2024-06-20', '夜猫子', user_id FROM features
    WHERE substr(user_id, -1) = '1'
"""

# Window columns exactly as core/features.py computes them (as of AS_OF: end = D+1, the 7/30/90
# day windows start on D-6, D-29, D-89), so the bench can check both compilations agree.
WINDOW_SQL = """
CREATE TEMP TABLE ev (
    user_id TEXT PRIMARY KEY, logins_7d INTEGER, logins_30d INTEGER, posts_7d INTEGER,
    posts_30d INTEGER, checkins_7d INTEGER, checkins_30d INTEGER, views_30d INTEGER,
    shares_30d INTEGER, coupon_uses_90d INTEGER, logins_prev_30d INTEGER
) WITHOUT ROWID;
INSERT INTO ev
SELECT user_id,
       sum(kind = 'login' AND created_at >= :d7), sum(kind = 'login' AND created_at >= :d30),
       sum(kind = 'post' AND created_at >= :d7), sum(kind = 'post'),
       sum(kind = 'checkin' AND created_at >= :d7), sum(kind = 'checkin'),
       sum(kind = 'view'), sum(kind = 'share'), sum(kind = 'coupon_use'),
       sum(kind = 'login' AND created_at < :d30)
FROM events
WHERE (kind IN ('login', 'post', 'checkin', 'view', 'share')
       AND created_at >= :d30 AND created_at < :end)
   OR (kind = 'coupon_use' AND created_at >= :d90 AND created_at < :end)
   OR (kind = 'login' AND created_at >= :d60 AND created_at < :d30)
GROUP BY user_id;
CREATE TEMP TABLE ow (user_id TEXT PRIMARY KEY, o30 INTEGER, o90 INTEGER, s30 REAL, s90 REAL,
    o_prev INTEGER, s_prev REAL) WITHOUT ROWID;
INSERT INTO ow
SELECT user_id, count(*) FILTER (WHERE created_at >= :d30), count(*),
       total(amount) FILTER (WHERE created_at >= :d30), total(amount),
       count(*) FILTER (WHERE created_at >= :d60 AND created_at < :d30),
       total(amount) FILTER (WHERE created_at >= :d60 AND created_at < :d30)
FROM orders INDEXED BY orders_user_time_amount
WHERE created_at >= :d90 AND created_at < :end
GROUP BY user_id;
CREATE TEMP TABLE ll (user_id TEXT PRIMARY KEY, {LAST_COLUMNS}) WITHOUT ROWID;
INSERT INTO ll
SELECT user_id, {LAST_FILTERS}
FROM events WHERE created_at < :end
GROUP BY user_id;
""".replace("{LAST_COLUMNS}", ", ".join(f"{kind} TEXT" for kind in DAYS_SINCE_LAST)).replace(
    "{LAST_FILTERS}",
    ", ".join(f"max(created_at) FILTER (WHERE kind = '{kind}')" for kind in DAYS_SINCE_LAST),
)
# The previous-period windows (schema 8): measured with and without them (measure_second).
PREVIOUS_PERIOD = ("logins_prev_30d", "orders_prev_30d", "spent_prev_30d")
HOT_INDEX = (
    "rfm_group, layer, city, gender, channel, r_score, f_score, m_score, recency_days, "
    "frequency, monetary, p_alive, signup_at, logins_7d, logins_30d, posts_30d, checkins_30d, "
    "views_30d, orders_30d, orders_90d, spent_30d, spent_90d"
)
BOUNDS = {
    "end": "2024-07-01",
    "d7": "2024-06-24",
    "d30": "2024-06-01",
    "d60": "2024-05-02",
    "d90": "2024-04-02",
}

# days_since_<kind> for each kind of core.store.schema.DAYS_SINCE_LAST
DAYS_SINCE = {
    column: f"CAST(julianday('2024-06-30') - julianday(substr(ll.{kind}, 1, 10)) AS INTEGER)"
    for kind, column in DAYS_SINCE_LAST.items()
}

# Every column filled (a real features row is this wide: a full scan reads all of it), by name:
# the INSERT lists them in FEATURE_COLUMNS order, so a column added to the registry without an
# expression here stops the build (below) rather than shifting the others.
FEATURE_EXPRS = {
    "user_id": "'u' || i",
    "name": "'用户' || i",
    "gender": "CASE i % 2 WHEN 0 THEN 'F' ELSE 'M' END",
    "city": """CASE i % 7 WHEN 0 THEN '上海' WHEN 1 THEN '北京' WHEN 2 THEN '广州'
        WHEN 3 THEN '深圳' WHEN 4 THEN '成都' WHEN 5 THEN '杭州' ELSE '武汉' END""",
    "channel": "CASE i % 3 WHEN 0 THEN 'app' WHEN 1 THEN 'mini' ELSE 'web' END",
    "device": "CASE i % 4 WHEN 0 THEN 'android' WHEN 1 THEN 'ios' WHEN 2 THEN 'web' ELSE 'mini' END",
    "signup_at": "date('2024-06-30', '-' || (i % 900) || ' days')",
    "recency_days": "i % 365",
    "frequency": "i % 13",
    "monetary": "(i % 997) * 1.5",
    "first_order_at": "datetime('2024-06-30', '-' || (400 + i % 300) || ' days')",
    "last_order_at": (
        "datetime('2024-06-30', '-' || (i % 365) || ' days', '+' || (i % 86400) || ' seconds')"
    ),
    "orders_30d": "coalesce(ow.o30, 0)",
    "orders_90d": "coalesce(ow.o90, 0)",
    "spent_30d": "coalesce(ow.s30, 0.0)",
    "spent_90d": "coalesce(ow.s90, 0.0)",
    "orders_prev_30d": "coalesce(ow.o_prev, 0)",
    "spent_prev_30d": "coalesce(ow.s_prev, 0.0)",
    **{
        c: f"coalesce(ev.{c}, 0)"
        for c in (
            "logins_7d",
            "logins_30d",
            "logins_prev_30d",
            "posts_7d",
            "posts_30d",
            "checkins_7d",
            "checkins_30d",
            "views_30d",
            "shares_30d",
            "coupon_uses_90d",
        )
    },  # fmt: skip
    "carts_open": "i % 3",
    "night_order_share": "(i % 10) / 10.0",
    "favourite_category": """CASE i % 5 WHEN 0 THEN '美妆' WHEN 1 THEN '母婴' WHEN 2 THEN '数码'
        WHEN 3 THEN '服饰' ELSE '食品' END""",
    "last_active_at": "datetime('2024-06-30', '-' || (i % 200) || ' days')",
    "days_since_active": "i % 200",
    **DAYS_SINCE,
    "r_score": "1 + i % 5",
    "f_score": "1 + (i / 5) % 5",
    "m_score": "1 + (i / 25) % 5",
    "rfm_group": """CASE i % 8 WHEN 0 THEN 'important_value' WHEN 1 THEN 'important_development'
        WHEN 2 THEN 'important_retention' WHEN 3 THEN 'important_winback'
        WHEN 4 THEN 'general_value' WHEN 5 THEN 'general_development'
        WHEN 6 THEN 'general_retention' ELSE 'general_winback' END""",
    "rfm_cell27": """substr('LMH', 1 + i % 3, 1) || substr('LMH', 1 + (i / 3) % 3, 1)
        || substr('LMH', 1 + (i / 9) % 3, 1)""",
    "p_alive": "(i % 100) / 100.0",
    "expected_purchases_30d": "(i % 17) / 10.0",
    "expected_purchases_90d": "(i % 23) / 10.0",
    "expected_order_value": "50 + i % 400",
    "clv": "(i % 5000) * 1.25",
    "expected_purchases_90d_low": "(i % 23) / 20.0",
    "expected_purchases_90d_high": "(i % 23) / 5.0",
    "clv_low": "(i % 5000) * 0.75",
    "clv_high": "(i % 5000) * 2.5",
    "layer": "CASE i % 5 WHEN 0 THEN 'active' WHEN 1 THEN 'churned' ELSE 'registered' END",
}
assert set(FEATURE_EXPRS) == set(FEATURE_COLUMNS), set(FEATURE_COLUMNS) ^ set(FEATURE_EXPRS)
FEATURES_SQL = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :users)
INSERT INTO features ({", ".join(FEATURE_COLUMNS)})
SELECT {", ".join(FEATURE_EXPRS[c] for c in FEATURE_COLUMNS)}
FROM n LEFT JOIN ev ON ev.user_id = 'u' || i LEFT JOIN ow ON ow.user_id = 'u' || i
    LEFT JOIN ll ON ll.user_id = 'u' || i
"""
# every user with rows is in users, as an import makes it (the whole-history sequences read
# the A rows per user of users); the attributes a demo user has, from the features
USERS_SQL = """
INSERT INTO users(user_id, name, gender, city, channel, signup_at)
SELECT user_id, 'user ' || user_id, gender, city, channel, signup_at FROM features
ORDER BY user_id
"""
EVENTS_SQL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :events)
INSERT OR IGNORE INTO events(user_id, kind, created_at, value)
SELECT user_id, kind, created_at,
    CASE WHEN kind IN ('view', 'cart_add') THEN
        CASE abs(random()) % 5 WHEN 0 THEN '美妆' WHEN 1 THEN '母婴' WHEN 2 THEN '数码'
            WHEN 3 THEN '服饰' ELSE '食品' END
    ELSE '' END
FROM (SELECT 'u' || (1 + abs(random()) % :users) AS user_id,
    CASE abs(random()) % 10 WHEN 0 THEN 'cart_add' WHEN 1 THEN 'post' WHEN 2 THEN 'share'
        WHEN 3 THEN 'view' WHEN 4 THEN 'view' ELSE 'login' END AS kind,
    datetime('2024-07-01', '-' || (abs(random()) % (365 * 86400)) || ' seconds') AS created_at
    FROM n)
"""
ORDERS_SQL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :orders)
INSERT INTO orders(order_id, user_id, amount, created_at)
SELECT 'o' || i, 'u' || (1 + abs(random()) % :users), 10 + abs(random()) % 500,
    datetime('2024-07-01', '-' || (abs(random()) % (365 * 86400)) || ' seconds')
FROM n
"""


def build(path: Path, users: int, events: int) -> None:
    """Generate the database with the current schema: the event/order indexes are dropped for
    the load and rebuilt, the window columns computed, then the feature indexes created."""
    conn = open_db(path, create=True)
    conn.execute("PRAGMA foreign_keys = OFF")
    indexes = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
        "('events', 'orders', 'features') AND sql IS NOT NULL"
    ).fetchall()
    for (name,) in indexes:
        conn.execute(f"DROP INDEX {name}")
    conn.execute("BEGIN")
    conn.execute(EVENTS_SQL, {"events": events, "users": users})
    conn.execute(ORDERS_SQL, {"orders": events // 4, "users": users})
    conn.execute("COMMIT")
    conn.executescript(DDL)  # CREATE INDEX IF NOT EXISTS: the dropped indexes come back
    conn.execute("BEGIN")
    for statement in WINDOW_SQL.split(";"):
        if statement.strip():
            conn.execute(statement, BOUNDS)
    conn.execute(FEATURES_SQL, {"users": users})
    conn.execute(USERS_SQL)
    for statement in HISTORY_SQL.split(";"):
        conn.execute(statement)
    set_meta(conn, "as_of", AS_OF.isoformat())
    set_meta(conn, "features_as_of", AS_OF.isoformat())
    conn.execute("COMMIT")
    for ddl in feature_index_ddl(n_users=users):
        conn.execute(ddl)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file to rename
    conn.close()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def p50(fn, runs: int = RUNS) -> tuple[float, float]:
    """(p50 wall ms, p50 CPU ms of this process) of ``runs`` runs."""
    times, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), _cpu()
        fn()
        times.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(times) * 1000, statistics.median(cpus) * 1000


# the CPU ms of the last best_p50's best round: on the shared machine the wall clock counts the
# others' load, the CPU time much less so
LAST_CPU = [0.0]


def best_p50(fn, rounds: int) -> float:
    """The best p50 of several rounds: other sessions load the machine, never the other way."""
    wall, cpu = min(p50(fn) for _ in range(rounds))
    LAST_CPU[0] = cpu
    return wall


def counter(conn, query: str, *, materialised: bool = True, without: tuple[str, ...] = ()):
    """``segment count`` as the CLI runs it (compile + count); materialised=False computes every
    window from the raw events/orders (the path taken when features are of another date);
    ``without``: as if those stored windows did not exist (without_columns)."""

    def run() -> int:
        if without:
            with without_columns(without):
                return segments.count(conn, segments.condition_for(conn, query, as_of=AS_OF))
        if materialised:
            compiled = segments.condition_for(conn, query, as_of=AS_OF)
        else:
            compiled = compile_condition(conn, query, as_of=AS_OF, materialised=False)
        return segments.count(conn, compiled)

    return run


def open_cached(users: int, events: int):
    path = CACHE / f"segments_v6_{users}_{events}.db"  # v6: + the previous-period columns
    if not path.exists():
        t = time.perf_counter()
        partial = path.with_name(path.name + ".partial")  # renamed only when complete
        partial.unlink(missing_ok=True)
        build(partial, users, events)
        partial.rename(path)
        print(f"built {path} in {time.perf_counter() - t:.0f} s")
    upgrade(path)
    return open_db(path, readonly=True)


# The columns a migration may have added empty, as the build fills them (from ev, ow and ll).
UPGRADED = {
    **DAYS_SINCE,
    **{c: FEATURE_EXPRS[c] for c in ("orders_prev_30d", "spent_prev_30d", "logins_prev_30d")},
}


def upgrade(path: Path) -> None:
    """A database built before a migration that added feature columns: opening it read-write
    migrates it (features marked stale, the new columns empty); fill them as the build would
    and mark the features current again, so the bench measures what a recomputed database
    answers."""
    conn = open_db(path)
    try:
        if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is None:  # built before v6's
            with conn:  # users were filled (the import always creates them)
                conn.execute(USERS_SQL)
        if conn.execute("SELECT value FROM meta WHERE key = 'features_stale'").fetchone():
            conn.execute("BEGIN")
            for statement in WINDOW_SQL.split(";"):
                if statement.strip():
                    conn.execute(statement, BOUNDS)
            sets = ", ".join(f"{column} = {expr}" for column, expr in UPGRADED.items())
            conn.execute(
                f"UPDATE features SET {sets} FROM (SELECT user_id AS uid FROM features) AS n"
                " LEFT JOIN ev ON ev.user_id = n.uid LEFT JOIN ow ON ow.user_id = n.uid"
                " LEFT JOIN ll ON ll.user_id = n.uid WHERE n.uid = features.user_id"
            )
            conn.execute("DELETE FROM meta WHERE key = 'features_stale'")
            conn.execute("COMMIT")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="best p50 of this many rounds")
    parser.add_argument(
        "--only-second", action="store_true", help="only the second edition's constructs"
    )
    parser.add_argument(
        "--match",
        action="append",
        default=[],
        help="only the second edition's conditions containing this text (repeatable)",
    )
    parser.add_argument(
        "--hot-index",
        action="store_true",
        help="measure with the proposed HOT_INDEX (then dropped)",
    )
    parser.add_argument(
        "--proposals",
        action="store_true",
        help="measure the proposed orders-by-time and layer-history indexes (then dropped)",
    )
    args = parser.parse_args()
    conn = open_cached(args.users, args.events)
    if args.proposals:
        measure_proposals(conn, args)
    elif args.hot_index:
        with hot_index(conn.execute("PRAGMA database_list").fetchone()[2]):
            measure(conn, args)
    else:
        measure(conn, args)


@contextmanager
def hot_index(path: str):
    """The proposed narrow covering index of the columns conditions use most (a recommendation
    for core/schema.py FEATURE_INDEXES, not part of the schema): created, measured, dropped."""
    rw = open_db(path)
    t = time.perf_counter()
    rw.execute(f"CREATE INDEX IF NOT EXISTS bench_features_hot ON features({HOT_INDEX})")
    rw.execute("ANALYZE features")
    size = rw.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'bench_features_hot'")
    print(f"hot index: {size.fetchone()[0] / 1e6:.0f} MB, built in {time.perf_counter() - t:.1f} s")
    try:
        yield
    finally:
        rw.execute("DROP INDEX bench_features_hot")
        rw.execute("ANALYZE features")
        rw.close()


# Access paths measured for the conditions still over their goal (docs/query-language.md,
# "Second edition: speed"), not in the schema: (index name, table, columns).
PROPOSED_INDEXES = (
    ("bench_orders_time_user_amount", "orders", "created_at, user_id, amount"),
    ("bench_layer_history_layer", "layer_history", "as_of, layer, user_id"),
)
# The orders ranges as the compiler writes them (the covering per-user index, scanned whole)
# and read by date from the proposed index, then grouped: (condition, compiled, by date).
_ORDER_RANGES = (
    (
        "spent(2024-06-01..2024-06-18) > 0",
        "WHERE +created_at >= '2024-06-01' AND +created_at < '2024-06-19'"
        " GROUP BY user_id HAVING +sum(amount) > 0",
    ),
    (
        "orders(90d, amount >= 200) >= 2",
        "WHERE +created_at >= '2024-04-02' AND +created_at < '2024-07-01' AND +amount >= 200"
        " GROUP BY user_id HAVING +count(*) >= 2",
    ),
)


def measure_proposals(conn, args) -> None:
    """Before / after each proposed index, in one run: the orders ranges (also their subquery
    alone, and the users it lists looked up in features: the part no access path changes) and
    entered/left layer; the indexes are dropped at the end."""
    scan = full_scan(conn)
    base = best_p50(lambda: conn.execute(scan).fetchone(), args.rounds)
    print(f"full read of every features row {base:.1f} ms")
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    layer_queries = ['left layer "active" within 7d', 'entered layer "churned" within 7d']

    def forms() -> dict[str, float]:
        out = {}
        has = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        by_date = "bench_orders_time_user_amount" in has
        for query, where in _ORDER_RANGES:
            sub = f"SELECT user_id FROM orders {where}"
            if by_date:
                sub = sub.replace("FROM orders", "FROM orders INDEXED BY " + PROPOSED_INDEXES[0][0])
                sub = sub.replace("+", "")
            full = f"SELECT count(*) FROM features AS f WHERE f.user_id IN ({sub})"
            alone = f"SELECT count(*) FROM ({sub})"
            out[query] = best_p50(lambda q=full: conn.execute(q).fetchone(), args.rounds)
            out[query + "  (subquery alone)"] = best_p50(
                lambda q=alone: conn.execute(q).fetchone(), args.rounds
            )
        for query in layer_queries:
            out[query] = best_p50(counter(conn, query), args.rounds)
        return out

    before = forms()
    rw = open_db(path)
    try:
        for name, table, cols in PROPOSED_INDEXES:
            t = time.perf_counter()
            rw.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table}({cols})")
            size = rw.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ?", (name,))
            print(
                f"{name} ON {table}({cols}): {size.fetchone()[0] / 1e6:.0f} MB, "
                f"built in {time.perf_counter() - t:.1f} s"
            )
        after = forms()
    finally:
        for name, _, _ in PROPOSED_INDEXES:
            rw.execute(f"DROP INDEX IF EXISTS {name}")
        rw.close()
    print(f"{'':<58} {'before':>8}     x read {'with index':>10}     x read")
    for query, ms in before.items():
        print(
            f"{query:<58} {ms:8.1f} ms  x{ms / base:5.2f}  {after[query]:8.1f} ms  "
            f"x{after[query] / base:5.2f}"
        )


def measure(conn, args) -> None:
    n_events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    quick = best_p50(lambda: conn.execute("SELECT count(*) FROM features").fetchone(), args.rounds)
    # count(*) alone is answered from the smallest index; a scan of the rows is the real floor
    scan = full_scan(conn)
    base = best_p50(lambda: conn.execute(scan).fetchone(), args.rounds)
    print(
        f"{args.users:,} users, ~{n_events:,} events; as of {AS_OF}; best of {args.rounds} "
        f"rounds of p50 of {RUNS} runs"
    )
    print(f"{'baseline: SELECT count(*) FROM features':<58} {quick:8.1f} ms")
    print(f"{'baseline (ratios below): full read of every features row':<58} {base:8.1f} ms")
    if not args.only_second:
        measure_first(conn, args, base)
    measure_second(conn, args, base)


def _transition_before(table: str, column: str, key: str, into: str, out_of: str) -> str:
    """entered/left as compiled before this session: an IN and a NOT IN list of two whole
    history dates (``into`` / ``out_of``: 'now' or 'before')."""
    dates = {
        "now": f"(SELECT max(as_of) FROM {table} WHERE as_of <= '2024-06-30')",
        "before": f"(SELECT max(as_of) FROM {table} WHERE as_of < '2024-06-24')",
    }
    rows = f"SELECT user_id FROM {table} WHERE as_of = {{}} AND {column} = '{key}'"
    return (
        f"(f.user_id IN ({rows.format(dates[into])}) AND f.user_id NOT IN "
        f"({rows.format(dates[out_of])}) AND {dates['before']} IS NOT NULL)"
    )


def _first_before(kind: str, lo: str, end: str) -> str:
    """first(kind) in lo..end-1 as compiled before: 'none before' per row of the range."""
    return (
        f"(f.user_id IN (SELECT a.user_id FROM events AS a WHERE a.kind = '{kind}' AND "
        f"a.created_at < '{end}' AND a.created_at >= '{lo}' AND NOT EXISTS (SELECT 1 FROM "
        f"events AS b WHERE b.user_id = a.user_id AND b.kind = '{kind}' AND "
        f"b.created_at < '{lo}')))"
    )


# The conditions whose compiled form changed in the fourth session (docs/query-language.md,
# "Fourth session") and the sixth (the whole-history sequences), as compiled before it, values
# inlined for AS_OF: measured beside the form now, in the same run, counts checked equal.
BEFORE = {
    "first(login) > -7d": _first_before("login", "2024-06-24", "2024-07-01"),
    "first(cart_add) between 2024-06-01 and 2024-06-07": _first_before(
        "cart_add", "2024-06-01", "2024-06-08"
    ),
    'entered layer "churned" within 7d': _transition_before(
        "layer_history", "layer", "churned", "now", "before"
    ),
    'left layer "active" within 7d': _transition_before(
        "layer_history", "layer", "active", "before", "now"
    ),
    'entered rfm "重要保持客户" within 7d': _transition_before(
        "rfm_history", "rfm_group", "important_retention", "now", "before"
    ),
    'entered tag "夜猫子" within 7d': _transition_before(
        "tag_history", "tag", "夜猫子", "now", "before"
    ),
    # whole history: the A rows in the time order of events_kind_time, each probed
    "did cart_add then order within 1d": (
        "f.user_id IN (SELECT a.user_id FROM events AS a WHERE a.kind = 'cart_add' AND "
        "a.created_at < '2024-07-01' AND EXISTS (SELECT 1 FROM orders AS b WHERE b.user_id = "
        "a.user_id AND b.created_at > a.created_at AND b.created_at <= datetime(a.created_at, "
        "'+1 days') AND b.created_at < '2024-07-01'))"
    ),
    "did cart_add then no order within 1d": (
        "f.user_id IN (SELECT a.user_id FROM events AS a WHERE a.kind = 'cart_add' AND "
        "a.created_at < '2024-07-01' AND a.created_at <= '2024-06-30 00:00:00' AND NOT EXISTS "
        "(SELECT 1 FROM orders AS b WHERE b.user_id = a.user_id AND b.created_at > a.created_at "
        "AND b.created_at <= datetime(a.created_at, '+1 days') AND b.created_at < '2024-07-01'))"
    ),
    "did view then cart_add within 1d": (
        "f.user_id IN (SELECT a.user_id FROM events AS a WHERE a.kind = 'view' AND "
        "a.created_at < '2024-07-01' AND EXISTS (SELECT 1 FROM events AS b WHERE b.user_id = "
        "a.user_id AND b.kind = 'cart_add' AND b.created_at > a.created_at AND b.created_at <= "
        "datetime(a.created_at, '+1 days') AND b.created_at < '2024-07-01'))"
    ),
    "did view in 30d then cart_add within 1d": (
        "f.user_id IN (SELECT a.user_id FROM events AS a WHERE a.kind = 'view' AND "
        "a.created_at >= '2024-06-01' AND a.created_at < '2024-07-01' AND EXISTS (SELECT 1 "
        "FROM events AS b WHERE b.user_id = a.user_id AND b.kind = 'cart_add' AND "
        "b.created_at > a.created_at AND b.created_at <= datetime(a.created_at, '+1 days') "
        "AND b.created_at < '2024-07-01'))"
    ),
}


def measure_second(conn, args, base: float) -> None:
    """Each condition as compiled now; where the previous-period columns change its compiled
    form, also as compiled without them (the form before schema 8: those windows from the raw
    rows), in the same run, with the two counts checked equal."""
    print(
        f"-- second edition{'':<41} {'p50':>8}     x scan  goal   users"
        "      without prev-period columns"
    )
    scan = full_scan(conn)
    best_p50(lambda: conn.execute(scan).fetchone(), args.rounds)
    base_cpu = LAST_CPU[0]
    print(f"full read: cpu {base_cpu:.1f} ms; load average {os.getloadavg()}")
    for goal, query in SECOND_QUERIES:
        if args.match and not any(text in query for text in args.match):
            continue
        run = counter(conn, query)
        ms = best_p50(run, args.rounds)
        mark = "ok" if ms <= goal else "OVER"
        users = run()
        cpu = LAST_CPU[0]
        line = (
            f"{query:<58} {ms:8.1f} ms  x{ms / base:5.2f}  {goal:>4} {mark:<4} {users:<10,}"
            f" cpu {cpu:7.1f} ms x{cpu / base_cpu:5.2f}"
        )
        if _compiled(conn, query) != _compiled(conn, query, without=PREVIOUS_PERIOD):
            before = counter(conn, query, without=PREVIOUS_PERIOD)
            before_ms = best_p50(before, args.rounds)
            assert before() == users, f"{query}: with and without the columns disagree"
            line += f" {before_ms:8.1f} ms  x{before_ms / base:5.2f} (without the columns)"
        if query in BEFORE:
            sql = f"SELECT count(*) FROM features AS f WHERE {BEFORE[query]}"
            before_ms = best_p50(lambda q=sql: conn.execute(q).fetchone()[0], args.rounds)
            assert conn.execute(sql).fetchone()[0] == users, f"{query}: the two forms disagree"
            line += (
                f" {before_ms:8.1f} ms  x{before_ms / base:5.2f} cpu {LAST_CPU[0]:7.1f} ms"
                f" x{LAST_CPU[0] / base_cpu:5.2f} (the form before)"
            )
        print(line, flush=True)
    print(f"load average at the end {os.getloadavg()}")


def _compiled(conn, query: str, without: tuple[str, ...] = ()) -> str:
    with without_columns(without):
        return segments.condition_for(conn, query, as_of=AS_OF).where


@contextmanager
def without_columns(names: tuple[str, ...]):
    """Compile as if the stored windows ``names`` did not exist (windows.MATERIALISED without
    them): the compiled form before they were added."""
    saved = windows.MATERIALISED
    windows.MATERIALISED = {key: c for key, c in saved.items() if c not in names}
    try:
        yield
    finally:
        windows.MATERIALISED = saved


def measure_first(conn, args, base: float) -> None:
    print(f"-- attributes / features{'':<34} {'p50':>8}     x scan  users")
    for query in ATTRIBUTE_QUERIES:
        run = counter(conn, query)
        ms = best_p50(run, args.rounds)
        print(f"{query:<58} {ms:8.1f} ms  x{ms / base:5.2f}  {run():,}")
    print(f"-- behaviour windows{'':<38} {'p50':>8}     x scan  users   raw rows  x scan")
    for query in WINDOW_QUERIES + FALLBACK_QUERIES:
        fast, raw = counter(conn, query), counter(conn, query, materialised=False)
        ms, raw_ms = best_p50(fast, args.rounds), best_p50(raw, args.rounds)
        users = fast()
        assert users == raw(), f"{query}: the two compilations disagree"
        print(
            f"{query:<58} {ms:8.1f} ms  x{ms / base:5.2f}  {users:,}  "
            f"{raw_ms:8.1f} ms  x{raw_ms / base:5.2f}"
        )


if __name__ == "__main__":
    main()
