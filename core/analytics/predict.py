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
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

from core.errors import DatabaseError, ModelFitError
from core.store.db import get_meta, transaction
from core.store.engines import Dialect, dialect_of, engine_of
from core.store.schema import MODEL_OUTPUT_COLUMNS
from core.store.sql import quote

if TYPE_CHECKING:  # numpy, pandas and scipy (~0.4 s) load in the functions that use them
    import numpy as np
    import pandas as pd

    from core.analytics.models import (
        BgNbdFit,
        GammaGammaFit,
        MbgNbdFit,
        ParetoNbdFit,
        ParetoNbdLimitFit,
        PurchaseFit,
    )

FEATURE_TABLES = ("features", "features_new")
FIT_NAMES = ("bgnbd", "pareto_nbd", "mbgnbd", "gamma_gamma")  # model_fits.model
OUTPUT_COLUMNS = MODEL_OUTPUT_COLUMNS
# Per-customer intervals: the 5th and 95th percentiles over parameter vectors drawn from the
# fits' asymptotic distribution (core.analytics.models.sample_params), with a fixed seed.
INTERVAL_DRAWS = 50
INTERVAL_SEED = 20070101
INTERVAL_LEVELS = (5.0, 95.0)
# meta keys: the operator's choice (by validation or explicit) and what produced the outputs
CHOICE_KEY = "model_choice"
USED_KEY = "model_used"
VALIDATION_KEY = "model_validation"


@dataclass(frozen=True)
class PredictionReport:
    """What a fit produced as of a date: each model's fit, or the reason it could not be fitted,
    and which purchase model the outputs come from (``chosen``) and why."""

    as_of: date
    n_buyers: int
    bgnbd: BgNbdFit | None
    gamma_gamma: GammaGammaFit | None
    bgnbd_error: str | None = None
    gamma_gamma_error: str | None = None
    pareto_nbd: ParetoNbdFit | ParetoNbdLimitFit | None = None
    mbgnbd: MbgNbdFit | None = None
    pareto_nbd_error: str | None = None
    mbgnbd_error: str | None = None
    chosen: str | None = None
    chosen_because: str = ""

    def fit_of(self, name: str) -> PurchaseFit | GammaGammaFit | None:
        return getattr(self, name)

    def error_of(self, name: str) -> str | None:
        return getattr(self, f"{name}_error")

    @property
    def chosen_fit(self) -> PurchaseFit | None:
        return None if self.chosen is None else getattr(self, self.chosen)


# ---------------------------------------------------------------- purchase history summary

# One streamed pass over the covering index orders(user_id, created_at, amount) per user, then
# the first day's total only for repeat buyers. (Grouping by (user_id, day) first needs a 10M-row
# temporary B-tree: 70 s instead of ~20 s on 10M orders.) Dates are ISO text, so the first 10
# characters are the day.
_SUMMARY_SQL = """
SELECT user_id, first_at, x,
       {t_x_days} AS t_x_days,
       {t_days} AS t_days,
       CASE WHEN x > 0 THEN total - (
           SELECT {sum_o_amount} FROM orders AS o
           WHERE o.user_id = g.user_id AND o.created_at >= substr(g.first_at, 1, 10)
             AND o.created_at < {next_day}
       ) END AS repeat_amount
FROM (
    SELECT user_id,
           COUNT(DISTINCT substr(created_at, 1, 10)) - 1 AS x,
           MIN(created_at) AS first_at,
           substr(MAX(created_at), 1, 10) AS last_day,
           {sum_amount} AS total
    FROM orders
    WHERE created_at < :cut
    GROUP BY user_id
) AS g
"""


def _summary_sql(d: Dialect) -> str:
    """_SUMMARY_SQL as the engine spells it (SQLite's: the text above, SUM and all)."""
    return _SUMMARY_SQL.format(
        t_x_days=d.day_span("substr(first_at, 1, 10)", "last_day"),
        t_days=d.day_span("substr(first_at, 1, 10)", ":as_of"),
        next_day=d.next_day("g.first_at"),
        # in the order of orders_user_time_amount, SQLite's (Dialect.total)
        sum_amount=d.sum("amount", "created_at, amount"),
        sum_o_amount=d.sum("o.amount", "o.created_at, o.amount"),
    )


