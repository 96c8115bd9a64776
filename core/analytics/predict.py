"""Predictive tags in the recompute: the purchase history as of a date, the model fits stored,
each buyer's outputs (P(alive), expected purchases, order value, CLV) written to features.

The models themselves are pure functions in core.analytics.models; this module reads orders
(``summarise``), runs the fits (``fit_models``), turns them into per-buyer outputs
(``predictions``) and writes them (``write_history`` for the recompute's INSERT,
``apply_predictions`` for ``userops model``).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from core.analytics.models import (
    DAYS_PER_UNIT,
    BgNbdFit,
    GammaGammaFit,
    clv,
    distinct_rows,
    expected_order_value,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)
from core.errors import DatabaseError, ModelFitError
from core.store.db import transaction
from core.store.schema import MODEL_OUTPUT_COLUMNS

FEATURE_TABLES = ("features", "features_new")
OUTPUT_COLUMNS = MODEL_OUTPUT_COLUMNS


@dataclass(frozen=True)
class PredictionReport:
    """What a fit produced as of a date: each model's fit, or the reason it could not be fitted."""

    as_of: date
    n_buyers: int
    bgnbd: BgNbdFit | None
    gamma_gamma: GammaGammaFit | None
    bgnbd_error: str | None = None
    gamma_gamma_error: str | None = None


# ---------------------------------------------------------------- purchase history summary

# One streamed pass over the covering index orders(user_id, created_at, amount) per user, then
# the first day's total only for repeat buyers. (Grouping by (user_id, day) first needs a 10M-row
# temporary B-tree: 70 s instead of ~20 s on 10M orders.) Dates are ISO text, so the first 10
# characters are the day.
_SUMMARY_SQL = """
SELECT user_id, first_at, x,
       julianday(last_day) - julianday(substr(first_at, 1, 10)) AS t_x_days,
       julianday(:as_of) - julianday(substr(first_at, 1, 10)) AS t_days,
       CASE WHEN x > 0 THEN total - (
           SELECT SUM(o.amount) FROM orders AS o
           WHERE o.user_id = g.user_id AND o.created_at >= substr(g.first_at, 1, 10)
             AND o.created_at < date(g.first_at, '+1 day')
       ) END AS repeat_amount
FROM (
    SELECT user_id,
           COUNT(DISTINCT substr(created_at, 1, 10)) - 1 AS x,
           MIN(created_at) AS first_at,
           substr(MAX(created_at), 1, 10) AS last_day,
           SUM(amount) AS total
    FROM orders
    WHERE created_at < :cut
    GROUP BY user_id
) AS g
"""


def summarise(conn: sqlite3.Connection, as_of: date) -> pd.DataFrame:
    """One row per buyer as of ``as_of``: user_id, x, t_x, T (weeks), monetary (NaN if x = 0),
    and first_order_at (the first order's time, as stored).

    Orders count when created_at < as_of + 1 day. Aggregated in SQL (10M orders become one row
    per buyer), converted to weeks in pandas.
    """
    params = {"cut": (as_of + timedelta(days=1)).isoformat(), "as_of": as_of.isoformat()}
    raw = pd.read_sql_query(_SUMMARY_SQL, conn, params=params)
    x = raw["x"].astype("int64")
    repeat_amount = raw["repeat_amount"].astype("float64")
    return pd.DataFrame(
        {
            "user_id": raw["user_id"].astype("object"),
            "x": x,
            "t_x": raw["t_x_days"].astype("float64") / DAYS_PER_UNIT,
            "T": raw["t_days"].astype("float64") / DAYS_PER_UNIT,
            "monetary": (repeat_amount / x.where(x > 0)).astype("float64"),
            "first_order_at": raw["first_at"].astype("object"),
        }
    )


def fit_models(conn: sqlite3.Connection, as_of: date) -> tuple[PredictionReport, pd.DataFrame]:
    """Fit both models on the orders up to ``as_of``; a model that cannot be fitted is reported."""
    summary = summarise(conn, as_of)
    bg = gg = None
    bg_error = gg_error = None
    try:
        bg = fit_bgnbd(summary["x"].to_numpy(), summary["t_x"].to_numpy(), summary["T"].to_numpy())
    except ModelFitError as exc:
        bg_error = str(exc)
    try:
        gg = fit_gamma_gamma(summary["x"].to_numpy(), summary["monetary"].to_numpy())
    except ModelFitError as exc:
        gg_error = str(exc)
    report = PredictionReport(as_of, len(summary), bg, gg, bg_error, gg_error)
    return report, summary


