"""Layer rules: first match wins, the MECE report, transitions — on tiny hand-built databases."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from core.analytics.features import compute_features
from core.errors import CoreError, NotFound, QueryError
from core.query import compile_condition
from core.rules import layers as L
from core.store.schema import feature_table_ddl
from core.views import users

AS_OF = date(2024, 6, 30)


def add_user(conn: sqlite3.Connection, user_id: str, **features: object) -> None:
    """One user with the given feature values (other features NULL)."""
    conn.execute("INSERT INTO users(user_id, signup_at) VALUES (?, '2023-01-01')", (user_id,))
    cols = ["user_id", *features]
    marks = ", ".join("?" for _ in cols)
    conn.execute(
        f"INSERT INTO features({', '.join(cols)}) VALUES ({marks})", [user_id, *features.values()]
    )


def layer_of(conn: sqlite3.Connection, table: str = "features") -> dict[str, str]:
    return dict(conn.execute(f"SELECT user_id, layer FROM {table}").fetchall())


@pytest.fixture
def abc(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Three overlapping rules and five users whose layers are known by hand.

    u1 freq 6 → a; u2 freq 2 → b; u3 logins 12 → c; u4 nothing → unclassified;
    u5 freq 7 and logins 20 matches a, b and c → a (first match wins).
    """
    L.set_rule(conn, "a", "甲", "A", "frequency >= 5", as_of=AS_OF)
    L.set_rule(conn, "b", "乙", "B", "frequency >= 1", as_of=AS_OF)
    L.set_rule(conn, "c", "丙", "C", "logins_30d >= 10", as_of=AS_OF)
    add_user(conn, "u1", frequency=6, logins_30d=0)
    add_user(conn, "u2", frequency=2, logins_30d=3)
    add_user(conn, "u3", frequency=0, logins_30d=12)
    add_user(conn, "u4", frequency=0, logins_30d=0)
    add_user(conn, "u5", frequency=7, logins_30d=20)
    return conn


def test_first_match_wins_and_unclassified(abc):
    L.apply_layers(abc, "features", AS_OF)
    assert layer_of(abc) == {"u1": "a", "u2": "b", "u3": "c", "u4": "unclassified", "u5": "a"}
    history = abc.execute("SELECT user_id, layer FROM layer_history WHERE as_of = '2024-06-30'")
    assert dict(history.fetchall()) == layer_of(abc)


def test_order_decides_the_layer(abc):
    L.move_rule(abc, "c", 1)
    L.apply_layers(abc, "features", AS_OF)
    assert [r.key for r in L.list_rules(abc)] == ["c", "a", "b"]
    assert layer_of(abc)["u5"] == "c"


def test_apply_to_another_table_leaves_features_alone(abc):
    abc.execute(feature_table_ddl("features_new"))
    abc.execute("INSERT INTO features_new(user_id, frequency) VALUES ('n1', 1), ('n2', 9)")
    L.apply_layers(abc, "features_new", AS_OF)
    assert layer_of(abc, "features_new") == {"n1": "b", "n2": "a"}
    assert set(layer_of(abc).values()) == {None}


def test_unknown_table_name_is_refused(abc):
    with pytest.raises(CoreError):
        L.apply_layers(abc, "features; DROP TABLE users", AS_OF)


def test_mece_report_exact_counts(abc):
    report = L.mece_report(abc, AS_OF)
    assert report.total == 5
    assert [(p.key, p.count) for p in report.pyramid] == [
        ("a", 2),
        ("b", 1),
        ("c", 1),
        ("unclassified", 1),
    ]
    assert report.pyramid[0].share == pytest.approx(0.4)
    assert report.matches == {"a": 2, "b": 3, "c": 2}
    assert [(o.a, o.b, o.count) for o in report.overlaps] == [
        ("a", "b", 2),
        ("a", "c", 1),
        ("b", "c", 1),
    ]
    assert report.gap == 1
    assert not report.is_mece


def test_mece_report_lists_only_overlapping_pairs(conn):
    L.set_rule(conn, "buyers", "买", "buyers", "frequency >= 1", as_of=AS_OF)
    L.set_rule(conn, "others", "其他", "others", "frequency = 0", as_of=AS_OF)
    add_user(conn, "x", frequency=3)
    add_user(conn, "y", frequency=0)
    report = L.mece_report(conn, AS_OF)
    assert report.overlaps == [] and report.gap == 0 and report.is_mece


