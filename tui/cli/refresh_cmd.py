"""``userops refresh DB [--as-of D]``: bring the features, RFM, predictions, layers and tags to a
later date, touching only the users whose rows changed (core.refresh)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import TYPE_CHECKING

import click

from core.refresh import REFIT_AFTER_DAYS, RefreshReport, refresh
from core.rules.tags import install_defaults_once
from core.store.db import get_meta
from core.store.engines import all_or_nothing, engine_of, not_supported
from tui.cli import cli
from tui.cli.common import DB_ARGUMENT, ISO_DATE, REFRESH_ENGINES, WRITE_ENGINES, database
from tui.cli.strategy_cmd import run_json, run_lines

if TYPE_CHECKING:
    from core.audience.strategies import RunReport


@cli.command("refresh")
@DB_ARGUMENT
@click.option(
    "--as-of",
    type=ISO_DATE,
    default=None,
    help="Date to refresh to (default: the latest in the data).",
)
@click.option("--refit", is_flag=True, help="Refit the models on this date's purchase histories.")
@click.option(
    "--refit-after",
    type=click.IntRange(min=0),
    default=REFIT_AFTER_DAYS,
    show_default=True,
    metavar="DAYS",
    help="Refit when the stored fit is older than this many days.",
)
@click.option(
    "--no-strategies", is_flag=True, help="Do not run the active strategies after the refresh."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def refresh_cmd(
    db: str, as_of: date | None, refit: bool, refit_after: int, no_strategies: bool, as_json: bool
) -> None:
    """Bring every user's features, RFM group, predictions, layer and tags to a date.

    Only users with new orders or events, rows that changed, or rows leaving a 7/30/90-day
    window are recomputed; the others' day counts move with the date; RFM scores, predictions
    (from the stored fit) and the layer and tag rules are re-evaluated for everyone. The result
    is the one userops recompute --as-of gives. When it cannot (first run, a date before the
    features' date, features of an older userops) the full recompute runs, and says so.
    Then the active strategies due on the new date run (docs/strategies.md), unless
    --no-strategies.
    """
    with database(db, engines=REFRESH_ENGINES) as conn:
        if get_meta(conn, "features_as_of") is None:  # on chDB: exchanged in, as recompute's
            with all_or_nothing(conn, writes=("layer_rules", "tag_rules", "meta")):
                installed = install_defaults_once(conn, as_of=as_of)
            if installed:
                click.echo("installed the default layer rules and tags (see `userops layer rules`)")
        report = refresh(conn, as_of, refit=refit, refit_after_days=refit_after)
        if not as_json:
            click.echo(report_text(report))
        ran = None if no_strategies else _run_strategies(conn)
    if as_json:
        out = report_json(report)
        out["strategies"] = None if ran is None else run_json(ran)
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    elif ran is not None and ran.runs:
        click.echo("\n".join(run_lines(ran)))


def _run_strategies(conn: sqlite3.Connection) -> RunReport | None:
    """The active strategies on the refreshed date (their own transaction: a failure there
    leaves the refresh done); None when there are none."""
    from core.audience.strategies import list_all, run_strategies  # loads scipy: only if needed

    if not any(s.active for s in list_all(conn)):
        return None
    engine = engine_of(conn)
    if engine not in WRITE_ENGINES:  # a strategy's run writes targets
        click.echo(
            not_supported("`strategy run` (the active strategies after the refresh)", engine),
            err=True,
        )
        return None
    return run_strategies(conn)


def report_json(r: RefreshReport) -> dict[str, object]:
    return {
        "from": r.from_as_of.isoformat() if r.from_as_of else None,
        "as_of": r.as_of.isoformat(),
        "full_recompute": r.full or None,
        "touched": r.touched,
        "users": r.users,
        "buyers": r.buyers,
        "fit_as_of": r.fit_as_of.isoformat() if r.fit_as_of else None,
        "refitted": r.refitted,
        "seconds": round(r.seconds, 3),
    }


def report_text(r: RefreshReport) -> str:
    start = r.from_as_of.isoformat() if r.from_as_of else "nothing computed"
    how = f"full recompute ({r.full})" if r.full else "incremental"
    fit = r.fit_as_of.isoformat() if r.fit_as_of else "none"
    return "\n".join(
        [
            f"as of    {start} → {r.as_of.isoformat()}  ({how})",
            f"touched  {r.touched:,} of {r.users:,} users recomputed",
            f"buyers   {r.buyers:,}",
            f"models   predictions from the fit of {fit}{' (refitted)' if r.refitted else ''}",
            f"time     {r.seconds:.2f} s",
        ]
    )
