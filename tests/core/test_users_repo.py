"""core.views.users: keyset paging boundaries, NULL sort keys, search, masks and the profile."""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import CoreError, NotFound
from core.query import compile_condition
from core.store.db import transaction
from core.views import profile, users

# user -> (name, r_score, phone); r_score None for users who never bought
PEOPLE = {
    "a": ("Alice", 3, "13800000001"),
    "b": ("Bob", None, "13900001111"),
    "c": ("Carol", 1, "15000002222"),
    "d": ("Dave", 3, "13800003333"),
    "e": ("王伟", None, None),
    "f": ("王芳", 5, "18600004444"),
    "g": ("[red]", 1, "13800005555"),
}
AS_OF = date(2024, 6, 30)


@pytest.fixture
def people(conn):
    with transaction(conn):
        for uid, (name, r, phone) in PEOPLE.items():
            conn.execute(
                "INSERT INTO users(user_id, name, phone, email) VALUES (?, ?, ?, ?)",
                (uid, name, phone, f"{uid}x@mail.cn"),
            )
            conn.execute(
                "INSERT INTO features(user_id, name, r_score, frequency, recency_days, monetary)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    uid,
                    name,
                    r,
                    0 if r is None else r,
                    None if r is None else 10 * (6 - r),
                    100.0 * (r or 0),
                ),
            )
    return conn


def ids(page):
    return [r.user_id for r in page.rows]


def walk(conn, **kw):
    """Every page from the start, following next_key."""
    pages, after = [], None
    while True:
        p = users.page(conn, after=after, **kw)
        pages.append(ids(p))
        if not p.has_more:
            return pages
        after = p.next_key


def test_user_id_pages_both_directions(people):
    assert walk(people, limit=3) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert walk(people, limit=3, descending=True) == [["g", "f", "e"], ["d", "c", "b"], ["a"]]


def test_exact_multiple_of_page_size_has_no_empty_last_page(people):
    assert walk(people, limit=7) == [["a", "b", "c", "d", "e", "f", "g"]]
    first = users.page(people, limit=7)
    assert first.has_more is False and first.next_key is None


def test_nulls_first_ascending_and_last_descending(people):
    # r_score: NULL (b, e) < 1 (c, g) < 3 (a, d) < 5 (f); ties broken by user_id
    assert walk(people, order="r_score", limit=2) == [["b", "e"], ["c", "g"], ["a", "d"], ["f"]]
    assert walk(people, order="r_score", descending=True, limit=2) == [
        ["f", "d"],
        ["a", "g"],
        ["c", "e"],
        ["b"],
    ]


def test_page_boundary_inside_the_null_part(people):
    assert walk(people, order="r_score", limit=1)[:3] == [["b"], ["e"], ["c"]]
    assert walk(people, order="r_score", descending=True, limit=6)[1] == ["b"]


def test_last_page_and_paging_back(people):
    last = users.last_page(people, order="r_score", limit=3)
    assert ids(last) == ["a", "d", "f"]
    assert last.has_more is False and last.has_previous is True
    before = users.page_before(people, before=last.rows[0].key("r_score"), order="r_score", limit=3)
    assert ids(before) == ["e", "c", "g"] and before.has_previous is True
    first = users.page_before(people, before=("c", "c"), limit=5)
    assert ids(first) == ["a", "b"] and first.has_previous is False
    assert ids(users.last_page(people, order="r_score", descending=True, limit=2)) == ["e", "b"]


def test_condition_and_count(people):
    condition = compile_condition(people, "r_score >= 3", as_of=AS_OF)
    assert users.count(people, condition) == 3
    assert users.count(people) == 7
    assert users.count(people, None) == 7
    assert walk(people, condition=condition, order="r_score", limit=2) == [["a", "d"], ["f"]]
    last = users.last_page(people, condition=condition, order="r_score", limit=2)
    assert ids(last) == ["d", "f"]
    key = last.rows[0].key("r_score")
    before = users.page_before(people, before=key, condition=condition, order="r_score")
    assert ids(before) == ["a"] and before.has_previous is False


