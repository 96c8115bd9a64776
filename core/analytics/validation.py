"""How well each purchase model predicts on this database: fit on the orders up to a
calibration date, compare with what happened in the holdout period after it.

The papers' checks (Fader, Hardie & Lee 2005, section 5): total repeat purchases in the holdout
predicted vs actual, weekly cumulative tracking, the conditional expectations (mean holdout
purchases by number of calibration purchases), plus the per-customer mean absolute error and
each fit's log-likelihood and BIC. Repeat purchases count purchase days, as the fits do. The
model with the lowest per-customer error is the one the database should use
(core.analytics.predict.record_choice).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from core.analytics.models import (
    DAYS_PER_UNIT,
    FITTERS,
    MODEL_TITLES,
    PURCHASE_MODELS,
    PurchaseFit,
    distinct_rows,
    p_alive,
    params_of,
    purchases_if_alive,
)
from core.analytics.predict import BG_ONLY_EXPLICIT, automatic_candidates, summarise
from core.errors import ModelFitError
from core.store.engines import engine_of

CONDITIONAL_MAX = 7  # calibration purchase buckets 0, 1, ..., 6, 7+ (the paper's figure 4)

# The holdout on DuckDB and ClickHouse, aggregated by the engine (no order leaves it): the
# purchase days in (cut, end] of each calibration buyer (a buyer with an order before the cut,
# as the summary's), and how many of those purchase days fell on each day (EXISTS: a semi-join).
_HOLDOUT_ORDERS = """
FROM orders AS o
WHERE o.created_at >= :start AND o.created_at < :end
  AND EXISTS (
      SELECT 1 FROM orders AS c WHERE c.user_id = o.user_id AND c.created_at < :start
  )
"""
_HOLDOUT_BY_USER_SQL = (
    "SELECT o.user_id, COUNT(DISTINCT substr(o.created_at, 1, 10))"
    + _HOLDOUT_ORDERS
    + "GROUP BY o.user_id"
)
# ... and on SQLite, whose rows cost nothing to hand over in-process: the holdout's purchase
# days, one row per (user, day) from orders(created_at), counted in pandas. The same SQL as the
# aggregates above on SQLite took 2.3x the CPU at 1M users (an index seek per holdout order,
# twice; bench/bench_duck_store.py), so SQLite keeps this read.
_HOLDOUT_PAIRS_SQL = """
SELECT DISTINCT user_id, substr(created_at, 1, 10) AS day
FROM orders
WHERE created_at >= :start AND created_at < :end
"""
_HOLDOUT_BY_DAY_SQL = (
    "SELECT day, COUNT(*) FROM (SELECT DISTINCT o.user_id, substr(o.created_at, 1, 10) AS day"
    + _HOLDOUT_ORDERS
    + ") AS d GROUP BY day"
)


@dataclass(frozen=True)
class ModelCheck:
    """One model's calibration fit and its holdout predictions (None when not fitted)."""

    name: str
    fit: PurchaseFit | None
    error: str | None
    bic: float | None = None
    predicted_repeat_purchases: float | None = None
    mae: float | None = None
    tracking: list[float] = field(default_factory=list)  # cumulative predicted, by week
    conditional: list[float] = field(default_factory=list)  # mean predicted, by bucket


@dataclass(frozen=True)
class ValidationReport:
    calibration_end: date
    holdout_end: date
    n_customers: int
    actual_repeat_purchases: int
    weeks: list[float]  # tracking points: weeks after the calibration end
    actual_tracking: list[int]  # cumulative actual repeat purchases at each point
    buckets: list[str]  # "0", "1", ..., "7+"
    bucket_customers: list[int]
    actual_conditional: list[float]
    models: dict[str, ModelCheck]
    chosen: str | None
    reason: str

    def as_json(self) -> dict[str, object]:
        """The ``userops model --validate --json`` shape."""
        models: dict[str, object] = {}
        for name, check in self.models.items():
            if check.fit is None:
                models[name] = {"error": check.error}
                continue
            models[name] = {
                "params": dict(zip(check.fit.PARAMS, params_of(check.fit).tolist(), strict=True)),
                "log_likelihood": check.fit.log_lik,
                "bic": check.bic,
                "predicted_repeat_purchases": check.predicted_repeat_purchases,
                "mae": check.mae,
                "tracking": check.tracking,
                "conditional": check.conditional,
            }
        return {
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "customers": self.n_customers,
            "actual_repeat_purchases": self.actual_repeat_purchases,
            "weeks": self.weeks,
            "actual_tracking": self.actual_tracking,
            "buckets": self.buckets,
            "bucket_customers": self.bucket_customers,
            "actual_conditional": self.actual_conditional,
            "models": models,
            "chosen": self.chosen,
            "reason": self.reason,
        }