def test_null_feature_falls_into_the_gap(conn):
    L.set_rule(conn, "buyers", "买", "buyers", "frequency >= 1", as_of=AS_OF)
    L.set_rule(conn, "others", "其他", "others", "frequency = 0", as_of=AS_OF)
    add_user(conn, "x")  # frequency NULL: neither rule is true
    report = L.mece_report(conn, AS_OF)
    assert report.gap == 1 and L.users_in_gap(conn, AS_OF) == ["x"]


def test_users_in_overlap_and_gap(abc):
    assert L.users_in_overlap(abc, "a", "b", AS_OF) == ["u1", "u5"]
    assert L.users_in_overlap(abc, "a", "c", AS_OF) == ["u5"]
    assert L.users_in_overlap(abc, "a", "b", AS_OF, limit=1) == ["u1"]
    assert L.users_in_gap(abc, AS_OF) == ["u4"]
    with pytest.raises(NotFound):
        L.users_in_overlap(abc, "a", "zzz", AS_OF)


def test_invalid_rule_is_rejected_and_nothing_changes(abc):
    before = L.list_rules(abc)
    with pytest.raises(QueryError) as err:
        L.set_rule(abc, "d", "丁", "D", "frequncy >= 2", as_of=AS_OF)
    assert err.value.pos == 0
    with pytest.raises(QueryError):
        L.set_rule(abc, "a", "甲", "A", "frequency >=", as_of=AS_OF)
    assert L.list_rules(abc) == before


def test_rule_cannot_use_layer_or_tags(abc):
    with pytest.raises(QueryError) as err:
        L.set_rule(abc, "d", "丁", "D", 'frequency > 1 and layer = "a"', as_of=AS_OF)
    assert err.value.pos == len("frequency > 1 and ")
    with pytest.raises(QueryError):
        L.set_rule(abc, "d", "丁", "D", 'tag "夜猫子"', as_of=AS_OF)
    assert [r.key for r in L.list_rules(abc)] == ["a", "b", "c"]


def test_bad_key_and_names_are_refused(conn):
    for key in ("Bad Key", "unclassified", "", "x" * 41):
        with pytest.raises(CoreError):
            L.set_rule(conn, key, "名", "name", "frequency > 1", as_of=AS_OF)
    with pytest.raises(CoreError):
        L.set_rule(conn, "ok", " ", "name", "frequency > 1", as_of=AS_OF)
    assert L.list_rules(conn) == []


def test_positions_insert_replace_move_delete(abc):
    L.set_rule(abc, "d", "丁", "D", "frequency >= 3", position=2, as_of=AS_OF)
    assert [(r.position, r.key) for r in L.list_rules(abc)] == [
        (1, "a"),
        (2, "d"),
        (3, "b"),
        (4, "c"),
    ]
    L.set_rule(abc, "a", "甲", "A", "frequency >= 6", as_of=AS_OF)  # replacing keeps the place
    rules = L.list_rules(abc)
    assert rules[0].key == "a" and rules[0].condition == "frequency >= 6"
    L.move_rule(abc, "a", 99)  # past the end: last
    L.delete_rule(abc, "b")
    assert [(r.position, r.key) for r in L.list_rules(abc)] == [(1, "d"), (2, "c"), (3, "a")]
    with pytest.raises(NotFound):
        L.delete_rule(abc, "b")
    with pytest.raises(CoreError):
        L.move_rule(abc, "a", 0)


