"""The demo database: deterministic, realistic in shape, every lifecycle layer populated."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.ingest.demo import DEMO_AS_OF, DemoError, DemoReport, build_demo
from core.ingest.demo_data import CITIES
from core.pipeline import recompute
from core.rules.tags import install_defaults_once
from core.store.db import open_db, stored_as_of

N = 2000
END = "2025-11-30 23:59:59"  # the last second of DEMO_AS_OF


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[sqlite3.Connection, DemoReport]:
    conn = open_db(tmp_path_factory.mktemp("demo") / "demo.db", create=True)
    report = build_demo(conn, n_users=N, seed=7)
    yield conn, report
    conn.close()


@pytest.fixture
def demo(built) -> sqlite3.Connection:
    return built[0]


def _dump_hash(conn: sqlite3.Connection) -> str:
    digest = hashlib.sha256()
    for sql in (
        "SELECT * FROM users ORDER BY user_id",
        "SELECT * FROM orders ORDER BY order_id",
        "SELECT user_id, kind, created_at, value FROM events ORDER BY 1, 2, 3, 4",
    ):
        for row in conn.execute(sql):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def _built(path: Path, seed: int) -> str:
    conn = open_db(path, create=True)
    try:
        build_demo(conn, n_users=N, seed=seed)
        return _dump_hash(conn)
    finally:
        conn.close()


def test_same_seed_same_data_other_seed_other_data(demo, tmp_path):
    assert _built(tmp_path / "a.db", 7) == _dump_hash(demo)
    assert _built(tmp_path / "b.db", 8) != _dump_hash(demo)


def test_report_counts_match_tables(built):
    demo, report = built
    by_as_of = demo.execute("SELECT count(*) FROM users WHERE signup_at <= ?", (END,)).fetchone()
    assert report.n_users == N == by_as_of[0]
    total = demo.execute("SELECT count(*) FROM users").fetchone()[0]
    assert total == N + report.n_later_signups
    assert report.n_orders == demo.execute("SELECT count(*) FROM orders").fetchone()[0]
    assert report.n_events == demo.execute("SELECT count(*) FROM events").fetchone()[0]
    assert sum(report.archetypes.values()) == N
    assert all(count > 0.04 * N for count in report.archetypes.values()), report.archetypes


def test_as_of_stored_and_the_follow_up_month_after_it(built):
    demo, report = built
    assert stored_as_of(demo) == DEMO_AS_OF
    latest_event = demo.execute(
        "SELECT max(created_at) FROM events WHERE created_at <= ?", (END,)
    ).fetchone()[0]
    assert latest_event.startswith("2025-11-30")  # busy up to the very as-of day
    # the follow-up month (2025-12-01 … 12-31) has events and signups too, for the walk
    # day by day into it (issue 16); none after it
    assert demo.execute("SELECT max(created_at) FROM events").fetchone()[0] <= "2025-12-31 23:59:59"
    later = demo.execute(
        "SELECT count(*), min(signup_at), max(signup_at) FROM users WHERE signup_at > ?", (END,)
    ).fetchone()
    assert later[0] == report.n_later_signups > 0.005 * N
    assert "2025-12-01" <= later[1] <= later[2] <= "2025-12-31 23:59:59"
    # the month's kinds come in November's proportions (each user's rhythm, at a quieter pace)
    shares = {}
    for month, lo, hi in (("nov", "2025-11-01", "2025-12-01"), ("dec", "2025-12-01", "2026")):
        rows = dict(
            demo.execute(
                "SELECT kind, count(*) FROM events WHERE created_at >= ? AND created_at < ?"
                " GROUP BY kind",
                (lo, hi),
            ).fetchall()
        )
        shares[month] = {k: n / sum(rows.values()) for k, n in rows.items()}
    for kind in ("login", "checkin", "view", "cart_add"):
        assert 0.6 < shares["dec"][kind] / shares["nov"][kind] < 1.6, (kind, shares)
    # the new users behave as the 'new' archetype: one or two logins since signing up
    logged_in = demo.execute(
        "SELECT count(DISTINCT u.user_id) FROM users u JOIN events e ON e.user_id = u.user_id"
        " AND e.kind = 'login' AND e.created_at >= u.signup_at WHERE u.signup_at > ?",
        (END,),
    ).fetchone()[0]
    assert logged_in == report.n_later_signups
    # orders go on for the follow-up month only (to measure a campaign started on the as-of day)
    last_before, n_after, latest = demo.execute(
        "SELECT max(created_at) FILTER (WHERE created_at <= ?),"
        " count(*) FILTER (WHERE created_at > ?), max(created_at) FROM orders",
        (END, END),
    ).fetchone()
    assert last_before.startswith("2025-11-30")
    assert 0.02 * N < n_after < 0.2 * N
    assert latest <= "2025-12-31 23:59:59"
    # nobody buys or logs in before signing up
    for table in ("orders", "events"):
        early = demo.execute(
            f"SELECT count(*) FROM {table} t JOIN users u USING(user_id)"
            " WHERE t.created_at < u.signup_at"
        ).fetchone()[0]
        assert early == 0, table


def test_string_ids_and_formats(demo):
    first = demo.execute("SELECT user_id, phone FROM users ORDER BY user_id LIMIT 1").fetchone()
    assert first[0] == "U000001"
    assert demo.execute("SELECT min(order_id) FROM orders").fetchone()[0] == "O0000001"
    bad_phone = demo.execute(
        "SELECT count(*) FROM users WHERE length(phone) != 11 OR phone GLOB '*[^0-9]*'"
        " OR substr(phone, 1, 1) != '1'"
    ).fetchone()[0]
    assert bad_phone == 0
    types = demo.execute("SELECT DISTINCT typeof(user_id) FROM orders").fetchall()
    assert types == [("text",)]
    # amounts are whole yuan (stored in 1-3 bytes instead of 8: the demo's size)
    assert (
        demo.execute("SELECT count(*) FROM orders WHERE amount != round(amount)").fetchone()[0] == 0
    )


def test_city_tier_consistent_with_city(demo):
    tier_of = {city: tier for city, tier, _ in CITIES}
    rows = demo.execute("SELECT city, city_tier, count(*) FROM users GROUP BY 1, 2").fetchall()
    assert all(tier_of[city] == tier for city, tier, _ in rows)
    tiers = {tier for _, tier, _ in rows}
    assert tiers == {"一线", "新一线", "二线", "三线及以下"}
    assert {m for (m,) in demo.execute("SELECT DISTINCT member FROM users")} == {"0", "1"}


def test_orders_long_tailed(demo):
    per_user = dict(
        demo.execute(
            "SELECT n, count(*) FROM (SELECT u.user_id, count(o.order_id) AS n FROM users u"
            " LEFT JOIN orders o USING(user_id) GROUP BY u.user_id) GROUP BY n"
        ).fetchall()
    )
    assert per_user[0] > 0.3 * N  # many never buy
    assert sum(c for n, c in per_user.items() if n <= 3) > 0.8 * N  # most buy 0-3 times
    heavy = sum(c for n, c in per_user.items() if n >= 10)
    assert 0 < heavy < 0.05 * N
    assert max(per_user) >= 20
    median = demo.execute(
        "SELECT amount FROM orders ORDER BY amount LIMIT 1 OFFSET (SELECT count(*) / 2 FROM orders)"
    ).fetchone()[0]
    assert 100 < median < 220  # log-normal around 150 CNY


def _daily_average(conn: sqlite3.Connection, start: str, end: str) -> float:
    return conn.execute(
        "SELECT count(*) * 1.0 / (julianday(?) - julianday(?) + 1) FROM orders"
        " WHERE created_at >= ? AND created_at < date(?, '+1 day')",
        (end, start, start, end),
    ).fetchone()[0]


def test_seasonal_peaks(demo):
    overall = _daily_average(demo, "2023-12-01", "2025-11-30")
    assert _daily_average(demo, "2025-11-01", "2025-11-11") > 2 * overall  # 双11
    # 618 against the month before it (no recency pull on either)
    assert _daily_average(demo, "2025-06-01", "2025-06-18") > 1.3 * _daily_average(
        demo, "2025-05-01", "2025-05-31"
    )


def test_night_buyers_exist(demo):
    night_buyers = demo.execute(
        "SELECT count(*) FROM (SELECT user_id FROM orders GROUP BY user_id HAVING count(*) >= 3"
        " AND avg(CAST(substr(created_at, 12, 2) AS INTEGER) IN (22, 23, 0, 1)) >= 0.8)"
    ).fetchone()[0]
    assert night_buyers > 0


def test_events_kinds_and_categories(demo):
    kinds = {k for (k,) in demo.execute("SELECT DISTINCT kind FROM events")}
    assert kinds == {"login", "view", "post", "checkin", "cart_add", "share", "coupon_use"}
    values = demo.execute(
        "SELECT kind, count(*), count(nullif(value, '')) FROM events GROUP BY kind"
    ).fetchall()
    for kind, n, with_value in values:
        assert with_value == (n if kind in ("view", "cart_add") else 0), kind
    abandoned = demo.execute(
        "SELECT count(*) FROM events e WHERE kind = 'cart_add' AND NOT EXISTS ("
        " SELECT 1 FROM orders o WHERE o.user_id = e.user_id AND o.created_at >= e.created_at)"
    ).fetchone()[0]
    assert abandoned > 0


def test_every_lifecycle_layer_well_populated(demo):
    """The default layer rules (core.rules.layers) over the demo: each layer holds at least 5%."""
    install_defaults_once(demo, as_of=DEMO_AS_OF)
    recompute(demo, DEMO_AS_OF)
    layers = dict(demo.execute("SELECT layer, count(*) FROM features GROUP BY 1").fetchall())
    assert set(layers) == {"new", "loyal", "buyer", "active", "dormant", "churned", "registered"}
    assert all(count >= 0.05 * N for count in layers.values()), layers


def test_refuses_a_database_with_users(demo):
    with pytest.raises(DemoError, match=r"already holds \d+ users"):
        build_demo(demo, n_users=10)


def test_cli_refuses_to_overwrite_then_forces(tmp_path):
    from tui.cli import cli  # here, so the core tests above never depend on the CLI importing

    path = tmp_path / "d.db"
    path.write_text("not a database")
    (tmp_path / "d.db-wal").write_text("stale")
    runner = CliRunner()
    refused = runner.invoke(cli, ["demo", str(path), "--users", "300"])
    assert refused.exit_code == 2
    assert "--force" in refused.output
    assert path.read_text() == "not a database"
    done = runner.invoke(cli, ["demo", str(path), "--users", "300", "--seed", "3", "--force"])
    assert done.exit_code == 0, done.output
    assert "300" in done.output and "2025-11-30" in done.output and "MB" in done.output
    assert not (tmp_path / "d.db-wal").exists()
    conn = open_db(path, readonly=True)
    assert (
        conn.execute("SELECT count(*) FROM users WHERE signup_at <= ?", (END,)).fetchone()[0] == 300
    )
    assert conn.execute("SELECT count(*) FROM features").fetchone()[0] == 300  # as of 11-30
    # a month of the five strategies, ending as of the demo's date (issue 16)
    names = [r[0] for r in conn.execute("SELECT name FROM strategies ORDER BY name")]
    assert names == ["activity-drop", "cart-abandon", "dormant-recall", "rfm-offers", "welcome"]
    days = conn.execute(
        "SELECT min(run_date), max(run_date), count(DISTINCT run_date) FROM strategy_runs"
    ).fetchone()
    assert days[0] >= "2025-11-01" and days[1] <= "2025-11-30" and days[2] >= 5
    assert conn.execute("SELECT value FROM meta WHERE key = 'features_as_of'").fetchone()[0] == (
        "2025-11-30"
    )
    # responses only from targets of an earlier run of their strategy (never the control)
    strays = conn.execute(
        "SELECT count(*) FROM orders o WHERE o.order_id LIKE 'R%' AND NOT EXISTS ("
        " SELECT 1 FROM strategy_runs r JOIN strategy_targets t ON t.run_id = r.id"
        " WHERE t.user_id = o.user_id AND r.run_date < substr(o.created_at, 1, 10))"
    ).fetchone()[0]
    assert strays == 0
    assert conn.execute("SELECT count(*) FROM layer_history").fetchone()[0] == 0
    conn.close()


def test_tiny_and_invalid_sizes(tmp_path):
    for n in (1, 5):
        conn = open_db(tmp_path / f"tiny{n}.db", create=True)
        report = build_demo(conn, n_users=n, seed=1)
        total = conn.execute("SELECT count(*) FROM users").fetchone()[0]
        assert total == n + report.n_later_signups and report.n_users == n
        conn.close()
    conn = open_db(tmp_path / "zero.db", create=True)
    with pytest.raises(DemoError, match="at least 1"):
        build_demo(conn, n_users=0)
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    conn.close()
