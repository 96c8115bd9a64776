"""Effect statistics on data with a known answer."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pytest
from scipy import stats

from core.audience import campaigns as cmp
from core.audience.effect import conversion_uplift, effect_report, revenue_uplift, t_quantile

START = date(2024, 7, 1)
Z = 1.959963984540054  # 97.5 % point of the standard normal


def wilson(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = (2 * n * p + Z**2) / (2 * (n + Z**2))
    half = Z * math.sqrt(Z**2 + 4 * n * p * (1 - p)) / (2 * (n + Z**2))
    return centre - half, centre + half


def build(conn, n_t: int, x_t: int, n_c: int, x_c: int, *, day: str = "2024-07-05") -> None:
    """n_t targets of whom x_t order once (amount 10 + i); the same for control (amount 5 + i)."""
    groups = [("t", n_t, x_t, 10.0), ("c", n_c, x_c, 5.0)]
    ids = [f"{g}{i:03d}" for g, n, _, _ in groups for i in range(n)]
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(u,) for u in ids])
    cmp.create_campaign(conn, "c", start=START, who="t", at=datetime(2024, 7, 1))
    members = [
        ("c", f"{g}{i:03d}", "target" if g == "t" else "control", "2024-07-01", "")
        for g, n, _, _ in groups
        for i in range(n)
    ]
    conn.executemany(
        "INSERT INTO campaign_members(campaign, user_id, role, added_at, source)"
        " VALUES (?, ?, ?, ?, ?)",
        members,
    )
    orders = [
        (f"o{g}{i}", f"{g}{i:03d}", base + i, f"{day} 12:00:00")
        for g, _, x, base in groups
        for i in range(x)
    ]
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", orders)


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Stat Med 17:873, table II, 56/70 vs 48/80: method 10 gives 0.0524 … 0.3339
    u = conversion_uplift(56, 70, 48, 80)
    assert u.absolute == pytest.approx(0.2)
    assert (round(u.low, 4), round(u.high, 4)) == (0.0524, 0.3339)
    assert "Newcombe" in u.method


def test_report_conversion_with_known_answer(conn):
    build(conn, 100, 40, 100, 20)
    r = effect_report(conn, "c", window_days=30, as_of=date(2024, 8, 15))
    assert (r.targets.users, r.targets.converted, r.control.converted) == (100, 40, 20)
    assert (r.targets.conversion, r.control.conversion) == (0.4, 0.2)
    assert r.conversion.absolute == pytest.approx(0.2)
    assert r.conversion.relative == pytest.approx(1.0)
    l_t, u_t = wilson(40, 100)
    l_c, u_c = wilson(20, 100)
    low = 0.2 - math.sqrt((0.4 - l_t) ** 2 + (u_c - 0.2) ** 2)
    high = 0.2 + math.sqrt((u_t - 0.4) ** 2 + (0.2 - l_c) ** 2)
    assert (r.conversion.low, r.conversion.high) == (pytest.approx(low), pytest.approx(high))
    assert (round(r.conversion.low, 4), round(r.conversion.high, 4)) == (0.0731, 0.3185)
    assert r.complete and r.enough_data and r.reason == ""


def test_report_revenue_per_user_is_welch(conn):
    build(conn, 100, 40, 100, 20)
    r = effect_report(conn, "c", window_days=30, as_of=date(2024, 8, 15))
    rev_t = np.array([10.0 + i for i in range(40)] + [0.0] * 60)
    rev_c = np.array([5.0 + i for i in range(20)] + [0.0] * 80)
    assert r.targets.revenue_per_user == pytest.approx(rev_t.mean())  # 29.5 * 40 / 100 = 11.8
    assert r.targets.revenue_per_user == pytest.approx(11.8)
    assert r.control.revenue_per_user == pytest.approx(2.9)  # 14.5 * 20 / 100
    rpu = r.revenue_per_user
    assert rpu.absolute == pytest.approx(8.9)
    assert rpu.relative == pytest.approx(8.9 / 2.9)
    v_t, v_c = rev_t.var(ddof=1) / 100, rev_c.var(ddof=1) / 100
    df = (v_t + v_c) ** 2 / (v_t**2 / 99 + v_c**2 / 99)
    half = stats.t.ppf(0.975, df) * math.sqrt(v_t + v_c)
    assert (rpu.low, rpu.high) == (pytest.approx(8.9 - half), pytest.approx(8.9 + half))
    ci = stats.ttest_ind(rev_t, rev_c, equal_var=False).confidence_interval(0.95)
    assert (rpu.low, rpu.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert "Welch" in rpu.method


def test_window_starts_the_day_after_the_send_and_has_window_days(conn):
    build(conn, 40, 0, 40, 0)
    rows = [
        ("a", "t000", 1.0, "2024-06-30 23:59:59"),  # before the send: out
        ("b", "t001", 1.0, "2024-07-01 08:00:00"),  # the send day (maybe before it): out
        ("c", "t002", 1.0, "2024-07-02 00:00:00"),  # the day after the send: in
        ("d", "t003", 1.0, "2024-07-11 23:59:59"),  # last day of a 10-day window: in
        ("e", "t004", 1.0, "2024-07-12 00:00:00"),  # day after: out
    ]
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", rows)
    r = effect_report(conn, "c", window_days=10, as_of=date(2024, 8, 1))
    assert (r.targets.converted, r.start, r.end) == (2, date(2024, 7, 2), date(2024, 7, 11))


def test_not_enough_data_when_a_group_is_small(conn):
    build(conn, 100, 40, 29, 5)
    r = effect_report(conn, "c", as_of=date(2024, 8, 15))
    assert not r.enough_data
    assert r.reason == "the control group has 29 users; each group needs at least 30"
    assert r.conversion is None and r.revenue_per_user is None
    assert r.control.converted == 5  # the raw counts are still there


def test_not_enough_data_without_orders_in_window(conn):
    build(conn, 50, 10, 50, 10, day="2024-09-01")
    r = effect_report(conn, "c", window_days=30, as_of=date(2024, 9, 30))
    assert r.reason == "no member of either group ordered in the window"


def test_window_not_started(conn):
    build(conn, 50, 10, 50, 10)
    r = effect_report(conn, "c", as_of=date(2024, 6, 30))
    assert r.observed_end is None and not r.complete
    assert "after the data's as-of date 2024-06-30" in r.reason


def test_incomplete_window_uses_days_so_far(conn):
    build(conn, 50, 10, 50, 5, day="2024-07-03")
    conn.execute("INSERT INTO orders VALUES ('late', 't049', 9.0, '2024-07-20 10:00:00')")
    r = effect_report(conn, "c", window_days=30, as_of=date(2024, 7, 10))
    assert (r.observed_end, r.complete, r.enough_data) == (date(2024, 7, 10), False, True)
    assert (r.targets.converted, r.control.converted) == (10, 5)


def test_as_of_defaults_to_the_database(conn):
    build(conn, 50, 10, 50, 5)
    conn.execute("INSERT INTO meta VALUES ('as_of', '2024-07-02')")
    r = effect_report(conn, "c")
    assert (r.as_of, r.targets.converted) == (date(2024, 7, 2), 0)


def test_no_start_date_is_an_error(conn):
    cmp.create_campaign(conn, "draft", who="t")
    with pytest.raises(cmp.CampaignError, match="no start date"):
        effect_report(conn, "draft", as_of=START)


def test_revenue_without_spread_has_a_point_interval():
    u = revenue_uplift(np.zeros(40), np.zeros(40))
    assert (u.absolute, u.low, u.high, u.relative) == (0.0, 0.0, 0.0, None)


@pytest.mark.parametrize("df", [0.5, 1, 1.5, 2, 3.7, 10, 29.3, 99, 187.4, 1e3, 1e5])
@pytest.mark.parametrize("p", [0.5, 0.6, 0.9, 0.975, 0.99, 0.999])
def test_t_quantile_is_scipys(p, df):
    """The app computes Welch's interval without scipy (it costs ~0.5 s at start): same quantile."""
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-10, abs=1e-12)


