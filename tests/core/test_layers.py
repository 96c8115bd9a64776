"""Layer rules: first match wins, the MECE report, transitions — on tiny hand-built databases."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from core.errors import CoreError, NotFound, QueryError
from core.rules import layers as L
from core.store.schema import feature_table_ddl

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
