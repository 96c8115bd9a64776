"""RFM scores, splits, groups and suggested cuts on buyers whose answers are worked out by hand."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import numpy as np
import pytest

from core.analytics import rfm, rfm_report
from core.analytics.features import compute_features
from core.errors import CoreError

AS_OF = date(2024, 6, 30)


def make(
    conn: sqlite3.Connection,
    buyers: dict[str, tuple[int, list[float]]],
    non_buyers: tuple[str, ...] = (),
) -> dict[str, dict]:
    """Users with (recency_days, order amounts), scored in a scratch table; returns its rows."""
    conn.executemany(
        "INSERT INTO users(user_id) VALUES (?)", [(u,) for u in [*buyers, *non_buyers]]
    )
    orders = []
    for uid, (days_ago, amounts) in buyers.items():
        day = (AS_OF - timedelta(days=days_ago)).isoformat()
        orders += [(f"{uid}-{i}", uid, a, f"{day} 1{i}:00:00") for i, a in enumerate(amounts)]
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", orders)
    return rescore(conn)


def rescore(conn: sqlite3.Connection) -> dict[str, dict]:
    compute_features(conn, "scratch", AS_OF)
    rfm.apply_rfm(conn, "scratch")
    cur = conn.execute(
        "SELECT user_id, r_score, f_score, m_score, rfm_group, rfm_cell27 FROM scratch"
    )
    return {u: {"scores": (r, f, m), "group": g, "cell": c} for u, r, f, m, g, c in cur}


FOUR = {"u1": (0, [100, 50, 30]), "u2": (107, [20, 20]), "u3": (29, [200]), "u4": (89, [10, 10])}


def test_quintile_scores_groups_and_cells(conn):
    got = make(conn, FOUR, non_buyers=("u5",))
    # R desc 107, 89, 29, 0 -> k = 1..4 of 4 -> ceil(5k/4) = 2, 3, 4, 5
    # F 1 | 2, 2 | 3 -> k = 1, 3, 3, 4 -> 2, 4, 4, 5;  M 20, 40, 180, 200 -> 2, 3, 4, 5
    assert got["u1"]["scores"] == (5, 5, 4)
    assert got["u2"]["scores"] == (2, 4, 3)
    assert got["u3"]["scores"] == (4, 2, 5)
    assert got["u4"]["scores"] == (3, 4, 2)
    # means: R 56.25 (u1, u3 high), F 2 (u1, u2, u4 high), M 110 (u1, u3 high)
    assert got["u1"]["group"] == "important_value"
    assert got["u2"]["group"] == "general_retention"
    assert got["u3"]["group"] == "important_development"
    assert got["u4"]["group"] == "general_retention"
    assert [got[u]["cell"] for u in ("u1", "u2", "u3", "u4")] == ["HHH", "LHM", "HLH", "MHL"]
    assert got["u5"] == {"scores": (None, None, None), "group": None, "cell": None}
    cells = rfm_report.cell27_table(conn, "scratch")
    assert len(cells) == 27 and cells["HHH"] == cells["MHL"] == 1 and sum(cells.values()) == 4


def test_equal_values_get_equal_scores(conn):
    amounts = [5, 5, 5, 10, 10, 20, 30, 40, 50, 50]
    got = make(conn, {f"b{i}": (10, [a]) for i, a in enumerate(amounts)})
    # k (values no better) = 3,3,3,5,5,6,7,8,10,10 of 10 -> ceil(k/2)
    assert [got[f"b{i}"]["scores"][2] for i in range(10)] == [2, 2, 2, 3, 3, 3, 4, 4, 5, 5]
    assert {got[f"b{i}"]["scores"][:2] for i in range(10)} == {(5, 5)}  # all tied: all 5


SPLIT = {"a": (1, [10]), "b": (2, [20]), "c": (3, [30]), "d": (100, [1000])}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # mean R 26.5, F 1 (all high), M 265
        ([], ["general_value", "general_value", "general_value", "important_retention"]),
        # median M 25
        (
            [("m", "median", None)],
            ["general_value", "general_value", "important_value", "important_retention"],
        ),
        # fixed: R high when <= 2 days, M high when >= 20
        (
            [("r", "fixed", 2), ("m", "fixed", 20)],
            ["general_value", "important_value", "important_retention", "important_retention"],
        ),
        # scores R 5, 4, 3, 2 and M 2, 3, 4, 5: R high when >= 4, M high when >= 3
        (
            [("r", "score", 4), ("m", "score", 3)],
            ["general_value", "important_value", "important_retention", "important_retention"],
        ),
        # median R 2.5 and F fixed at 2: nobody has two orders
        (
            [("r", "median", None), ("f", "fixed", 2)],
            ["general_development", "general_development", "general_winback", "important_winback"],
        ),
    ],
)
def test_splits(conn, settings, expected):
    for dim, method, value in settings:
        rfm.set_threshold(conn, dim, method, value)
    got = make(conn, SPLIT)
    assert [got[u]["group"] for u in "abcd"] == expected


def test_all_eight_groups_and_group_table(conn):
    for dim, value in (("r", 30), ("f", 2), ("m", 100)):
        rfm.set_threshold(conn, dim, "fixed", value)
    buyers = {
        g.key: (
            10 if g.r_high else 50,
            [100, 100]
            if g.f_high and g.m_high
            else [25, 25]
            if g.f_high
            else [200]
            if g.m_high
            else [50],
        )
        for g in rfm.GROUPS
    }
    got = make(conn, buyers, non_buyers=("nb1", "nb2"))
    assert {u: v["group"] for u, v in got.items() if v["group"]} == {
        g.key: g.key for g in rfm.GROUPS
    }
    compute_rows = {r.key: r for r in rfm_report.group_table(conn, "scratch")}
    assert list(compute_rows) == [*(g.key for g in rfm.GROUPS), "non_buyer"]
    iv = compute_rows["important_value"]
    # revenue 4 x 200 + 4 x 50 = 1000
    assert (iv.count, iv.share_of_buyers, iv.share_of_revenue) == (1, 0.125, 0.2)
    assert (iv.mean_recency, iv.mean_frequency, iv.mean_monetary) == (10, 2, 200)
    assert compute_rows["general_winback"].share_of_revenue == 0.05
    nb = compute_rows["non_buyer"]
    assert (nb.count, nb.name_zh, nb.name_en, nb.share_of_buyers) == (
        2,
        "未购买",
        "non-buyer",
        None,
    )


def test_single_buyer_and_everyone_identical(conn):
    got = make(conn, {"only": (5, [0.1])}, non_buyers=("x",))
    assert got["only"] == {"scores": (5, 5, 5), "group": "important_value", "cell": "HHH"}
    conn.execute("INSERT INTO users(user_id) VALUES ('two'), ('three')")
    conn.execute(
        "INSERT INTO orders VALUES ('t', 'two', 0.1, ?), ('h', 'three', 0.1, ?)",
        ((AS_OF - timedelta(days=5)).isoformat(),) * 2,
    )
    # mean of 0.1, 0.1, 0.1 is 0.10000000000000002 in floating point: still 'at least the mean'
    assert {v["group"] for u, v in rescore(conn).items() if u != "x"} == {"important_value"}


def test_no_buyers(conn):
    got = make(conn, {}, non_buyers=("a", "b"))
    assert {v["group"] for v in got.values()} == {None}
    rows = rfm_report.group_table(conn, "scratch")
    assert sum(r.count for r in rows[:8]) == 0 and rows[-1].count == 2
    assert rfm_report.suggest_cuts(conn, "scratch") == {"r": [], "f": [], "m": []}


def test_thresholds_are_stored_and_validated(conn):
    assert rfm.get_thresholds(conn)["r"] == rfm.Threshold("r", "mean", None)
    rfm.set_threshold(conn, "f", "fixed", 3)
    assert rfm.get_thresholds(conn)["f"].describe() == "fixed:3"
    assert rfm.parse_threshold("M=score:4") == rfm.Threshold("m", "score", 4.0)
    assert rfm.parse_threshold("r=median") == rfm.Threshold("r", "median", None)
    for bad in ("x=mean", "r=mode", "r", "f=fixed", "f=fixed:abc", "m=score:6", "m=score:2.5"):
        with pytest.raises(CoreError):
            rfm.parse_threshold(bad)


def test_suggested_cuts_by_natural_breaks(conn):
    make(conn, {"a": (1, [10]), "b": (2, [11]), "c": (3, [12]), "d": (50, [100]), "e": (60, [101])})
    assert rfm_report.suggest_cuts(conn, "scratch") == {"r": [3.0], "f": [], "m": [100.0]}
    x = np.array([1, 2, 3, 50, 51, 200], dtype=float)
    assert rfm_report.fisher_breaks(x, np.ones(6), 3) == [3, 5]  # {1,2,3} {50,51} {200}
    # weights count: a heavy point at either end pulls the middle one to the other side
    x = np.array([0.0, 1.0, 2.0])
    assert rfm_report.fisher_breaks(x, np.array([1.0, 1.0, 100.0]), 2) == [2]  # {0,1} {2}
    assert rfm_report.fisher_breaks(x, np.array([100.0, 1.0, 1.0]), 2) == [1]  # {0} {1,2}


def test_suggested_cuts_on_binned_data(conn):
    low = {f"l{i}": (1, [1000.0 + i]) for i in range(1500)}
    high = {f"h{i}": (1, [100000.0 + i]) for i in range(1500)}
    make(conn, {**low, **high})
    assert rfm_report.suggest_cuts(conn, "scratch")["m"] == [100000.0]


# The scoring before it became boundary comparisons: window counts, kept here as the reference.
OLD_SCORES = """
SELECT user_id, (5 * count(*) OVER (ORDER BY recency_days DESC) + :n - 1) / :n,
       (5 * count(*) OVER (ORDER BY frequency) + :n - 1) / :n,
       (5 * count(*) OVER (ORDER BY monetary) + :n - 1) / :n
