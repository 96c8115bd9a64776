"""Effect report of a campaign: did the targets do better than the control group?

Window: the ``window_days`` calendar days starting the day after the campaign's start date (its send), both ends
included (orders with start ≤ created_at < start + window_days). When the data's as-of date falls
inside the window, the report uses the days observed so far and says the window is incomplete;
when it falls before the start, there is nothing to compare yet.

Statistics, per group: conversion (share of users with ≥ 1 order in the window) and revenue per
user (every member counts, non-buyers with 0). Uplift = targets − control, absolute and relative
to control. 95 % intervals: Newcombe's hybrid score interval (from two Wilson intervals) for the
difference of two proportions; Welch's t interval for the difference of two means.

Before a send, :func:`projected_power` says what the groups can show: the control size and the
minimum detectable uplift of conversion for those sizes (:func:`minimum_detectable_uplift`).
"""

from __future__ import annotations

import math
import sqlite3
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from core.audience.campaigns import CampaignError, Condition, control_draw, counts, get_campaign
from core.store.db import stored_as_of
from core.store.engines import dialect_of

MIN_GROUP_USERS = 30
CONFIDENCE = 0.95
CONVERSION_METHOD = "Newcombe hybrid score interval (Wilson), difference of two proportions"
REVENUE_METHOD = "Welch's t interval, difference of two means (unequal variances)"
# Campaigns rarely lift conversion by half: a minimum detectable uplift above this share of the
# base rate means no realistic effect would show.
REALISTIC_RELATIVE_UPLIFT = 0.5


@dataclass(frozen=True)
class GroupStats:
    users: int
    converted: int
    orders: int
    revenue: float

    @property
    def conversion(self) -> float:
        return self.converted / self.users if self.users else 0.0

    @property
    def revenue_per_user(self) -> float:
        return self.revenue / self.users if self.users else 0.0


@dataclass(frozen=True)
class Uplift:
    absolute: float
    relative: float | None  # None when the control value is 0
    low: float  # bounds of the 95 % interval of ``absolute``
    high: float
    method: str


@dataclass(frozen=True)
class EffectReport:
    campaign: str
    start: date
    end: date  # last day of the window (inclusive)
    window_days: int
    as_of: date
    observed_end: date | None  # last day with data inside the window; None if not started
    targets: GroupStats
    control: GroupStats
    conversion: Uplift | None  # None when there is not enough data
    revenue_per_user: Uplift | None
    reason: str  # why there is not enough data; "" when the statistics are there

    @property
    def complete(self) -> bool:
        return self.observed_end == self.end

    @property
    def enough_data(self) -> bool:
        return not self.reason


def effect_report(
    conn: sqlite3.Connection, campaign: str, *, window_days: int = 30, as_of: date | None = None
) -> EffectReport:
    """Compare targets and control over the window; ``as_of`` defaults to the database's."""
    if window_days < 1:
        raise CampaignError(f"The window must be at least 1 day (got {window_days}).")
    found = get_campaign(conn, campaign)
    if found.start_date is None:
        raise CampaignError(
            f"Campaign {campaign!r} has no start date yet: send it (or create it with a start date)."
        )
    as_of = as_of or stored_as_of(conn) or _latest_order_day(conn)
    # the window starts the day after the send: orders of the send day may precede it (a
    # campaign's date is a data date, without a time of day)
    start = found.start_date + timedelta(days=1)
    end = found.start_date + timedelta(days=window_days)
    observed_end = min(end, as_of) if as_of >= start else None
    until = observed_end or start - timedelta(days=1)  # empty window when not started
    per_user = _per_user(conn, campaign, start, until)
    targets, control = _group(per_user, "target"), _group(per_user, "control")
    reason = _not_enough(targets, control, start, as_of)
    conv = rev = None
    if not reason:
        conv = conversion_uplift(targets.converted, targets.users, control.converted, control.users)
        rev = revenue_uplift(_revenues(per_user, "target"), _revenues(per_user, "control"))
    return EffectReport(
        campaign, start, end, window_days, as_of, observed_end, targets, control, conv, rev, reason
    )


def _latest_order_day(conn: sqlite3.Connection) -> date:
    row = conn.execute("SELECT max(created_at) FROM orders").fetchone()
    if row[0] is None:
        raise CampaignError("The database has no orders and no as-of date: nothing to measure.")
    return date.fromisoformat(row[0][:10])


def _per_user(
    conn: sqlite3.Connection, campaign: str, start: date, until: date
) -> list[tuple[str, int, float]]:
    """(role, orders, revenue) of every member, in the days start … until (both included)."""
    rows = conn.execute(
        "SELECT m.role, count(o.order_id), coalesce(sum(o.amount), 0.0)"
        " FROM campaign_members m LEFT JOIN orders o ON o.user_id = m.user_id"
        "  AND o.created_at >= ? AND o.created_at < ?"
        " WHERE m.campaign = ? GROUP BY m.user_id, m.role",
        (start.isoformat(), (until + timedelta(days=1)).isoformat(), campaign),
    )
    return [(r[0], r[1], float(r[2])) for r in rows]


