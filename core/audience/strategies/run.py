"""Running strategies for the database's as-of date: select, apply the limits, resolve
priorities, split targets / control / variants, store each run as a dated campaign run and
write its target file. docs/strategies.md, "Running".

Order of selection for each due strategy, highest priority first:
1. matched: users the condition holds for;
2. mode: ``entering`` keeps those who did not match at the strategy's previous run;
3. global control: removed (never targeted);
4. cooldown: removed when selected by this strategy (target or control) within the last
   ``cooldown_days`` days (on a day ≥ as_of − (N − 1));
5. frequency cap: removed when already a *target* K times in the last N days, by any campaign or
   strategy run (the test `targeted within Nd` uses: core.query.behaviour.TARGETED_ON);
6. priority: removed when a higher-priority strategy selected them on this run;
7. the seeded draw (stored per user): control with the holdout share, else a variant;
8. max per run: users in seeded random order, until the targets reach the maximum (control users
   drawn on the way stay, so target and control remain comparable).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from core.audience.strategies.model import Strategy

REMOVED_BY = ("not_entering", "global_control", "cooldown", "frequency_cap", "priority", "max")


@dataclass(frozen=True)
class OfferCount:
    """The targets of one action on one run."""

    channel: str
    offer: str
    variant: str  # "A", "B", … for variants; "" otherwise
    targets: int
    user_ids: tuple[str, ...]  # sorted


@dataclass(frozen=True)
class StrategyRun:
    """One strategy on one date: what ran (or would run) and why not when it did not.

    ``status``: ``ran``; ``dry_run`` (what would run); ``not_due`` (the schedule); ``already_ran``
    (this date has a run: nobody is added); ``paused``.
    """

    strategy: str
    as_of: date
    status: str
    matched: int
    removed: dict[str, int]  # REMOVED_BY -> users removed by that step
    targets: int
    control: int
    offers: tuple[OfferCount, ...]
    campaign: str | None  # the dated campaign run holding targets and control
    file: Path | None  # the target file (None for a dry run or nobody targeted)
    reason: str = ""


@dataclass(frozen=True)
class Overlap:
    """Users both strategies would want on this date (after mode and global control, before
    the limits and the priority): the MECE check, for strategies."""

    a: str
    b: str
    users: int


@dataclass(frozen=True)
class RunReport:
    as_of: date
    dry_run: bool
    runs: tuple[StrategyRun, ...]
    overlaps: tuple[Overlap, ...]

    @property
    def targets(self) -> int:
        return sum(r.targets for r in self.runs)

    @property
    def control(self) -> int:
        return sum(r.control for r in self.runs)


@dataclass(frozen=True)
class Preview:
    """A strategy being edited, against the saved active ones, on today's data."""

    matched: int  # the condition holds for
    wanted: int  # after the mode and the global control
    run: StrategyRun  # a dry run among the active strategies (priority applied)
    overlaps: dict[str, int]  # other strategy -> users both want


def run_strategies(
    conn: sqlite3.Connection,
    names: list[str] | None = None,
    *,
    dry_run: bool = False,
    out_dir: Path | None = None,
    force: bool = False,
) -> RunReport:
    """Run the active strategies (or ``names``, active or not) that are due on the database's
    as-of date, in one write transaction: all runs of the date or none (kill -9 leaves no
    partial run). A date that already has a run of a strategy adds nobody to it. Target files
    (never the control) are written atomically to ``out_dir`` (default: the stored setting)
    before the commit, one per strategy and date, so a killed run rewritten later gives the same
    files. ``force`` runs named strategies even when not due by their schedule. While another
    process writes, this waits (the busy timeout), then stops with a one-line DatabaseError."""
    raise NotImplementedError


def overlaps(conn: sqlite3.Connection, names: list[str] | None = None) -> list[Overlap]:
    """Pairwise overlaps of what the strategies (default: the active ones) would want today."""
    raise NotImplementedError


def preview(conn: sqlite3.Connection, strategy: Strategy) -> Preview:
    """The live count for an edit form: who ``strategy`` (saved or not) would target today,
    and its overlap with each other active strategy. Writes nothing; a condition that does
    not compile raises its QueryError (with the column)."""
    raise NotImplementedError
