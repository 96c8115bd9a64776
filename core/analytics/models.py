"""The two models behind the predictive tags, as pure functions (numpy in, numpy out).

BG/NBD (Fader, Hardie & Lee 2005: P(alive), expected purchases) and Gamma-Gamma (Fader, Hardie
& Lee 2005b: expected order value), fitted by maximum likelihood with analytic gradients, and a
CLV over a horizon. The papers' conventions: repeat purchases are distinct purchase days after
the first, time is in weeks from the first purchase day. Formulas: docs/models.md. Reading the
purchase history and writing the outputs is core.analytics.predict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

from core.errors import ModelFitError

TIME_UNIT = "weeks"
DAYS_PER_UNIT = 7.0
WEEKS_PER_MONTH = 365.25 / 12 / DAYS_PER_UNIT
MIN_CUSTOMERS = 10
MIN_REPEAT_BUYERS = 5
# Estimates are searched on log scale inside these bounds; an estimate on a bound means the
# data cannot identify the model (e.g. nobody seems to drop out), which we report, not store.
LOG_BOUNDS = (np.log(1e-6), np.log(1e6))


@dataclass(frozen=True)
class BgNbdFit:
    r: float
    alpha: float
    a: float
    b: float
    log_lik: float
    n_customers: int
    time_unit: str = TIME_UNIT


@dataclass(frozen=True)
class GammaGammaFit:
    p: float
    q: float
    v: float
    log_lik: float
    n_customers: int


def bgnbd_log_lik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood (paper eq. 6), the x > 0 term by log-sum-exp."""
    return _bgnbd_terms(params, x, t_x, T, _levels(x))[0]


def distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``np.unique(np.column_stack(columns), axis=0, return_inverse=True,
    return_counts=True)`` gives (rows in the same sorted order), by one lexsort of the columns:
    5x faster than the row-view sort np.unique does on 700k customers."""
    n = len(columns[0])
    order = np.lexsort(columns[::-1])  # by the first column, then the next, ...
    stacked = np.column_stack(columns)[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = (stacked[1:] != stacked[:-1]).any(axis=1)
    group = np.cumsum(starts) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    return stacked[starts], inverse, np.bincount(group, minlength=int(starts.sum()))


Levels = tuple[np.ndarray, np.ndarray]


def _levels(x: np.ndarray) -> Levels:
    """x's distinct values and each customer's index into them. The gamma-function terms
    depend on x alone, which takes few distinct values (repeat purchase counts): they are
    evaluated once per value and indexed back. Found once per fit, not per evaluation (the
    sort behind it cost more than the likelihood itself)."""
    levels, at = np.unique(x, return_inverse=True)
    return levels, at


def _bgnbd_terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, x_levels: Levels
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its (4, n) gradient in (r, alpha, a, b)."""
    r, alpha, a, b = params
    levels, at = x_levels
    g_rx, g_bx, g_abx = (gammaln(v + levels)[at] for v in (r, b, a + b))
    d_rx, d_bx, d_abx = (digamma(v + levels)[at] for v in (r, b, a + b))
    repeat = x > 0
    b_x1 = np.where(repeat, b + x - 1, 1.0)  # log(b + x - 1) only matters where x > 0
    log_aT, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    a3 = -(r + x) * log_aT
    a4 = np.where(repeat, np.log(a) - np.log(b_x1) - (r + x) * log_atx, -np.inf)
    mix = np.logaddexp(a3, a4)
    ll = (
        g_rx - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + g_bx - gammaln(b) - g_abx
        + mix
    )  # fmt: skip
    w3, w4 = np.exp(a3 - mix), np.exp(a4 - mix)  # shares of the two terms of the mixture
    grad = np.array([
        d_rx - digamma(r) + np.log(alpha) - w3 * log_aT - w4 * log_atx,
        r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x)),
        digamma(a + b) - d_abx + w4 / a,
        digamma(a + b) + d_bx - digamma(b) - d_abx - w4 / b_x1,
    ])  # fmt: skip
    return ll, grad


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit. Raises ModelFitError when the data cannot support it."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    _check_bgnbd_data(x, t_x, T)
    # customers with the same history contribute the same term: fit on the distinct ones
    rows, _, weights = distinct_rows(x, t_x, T)
    ux, ut_x, uT = rows[:, 0], rows[:, 1], rows[:, 2]
    n = float(weights.sum())
    x_levels = _levels(ux)

    def neg_mean_ll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        ll, grad = _bgnbd_terms(params, ux, ut_x, uT, x_levels)
        value = -float(np.dot(weights, ll)) / n
        if not np.isfinite(value):
            return 1e300, np.zeros(4)
        return value, -(grad @ weights) * params / n  # chain rule: d/d log θ = θ d/dθ

    r, alpha, a, b = _maximise(neg_mean_ll, np.zeros(4), "BG/NBD", ("r", "alpha", "a", "b"))
    log_lik = float(np.dot(weights, bgnbd_log_lik(np.array([r, alpha, a, b]), ux, ut_x, uT)))
    return BgNbdFit(float(r), float(alpha), float(a), float(b), log_lik, int(n))