def validate(
    conn: sqlite3.Connection, calibration_end: date, holdout_end: date
) -> ValidationReport:
    """Fit every purchase model on orders up to ``calibration_end`` and compare their
    predictions with the purchase days of the same customers in (calibration_end,
    holdout_end]. Raises ModelFitError when the holdout is empty or reversed."""
    if holdout_end <= calibration_end:
        raise ModelFitError(
            f"the holdout end {holdout_end.isoformat()} must come after the calibration end "
            f"{calibration_end.isoformat()}"
        )
    summary = summarise(conn, calibration_end)
    holdout_days = (holdout_end - calibration_end).days
    actual, day_of, on_day = _holdout(conn, summary, calibration_end, holdout_end)
    x, t_x, T = (summary[c].to_numpy(dtype="float64") for c in ("x", "t_x", "T"))
    weeks = [float(w) for w in range(1, math.ceil(holdout_days / 7) + 1)]
    weeks[-1] = holdout_days / DAYS_PER_UNIT if weeks else 0.0
    actual_tracking = [int(on_day[day_of <= round(w * 7)].sum()) for w in weeks]
    bucket = np.minimum(x, CONDITIONAL_MAX).astype(int)
    buckets = [str(b) for b in range(CONDITIONAL_MAX)] + [f"{CONDITIONAL_MAX}+"]
    counts = np.bincount(bucket, minlength=CONDITIONAL_MAX + 1)
    actual_conditional = _bucket_means(actual, bucket, counts)
    checks = {}
    for name in PURCHASE_MODELS:
        try:
            fit = FITTERS[name](x, t_x, T)
        except ModelFitError as exc:
            checks[name] = ModelCheck(name, None, str(exc))
            continue
        checks[name] = _check(name, fit, x, t_x, T, actual, weeks, bucket, counts, holdout_days)
    chosen, reason = _choose(checks, calibration_end, holdout_end)
    return ValidationReport(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        n_customers=len(summary),
        actual_repeat_purchases=int(actual.sum()),
        weeks=weeks,
        actual_tracking=actual_tracking,
        buckets=buckets,
        bucket_customers=counts.tolist(),
        actual_conditional=actual_conditional,
        models=checks,
        chosen=chosen,
        reason=reason,
    )


