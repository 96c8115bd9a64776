"""Rule tags: validation, applying, counts, predictive tags, defaults on any database."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from core.errors import CoreError, NotFound, QueryError
from core.rules import layers as L
from core.rules import tags as T
from core.store.db import set_meta

AS_OF = date(2024, 6, 30)


def add_user(conn: sqlite3.Connection, user_id: str, **features: object) -> None:
    conn.execute("INSERT INTO users(user_id, signup_at) VALUES (?, '2023-01-01')", (user_id,))
    cols = ["user_id", *features]
    marks = ", ".join("?" for _ in cols)
    conn.execute(
        f"INSERT INTO features({', '.join(cols)}) VALUES ({marks})", [user_id, *features.values()]
    )


def held(conn: sqlite3.Connection, table: str = "user_tags") -> set[tuple[str, str]]:
    return set(conn.execute(f"SELECT user_id, tag FROM {table}").fetchall())


@pytest.fixture
def shop(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Four users: a frequent night buyer, a coupon user, a fading buyer, a browser."""
    add_user(
        conn, "u1", frequency=6, monetary=900.0, night_order_share=0.6, p_alive=0.9, clv=3000.0
    )
    add_user(conn, "u2", frequency=2, monetary=100.0, coupon_uses_90d=3, p_alive=0.5, clv=150.0)
    add_user(conn, "u3", frequency=1, monetary=450.0, p_alive=0.1, clv=10.0)
    add_user(conn, "u4", frequency=0, monetary=0.0)
    return conn


def test_apply_tags_one_row_per_user_and_tag(shop):
    T.set_tag(shop, "高复购", "result", "frequency >= 5", "five orders or more", as_of=AS_OF)
    T.set_tag(
        shop, "夜猫子", "behavioural", "night_order_share >= 0.5 and frequency >= 2", as_of=AS_OF
    )
    T.set_tag(shop, "优惠券用户", "behavioural", "coupon_uses_90d >= 2", as_of=AS_OF)
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    assert held(shop) == {("u1", "高复购"), ("u1", "夜猫子"), ("u2", "优惠券用户")}
    counts = {t.name: n for t, n in T.tag_counts(shop)}
    assert counts == {"夜猫子": 1, "优惠券用户": 1, "高复购": 1}
    assert [t.name for t in T.tags_of(shop, "u1")] == ["夜猫子", "高复购"]  # behavioural first
    assert T.tags_of(shop, "u4") == []


def test_predictive_tags_read_the_model_outputs(shop):
    T.set_tag(shop, "流失预警", "predictive", "p_alive < 0.3", as_of=AS_OF)
    T.set_tag(shop, "高价值潜力", "predictive", "clv >= 2000", as_of=AS_OF)
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    # u4 has no model output (NULL p_alive): no churn warning for a non-buyer
    assert held(shop) == {("u3", "流失预警"), ("u1", "高价值潜力")}


def test_reapplying_replaces_old_rows(shop):
    T.set_tag(shop, "买过", "result", "frequency >= 1", as_of=AS_OF)
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    T.set_tag(shop, "买过", "result", "frequency >= 2", as_of=AS_OF)
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    assert held(shop) == {("u1", "买过"), ("u2", "买过")}


def test_apply_into_a_new_table_leaves_user_tags_alone(shop):
    shop.execute("INSERT INTO user_tags VALUES ('u4', 'old')")
    shop.execute("CREATE TABLE user_tags_new (user_id TEXT, tag TEXT, PRIMARY KEY (tag, user_id))")
    T.set_tag(shop, "买过", "result", "frequency >= 1", as_of=AS_OF)
    T.apply_tags(shop, "features", "user_tags_new", AS_OF)
    assert held(shop, "user_tags_new") == {("u1", "买过"), ("u2", "买过"), ("u3", "买过")}
    assert held(shop) == {("u4", "old")}


def test_tag_may_use_the_layer(shop):
    L.set_rule(shop, "buyer", "购买用户", "buyer", "frequency >= 1", as_of=AS_OF)
    L.apply_layers(shop, "features", AS_OF)
    T.set_tag(shop, "普通买家", "result", 'layer = "buyer" and frequency < 5', as_of=AS_OF)
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    assert held(shop) == {("u2", "普通买家"), ("u3", "普通买家")}


