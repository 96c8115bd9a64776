"""``userops model DB``: fit the purchase models (BG/NBD, Pareto/NBD, MBG/NBD) and
Gamma-Gamma, store the fits, show the parameters; ``--validate`` compares the models on a
holdout period and records the best; ``--use NAME`` records a choice explicitly."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import click

from core.analytics.models import (
    MODEL_TITLES,
    PURCHASE_MODELS,
    TIME_UNIT,
    FitInfo,
    GammaGammaFit,
    PurchaseFit,
)
from core.analytics.predict import (
    VALIDATION_KEY,
    PredictionReport,
    apply_predictions,
    fit_models,
    load_fits,
    record_choice,
    recorded_choice,
    store_fits,
)
from core.analytics.validation import ValidationReport, validate
from core.store.db import get_meta, set_meta, stored_as_of
from core.store.engines import all_or_nothing
from tui.cli import cli
from tui.cli.common import (
    COMPUTE_ENGINES,
    DB_ARGUMENT,
    ISO_DATE,
    VALIDATE_ENGINES,
    check_engine,
    database,
    fail,
)

PARAM_HELP = {
    "r": "purchase-rate shape",
    "alpha": "purchase-rate scale ({unit})",
    "a": "drop-out shape",
    "b": "drop-out shape",
    "s": "lifetime shape",
    "beta": "lifetime scale ({unit})",
    "mu": "dropout rate, the same for everyone (1 / {unit})",
}
DESCRIPTIONS = {
    "bgnbd": "BG/NBD: drop-out after a repeat purchase (a one-time buyer counts as alive)",
    "pareto_nbd": "Pareto/NBD: drop-out at any time (Schmittlein, Morrison & Colombo 1987)",
    "mbgnbd": "MBG/NBD: drop-out after any purchase, the first included (Batislam et al. 2007)",
}


@cli.command("model")
@DB_ARGUMENT
@click.option(
    "--as-of",
    "as_of",
    type=ISO_DATE,
    help="Fit on orders up to this date (default: the database's as-of date).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the fits as JSON.")
@click.option(
    "--validate",
    "do_validate",
    is_flag=True,
    help="Fit each model up to --calibration-end and compare with the holdout after it; "
    "record the best as the database's model.",
)
@click.option(
    "--calibration-end", "calibration_end", type=ISO_DATE, help="Last day of the calibration."
)
@click.option(
    "--holdout-end",
    "holdout_end",
    type=ISO_DATE,
    help="Last day of the holdout (default: the stored as-of date).",
)
@click.option(
    "--use",
    "use",
    type=click.Choice(PURCHASE_MODELS),
    help="Record this purchase model as the database's choice (overrides the validation) "
    "and rewrite the predictions with it.",
)
@click.option("--refit", is_flag=True, help="Fit again even when a fit of the date is stored.")
def model(
    db: str,
    as_of: date | None,
    as_json: bool,
    do_validate: bool,
    calibration_end: date | None,
    holdout_end: date | None,
    use: str | None,
    refit: bool,
) -> None:
    """Show the predictive models of the database's as-of date.

    A fit belongs to a date: the recompute stores the fit of the features' date and writes
    the predictions from it; this command shows that fit (fitting and storing it when there is
    none, or with --refit or --use, together with the predictions, in one transaction). With
    --as-of another date the models are fitted on the orders up to it and reported, not
    stored. The purchase model the predictions use is the recorded choice (--validate or
    --use), else the one with the lowest BIC. A model that cannot be fitted is reported with
    the reason; the others are still fitted.
    """
    if do_validate:
        _validate(db, calibration_end, holdout_end, as_json, use)
        return
    if calibration_end or holdout_end:
        fail("--calibration-end and --holdout-end go with --validate")
        return
    with database(db, engines=COMPUTE_ENGINES) as conn:
        computed = get_meta(conn, "features_as_of")
        when = as_of or stored_as_of(conn)
        if when is None:
            fail("no as-of date stored in the database; pass --as-of YYYY-MM-DD")
            return
        if use:
            with all_or_nothing(conn, writes=("meta",)):  # on chDB: exchanged in
                record_choice(conn, use, f"chosen by the operator (--use {use})", "explicit")
        if computed is not None and when.isoformat() != computed[:10]:
            # a look at another date: nothing changes
            report, _ = fit_models(conn, when, models=PURCHASE_MODELS)
            click.echo(
                f"not stored: the features are as of {computed[:10]} (`userops refresh DB "
                f"--as-of {when.isoformat()}` moves them, fit included)",
                err=True,
            )
        else:
            # the fit the stored predictions come from (a refresh may keep one a few days)
            fit_day = get_meta(conn, "fit_as_of") if computed else None
            shown = date.fromisoformat(fit_day[:10]) if fit_day else when
            found = None if refit or use else load_fits(conn, shown)
            report = found or _fit_and_store(conn, when, with_features=computed is not None)
    if as_json:
        click.echo(json.dumps(report_json(report), indent=2))
    else:
        click.echo(report_text(report))


def _validate(
    db: str,
    calibration_end: date | None,
    holdout_end: date | None,
    as_json: bool,
    use: str | None,
) -> None:
    if calibration_end is None:
        fail("--validate needs --calibration-end YYYY-MM-DD")
        return
    # the holdout is aggregated by the engine (core.analytics.validation): SQLite, DuckDB, chDB
    check_engine(db, VALIDATE_ENGINES, "`userops model --validate`")
    with database(db, engines=COMPUTE_ENGINES) as conn:
        end = holdout_end or stored_as_of(conn)
        if end is None:
            fail("no as-of date stored in the database; pass --holdout-end YYYY-MM-DD")
            return
        if end <= calibration_end:
            fail(
                f"--holdout-end {end.isoformat()} must come after --calibration-end "
                f"{calibration_end.isoformat()}"
            )
            return
        report = validate(conn, calibration_end, end)
        with all_or_nothing(conn, writes=("meta",)):  # on chDB: exchanged in
            set_meta(conn, VALIDATION_KEY, json.dumps(report.as_json()))
            if use:
                record_choice(conn, use, f"chosen by the operator (--use {use})", "explicit")
            elif report.chosen:
                record_choice(conn, report.chosen, report.reason, "validation")
        choice = recorded_choice(conn)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(validation_text(report, choice))


# what a refit with computed features writes (exchanged in together on chDB: docs/engines.md)
_PREDICTION_WRITES = ("features", "model_fits", "model_inputs", "meta")


def _fit_and_store(
    conn: sqlite3.Connection, when: date, *, with_features: bool
) -> PredictionReport:
    """Fit on the orders up to ``when`` and store the fit; with computed features, their
    predictions are rewritten from it in the same transaction (never one without the other)."""
    if with_features:
        with all_or_nothing(conn, writes=_PREDICTION_WRITES):
            report = apply_predictions(conn, "features", when)
            set_meta(conn, "fit_as_of", when.isoformat())
        return report
    report, _ = fit_models(conn, when)
    with all_or_nothing(conn, writes=("model_fits", "meta")):
        store_fits(conn, report)
    return report


def _fit_json(fit: PurchaseFit | GammaGammaFit | None, error: str | None) -> dict[str, object]:
    if fit is None:
        return {"error": error}
    out: dict[str, object] = {name: getattr(fit, name) for name in fit.PARAMS}
    if "mu" in fit.PARAMS:  # the Pareto/NBD's limit s, β -> ∞ (docs/models.md)
        out["homogeneous_dropout"] = True
    if not isinstance(fit, GammaGammaFit):
        out["time_unit"] = fit.time_unit
    out["log_likelihood"] = fit.log_lik
    return out


def report_json(report: PredictionReport) -> dict[str, object]:
    """The ``--json`` shape: each model's parameters, or {"error": reason}; the chosen model;
    each fit's convergence and standard errors."""
    out: dict[str, object] = {}
    for name in ("bgnbd", "gamma_gamma"):  # as before: with n_customers
        fit = report.fit_of(name)
        out[name] = _fit_json(fit, report.error_of(name))
        if fit is not None:
            out[name]["n_customers"] = fit.n_customers  # type: ignore[index]
    for name in ("pareto_nbd", "mbgnbd"):
        out[name] = _fit_json(report.fit_of(name), report.error_of(name))
    out["chosen"] = {"model": report.chosen, "reason": report.chosen_because}
    out["diagnostics"] = {
        name: fit.info.as_dict()
        for name in (*PURCHASE_MODELS, "gamma_gamma")
        if (fit := report.fit_of(name)) is not None and fit.info is not None
    }
    return out


