"""The compiled forms chosen for speed at 1M users (first times, windowed sequences, entering and
leaving) count exactly what their definitions say: random small databases (the five users of
test_query_compile plus forty generated ones, events and orders around the as-of date, three
history dates) against the definitions worked out in Python, row by row."""

from __future__ import annotations

import random
import sqlite3
from datetime import date, datetime, timedelta

import pytest
from test_query_compile import AS_OF, build_small_db

from core.audience.segments import count
from core.query import compile_condition

KINDS = ("view", "cart_add", "login")
LAYERS = ("churned", "active", "dormant", "registered")
RFM = ("important_value", "important_retention", "general_winback")
TAGS = ("夜猫子", "优惠券用户")
HISTORY_DATES = (date(2024, 6, 10), date(2024, 6, 20), AS_OF)
END = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time())


def _random_db(conn: sqlite3.Connection, seed: int) -> dict:
    """The generated rows, also returned as Python data for the definitions below."""
    build_small_db(conn)
    rng = random.Random(seed)
    users = [f"g{i:02d}" for i in range(40)]
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(u,) for u in users])
    conn.executemany("INSERT INTO features(user_id) VALUES (?)", [(u,) for u in users])
    everyone = [r[0] for r in conn.execute("SELECT user_id FROM features")]
    events, orders = [], []
    for u in users:
        for _ in range(rng.randint(0, 8)):
            # from 70 days before D to 2 days after it (rows after D never count)
            at = END - timedelta(seconds=rng.randint(-2 * 86400, 70 * 86400))
            events.append((u, rng.choice(KINDS), at.isoformat(sep=" ")))
        for i in range(rng.randint(0, 3)):
            at = END - timedelta(seconds=rng.randint(-86400, 70 * 86400))
            orders.append((f"{u}-{i}", u, float(rng.randint(1, 300)), at.isoformat(sep=" ")))
    conn.executemany(
        "INSERT OR IGNORE INTO events(user_id, kind, created_at) VALUES (?,?,?)", events
    )
    conn.executemany("INSERT INTO orders VALUES (?,?,?,?)", orders)
    history: dict[str, dict[date, dict[str, set[str]]]] = {"layer": {}, "rfm": {}, "tag": {}}
    for day in HISTORY_DATES:
        for what, values, table in (
            ("layer", LAYERS, "layer_history"),
            ("rfm", RFM, "rfm_history"),
        ):
            rows = {u: rng.choice(values) for u in everyone if rng.random() < 0.8}
            conn.executemany(
                f"INSERT INTO {table} VALUES (?,?,?)",
                [(day.isoformat(), u, x) for u, x in rows.items()],
            )
            history[what][day] = {x: {u for u, y in rows.items() if y == x} for x in values}
        pairs = [(t, u) for u in everyone for t in TAGS if rng.random() < 0.3]
        conn.executemany(
            "INSERT INTO tag_history VALUES (?,?,?)", [(day.isoformat(), t, u) for t, u in pairs]
        )
        history["tag"][day] = {t: {u for s, u in pairs if s == t} for t in TAGS}
    rows = conn.execute("SELECT user_id, kind, created_at FROM events").fetchall()
    rows += [(u, "order", at) for u, at in conn.execute("SELECT user_id, created_at FROM orders")]
    times: dict[tuple[str, str], list[datetime]] = {}
    for u, kind, at in rows:
        if datetime.fromisoformat(at) < END:  # only what happened up to D
            times.setdefault((u, kind), []).append(datetime.fromisoformat(at))
    amounts = [
        (u, a, datetime.fromisoformat(at))
        for u, a, at in conn.execute("SELECT user_id, amount, created_at FROM orders")
    ]
    paid = [(u, a, at.date()) for u, a, at in amounts if at < END]
    return {"users": everyone, "times": times, "history": history, "orders": paid}


def _last_on(data: dict, kind: str, lo: date, hi: date) -> int:
    """Users whose latest ``kind`` up to D falls on lo..hi."""
    lasts = [max(ts).date() for (u, k), ts in data["times"].items() if k == kind]
    return sum(lo <= d <= hi for d in lasts)