def read_frame(conn: sqlite3.Connection, sql: str, params: dict[str, str]) -> pd.DataFrame:
    """A query's rows as a DataFrame on either engine; on DuckDB in user_id order, the order
    SQLite's GROUP BY user_id gives (the fits then sum the same numbers in the same order)."""
    import pandas as pd  # deferred: ~0.2 s

    if engine_of(conn) == "sqlite":
        return pd.read_sql_query(sql, conn, params=params)
    return conn.frame(f"SELECT * FROM ({sql}) AS q ORDER BY user_id", params)  # type: ignore[attr-defined]


def summarise(conn: sqlite3.Connection, as_of: date) -> pd.DataFrame:
    """One row per buyer as of ``as_of``: user_id, x, t_x, T (weeks), monetary (NaN if x = 0),
    and first_order_at (the first order's time, as stored).

    Orders count when created_at < as_of + 1 day. Aggregated in SQL (10M orders become one row
    per buyer), converted to weeks in pandas.
    """
    params = {"cut": (as_of + timedelta(days=1)).isoformat(), "as_of": as_of.isoformat()}
    return summary_frame(read_frame(conn, _summary_sql(dialect_of(conn)), params))


def summary_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """The summary (as ``summarise`` returns it) from the rows of a summary query: user_id,
    first_at, x, t_x_days, t_days, repeat_amount (``_SUMMARY_SQL``'s columns)."""
    import pandas as pd  # deferred: ~0.2 s

    from core.analytics.models import (  # deferred: scipy ~0.15 s
        DAYS_PER_UNIT,
    )

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


def recorded_choice(conn: sqlite3.Connection) -> dict[str, str] | None:
    """The operator's recorded model choice ({model, reason, by}), or None."""
    from core.analytics.models import (  # deferred: scipy ~0.15 s
        PURCHASE_MODELS,
    )

    try:
        raw = get_meta(conn, CHOICE_KEY)
    except sqlite3.OperationalError:
        return None
    try:
        choice = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(choice, dict) or choice.get("model") not in PURCHASE_MODELS:
        return None
    return choice


def model_in_use(conn: sqlite3.Connection) -> dict[str, str] | None:
    """Which purchase model produced the stored outputs and why ({model, reason}), or None."""
    from core.analytics.models import (  # deferred: scipy ~0.15 s
        PURCHASE_MODELS,
    )

    raw = get_meta(conn, USED_KEY)
    try:
        used = json.loads(raw) if raw else None
    except ValueError:
        return None
    return used if isinstance(used, dict) and used.get("model") in PURCHASE_MODELS else None


def fit_models(
    conn: sqlite3.Connection, as_of: date, *, models: tuple[str, ...] | None = None
) -> tuple[PredictionReport, pd.DataFrame]:
    """Fit the purchase models and Gamma-Gamma on the orders up to ``as_of``; a model that
    cannot be fitted is reported. ``models``: which purchase models to fit; by default the
    recorded choice only (``userops model --validate`` / ``--use``), or all three when none is
    recorded."""
    summary = summarise(conn, as_of)
    return fit_summary(summary, as_of, recorded_choice(conn), models), summary


def fit_summary(
    summary: pd.DataFrame,
    as_of: date,
    choice: dict[str, str] | None,
    models: tuple[str, ...] | None = None,
) -> PredictionReport:
    """The fits on a purchase-history summary (from the orders, or from model_inputs in the
    refresh: the same numbers) and the model chosen, as ``fit_models`` describes."""
    from core.analytics.models import (  # deferred: scipy ~0.15 s
        FITTERS,
        PURCHASE_MODELS,
        fit_gamma_gamma,
    )

    if models is None:
        models = (choice["model"],) if choice else PURCHASE_MODELS
    x, t_x, T = (summary[c].to_numpy(dtype="float64") for c in ("x", "t_x", "T"))
    fits: dict[str, object] = {}
    for name in PURCHASE_MODELS:
        if name not in models:
            continue
        try:
            fits[name] = FITTERS[name](x, t_x, T)
        except ModelFitError as exc:
            fits[f"{name}_error"] = str(exc)
    try:
        fits["gamma_gamma"] = fit_gamma_gamma(x, summary["monetary"].to_numpy())
    except ModelFitError as exc:
        fits["gamma_gamma_error"] = str(exc)
    chosen, because = choose(fits, choice)
    fits.setdefault("bgnbd", None)
    fits.setdefault("gamma_gamma", None)
    report = PredictionReport(
        as_of,
        len(summary),
        **cast(dict[str, Any], fits),
        chosen=chosen,
        chosen_because=because,
    )
    return report


