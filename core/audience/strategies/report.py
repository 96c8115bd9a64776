"""The effect of a strategy, per run and cumulative: targets against control in a window after
each run, with the campaign report's statistics (core.audience.effect), the minimum detectable
uplift for the group sizes, a warning when the holdout is too small, and variants compared.
docs/strategies.md, "Effect"."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

from core.audience.effect import (
    CONVERSION_METHOD,
    MDE_METHOD,
    MIN_GROUP_USERS,
    REVENUE_METHOD,
    GroupStats,
    Uplift,
    conversion_uplift,
    effect_report,
    minimum_detectable_uplift,
    revenue_uplift,
)
from core.audience.strategies import store
from core.audience.strategies.model import Strategy, StrategyError
from core.store.db import stored_as_of

# A run that selected nobody (an entering strategy whose matching users all matched before,
# or limits that removed everyone) still ran: its date counts for the schedule, the cooldown and
# "running again adds nobody". Its row says so instead of a reading of two empty groups.
NOBODY_NEW = "nobody new: everyone who matched had matched at the previous run"
NOBODY_SELECTED = "nobody new: the limits removed everyone who matched"
NOBODY_MATCHED = "nobody new: nobody matched the condition"


@dataclass(frozen=True)
class RunEffect:
    """One run (or, for ``cumulative``, every run pooled: a user counts once per run)."""

    date: date | None  # None for the cumulative row
    offer: str
    targets: GroupStats
    control: GroupStats
    conversion: Uplift | None  # None when there is not enough data (``reason``)
    revenue_per_user: Uplift | None
    mde: float | None  # minimum detectable conversion uplift (absolute), None without control
    complete: bool  # the window is over (else: days observed so far)
    reason: str
    empty: bool = False  # the run selected nobody (reason: NOBODY_NEW, _SELECTED or _MATCHED)


@dataclass(frozen=True)
class VariantEffect:
    variant: str  # "A", "B", …
    channel: str
    offer: str
    targets: GroupStats
    conversion: Uplift | None  # against the pooled control
    revenue_per_user: Uplift | None


@dataclass(frozen=True)
class StrategyReport:
    strategy: str
    window_days: int
    as_of: date
    runs: tuple[RunEffect, ...]  # oldest first
    cumulative: RunEffect
    variants: tuple[VariantEffect, ...]  # () unless the strategy has variants
    warning: str  # "" or why the holdout is too small to measure
    conversion_method: str
    revenue_method: str
    mde_method: str


@dataclass(frozen=True)
class RunPoint:
    """One run in a strategy's series (for a sparkline)."""

    date: date
    targets: int
    control: int
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    empty: bool = False  # the run selected nobody: no reading (a gap, not a zero)


@dataclass(frozen=True)
class StrategySummary:
    """A row of the strategies list."""

    strategy: Strategy
    last_run: date | None
    runs: int
    last_targets: int
    last_control: int
    latest: Uplift | None  # conversion uplift of the latest run with enough data
    series: tuple[RunPoint, ...]  # oldest first
    cumulative: Uplift | None = None  # conversion uplift of every run pooled
    last_empty: bool = False  # the last run selected nobody
    last_reason: str = ""  # then why (NOBODY_NEW, NOBODY_SELECTED or NOBODY_MATCHED)