def _holdout(
    conn: sqlite3.Connection, summary: pd.DataFrame, cut: date, end: date
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each calibration buyer's holdout purchase days (summary order); the holdout days (1 =
    the day after the cut) with purchases and how many purchase days each had. On DuckDB and
    ClickHouse two aggregates read from the engine (one row per holdout buyer, one per day); on
    SQLite its (user, day) pairs, counted here: the same figures."""
    params = {
        "start": (cut + timedelta(days=1)).isoformat(),
        "end": (end + timedelta(days=1)).isoformat(),
    }
    if engine_of(conn) == "sqlite":
        pairs = pd.read_sql_query(_HOLDOUT_PAIRS_SQL, conn, params=params)
        pairs = pairs[pairs["user_id"].isin(set(summary["user_id"]))]
        per_day = pairs.groupby("user_id").size()
        actual = summary["user_id"].map(per_day).fillna(0).to_numpy(dtype="float64")
        on_each = pairs.groupby("day").size()
        offsets = (
            pd.to_datetime(pd.Series(on_each.index, dtype="object")) - pd.Timestamp(cut)
        ).dt.days
        return actual, offsets.to_numpy(dtype="int64"), on_each.to_numpy(dtype="int64")
    per_user = dict(conn.execute(_HOLDOUT_BY_USER_SQL, params).fetchall())
    actual = summary["user_id"].map(per_user).fillna(0).to_numpy(dtype="float64")
    days = conn.execute(_HOLDOUT_BY_DAY_SQL, params).fetchall()
    offsets = (
        pd.to_datetime(pd.Series([d for d, _ in days], dtype="object")) - pd.Timestamp(cut)
    ).dt.days
    day_of = offsets.to_numpy(dtype="int64")
    on_day = np.asarray([n for _, n in days], dtype="int64")
    return actual, day_of, on_day


def _bucket_means(values: np.ndarray, bucket: np.ndarray, counts: np.ndarray) -> list[float]:
    sums = np.bincount(bucket, weights=values, minlength=len(counts))
    with np.errstate(invalid="ignore"):
        means = sums / counts
    return [float(m) if c else 0.0 for m, c in zip(means, counts, strict=True)]


def _check(
    name: str,
    fit: PurchaseFit,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    actual: np.ndarray,
    weeks: list[float],
    bucket: np.ndarray,
    counts: np.ndarray,
    holdout_days: int,
) -> ModelCheck:
    rows, back, weight = distinct_rows(x, t_x, T)
    hx, htx, hT = rows[:, 0], rows[:, 1], rows[:, 2]
    alive = p_alive(fit, hx, htx, hT)
    tracking = [float(weight @ (purchases_if_alive(fit, w, hx, hT) * alive)) for w in weeks]
    predicted = (purchases_if_alive(fit, holdout_days / DAYS_PER_UNIT, hx, hT) * alive)[back]
    n = len(x)
    return ModelCheck(
        name=name,
        fit=fit,
        error=None,
        bic=-2 * fit.log_lik + len(fit.PARAMS) * math.log(n),
        predicted_repeat_purchases=float(predicted.sum()),
        mae=float(np.abs(predicted - actual).mean()),
        tracking=tracking,
        conditional=_bucket_means(predicted, bucket, counts),
    )


def _choose(checks: dict[str, ModelCheck], cut: date, end: date) -> tuple[str | None, str]:
    """The model with the lowest per-customer MAE on the holdout (ties: the lower BIC)."""
    fitted = [c for c in checks.values() if c.fit is not None and c.mae is not None]
    if not fitted:
        return None, "no purchase model could be fitted on the calibration period"
    allowed = automatic_candidates({c.name: c for c in fitted})
    best = min(
        (c for c in fitted if c.name in allowed), key=lambda c: (round(c.mae or 0.0, 6), c.bic)
    )
    others = ", ".join(f"{MODEL_TITLES[c.name]} {c.mae:.4f}" for c in fitted if c.name != best.name)
    reason = (
        f"lowest per-customer error on the holdout {cut.isoformat()}..{end.isoformat()}: "
        f"MAE {best.mae:.4f}" + (f" (others: {others})" if others else "")
    )
    if best.name != "bgnbd" and "bgnbd" in checks and checks["bgnbd"].fit is not None:
        reason += f"; {BG_ONLY_EXPLICIT}"
    return best.name, reason


@dataclass(frozen=True)
class StoredModels:
    """What the Models view shows: the stored fits, the last validation, the choice."""

    fits: list[tuple[str, dict[str, float], float | None, str | None, dict[str, object]]]
    validation: dict[str, object] | None  # ValidationReport.as_json() of the last --validate
    used: dict[str, str] | None  # meta model_used: {model, reason}
    choice: dict[str, str] | None  # meta model_choice: {model, reason, by}
    fits_as_of: str | None = None  # the date of the fits shown: the one the predictions use


def stored_models(conn: sqlite3.Connection) -> StoredModels:
    """The fits (model, params, log-lik, error, diagnostics) in PURCHASE_MODELS order, then
    Gamma-Gamma, of one date: the fit the predictions use (meta fit_as_of), else the latest
    (the table keeps a fit per date); the last validation; which model the outputs use and the
    recorded choice."""
    import json

    from core.analytics.predict import VALIDATION_KEY, model_in_use, recorded_choice
    from core.store.db import get_meta

    order = {name: i for i, name in enumerate((*PURCHASE_MODELS, "gamma_gamma"))}
    dates = {d for (d,) in conn.execute("SELECT DISTINCT as_of FROM model_fits")}
    used_fit = (get_meta(conn, "fit_as_of") or "")[:10]
    fits_as_of = used_fit if used_fit in dates else max(dates, default=None)
    rows = conn.execute(
        "SELECT model, params, log_lik, error, diagnostics FROM model_fits WHERE as_of = ?",
        (fits_as_of,),
    )
    fits = []
    for model, params, log_lik, error, diagnostics in sorted(
        rows.fetchall(), key=lambda r: order.get(r[0], 99)
    ):
        fits.append(
            (model, json.loads(params or "{}"), log_lik, error, json.loads(diagnostics or "{}"))
        )
    raw = get_meta(conn, VALIDATION_KEY)
    try:
        validation = json.loads(raw) if raw else None
    except ValueError:
        validation = None
    return StoredModels(
        fits, validation, model_in_use(conn), recorded_choice(conn), fits_as_of=fits_as_of
    )