def report_text(report: PredictionReport) -> str:
    lines = [
        f"Models fitted on orders up to {report.as_of.isoformat()} "
        f"({report.n_buyers:,} buyers; time unit: {TIME_UNIT})",
    ]
    for name in PURCHASE_MODELS:
        lines += ["", DESCRIPTIONS[name]]
        lines += _fit_lines(report.fit_of(name), report.error_of(name))
    lines += ["", "Gamma-Gamma: spend per purchase day (expected order value, CLV)"]
    lines += _fit_lines(report.gamma_gamma, report.gamma_gamma_error)
    lines.append("")
    if report.chosen:
        lines.append(f"Predictions use {MODEL_TITLES[report.chosen]}: {report.chosen_because}")
    else:
        lines.append(f"No predictions: {report.chosen_because}")
    return "\n".join(lines)


GG_HELP = {
    "p": "spend shape",
    "q": "shape of the customers' spend scale",
    "v": "scale of the customers' spend scale",
}


def _fit_lines(fit: PurchaseFit | GammaGammaFit | None, error: str | None) -> list[str]:
    if fit is None:
        return [f"  not fitted: {error}"]
    unit = getattr(fit, "time_unit", TIME_UNIT)
    se = fit.info.standard_errors if fit.info is not None else {}
    lines = []
    if "mu" in fit.PARAMS:
        lines.append(
            "  s and β ran off to infinity: the limit with one dropout rate μ for everyone"
        )
    for name in fit.PARAMS:
        help_text = (GG_HELP if isinstance(fit, GammaGammaFit) else PARAM_HELP)[name]
        err = f"± {se[name]:<9.4f}" if name in se else " " * 11
        lines.append(
            f"  {name:<15} {getattr(fit, name):12.4f} {err}  {help_text.format(unit=unit)}"
        )
    lines.append(f"  log-likelihood  {fit.log_lik:12.2f}")
    extra = "   repeat buyers" if isinstance(fit, GammaGammaFit) else ""
    lines.append(f"  customers       {fit.n_customers:12,}{extra}")
    lines.append(f"  fit             {_convergence(fit.info)}")
    return lines


