"""BG/NBD and Gamma-Gamma: the papers' published estimates, hand-checked cases, degenerate data."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from core.analytics.models import (
    WEEKS_PER_MONTH,
    BgNbdFit,
    GammaGammaFit,
    _levels,
    bgnbd_log_lik,
    clv,
    expected_order_value,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)
from core.analytics.predict import apply_predictions, record_choice, summarise
from core.errors import ModelFitError

CDNOW = Path(__file__).parent.parent / "data" / "cdnow_summary.csv"
# Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 5
PAPER_BG = BgNbdFit(r=0.243, alpha=4.414, a=0.793, b=2.426, log_lik=-9582.4, n_customers=2357)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW)


def test_bgnbd_reproduces_published_cdnow_estimates(cdnow: pd.DataFrame) -> None:
    fit = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert fit.r == pytest.approx(0.243, rel=0.01)
    assert fit.alpha == pytest.approx(4.414, rel=0.01)
    assert fit.a == pytest.approx(0.793, rel=0.01)
    assert fit.b == pytest.approx(2.426, rel=0.01)
    assert fit.log_lik == pytest.approx(-9582.4, abs=0.5)
    assert fit.n_customers == 2357
    assert fit.time_unit == "weeks"


def test_gamma_gamma_reproduces_published_cdnow_estimates(cdnow: pd.DataFrame) -> None:
    # Fader, Hardie & Lee (2005), "RFM and CLV": the 946 customers with repeat purchases
    repeat = cdnow[cdnow["x"] > 0]
    fit = fit_gamma_gamma(repeat["x"], repeat["zbar"])
    assert fit.n_customers == 946
    assert fit.p == pytest.approx(6.25, rel=0.01)
    assert fit.q == pytest.approx(3.74, rel=0.01)
    assert fit.v == pytest.approx(15.44, rel=0.01)


def test_gamma_gamma_ignores_one_time_buyers(cdnow: pd.DataFrame) -> None:
    fit = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert fit.n_customers == 946


def test_expected_purchases_matches_published_customer_example() -> None:
    # Hardie's BG/NBD Excel note: customer 1 (x=2, t_x=30.43, T=38.86), next 39 weeks → 1.226
    got = expected_purchases(PAPER_BG, 39, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert got[0] == pytest.approx(1.226, abs=0.002)


def test_p_alive_by_hand() -> None:
    f = BgNbdFit(r=1.0, alpha=2.0, a=1.0, b=3.0, log_lik=0.0, n_customers=0)
    # x=1, t_x=1, T=3: odds dead = a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) = 1/3 * (5/3)^2
    odds = (1 / 3) * (5 / 3) ** 2
    got = p_alive(f, np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([3.0, 3.0]))
    assert got[0] == 1.0
    assert got[1] == pytest.approx(1 / (1 + odds))


def test_expected_purchases_for_new_customer_by_hand() -> None:
    # x=0, T=0 with a=2: E = (a+b-1)/(a-1) * (1 - (alpha/(alpha+t))^(a-1) * 2F1(a+b-1-r, a-1; a+b-1; z))
    # with r=1, alpha=1, a=2, b=1, t=1: z=1/2, 2F1(1, 1; 2; 1/2) = -ln(1/2)/(1/2) = 2 ln 2
    f = BgNbdFit(r=1.0, alpha=1.0, a=2.0, b=1.0, log_lik=0.0, n_customers=0)
    want = 2.0 * (1 - 0.5 * 2 * math.log(2))
    got = expected_purchases(f, 1.0, np.array([0.0]), np.array([0.0]), np.array([0.0]))
    assert got[0] == pytest.approx(want)


def test_expected_purchases_increase_with_x_for_recent_buyers() -> None:
    # last purchase on the as-of date (t_x = T): more purchases, a higher rate, never less alive
    x = np.arange(0, 30, dtype=float)
    got = expected_purchases(PAPER_BG, 52, x, np.full_like(x, 38.0), np.full_like(x, 38.0))
    assert np.isfinite(got).all()
    assert (np.diff(got) > 0).all()


def test_frequent_buyer_gone_quiet_is_probably_dead() -> None:
    # the paper's "increasing frequency paradox": with t_x = 30, T = 38 weeks, 29 purchases
    # make 8 silent weeks unlikely for a live customer, so P(alive) and E fall below x = 5
    x = np.array([5.0, 29.0])
    got = expected_purchases(PAPER_BG, 52, x, np.array([30.0, 30.0]), np.array([38.0, 38.0]))
    alive = p_alive(PAPER_BG, x, np.array([30.0, 30.0]), np.array([38.0, 38.0]))
    assert got[1] < got[0]
    assert alive[1] < alive[0]


def test_expected_purchases_equal_the_untransformed_eq10() -> None:
    r, al, a, b = PAPER_BG.r, PAPER_BG.alpha, PAPER_BG.a, PAPER_BG.b
    x, t_x, T, t = np.array([0.0, 1, 5, 20]), np.array([0.0, 5, 30, 30]), np.full(4, 38.0), 52.0
    z = t / (al + T + t)
    head = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - (1 - z) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
    )
    odds = np.where(x > 0, a / (b + x - 1) * ((al + T) / (al + t_x)) ** (r + x), 0.0)
    want = head / (1 + odds)
    assert expected_purchases(PAPER_BG, t, x, t_x, T) == pytest.approx(want, rel=1e-9)


def test_expected_purchases_stay_finite_for_heavy_buyers() -> None:
    x = np.array([500.0, 5000.0])
    got = expected_purchases(PAPER_BG, 13, x, np.array([100.0, 100.0]), np.array([100.0, 100.0]))
    assert np.isfinite(got).all()
    assert (got > 0).all()


def test_expected_order_value_shrinkage_by_hand() -> None:
    g = GammaGammaFit(p=2.0, q=3.0, v=10.0, log_lik=0.0, n_customers=0)
    # x=0: population mean p v / (q - 1) = 10; x=2, zbar=20: p (v + x zbar) / (p x + q - 1) = 100/6
    got = expected_order_value(g, np.array([0.0, 2.0]), np.array([np.nan, 20.0]))
    assert got == pytest.approx([10.0, 100 / 6])


def test_clv_discounts_monthly_increments() -> None:
    one = np.array([1.0])
    months = [
        expected_purchases(PAPER_BG, m * WEEKS_PER_MONTH, one, one * 5, one * 10)[0]
        for m in range(3)
    ]
    want = 7.0 * sum((months[m] - months[m - 1]) / 1.01**m for m in (1, 2))
    got = clv(PAPER_BG, np.array([7.0]), one, one * 5, one * 10, horizon_months=2)
    assert got[0] == pytest.approx(want)


@pytest.mark.parametrize(
    ("x", "t_x", "T", "reason"),
    [
        ([], [], [], "only 0 customer"),
        ([3], [4.0], [5.0], "only 1 customer"),
        ([0] * 20, [0.0] * 20, [5.0] * 20, "only 0 customer(s) bought again"),
        ([2] * 20, [3.0] * 20, [5.0] * 20, "same purchase history"),
    ],
)
def test_bgnbd_cannot_fit_degenerate_data(x: list, t_x: list, T: list, reason: str) -> None:
    with pytest.raises(ModelFitError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        fit_bgnbd(np.array(x), np.array(t_x), np.array(T))


def test_gamma_gamma_cannot_fit_identical_spend() -> None:
    with pytest.raises(ModelFitError, match="same mean spend"):
        fit_gamma_gamma(np.array([1, 2, 3, 4, 5, 6]), np.full(6, 9.5))


# ---------------------------------------------------------------- on a database


def _orders(conn: sqlite3.Connection, rows: list[tuple[str, float, str]]) -> None:
    users = sorted({u for u, _, _ in rows})
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(u,) for u in users])
    conn.executemany("INSERT INTO features(user_id) VALUES (?)", [(u,) for u in users])
    conn.executemany(
        "INSERT INTO orders(order_id, user_id, amount, created_at) VALUES (?, ?, ?, ?)",
        [(f"o{i}", u, amt, at) for i, (u, amt, at) in enumerate(rows)],
    )


def test_summarise_counts_purchase_days_and_cuts_at_as_of(conn: sqlite3.Connection) -> None:
    _orders(
        conn,
        [
            ("a", 10.0, "2024-01-01 09:00:00"),  # first purchase day
            ("a", 5.0, "2024-01-01 18:00:00"),  # same day: not a repeat
            ("a", 20.0, "2024-01-08 10:00:00"),  # repeat day 1
            ("a", 4.0, "2024-01-15 10:00:00"),  # repeat day 2, two orders summed
            ("a", 6.0, "2024-01-15 11:00:00"),
            ("a", 99.0, "2024-01-30 00:00:00"),  # after the as-of date: ignored
            ("b", 7.0, "2024-01-29"),  # first purchase on the as-of day itself
            ("c", 3.0, "2024-01-30 08:00:00"),  # only after: not a buyer yet
        ],
    )
    got = summarise(conn, date(2024, 1, 29)).set_index("user_id")
    assert sorted(got.index) == ["a", "b"]
    assert got.loc["a", "x"] == 2
    assert got.loc["a", "t_x"] == pytest.approx(14 / 7)
    assert got.loc["a", "T"] == pytest.approx(28 / 7)
    assert got.loc["a", "monetary"] == pytest.approx((20 + 10) / 2)
    assert got.loc["a", "first_order_at"] == "2024-01-01 09:00:00"
    assert got.loc["b", "first_order_at"] == "2024-01-29"
    assert got.loc["b", "x"] == 0
    assert got.loc["b", "T"] == 0.0
    assert math.isnan(got.loc["b", "monetary"])


def test_summarise_with_no_orders_is_empty(conn: sqlite3.Connection) -> None:
    got = summarise(conn, date(2024, 1, 1))
    assert list(got.columns) == ["user_id", "x", "t_x", "T", "monetary", "first_order_at"]
    assert len(got) == 0


def test_apply_predictions_unfit_leaves_nulls_and_records_why(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO features(user_id, p_alive, clv) VALUES ('stale', 0.5, 12.0)")
    _orders(conn, [("a", 10.0, "2024-01-01"), ("a", 12.0, "2024-01-05")])
    report = apply_predictions(conn, "features", date(2024, 1, 10))
    assert report.bgnbd is None and report.gamma_gamma is None
    assert "only 1 customer" in report.bgnbd_error
    rows = conn.execute("SELECT p_alive, expected_purchases_90d, clv FROM features").fetchall()
    assert rows == [(None, None, None), (None, None, None)]
    fits = dict(conn.execute("SELECT model, error FROM model_fits").fetchall())
    assert "BG/NBD needs at least 10" in fits["bgnbd"]
    assert "Gamma-Gamma needs at least 5" in fits["gamma_gamma"]


def _cdnow_orders(cdnow: pd.DataFrame, n: int) -> list[tuple[str, float, str]]:
    """Orders that reproduce the first n CDNOW histories on days (first purchase 2024-01-01)."""
    start = pd.Timestamp("2024-01-01")
    rows = []
    for row in cdnow.head(n).itertuples():
        user = f"u{row.ID}"
        rows.append((user, 10.0, start.strftime("%Y-%m-%d")))
        last = int(round(row.t_x * 7))
        days = np.linspace(0, last, int(row.x) + 1)[1:].round().astype(int) if row.x else []
        for d in sorted(set(int(d) for d in days) - {0}):
            rows.append(
                (user, float(row.zbar) or 1.0, (start + pd.Timedelta(days=d)).strftime("%Y-%m-%d"))
            )
    return rows


def test_apply_predictions_fills_columns_and_stores_fits(
    conn: sqlite3.Connection, cdnow: pd.DataFrame
) -> None:
    _orders(conn, _cdnow_orders(cdnow, 300))
    conn.execute("INSERT INTO users(user_id) VALUES ('never')")
    conn.execute("INSERT INTO features(user_id) VALUES ('never')")
    record_choice(conn, "bgnbd", "test", "explicit")  # BG/NBD: a one-time buyer is alive
    report = apply_predictions(conn, "features", date(2024, 10, 1))
    assert report.chosen == "bgnbd"
    assert report.bgnbd is not None and report.gamma_gamma is not None
    assert report.n_buyers == 300
    never = conn.execute("SELECT p_alive, clv FROM features WHERE user_id = 'never'").fetchone()
    assert never == (None, None)
    n_filled, min_p, max_p = conn.execute(
        "SELECT COUNT(*), MIN(p_alive), MAX(p_alive) FROM features WHERE clv IS NOT NULL"
    ).fetchone()
    assert n_filled == 300
    assert 0 < min_p <= max_p <= 1
    one_timer = conn.execute("SELECT p_alive FROM features WHERE user_id = 'u3'").fetchone()
    assert one_timer == (None,)  # BG/NBD's 1 is an assumption, not an estimate: not stored
    params, unit, n = conn.execute(
        "SELECT params, time_unit, n_customers FROM model_fits WHERE model = 'bgnbd'"
    ).fetchone()
    assert set(json.loads(params)) == {"r", "alpha", "a", "b"}
    assert (unit, n) == ("weeks", 300)


def test_apply_predictions_values_match_the_formulas(
    conn: sqlite3.Connection, cdnow: pd.DataFrame
) -> None:
    _orders(conn, _cdnow_orders(cdnow, 300))
    as_of = date(2024, 10, 1)
    record_choice(conn, "bgnbd", "test", "explicit")
    report = apply_predictions(conn, "features", as_of)
    bg, gg = report.bgnbd, report.gamma_gamma
    summary = summarise(conn, as_of).set_index("user_id")
    for user in ("u1", "u6", "u17"):  # 2, 7 and 10 repeat purchases in CDNOW
        h = summary.loc[user]
        x, t_x, T = np.array([h["x"]], float), np.array([h["t_x"]]), np.array([h["T"]])
        value = expected_order_value(gg, x, np.array([h["monetary"]]))
        want = (
            p_alive(bg, x, t_x, T)[0],
            expected_purchases(bg, 90 / 7, x, t_x, T)[0],
            value[0],
            clv(bg, value, x, t_x, T)[0],
        )
        got = conn.execute(
            "SELECT p_alive, expected_purchases_90d, expected_order_value, clv"
            " FROM features WHERE user_id = ?",
            (user,),
        ).fetchone()
        assert got == pytest.approx(want, rel=1e-12)


def test_summarise_matches_an_independent_pandas_computation(conn: sqlite3.Connection) -> None:
    rng = np.random.default_rng(7)
    n = 400
    users = [f"u{i}" for i in rng.integers(0, 40, n)]
    stamps = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 60 * 24, n) * 3600, "s")
    amounts = rng.integers(1, 100, n).astype(float)
    _orders(
        conn, [(u, a, t.isoformat(" ")) for u, a, t in zip(users, amounts, stamps, strict=True)]
    )
    as_of = date(2024, 4, 20)
    got = summarise(conn, as_of).set_index("user_id").sort_index()

    df = pd.DataFrame({"user": users, "amount": amounts, "day": stamps.normalize()})
    df = df[df["day"] <= pd.Timestamp(as_of)]
    days = df.groupby(["user", "day"], as_index=False)["amount"].sum().sort_values(["user", "day"])
    first = days.groupby("user")["day"].transform("min")
    per_user = days.assign(repeat=days["day"] > first).groupby("user")
    want_x = per_user["repeat"].sum()
    want_tx = (per_user["day"].max() - per_user["day"].min()).dt.days / 7
    want_T = (pd.Timestamp(as_of) - per_user["day"].min()).dt.days / 7
    want_m = days[days["day"] > first].groupby("user")["amount"].mean()
    assert list(got.index) == sorted(want_x.index)
    assert got["x"].tolist() == want_x.sort_index().tolist()
    assert got["t_x"].to_numpy() == pytest.approx(want_tx.sort_index().to_numpy())
    assert got["T"].to_numpy() == pytest.approx(want_T.sort_index().to_numpy())
    assert got["monetary"].dropna().to_numpy() == pytest.approx(want_m.sort_index().to_numpy())


def test_likelihood_gradients_match_finite_differences(cdnow: pd.DataFrame) -> None:
    from scipy.optimize import approx_fprime

    from core.analytics.models import _bgnbd_terms, _gamma_gamma_terms, _levels

    x, t_x, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(), cdnow["T"].to_numpy()
    p0 = np.array([0.3, 4.0, 0.8, 2.5])
    lx = _levels(x)
    numeric = approx_fprime(p0, lambda p: _bgnbd_terms(p, x, t_x, T, lx)[0].sum(), 1e-7)
    assert _bgnbd_terms(p0, x, t_x, T, lx)[1].sum(axis=1) == pytest.approx(numeric, rel=1e-4)
    rep = cdnow[cdnow["x"] > 0]
    xr, z = rep["x"].to_numpy(float), rep["zbar"].to_numpy()
    q0 = np.array([6.0, 3.7, 15.0])
    lr = _levels(xr)
    numeric = approx_fprime(q0, lambda p: _gamma_gamma_terms(p, xr, z, lr)[0].sum(), 1e-7)
    assert _gamma_gamma_terms(q0, xr, z, lr)[1].sum(axis=1) == pytest.approx(numeric, rel=1e-4)


@pytest.mark.parametrize("n", [0, 1, 7, 2000])
def test_distinct_rows_is_numpys_unique_by_rows(n: int) -> None:
    from core.analytics.models import distinct_rows

    rng = np.random.default_rng(n)
    cols = [rng.integers(0, 4, n).astype(float) / 7 for _ in range(3)]
    rows, inverse, counts = distinct_rows(*cols)
    want = np.unique(np.column_stack(cols), axis=0, return_inverse=True, return_counts=True)
    assert rows.tolist() == want[0].tolist()
    assert inverse.tolist() == want[1].ravel().tolist()
    assert counts.tolist() == want[2].tolist()
    assert (rows[inverse] == np.column_stack(cols)).all()


def test_apply_predictions_with_no_orders_records_both_errors(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO features(user_id) VALUES ('a')")
    report = apply_predictions(conn, "features", date(2024, 1, 1))
    assert report.n_buyers == 0
    errors = dict(conn.execute("SELECT model, error FROM model_fits").fetchall())
    assert errors == {
        "bgnbd": "only 0 customer(s) with orders; BG/NBD needs at least 10",
        "pareto_nbd": "only 0 customer(s) with orders; Pareto/NBD needs at least 10",
        "mbgnbd": "only 0 customer(s) with orders; MBG/NBD needs at least 10",
        "gamma_gamma": "only 0 repeat buyer(s) with a positive spend; Gamma-Gamma needs at least 5",
    }
    assert conn.execute("SELECT p_alive FROM features").fetchall() == [(None,)]


def test_apply_predictions_rejects_other_tables(conn: sqlite3.Connection) -> None:
    from core.errors import DatabaseError

    with pytest.raises(DatabaseError, match="not a features table"):
        apply_predictions(conn, "users; DROP TABLE orders", date(2024, 1, 1))


def test_estimate_on_the_search_edge_is_reported_not_stored() -> None:
    from core.analytics.models import _maximise

    # a likelihood that keeps improving as u grows: its "estimate" runs to the upper bound
    def neg_ll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        return float(-log_params[0] + log_params[1] ** 2), np.array([-1.0, 2 * log_params[1]])

    with pytest.raises(ModelFitError, match=r"parameter\(s\) u ran to the edge"):
        _maximise(neg_ll, np.zeros(2), "Test", ("u", "v"))


def test_recompute_joins_the_same_predictions_as_apply_predictions(
    conn: sqlite3.Connection, cdnow: pd.DataFrame
) -> None:
    from core.analytics.features import compute_features
    from core.pipeline import recompute

    _orders(conn, _cdnow_orders(cdnow, 300))
    conn.execute("INSERT INTO users(user_id) VALUES ('never')")
    record_choice(conn, "bgnbd", "test", "explicit")
    as_of = date(2024, 10, 1)
    cols = "user_id, p_alive, expected_purchases_30d, expected_purchases_90d, " + (
        "expected_order_value, clv"
    )
    recompute(conn, as_of)  # predictions joined into the single INSERT
    joined = conn.execute(f"SELECT {cols} FROM features ORDER BY user_id").fetchall()
    apply_predictions(conn, "features", as_of)  # the UPDATE path
    updated = conn.execute(f"SELECT {cols} FROM features ORDER BY user_id").fetchall()
    assert len(joined) == 301 and joined == updated
    by_user = {row[0]: row[1:] for row in joined}
    assert by_user["never"] == (None,) * 5
    # one purchase day only: BG/NBD assumes them alive, which is no estimate, so no P(alive);
    # their expected purchases and CLV are the model's
    assert by_user["u3"][0] is None and all(v is not None for v in by_user["u3"][1:])
    assert all(v is not None for u, row in by_user.items() if u != "never" for v in row[1:])
    repeat = {u for (u,) in conn.execute("SELECT user_id FROM features WHERE frequency > 1")}
    assert repeat and all(by_user[u][0] is not None for u in repeat)
    # without predictions the model columns stay empty
    compute_features(conn, "scratch", as_of)
    assert conn.execute("SELECT count(*) FROM scratch WHERE p_alive IS NOT NULL").fetchone() == (0,)


def test_fit_on_distinct_histories_equals_the_sum_over_every_customer(
    cdnow: pd.DataFrame,
) -> None:
    x, t_x, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(), cdnow["T"].to_numpy()
    fit = fit_bgnbd(x, t_x, T)  # weighted by how many customers share each (x, t_x, T)
    assert len(np.unique(np.column_stack([x, t_x, T]), axis=0)) < len(x)  # duplicates exist
    every = bgnbd_log_lik(np.array([fit.r, fit.alpha, fit.a, fit.b]), x, t_x, T).sum()
    assert fit.log_lik == pytest.approx(every, rel=1e-12)
    assert fit.n_customers == 2357


# ---------------------------------------------------------------- Pareto/NBD, MBG/NBD (issue 15)

TRANSACTIONS = Path(__file__).parent.parent / "data" / "cdnow_transactions.csv"


def _xtT(cdnow: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(), cdnow["T"].to_numpy()


def test_pareto_nbd_reproduces_published_cdnow_estimates(cdnow: pd.DataFrame) -> None:
    from core.analytics.models import fit_pareto_nbd

    # Fader, Hardie & Lee (2005), "A note on implementing the Pareto/NBD model in MATLAB"
    fit = fit_pareto_nbd(*_xtT(cdnow))
    assert fit.r == pytest.approx(0.553, rel=0.01)
    assert fit.alpha == pytest.approx(10.578, rel=0.01)
    assert fit.s == pytest.approx(0.606, rel=0.01)
    assert fit.beta == pytest.approx(11.669, rel=0.01)
    assert fit.log_lik == pytest.approx(-9595.0, abs=0.5)
    assert fit.info is not None and fit.info.converged
    assert fit.info.gradient_norm < 1e-3 and fit.info.gradient_check < 1e-3


@pytest.mark.parametrize("name", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_fit_from_another_start_reaches_the_same_maximum(cdnow: pd.DataFrame, name: str) -> None:
    from core.analytics.models import FITTERS

    default = FITTERS[name](*_xtT(cdnow))
    other = FITTERS[name](*_xtT(cdnow), start=np.array([3.0, 0.5, 5.0, 0.2]))
    assert other.log_lik == pytest.approx(default.log_lik, abs=1e-6)
    from core.analytics.models import params_of

    assert params_of(other) == pytest.approx(params_of(default), rel=1e-4)
    assert default.info.converged and other.info.converged
    assert set(default.info.standard_errors) == set(default.PARAMS)


def test_pareto_and_mbg_gradients_match_finite_differences(cdnow: pd.DataFrame) -> None:
    from scipy.optimize import approx_fprime

    from core.analytics.models import _mbgnbd_terms, _pareto_pairs, _pareto_terms

    x, t_x, T = _xtT(cdnow)
    lx = _levels(x)
    p0 = np.array([0.5, 9.0, 0.7, 12.0])
    pairs = _pareto_pairs(x, t_x, T)
    numeric = approx_fprime(p0, lambda p: _pareto_terms(p, x, t_x, T, pairs, lx)[0].sum(), 1e-7)
    assert _pareto_terms(p0, x, t_x, T, pairs, lx)[1].sum(axis=1) == pytest.approx(
        numeric, rel=1e-4
    )
    p1 = np.array([0.5, 6.0, 0.9, 1.6])
    numeric = approx_fprime(p1, lambda p: _mbgnbd_terms(p, x, t_x, T, lx)[0].sum(), 1e-7)
    assert _mbgnbd_terms(p1, x, t_x, T, lx)[1].sum(axis=1) == pytest.approx(numeric, rel=1e-4)


@pytest.mark.parametrize("params", [(0.55, 10.5, 0.6, 11.7), (0.55, 12, 0.6, 3), (2, 1, 0.3, 50)])
def test_pareto_tail_matches_numerical_integration(params: tuple[float, ...]) -> None:
    from scipy.integrate import quad

    from core.analytics.models import pareto_tail_log

    r, alpha, s, beta = params
    for x, t in [(0, 0.0), (3, 20.0), (40, 38.0), (60, 70.0)]:
        integral = quad(
            lambda u, x=x: (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1),
            t,
            np.inf,
            epsabs=0,
            epsrel=1e-12,
            limit=500,
        )[0]
        got = pareto_tail_log(r, alpha, s, beta, np.array([float(x)]), np.array([t]))[0]
        assert got == pytest.approx(np.log((r + s + x) * integral), abs=1e-9)


def test_one_time_buyers_can_be_gone_except_under_bgnbd(cdnow: pd.DataFrame) -> None:
    from core.analytics.models import fit_mbgnbd, fit_pareto_nbd

    x, t_x, T = np.zeros(3), np.zeros(3), np.array([1.0, 20.0, 60.0])
    assert p_alive(fit_bgnbd(*_xtT(cdnow)), x, t_x, T).tolist() == [1.0, 1.0, 1.0]
    for fit in (fit_pareto_nbd(*_xtT(cdnow)), fit_mbgnbd(*_xtT(cdnow))):
        alive = p_alive(fit, x, t_x, T)
        assert (alive < 1).all() and alive[0] > alive[1] > alive[2]  # longer silence, less alive
        # a buyer whose last purchase was just now is more likely alive than a silent one
        assert p_alive(fit, np.array([3.0]), np.array([60.0]), np.array([60.0]))[0] > alive[2]


def test_pareto_expected_purchases_start_at_the_posterior_rate(cdnow: pd.DataFrame) -> None:
    from core.analytics.models import fit_pareto_nbd, purchases_if_alive

    fit = fit_pareto_nbd(*_xtT(cdnow))
    x, T = np.array([2.0]), np.array([38.86])
    # d/dt E[Y(t) | alive] at t = 0 is the posterior mean rate (r + x) / (α + T)
    rate = purchases_if_alive(fit, 1e-6, x, T)[0] / 1e-6
    assert rate == pytest.approx((fit.r + 2) / (fit.alpha + 38.86), rel=1e-5)
    # s = 1 is the continuous limit, ln(1 + t / (β + T))
    one = dataclasses.replace(fit, s=1.0)
    near = dataclasses.replace(fit, s=1.0 + 1e-7)
    assert purchases_if_alive(one, 39, x, T) == pytest.approx(
        purchases_if_alive(near, 39, x, T), rel=1e-6
    )


def _cdnow_db(conn: sqlite3.Connection) -> None:
    t = pd.read_csv(TRANSACTIONS)
    users = sorted(t["ID"].unique())
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(f"c{i}",) for i in users])
    conn.executemany(
        "INSERT INTO orders(order_id, user_id, amount, created_at) VALUES (?, ?, ?, ?)",
        [(f"o{k}", f"c{r.ID}", float(r.amount), r.date) for k, r in enumerate(t.itertuples())],
    )


def test_validation_on_the_cdnow_holdout(conn: sqlite3.Connection, cdnow: pd.DataFrame) -> None:
    from core.analytics.validation import validate

    _cdnow_db(conn)
    summary = summarise(conn, date(1997, 9, 30))
    assert len(summary) == 2357
    assert summary["x"].sum() == cdnow["x"].sum()  # the same calibration histories
    report = validate(conn, date(1997, 9, 30), date(1998, 6, 30))
    assert report.actual_repeat_purchases == 1882  # purchase days in weeks 40-78
    assert report.bucket_customers == [1411, 439, 214, 100, 62, 38, 29, 64]
    assert len(report.weeks) == 39 and report.actual_tracking[-1] == 1882
    checks = report.models
    assert checks["bgnbd"].predicted_repeat_purchases == pytest.approx(1653.4, abs=0.1)
    assert checks["pareto_nbd"].predicted_repeat_purchases == pytest.approx(1665.5, abs=0.1)
    assert checks["mbgnbd"].predicted_repeat_purchases == pytest.approx(1576.7, abs=0.1)
    assert checks["pareto_nbd"].mae == pytest.approx(0.7545, abs=1e-4)
    assert checks["pareto_nbd"].tracking[-1] == pytest.approx(1665.5, abs=0.1)
    assert report.chosen == "pareto_nbd" and "MAE 0.7545" in report.reason
    got = report.as_json()
    assert {"calibration_end", "holdout_end", "actual_repeat_purchases", "models", "chosen"} <= set(
        got
    )
    assert {"params", "log_likelihood", "bic", "predicted_repeat_purchases", "mae"} <= set(
        got["models"]["bgnbd"]
    )


def test_silent_buyers_are_not_called_certainly_alive(conn: sqlite3.Connection) -> None:
    """A small database shaped like the complaint: many one-time buyers, silent for months."""
    from core.pipeline import recompute

    _cdnow_db(conn)
    recompute(conn, date(1997, 12, 31))  # no choice recorded: BG/NBD is not picked
    used = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'model_used'").fetchone()[0])
    assert used["model"] in ("pareto_nbd", "mbgnbd")
    silent, certain = conn.execute(
        "SELECT count(*), coalesce(sum(p_alive >= 0.999), 0) FROM features "
        "WHERE recency_days > 90 AND p_alive IS NOT NULL"
    ).fetchone()
    assert silent > 1000 and certain == 0
    low, mid, high = conn.execute(
        "SELECT expected_purchases_90d_low, expected_purchases_90d, expected_purchases_90d_high "
        "FROM features WHERE user_id = 'c1'"
    ).fetchone()
    assert low < mid < high
    clv_low, clv_mid, clv_high = conn.execute(
        "SELECT clv_low, clv, clv_high FROM features WHERE user_id = 'c1'"
    ).fetchone()
    assert clv_low < clv_mid < clv_high
    first = conn.execute("SELECT clv_low, clv_high FROM features ORDER BY user_id").fetchall()
    recompute(conn, date(1997, 12, 31))  # seeded: the same intervals again
    assert (
        conn.execute("SELECT clv_low, clv_high FROM features ORDER BY user_id").fetchall() == first
    )


def test_only_bgnbd_leaves_one_time_buyers_without_an_estimate(cdnow: pd.DataFrame) -> None:
    from core.analytics.models import fit_mbgnbd, p_alive_estimated

    x = np.array([0.0, 1.0, 0.0, 5.0])
    assert p_alive_estimated(fit_bgnbd(*_xtT(cdnow)), x).tolist() == [False, True, False, True]
    assert p_alive_estimated(fit_mbgnbd(*_xtT(cdnow)), x).tolist() == [True] * 4


def test_the_models_view_shows_the_fits_of_one_date(conn: sqlite3.Connection) -> None:
    """model_fits keeps a fit per date; the Models view shows the one the predictions use
    (meta fit_as_of), else the latest, never every date's rows one under another."""
    from core.analytics.validation import stored_models
    from core.store.db import set_meta

    for day, r in (("2025-10-31", 1.0), ("2025-11-08", 2.0), ("2025-11-16", 3.0)):
        for model in ("bgnbd", "gamma_gamma"):
            conn.execute(
                "INSERT INTO model_fits(model, as_of, params, log_lik, fitted_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (model, day, json.dumps({"r": r}), -r, day),
            )
    latest = stored_models(conn)
    assert latest.fits_as_of == "2025-11-16"
    assert [(m, p["r"]) for m, p, *_ in latest.fits] == [("bgnbd", 3.0), ("gamma_gamma", 3.0)]
    set_meta(conn, "fit_as_of", "2025-11-08")
    used = stored_models(conn)
    assert used.fits_as_of == "2025-11-08"
    assert [(m, p["r"]) for m, p, *_ in used.fits] == [("bgnbd", 2.0), ("gamma_gamma", 2.0)]