def test_default_rules_install_once_and_classify_the_lifecycle(conn):
    assert L.install_default_rules(conn) == 7
    assert L.install_default_rules(conn) == 0
    keys = [r.key for r in L.list_rules(conn)]
    assert keys == ["new", "churned", "loyal", "buyer", "active", "dormant", "registered"]
    add_user(conn, "new1", signup_at="2024-06-20", frequency=0, days_since_active=3)
    add_user(
        conn, "churn1", signup_at="2023-01-01", frequency=2, recency_days=120, days_since_active=100
    )
    add_user(
        conn,
        "loyal1",
        signup_at="2023-01-01",
        frequency=6,
        recency_days=45,
        orders_30d=0,
        days_since_active=40,
    )
    add_user(
        conn,
        "buy1",
        signup_at="2023-01-01",
        frequency=1,
        recency_days=5,
        orders_30d=1,
        days_since_active=5,
    )
    add_user(conn, "act1", signup_at="2023-01-01", frequency=0, logins_30d=12, days_since_active=1)
    add_user(conn, "dorm1", signup_at="2023-01-01", frequency=0, days_since_active=50)
    add_user(conn, "reg1", signup_at="2023-01-01", frequency=0, days_since_active=10)
    L.apply_layers(conn, "features", AS_OF)
    assert layer_of(conn) == {
        "new1": "new",
        "churn1": "churned",
        "loyal1": "loyal",
        "buy1": "buyer",
        "act1": "active",
        "dorm1": "dormant",
        "reg1": "registered",
    }
    assert L.mece_report(conn, AS_OF).gap == 0


def history(conn: sqlite3.Connection, day: str, rows: dict[str, str]) -> None:
    conn.executemany(
        "INSERT INTO layer_history(as_of, user_id, layer) VALUES (?, ?, ?)",
        [(day, u, layer) for u, layer in rows.items()],
    )


def test_transitions_from_history(abc):
    history(abc, "2024-05-31", {"u1": "b", "u2": "b", "u3": "unclassified", "u4": "old"})
    history(abc, "2024-06-30", {"u1": "a", "u2": "b", "u3": "c", "u5": "a"})
    moves = L.transitions(abc, date(2024, 5, 31), date(2024, 6, 30))
    assert moves.counts == {
        ("b", "a"): 1,
        ("b", "b"): 1,
        ("unclassified", "c"): 1,
        ("old", "(none)"): 1,
        ("(none)", "a"): 1,
    }
    assert moves.layers == ["a", "b", "c", "unclassified", "old", "(none)"]
    assert moves.moved == 4 and moves.count("b", "b") == 1 and moves.count("a", "b") == 0
    assert moves.computed == (False, False)
    assert abc.execute("SELECT name FROM sqlite_temp_master").fetchall() == []


def test_transition_users_lists_the_users_of_one_cell(abc):
    history(abc, "2024-05-31", {"u1": "b", "u2": "b", "u3": "unclassified", "u4": "old", "u6": "b"})
    history(abc, "2024-06-30", {"u1": "a", "u2": "b", "u3": "c", "u5": "a", "u6": "a"})
    since, now = date(2024, 5, 31), date(2024, 6, 30)
    assert L.transition_users(abc, since, now, "b", "a") == ["u1", "u6"]
    assert L.transition_users(abc, since, now, "b", "b") == ["u2"]
    assert L.transition_users(abc, since, now, "(none)", "a") == ["u5"]  # not there before
    assert L.transition_users(abc, since, now, "old", "(none)") == ["u4"]
    assert L.transition_users(abc, since, now, "a", "b") == []
    assert L.transition_users(abc, since, now, "b' OR '1'='1", "a") == []  # a bound value
    moves = L.transitions(abc, since, now)
    cells = {(a, b): len(L.transition_users(abc, since, now, a, b)) for a, b in moves.counts}
    assert cells == moves.counts
    assert abc.execute("SELECT name FROM sqlite_temp_master").fetchall() == []


def test_transition_condition_lists_a_cell_through_the_read_api(abc):
    from core.views import users

    history(abc, "2024-05-31", {"u1": "b", "u2": "b", "u3": "unclassified", "u4": "old"})
    history(abc, "2024-06-30", {"u1": "a", "u2": "b", "u3": "c", "u5": "a"})
    since, now = date(2024, 5, 31), date(2024, 6, 30)
    moved = L.transition_condition(abc, since, now, "b", "a")
    assert [r.user_id for r in users.page(abc, condition=moved).rows] == ["u1"]
    assert users.count(abc, L.transition_condition(abc, since, now, "(none)", "a")) == 1
    assert users.count(abc, L.transition_condition(abc, since, now, "a", "b")) == 0
    assert moved.human_en == "in b on 2024-05-31 and a on 2024-06-30: 1 users"