def _check_bgnbd_data(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    n = len(x)
    if not (len(t_x) == n == len(T)):
        raise ModelFitError("x, t_x and T must have the same length")
    if n < MIN_CUSTOMERS:
        raise ModelFitError(
            f"only {n} customer(s) with orders; BG/NBD needs at least {MIN_CUSTOMERS}"
        )
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise ModelFitError("x, t_x or T has missing or infinite values")
    if (x < 0).any() or (t_x < 0).any() or (t_x > T).any():
        raise ModelFitError("need 0 <= x and 0 <= t_x <= T for every customer")
    repeaters = int((x > 0).sum())
    if repeaters < MIN_REPEAT_BUYERS:
        raise ModelFitError(
            f"only {repeaters} customer(s) bought again after their first purchase day; "
            f"BG/NBD needs at least {MIN_REPEAT_BUYERS} repeat buyers"
        )
    if np.ptp(x) == 0 and np.ptp(t_x) == 0 and np.ptp(T) == 0:
        raise ModelFitError(
            "every customer has the same purchase history; the data cannot tell the "
            "model's parameters apart"
        )


def _maximise(
    neg_ll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    model: str,
    names: tuple[str, ...],
) -> np.ndarray:
    """Minimise a negative log-likelihood over log-parameters; check the optimum is usable."""
    bounds = [LOG_BOUNDS] * len(start)
    res = minimize(neg_ll, start, method="L-BFGS-B", jac=True, bounds=bounds)
    if not res.success:
        # L-BFGS-B can stop on a line-search failure right at the optimum: polish and recheck
        res = minimize(
            lambda log_params: neg_ll(log_params)[0],
            res.x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12},
        )
    if not res.success:
        raise ModelFitError(f"{model}: the optimiser did not converge ({res.message})")
    params = np.exp(res.x)
    if not np.isfinite(params).all() or not np.isfinite(res.fun) or res.fun >= 1e300:
        raise ModelFitError(f"{model}: the fit gave non-finite parameters or likelihood")
    near_edge = np.isclose(res.x[:, None], np.array(LOG_BOUNDS), atol=1e-3).any(axis=1)
    at_bound = [name for name, edge in zip(names, near_edge, strict=True) if edge]
    if at_bound:
        raise ModelFitError(
            f"{model}: parameter(s) {', '.join(at_bound)} ran to the edge of the search range; "
            "the data cannot identify the model (too little variety among customers)"
        )
    return params


