"""The effect of a strategy, per run and cumulative: targets against control in a window after
each run, with the campaign report's statistics (core.audience.effect), the minimum detectable
uplift for the group sizes, a warning when the holdout is too small, and variants compared.
docs/strategies.md, "Effect"."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from core.audience.effect import GroupStats, Uplift
from core.audience.strategies.model import Strategy


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


def report(
    conn: sqlite3.Connection, name: str, *, window_days: int | None = None
) -> StrategyReport:
    """The effect report of strategy ``name`` as of the database's date; ``window_days``
    defaults to the setting."""
    raise NotImplementedError


def summaries(conn: sqlite3.Connection) -> list[StrategySummary]:
    """Every strategy with its last run, sizes, latest uplift and per-run series."""
    raise NotImplementedError