def _group(per_user: list[tuple[str, int, float]], role: str) -> GroupStats:
    mine = [(n, amount) for r, n, amount in per_user if r == role]
    return GroupStats(
        users=len(mine),
        converted=sum(1 for n, _ in mine if n > 0),
        orders=sum(n for n, _ in mine),
        revenue=sum(amount for _, amount in mine),
    )


def _revenues(per_user: list[tuple[str, int, float]], role: str) -> list[float]:
    return [amount for r, _, amount in per_user if r == role]


def _not_enough(targets: GroupStats, control: GroupStats, start: date, as_of: date) -> str:
    if as_of < start:
        return (
            f"the window starts on {start}, after the data's as-of date {as_of}: "
            "there are no orders to compare yet"
        )
    small = [
        f"{name} has {g.users} users"
        for name, g in (("the target group", targets), ("the control group", control))
        if g.users < MIN_GROUP_USERS
    ]
    if small:
        return f"{' and '.join(small)}; each group needs at least {MIN_GROUP_USERS}"
    if targets.orders + control.orders == 0:
        return "no member of either group ordered in the window"
    return ""


def wilson_interval(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of one proportion."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def conversion_uplift(x_t: int, n_t: int, x_c: int, n_c: int) -> Uplift:
    """Difference of two proportions with Newcombe's hybrid score interval (his method 10)."""
    z = statistics.NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
    p_t, p_c = x_t / n_t, x_c / n_c
    l_t, u_t = wilson_interval(x_t, n_t, z)
    l_c, u_c = wilson_interval(x_c, n_c, z)
    diff = p_t - p_c
    low = diff - math.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    high = diff + math.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    return Uplift(diff, diff / p_c if p_c else None, low, high, CONVERSION_METHOD)


def revenue_uplift(targets: Sequence[float], control: Sequence[float]) -> Uplift:
    """Difference of mean revenue per user with Welch's t interval."""
    m_t, m_c = statistics.fmean(targets), statistics.fmean(control)
    v_t = statistics.variance(targets, m_t) / len(targets)
    v_c = statistics.variance(control, m_c) / len(control)
    diff = m_t - m_c
    se = math.sqrt(v_t + v_c)
    if se == 0:  # every user spent the same: no spread, the interval is the point
        return Uplift(diff, diff / m_c if m_c else None, diff, diff, REVENUE_METHOD)
    df = (v_t + v_c) ** 2 / (v_t**2 / (len(targets) - 1) + v_c**2 / (len(control) - 1))
    half = t_quantile(0.5 + CONFIDENCE / 2, df) * se
    return Uplift(diff, diff / m_c if m_c else None, diff - half, diff + half, REVENUE_METHOD)


# Student's t quantile without scipy: importing scipy.stats costs ~0.5 s, and the app imports this
# module at start (the campaigns screen). Checked against scipy.stats.t.ppf in tests/core/test_effect.py.
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile (0.5 <= p < 1) of Student's t with ``df`` > 0 degrees of freedom (not
    necessarily whole: Welch's df): bisection on the distribution function to machine precision."""
    if not 0.5 <= p < 1 or df <= 0:
        raise ValueError(f"t_quantile needs 0.5 <= p < 1 and df > 0, not p={p}, df={df}")
    if p == 0.5:
        return 0.0
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if _t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def _t_cdf(t: float, df: float) -> float:
    """P(T <= t) for t >= 0: 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t²)."""
    return 1 - _betainc(df / 2, 0.5, df / (df + t * t)) / 2


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (continued fraction, Lentz's method,
    as in Numerical Recipes' betai)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        for aa in (
            m * (b - m) * x / ((a - 1 + 2 * m) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1 + 2 * m)),
        ):
            d = 1 + aa * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return h


# --- before the send: what the groups can show -------------------------------------------------


MDE_ALPHA = 0.05
MDE_POWER = 0.8
MDE_METHOD = (
    "two-proportion z test, alpha 0.05 two-sided, power 0.8: "
    "(z(0.975) + z(0.8)) * sqrt(p(1 - p)(1/n_t + 1/n_c)), p = the pooled conversion"
)