def report(
    conn: sqlite3.Connection, name: str, *, window_days: int | None = None
) -> StrategyReport:
    """The effect report of strategy ``name`` as of the database's date; ``window_days``
    defaults to the setting.

    Each run is its dated campaign's effect report (core.audience.effect.effect_report: the
    window starts the day after the run). The cumulative row pools every run's members (a user
    in two runs counts twice, each with the orders of their own window); variants are each
    variant's targets over all runs against the pooled control."""
    strategy = store.get(conn, name)
    days = window_days if window_days is not None else store.window_days(conn)
    if days < 1:
        raise StrategyError(f"The window must be at least 1 day (got {days}).")
    as_of = stored_as_of(conn)
    if as_of is None:
        raise StrategyError("The database has no as-of date: nothing to measure.")
    rows = conn.execute(
        "SELECT id, run_date, campaign, arms, targets + control, matched, removed"
        " FROM strategy_runs"
        " WHERE strategy = ? ORDER BY run_date",
        (name,),
    ).fetchall()
    runs, members, started = [], [], False
    for run_id, day, campaign, arms_json, selected, matched, removed in rows:
        arms = [tuple(a) for a in json.loads(arms_json)]
        if selected == 0:
            why = _why_nobody(matched, json.loads(removed or "{}"))
            runs.append(_empty_run(date.fromisoformat(day), _offer_text(arms), why))
            continue
        run = effect_report(conn, campaign, window_days=days, as_of=as_of)
        per_user = _per_user(conn, run_id, campaign, run.start, run.observed_end)
        members.extend(per_user)
        started = started or run.observed_end is not None
        mde = _mde(run.targets, run.control)
        runs.append(
            RunEffect(
                date.fromisoformat(day),
                _offer_text(arms),
                run.targets,
                run.control,
                run.conversion,
                run.revenue_per_user,
                mde,
                run.complete,
                run.reason,
            )
        )
    cumulative = _pooled(members, strategy, runs)
    measured = [r for r in runs if not r.empty]
    if measured and not started:  # no window has begun: say why, as each run does
        cumulative = RunEffect(**{**cumulative.__dict__, "reason": measured[-1].reason})
    return StrategyReport(
        strategy=name,
        window_days=days,
        as_of=as_of,
        runs=tuple(runs),
        cumulative=cumulative,
        variants=_variants(conn, strategy, members),
        warning=_warning(strategy, cumulative),
        conversion_method=CONVERSION_METHOD,
        revenue_method=REVENUE_METHOD,
        mde_method=MDE_METHOD,
    )


def summaries(conn: sqlite3.Connection) -> list[StrategySummary]:
    """Every strategy with its last run, sizes, latest uplift and per-run series."""
    out = []
    for strategy in store.list_all(conn):
        rep = report(conn, strategy.name)
        series = tuple(
            RunPoint(
                r.date or rep.as_of,
                r.targets.users,
                r.control.users,
                r.conversion.absolute if r.conversion else None,
                r.conversion.low if r.conversion else None,
                r.conversion.high if r.conversion else None,
                r.empty,
            )
            for r in rep.runs
        )
        last = rep.runs[-1] if rep.runs else None
        latest = next((r.conversion for r in reversed(rep.runs) if r.conversion), None)
        out.append(
            StrategySummary(
                strategy,
                last.date if last else None,
                len(rep.runs),
                last.targets.users if last else 0,
                last.control.users if last else 0,
                latest,
                series,
                rep.cumulative.conversion,
                last.empty if last else False,
                last.reason if last and last.empty else "",
            )
        )
    return out


# --- helpers ------------------------------------------------------------------------------

# (role, variant label or "", orders, revenue) of one member in one run's window
_Member = tuple[str, str, int, float]


def _why_nobody(matched: int, removed: dict[str, int]) -> str:
    if matched == 0:
        return NOBODY_MATCHED
    if removed.get("not_entering", 0) >= matched:
        return NOBODY_NEW
    return NOBODY_SELECTED


def _empty_run(day: date, offer: str, reason: str) -> RunEffect:
    """A run that selected nobody: no groups, no reading, and nothing added to the pooled row."""
    nobody = GroupStats(users=0, converted=0, orders=0, revenue=0.0)
    return RunEffect(day, offer, nobody, nobody, None, None, None, True, reason, empty=True)


def _per_user(
    conn: sqlite3.Connection, run_id: int, campaign: str, start: date, observed: date | None
) -> list[_Member]:
    until = observed or start - timedelta(days=1)  # an empty window before it starts
    arms = json.loads(
        conn.execute("SELECT arms FROM strategy_runs WHERE id = ?", (run_id,)).fetchone()[0]
    )
    rows = conn.execute(
        "SELECT m.role, coalesce(t.arm, -1), count(o.order_id), coalesce(sum(o.amount), 0.0)"
        " FROM campaign_members AS m"
        " LEFT JOIN strategy_targets AS t ON t.run_id = ? AND t.user_id = m.user_id"
        " LEFT JOIN orders AS o ON o.user_id = m.user_id"
        "  AND o.created_at >= ? AND o.created_at < ?"
        " WHERE m.campaign = ? GROUP BY m.user_id, m.role, t.arm",
        (run_id, start.isoformat(), (until + timedelta(days=1)).isoformat(), campaign),
    )
    return [
        (role, arms[arm][0] if 0 <= arm < len(arms) else "", n, float(amount))
        for role, arm, n, amount in rows
    ]


