"""The demo database: a deterministic, realistic Chinese e-commerce + community user base.

``build_demo(conn, n_users=20000, seed=7)`` writes users, orders and events straight into the
schema, all from ``numpy.random.default_rng(seed)``, vectorised, so the same seed and size give
byte-identical tables. Every user follows one archetype (new, registered-only, active non-buyer,
buyer, loyal, dormant, churned) whose rhythm puts them in one lifecycle layer as of DEMO_AS_OF.
Time is counted in "days ago" (0 = the as-of day itself), so nothing can fall after the as-of date.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from core.errors import CoreError
from core.ingest import demo_data as dd
from core.store.db import set_meta, transaction
from core.store.schema import EVENT_KINDS, user_attribute_columns
from core.store.sql import quote

DEMO_AS_OF = date(2025, 11, 30)
FOLLOW_UP_DAYS = 31  # orders after the as-of date, for measuring a campaign (see docs/demo.md)
# The follow-up month's events and signups (docs/demo.md): each user's events of the last 30
# days come back at this share of their pace, every kind alike (November's proportions) ...
FOLLOW_UP_EVENT_PACE = 0.2
FOLLOW_UP_SIGNUP_PACE = 0.3  # ... and new users sign up at this share of November's number
HISTORY_DAYS = 730  # signups over the two years before the as-of date
DAY = 86_400

ARCHETYPES = ("new", "registered", "active", "buyer", "loyal", "dormant", "churned")
NEW, REGISTERED, ACTIVE, BUYER, LOYAL, DORMANT, CHURNED = range(len(ARCHETYPES))
ARCHETYPE_SHARES = (0.10, 0.20, 0.06, 0.15, 0.11, 0.15, 0.23)
SIGNUP_MIN_AGO = (0, 30, 30, 30, 120, 35, 100)  # how long ago each archetype signed up, at least
EXTRA_COLUMNS = ("city_tier", "member")  # extra TEXT attributes of users


class DemoError(CoreError):
    title = "Demo not built"


@dataclass(frozen=True)
class DemoReport:
    n_users: int  # users signed up by the as-of date
    n_orders: int
    n_events: int
    as_of: date
    seed: int
    archetypes: dict[str, int]  # users per archetype
    n_later_signups: int = 0  # users who sign up in the follow-up month (after as_of)


@dataclass
class _Users:
    """Per-user plan: index i is user U{i+1}. Days are 'days ago' as of the as-of date."""

    archetype: np.ndarray
    signup_ago: np.ndarray
    signup_secs: np.ndarray  # the signup moment, seconds since the origin
    last_ago: np.ndarray  # the anchor of the archetype's rhythm (last order / last activity)
    category: np.ndarray  # preferred product category (index into CATEGORIES)
    night: np.ndarray  # night buyer: orders 22:00-02:00
    coupon_rate: np.ndarray  # share of orders paid with a coupon


def build_demo(
    conn: sqlite3.Connection, *, n_users: int = 20000, seed: int = 7, as_of: date = DEMO_AS_OF
) -> DemoReport:
    """Fill an empty userops database with the demo data; one transaction, all or nothing."""
    if n_users < 1:
        raise DemoError(f"--users must be at least 1, got {n_users}")
    existing = conn.execute("SELECT count(*) FROM users").fetchone()[0]
    if existing:
        raise DemoError(
            f"the database already holds {existing} users; build the demo in a new file"
        )
    rng = np.random.default_rng(seed)
    plan = _plan_users(rng, n_users)
    origin = np.datetime64(as_of - timedelta(days=HISTORY_DAYS), "s")
    users = _user_rows(rng, plan, origin, 0)
    o_user, o_secs, o_amount = _orders(rng, plan, as_of)
    e_user, e_secs, e_kind, e_value, planned = _events(rng, plan, o_user, o_secs)
    e_user, e_secs, e_kind, e_value = _trim_old(e_user, e_secs, e_kind, e_value)
    # the month after as-of comes from its own streams: the data up to as-of stays unchanged
    f_user, f_secs, f_amount = _follow_up_orders(
        np.random.default_rng([seed, 1]), plan, o_user, o_secs, as_of, origin
    )
    later = _follow_up_month(np.random.default_rng([seed, 2]), plan, planned, f_user, f_secs)
    n_total = n_users + later.n_signups
    users += _user_rows(later.rng, later.signups, origin, n_users)
    o_user, o_secs = (
        np.concatenate([o_user, f_user, later.o_user]),
        np.concatenate([o_secs, f_secs, later.o_secs]),
    )
    o_amount = np.concatenate([o_amount, f_amount, later.o_amount])
    e_user, e_secs, e_kind, e_value = (
        np.concatenate([a, b])
        for a, b in zip((e_user, e_secs, e_kind, e_value), later.events, strict=True)
    )
    with transaction(conn):
        _add_extra_columns(conn)
        conn.executemany(
            "INSERT INTO users(user_id, name, gender, city, channel, device, signup_at, phone,"
            " email, city_tier, member) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            users,
        )
        with _indexes_built_after(conn, ("orders", "events")):
            _insert_orders(conn, n_total, origin, o_user, o_secs, o_amount)
            _insert_events(conn, n_total, origin, e_user, e_secs, e_kind, e_value)
        set_meta(conn, "as_of", as_of.isoformat())
        # the follow-up month lies after the as-of date: `userops refresh` walks into it
        latest = conn.execute(
            "SELECT max((SELECT max(created_at) FROM orders), (SELECT max(created_at) FROM events))"
        ).fetchone()[0]
        set_meta(conn, "data_latest", max(latest or "", as_of.isoformat())[:10])
        set_meta(conn, "demo", f"seed={seed} users={n_users}")
    counts = np.bincount(plan.archetype, minlength=len(ARCHETYPES))
    return DemoReport(
        n_users=n_users,
        n_orders=len(o_user),
        n_events=len(e_user),
        as_of=as_of,
        seed=seed,
        archetypes={name: int(c) for name, c in zip(ARCHETYPES, counts, strict=True)},
        n_later_signups=later.n_signups,
    )


@contextmanager
def _indexes_built_after(conn: sqlite3.Connection, tables: tuple[str, ...]) -> Iterator[None]:
    """Drop the tables' secondary indexes, then recreate them from the schema's own SQL.

    Building an index once from sorted data is several times faster than updating it row by
    row (1M users: millions of rows); inside the caller's transaction, so still all or nothing.
    """
    marks = ",".join("?" * len(tables))
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        f" AND tbl_name IN ({marks}) ORDER BY name",
        tables,
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')  # names from our own schema, not from input
    yield
    for _, sql in indexes:
        conn.execute(sql)


# --- the plan: who is who, when they signed up, when they were last seen ------------------------


def _plan_users(rng: np.random.Generator, n: int) -> _Users:
    archetype = rng.choice(len(ARCHETYPES), size=n, p=ARCHETYPE_SHARES)
    lo = np.array(SIGNUP_MIN_AGO)[archetype]
    hi = np.where(archetype == NEW, 29, HISTORY_DAYS - 1)
    signup_ago = _growth_days_ago(rng, lo, hi)
    last_ago = np.zeros(n, dtype=np.int64)
    dormant, churned = archetype == DORMANT, archetype == CHURNED
    last_ago[dormant] = _uniform_int(
        rng, np.full(dormant.sum(), 30), np.minimum(89, signup_ago[dormant])
    )
    last_ago[churned] = _uniform_int(
        rng, np.full(churned.sum(), 91), np.minimum(240, signup_ago[churned])
    )
    coupon_lover = rng.random(n) < 0.2
    # an hour of slack at the end of the day, so "just after signup" stays on the signup day
    signup_secs = np.minimum(
        _seconds(rng, signup_ago, _hours(rng, n)), (HISTORY_DAYS - signup_ago + 1) * DAY - 3600
    )
    return _Users(
        archetype=archetype,
        signup_ago=signup_ago,
        signup_secs=signup_secs,
        last_ago=last_ago,
        category=rng.choice(len(dd.CATEGORIES), size=n, p=_norm(dd.CATEGORY_WEIGHTS)),
        night=rng.random(n) < 0.08,
        coupon_rate=np.where(coupon_lover, 0.7, 0.05),
    )


def _growth_days_ago(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Days ago in [lo, hi] with signups per day growing threefold over the two years."""
    g = np.log(3.0) / HISTORY_DAYS
    u = rng.random(lo.shape)
    span = hi - lo + 1
    ago = lo + np.floor(-np.log1p(-u * (1.0 - np.exp(-g * span))) / g)
    return np.minimum(ago.astype(np.int64), hi)