def predictions(report: PredictionReport, summary: pd.DataFrame) -> pd.DataFrame:
    """The per-buyer model outputs (OUTPUT_COLUMNS); NaN where a model was not fitted."""
    x = summary["x"].to_numpy(dtype="float64")
    out = pd.DataFrame({"user_id": summary["user_id"]})
    for column in OUTPUT_COLUMNS:
        out[column] = np.nan
    gg, bg = report.gamma_gamma, report.bgnbd
    if gg is not None:
        out["expected_order_value"] = expected_order_value(gg, x, summary["monetary"].to_numpy())
    if bg is None:
        return out
    # BG/NBD outputs depend on (x, t_x, T) only: compute each distinct history once
    history = (summary[c].to_numpy(dtype="float64") for c in ("x", "t_x", "T"))
    rows, back, _ = distinct_rows(*history)
    hist = (rows[:, 0], rows[:, 1], rows[:, 2])
    out["p_alive"] = p_alive(bg, *hist)[back]
    out["expected_purchases_30d"] = expected_purchases(bg, 30 / DAYS_PER_UNIT, *hist)[back]
    out["expected_purchases_90d"] = expected_purchases(bg, 90 / DAYS_PER_UNIT, *hist)[back]
    if gg is not None:
        purchases = clv(bg, np.ones(len(rows)), *hist)[back]  # discounted expected purchases
        out["clv"] = purchases * out["expected_order_value"].to_numpy()
    return out


def store_fits(conn: sqlite3.Connection, report: PredictionReport) -> None:
    """One model_fits row per model (params as JSON, or the reason it could not be fitted)."""
    rows = [
        _fit_row("bgnbd", report.bgnbd, report.bgnbd_error, report.as_of),
        _fit_row("gamma_gamma", report.gamma_gamma, report.gamma_gamma_error, report.as_of),
    ]
    conn.executemany(
        "INSERT OR REPLACE INTO model_fits"
        "(model, params, time_unit, log_lik, n_customers, error, as_of, fitted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, datetime('now'))",
        rows,
    )


def _fit_row(
    model: str, fit: BgNbdFit | GammaGammaFit | None, error: str | None, as_of: date
) -> tuple[object, ...]:
    if fit is None:
        return (model, None, None, None, None, error, as_of.isoformat())
    params = asdict(fit)
    log_lik, n_customers = params.pop("log_lik"), params.pop("n_customers")
    time_unit = params.pop("time_unit", None)
    return (model, json.dumps(params), time_unit, log_lik, n_customers, None, as_of.isoformat())


PREDICTIONS_TABLE = (
    "uo_predict"  # temp table the recompute's INSERT joins (core.analytics.features)
)
# What that table holds per buyer: the first order (read in the same pass as the model inputs,
# so the recompute's RFM pass needs no min()) and the model outputs.
HISTORY_COLUMNS = ("first_order_at", *OUTPUT_COLUMNS)


def purchase_history(
    conn: sqlite3.Connection, as_of: date, fit: bool
) -> tuple[PredictionReport | None, pd.DataFrame]:
    """Per buyer as of ``as_of``: user_id and HISTORY_COLUMNS (model outputs NaN unless ``fit``),
    and the fits (None unless ``fit``). Reads orders only and writes nothing, so the recompute
    runs it on a second connection beside its own passes (core.store.db.beside)."""
    if fit:
        report, summary = fit_models(conn, as_of)
        out = predictions(report, summary)
    else:
        report, summary = None, summarise(conn, as_of)
        out = pd.DataFrame({"user_id": summary["user_id"]})
        for column in OUTPUT_COLUMNS:
            out[column] = np.nan
    out["first_order_at"] = summary["first_order_at"]
    for column, values in model_input_columns(summary).items():
        out[column] = values
    return report, out


def write_history(
    conn: sqlite3.Connection,
    report: PredictionReport | None,
    out: pd.DataFrame,
    *,
    inputs: bool = False,
) -> None:
    """Store the fits (when fitted) and write ``out`` into temp.uo_predict, in the caller's
    transaction; with ``inputs`` (the recompute) also replace model_inputs."""
    if report is not None:
        store_fits(conn, report)
    _write_temp(conn, out)
    if inputs:
        write_model_inputs(conn, out)