def p_alive(fit: BgNbdFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(customer still alive | x, t_x, T): 1 for customers with no repeat purchase."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    repeat, b_x1 = x > 0, np.where(x > 0, fit.b + x - 1, 1.0)
    log_ratio = (fit.r + x) * (np.log(fit.alpha + T) - np.log(fit.alpha + t_x))
    log_odds_dead = np.where(repeat, np.log(fit.a) - np.log(b_x1) + log_ratio, -np.inf)
    return expit(-log_odds_dead)


def expected_purchases(
    fit: BgNbdFit, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[repeat purchases in the next t time units | x, t_x, T] (paper eq. 10).

    The hypergeometric term is evaluated after Euler's transformation,
    (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z),
    which stays bounded for customers with many purchases (the raw form overflows).
    """
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    r, alpha, b = fit.r, fit.alpha, fit.b
    a = fit.a if abs(fit.a - 1.0) > 1e-6 else 1.0 + 1e-6  # a = 1 is a removable 0/0
    if t <= 0:
        return np.zeros_like(x)
    z = t / (alpha + T + t)
    c = a + b + x - 1
    tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, c, z)
    value = c / (a - 1) * (1.0 - tail) * p_alive(fit, x, t_x, T)
    return np.where(np.isfinite(value) & (value >= 0), value, np.nan)


def gamma_gamma_log_lik(params: np.ndarray, x: np.ndarray, zbar: np.ndarray) -> np.ndarray:
    """Each repeat customer's log-density of their mean spend zbar over x transactions."""
    return _gamma_gamma_terms(params, x, zbar, _levels(x))[0]


def _gamma_gamma_terms(
    params: np.ndarray, x: np.ndarray, zbar: np.ndarray, x_levels: Levels
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its (3, n) gradient in (p, q, v)."""
    p, q, v = params
    px, log_vxz = p * x, np.log(v + x * zbar)
    levels, at = x_levels  # gamma-function terms per distinct x only, as in _bgnbd_terms
    g_pxq, g_px = gammaln(p * levels + q)[at], gammaln(p * levels)[at]
    d_pxq, d_px = digamma(p * levels + q)[at], digamma(p * levels)[at]
    log_z, log_x = np.log(zbar), np.log(x)
    ll = (
        g_pxq - g_px - gammaln(q) + q * np.log(v)
        + (px - 1) * log_z + px * log_x - (px + q) * log_vxz
    )  # fmt: skip
    grad = np.array([
        x * (d_pxq - d_px + log_z + log_x - log_vxz),
        d_pxq - digamma(q) + np.log(v) - log_vxz,
        q / v - (px + q) / (v + x * zbar),
    ])  # fmt: skip
    return ll, grad


def fit_gamma_gamma(x: np.ndarray, zbar: np.ndarray) -> GammaGammaFit:
    """ML Gamma-Gamma fit on customers with x > 0 repeat purchases and positive mean spend.

    Others (one-time buyers, refund-only spend) are left out of the fit.
    """
    x, zbar = np.asarray(x, dtype="float64"), np.asarray(zbar, dtype="float64")
    keep = (x > 0) & np.isfinite(zbar) & (zbar > 0)
    x, zbar = x[keep], zbar[keep]
    if len(x) < MIN_REPEAT_BUYERS:
        raise ModelFitError(
            f"only {len(x)} repeat buyer(s) with a positive spend; Gamma-Gamma needs at "
            f"least {MIN_REPEAT_BUYERS}"
        )
    if np.ptp(zbar) == 0:
        raise ModelFitError("every repeat buyer has the same mean spend; nothing to fit")

    x_levels = _levels(x)

    def neg_mean_ll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        ll, grad = _gamma_gamma_terms(params, x, zbar, x_levels)
        value = -float(np.mean(ll))
        if not np.isfinite(value):
            return 1e300, np.zeros(3)
        return value, -grad.mean(axis=1) * params

    start = np.log([1.0, 1.0, float(np.mean(zbar))])
    p, q, v = _maximise(neg_mean_ll, start, "Gamma-Gamma", ("p", "q", "v"))
    if q <= 1:
        raise ModelFitError(
            f"Gamma-Gamma: q = {q:.3g} <= 1, so the fitted spend distribution has no finite "
            "mean (spend too heavy-tailed)"
        )
    log_lik = float(np.sum(gamma_gamma_log_lik(np.array([p, q, v]), x, zbar)))
    return GammaGammaFit(float(p), float(q), float(v), log_lik, len(x))


def expected_order_value(fit: GammaGammaFit, x: np.ndarray, zbar: np.ndarray) -> np.ndarray:
    """E[mean order value | x, zbar]: a weighted mix of the population mean p·v/(q-1) and zbar.

    One-time buyers (x = 0) get the population mean; a non-positive zbar counts as 0.
    """
    x = np.asarray(x, dtype="float64")
    zbar = np.nan_to_num(np.asarray(zbar, dtype="float64"), nan=0.0).clip(min=0.0)
    zbar = np.where(x > 0, zbar, 0.0)
    return fit.p * (fit.v + x * zbar) / (fit.p * x + fit.q - 1)


def clv(
    bgnbd: BgNbdFit,
    order_value: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    horizon_months: int = 12,
    monthly_discount: float = 0.01,
) -> np.ndarray:
    """Σ_m (E[Y(m months)] − E[Y(m−1 months)]) × order value / (1 + d)^m, m = 1..horizon."""
    total = np.zeros(len(np.asarray(x)))
    previous = np.zeros_like(total)
    for month in range(1, horizon_months + 1):
        cumulative = expected_purchases(bgnbd, month * WEEKS_PER_MONTH, x, t_x, T)
        total += (cumulative - previous) / (1.0 + monthly_discount) ** month
        previous = cumulative
    return total * np.asarray(order_value, dtype="float64")