def _uniform_int(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One integer per row, uniform in [lo, hi] (both ends included)."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    return lo + np.floor(rng.random(lo.shape) * (hi - lo + 1)).astype(np.int64)


def _norm(weights: tuple[float, ...] | list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


# --- users -----------------------------------------------------------------------------------------


def _user_rows(
    rng: np.random.Generator, plan: _Users, origin: np.datetime64, first: int
) -> list[tuple]:
    """The users table's rows of ``plan``, whose first user is U{first + 1}."""
    n = len(plan.archetype)
    basics = dd.basic_attributes(rng, n, engaged=plan.archetype == ACTIVE)
    signup = _iso(origin, plan.signup_secs)
    ids = _user_ids(first + n)[first:].tolist()
    # column order: user_id, name, gender, city, channel, device, signup_at, phone, email,
    # city_tier, member
    return [(ids[i], *b[:5], signup[i], *b[5:]) for i, b in enumerate(basics)]


def _add_extra_columns(conn: sqlite3.Connection) -> None:
    present = set(user_attribute_columns(conn))
    for column in EXTRA_COLUMNS:
        if column not in present:  # identifiers from EXTRA_COLUMNS only
            conn.execute(f"ALTER TABLE users ADD COLUMN {quote(column)} TEXT")


# --- time ------------------------------------------------------------------------------------------


def _hours(rng: np.random.Generator, n: int, night: np.ndarray | None = None) -> np.ndarray:
    hours = rng.choice(24, size=n, p=_norm(dd.HOUR_WEIGHTS))
    if night is not None:  # night buyers stay night buyers: 22:00-02:00, nine orders in ten
        late = rng.choice(np.array([22, 23, 0, 1]), size=n, p=[0.3, 0.35, 0.25, 0.1])
        hours = np.where(night & (rng.random(n) < 0.9), late, hours)
    return hours


def _seconds(rng: np.random.Generator, ago: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Seconds since the origin (as-of minus HISTORY_DAYS) for a day ago and an hour."""
    day = HISTORY_DAYS - ago
    return day * DAY + hours * 3600 + rng.integers(0, 3600, len(ago))


def _iso(origin: np.datetime64, secs: np.ndarray) -> list[str]:
    text = np.datetime_as_string(origin + secs.astype("timedelta64[s]"), unit="s")
    return [t.replace("T", " ") for t in text.tolist()]


# --- orders ----------------------------------------------------------------------------------------


def _orders(rng: np.random.Generator, plan: _Users, as_of: date):
    """(user index, seconds since origin, amount) per order, long-tailed per user, seasonal."""
    count, last_lo, last_hi, early_lo, early_hi = _order_plan(rng, plan)
    user = np.repeat(np.arange(len(count)), count)
    first = np.zeros(len(user), dtype=bool)  # each user's first row is the anchoring last order
    first[(np.cumsum(count) - count)[count > 0]] = True
    lo = np.where(first, last_lo[user], early_lo[user])
    hi = np.where(first, last_hi[user], early_hi[user])
    ago = _seasonal_days_ago(rng, lo, hi, _season_weights(as_of))
    secs = _seconds(rng, ago, _hours(rng, len(user), plan.night[user]))
    secs = np.maximum(secs, plan.signup_secs[user] + 600)  # nobody buys before signing up
    spender = rng.normal(0.0, 0.45, len(count))  # some users simply buy dearer things
    amount = np.exp(np.log(150.0) + spender[user] + rng.normal(0.0, 0.7, len(user)))
    return user, secs, _price(amount)


def _follow_up_orders(rng, plan: _Users, o_user, o_secs, as_of: date, origin: np.datetime64):
    """Orders of the FOLLOW_UP_DAYS after as-of, at a fraction of each user's recent pace (orders
    in the last 90 days, per 30 days) plus a small chance of a comeback or a first order. They let a campaign
    started on the as-of date be measured by moving the as-of date forward; everything computed
    as of DEMO_AS_OF ignores them."""
    end = (np.datetime64(as_of, "s") + np.timedelta64(1, "D") - origin).astype(np.int64)
    recent = np.bincount(o_user[o_secs >= end - 90 * 86400], minlength=len(plan.archetype))
    comeback = np.where(plan.archetype == CHURNED, 0.005, 0.015)
    lull = 0.4  # December after 双11: a much quieter month than the 90 days before it
    count = rng.poisson(lull * recent / 3.0 * FOLLOW_UP_DAYS / 30.0 + comeback)
    user = np.repeat(np.arange(len(count)), count)
    day = rng.integers(0, FOLLOW_UP_DAYS, len(user))
    secs = end + day * 86400 + _hours(rng, len(user), plan.night[user]) * 3600
    secs += rng.integers(0, 3600, len(user))
    amount = np.exp(np.log(150.0) + rng.normal(0.0, 0.8, len(user)))
    return user, secs, _price(amount)


def _price(amount: np.ndarray) -> np.ndarray:
    """Whole yuan, at least 5: a shop's prices (and SQLite stores a whole REAL in 1-3 bytes
    instead of 8, in the orders table and its covering index: about 0.5 MB of the demo)."""
    return np.maximum(np.round(amount), 5.0)


def _order_plan(rng: np.random.Generator, plan: _Users):
    """Orders per user, the window of the most recent one and the window of the others."""
    a, signup, last = plan.archetype, plan.signup_ago, plan.last_ago
    n = len(a)
    r1, r2 = rng.random(n), rng.random(n)
    loyal_count = np.where(
        rng.random(n) < 0.06, rng.integers(20, 41, n), 3 + rng.negative_binomial(2, 0.4, n)
    )
    count = np.select(
        [a == NEW, a == BUYER, a == LOYAL, a == DORMANT, a == CHURNED],
        [
            (r1 < 0.25).astype(np.int64),
            1 + (r1 < 0.45) + (r2 < 0.15),
            loyal_count,
            (r1 < 0.55) * (1 + rng.binomial(2, 0.3, n)),
            1 + rng.poisson(1.2, n),
        ],
        0,
    )
    recent = (a == BUYER) | (a == LOYAL)
    anchored = (a == DORMANT) | (a == CHURNED)  # the last order is the last sign of life
    last_lo = np.where(anchored, last, 0)
    last_hi = np.select([recent, anchored], [np.minimum(29, signup), last], signup)
    early_lo = np.select([a == BUYER, anchored], [np.minimum(30, signup), last], 0)
    early_hi = np.where(a == LOYAL, np.minimum(signup, 540), signup)
    return count.astype(np.int64), last_lo, last_hi, early_lo, early_hi


def _season_weights(as_of: date) -> np.ndarray:
    """Relative order volume per day ago: 618, 双11, the run-up to 春节, weekends."""
    return np.array([_day_weight(as_of - timedelta(days=k)) for k in range(HISTORY_DAYS)])


def _day_weight(d: date) -> float:
    w = 1.15 if d.weekday() >= 5 else 1.0
    if d.month == 6 and d.day <= 18:
        w *= 4.0 if d.day == 18 else 1.8
    elif d.month == 11 and d.day <= 11:
        w *= 5.0 if d.day == 11 else 2.2
    festival = dd.SPRING_FESTIVAL.get(d.year)
    if festival is not None:
        to_festival = (festival - d).days
        if 3 <= to_festival <= 21:
            w *= 1.6  # 年货节: stocking up before the holiday
        elif -6 <= to_festival <= 2:
            w *= 0.5  # couriers stop over the holiday
    return w


def _seasonal_days_ago(rng, lo: np.ndarray, hi: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A day ago in [lo, hi] per row, drawn in proportion to the day weights (inverse CDF)."""
    cum = np.concatenate([[0.0], np.cumsum(weights)])
    target = cum[lo] + rng.random(len(lo)) * (cum[hi + 1] - cum[lo])
    ago = np.searchsorted(cum, target, side="right") - 1
    return np.clip(ago, lo, hi)


def _insert_orders(conn, n_users: int, origin, user, secs, amount) -> None:
    order = np.lexsort((user, secs))  # ids follow time, like a real shop's
    user, secs, amount = user[order], secs[order], amount[order]
    width = max(7, len(str(len(user))))
    ids = [f"O{k + 1:0{width}d}" for k in range(len(user))]
    conn.executemany(
        "INSERT INTO orders(order_id, user_id, amount, created_at) VALUES (?,?,?,?)",
        zip(
            ids, _user_ids(n_users)[user].tolist(), amount.tolist(), _iso(origin, secs), strict=True
        ),
    )


def _user_ids(n: int) -> np.ndarray:
    width = max(6, len(str(n)))
    return np.array([f"U{i + 1:0{width}d}" for i in range(n)], dtype=object)


# --- events ----------------------------------------------------------------------------------------

# Per archetype: (kind, fewest, most, window). Windows are in days ago, see _window.
EVENT_PLAN: dict[int, tuple[tuple[str, int, int, str], ...]] = {
    NEW: (
        ("login", 1, 2, "since_signup"),
        ("view", 0, 2, "since_signup"),
        ("cart_add", 0, 1, "since_signup"),
    ),
    REGISTERED: (("login", 1, 1, "signup_day"), ("view", 0, 1, "after_signup")),
    ACTIVE: (
        ("checkin", 4, 7, "last30"),  # the default active rule: >= 4 check-ins in 30 days
        ("login", 2, 3, "last30"),
        ("post", 0, 1, "last30"),
        ("view", 0, 1, "last30"),
        ("cart_add", 0, 1, "last30"),
        ("share", 0, 1, "last30"),
    ),
    BUYER: (("login", 1, 2, "last30"), ("view", 0, 2, "last30"), ("cart_add", 0, 1, "last30")),
    LOYAL: (
        ("login", 1, 3, "last30"),
        ("view", 1, 2, "last30"),
        ("checkin", 0, 2, "last30"),
        ("share", 0, 1, "last30"),
    ),
    DORMANT: (("login", 1, 1, "last_seen"), ("view", 0, 1, "before_last")),
    CHURNED: (("login", 0, 1, "before_last"), ("view", 0, 1, "before_last")),
}
HEAVY_POSTERS = 0.02  # of active users: 51-65 posts in 30 days (the "> 50 posts" example rule)
DETAIL_DAYS = 60  # orders this recent come with their cart_add event
COUPON_DAYS = 120  # and, for coupon users, a coupon_use event
VALUED_KINDS = ("view", "cart_add")  # their value is a product category


def _window(name: str, signup: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if name == "since_signup":
        return np.zeros_like(signup), signup
    if name == "last30":
        return np.zeros_like(signup), np.minimum(29, signup)
    if name == "signup_day":
        return signup, signup
    if name == "after_signup":
        return np.maximum(signup - 7, 0), signup
    if name == "last_seen":
        return last, last
    return last, np.minimum(last + 45, signup)  # before_last


def _events(rng: np.random.Generator, plan: _Users, o_user: np.ndarray, o_secs: np.ndarray):
    """(user, seconds, kind code, category code or -1) per event, unique and sorted by user, time;
    then the planned (not order-linked) events as (user, seconds, kind), for the follow-up month."""
    planned = _planned_events(rng, plan)
    parts = [planned, _order_events(rng, plan, o_user, o_secs)]
    return (*_finish_events(rng, plan, parts), planned)


def _finish_events(rng: np.random.Generator, plan: _Users, parts: list[tuple]):
    """The parts' (user, seconds, kind) with their values, unique and sorted by user, time."""
    user = np.concatenate([p[0] for p in parts])
    secs = np.maximum(np.concatenate([p[1] for p in parts]), plan.signup_secs[user] + 60)
    kind = np.concatenate([p[2] for p in parts])
    valued = np.isin(kind, [EVENT_KINDS.index(k) for k in VALUED_KINDS])
    preferred = rng.random(len(user)) < 0.7
    other = rng.integers(0, len(dd.CATEGORIES), len(user))
    value = np.where(valued, np.where(preferred, plan.category[user], other), -1)
    # one event is (user, kind, time, value): drop the rare exact duplicates, sort by user, time
    key = np.sort(((user * 2**27 + secs) * 8 + kind) * 16 + (value + 1))
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key = key[first]
    return key >> 34, (key >> 7) & (2**27 - 1), (key >> 4) & 7, (key & 15) - 1


OLD_DAYS = 120  # no feature window reaches an event this old at any date from 2025-10-31 on


def _trim_old(user, secs, kind, value):
    """Of each user's events OLD_DAYS or more before the as-of date, keep only the latest.

    No windowed feature (the longest window is 90 days, and the demo's strategies start as of
    2025-10-31, 30 days before) reads them; the latest is the user's last sign of life, which
    last_active_at and days_since_active read, so layers and every window are unchanged. What
    goes: older logins and views behind it (days_since_login / _view of a few thousand churned
    and registered users, and windows over 120 days): about 2,600 events, 0.2 MB.
    Events are sorted by user, then time."""
    old = secs < (HISTORY_DAYS - OLD_DAYS + 1) * DAY
    later_old_same_user = np.zeros(len(user), dtype=bool)
    later_old_same_user[:-1] = old[1:] & (user[1:] == user[:-1])
    keep = ~(old & later_old_same_user)
    return user[keep], secs[keep], kind[keep], value[keep]


def _planned_events(rng: np.random.Generator, plan: _Users):
    users: list[np.ndarray] = []
    agos: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    for archetype, rows in EVENT_PLAN.items():
        who = np.flatnonzero(plan.archetype == archetype)
        for kind, fewest, most, window in rows:
            _add(rng, users, agos, kinds, who, kind, (fewest, most), window, plan)
    active = np.flatnonzero(plan.archetype == ACTIVE)
    posters = active[rng.random(len(active)) < HEAVY_POSTERS]
    _add(rng, users, agos, kinds, posters, "post", (51, 65), "last30", plan)
    user, ago = np.concatenate(users), np.concatenate(agos)
    secs = _seconds(rng, ago, _hours(rng, len(user)))
    return user, secs, np.concatenate(kinds)


def _add(rng, users, agos, kinds, who, kind, counts, window, plan) -> None:
    """Append `counts` (fewest, most) events of `kind` per user in `who`, inside `window`."""
    n = rng.integers(counts[0], counts[1] + 1, len(who))
    lo, hi = _window(window, plan.signup_ago[who], plan.last_ago[who])
    users.append(np.repeat(who, n))
    agos.append(_uniform_int(rng, np.repeat(lo, n), np.repeat(hi, n)))
    kinds.append(np.full(n.sum(), EVENT_KINDS.index(kind), dtype=np.int64))


def _order_events(rng: np.random.Generator, plan: _Users, o_user: np.ndarray, o_secs: np.ndarray):
    """A cart_add minutes before recent orders, and coupon_use at the order for coupon users."""
    ago = HISTORY_DAYS - o_secs // DAY
    carted = (ago < DETAIL_DAYS) & (rng.random(len(o_user)) < 0.4)
    couponed = (ago < COUPON_DAYS) & (rng.random(len(o_user)) < plan.coupon_rate[o_user])
    cart_secs = o_secs[carted] - rng.integers(60, 1800, carted.sum())
    coupon_secs = o_secs[couponed] - rng.integers(1, 60, couponed.sum())
    user = np.concatenate([o_user[carted], o_user[couponed]])
    kind = np.concatenate(
        [
            np.full(carted.sum(), EVENT_KINDS.index("cart_add")),
            np.full(couponed.sum(), EVENT_KINDS.index("coupon_use")),
        ]
    )
    return user, np.concatenate([cart_secs, coupon_secs]), kind


def _insert_events(conn, n_users: int, origin, user, secs, kind, value) -> None:
    kinds = np.array(EVENT_KINDS, dtype=object)
    values = np.array([*dd.CATEGORIES, None], dtype=object)  # -1 picks None
    conn.executemany(
        "INSERT INTO events(user_id, kind, created_at, value) VALUES (?,?,?,?)",
        zip(
            _user_ids(n_users)[user].tolist(),
            kinds[kind].tolist(),
            _iso(origin, secs),
            values[value].tolist(),
            strict=True,
        ),
    )


# --- the follow-up month's events and signups ------------------------------------------------------


@dataclass
class _Later:
    """What happens after the as-of date besides the existing users' orders."""

    rng: np.random.Generator  # the follow-up stream, for the new users' attributes
    n_signups: int
    signups: _Users  # the new users' plan (index 0 is user U{n_users + 1})
    o_user: np.ndarray  # their first orders (user index over all users)
    o_secs: np.ndarray
    o_amount: np.ndarray
    events: tuple[np.ndarray, ...]  # (user, seconds, kind, value) of the whole month


def _follow_up_month(rng, plan: _Users, planned, f_user: np.ndarray, f_secs: np.ndarray) -> _Later:
    """The FOLLOW_UP_DAYS after the as-of date (day -1 … -FOLLOW_UP_DAYS in 'days ago'):

    * every planned event of a user's last 30 days comes back Poisson(FOLLOW_UP_EVENT_PACE)
      times on random days of the month: each user keeps their rhythm at a quieter pace, every
      kind alike, so the month's kinds come in November's proportions (dormant and churned
      users, silent in November, stay silent);
    * new users sign up (FOLLOW_UP_SIGNUP_PACE of the last 30 days' number) and behave as the
      'new' archetype does from their signup day to the month's end, a quarter of them buying
      once in 30 days;
    * the month's orders (the existing users' follow-up orders and the new users' first ones)
      bring their cart_add and coupon_use events, as recent orders do.
    """
    n = len(plan.archetype)
    end = -FOLLOW_UP_DAYS  # the month's last day, in days ago
    p_user, p_secs, p_kind = planned
    recent = p_secs >= (HISTORY_DAYS - 29) * DAY
    copies = rng.poisson(FOLLOW_UP_EVENT_PACE * FOLLOW_UP_DAYS / 30.0, int(recent.sum()))
    again_user = np.repeat(p_user[recent], copies)
    again_kind = np.repeat(p_kind[recent], copies)
    again_ago = _uniform_int(rng, np.full(len(again_user), end), np.full(len(again_user), -1))
    # the new users: the 'new' archetype, signed up on a day of the month
    m = int(rng.poisson(FOLLOW_UP_SIGNUP_PACE * np.sum(plan.signup_ago < 30)))
    signup_ago = _uniform_int(rng, np.full(m, end), np.full(m, -1))
    signup_secs = np.minimum(
        _seconds(rng, signup_ago, _hours(rng, m)), (HISTORY_DAYS - signup_ago + 1) * DAY - 3600
    )
    signups = _Users(
        archetype=np.full(m, NEW, dtype=np.int64),
        signup_ago=signup_ago,
        signup_secs=signup_secs,
        last_ago=np.zeros(m, dtype=np.int64),
        category=rng.choice(len(dd.CATEGORIES), size=m, p=_norm(dd.CATEGORY_WEIGHTS)),
        night=rng.random(m) < 0.08,
        coupon_rate=np.where(rng.random(m) < 0.2, 0.7, 0.05),
    )
    everyone = _Users(
        *(
            np.concatenate([getattr(plan, f), getattr(signups, f)])
            for f in _Users.__dataclass_fields__
        )
    )
    new_users, new_agos, new_kinds = [again_user], [again_ago], [again_kind]
    who = np.arange(n, n + m)
    for kind, fewest, most, _ in EVENT_PLAN[NEW]:  # their windows: signup day … month end
        count = rng.integers(fewest, most + 1, m)
        new_users.append(np.repeat(who, count))
        new_agos.append(
            _uniform_int(rng, np.repeat(np.full(m, end), count), np.repeat(signup_ago, count))
        )
        new_kinds.append(np.full(count.sum(), EVENT_KINDS.index(kind), dtype=np.int64))
    e_user, e_ago = np.concatenate(new_users), np.concatenate(new_agos)
    e_secs = _seconds(rng, e_ago, _hours(rng, len(e_user)))
    # first orders: a quarter in 30 days, so fewer for who signed up late in the month
    days_left = signup_ago - end + 1
    buys = rng.random(m) < 0.25 * days_left / 30.0
    o_user = who[buys]
    o_ago = _uniform_int(rng, np.full(len(o_user), end), signup_ago[buys])
    o_secs = _seconds(rng, o_ago, _hours(rng, len(o_user), signups.night[buys]))
    o_secs = np.maximum(o_secs, signup_secs[buys] + 600)
    o_amount = _price(np.exp(np.log(150.0) + rng.normal(0.0, 0.8, len(o_user))))
    month_orders = (np.concatenate([f_user, o_user]), np.concatenate([f_secs, o_secs]))
    parts = [
        (e_user, e_secs, np.concatenate(new_kinds)),
        _order_events(rng, everyone, *month_orders),
    ]
    events = _finish_events(rng, everyone, parts)
    return _Later(rng, m, signups, o_user, o_secs, o_amount, events)