def test_transitions_computed_at_past_dates_never_touch_features(conn):
    """u1 bought in March only, u2 in June only, u3 both; u4 signed up in May and bought."""
    L.set_rule(conn, "buyer", "购买用户", "buyer", "orders_30d >= 1", as_of=AS_OF)
    conn.executemany(
        "INSERT INTO users(user_id, signup_at) VALUES (?, ?)",
        [("u1", "2023-01-01"), ("u2", "2023-01-01"), ("u3", "2023-01-01"), ("u4", "2024-05-01")],
    )
    conn.executemany(
        "INSERT INTO orders(order_id, user_id, amount, created_at) VALUES (?, ?, 100, ?)",
        [
            ("o1", "u1", "2024-03-15 10:00:00"),
            ("o2", "u2", "2024-06-20 10:00:00"),
            ("o3", "u3", "2024-03-20 10:00:00"),
            ("o4", "u3", "2024-06-25 10:00:00"),
            ("o5", "u4", "2024-06-10 10:00:00"),
        ],
    )
    history(conn, "2024-06-30", {"u1": "unclassified", "u2": "buyer", "u3": "buyer", "u4": "buyer"})
    moves = L.transitions(conn, date(2024, 3, 31), date(2024, 6, 30))
    assert moves.computed == (True, False)
    assert moves.counts == {
        ("buyer", "unclassified"): 1,
        ("unclassified", "buyer"): 1,
        ("buyer", "buyer"): 1,
        ("(none)", "buyer"): 1,
    }
    both = L.transitions(conn, date(2024, 3, 31), date(2024, 6, 29))  # no history: computed
    assert both.computed == (True, True) and both.counts == moves.counts
    assert conn.execute("SELECT count(*) FROM features").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM layer_history").fetchone()[0] == 4
    assert conn.execute("SELECT name FROM sqlite_temp_master WHERE type = 'table'").fetchall() == []


@pytest.fixture
def with_catch_all(conn: sqlite3.Connection) -> sqlite3.Connection:
    """a: frequency >= 5, b: logins >= 10, rest: the catch-all.

    u1 → a only; u2 → b only; u5 → a and b; u3, u4 match nothing but the catch-all.
    """
    L.set_rule(conn, "a", "甲", "A", "frequency >= 5", as_of=AS_OF)
    L.set_rule(conn, "b", "乙", "B", "logins_30d >= 10", as_of=AS_OF)
    L.set_rule(conn, "rest", "其他", "rest", "user_id is not empty", as_of=AS_OF)
    add_user(conn, "u1", frequency=6, logins_30d=0)
    add_user(conn, "u2", frequency=0, logins_30d=12)
    add_user(conn, "u3", frequency=0, logins_30d=0)
    add_user(conn, "u4", frequency=1, logins_30d=3)
    add_user(conn, "u5", frequency=7, logins_30d=20)
    return conn


def test_catch_all_users_are_counted_and_its_pairs_are_not_overlaps(with_catch_all):
    report = L.mece_report(with_catch_all, AS_OF)
    assert report.gap == 0  # the catch-all hides them …
    assert report.catch_all == L.CatchAll("rest", 2, ("rest",))  # … u3 and u4
    assert report.only_catch_all == 2
    assert [(o.a, o.b, o.count) for o in report.overlaps] == [("a", "b", 1)]
    assert [(o.a, o.b, o.count) for o in report.catch_all_pairs] == [
        ("a", "rest", 2),
        ("b", "rest", 2),
    ]
    assert not report.is_mece
    assert L.users_only_in_catch_all(with_catch_all, AS_OF) == ["u3", "u4"]
    condition = L.only_catch_all_condition(L.list_rules(with_catch_all), report)
    assert condition == "not (frequency >= 5) and not (logins_30d >= 10)"
    compiled = compile_condition(with_catch_all, condition, as_of=AS_OF)
    assert users.count(with_catch_all, compiled) == 2


