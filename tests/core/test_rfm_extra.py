"""RFM additions for the RFM screen: previewing groups under trial thresholds without saving,
the buyer sample for the scatter plot and where each threshold falls on its value axis."""

from __future__ import annotations

import sqlite3

import pytest

from core.analytics import rfm, rfm_report

# user: (recency_days, frequency, monetary); means over buyers: R 56.25, F 2, M 110
BUYERS = {"a": (0, 3, 180.0), "b": (107, 2, 40.0), "c": (29, 1, 200.0), "d": (89, 2, 20.0)}


@pytest.fixture
def shop(conn: sqlite3.Connection) -> sqlite3.Connection:
    for uid, (r, f, m) in BUYERS.items():
        conn.execute(
            "INSERT INTO features(user_id, recency_days, frequency, monetary) VALUES (?,?,?,?)",
            (uid, r, f, m),
        )
    conn.execute("INSERT INTO features(user_id, frequency, monetary) VALUES ('e', 0, 0)")
    rfm.apply_rfm(conn)
    return conn


def counts(rows: list[rfm_report.GroupRow]) -> dict[str, int]:
    return {row.key: row.count for row in rows if row.count}


def test_preview_with_stored_thresholds_is_the_group_table(shop):
    assert rfm_report.preview_groups(shop, {}) == rfm_report.group_table(shop)
    assert counts(rfm_report.group_table(shop)) == {
        "important_value": 1,  # a: recent, frequent, big
        "important_development": 1,  # c: recent, one order, big
        "general_retention": 2,  # b, d: silent, two orders, small
        "non_buyer": 1,
    }


def test_preview_of_a_fixed_frequency_cut_changes_counts_but_writes_nothing(shop):
    before = rfm_report.group_table(shop)
    trial = {"f": rfm.check_threshold("f", "fixed", 3)}  # only a has 3 orders
    rows = rfm_report.preview_groups(shop, trial)
    assert counts(rows) == {
        "important_value": 1,
        "important_development": 1,
        "general_winback": 2,  # b and d are no longer frequent
        "non_buyer": 1,
    }
    winback = next(r for r in rows if r.key == "general_winback")
    assert winback.share_of_buyers == pytest.approx(0.5)
    assert winback.share_of_revenue == pytest.approx(60 / 440)
    assert winback.mean_recency == pytest.approx(98.0)
    assert rfm_report.group_table(shop) == before
    assert shop.execute("SELECT count(*) FROM rfm_settings").fetchone()[0] == 0


def test_preview_equals_what_saving_then_rescoring_gives(shop):
    trial = {"m": rfm.check_threshold("m", "score", 5)}  # only c (200) scores 5 on M
    preview = rfm_report.preview_groups(shop, trial)
    assert counts(preview)["general_value"] == 1  # a: recent and frequent, no longer big
    rfm.set_threshold(shop, "m", "score", 5)
    rfm.apply_rfm(shop)
    assert rfm_report.group_table(shop) == preview


def test_buyer_sample_takes_every_kth_buyer(shop):
    assert rfm_report.buyer_sample(shop) == [
        (0, 3, 180.0),
        (107, 2, 40.0),
        (29, 1, 200.0),
        (89, 2, 20.0),
    ]
    assert rfm_report.buyer_sample(shop, limit=2) == [
        (107, 2, 40.0),
        (89, 2, 20.0),
    ]  # rowids 2 and 4


def test_cut_lines_put_score_cuts_on_the_value_axis(shop):
    lines = rfm_report.cut_lines(shop, rfm.get_thresholds(shop))
    assert lines == pytest.approx({"r": 56.25, "f": 2.0, "m": 110.0})
    scored = {"r": rfm.Threshold("r", "score", 4), "m": rfm.Threshold("m", "score", 4)}
    lines = rfm_report.cut_lines(shop, {**rfm.get_thresholds(shop), **scored})
    # R scores 2,3,4,5 for recency 107,89,29,0: score >= 4 reaches back to 29 days
    # M scores 2,3,4,5 for 20,40,180,200: score >= 4 starts at 180
    assert lines["r"] == 29 and lines["m"] == 180.0


def test_preview_without_buyers(conn):
    conn.execute("INSERT INTO features(user_id, frequency, monetary) VALUES ('e', 0, 0)")
    assert counts(rfm_report.preview_groups(conn, {})) == {"non_buyer": 1}
    assert rfm_report.buyer_sample(conn) == []


SCORED = "SELECT user_id, r_score, f_score, m_score, rfm_group, rfm_cell27 FROM features ORDER BY 1"


def test_rescoring_writes_only_the_score_columns_that_change(shop):
    """Each indexed score column in an UPDATE's SET list costs its index a delete and an insert
    per row: a re-score writes a column only on the rows where it moves (an AFTER UPDATE OF
    trigger fires exactly when the column is in the SET list), with the scores a scoring from
    nothing gives."""
    shop.execute("CREATE TEMP TABLE written (user_id TEXT, col TEXT)")
    for col in ("r_score", "f_score", "m_score", "rfm_group"):
        shop.execute(
            f"CREATE TEMP TRIGGER log_{col} AFTER UPDATE OF {col} ON main.features"
            f" BEGIN INSERT INTO written VALUES (NEW.user_id, '{col}'); END"
        )
    before = shop.execute(SCORED).fetchall()
    shop.execute("UPDATE features SET recency_days = recency_days + 1")  # a day later
    rfm.apply_rfm(shop)
    assert shop.execute("SELECT * FROM written").fetchall() == []  # the cuts moved with it
    assert shop.execute(SCORED).fetchall() == before
    # b (108 days) buys: 50 days, between c (30) and d (90): b's R score 2 -> 3, d's 3 -> 2;
    # both stay below the mean recency (42.75 days): no group moves
    shop.execute("UPDATE features SET recency_days = 50 WHERE user_id = 'b'")
    rfm.apply_rfm(shop)
    assert sorted(shop.execute("SELECT * FROM written")) == [("b", "r_score"), ("d", "r_score")]
    after = shop.execute(SCORED).fetchall()
    assert [(u, r) for u, r, *_ in after] == [("a", 5), ("b", 3), ("c", 4), ("d", 2), ("e", None)]
    for col in ("r_score", "f_score", "m_score", "rfm_group"):
        shop.execute(f"DROP TRIGGER log_{col}")
    shop.execute(
        "UPDATE features SET r_score = NULL, f_score = NULL, m_score = NULL, rfm_group = NULL,"
        " rfm_cell27 = NULL"
    )
    rfm.apply_rfm(shop)
    assert shop.execute(SCORED).fetchall() == after