def test_unknown_sort_column_is_an_error(people):
    with pytest.raises(CoreError, match="cannot sort by 'phone'"):
        users.page(people, order="phone")


def test_search_by_id_name_and_phone(people):
    assert [r.user_id for r in users.search(people, "a")] == [
        "a",
        "c",
        "d",
    ]  # id, then "Carol", "Dave"
    assert [r.user_id for r in users.search(people, "王")] == [
        "e",
        "f",
    ]  # name prefix, by name (伟 < 芳)
    assert [r.user_id for r in users.search(people, "伟")] == ["e"]  # substring
    assert [r.user_id for r in users.search(people, "5555")] == ["g"]  # phone suffix
    assert [r.user_id for r in users.search(people, "138")] == ["a", "d", "g"]  # phone prefix
    assert [r.user_id for r in users.search(people, "[red]")] == ["g"]
    assert users.search(people, "  ") == []
    assert users.search(people, "nobody") == []
    assert len(users.search(people, "138", limit=2)) == 2


def test_masks():
    assert users.mask_phone("13812341234") == "138****1234"
    assert users.mask_phone("12345") == "1**45"
    assert users.mask_phone("123") == "***"
    assert users.mask_phone(None) is None
    assert users.mask_email("alice@x.com") == "a***@x.com"
    assert users.mask_email("bob") == "b***"
    assert users.masked({"phone": "13812341234", "email": "z@q.cn", "name": "Z"}) == {
        "phone": "138****1234",
        "email": "z***@q.cn",
        "name": "Z",
    }


def test_top_tags_predictive_first(people):
    with transaction(people):
        people.executemany(
            "INSERT INTO tag_rules VALUES (?, ?, ?, '')",
            [
                ("z_city", "basic", "1"),
                ("churn", "predictive", "p_alive < 0.3"),
                ("night", "behavioural", "1"),
                ("vip", "result", "1"),
            ],
        )
        people.executemany(
            "INSERT INTO user_tags VALUES ('a', ?)", [("z_city",), ("churn",), ("night",), ("vip",)]
        )
    assert users.page(people, limit=1).rows[0].tags == ("churn", "night", "vip")


def test_profile_unknown_user(people):
    with pytest.raises(NotFound):
        profile.profile(people, "nobody", AS_OF)


@pytest.fixture
def with_history(people):
    """Layer rules, orders, events, a tag, a segment and a campaign around user 'a'."""
    with transaction(people):
        people.execute("ALTER TABLE users ADD COLUMN vip_level TEXT")  # an extra import column
        people.execute("UPDATE users SET vip_level = 'gold' WHERE user_id = 'a'")
        people.execute("UPDATE features SET layer = 'mid' WHERE user_id = 'a'")
        people.executemany(
            "INSERT INTO layer_rules(position, key, name_zh, name_en, condition) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (1, "top", "顶层", "top", "r_score >= 5"),
                (2, "mid", "中层", "mid", "r_score >= 3"),
                (3, "rest", "其他", "rest", "r_score >= 0"),
            ],
        )
        people.executemany(
            "INSERT INTO orders VALUES (?, 'a', ?, ?)",
            [
                ("o1", 10.0, "2024-05-03 10:00:00"),
                ("o2", 20.0, "2024-06-30 23:59:00"),
                ("o3", 99.0, "2024-07-01 00:00:00"),
            ],  # after the as-of date: not shown
        )
        people.execute(
            "INSERT INTO events(user_id, kind, created_at) VALUES ('a', 'login', '2023-08-15')"
        )
        people.execute("INSERT INTO tag_rules VALUES ('gone', 'predictive', 'p_alive < 0.3', '')")
        people.execute("INSERT INTO user_tags VALUES ('a', 'gone')")
        people.execute("UPDATE features SET p_alive = 0.25 WHERE user_id = 'a'")
        people.execute("INSERT INTO segments VALUES ('r3', 'r_score = 3', '', 'x', 'x')")
        people.execute("INSERT INTO segments VALUES ('r5', 'r_score = 5', '', 'x', 'x')")
        people.execute("INSERT INTO campaigns(name, created_at) VALUES ('c1', 'x')")
        people.execute(
            "INSERT INTO campaign_members VALUES ('c1', 'a', 'control', '2024-06-01', '', '2024-06-01')"
        )
    return people