def test_catch_all_is_decided_by_evaluation_not_by_text(with_catch_all):
    # every user has a frequency: this rule matches everyone although it reads like a filter
    L.set_rule(with_catch_all, "rest", "其他", "rest", "frequency >= 0", as_of=AS_OF)
    assert L.mece_report(with_catch_all, AS_OF).catch_all == L.CatchAll("rest", 2, ("rest",))
    # one user without logins: `logins_30d >= 0` is not everyone, so its pairs are overlaps
    add_user(with_catch_all, "u6", frequency=2)
    L.set_rule(with_catch_all, "rest", "其他", "rest", "logins_30d >= 0", as_of=AS_OF)
    report = L.mece_report(with_catch_all, AS_OF)
    assert report.catch_all is None and report.only_catch_all == 0
    assert report.gap == 1  # u6
    assert [(o.a, o.b) for o in report.overlaps] == [("a", "b"), ("a", "rest"), ("b", "rest")]
    assert L.users_only_in_catch_all(with_catch_all, AS_OF) == []


def test_mece_rules_with_a_catch_all_that_catches_nobody(conn):
    L.set_rule(conn, "buyers", "买", "buyers", "frequency >= 1", as_of=AS_OF)
    L.set_rule(conn, "others", "其他", "others", "frequency = 0", as_of=AS_OF)
    L.set_rule(conn, "rest", "余", "rest", "user_id is not empty", as_of=AS_OF)
    add_user(conn, "x", frequency=3)
    add_user(conn, "y", frequency=0)
    report = L.mece_report(conn, AS_OF)
    assert report.catch_all == L.CatchAll("rest", 0, ("rest",))
    assert report.overlaps == [] and report.gap == 0 and report.is_mece


@pytest.fixture
def order_only(conn: sqlite3.Connection) -> sqlite3.Connection:
    """An import without sign-up dates (as UCI Online Retail): users exist from their first order.

    u1 bought on 03-10 only; u2 on 03-20 and 06-20; u3 first on 06-10; u4 first on 05-01.
    """
    L.set_rule(conn, "buyer", "购买用户", "buyer", "orders_30d >= 1", as_of=AS_OF)
    L.set_rule(conn, "registered", "注册用户", "registered", "user_id is not empty", as_of=AS_OF)
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [("u1",), ("u2",), ("u3",), ("u4",)])
    conn.executemany(
        "INSERT INTO orders(order_id, user_id, amount, created_at) VALUES (?, ?, 10, ?)",
        [
            ("o1", "u1", "2024-03-10 09:00:00"),
            ("o2", "u2", "2024-03-20 09:00:00"),
            ("o3", "u2", "2024-06-20 09:00:00"),
            ("o4", "u3", "2024-06-10 09:00:00"),
            ("o5", "u4", "2024-05-01 09:00:00"),
        ],
    )
    return conn


def test_transitions_without_signup_dates_start_at_the_first_order(order_only):
    moves = L.transitions(order_only, date(2024, 3, 31), date(2024, 6, 30))
    assert moves.computed == (True, True)
    assert moves.counts == {
        ("buyer", "registered"): 1,  # u1
        ("buyer", "buyer"): 1,  # u2
        ("(none)", "buyer"): 1,  # u3: first order after 03-31, not "registered → buyer"
        ("(none)", "registered"): 1,  # u4
    }
    # the day of the first order counts: u1 is there on 03-10, not on 03-09
    on_the_day = L.transitions(order_only, date(2024, 3, 9), date(2024, 3, 10))
    assert on_the_day.counts == {("(none)", "buyer"): 1}


def test_layer_history_of_an_earlier_date_leaves_out_who_was_not_there(order_only):
    compute_features(order_only, "features_then", date(2024, 3, 31))
    assert order_only.execute("SELECT count(*) FROM features_then").fetchone()[0] == 4
    L.apply_layers(order_only, "features_then", date(2024, 3, 31))
    got = order_only.execute("SELECT user_id, layer FROM layer_history ORDER BY user_id")
    assert got.fetchall() == [("u1", "buyer"), ("u2", "buyer")]