def choose(fits: dict[str, object], choice: dict[str, str] | None) -> tuple[str | None, str]:
    """The purchase model the outputs come from, and why: the recorded choice when it could be
    fitted, else the fitted model with the lowest BIC (the Pareto/NBD's homogeneous-dropout
    limit has three parameters, the others four; all see the same customers)."""
    from core.analytics.models import (  # deferred: scipy ~0.15 s
        MODEL_TITLES,
        PURCHASE_MODELS,
    )

    if choice and fits.get(choice["model"]) is not None:
        return choice["model"], choice.get("reason", "")
    fitted = {n: fits[n] for n in PURCHASE_MODELS if fits.get(n) is not None}
    if not fitted:
        return None, "no purchase model could be fitted"
    n_converged = sum(_converged(f) for f in fitted.values())
    n_fitted = len(fitted)
    fitted = {n: f for n, f in fitted.items() if n in automatic_candidates(fitted)}
    best = min(fitted, key=lambda n: bic(fitted[n]))
    if n_fitted == 1:
        why = "the only purchase model fitted"
    elif n_converged == 1:
        why = "the only fit that converged to a usable maximum (the others did not)"
    else:
        why = "lowest BIC on the whole history (no holdout validation recorded)"
        if best != "bgnbd" and fits.get("bgnbd") is not None:
            why += f"; {BG_ONLY_EXPLICIT}"
    if choice:
        why = f"{MODEL_TITLES[choice['model']]} (the recorded choice) could not be fitted; {why}"
    return best, why


def bic(fit: Any) -> float:
    """-2 LL + k ln n, k the fit's parameters, n its customers."""
    import math

    return -2 * fit.log_lik + len(fit.PARAMS) * math.log(max(fit.n_customers, 1))


BG_ONLY_EXPLICIT = (
    "BG/NBD is left out of automatic choices: it calls every one-time buyer certainly alive "
    "(use --use bgnbd to choose it)"
)


def automatic_candidates(fitted: dict[str, object]) -> list[str]:
    """The models an automatic choice (validation or BIC) picks from: the converged fits, and
    BG/NBD only when neither model that lets a one-time buyer be gone converged."""
    converged = [n for n, f in fitted.items() if _converged(f)] or list(fitted)
    others = [n for n in converged if n != "bgnbd"]
    return others or converged


def _converged(fit: object) -> bool:
    info = getattr(fit, "info", None)
    if info is None and hasattr(fit, "fit"):  # a validation check wraps its fit
        info = getattr(fit.fit, "info", None)
    return info is None or bool(info.converged)