def _group(members: list[_Member]) -> GroupStats:
    return GroupStats(
        users=len(members),
        converted=sum(1 for m in members if m[2] > 0),
        orders=sum(m[2] for m in members),
        revenue=sum(m[3] for m in members),
    )


def _compare(
    targets: list[_Member], control: list[_Member]
) -> tuple[GroupStats, GroupStats, Uplift | None, Uplift | None, str]:
    t, c = _group(targets), _group(control)
    small = [
        f"{label} has {g.users} users"
        for label, g in (("the target group", t), ("the control group", c))
        if g.users < MIN_GROUP_USERS
    ]
    if small:
        reason = f"{' and '.join(small)}; each group needs at least {MIN_GROUP_USERS}"
        return t, c, None, None, reason
    if t.orders + c.orders == 0:
        return t, c, None, None, "no member of either group ordered in the window"
    conv = conversion_uplift(t.converted, t.users, c.converted, c.users)
    rev = revenue_uplift(
        [float(m[3]) for m in targets],
        [float(m[3]) for m in control],
    )
    return t, c, conv, rev, ""


def _pooled(members: list[_Member], strategy: Strategy, runs: list[RunEffect]) -> RunEffect:
    targets = [m for m in members if m[0] == "target"]
    control = [m for m in members if m[0] == "control"]
    t, c, conv, rev, reason = _compare(targets, control)
    if not runs:
        reason = "the strategy has not run yet"
    elif all(r.empty for r in runs):  # it ran, and never selected anybody
        reason = runs[-1].reason
    return RunEffect(
        None,
        strategy.action_text,
        t,
        c,
        conv,
        rev,
        _mde(t, c),
        all(r.complete for r in runs) and any(not r.empty for r in runs),
        reason,
    )


def _variants(
    conn: sqlite3.Connection, strategy: Strategy, members: list[_Member]
) -> tuple[VariantEffect, ...]:
    if not strategy.variants:
        return ()
    control = [m for m in members if m[0] == "control"]
    out = []
    for i, v in enumerate(strategy.variants):
        label = chr(ord("A") + i)
        mine = [m for m in members if m[0] == "target" and m[1] == label]
        t, _, conv, rev, _ = _compare(mine, control)
        out.append(VariantEffect(label, v.channel, v.offer, t, conv, rev))
    return tuple(out)


def _mde(t: GroupStats, c: GroupStats) -> float | None:
    users = t.users + c.users
    p = (t.converted + c.converted) / users if users else 0.0
    if t.users < 1 or c.users < 1 or not 0 < p < 1:
        return None  # an empty group, or no spread in conversion to reckon with yet
    return minimum_detectable_uplift(t.users, c.users, p)


def _warning(strategy: Strategy, cumulative: RunEffect) -> str:
    c = cumulative.control
    if strategy.holdout_pct == 0:
        return "no holdout (0 %): without a control group the effect cannot be measured"
    if cumulative.targets.users and c.users < MIN_GROUP_USERS:
        return (
            f"the holdout is too small to measure: {c.users} control users over all runs, "
            f"at least {MIN_GROUP_USERS} are needed; raise the holdout"
        )
    mde, base = cumulative.mde, c.conversion
    if mde is not None and base > 0 and mde >= 2 * base:
        return (
            f"the holdout is too small to measure: only an uplift of {mde * 100:.1f} points or "
            f"more (the control converts at {base * 100:.1f} %: a tripling) could be detected; "
            "raise the holdout"
        )
    return ""


def _offer_text(arms: list[tuple]) -> str:
    if len(arms) == 1:
        return f"{arms[0][1]}: {arms[0][2]}"
    if any(a[0] for a in arms):
        return f"{len(arms)} variants"
    return f"{len(arms)} offers by group"