def test_t_quantile_refuses_outside_its_domain():
    for p, df in ((0.4, 10), (1.0, 10), (0.9, 0)):
        with pytest.raises(ValueError, match="t_quantile needs"):
            t_quantile(p, df)


# --- minimum detectable uplift (issue 13, 14) ------------------------------------------------


def test_minimum_detectable_uplift_hand_computed():
    from core.audience.effect import minimum_detectable_uplift as mde

    # z[0.975] + z[0.8] = 1.959964 + 0.841621 = 2.801585; sqrt(0.1 * 0.9 * (1/1000 + 1/1000))
    # = sqrt(0.00018) = 0.0134164; 2.801585 * 0.0134164 = 0.0375872
    assert mde(1000, 1000, 0.1) == pytest.approx(0.0375872, abs=1e-7)
    # unequal groups, the demo's flagship case: 171 targets, 19 control, base 0.25:
    # sqrt(0.1875 * (1/171 + 1/19)) = sqrt(0.1875 * 0.0584795) = sqrt(0.0109649) = 0.1047135
    # -> 2.801585 * 0.1047135 = 0.293364
    assert mde(171, 19, 0.25) == pytest.approx(0.293364, abs=1e-6)
    # alpha .01, power .9: z = 2.575829 + 1.281552 = 3.857381
    assert mde(500, 500, 0.5, alpha=0.01, power=0.9) == pytest.approx(
        3.857381 * math.sqrt(0.25 * 0.004), abs=1e-6
    )
    # 2.801585 * sqrt(0.2 * 0.8 * (1/900 + 1/100)) = 2.801585 * 0.0421637 (s-strategies)
    assert mde(900, 100, 0.2) == pytest.approx(0.1181252, abs=1e-6)
    assert mde(100, 0, 0.2) == math.inf
    with pytest.raises(ValueError):
        mde(100, 100, 1.5)