def test_invalid_tag_is_rejected_and_nothing_changes(shop):
    T.set_tag(shop, "高复购", "result", "frequency >= 5", as_of=AS_OF)
    before = T.list_tags(shop)
    with pytest.raises(QueryError) as err:
        T.set_tag(shop, "高复购", "result", "frequency >= 5 and", as_of=AS_OF)
    assert err.value.pos == len("frequency >= 5 and")
    with pytest.raises(QueryError) as err:
        T.set_tag(shop, "x", "result", "p_alvie < 0.3", as_of=AS_OF)
    assert err.value.pos == 0 and err.value.suggestion == "p_alive"
    with pytest.raises(QueryError):
        T.set_tag(shop, "y", "result", 'tag "高复购"', as_of=AS_OF)
    with pytest.raises(CoreError):
        T.set_tag(shop, "z", "psychic", "frequency > 1", as_of=AS_OF)
    with pytest.raises(CoreError):
        T.set_tag(shop, 'bad"name', "result", "frequency > 1", as_of=AS_OF)
    assert T.list_tags(shop) == before


def test_delete_tag_removes_rule_and_users_copies(shop):
    T.set_tag(shop, "买过", "result", "frequency >= 1", as_of=AS_OF)
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    T.delete_tag(shop, "买过")
    assert T.list_tags(shop) == [] and held(shop) == set()
    with pytest.raises(NotFound):
        T.delete_tag(shop, "买过")


def test_defaults_skip_city_tier_when_the_db_lacks_it(shop):
    result = T.install_default_tags(shop, as_of=AS_OF)
    assert [name for name, _ in result.skipped] == ["一线城市"]
    assert len(result.installed) == len(T.DEFAULT_TAGS) - 1
    assert {t.dimension for t in T.list_tags(shop)} == set(T.DIMENSIONS)
    assert T.install_default_tags(shop, as_of=AS_OF) == T.DefaultsInstalled([], [])
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    counts = {t.name: n for t, n in T.tag_counts(shop)}
    assert counts["高复购"] == 1 and counts["流失预警"] == 1 and counts["高价值潜力"] == 1
    assert counts["高客单"] == 1  # u3: one order of 450; u1 spends 150 per order on average


def test_defaults_include_city_tier_when_imported(shop):
    shop.execute("ALTER TABLE users ADD COLUMN city_tier TEXT")
    shop.execute("UPDATE users SET city_tier = '一线' WHERE user_id IN ('u1', 'u3')")
    result = T.install_default_tags(shop, as_of=AS_OF)
    assert result.skipped == [] and "一线城市" in result.installed
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    assert {u for u, t in held(shop) if t == "一线城市"} == {"u1", "u3"}


def test_reapply_rules_runs_layers_then_tags_as_of_the_features(shop):
    L.set_rule(shop, "buyer", "购买用户", "buyer", "frequency >= 1", as_of=AS_OF)
    T.set_tag(shop, "买家", "result", 'layer = "buyer"', as_of=AS_OF)
    assert T.reapply_rules(shop) is None  # features never computed: nothing to re-apply
    assert held(shop) == set()
    set_meta(shop, "features_as_of", "2024-06-30")
    assert T.reapply_rules(shop) == AS_OF
    assert held(shop) == {("u1", "买家"), ("u2", "买家"), ("u3", "买家")}
    days = shop.execute("SELECT DISTINCT as_of FROM layer_history").fetchall()
    assert days == [("2024-06-30",)]


def test_replace_tag_renames_in_one_transaction_and_refuses_as_a_whole(shop):
    T.set_tag(shop, "高复购", "result", "frequency >= 5", as_of=AS_OF)
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    renamed = T.TagRule("常客", "result", "frequency >= 2", "two orders or more")
    T.replace_tag(shop, "高复购", renamed, as_of=AS_OF)
    assert T.list_tags(shop) == [renamed]
    assert held(shop) == set()  # the old name's holders are gone until the rules re-apply
    T.apply_tags(shop, "features", "user_tags", AS_OF)
    assert held(shop) == {("u1", "常客"), ("u2", "常客")}
    bad = T.TagRule("新名", "result", 'tag "常客"')
    with pytest.raises(QueryError, match="tags cannot be used here") as err:
        T.replace_tag(shop, "常客", bad, as_of=AS_OF)
    assert err.value.pos == 0
    assert T.list_tags(shop) == [renamed]  # nothing deleted, nothing added
    T.replace_tag(shop, None, T.TagRule("大单", "result", "monetary >= 400"), as_of=AS_OF)
    assert [t.name for t in T.list_tags(shop)] == ["大单", "常客"]
    with pytest.raises(CoreError, match="'大单' exists already"):  # would overwrite it
        T.replace_tag(shop, "常客", T.TagRule("大单", "result", "frequency >= 9"), as_of=AS_OF)
    with pytest.raises(CoreError, match="exists already"):
        T.replace_tag(shop, None, T.TagRule("常客", "result", "frequency >= 9"), as_of=AS_OF)
    assert [t.condition for t in T.list_tags(shop)] == ["monetary >= 400", "frequency >= 2"]