def minimum_detectable_uplift(
    n_target: int,
    n_control: int,
    base_rate: float,
    alpha: float = MDE_ALPHA,
    power: float = MDE_POWER,
) -> float:
    """The smallest absolute uplift of conversion (targets − control, as a share) that a
    two-sided two-proportion z-test at level ``alpha`` detects with probability ``power``:

        MDE = (z[1 − alpha/2] + z[power]) · sqrt(p · (1 − p) · (1/n_target + 1/n_control))

    with p the base rate (the control's expected conversion), the variance of both groups
    taken at p (the normal approximation; fine for an uplift small against p). With the
    defaults z[0.975] + z[0.8] = 1.95996 + 0.84162 = 2.80158: for 1,000 users in each group
    and p = 0.1, MDE = 2.80158 · sqrt(0.09 · 0.002) = 0.03759, i.e. 3.8 points. ``inf`` when a
    group is empty; ValueError for a base rate outside 0..1 or alpha/power outside (0, 1).
    """
    if not 0 <= base_rate <= 1:
        raise ValueError(f"the base rate is a share between 0 and 1, not {base_rate}")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError(f"alpha and power must be between 0 and 1, not {alpha}, {power}")
    if n_target <= 0 or n_control <= 0:
        return math.inf
    normal = statistics.NormalDist()
    z = normal.inv_cdf(1 - alpha / 2) + normal.inv_cdf(power)
    return z * math.sqrt(base_rate * (1 - base_rate) * (1 / n_target + 1 / n_control))


@dataclass(frozen=True)
class Power:
    """What a campaign's groups can show, for :func:`projected_power`."""

    n_target: int
    n_control: int
    base_rate: float | None  # share of the members who ordered in the 30 days to the as-of date
    mde: float | None  # minimum detectable uplift (absolute share); None without a base rate
    warning: str  # '' | 'control_small' | 'mde_large' | 'no_base_rate'
    base_of: str = "members"  # 'members', or 'all' users when the members' rate is 0 or 1

    @property
    def relative(self) -> float | None:
        """The MDE relative to the base rate."""
        if self.mde is None or not self.base_rate:
            return None
        return self.mde / self.base_rate


def projected_power(
    conn: sqlite3.Connection,
    campaign: str,
    condition: Condition | None = None,
    *,
    holdout_pct: float = 0.0,
    seed: int = 0,
) -> Power:
    """The campaign's groups as they are, or as they would be after adding the users matching
    ``condition`` (the seeded ``holdout_pct`` % of the new ones to control, as
    :func:`core.audience.campaigns.add_from_segment` draws them; the frequency cap is not
    applied), with the minimum detectable uplift of conversion for those sizes.

    The base rate stands in for the control's conversion over the effect window: the share of
    these users who ordered in the 30 days up to the as-of date (``orders_30d``); when that is 0
    or 1 (a win-back segment has no recent buyers by its definition), the share of all users
    (``base_of`` says which). Warnings:
    ``control_small`` (fewer than MIN_GROUP_USERS in control: the effect report will say "not
    enough data"), ``mde_large`` (only an uplift above REALISTIC_RELATIVE_UPLIFT of the base rate
    would show), ``no_base_rate`` (nobody or everybody ordered, among all users too: no rate to
    project from; ``mde`` is None).
    """
    n_target, n_control = counts(conn, campaign)
    member = "f.user_id IN (SELECT user_id FROM campaign_members WHERE campaign = :_pw_campaign)"
    where, params = member, {"_pw_campaign": campaign}
    if condition is not None:
        params.update(condition.params)
        new = conn.execute(
            f"SELECT f.user_id FROM features AS f WHERE ({condition.where}) AND NOT {member}",
            params,
        ).fetchall()
        to_control = sum(1 for (uid,) in new if control_draw(seed, uid) < holdout_pct / 100)
        n_target, n_control = n_target + len(new) - to_control, n_control + to_control
        where = f"{member} OR ({condition.where})"
    dialect = dialect_of(conn)  # SQLite's total(); DuckDB sums 0/1 (NULL of no rows: 0 users)
    buyers = dialect.total(dialect.as_int("f.orders_30d >= 1"), "f.user_id")
    users, ordered = conn.execute(
        f"SELECT count(*), {buyers} FROM features AS f WHERE {where}", params
    ).fetchone()
    base, base_of = (ordered / users if users else None), "members"
    if base in (None, 0.0, 1.0):  # e.g. a win-back segment: nobody ordered lately, by design
        buyers = dialect.total(dialect.as_int("orders_30d >= 1"), "user_id")
        users, ordered = conn.execute(f"SELECT count(*), {buyers} FROM features").fetchone()
        base, base_of = (ordered / users if users else None), "all"
    mde = None
    if base is not None and 0 < base < 1:
        mde = minimum_detectable_uplift(n_target, n_control, base)
    if n_control < MIN_GROUP_USERS:
        warning = "control_small"
    elif mde is None:
        warning = "no_base_rate"
    elif base is not None and mde > REALISTIC_RELATIVE_UPLIFT * base:
        warning = "mde_large"
    else:
        warning = ""
    return Power(n_target, n_control, base, mde, warning, base_of)