def predict_into_temp(conn: sqlite3.Connection, as_of: date) -> PredictionReport:
    """Fit both models as of ``as_of``, store the fits, and write each buyer's outputs into
    ``temp.uo_predict`` (NULL where a model was not fitted).
    Runs inside the caller's transaction when there is one, else in its own.
    """
    report, out = purchase_history(conn, as_of, fit=True)
    with nullcontext() if conn.in_transaction else transaction(conn):
        write_history(conn, report, out)
    assert report is not None
    return report


def _write_temp(conn: sqlite3.Connection, out: pd.DataFrame) -> None:
    cols = ", ".join(HISTORY_COLUMNS)
    conn.execute(f"DROP TABLE IF EXISTS temp.{PREDICTIONS_TABLE}")
    conn.execute(
        f"CREATE TEMP TABLE {PREDICTIONS_TABLE} (user_id TEXT PRIMARY KEY, {cols}) WITHOUT ROWID"
    )
    # Plain lists bind fastest; sqlite stores a NaN as NULL. Rows come in user_id order (the
    # summary is grouped by user), so the key B-tree is only appended to.
    columns = [out[c].to_numpy(dtype="float64").tolist() for c in OUTPUT_COLUMNS]
    conn.executemany(
        f"INSERT INTO temp.{PREDICTIONS_TABLE} VALUES (?{', ?' * len(HISTORY_COLUMNS)})",
        zip(out["user_id"].tolist(), out["first_order_at"].tolist(), *columns, strict=True),
    )


def apply_predictions(conn: sqlite3.Connection, table: str, as_of: date) -> PredictionReport:
    """Fit BG/NBD and Gamma-Gamma as of ``as_of`` and fill the model columns of an existing
    features table (``userops model``; the recompute joins ``predict_into_temp`` instead).

    Runs inside the caller's transaction when there is one, else in its own.
    Non-buyers and the outputs of a model that could not be fitted are left NULL.
    """
    if table not in FEATURE_TABLES:
        raise DatabaseError(f"apply_predictions: {table!r} is not a features table")
    with nullcontext() if conn.in_transaction else transaction(conn):
        report = predict_into_temp(conn, as_of)
        _update_from_temp(conn, table)
    return report


def _update_from_temp(conn: sqlite3.Connection, table: str) -> None:
    """Clear stale outputs (users no longer buyers), then one UPDATE … FROM (SQLite ≥ 3.33)."""
    nulls = ", ".join(f"{c} = NULL" for c in OUTPUT_COLUMNS)
    stale = " OR ".join(f"{c} IS NOT NULL" for c in OUTPUT_COLUMNS)
    conn.execute(f"UPDATE {table} SET {nulls} WHERE {stale}")
    sets = ", ".join(f"{c} = o.{c}" for c in OUTPUT_COLUMNS)
    conn.execute(
        f"UPDATE {table} AS f SET {sets} FROM temp.{PREDICTIONS_TABLE} AS o "
        "WHERE f.user_id = o.user_id"
    )
    conn.execute(f"DROP TABLE temp.{PREDICTIONS_TABLE}")


# ---------------------------------------------------------------- fits per date, scoring

# model_inputs: what scoring a buyer needs besides the date (T = D - first day).
MODEL_INPUT_COLUMNS = ("first_order_at", "x", "t_x_days", "repeat_mean")


def model_input_columns(summary: pd.DataFrame) -> dict[str, np.ndarray]:
    """The summary's x, t_x (in whole days, as the orders give it) and mean repeat spend, as
    model_inputs stores them: a summary read back from it is the same to the last bit."""
    return {
        "x": summary["x"].to_numpy(dtype="int64"),
        "t_x_days": np.rint(summary["t_x"].to_numpy(dtype="float64") * DAYS_PER_UNIT),
        "repeat_mean": summary["monetary"].to_numpy(dtype="float64"),
    }


def write_model_inputs(
    conn: sqlite3.Connection, out: pd.DataFrame, users_table: str | None = None
) -> None:
    """Replace model_inputs with ``out``'s rows (all of them, or only the users listed in
    ``users_table``, a temp table of user_id), in the caller's transaction."""
    if users_table is None:
        conn.execute("DELETE FROM model_inputs")
    else:
        conn.execute(
            f"DELETE FROM model_inputs WHERE user_id IN (SELECT user_id FROM {users_table})"
        )
    repeat = out["repeat_mean"].to_numpy(dtype="float64")
    conn.executemany(
        "INSERT INTO model_inputs(user_id, first_order_at, x, t_x_days, repeat_mean)"
        " VALUES (?, ?, ?, ?, ?)",
        zip(
            out["user_id"].tolist(),
            out["first_order_at"].tolist(),
            out["x"].astype("int64").tolist(),
            out["t_x_days"].astype("float64").tolist(),
            [None if np.isnan(v) else float(v) for v in repeat],
            strict=True,
        ),
    )


