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
from typing import TYPE_CHECKING

from core.errors import DatabaseError, ModelFitError
from core.store.db import transaction
from core.store.schema import MODEL_OUTPUT_COLUMNS
from core.store.sql import quote

if TYPE_CHECKING:  # numpy, pandas and scipy (~0.4 s) load in the functions that use them
    import pandas as pd

    from core.analytics.models import BgNbdFit, GammaGammaFit

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
    import pandas as pd  # deferred: pandas costs ~0.2 s, and light commands import this module

    from core.analytics.models import DAYS_PER_UNIT  # deferred: scipy costs ~0.15 s

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
    from core.analytics.models import fit_bgnbd, fit_gamma_gamma  # deferred: scipy

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
    import numpy as np  # deferred with pandas and scipy (see summarise)
    import pandas as pd

    from core.analytics.models import (
        DAYS_PER_UNIT,
        clv,
        distinct_rows,
        expected_order_value,
        expected_purchases,
        p_alive,
    )

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
    import numpy as np  # deferred with pandas (see summarise)
    import pandas as pd

    if fit:
        report, summary = fit_models(conn, as_of)
        out = predictions(report, summary)
    else:
        report, summary = None, summarise(conn, as_of)
        out = pd.DataFrame({"user_id": summary["user_id"]})
        for column in OUTPUT_COLUMNS:
            out[column] = np.nan
    out["first_order_at"] = summary["first_order_at"]
    return report, out


def write_history(
    conn: sqlite3.Connection, report: PredictionReport | None, out: pd.DataFrame
) -> None:
    """Store the fits (when fitted) and write ``out`` into temp.uo_predict, in the caller's
    transaction."""
    if report is not None:
        store_fits(conn, report)
    _write_temp(conn, out)


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
    columns = [quote(c) for c in OUTPUT_COLUMNS]
    nulls = ", ".join(f"{c} = NULL" for c in columns)
    stale = " OR ".join(f"{c} IS NOT NULL" for c in columns)
    conn.execute(f"UPDATE {table} SET {nulls} WHERE {stale}")
    sets = ", ".join(f"{c} = o.{c}" for c in columns)
    conn.execute(
        f"UPDATE {table} AS f SET {sets} FROM temp.{PREDICTIONS_TABLE} AS o "
        "WHERE f.user_id = o.user_id"
    )
    conn.execute(f"DROP TABLE temp.{PREDICTIONS_TABLE}")