def _per_user_orders(data: dict, lo: date, hi: date, least: float = 0) -> dict[str, list[float]]:
    """Each user's order amounts (at least ``least``) on lo..hi."""
    got: dict[str, list[float]] = {}
    for u, amount, day in data["orders"]:
        if lo <= day <= hi and amount >= least:
            got.setdefault(u, []).append(amount)
    return got


def _order_cases(data: dict) -> list[tuple[str, int]]:
    """The orders windows, their filter and arithmetic, against the orders themselves."""
    d, day = AS_OF, timedelta(days=1)
    month, before = (
        _per_user_orders(data, d - 29 * day, d),
        _per_user_orders(data, d - 59 * day, d - 30 * day),
    )
    quarter = _per_user_orders(data, d - 89 * day, d)
    big = _per_user_orders(data, d - 89 * day, d, least=200)
    users = data["users"]
    return [
        ("orders(30d) >= 1", len(month)),
        ("orders(-59d..-30d) >= 1 and orders(30d) = 0", len(set(before) - set(month))),
        (
            "orders(90d) >= 2 and spent(90d) > 300",
            sum(len(v) >= 2 and sum(v) > 300 for v in quarter.values()),
        ),
        ("orders(90d, amount >= 200) >= 2", sum(len(v) >= 2 for v in big.values())),
        (
            "spent(30d) > 2 * spent(-59d..-30d)",
            sum(sum(month.get(u, [])) > 2 * sum(before.get(u, [])) for u in users),
        ),
        (
            "orders(30d) + orders(-59d..-30d) = 1",
            sum(len(month.get(u, [])) + len(before.get(u, [])) == 1 for u in users),
        ),
    ]


def _first_on(data: dict, kind: str, lo: date, hi: date) -> int:
    """Users whose first ``kind`` up to D falls on lo..hi."""
    firsts = [min(ts).date() for (u, k), ts in data["times"].items() if k == kind]
    return sum(lo <= d <= hi for d in firsts)


def _did(data: dict, a: str, start: date, last: date, b: str, days: int) -> int:
    """Users with an ``a`` on start..last followed by a ``b`` within ``days`` (both up to D)."""
    n = 0
    for u in data["users"]:
        a_times = [t for t in data["times"].get((u, a), []) if start <= t.date() <= last]
        b_times = data["times"].get((u, b), [])
        n += any(ta < tb <= ta + timedelta(days=days) for ta in a_times for tb in b_times)
    return n


def _did_not(data: dict, a: str, start: date, last: date, b: str, days: int) -> int:
    """Users with an ``a`` on start..last whose ``days`` after it have passed by the end of D
    with no ``b`` in them (a ``b`` at the same second as the ``a`` is not after it)."""
    n, span = 0, timedelta(days=days)
    for u in data["users"]:
        a_times = [t for t in data["times"].get((u, a), []) if start <= t.date() <= last]
        b_times = data["times"].get((u, b), [])
        n += any(
            ta + span <= END and not any(ta < tb <= ta + span for tb in b_times) for ta in a_times
        )
    return n


def _moved(data: dict, what: str, name: str, direction: str, within: int) -> int:
    """entered/left: in X on the latest date up to D and not on the latest before the window."""
    dates = data["history"][what]
    start = AS_OF - timedelta(days=within - 1)
    before = [d for d in dates if d < start]
    if not before:
        return 0
    now_in, before_in = dates[max(dates)][name], dates[max(before)][name]
    return len(now_in - before_in if direction == "entered" else before_in - now_in)