def _convergence(info: FitInfo | None) -> str:
    if info is None:
        return "no diagnostics"
    state = "converged" if info.converged else "NOT converged"
    return (
        f"{state} after {info.iterations} iterations; gradient at the maximum "
        f"{info.gradient_norm:.1e} (finite-difference check {info.gradient_check:.1e})"
    )


def validation_text(report: ValidationReport, choice: dict[str, str] | None) -> str:
    """The validation as tables: fit and totals per model, tracking, conditional expectations."""
    names = [n for n in PURCHASE_MODELS if report.models[n].fit is not None]
    titles = [MODEL_TITLES[n] for n in names]
    lines = [
        f"Calibration: orders up to {report.calibration_end.isoformat()} "
        f"({report.n_customers:,} customers); holdout: to {report.holdout_end.isoformat()}",
        f"Actual repeat purchases (purchase days) in the holdout: "
        f"{report.actual_repeat_purchases:,}",
        "",
        f"{'model':<12} {'log-lik':>12} {'BIC':>12} {'predicted':>10} {'error':>8} {'MAE':>8}",
    ]
    for name in PURCHASE_MODELS:
        check = report.models[name]
        if check.fit is None:
            lines.append(f"{MODEL_TITLES[name]:<12} not fitted: {check.error}")
            continue
        pred = check.predicted_repeat_purchases or 0.0
        gap = (pred - report.actual_repeat_purchases) / max(report.actual_repeat_purchases, 1)
        lines.append(
            f"{MODEL_TITLES[name]:<12} {check.fit.log_lik:12.2f} {check.bic:12.2f} "
            f"{pred:10.1f} {gap:+8.1%} {check.mae:8.4f}"
        )
    lines += ["", "Cumulative repeat purchases in the holdout, by week"]
    lines.append(f"{'week':>6} {'actual':>8} " + " ".join(f"{t:>11}" for t in titles))
    for i, week in enumerate(report.weeks):
        if i % 4 != 3 and i != len(report.weeks) - 1:
            continue  # every 4th week and the last
        preds = " ".join(f"{report.models[n].tracking[i]:11.1f}" for n in names)
        lines.append(f"{week:6.1f} {report.actual_tracking[i]:8d} {preds}")
    lines += ["", "Mean holdout purchases by calibration repeat purchases"]
    lines.append(
        f"{'x':>4} {'customers':>10} {'actual':>8} " + " ".join(f"{t:>11}" for t in titles)
    )
    for i, bucket in enumerate(report.buckets):
        preds = " ".join(f"{report.models[n].conditional[i]:11.3f}" for n in names)
        lines.append(
            f"{bucket:>4} {report.bucket_customers[i]:10,} "
            f"{report.actual_conditional[i]:8.3f} {preds}"
        )
    lines.append("")
    if choice:
        lines.append(
            f"The database now uses {MODEL_TITLES[choice['model']]}: {choice.get('reason', '')}"
        )
        lines.append("Run `userops recompute` to refresh the predictions with it.")
    else:
        lines.append(report.reason)
    return "\n".join(lines)