def predictions(report: PredictionReport, summary: pd.DataFrame) -> pd.DataFrame:
    """The per-buyer model outputs (OUTPUT_COLUMNS) of the chosen purchase model and
    Gamma-Gamma; NaN where a model was not fitted."""
    import numpy as np  # deferred: light commands import this module
    import pandas as pd  # deferred: ~0.2 s

    from core.analytics.models import (  # deferred: scipy ~0.15 s
        DAYS_PER_UNIT,
        discounted_purchases_if_alive,
        distinct_rows,
        expected_order_value,
        p_alive,
        p_alive_estimated,
        purchases_if_alive,
    )

    x = summary["x"].to_numpy(dtype="float64")
    out = pd.DataFrame({"user_id": summary["user_id"]})
    for column in OUTPUT_COLUMNS:
        out[column] = np.nan
    gg, fit = report.gamma_gamma, report.chosen_fit
    zbar = summary["monetary"].to_numpy()
    if gg is not None:
        out["expected_order_value"] = expected_order_value(gg, x, zbar)
    if fit is None:
        return out
    # the outputs depend on (x, t_x, T) only: compute each distinct history once, and the parts
    # that depend on (x, T) once per distinct pair
    history = [summary[c].to_numpy(dtype="float64") for c in ("x", "t_x", "T")]
    rows, back, _ = distinct_rows(*history)
    hist = (rows[:, 0], rows[:, 1], rows[:, 2])
    pair_rows, pair_of, _ = distinct_rows(hist[0], hist[2])
    px, pT = pair_rows[:, 0], pair_rows[:, 1]
    alive = p_alive(fit, *hist)
    # a P(alive) the model assumes rather than estimates (BG/NBD's 1 for a buyer without a
    # repeat purchase) is not stored: NULL, "not estimated", never "certainly alive"
    out["p_alive"] = np.where(p_alive_estimated(fit, hist[0]), alive, np.nan)[back]
    for days, column in ((30, "expected_purchases_30d"), (90, "expected_purchases_90d")):
        rate = purchases_if_alive(fit, days / DAYS_PER_UNIT, px, pT)
        out[column] = (rate[pair_of] * alive)[back]
    factor = discounted_purchases_if_alive(fit, px, pT)[pair_of] * alive
    if gg is not None:
        out["clv"] = factor[back] * out["expected_order_value"].to_numpy()
    low, high = _intervals(fit, gg, hist, (px, pT), pair_of, back, x, zbar)
    out["expected_purchases_90d_low"], out["expected_purchases_90d_high"] = low[0], high[0]
    if gg is not None:
        out["clv_low"], out["clv_high"] = low[1], high[1]
    return out