def test_projected_power_of_a_campaign_and_of_an_addition(conn):
    from core.audience.effect import projected_power
    from core.query import compile_condition

    build(conn, 100, 40, 20, 5)  # orders on 2024-07-05: the 30-day window as of 2024-07-10
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(f"n{i:03d}",) for i in range(80)])
    from core.pipeline import recompute

    recompute(conn, date(2024, 7, 10))
    now = projected_power(conn, "c")
    # 45 of the 120 members ordered in the 30 days: base 0.375; control 20 < 30
    assert (now.n_target, now.n_control, now.base_rate) == (100, 20, 0.375)
    assert now.warning == "control_small"
    assert now.mde == pytest.approx(
        2.801585 * math.sqrt(0.375 * 0.625 * (1 / 100 + 1 / 20)), abs=1e-5
    )
    new = compile_condition(conn, 'user_id startswith "n"', as_of=date(2024, 7, 10))
    after = projected_power(conn, "c", new, holdout_pct=50, seed=0)
    drawn = sum(cmp.control_draw(0, f"n{i:03d}") < 0.5 for i in range(80))
    assert (after.n_target, after.n_control) == (100 + 80 - drawn, 20 + drawn)
    assert after.base_rate == pytest.approx(45 / 200)
    assert after.warning == ("mde_large" if after.mde > 0.5 * 45 / 200 else "")
    assert after.relative == pytest.approx(after.mde / (45 / 200))
    # a win-back list: none of its members ordered lately, so the rate is all users' (45 / 200)
    cmp.create_campaign(conn, "w", who="t", at=datetime(2024, 7, 1))
    conn.executemany(
        "INSERT INTO campaign_members(campaign, user_id, role, added_at, source, added_on)"
        " VALUES ('w', ?, 'control', '2024-07-01', '', '2024-07-01')",
        [(f"n{i:03d}",) for i in range(40)],
    )
    back = projected_power(conn, "w")
    assert (back.base_rate, back.base_of, back.n_control) == (45 / 200, "all", 40)
    assert back.mde == math.inf and back.warning == "mde_large"  # no targets yet