def test_profile_contents(with_history):
    p = profile.profile(with_history, "a", AS_OF)
    assert p.attributes["name"] == "Alice" and p.attributes["vip_level"] == "gold"
    assert p.layer == "mid" and p.layer_rule.key == "mid" and p.layer_rule.met is True
    assert [(c.key, c.met) for c in p.rules_not_met] == [("top", False)]
    # buyers: a, d (f=3, recency 30), c, g (f=1, recency 50), f (f=5, recency 10)
    assert p.rfm_percentiles == {"r": 0.8, "f": 0.8, "m": 0.8}
    assert [t.name for t in p.tags["predictive"]] == ["gone"]
    assert p.tags["predictive"][0].model_values == {"p_alive": 0.25}
    assert [o[0] for o in p.orders] == ["o2", "o1"]
    assert p.events == [("login", "2023-08-15", None)]
    assert len(p.monthly_activity) == 24 and p.monthly_activity[0] == ("2022-07", 0)
    activity = dict(p.monthly_activity)
    assert activity["2024-06"] == 1 and activity["2024-05"] == 1 and activity["2023-08"] == 1
    assert p.segments == ["r3"]
    assert p.campaigns == [("c1", "control", "2024-06-01")]


def test_the_rules_and_segments_are_one_statement(with_history):
    """The profile tests every layer rule and saved segment in one statement: more segments
    cost no more statements (DuckDB pays milliseconds per statement)."""
    seen: list[str] = []
    with_history.set_trace_callback(seen.append)
    profile.profile(with_history, "a", AS_OF)
    before = len(seen)
    with transaction(with_history):
        for i in range(4):
            with_history.execute(
                "INSERT INTO segments VALUES (?, 'r_score >= 1', '', 'x', 'x')", (f"s{i}",)
            )
    seen.clear()
    p = profile.profile(with_history, "a", AS_OF)
    with_history.set_trace_callback(None)
    assert len(seen) == before
    assert p.segments == ["r3", "s0", "s1", "s2", "s3"]


def test_holds_each(with_history, monkeypatch):
    """Each condition's answer for one user, a broken one with its own message; when the one
    statement fails, each condition is asked alone and gives the same answers."""
    texts = ["r_score >= 3", "no_such_field > 1", "r_score = 5", "r_score >= 3 and frequency = 3"]
    with pytest.raises(CoreError) as broken:
        profile.holds(with_history, "a", texts[1], AS_OF)
    expected = [(True, None), (None, str(broken.value)), (False, None), (True, None)]
    assert profile.holds_each(with_history, "a", texts, AS_OF) == expected
    assert profile.holds_each(with_history, "nobody", texts[:1], AS_OF) == [(False, None)]
    original = profile.run

    def failing(conn, sql, args, **kw):
        if sql.count("c0_p") and sql.count("c2_p"):  # the statement of all of them
            raise CoreError("reading users failed: too complex")
        return original(conn, sql, args, **kw)

    monkeypatch.setattr(profile, "run", failing)
    assert profile.holds_each(with_history, "a", texts, AS_OF) == expected


def test_profile_of_a_non_buyer(with_history):
    p = profile.profile(with_history, "b", AS_OF)
    assert p.rfm_percentiles == {"r": None, "f": None, "m": None}
    assert p.layer is None and p.layer_rule is None
    assert len(p.rules_not_met) == 3  # no layer: every rule is listed as not placing the user


def test_overview(with_history):
    ov = users.overview(with_history)
    assert ov.users == 7 and ov.layer_names["mid"] == ("中层", "mid")