FROM scratch WHERE frequency > 0
"""


@pytest.mark.parametrize(
    "settings",
    [
        [],
        [("r", "median", None), ("f", "score", 4), ("m", "score", 1)],
        [("r", "score", 5), ("f", "median", None), ("m", "fixed", 7.5)],
    ],
)
def test_scores_and_groups_equal_the_window_formula(conn, settings):
    rng = np.random.default_rng(11)
    buyers = {
        f"b{i:03d}": (int(rng.integers(0, 60)), [float(a) / 2 for a in rng.integers(1, 9, k)])
        for i, k in enumerate(rng.integers(1, 6, 157))  # 157 buyers: ranks not multiples of 5
    }
    for dim, method, value in settings:
        rfm.set_threshold(conn, dim, method, value)
    got = make(conn, buyers, non_buyers=("x",))
    old = {u: scores for u, *scores in conn.execute(OLD_SCORES, {"n": len(buyers)})}
    assert {u: list(v["scores"]) for u, v in got.items() if u != "x"} == old
    assert all(
        v["cell"] == "".join("LLMHH"[s - 1] for s in old[u]) for u, v in got.items() if u != "x"
    )
    compute_features(conn, "scratch", AS_OF)  # scores folded into the INSERT, no apply_rfm
    assert rescore_only(conn) == got
    thresholds = rfm.get_thresholds(conn)
    cuts = rfm.cut_values(conn, "scratch", thresholds)
    for u, (r, f, m) in old.items():
        values = dict(
            zip(
                "rfm",
                conn.execute(
                    "SELECT recency_days, frequency, monetary FROM scratch WHERE user_id = ?", (u,)
                ).fetchone(),
                strict=True,
            )
        )
        high = []
        for dim, score in zip("rfm", (r, f, m), strict=True):
            t = thresholds[dim]
            if t.method == "score":
                high.append(score >= t.value)
            elif dim == "r":
                high.append(values[dim] <= cuts[dim] + 1e-9 * max(1, abs(cuts[dim])))
            else:
                high.append(values[dim] >= cuts[dim] - 1e-9 * max(1, abs(cuts[dim])))
        code = 4 * high[0] + 2 * high[1] + high[2]
        assert got[u]["group"] == next(g.key for g in rfm.GROUPS if g.code == code), u


def rescore_only(conn: sqlite3.Connection) -> dict[str, dict]:
    cur = conn.execute(
        "SELECT user_id, r_score, f_score, m_score, rfm_group, rfm_cell27 FROM scratch"
    )
    return {u: {"scores": (r, f, m), "group": g, "cell": c} for u, r, f, m, g, c in cur}
