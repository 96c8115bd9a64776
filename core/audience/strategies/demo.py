"""The demo's five strategies (the seed examples of issue 16) and the response of their treated
users, so that the shipped demo has a month of runs to report on (docs/demo.md, "Strategies").

``userops demo`` computes the data as of HISTORY_START (2025-10-31), installs
:data:`DEMO_STRATEGIES`, then refreshes one day at a time through November: after each day's runs,
:func:`add_response` gives each strategy's targets of that day a small, deterministic extra chance
to order in the days after (``TRUE_EFFECTS``: a different true effect per strategy, one of them
none) — the orders of the next day exist before it is refreshed, as a daily import would bring
them. The control group gets nothing extra: the report's uplift estimates ``TRUE_EFFECTS``.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import numpy as np

from core.audience.strategies import store
from core.audience.strategies.model import Schedule, Strategy
from core.store.db import get_meta, set_meta

HISTORY_START = date(2025, 10, 31)
RESPONSE_DAYS = 5  # extra orders fall 1 … 5 days after the run (inside the 7-day window)

RFM_OFFERS = {
    "important_value": "VIP 专享礼遇",
    "important_development": "第二件半价",
    "important_retention": "老客回归 8 折",
    "important_winback": "大额召回券 满200减60",
    "general_value": "满300减50 凑单券",
    "general_development": "新品试用装",
    "general_retention": "积分加倍",
    "general_winback": "5 元无门槛券",
}

DEMO_STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        name="cart-abandon",
        # a past buyer who added to the cart today and did not pay today
        condition="count(cart_add, 1d) >= 1 and orders(1d) = 0 and frequency >= 1",
        channel="coupon",
        offer="满100减20 购物车券",
        holdout_pct=10,
        cooldown_days=14,
        priority=5,
    ),
    Strategy(
        name="welcome",
        condition="signup_at >= -7d and frequency = 0",
        channel="coupon",
        offer="新人礼包",
        holdout_pct=10,
        max_per_run=40,
        priority=4,
    ),
    Strategy(
        name="activity-drop",
        # logged in 2+ times in 30 days and not in the last 7: activity down far more than 30 %
        condition="count(login, 30d) >= 2 and count(login, 7d) = 0",
        channel="push",
        offer="为你推荐 + 限时优惠",
        holdout_pct=20,
        cooldown_days=30,
        max_per_run=100,
        priority=3,
        schedule=Schedule.parse("mon,thu"),
    ),
    Strategy(
        name="dormant-recall",
        # entering mode: users who came into the dormant layer since the previous run (the
        # second clause keeps the stored matching set to the recent entrants)
        condition='layer = "dormant" and days_since_active <= 45',
        channel="sms",
        offer="好久不见，回来看看",
        holdout_pct=10,
        max_per_run=60,
        priority=2,
    ),
    Strategy(
        name="rfm-offers",
        condition="frequency >= 1 and recency_days between 20 and 45",
        mode="every_run",
        channel="push",
        offers_by="rfm",
        offers=RFM_OFFERS,
        offer="会员专享券",
        holdout_pct=15,
        cooldown_days=28,
        max_per_run=120,
        priority=1,
        schedule=Schedule.parse("every:7"),
    ),
)

# the extra chance a target orders in the days after a run, per strategy: the truth the
# report should find (dormant-recall: none)
TRUE_EFFECTS = {
    "cart-abandon": 0.20,
    "welcome": 0.12,
    "activity-drop": 0.06,
    "dormant-recall": 0.0,
    "rfm-offers": 0.03,
}


def install_demo_strategies(conn: sqlite3.Connection) -> list[Strategy]:
    """Save the five demo strategies (as of the database's date)."""
    return [store.save(conn, s) for s in DEMO_STRATEGIES]


def add_response(conn: sqlite3.Connection, day: date, *, seed: int = 7) -> int:
    """Orders of the targets of the runs on ``day`` who respond (``TRUE_EFFECTS``), dated 1 …
    RESPONSE_DAYS days later; deterministic in (seed, day, strategy). Returns how many."""
    rows = conn.execute(
        "SELECT r.strategy, t.user_id FROM strategy_runs AS r"
        " JOIN strategy_targets AS t ON t.run_id = r.id WHERE r.run_date = ?"
        " ORDER BY r.strategy, t.user_id",
        (day.isoformat(),),
    ).fetchall()
    orders: list[tuple[str, str, float, str]] = []
    names = sorted(TRUE_EFFECTS)
    for k, name in enumerate(names):
        users = [u for s, u in rows if s == name]
        effect = TRUE_EFFECTS[name]
        if not users or effect <= 0:
            continue
        rng = np.random.default_rng([seed, 16, day.toordinal(), k])
        respond = rng.random(len(users)) < effect
        after = rng.integers(1, RESPONSE_DAYS + 1, len(users))
        seconds = rng.integers(8 * 3600, 23 * 3600, len(users))
        amount = np.maximum(np.round(rng.lognormal(5.0, 0.5, len(users))), 5.0)  # whole yuan
        for i in np.flatnonzero(respond):
            when = day + timedelta(days=int(after[i]))
            hh, rest = divmod(int(seconds[i]), 3600)
            at = f"{when.isoformat()} {hh:02d}:{rest // 60:02d}:{rest % 60:02d}"
            order_id = f"R{day:%Y%m%d}{k}{len(orders):05d}"
            orders.append((order_id, users[i], float(amount[i]), at))
    conn.executemany(
        "INSERT INTO orders(order_id, user_id, amount, created_at) VALUES (?, ?, ?, ?)", orders
    )
    if orders:
        latest = max(o[3][:10] for o in orders)
        if latest > (get_meta(conn, "data_latest") or ""):
            set_meta(conn, "data_latest", latest)
    return len(orders)
