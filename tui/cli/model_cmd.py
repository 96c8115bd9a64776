"""``userops model DB``: fit BG/NBD and Gamma-Gamma, store the fits, show the parameters."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import click

from core.analytics.models import TIME_UNIT, BgNbdFit, GammaGammaFit
from core.analytics.predict import (
    PredictionReport,
    apply_predictions,
    fit_models,
    load_fits,
    store_fits,
)
from core.store.db import get_meta, set_meta, stored_as_of, transaction
from tui.cli import cli
from tui.cli.common import DB_ARGUMENT, ISO_DATE, database, fail


@cli.command("model")
@DB_ARGUMENT
@click.option(
    "--as-of",
    "as_of",
    type=ISO_DATE,
    help="Fit on orders up to this date (default: the database's as-of date).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the fits as JSON.")
@click.option("--refit", is_flag=True, help="Fit again even when a fit of the date is stored.")
def model(db: str, as_of: date | None, as_json: bool, refit: bool) -> None:
    """Show the predictive models (BG/NBD, Gamma-Gamma) of the database's as-of date.

    A fit belongs to a date: the recompute stores the fit of the features' date and writes
    the predictions from it; this command shows that fit (fitting and storing it when there is
    none, or with --refit, together with the predictions, in one transaction). With --as-of
    another date the models are fitted on the orders up to it and reported, not stored.
    A model that cannot be fitted is reported with the reason; the other is still fitted.
    """
    with database(db) as conn:
        computed = get_meta(conn, "features_as_of")
        when = as_of or stored_as_of(conn)
        if when is None:
            fail("no as-of date stored in the database; pass --as-of YYYY-MM-DD")
            return
        if computed is not None and when.isoformat() != computed[:10]:
            report, _ = fit_models(conn, when)  # a look at another date: nothing changes
            click.echo(
                f"not stored: the features are as of {computed[:10]} (`userops refresh DB "
                f"--as-of {when.isoformat()}` moves them, fit included)",
                err=True,
            )
        else:
            # the fit the stored predictions come from (a refresh may keep one a few days)
            fit_day = get_meta(conn, "fit_as_of") if computed else None
            shown = date.fromisoformat(fit_day[:10]) if fit_day else when
            found = None if refit else load_fits(conn, shown)
            report = found or _fit_and_store(conn, when, with_features=computed is not None)
    if as_json:
        click.echo(json.dumps(report_json(report), indent=2))
    else:
        click.echo(report_text(report))


def _fit_and_store(
    conn: sqlite3.Connection, when: date, *, with_features: bool
) -> PredictionReport:
    """Fit on the orders up to ``when`` and store the fit; with computed features, their
    predictions are rewritten from it in the same transaction (never one without the other)."""
    if with_features:
        with transaction(conn):
            report = apply_predictions(conn, "features", when)
            set_meta(conn, "fit_as_of", when.isoformat())
        return report
    report, _ = fit_models(conn, when)
    with transaction(conn):
        store_fits(conn, report)
    return report


def report_json(report: PredictionReport) -> dict[str, dict[str, object]]:
    """The ``--json`` shape: each model's parameters, or {"error": reason}."""
    bg: dict[str, object] = {"error": report.bgnbd_error}
    if report.bgnbd is not None:
        f = report.bgnbd
        bg = {
            "r": f.r,
            "alpha": f.alpha,
            "a": f.a,
            "b": f.b,
            "time_unit": f.time_unit,
            "log_likelihood": f.log_lik,
            "n_customers": f.n_customers,
        }
    gg: dict[str, object] = {"error": report.gamma_gamma_error}
    if report.gamma_gamma is not None:
        g = report.gamma_gamma
        gg = {
            "p": g.p,
            "q": g.q,
            "v": g.v,
            "log_likelihood": g.log_lik,
            "n_customers": g.n_customers,
        }
    return {"bgnbd": bg, "gamma_gamma": gg}


def report_text(report: PredictionReport) -> str:
    lines = [
        f"Models fitted on orders up to {report.as_of.isoformat()} "
        f"({report.n_buyers:,} buyers; time unit: {TIME_UNIT})",
        "",
        "BG/NBD: purchase rate and drop-out (P(alive), expected purchases)",
        *_bgnbd_lines(report.bgnbd, report.bgnbd_error),
        "",
        "Gamma-Gamma: spend per purchase day (expected order value, CLV)",
        *_gamma_gamma_lines(report.gamma_gamma, report.gamma_gamma_error),
    ]
    return "\n".join(lines)


def _bgnbd_lines(fit: BgNbdFit | None, error: str | None) -> list[str]:
    if fit is None:
        return [f"  not fitted: {error}"]
    return [
        f"  r               {fit.r:12.4f}   purchase-rate shape",
        f"  alpha           {fit.alpha:12.4f}   purchase-rate scale ({fit.time_unit})",
        f"  a               {fit.a:12.4f}   drop-out shape",
        f"  b               {fit.b:12.4f}   drop-out shape",
        f"  log-likelihood  {fit.log_lik:12.2f}",
        f"  customers       {fit.n_customers:12,}",
    ]


def _gamma_gamma_lines(fit: GammaGammaFit | None, error: str | None) -> list[str]:
    if fit is None:
        return [f"  not fitted: {error}"]
    return [
        f"  p               {fit.p:12.4f}   spend shape",
        f"  q               {fit.q:12.4f}   shape of the customers' spend scale",
        f"  v               {fit.v:12.4f}   scale of the customers' spend scale",
        f"  log-likelihood  {fit.log_lik:12.2f}",
        f"  customers       {fit.n_customers:12,}   repeat buyers",
    ]
