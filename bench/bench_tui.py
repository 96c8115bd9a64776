"""Headless benchmark of the users and profile screens on a 1M-user database.

    /work/venv/bin/python bench/bench_tui.py [--users 1000000] [--db bench/bench_1m.db]
    .venv/bin/python bench/bench_tui.py --db bench/big.db --db duckdb:///bench/big.duckdb

``--db`` is a path or an engine URL (core.store.engines), given once or more: each database is
driven in turn in the same run (SQLite beside DuckDB). A database that exists is read as it is,
as of its own date, with the profile of its first user; DuckDB's connections (the app's and
the baselines') get ``memory_limit`` 3 GB and 2 threads (the shared machine's rule). Each
figure is printed with the load average and this process's CPU time for the whole drive.

Builds the database on first use (a fast synthetic generator straight into users/features/
orders/events; git-ignored), then times, with Textual's headless ``run_test``: the first screen
drawn, a page down, the jump to the end, a sort change and opening a profile (median of 5),
from the action to the first redraw of the screen with the result in view (Clock), in wall
and in this process's CPU time (every thread: the UI, the workers, DuckDB's), plus peak RSS.
Each figure is printed beside a baseline measured in the same run: the bare SQL of that page,
and for a page down and the profile the core reads the screen's worker calls (core.views),
outside the app: wall and CPU time, so the drawing's share shows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

from core.store.db import open_db, set_meta, stored_as_of, transaction
from core.store.engines import Target, open_database, parse_database
from core.store.schema import feature_index_ddl

DUCKDB_SETTINGS = ("SET memory_limit = '3GB'", "SET threads = 2")

AS_OF = date(2024, 6, 30)
CITIES = ["上海", "北京", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京", "重庆"]
LAYERS = ["buyer", "active", "registered", "dormant", "churned"]
GROUPS = [
    "important_value",
    "important_development",
    "important_retention",
    "general_value",
    "general_winback",
    "general_retention",
    None,
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"


def build(path: Path, n: int, orders_per_user: int = 10, seed: int = 1) -> None:
    rng = random.Random(seed)
    conn = open_db(path, create=True)
    conn.execute("PRAGMA journal_mode = OFF")
    with transaction(conn):
        conn.executemany(
            "INSERT INTO layer_rules VALUES (?, ?, ?, ?, ?)",
            [
                (1, "buyer", "购买用户", "buyer", "orders_30d > 0"),
                (2, "active", "活跃用户", "active", "logins_30d >= 10"),
                (3, "churned", "流失用户", "churned", "recency_days > 60"),
                (4, "dormant", "沉睡用户", "dormant", "days_since_active > 30"),
                (5, "registered", "注册用户", "registered", "logins_30d >= 0"),
            ],
        )
        conn.executemany("INSERT INTO users VALUES (?,?,?,?,?,?,?,?,?)", _users(rng, n))
        conn.executemany(
            "INSERT INTO features(user_id, name, city, recency_days, frequency, monetary, "
            "last_order_at, r_score, f_score, m_score, rfm_group, layer, logins_30d, orders_30d, "
            "days_since_active) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            _features(random.Random(seed + 1), n),
        )
        conn.executemany(
            "INSERT INTO orders VALUES (?,?,?,?)",
            _orders(random.Random(seed + 2), n, orders_per_user),
        )
        set_meta(conn, "as_of", AS_OF.isoformat())
        set_meta(conn, "features_computed_at", "2024-07-01 08:00:00")
    for ddl in feature_index_ddl(n_users=n):  # what a recompute of this many users builds
        conn.execute(ddl)
    conn.execute("ANALYZE")
    conn.close()


def _users(rng, n):
    for i in range(n):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 3 else "")
        yield (
            f"{i:07d}",
            name,
            "F" if i % 2 else "M",
            CITIES[i % 10],
            "app",
            "ios",
            "2023-01-01",
            f"13{i:09d}",
            f"u{i}@example.com",
        )


def _features(rng, n):
    for i in range(n):
        buyer = rng.random() < 0.6
        rec = rng.randint(0, 700) if buyer else None
        freq = int(rng.paretovariate(1.5)) if buyer else 0
        money = round(freq * rng.lognormvariate(4.5, 0.8), 2) if buyer else 0.0
        last = (AS_OF - timedelta(days=rec)).isoformat() if buyer else None
        s = (lambda: rng.randint(1, 5)) if buyer else (lambda: None)
        yield (
            f"{i:07d}",
            None,
            CITIES[i % 10],
            rec,
            freq,
            money,
            last,
            s(),
            s(),
            s(),
            rng.choice(GROUPS[:-1]) if buyer else None,
            rng.choice(LAYERS),
            rng.randint(0, 20),
            int(buyer and rec < 30),
            rng.randint(0, 400),
        )


def _orders(rng, n, per_user):
    for k in range(per_user * n):
        uid = int(rng.paretovariate(1.2) * 1000) % n
        day = AS_OF - timedelta(days=rng.randint(0, 700))
        yield (f"o{k}", f"{uid:07d}", round(rng.lognormvariate(4.5, 0.8), 2), f"{day} 12:00:00")


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return (time.perf_counter() - t) * 1000, out


async def until(pilot, check, timeout=30.0):
    """Wait for ``check()``, looking every 2 ms without drawing: ``pilot.pause`` redraws the
    whole screen each time it is called, which kept the UI thread, and so Python's lock,
    busy the whole time a worker ran; DuckDB's Python client takes that lock back many times
    per statement (a check for Ctrl-C between its tasks, the fetch), so each of its statements
    waited ~5 ms (Python's switch interval) per hand-over: 430-930 ms in the app for 19 ms
    outside it. The app draws on its own timer, as in a terminal (Clock: the first redraw)."""
    t = time.perf_counter()
    while not check():
        await asyncio.sleep(0.002)
        if time.perf_counter() - t > timeout:
            raise TimeoutError


class Clock:
    """In-app timestamps: when a key's action starts and when the table or profile is filled.

    Pilot's own key delivery waits for the app to go idle (hundreds of ms), so the figures are
    taken inside the app: from the action to the end of the first redraw of the screen after
    the result is in its widgets (the table's rows, the profile's sections).
    """

    def __init__(self) -> None:
        from textual.screen import Screen

        from tui.screens.profile import ProfileScreen
        from tui.widgets.user_table import UserTable

        self.started = self.shown = self.done = 0.0
        self.table = None  # the table whose rows were shown: drawn when its cursor is in view
        self._wrap(UserTable, "show_rows", self._shown)
        # called once the profile's sections are filled
        self._wrap(ProfileScreen, "load_percentiles", self._shown)
        self._wrap(Screen, "_compositor_refresh", self._drawn)  # the screen drawn

    def _shown(self, widget) -> None:
        self.shown = time.perf_counter()
        self.table = widget if hasattr(widget, "cursor_row") else None

    def _drawn(self, screen) -> None:
        if not self.shown or self.done:
            return
        table = self.table
        if table is not None:  # a page shown with the cursor at its end (the jump to the end,
            # the previous page) is drawn at the top first, then scrolled to the cursor
            top = int(table.scroll_y)
            if not top <= table.cursor_row < top + table.size.height - 1:  # the header's line
                return
        self.done, self.cpu_done = time.perf_counter(), time.process_time()

    def _wrap(self, cls, name: str, stamp) -> None:
        original = getattr(cls, name)

        def timed_call(widget, *args, **kwargs):
            result = original(widget, *args, **kwargs)
            stamp(widget)
            return result

        setattr(cls, name, timed_call)

    def start(self) -> None:
        self.started, self.shown, self.done = time.perf_counter(), 0.0, 0.0
        self.cpu_started, self.cpu_done = time.process_time(), 0.0

    def ms(self) -> tuple[float, float]:
        """Wall and CPU time (this process's, every thread: the app's, its workers', DuckDB's)
        from the action to the redraw, in ms."""
        return (self.done - self.started) * 1000, (self.cpu_done - self.cpu_started) * 1000


def limit_duckdb() -> None:
    """Every DuckDB connection the app opens gets DUCKDB_SETTINGS."""
    from core.store import duck

    if getattr(duck.open_duckdb, "limited", False):
        return
    original = duck.open_duckdb

    def limited(*args, **kwargs):
        conn = original(*args, **kwargs)
        for setting in DUCKDB_SETTINGS:
            conn.execute(setting)
        return conn

    limited.limited = True  # type: ignore[attr-defined]
    duck.open_duckdb = limited


async def drive(
    target: Target, as_of: date, profile_id: str, repeat: int = 5
) -> dict[str, tuple[float, float]]:
    from tui.app import Settings, UserOpsApp

    clock = Clock()
    out = {}
    t0, cpu0 = time.perf_counter(), time.process_time()
    app = UserOpsApp(Settings(Path(target.location), as_of, "en", False, engine=target.engine))
    async with app.run_test(size=(160, 48)) as pilot:
        table = lambda: app.screen.query_one("UserTable")  # noqa: E731
        await until(pilot, lambda: table().row_count > 0)
        out["first screen drawn"] = (
            (time.perf_counter() - t0) * 1000,
            (time.process_time() - cpu0) * 1000,
        )
        await app.workers.wait_for_complete()

        async def measure(action, prepare=None) -> tuple[float, float]:
            times, cpus = [], []
            for _ in range(repeat):
                await app.workers.wait_for_complete()
                if prepare is not None:
                    prepare()
                await pilot.pause()
                clock.start()
                action()
                await until(pilot, lambda: clock.done > 0)
                wall, cpu = clock.ms()
                times.append(wall)
                cpus.append(cpu)
            return sorted(times)[len(times) // 2], sorted(cpus)[len(cpus) // 2]  # the medians

        def to_bottom() -> None:
            table().move_cursor(row=table().row_count - 1)

        def page_down() -> None:
            table().action_page_down()  # the cursor is on the last row: the next page

        out["page down"] = await measure(page_down, to_bottom)
        out["jump to end"] = await measure(app.screen.action_end)
        app.screen.sort_by("rfm_group", False)
        await app.workers.wait_for_complete()
        await pilot.pause()
        out["page down sorted by RFM group"] = await measure(page_down, to_bottom)
        users_screen = app.screen

        def open_profile() -> None:
            if app.screen is not users_screen:
                app.pop_screen()
            app.open_profile(profile_id)

        out["open profile"] = await measure(open_profile)
    return out


def count_users(path: Path) -> int:
    conn = sqlite3.connect(path)
    n = conn.execute("SELECT count(*) FROM features").fetchone()[0]
    conn.close()
    return n


def baselines(target: Target, profile_id: str) -> dict[str, float]:
    """The bare SQL of each step on the database's engine (the median of 5)."""
    if target.engine == "sqlite":
        conn = sqlite3.connect(f"file:{target.location}?mode=ro", uri=True)
    else:
        conn = open_database(target, readonly=True)
        if target.engine == "duckdb":
            for setting in DUCKDB_SETTINGS:
                conn.execute(setting)
    cols = (
        "user_id, name, layer, rfm_group, r_score, f_score, m_score, monetary, last_order_at, city"
    )
    second = conn.execute("SELECT user_id FROM features ORDER BY user_id LIMIT 1 OFFSET 200")
    after = second.fetchone()[0]

    def q(sql: str, params: tuple = ()) -> list:
        return conn.execute(sql, params).fetchall()

    def median(sql: str, params: tuple = ()) -> float:
        return sorted(timed(q, sql, params)[0] for _ in range(5))[2]

    out = {
        "page down": median(
            f"SELECT {cols} FROM features WHERE user_id > ? ORDER BY user_id LIMIT 201", (after,)
        ),
        "jump to end": median(f"SELECT {cols} FROM features ORDER BY user_id DESC LIMIT 201"),
        "first screen drawn": median(f"SELECT {cols} FROM features ORDER BY user_id LIMIT 201"),
        "page down sorted by RFM group": median(
            f"SELECT {cols} FROM features ORDER BY rfm_group, user_id LIMIT 201 OFFSET 200"
        ),
        "open profile": median("SELECT * FROM features WHERE user_id = ?", (profile_id,)),
    }
    conn.close()
    return out


def core_reads(target: Target, as_of: date, profile_id: str) -> dict[str, tuple[float, float]]:
    """What the screens' workers call, outside the app, on a connection as the app opens
    one: a page after the first (core.views.users.page) and the profile without the
    percentiles (core.views.profile.profile, as the profile screen asks first): the median of
    5 of wall and of this process's CPU time (ms), DuckDB's threads included."""
    from core.views import profile as core_profile
    from core.views import users

    conn = open_database(target, readonly=True)
    first = users.page(conn, limit=200)

    def median(fn) -> tuple[float, float]:
        walls, cpus = [], []
        for _ in range(5):
            t, spent = time.perf_counter(), _cpu()
            fn()
            walls.append((time.perf_counter() - t) * 1000)
            cpus.append((_cpu() - spent) * 1000)
        return sorted(walls)[2], sorted(cpus)[2]

    out = {
        "page down": median(lambda: users.page(conn, after=first.next_key, limit=200)),
        "open profile": median(
            lambda: core_profile.profile(conn, profile_id, as_of, with_percentiles=False)
        ),
    }
    conn.close()
    return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--orders-per-user", type=int, default=10)
    parser.add_argument(
        "--db", action="append", help="a path or engine URL (repeatable; default bench_tui_1m.db)"
    )
    args = parser.parse_args()
    limit_duckdb()
    for given in args.db or [str(Path(__file__).parent / "bench_tui_1m.db")]:
        target = parse_database(given)
        if target.engine == "sqlite" and not target.path.exists():
            t, _ = timed(build, target.path, args.users, args.orders_per_user)
            print(
                f"built {target.path} ({args.users:,} users, {args.orders_per_user}× orders) "
                f"in {t / 1000:.1f} s"
            )
        if target.engine == "sqlite":
            # an older schema is migrated (through a writable connection) before the app reads
            # it; a current one is only read (the shared caches are read-only)
            open_db(target.path, readonly=True).close()
        conn = open_database(target, readonly=True)
        as_of = stored_as_of(conn) or AS_OF
        profile_id = conn.execute("SELECT min(user_id) FROM features").fetchone()[0]
        users = conn.execute("SELECT count(*) FROM features").fetchone()[0]
        conn.close()
        base = baselines(target, profile_id)
        reads = core_reads(target, as_of, profile_id)
        load, usage = os.getloadavg(), resource.getrusage(resource.RUSAGE_SELF)
        spent = usage.ru_utime + usage.ru_stime
        app = asyncio.run(drive(target, as_of, profile_id))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(
            f"\n{given} ({target.label}, {users:,} users, as of {as_of}); load average {load} "
            f"before, {os.getloadavg()} after; CPU time of the drive "
            f"{usage.ru_utime + usage.ru_stime - spent:.1f} s"
        )
        print(
            f"{'step':32} {'app wall (CPU) ms':>18} {'bare SQL (ms)':>14} "
            f"{'core reads wall (CPU) ms':>26}"
        )
        for step, (ms, cpu) in app.items():
            wall, spent = reads.get(step, (float("nan"), float("nan")))
            print(
                f"{step:32} {ms:9.1f} ({cpu:6.1f}) {base.get(step, float('nan')):14.1f} "
                f"{wall:17.1f} ({spent:6.1f})"
            )
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