def load_fits(conn: sqlite3.Connection, as_of: date) -> PredictionReport | None:
    """The fits stored for ``as_of`` (each model fitted or its reason), None when none is."""
    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT model, params, time_unit, log_lik, n_customers, error FROM model_fits"
            " WHERE as_of = ?",
            (as_of.isoformat(),),
        )
    }
    if "bgnbd" not in rows or "gamma_gamma" not in rows:
        return None

    def fit(model: str, cls: type) -> tuple[object | None, str | None]:
        params, time_unit, log_lik, n, error = rows[model]
        if params is None:
            return None, error
        extra = {"time_unit": time_unit} if cls is BgNbdFit else {}
        return cls(**json.loads(params), log_lik=log_lik, n_customers=n, **extra), None

    bg, bg_error = fit("bgnbd", BgNbdFit)
    gg, gg_error = fit("gamma_gamma", GammaGammaFit)
    n_buyers = bg.n_customers if isinstance(bg, BgNbdFit) else 0
    return PredictionReport(as_of, n_buyers, bg, gg, bg_error, gg_error)  # type: ignore[arg-type]


def fit_age_days(conn: sqlite3.Connection, as_of: date) -> int | None:
    """Days from the latest stored fit on or before ``as_of`` to it; None without one."""
    row = conn.execute(
        "SELECT max(as_of) FROM model_fits WHERE as_of <= ? AND as_of <> ''",
        (as_of.isoformat(),),
    ).fetchone()
    return None if row[0] is None else (as_of - date.fromisoformat(row[0][:10])).days


def stored_summary(conn: sqlite3.Connection, as_of: date) -> pd.DataFrame:
    """The summary (as ``summarise`` returns it) of every buyer from model_inputs, with T as of
    ``as_of``: one read of a table of one row per buyer, no pass over the orders."""
    raw = pd.read_sql_query(
        "SELECT user_id, first_order_at, x, t_x_days, repeat_mean,"
        " julianday(:as_of) - julianday(substr(first_order_at, 1, 10)) AS t_days"
        " FROM model_inputs ORDER BY user_id",
        conn,
        params={"as_of": as_of.isoformat()},
    )
    x = raw["x"].astype("int64")
    return pd.DataFrame(
        {
            "user_id": raw["user_id"].astype("object"),
            "x": x,
            "t_x": raw["t_x_days"].astype("float64") / DAYS_PER_UNIT,
            "T": raw["t_days"].astype("float64") / DAYS_PER_UNIT,
            "monetary": raw["repeat_mean"].astype("float64"),
            "first_order_at": raw["first_order_at"].astype("object"),
        }
    )


def score_from_fit(
    conn: sqlite3.Connection, report: PredictionReport, as_of: date, table: str
) -> None:
    """Every buyer's outputs as of ``as_of`` from the given (stored) fit, vectorised, written
    into the model columns of ``table`` (a features table), in the caller's transaction."""
    if table not in FEATURE_TABLES:
        raise DatabaseError(f"score_from_fit: {table!r} is not a features table")
    summary = stored_summary(conn, as_of)
    out = predictions(report, summary)
    out["first_order_at"] = summary["first_order_at"]
    _write_temp(conn, out)
    _update_from_temp(conn, table)


def refit_and_score(conn: sqlite3.Connection, as_of: date, table: str) -> PredictionReport:
    """Fit both models on the stored purchase histories as of ``as_of`` (the same inputs a
    fit on the orders sees), store the fits for that date and re-score every buyer of
    ``table``: fit and outputs change together, in the caller's transaction."""
    summary = stored_summary(conn, as_of)
    report = _fit_summary(summary, as_of)
    store_fits(conn, report)
    score_from_fit(conn, report, as_of, table)
    return report


def _fit_summary(summary: pd.DataFrame, as_of: date) -> PredictionReport:
    bg = gg = None
    bg_error = gg_error = None
    try:
        bg = fit_bgnbd(summary["x"].to_numpy(), summary["t_x"].to_numpy(), summary["T"].to_numpy())
    except ModelFitError as exc:
        bg_error = str(exc)
    try:
        gg = fit_gamma_gamma(summary["x"].to_numpy(), summary["monetary"].to_numpy())
    except ModelFitError as exc:
        gg_error = str(exc)
    return PredictionReport(as_of, len(summary), bg, gg, bg_error, gg_error)