def _intervals(
    fit: PurchaseFit,
    gg: GammaGammaFit | None,
    hist: tuple[np.ndarray, ...],
    pairs: tuple[np.ndarray, np.ndarray],
    pair_of: np.ndarray,
    back: np.ndarray,
    x: np.ndarray,
    zbar: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer, the INTERVAL_LEVELS percentiles of expected 90-day purchases and CLV over
    INTERVAL_DRAWS parameter vectors drawn from the fits' asymptotic distribution: (2, n)
    lows and highs (CLV NaN without Gamma-Gamma). Per draw, the (x, T) parts are evaluated on
    the distinct pairs and P(alive) on the distinct histories; percentiles in chunks of
    customers, so memory stays at draws × chunk."""
    import numpy as np  # deferred: light commands import this module

    from core.analytics.models import (  # deferred: scipy ~0.15 s
        DAYS_PER_UNIT,
        discounted_purchases_if_alive,
        p_alive,
        purchases_if_alive,
        sample_params,
        with_params,
    )

    draws = sample_params(fit, INTERVAL_DRAWS, INTERVAL_SEED)
    gg_draws = sample_params(gg, INTERVAL_DRAWS, INTERVAL_SEED + 1) if gg is not None else None
    if gg_draws is not None:
        gg_draws = gg_draws[gg_draws[:, 1] > 1]  # a draw with q <= 1 has no finite mean spend
        if len(gg_draws) == 0:
            gg_draws = None
    px, pT = pairs
    n_hist = len(hist[0])
    alive = np.empty((INTERVAL_DRAWS, n_hist), dtype="float32")
    rate = np.empty((INTERVAL_DRAWS, len(px)), dtype="float32")
    factor = np.empty_like(rate)
    with np.errstate(all="ignore"):
        for d, params in enumerate(draws):
            sampled = with_params(fit, params)
            alive[d] = p_alive(sampled, *hist)
            rate[d] = purchases_if_alive(sampled, 90 / DAYS_PER_UNIT, px, pT)
            factor[d] = discounted_purchases_if_alive(sampled, px, pT)
    n = len(back)
    low, high = np.full((2, n), np.nan), np.full((2, n), np.nan)
    # expected purchases depend on the history only: percentiles once per distinct history
    h_low, h_high = np.empty(n_hist), np.empty(n_hist)
    chunk = 20_000
    for start in range(0, n_hist, chunk):
        part = slice(start, start + chunk)
        purchases = rate[:, pair_of[part]] * alive[:, part]
        h_low[part], h_high[part] = np.percentile(purchases, INTERVAL_LEVELS, axis=0)
    low[0], high[0] = h_low[back], h_high[back]
    if gg_draws is None:
        return low, high
    xs = np.where(x > 0, x, 0.0)
    zs = np.nan_to_num(zbar, nan=0.0).clip(min=0.0)
    zs = np.where(x > 0, zs, 0.0)
    p, q, v = (gg_draws[:, [k]] for k in range(3))
    k = len(gg_draws)  # CLV pairs purchase draw i with spend draw i (the first k of each)
    lifetime_factor = factor[:k, pair_of] * alive[:k]  # (k, distinct histories)
    for start in range(0, n, chunk):
        h = back[start : start + chunk]
        xc, zc = xs[start : start + chunk], zs[start : start + chunk]
        value = p * (v + xc * zc) / (p * xc + q - 1)
        lifetime = lifetime_factor[:, h] * value
        low[1, start : start + chunk], high[1, start : start + chunk] = np.percentile(
            lifetime, INTERVAL_LEVELS, axis=0
        )
    return low, high


def store_fits(conn: sqlite3.Connection, report: PredictionReport) -> None:
    """One model_fits row per model fitted or tried (params as JSON, or the reason it could not
    be fitted; the fit's convergence and standard errors in ``diagnostics``), and which
    purchase model the outputs come from (meta ``model_used``)."""
    from core.analytics.models import (  # deferred: scipy ~0.15 s
        PURCHASE_MODELS,
    )

    rows = []
    for name in (*PURCHASE_MODELS, "gamma_gamma"):
        fit, error = report.fit_of(name), report.error_of(name)
        if fit is not None or error is not None:
            rows.append(_fit_row(name, fit, error, report.as_of))
    conn.executemany(
        "INSERT OR REPLACE INTO model_fits"
        "(model, params, time_unit, log_lik, n_customers, error, as_of, fitted_at, diagnostics)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?, {dialect_of(conn).now_text()}, ?)",
        rows,
    )
    used = {"model": report.chosen, "reason": report.chosen_because}
    conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
        (USED_KEY, json.dumps(used) if report.chosen else ""),
    )


def _fit_row(
    model: str, fit: PurchaseFit | GammaGammaFit | None, error: str | None, as_of: date
) -> tuple[object, ...]:
    from core.analytics.models import (  # deferred: scipy ~0.15 s
        params_of,
    )

    if fit is None:
        return (model, None, None, None, None, error, as_of.isoformat(), None)
    params = dict(zip(fit.PARAMS, params_of(fit).tolist(), strict=True))
    time_unit = getattr(fit, "time_unit", None)
    info = json.dumps(fit.info.as_dict()) if fit.info is not None else None
    return (
        model,
        json.dumps(params),
        time_unit,
        fit.log_lik,
        fit.n_customers,
        None,
        as_of.isoformat(),
        info,
    )


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
    summary = summarise(conn, as_of)
    return history_of(summary, as_of, recorded_choice(conn) if fit else None, fit=fit)


def history_of(
    summary: pd.DataFrame, as_of: date, choice: dict[str, str] | None, *, fit: bool
) -> tuple[PredictionReport | None, pd.DataFrame]:
    """:func:`purchase_history` from a summary already read (``choice``: the recorded model
    choice, as ``fit_models`` reads it): the fits and outputs are pure computation, so a caller
    that read the summary itself runs this on a thread beside its SQL (core.analytics.features,
    DuckDB)."""
    import numpy as np  # deferred: light commands import this module
    import pandas as pd  # deferred: ~0.2 s

    report: PredictionReport | None = None
    if fit:
        report = fitted = fit_summary(summary, as_of, choice)
        out = predictions(fitted, summary)
    else:
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
    if engine_of(conn) != "sqlite":  # one bulk read of the frame (NaN reads as NULL)
        frame = out[["user_id", *HISTORY_COLUMNS]].astype(
            {"user_id": "object", "first_order_at": "object"}
            | dict.fromkeys(OUTPUT_COLUMNS, "float64")
        )
        conn.execute_with_frame(  # type: ignore[attr-defined]
            "uo_predict_frame",
            frame,
            f"CREATE TEMP TABLE {PREDICTIONS_TABLE} AS SELECT user_id, {cols} "
            "FROM uo_predict_frame",
        )
        return
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
    """Clear stale outputs (users no longer buyers), then one UPDATE … FROM (SQLite ≥ 3.33).
    Rows about to be set are not cleared first: each row is written once."""
    columns = [quote(c) for c in OUTPUT_COLUMNS]
    nulls = ", ".join(f"{c} = NULL" for c in columns)
    stale = " OR ".join(f"{c} IS NOT NULL" for c in columns)
    conn.execute(
        f"UPDATE {table} SET {nulls} WHERE ({stale})"
        f" AND user_id NOT IN (SELECT user_id FROM temp.{PREDICTIONS_TABLE})"
    )
    for sql in dialect_of(conn).update_from(conn, table, f"temp.{PREDICTIONS_TABLE}", columns):
        conn.execute(sql)
    conn.execute(f"DROP TABLE temp.{PREDICTIONS_TABLE}")


def record_choice(conn: sqlite3.Connection, model: str, reason: str, by: str) -> None:
    """Record which purchase model the database uses (``by``: 'validation' or 'explicit') and
    why; the next recompute fits and uses it. In the caller's transaction, if any."""
    from core.analytics.models import (  # deferred: scipy ~0.15 s
        PURCHASE_MODELS,
    )

    if model not in PURCHASE_MODELS:
        raise ModelFitError(f"unknown model {model!r}; choose one of {', '.join(PURCHASE_MODELS)}")
    value = json.dumps({"model": model, "reason": reason, "by": by})
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (CHOICE_KEY, value))


# ---------------------------------------------------------------- fits per date, scoring

# model_inputs: what scoring a buyer needs besides the date (T = D - first day).
MODEL_INPUT_COLUMNS = ("first_order_at", "x", "t_x_days", "repeat_mean")


def model_input_columns(summary: pd.DataFrame) -> dict[str, np.ndarray]:
    """The summary's x, t_x (in whole days, as the orders give it) and mean repeat spend, as
    model_inputs stores them: a summary read back from it is the same to the last bit."""
    import numpy as np  # deferred: light commands import this module

    from core.analytics.models import (  # deferred: scipy ~0.15 s
        DAYS_PER_UNIT,
    )

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
    import numpy as np  # deferred: light commands import this module

    repeat = out["repeat_mean"].to_numpy(dtype="float64")
    if engine_of(conn) != "sqlite":  # one bulk read of the frame (NaN reads as NULL)
        import pandas as pd  # deferred: ~0.2 s

        frame = pd.DataFrame(
            {
                "user_id": out["user_id"].astype("object"),
                "first_order_at": [str(v)[:10] for v in out["first_order_at"]],
                "x": out["x"].astype("int64"),
                "t_x_days": out["t_x_days"].astype("float64"),
                "repeat_mean": repeat,
            }
        )
        # the buyers that go are deleted, the others upserted (Dialect.upserts_in_place)
        listed = (
            "" if users_table is None else f" AND user_id IN (SELECT user_id FROM {users_table})"
        )
        conn.execute_with_frame(  # type: ignore[attr-defined]
            "uo_inputs_frame",
            frame,
            "DELETE FROM model_inputs WHERE user_id NOT IN (SELECT user_id FROM uo_inputs_frame)"
            + listed,
        )
        # DuckDB: a row stored as it is now is not written again (an upsert of an unchanged key
        # is still a delete and an insert in its index; from one day to the next most buyers'
        # inputs are the same: only those with new orders, or T, change, and T is not stored)
        same = (
            " AS f WHERE NOT EXISTS (SELECT 1 FROM model_inputs AS m WHERE m.user_id = f.user_id"
            + "".join(f" AND m.{c} IS NOT DISTINCT FROM f.{c}" for c in MODEL_INPUT_COLUMNS)
            + ")"
            if dialect_of(conn).upserts_in_place
            else ""
        )
        conn.execute_with_frame(  # type: ignore[attr-defined]
            "uo_inputs_frame",
            frame,
            "INSERT OR REPLACE INTO model_inputs(user_id, first_order_at, x, t_x_days, "
            "repeat_mean) SELECT user_id, first_order_at, x, t_x_days, repeat_mean "
            "FROM uo_inputs_frame" + same,
        )
        return
    if users_table is None:
        conn.execute("DELETE FROM model_inputs")
    else:
        conn.execute(
            f"DELETE FROM model_inputs WHERE user_id IN (SELECT user_id FROM {users_table})"
        )
    conn.executemany(
        "INSERT INTO model_inputs(user_id, first_order_at, x, t_x_days, repeat_mean)"
        " VALUES (?, ?, ?, ?, ?)",
        zip(
            out["user_id"].tolist(),
            [str(v)[:10] for v in out["first_order_at"]],  # T needs the day only
            out["x"].astype("int64").tolist(),
            out["t_x_days"].astype("float64").tolist(),
            [None if np.isnan(v) else float(v) for v in repeat],
            strict=True,
        ),
    )


def load_fits(conn: sqlite3.Connection, as_of: date) -> PredictionReport | None:
    """The fits stored for ``as_of`` (each model fitted or its reason) and the model the outputs
    come from, chosen as the fit chose it; None when there is no usable stored fit: none for
    that date, or the recorded choice was not tried then (the refresh then refits)."""
    from core.analytics.models import (  # deferred: scipy ~0.15 s
        FitInfo,
        fit_class,
    )

    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT model, params, time_unit, log_lik, n_customers, error, diagnostics"
            " FROM model_fits WHERE as_of = ?",
            (as_of.isoformat(),),
        )
    }
    if "gamma_gamma" not in rows:
        return None
    fits: dict[str, object] = {}
    n_buyers = 0
    for name, (params, time_unit, log_lik, n, error, diagnostics) in rows.items():
        if params is None:
            if name in FIT_NAMES:
                fits[f"{name}_error"] = error
            continue
        cls = fit_class(name, json.loads(params))  # pareto_nbd with mu: the limit
        if cls is None:
            continue
        info = FitInfo.from_dict(json.loads(diagnostics)) if diagnostics else None
        extra = {"time_unit": time_unit} if name != "gamma_gamma" else {}
        fits[name] = cls(**json.loads(params), log_lik=log_lik, n_customers=n, info=info, **extra)
        if name != "gamma_gamma":
            n_buyers = n
    choice = recorded_choice(conn)
    if choice and choice["model"] not in rows:  # chosen since: that date's fit lacks it
        return None
    chosen, because = choose(fits, choice)
    fits.setdefault("bgnbd", None)
    fits.setdefault("gamma_gamma", None)
    return PredictionReport(
        as_of, n_buyers, **cast(dict[str, Any], fits), chosen=chosen, chosen_because=because
    )


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
    import pandas as pd  # deferred: ~0.2 s

    from core.analytics.models import (  # deferred: scipy ~0.15 s
        DAYS_PER_UNIT,
    )

    span = dialect_of(conn).day_span("substr(first_order_at, 1, 10)", ":as_of")
    raw = read_frame(
        conn,
        "SELECT user_id, first_order_at, x, t_x_days, repeat_mean,"
        f" {span} AS t_days"
        " FROM model_inputs ORDER BY user_id",
        {"as_of": as_of.isoformat()},
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
    score_into_temp(conn, report, as_of)
    _update_from_temp(conn, table)


def score_into_temp(
    conn: sqlite3.Connection,
    report: PredictionReport,
    as_of: date,
    summary: pd.DataFrame | None = None,
) -> None:
    """Every buyer's outputs as of ``as_of`` from the given fit into temp.uo_predict (one row
    per buyer, keyed by user_id: ``score_from_fit`` without its UPDATE, for a caller that
    folds the write into a pass of its own: core.refresh). ``summary``: stored_summary's, when
    the caller has read it already."""
    if summary is None:
        summary = stored_summary(conn, as_of)
    out = predictions(report, summary)
    out["first_order_at"] = summary["first_order_at"]
    _write_temp(conn, out)


def refit_and_score(conn: sqlite3.Connection, as_of: date, table: str) -> PredictionReport:
    """Fit the models on the stored purchase histories as of ``as_of`` (the same inputs a
    fit on the orders sees, and the same models: ``fit_summary``), store the fits for that date
    and re-score every buyer of ``table``: fit and outputs change together, in the caller's
    transaction."""
    summary = stored_summary(conn, as_of)
    report = fit_summary(summary, as_of, recorded_choice(conn))
    store_fits(conn, report)
    score_from_fit(conn, report, as_of, table)
    return report