def test_lifecycle_rank_is_kept_apart_from_the_priority(conn):
    assert L.install_default_rules(conn) == 7
    ranks = {r.key: r.lifecycle for r in L.list_rules(conn)}
    assert ranks == {
        "new": 1,
        "registered": 2,
        "active": 3,
        "buyer": 4,
        "loyal": 5,
        "dormant": -1,
        "churned": -2,
    }
    L.set_rule(conn, "loyal", "忠诚用户", "loyal", "frequency >= 6", as_of=AS_OF)  # keeps its rank
    L.move_rule(conn, "loyal", 7)  # the priority moves, the rank stays
    loyal = L.list_rules(conn)[-1]
    assert (loyal.key, loyal.position, loyal.lifecycle) == ("loyal", 7, 5)
    L.set_rule(conn, "vip", "贵宾", "vip", "frequency >= 20", position=1, lifecycle=6, as_of=AS_OF)
    L.set_rule(conn, "trial", "试用", "trial", "frequency = 1", as_of=AS_OF)
    L.set_rule(conn, "new", "新用户", "new", "frequency = 0", lifecycle=None, as_of=AS_OF)
    got = {r.key: (r.position, r.lifecycle) for r in L.list_rules(conn)}
    assert got["vip"] == (1, 6) and got["trial"] == (9, None) and got["new"] == (2, None)
    for bad in (0, 100):
        with pytest.raises(CoreError, match="lifecycle rank"):
            L.set_rule(conn, "x", "x", "x", "frequency = 1", lifecycle=bad, as_of=AS_OF)


def test_the_migration_ranks_the_shipped_layers(conn):
    from core.store.schema import MIGRATIONS

    conn.execute("ALTER TABLE layer_rules DROP COLUMN lifecycle")  # as schema 5 made it
    conn.executemany(
        "INSERT INTO layer_rules(position, key, name_zh, name_en, condition) VALUES (?,?,?,?,?)",
        [(1, "churned", "流失", "churned", "frequency = 0"), (2, "mine", "我的", "mine", "x = 1")],
    )
    MIGRATIONS[5](conn)
    got = conn.execute("SELECT key, lifecycle FROM layer_rules ORDER BY position").fetchall()
    assert got == [("churned", -2), ("mine", None)]


def test_a_draft_is_previewed_without_writing_and_saved_in_one_go(abc):
    before = L.list_rules(abc)
    draft = [
        L.LayerRule(0, "c", "丙", "C", "logins_30d >= 10", 2),
        L.LayerRule(0, "a", "甲", "A", "frequency >= 5", 3),
        L.LayerRule(0, "z", "其他", "Z", "user_id is not empty", 1),
    ]  # b deleted, c moved first, z added as a catch-all
    report = L.mece_report(abc, AS_OF, draft)
    assert [(p.key, p.count) for p in report.pyramid] == [
        ("c", 2),  # u3, u5
        ("a", 1),  # u1
        ("z", 2),  # u2, u4
        ("unclassified", 0),
    ]
    assert report.catch_all == L.CatchAll("z", 2, ("z",))
    assert [(o.a, o.b, o.count) for o in report.overlaps] == [("c", "a", 1)]
    assert L.list_rules(abc) == before  # a preview writes nothing
    L.replace_rules(abc, draft, as_of=AS_OF)
    got = [(r.position, r.key, r.lifecycle) for r in L.list_rules(abc)]
    assert got == [(1, "c", 2), (2, "a", 3), (3, "z", 1)]
    assert L.mece_report(abc, AS_OF) == report


def test_a_bad_draft_changes_nothing(abc):
    before = L.list_rules(abc)
    good = L.LayerRule(0, "a", "甲", "A", "frequency >= 5")
    for bad, message in (
        (L.LayerRule(0, "d", "丁", "D", 'layer = "a"'), "layer 'd': `layer` cannot be used"),
        (L.LayerRule(0, "a", "甲", "A", "frequency >= 1"), "used twice"),
        (L.LayerRule(0, "D", "丁", "D", "frequency >= 1"), "layer key 'D'"),
        (L.LayerRule(0, "d", "", "D", "frequency >= 1"), "both names"),
        (L.LayerRule(0, "d", "丁", "D", "frequency >= 1", 0), "lifecycle rank 0"),
    ):
        with pytest.raises(CoreError, match=message):
            L.mece_report(abc, AS_OF, [good, bad])
        with pytest.raises(CoreError, match=message):
            L.replace_rules(abc, [good, bad], as_of=AS_OF)
        assert L.list_rules(abc) == before
    with pytest.raises(QueryError) as err:
        L.replace_rules(
            abc,
            [good, L.LayerRule(0, "d", "丁", "D", "frequency >= 1 and frequncy > 2")],
            as_of=AS_OF,
        )
    assert err.value.pos == len("frequency >= 1 and ")