def _cases(data: dict) -> list[tuple[str, int]]:
    d = AS_OF
    cases = []
    for kind in (*KINDS, "order"):
        cases += [
            (f"first({kind}) > -7d", _first_on(data, kind, d - timedelta(days=6), d)),
            (f"first({kind}) >= -20d", _first_on(data, kind, d - timedelta(days=20), d)),
            (f"first({kind}) = -3d", _first_on(data, kind, d - timedelta(3), d - timedelta(3))),
            (
                f"first({kind}) between 2024-06-01 and 2024-06-15",
                _first_on(data, kind, date(2024, 6, 1), date(2024, 6, 15)),
            ),
            (
                f"first({kind}) in (2024-06-29, 2024-06-30)",
                _first_on(data, kind, date(2024, 6, 29), d),
            ),
        ]
        cases += [
            (f"last({kind}) < -7d", _last_on(data, kind, date.min, d - timedelta(days=8))),
            (f"last({kind}) <= -20d", _last_on(data, kind, date.min, d - timedelta(days=20))),
            (f"last({kind}) = -3d", _last_on(data, kind, d - timedelta(3), d - timedelta(3))),
            (
                f"last({kind}) between 2024-06-01 and 2024-06-15",
                _last_on(data, kind, date(2024, 6, 1), date(2024, 6, 15)),
            ),
            (
                f"last({kind}) in (2024-06-29, 2024-06-30)",
                _last_on(data, kind, date(2024, 6, 29), d),
            ),
            (
                f"not last({kind}) < -7d",
                len(data["users"]) - _last_on(data, kind, date.min, d - timedelta(days=8)),
            ),
        ]
    cases += _order_cases(data)
    for a in (*KINDS, "order"):
        for b in ("cart_add", "login", "order"):
            for window, start, last in (
                ("30d", d - timedelta(days=29), d),
                ("-20d..-5d", d - timedelta(days=20), d - timedelta(days=5)),
            ):
                for days in (1, 3):
                    text = f"did {a} in {window} then {b} within {days}d"
                    cases.append((text, _did(data, a, start, last, b, days)))
            # the whole history up to D, and "then no"
            month = (d - timedelta(days=29), d)
            for days in (1, 3):
                seq = f"did {a} then {b} within {days}d"
                cases.append((seq, _did(data, a, date.min, d, b, days)))
                no = f"did {a} then no {b} within {days}d"
                cases.append((no, _did_not(data, a, date.min, d, b, days)))
                no_30d = f"did {a} in 30d then no {b} within {days}d"
                cases.append((no_30d, _did_not(data, a, *month, b, days)))
    for what, names in (("layer", LAYERS), ("rfm", RFM), ("tag", TAGS)):
        for name in names:
            for direction in ("entered", "left"):
                for within in (7, 15, 30):
                    text = f'{direction} {what} "{name}" within {within}d'
                    cases.append((text, _moved(data, what, name, direction, within)))
    return cases


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fast_forms_count_the_definitions(conn: sqlite3.Connection, seed: int) -> None:
    data = _random_db(conn, seed)
    wrong = []
    for text, expected in _cases(data):
        # first(order) and last(…) as of the features' date read their stored columns, and
        # the orders windows theirs (not generated): from the raw rows only
        raw_only = text.startswith(("first(order)", "last(", "not last(")) or "orders(" in text
        for materialised in (False,) if raw_only or "spent(" in text else (True, False):
            got = count(conn, compile_condition(conn, text, as_of=AS_OF, materialised=materialised))
            if got != expected:
                wrong.append((text, materialised, got, expected))
    assert wrong == []


def test_the_fast_forms_count_the_definitions_on_duckdb(tmp_path) -> None:
    """The same definitions on a DuckDB copy, from the raw rows: its own forms (orders
    windows and per-user numbers grouped once, last/first as ranges, sequences as ASOF
    joins; core.store.engines.DuckDBDialect) over orders written by time (COPY_ORDER)."""
    from core.store.copy import copy_database
    from core.store.db import open_db
    from core.store.duck import open_duckdb

    lite = open_db(tmp_path / "forms.db", create=True)
    data = _random_db(lite, 1)
    lite.close()
    copy_database(tmp_path / "forms.db", f"duckdb:///{tmp_path / 'forms.duckdb'}")
    duck = open_duckdb(tmp_path / "forms.duckdb", readonly=True)
    try:
        stamps = [r[0] for r in duck.execute("SELECT created_at FROM orders ORDER BY rowid")]
        assert len(stamps) > 20 and stamps == sorted(stamps)  # written by time
        wrong = []
        for text, expected in _cases(data):
            got = count(duck, compile_condition(duck, text, as_of=AS_OF, materialised=False))
            if got != expected:
                wrong.append((text, got, expected))
        assert wrong == []
    finally:
        duck.close()
