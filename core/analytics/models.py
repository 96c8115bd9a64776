"""The models behind the predictive tags, as pure functions (numpy in, numpy out).

Three purchase-count models — BG/NBD (Fader, Hardie & Lee 2005), Pareto/NBD (Schmittlein,
Morrison & Colombo 1987, in Fader & Hardie's stable formulation) and MBG/NBD (Batislam, Denizel
& Filiztekin 2007) — give P(alive) and expected purchases; Gamma-Gamma (Fader, Hardie & Lee
2005b) gives the expected order value; CLV combines them over a horizon. Fitted by maximum
likelihood (analytic gradients; for the Pareto/NBD the hypergeometric part by central
differences), polished by Newton steps to the maximum, with the gradient checked and the
standard errors taken from the Hessian there. The papers' conventions: repeat purchases are
distinct purchase days after the first, time is in weeks from the first purchase day.
Formulas: docs/models.md. Reading the purchase history and writing the outputs is
core.analytics.predict.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, cast

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1
from threadpoolctl import ThreadpoolController

from core.errors import ModelFitError

T = TypeVar("T")

TIME_UNIT = "weeks"
DAYS_PER_UNIT = 7.0
WEEKS_PER_MONTH = 365.25 / 12 / DAYS_PER_UNIT
MIN_CUSTOMERS = 10
MIN_REPEAT_BUYERS = 5
# Estimates are searched on log scale inside these bounds; an estimate on a bound means the
# data cannot identify the model (e.g. nobody seems to drop out), which we report, not store.
LOG_BOUNDS = (np.log(1e-6), np.log(1e6))
# A fit has converged when no parameter can move the total log-likelihood by more than this
# per unit of its logarithm (|d LL / d ln θ| at the solution).
GRADIENT_TOLERANCE = 1e-3
# No fit's search takes more evaluations of the likelihood than this (L-BFGS-B, Nelder-Mead
# and the Newton polish with its Hessians together); the fits of the tests (CDNOW included)
# and of bench_models' 700k buyers take 37-70, its one-dropout-rate limit 153. Spent, the fit
# stops at the best point and is reported as not converged: a likelihood that costs seconds
# per evaluation cannot run for an hour.
MAX_EVALUATIONS = 300
# The Pareto/NBD's search also stops at this many points where its likelihood cannot be
# evaluated (scipy's hyp2f1 fails, NaN, beyond r + x ~ 300 with α far above β + t, and costs
# 10-100x more near there): one failed trial can be a line search overshooting; a search that
# steps there again is heading for values it cannot reach, not for a maximum inside (no fit
# of the tests or benchmarks fails more than once short of such an edge).
MAX_FAILED_EVALUATIONS = 2


@dataclass(frozen=True)
class FitInfo:
    """How a fit ended: convergence, the gradient at the solution and the uncertainty."""

    converged: bool
    iterations: int  # optimiser iterations, Newton polish included
    gradient_norm: float  # max |d LL / d ln θ| at the solution (total log-likelihood)
    gradient_check: float  # max |analytic - finite-difference| of that gradient
    standard_errors: dict[str, float]  # from the inverse Hessian (delta method: θ · se(ln θ))
    cov_log: tuple[tuple[float, ...], ...]  # covariance of ln θ (inverse Hessian of -LL)

    def as_dict(self) -> dict[str, object]:
        return {
            "converged": self.converged,
            "iterations": self.iterations,
            "gradient_norm": self.gradient_norm,
            "gradient_check": self.gradient_check,
            "standard_errors": dict(self.standard_errors),
            "cov_log": [list(row) for row in self.cov_log],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FitInfo:
        """The inverse of ``as_dict`` (model_fits.diagnostics): floats round-trip exactly
        through JSON, so a stored fit scores to the same bits as the fit itself."""
        return cls(
            converged=bool(raw["converged"]),
            iterations=int(raw["iterations"]),
            gradient_norm=float(raw["gradient_norm"]),
            gradient_check=float(raw["gradient_check"]),
            standard_errors=dict(raw.get("standard_errors", {})),
            cov_log=tuple(tuple(float(v) for v in row) for row in raw.get("cov_log", ())),
        )


@dataclass(frozen=True)
class BgNbdFit:
    r: float
    alpha: float
    a: float
    b: float
    log_lik: float
    n_customers: int
    time_unit: str = TIME_UNIT
    info: FitInfo | None = field(default=None, compare=False)
    PARAMS: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    NAME: ClassVar[str] = "bgnbd"


@dataclass(frozen=True)
class ParetoNbdFit:
    r: float
    alpha: float
    s: float
    beta: float
    log_lik: float
    n_customers: int
    time_unit: str = TIME_UNIT
    info: FitInfo | None = field(default=None, compare=False)
    PARAMS: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    NAME: ClassVar[str] = "pareto_nbd"


@dataclass(frozen=True)
class ParetoNbdLimitFit:
    """The Pareto/NBD's limit s, β -> ∞ with s/β = μ: every customer's lifetime is
    Exponential(μ), one dropout rate for all (homogeneous dropout). Fitted when the full
    model's s runs to the upper edge of the search range; reported as ``pareto_nbd``."""

    r: float
    alpha: float
    mu: float
    log_lik: float
    n_customers: int
    time_unit: str = TIME_UNIT
    info: FitInfo | None = field(default=None, compare=False)
    PARAMS: ClassVar[tuple[str, ...]] = ("r", "alpha", "mu")
    NAME: ClassVar[str] = "pareto_nbd"


@dataclass(frozen=True)
class MbgNbdFit:
    r: float
    alpha: float
    a: float
    b: float
    log_lik: float
    n_customers: int
    time_unit: str = TIME_UNIT
    info: FitInfo | None = field(default=None, compare=False)
    PARAMS: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    NAME: ClassVar[str] = "mbgnbd"


@dataclass(frozen=True)
class GammaGammaFit:
    p: float
    q: float
    v: float
    log_lik: float
    n_customers: int
    info: FitInfo | None = field(default=None, compare=False)
    PARAMS: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    NAME: ClassVar[str] = "gamma_gamma"


PurchaseFit = BgNbdFit | ParetoNbdFit | ParetoNbdLimitFit | MbgNbdFit
PURCHASE_MODELS = ("bgnbd", "pareto_nbd", "mbgnbd")  # the names the CLI and model_fits use
MODEL_TITLES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "mbgnbd": "MBG/NBD"}


def params_of(fit: PurchaseFit | GammaGammaFit) -> np.ndarray:
    return np.array([getattr(fit, name) for name in fit.PARAMS], dtype="float64")


def with_params(fit: PurchaseFit, params: np.ndarray) -> PurchaseFit:
    """The same kind of fit with other parameter values (for sampling the parameters)."""
    kind = cast(Any, type(fit))  # each fit class takes its parameters, then log_lik, n
    return cast(PurchaseFit, kind(*(float(v) for v in params), fit.log_lik, fit.n_customers))


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


def mbgnbd_log_lik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's MBG/NBD log-likelihood (Batislam et al. 2007, eq. 5)."""
    return _mbgnbd_terms(params, x, t_x, T, _levels(x))[0]


def _mbgnbd_terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, x_levels: Levels
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer MBG/NBD log-likelihood and its (4, n) gradient in (r, alpha, a, b).

    As BG/NBD, but the customer may also drop out at time 0 (right after the first purchase),
    so the drop-out term is there for x = 0 too and the beta function moves to b + x + 1.
    """
    r, alpha, a, b = params
    levels, at = x_levels
    g_rx, g_bx1, g_abx1 = (gammaln(v + levels)[at] for v in (r, b + 1, a + b + 1))
    d_rx, d_bx1, d_abx1 = (digamma(v + levels)[at] for v in (r, b + 1, a + b + 1))
    log_aT, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    a3 = -(r + x) * log_aT
    a4 = np.log(a) - np.log(b + x) - (r + x) * log_atx
    mix = np.logaddexp(a3, a4)
    ll = (
        g_rx - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + g_bx1 - gammaln(b) - g_abx1
        + mix
    )  # fmt: skip
    w3, w4 = np.exp(a3 - mix), np.exp(a4 - mix)
    grad = np.array([
        d_rx - digamma(r) + np.log(alpha) - w3 * log_aT - w4 * log_atx,
        r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x)),
        digamma(a + b) - d_abx1 + w4 / a,
        digamma(a + b) + d_bx1 - digamma(b) - d_abx1 - w4 / (b + x),
    ])  # fmt: skip
    return ll, grad


# ---------------------------------------------------------------- Pareto/NBD


def pareto_tail_log(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """ln[(r+s+x) ∫_t^∞ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ]: one of the two terms of Fader &
    Hardie's A0 (their 2F1(r+s+x, s+1; r+s+x+1; (α-β)/(α+t)) / (α+t)^(r+s+x) for α >= β, the
    roles swapped for α < β). Evaluated after Euler's transformation,
    2F1(r+s+x, s+1; r+s+x+1; z) = (1-z)^-s 2F1(1, r+x; r+s+x+1; z), whose series has positive
    terms and stays bounded as z -> 1 (the raw form grows like (1-z)^-s and overflows with the
    power of (α+t) for heavy buyers)."""
    c = r + s + x + 1
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        return -(r + x) * np.log(alpha + t) - s * np.log(beta + t) + np.log(hyp2f1(1, r + x, c, z))
    z = (beta - alpha) / (beta + t)
    return (
        -(r + x - 1) * np.log(alpha + t) - (s + 1) * np.log(beta + t)
        + np.log(hyp2f1(1, s + 1, c, z))
    )  # fmt: skip


def _pareto_pairs(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct (x, t) pairs among (x, t_x) and (x, T), and each customer's two indices:
    the hypergeometric terms depend on x and one time only, and take far fewer values than the
    (x, t_x, T) histories (about 30k for 460k histories on day-rounded data)."""
    n = len(x)
    rows, inverse, _ = distinct_rows(np.concatenate([x, x]), np.concatenate([t_x, T]))
    return rows[:, 0], rows[:, 1], inverse[:n], inverse[n:]


_FD_STEP = 1e-5  # central differences in ln θ: truncation error ~1e-11 of the derivative


def _pareto_terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, pairs: tuple, levels: Levels
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer Pareto/NBD log-likelihood and its (4, n) gradient in (r, alpha, s, beta).

    LL = ln Γ(r+x) - ln Γ(r) + r ln α + s ln β + ln[e^A + e^B],
    A = -(r+x) ln(α+T) - s ln(β+T), B = ln s - ln(r+s+x) + ln(F(t_x) - F(T)), F = e^g with
    g = pareto_tail_log. The derivatives of g (a hypergeometric function of the parameters) are
    central differences on the distinct (x, t) pairs; everything else is analytic.
    """
    r, alpha, s, beta = params
    px, pt, i_tx, i_T = pairs
    g = pareto_tail_log(r, alpha, s, beta, px, pt)
    dg = np.full((4, len(px)), np.nan)
    # scipy's hyp2f1 fails (NaN) for r + x above ~300 with z near 1 (α far above β + t): the
    # customers it fails for get a NaN log-likelihood, not one without the dropout term, and
    # the costly differences are skipped (the fit treats the point as one it cannot evaluate)
    evaluable = np.isfinite(g)
    for j in range(4 if evaluable.all() else 0):
        up, down = params.copy(), params.copy()
        up[j] *= np.exp(_FD_STEP)
        down[j] *= np.exp(-_FD_STEP)
        dg[j] = (pareto_tail_log(*_four(up), px, pt) - pareto_tail_log(*_four(down), px, pt)) / (
            2 * _FD_STEP * params[j]
        )
    g_tx, g_T = g[i_tx], g[i_T]
    ratio = np.exp(np.minimum(g_T - g_tx, 0.0))  # F(T) / F(t_x) <= 1
    gap = -np.expm1(g_T - g_tx)  # 1 - F(T)/F(t_x), 0 when t_x = T
    alive_gap = gap > 0
    log_gap = np.log(np.where(alive_gap, gap, 1.0))
    rsx = r + s + x
    log_aT, log_bT = np.log(alpha + T), np.log(beta + T)
    A = -(r + x) * log_aT - s * log_bT
    B = np.where(alive_gap, np.log(s) - np.log(rsx) + g_tx + log_gap, -np.inf)
    mix = np.where(evaluable[i_tx] & evaluable[i_T], np.logaddexp(A, B), np.nan)
    lv, at = levels
    ll = gammaln(r + lv)[at] - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + mix
    wA, wB = np.exp(A - mix), np.exp(B - mix)
    safe_gap = np.where(alive_gap, gap, 1.0)
    d_gapterm = (dg[:, i_tx] - ratio * dg[:, i_T]) / safe_gap  # d ln(F(t_x) - F(T))
    dA = np.array([-log_aT, -(r + x) / (alpha + T), -log_bT, -s / (beta + T)])
    dB = d_gapterm + np.array([-1 / rsx, np.zeros_like(x), 1 / s - 1 / rsx, np.zeros_like(x)])
    grad = np.array([
        digamma(r + lv)[at] - digamma(r) + np.log(alpha), np.full_like(x, r / alpha), np.full_like(x, np.log(beta)),
        np.full_like(x, s / beta),
    ]) + wA * dA + wB * dB  # fmt: skip
    return ll, grad


def pareto_nbd_log_lik(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Each customer's Pareto/NBD log-likelihood (Fader & Hardie 2005, "A note on deriving the
    Pareto/NBD model", eq. 22)."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    return _pareto_terms(np.asarray(params, float), x, t_x, T, _pareto_pairs(x, t_x, T),
                         _levels(x))[0]  # fmt: skip


# ---------------------------------------------------------------- Pareto/NBD, one dropout rate

_GAUSS_LEGENDRE = 100  # nodes of the quadrature for small arguments (scaled_expint)
CF_FROM_R = 30.0  # scaled_expint: from this r on, the continued fraction for every z


def _expint_cf(p: np.ndarray, z: np.ndarray) -> np.ndarray:
    """e^z E_p(z) by its continued fraction (modified Lentz), for z >= 1 and p >= z, and for
    z < 1 when p >= CF_FROM_R (relative error below 2e-15 against numerical integration)."""
    tiny = 1e-300
    b = z + p
    c = np.full_like(b, 1 / tiny)
    d = 1 / b
    h = d.copy()
    done = np.zeros(b.shape, dtype=bool)
    for i in range(1, 5000):
        an = -i * (p - 1 + i)
        b = b + 2
        d = 1 / (an * d + b)
        c = b + an / c
        delta = c * d
        h = np.where(done, h, h * delta)
        done |= np.abs(delta - 1) < 5e-16
        if done.all():
            break
    return h


@functools.cache
def _legendre() -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import roots_legendre

    return roots_legendre(_GAUSS_LEGENDRE)


def _expint_quad(p: float, z: np.ndarray) -> np.ndarray:
    """e^z E_p(z) = e^z ∫_0^∞ exp((1-p)u - z e^u) du for z < 1 and p < 2, by Gauss-Legendre
    on [0, ln(80/z) + 1] (beyond it the integrand is below e^-50 of its peak)."""
    nodes, weights = _legendre()
    top = np.log(80 / z) + 1.0
    u = (nodes[None, :] + 1) / 2 * top[:, None]
    f = np.exp((1 - p) * u - z[:, None] * np.expm1(u))
    return (f @ weights) * top / 2


def scaled_expint(r: float, top: int, z: np.ndarray) -> np.ndarray:
    """h[x, j] = e^(z_j) E_(r+x)(z_j) for x = 0..top (E_p the generalised exponential integral
    ∫_1^∞ e^(-zs) s^(-p) ds = U(1, 2-p, z) e^(-z)): one (top + 1, len(z)) table.

    Per z, one value by a stable method, the others by the three-term recurrence in the
    direction it is stable: up, h_(p+1) = (1 - z h_p) / p, while p >= z; down,
    h_p = (1 - p h_(p+1)) / z, while p < z. Small z (< 1) start at p0 = r (r < 1, with r + 1
    also by quadrature) or r - floor(r) + 1 in [1, 2) (the levels below r are stepped
    through); large z at the first level p >= z, by the continued fraction. Relative error
    below 1e-13 against numerical integration for r 0.05..60, x 0..300, z 1e-7..2000 (test);
    scipy's hyperu is off by 1e-10 in places and fails for p > 170."""
    z = np.asarray(z, dtype="float64")
    # From r = CF_FROM_R the continued fraction is exact (1e-15) for small z too: starting
    # there, not floor(r) recurrence steps below x = 0, keeps a fit heading to r = 1e6 fast
    # (each evaluation had stepped through ~r levels: minutes for one fit on 40 buyers)
    small = z < 1 if r < CF_FROM_R else np.zeros(len(z), dtype=bool)
    shift = 0 if r < 1 else int(np.floor(r)) - 1  # virtual levels below x = 0
    anchor = np.where(small, -shift, np.clip(np.ceil(z - r), 0, top)).astype(np.int64)
    start = np.empty(len(z))
    start[~small] = _expint_cf(r + anchor[~small], z[~small])
    second = None
    if small.any():
        start[small] = _expint_quad(r - shift, z[small])
        if r < 1:
            second = _expint_quad(r + 1, z[small])
    table = np.empty((top + 1, len(z)))
    placed = anchor >= 0
    table[anchor[placed], np.flatnonzero(placed)] = start[placed]
    cur = start.copy()
    for x in range(min(int(anchor.min()), 0) + 1, top + 1):
        up = anchor < x
        nxt = (1 - z * cur) / (r + x - 1)
        if second is not None and x == 1:
            nxt[small] = second
        cur = np.where(up, nxt, cur)
        if x >= 0:
            table[x] = np.where(up, cur, table[x])
    cur = start.copy()
    for x in range(top - 1, -1, -1):
        down = anchor > x
        cur = np.where(down, (1 - (r + x) * cur) / z, cur)
        table[x] = np.where(down, cur, table[x])
    return table


def limit_tail_log(r: float, alpha: float, mu: float, top: int, times: np.ndarray) -> np.ndarray:
    """ln ∫_t^∞ (α+τ)^-(r+x) e^(-μτ) dτ for x = 0..top and each t of ``times``: a
    (top + 1, len(times)) table. The integral is (α+t)^(1-r-x) e^(-μt) h_(r+x)(μ(α+t)) with
    h = scaled_expint (substitute τ = (α+t)s - α)."""
    z = mu * (alpha + times)
    h = scaled_expint(r, top, z)
    k = r + np.arange(top + 1)[:, None]
    return (1 - k) * np.log(alpha + times)[None, :] - mu * times[None, :] + np.log(h)


def _limit_times(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct times among t_x and T, each customer's two indices into them, x as an
    index and the largest x (the tail table is per repeat count and time)."""
    times, inverse = np.unique(np.concatenate([t_x, T]), return_inverse=True)
    n = len(x)
    xi = x.astype(np.int64)
    # flat indices into the (x, time) table's ravel(): one 1-D take per lookup
    at_tx, at_T = xi * len(times) + inverse[:n], xi * len(times) + inverse[n:]
    return times, at_tx, at_T, xi, np.array([xi.max() if n else 0])


def _limit_terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, times: tuple, levels: Levels
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the homogeneous-dropout limit and its (3, n) gradient in
    (r, alpha, mu).

    LL = ln Γ(r+x) - ln Γ(r) + r ln α + ln[e^A + e^B], A = -(r+x) ln(α+T) - μT (alive at T),
    B = ln μ + ln(I(t_x) - I(T)) (gone in (t_x, T]), I(t) = ∫_t^∞ (α+τ)^-(r+x) e^(-μτ) dτ:
    the Pareto/NBD's LL as s, β -> ∞ with s/β = μ (β^s (β+τ)^-(s+1) -> (μ/s) e^(-μτ)).
    The derivatives of ln I in r and μ are central differences (like the Pareto/NBD's
    hypergeometric part); the rest is analytic."""
    r, alpha, mu = params
    tt, i_tx, i_T, _, top = times
    g = limit_tail_log(r, alpha, mu, int(top[0]), tt)
    dg = np.empty((3, len(x)))
    dg_T = np.empty((3, len(x)))
    # d ln I / dα = μ - (α+t)^-(r+x) e^(-μt) / I (by parts: dI/dα = -(r+x) I_(r+x+1) =
    # μ I - (α+t)^-(r+x) e^(-μt)), analytic; r and μ by central differences
    k = r + np.arange(int(top[0]) + 1)[:, None]
    d_alpha = mu - np.exp(-k * np.log(alpha + tt)[None, :] - mu * tt[None, :] - g)
    dg[1], dg_T[1] = d_alpha.ravel()[i_tx], d_alpha.ravel()[i_T]
    for j in (0, 2):
        up, down = params.copy(), params.copy()
        up[j] *= np.exp(_FD_STEP)
        down[j] *= np.exp(-_FD_STEP)
        diff = (
            limit_tail_log(up[0], up[1], up[2], int(top[0]), tt)
            - limit_tail_log(down[0], down[1], down[2], int(top[0]), tt)
        ).ravel() / (2 * _FD_STEP * params[j])
        dg[j], dg_T[j] = diff[i_tx], diff[i_T]
    g_tx, g_T = g.ravel()[i_tx], g.ravel()[i_T]
    ratio = np.exp(np.minimum(g_T - g_tx, 0.0))
    gap = -np.expm1(g_T - g_tx)
    alive_gap = gap > 0
    safe_gap = np.where(alive_gap, gap, 1.0)
    log_aT = np.log(alpha + T)
    A = -(r + x) * log_aT - mu * T
    B = np.where(alive_gap, np.log(mu) + g_tx + np.log(safe_gap), -np.inf)
    mix = np.logaddexp(A, B)
    lv, at = levels
    ll = gammaln(r + lv)[at] - gammaln(r) + r * np.log(alpha) + mix
    wA, wB = np.exp(A - mix), np.exp(B - mix)
    dB = (dg - ratio * dg_T) / safe_gap
    dB[2] += 1 / mu
    dA = np.array([-log_aT, -(r + x) / (alpha + T), -T])
    grad = np.array([
        digamma(r + lv)[at] - digamma(r) + np.log(alpha), np.full_like(x, r / alpha),
        np.zeros_like(x),
    ]) + wA * dA + wB * dB  # fmt: skip
    return ll, grad


def pareto_nbd_limit_log_lik(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood under the homogeneous-dropout limit (r, α, μ)."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    return _limit_terms(np.asarray(params, float), x, t_x, T, _limit_times(x, t_x, T),
                        _levels(x))[0]  # fmt: skip


# ---------------------------------------------------------------- fitting


def _fit_counts(
    kind: Any, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, start: np.ndarray | None
) -> PurchaseFit:
    """Maximum-likelihood fit of one of the purchase-count models on the distinct histories."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    title = MODEL_TITLES[kind.NAME]
    _check_counts_data(x, t_x, T, title)
    # customers with the same history contribute the same term: fit on the distinct ones
    rows, _, weights = distinct_rows(x, t_x, T)
    ux, ut_x, uT = rows[:, 0], rows[:, 1], rows[:, 2]
    n = float(weights.sum())
    x_levels = _levels(ux)
    if kind is ParetoNbdFit:
        pairs = _pareto_pairs(ux, ut_x, uT)

        def terms(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return _pareto_terms(params, ux, ut_x, uT, pairs, x_levels)
    elif kind is ParetoNbdLimitFit:
        times = _limit_times(ux, ut_x, uT)

        def terms(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return _limit_terms(params, ux, ut_x, uT, times, x_levels)
    else:
        fn = _bgnbd_terms if kind is BgNbdFit else _mbgnbd_terms

        def terms(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return fn(params, ux, ut_x, uT, x_levels)

    def neg_mean_ll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll, grad = terms(params)
        value = -float(np.dot(weights, ll)) / n
        gradient = -(grad @ weights) * params / n  # chain rule: d/d log θ = θ d/dθ
        if not (np.isfinite(value) and np.isfinite(gradient).all()):
            return 1e300, np.zeros(k)
        return value, gradient

    k = len(kind.PARAMS)
    begin = np.zeros(k) if start is None else np.log(np.asarray(start, dtype="float64"))
    params, info = _optimise(
        neg_mean_ll, begin, title, kind.PARAMS, n, unevaluable_is_edge=kind is ParetoNbdFit
    )
    with np.errstate(all="ignore"):
        log_lik = float(np.dot(weights, terms(params)[0]))
    return kind(*(float(v) for v in params), log_lik, int(n), info=info)


def fit_bgnbd(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, start: np.ndarray | None = None
) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit. Raises ModelFitError when the data cannot support it."""
    return _fit_counts(BgNbdFit, x, t_x, T, start)  # type: ignore[return-value]


# The full fit stopped, not converged, at an s this large is heading for the homogeneous-dropout
# limit (on one common dropout rate it stops at s ~ 130-160, the hypergeometric failing beyond
# ~200); below it the limit is not tried: on small or degenerate data it cost minutes for nothing.
LIMIT_FROM_S = 50.0


def fit_pareto_nbd(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, start: np.ndarray | None = None
) -> ParetoNbdFit | ParetoNbdLimitFit:
    """Maximum-likelihood Pareto/NBD fit (r, α, s, β). When s runs to the upper edge of the
    search range the likelihood rises towards the homogeneous-dropout limit (s, β -> ∞, s/β
    = μ): that limit is fitted and returned (ParetoNbdLimitFit; its maximum is the supremum
    of the Pareto/NBD's likelihood along the edge); also when the full fit did not converge
    and the limit converges to a higher likelihood. Raises ModelFitError as fit_bgnbd, also
    when the limit cannot be fitted either (e.g. μ -> 0: nobody seems to drop out)."""
    try:
        full = cast(ParetoNbdFit, _fit_counts(ParetoNbdFit, x, t_x, T, start))
        if full.info is None or full.info.converged or full.s < LIMIT_FROM_S:
            return full  # a search stopped at a small s is not heading for the limit
        # not converged: on data from one common dropout rate the hypergeometric evaluation
        # fails (NaN) beyond s ~ 200 and stops the search short of the limit, below the
        # limit's likelihood; the limit is the maximum then
        try:
            limit = fit_pareto_nbd_limit(x, t_x, T)
        except ModelFitError:
            return full
        ok = limit.info is not None and limit.info.converged and limit.log_lik > full.log_lik
        return limit if ok else full
    except _AtEdge as exc:
        if "s" not in exc.upper:
            raise
        try:
            return fit_pareto_nbd_limit(x, t_x, T)
        except ModelFitError as limit_exc:
            raise ModelFitError(
                f"{exc}; its limit with one dropout rate for everyone (s, β -> ∞) cannot be "
                f"fitted either: {limit_exc}"
            ) from limit_exc


def fit_pareto_nbd_limit(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, start: np.ndarray | None = None
) -> ParetoNbdLimitFit:
    """Maximum-likelihood fit of the Pareto/NBD's homogeneous-dropout limit (r, α, μ)."""
    return _fit_counts(ParetoNbdLimitFit, x, t_x, T, start)  # type: ignore[return-value]


def fit_mbgnbd(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, start: np.ndarray | None = None
) -> MbgNbdFit:
    """Maximum-likelihood MBG/NBD fit (r, α, a, b). Raises ModelFitError as fit_bgnbd."""
    return _fit_counts(MbgNbdFit, x, t_x, T, start)  # type: ignore[return-value]


# model_fits.model -> the fit's class (reading stored fits back: core.analytics.predict)
FIT_CLASSES: dict[str, type] = {
    "bgnbd": BgNbdFit,
    "pareto_nbd": ParetoNbdFit,
    "mbgnbd": MbgNbdFit,
    "gamma_gamma": GammaGammaFit,
}
# a stored pareto_nbd row with the parameter mu is the homogeneous-dropout limit
LIMIT_CLASSES: dict[str, type] = {"pareto_nbd": ParetoNbdLimitFit}


def fit_class(model: str, params: dict[str, Any]) -> type | None:
    """The class of a stored fit (model_fits.model and its params): the limit for a
    pareto_nbd row with mu."""
    if model in LIMIT_CLASSES and "mu" in params:
        return LIMIT_CLASSES[model]
    return FIT_CLASSES.get(model)


FITTERS: dict[str, Callable[..., PurchaseFit]] = {
    "bgnbd": fit_bgnbd,
    "pareto_nbd": fit_pareto_nbd,
    "mbgnbd": fit_mbgnbd,
}


def _check_counts_data(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, title: str) -> None:
    n = len(x)
    if not (len(t_x) == n == len(T)):
        raise ModelFitError("x, t_x and T must have the same length")
    if n < MIN_CUSTOMERS:
        raise ModelFitError(
            f"only {n} customer(s) with orders; {title} needs at least {MIN_CUSTOMERS}"
        )
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise ModelFitError("x, t_x or T has missing or infinite values")
    if (x < 0).any() or (t_x < 0).any() or (t_x > T).any():
        raise ModelFitError("need 0 <= x and 0 <= t_x <= T for every customer")
    repeaters = int((x > 0).sum())
    if repeaters < MIN_REPEAT_BUYERS:
        raise ModelFitError(
            f"only {repeaters} customer(s) bought again after their first purchase day; "
            f"{title} needs at least {MIN_REPEAT_BUYERS} repeat buyers"
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
    return _optimise(neg_ll, start, model, names, 1.0)[0]


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # finds the BLAS libraries numpy and scipy loaded


def _one_blas_thread(fit: Callable[..., T]) -> Callable[..., T]:
    """Runs ``fit`` on one BLAS thread. The fits' linear algebra is on 4-by-4 matrices:
    OpenBLAS's pool of threads only adds waits, and on a busy 2-core machine they made each
    L-BFGS-B call ~30x slower (45 ms against 1.4 ms)."""

    @functools.wraps(fit)
    def on_one_thread(*args: Any, **kwargs: Any) -> T:
        with _blas().limit(limits=1, user_api="blas"):
            return fit(*args, **kwargs)

    return on_one_thread


@_one_blas_thread
def _optimise(
    neg_mean_ll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    model: str,
    names: tuple[str, ...],
    n: float,
    *,
    unevaluable_is_edge: bool = False,
) -> tuple[np.ndarray, FitInfo]:
    """Minimise a mean negative log-likelihood over log-parameters (``n`` customers) to the
    maximum: L-BFGS-B with tolerances at machine precision, then Newton steps on the
    finite-difference Hessian of the analytic gradient until the total log-likelihood's
    gradient is below GRADIENT_TOLERANCE. Checks the gradient against finite differences of
    the likelihood at the solution and returns the standard errors from the Hessian.

    The search (L-BFGS-B, Nelder-Mead, the Newton polish and its Hessians) gets at most
    MAX_EVALUATIONS evaluations of the likelihood; stopped, it keeps the best point it saw,
    reported as not converged (the standard errors and the gradient check there take 4k more
    evaluations). ``unevaluable_is_edge`` (the Pareto/NBD, see MAX_FAILED_EVALUATIONS): the
    search also stops at MAX_FAILED_EVALUATIONS points where the likelihood cannot be
    evaluated, and a search that ends short of the maximum with such points raises the edge
    diagnosis, naming the parameters that were heading there."""
    bounds = [LOG_BOUNDS] * len(start)
    search = _Budgeted(
        neg_mean_ll, MAX_EVALUATIONS, MAX_FAILED_EVALUATIONS if unevaluable_is_edge else 1 << 62
    )
    steps = [0]

    def count(*_: object) -> None:
        steps[0] += 1

    try:
        res = minimize(
            search,
            start,
            method="L-BFGS-B",
            jac=True,
            bounds=bounds,
            callback=count,
            options={"ftol": 1e-11, "gtol": 1e-9, "maxiter": 2000, "maxcor": 20},
        )
        x, iterations = res.x, int(res.nit)
        value, grad = search(x)
        if value >= 1e300 or not np.isfinite(x).all():
            raise ModelFitError(f"{model}: the fit gave non-finite parameters or likelihood")
        if not res.success and np.abs(grad).max() * n > 1.0:
            # L-BFGS-B can stop on a line-search failure short of the optimum: Nelder-Mead
            res = minimize(
                lambda p: search(p)[0],
                x,
                method="Nelder-Mead",
                bounds=bounds,
                callback=count,
                options={"maxiter": 4000, "xatol": 1e-10, "fatol": 1e-15},
            )
            x, iterations = res.x, iterations + int(res.nit)
            value, grad = search(x)
    except _BudgetSpent:
        x, iterations = search.best, steps[0]
        value, grad = neg_mean_ll(x)
        if value >= 1e300:
            raise ModelFitError(
                f"{model}: the likelihood could not be evaluated at any point the fit tried"
            ) from None
    _check_edges(x, model, names)
    if unevaluable_is_edge and len(search.failed) >= MAX_FAILED_EVALUATIONS:
        _beyond_evaluable(search.failed, x, model, names)
    hessian = None
    try:
        hessian = _hessian(search, x)
        for _ in range(50):  # Newton polish: quadratic convergence near the maximum
            if np.abs(grad).max() * n < GRADIENT_TOLERANCE * 1e-2:
                break
            try:
                step = np.linalg.solve(hessian, grad)
            except np.linalg.LinAlgError:
                break
            if not np.isfinite(step).all() or grad @ step <= 0:  # not a descent direction
                break
            scale = 1.0
            while scale > 1e-6:
                trial = np.clip(x - scale * step, *LOG_BOUNDS)
                trial_value, trial_grad = search(trial)
                if trial_value <= value:
                    break
                scale /= 2
            else:
                break
            x, value, grad = trial, trial_value, trial_grad
            iterations += 1
            hessian = None
            hessian = _hessian(search, x)
    except _BudgetSpent:
        pass
    if hessian is None:  # the budget ran out before the Hessian at x
        hessian = _hessian(neg_mean_ll, x)
    _check_edges(x, model, names)
    params = np.exp(x)
    if not np.isfinite(params).all() or not np.isfinite(value):
        raise ModelFitError(f"{model}: the fit gave non-finite parameters or likelihood")
    gradient_norm = float(np.abs(grad).max() * n)
    numeric = _numeric_gradient(lambda p: neg_mean_ll(p)[0], x)
    gradient_check = float(np.abs(numeric - grad).max() * n)
    cov_log = _covariance(hessian * n)
    se = np.sqrt(np.clip(np.diag(cov_log), 0, None)) * params if cov_log is not None else None
    converged = gradient_norm < GRADIENT_TOLERANCE and cov_log is not None and not search.spent
    if unevaluable_is_edge and search.failed and not converged:
        _beyond_evaluable(search.failed, x, model, names)
    info = FitInfo(
        converged=converged,
        iterations=iterations,
        gradient_norm=gradient_norm,
        gradient_check=gradient_check,
        standard_errors=(
            {k: float(v) for k, v in zip(names, se, strict=True)} if se is not None else {}
        ),
        cov_log=tuple(map(tuple, cov_log.tolist())) if cov_log is not None else (),
    )
    return params, info


class _BudgetSpent(Exception):
    """The search used up its likelihood evaluations (MAX_EVALUATIONS)."""


class _Budgeted:
    """A negative log-likelihood that counts its evaluations, keeps the best point it saw and
    raises _BudgetSpent when asked for one more than ``limit``, or for any after
    ``max_failed`` points it could not evaluate."""

    def __init__(
        self, f: Callable[[np.ndarray], tuple[float, np.ndarray]], limit: int, max_failed: int
    ) -> None:
        self.f, self.limit, self.max_failed, self.used = f, limit, max_failed, 0
        self.best, self.best_value = np.zeros(0), float("inf")
        self.failed: list[np.ndarray] = []  # points where the likelihood could not be evaluated

    @property
    def spent(self) -> bool:
        return self.used >= self.limit or len(self.failed) >= self.max_failed

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        if self.spent:
            raise _BudgetSpent
        self.used += 1
        value, grad = self.f(x)
        if value >= 1e300:
            self.failed.append(np.array(x, dtype="float64"))
        if value < self.best_value or not len(self.best):
            self.best, self.best_value = np.array(x, dtype="float64"), value
        return value, grad


class _AtEdge(ModelFitError):
    """An estimate on the edge of the search range; ``upper``: the parameters at its top."""

    def __init__(self, message: str, upper: tuple[str, ...]) -> None:
        super().__init__(message)
        self.upper = upper


def _beyond_evaluable(
    failed: list[np.ndarray], x: np.ndarray, model: str, names: tuple[str, ...]
) -> None:
    """Raise the edge diagnosis for a search stopped short of the maximum at points where the
    likelihood cannot be evaluated: the parameters named are those the search was moving
    (from its best point ``x`` towards the failed points, on log scale), ``upper`` those
    rising. E.g. a Pareto/NBD fit on customers who all buy at one rate and never drop out
    heads for r, α -> ∞ (no heterogeneity) and s -> 0 (no dropout), as BG/NBD runs α to the
    edge; on one common dropout rate it heads for s, β -> ∞ (the limit fit_pareto_nbd tries)."""
    direction = np.mean(failed, axis=0) - x
    moving = np.abs(direction) >= 0.1 * np.abs(direction).max()
    at = ", ".join(f"{k} = {v:.4g}" for k, v in zip(names, np.exp(x), strict=True))
    heading = [k for k, m in zip(names, moving, strict=True) if m]
    raise _AtEdge(
        f"{model}: parameter(s) {', '.join(heading)} ran toward the edge of the search range, "
        f"where the likelihood cannot be evaluated (stopped at {at}); the data cannot "
        "identify the model (too little variety among customers)",
        tuple(k for k, m, d in zip(names, moving, direction, strict=True) if m and d > 0),
    )


def _check_edges(x: np.ndarray, model: str, names: tuple[str, ...]) -> None:
    near_edge = np.isclose(x[:, None], np.array(LOG_BOUNDS), atol=1e-3).any(axis=1)
    at_bound = [name for name, edge in zip(names, near_edge, strict=True) if edge]
    if at_bound:
        upper = tuple(n for n, v in zip(names, x, strict=True) if n in at_bound and v > 0)
        raise _AtEdge(
            f"{model}: parameter(s) {', '.join(at_bound)} ran to the edge of the search range; "
            "the data cannot identify the model (too little variety among customers)",
            upper,
        )


def _hessian(neg_ll: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Central differences of the analytic gradient, symmetrised."""
    k, h = len(x), 1e-5
    cols = []
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        cols.append((neg_ll(x + e)[1] - neg_ll(x - e)[1]) / (2 * h))
    hessian = np.array(cols).T
    return (hessian + hessian.T) / 2


def _numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    h = 1e-6
    out = np.empty(len(x))
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = h
        out[j] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def _covariance(hessian: np.ndarray) -> np.ndarray | None:
    """Inverse of the Hessian of -LL in ln θ, or None when it is not positive definite."""
    try:
        np.linalg.cholesky(hessian)
        return np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return None


# ---------------------------------------------------------------- per-customer outputs


def p_alive(fit: PurchaseFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(customer still alive | x, t_x, T). BG/NBD: 1 for customers with no repeat purchase
    (its customers can only drop out right after a repeat purchase); Pareto/NBD and MBG/NBD
    let a one-time buyer be gone."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    if isinstance(fit, ParetoNbdFit):
        return _pareto_p_alive(fit, x, t_x, T)
    if isinstance(fit, ParetoNbdLimitFit):
        return _limit_p_alive(fit, x, t_x, T)
    log_ratio = (fit.r + x) * (np.log(fit.alpha + T) - np.log(fit.alpha + t_x))
    if isinstance(fit, MbgNbdFit):
        return expit(-(np.log(fit.a) - np.log(fit.b + x) + log_ratio))
    repeat, b_x1 = x > 0, np.where(x > 0, fit.b + x - 1, 1.0)
    log_odds_dead = np.where(repeat, np.log(fit.a) - np.log(b_x1) + log_ratio, -np.inf)
    return expit(-log_odds_dead)


def p_alive_estimated(fit: PurchaseFit, x: np.ndarray) -> np.ndarray:
    """Which customers the model gives a P(alive) *estimate* to (a boolean per customer).
    BG/NBD lets a customer drop out only right after a repeat purchase, so its P(alive) = 1
    for a buyer with no repeat purchase (x = 0) is an assumption of the model, not something
    the data say: whatever their silence, it calls them certainly alive. The outputs store
    no P(alive) for them (core.analytics.predict.predictions); their expected purchases and
    CLV stay the model's. Pareto/NBD and MBG/NBD estimate it for everyone."""
    x = np.asarray(x, dtype="float64")
    if isinstance(fit, BgNbdFit):
        return x > 0
    return np.ones(len(x), dtype=bool)


def _pareto_p_alive(fit: ParetoNbdFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """1 / (1 + s/(r+s+x) (α+T)^(r+x) (β+T)^s A0), in logs (A - B of _pareto_terms)."""
    r, alpha, s, beta = fit.r, fit.alpha, fit.s, fit.beta
    px, pt, i_tx, i_T = _pareto_pairs(x, t_x, T)
    g = pareto_tail_log(r, alpha, s, beta, px, pt)
    g_tx, g_T = g[i_tx], g[i_T]
    gap = -np.expm1(g_T - g_tx)
    with np.errstate(divide="ignore"):
        B = np.log(s) - np.log(r + s + x) + g_tx + np.log(np.clip(gap, 0, None))
    A = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    return expit(A - B)


def _limit_p_alive(
    fit: ParetoNbdLimitFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """e^A / (e^A + e^B) with A and B of _limit_terms: 1 / (1 + μ (α+T)^(r+x) e^(μT)
    ∫_(t_x)^T (α+τ)^-(r+x) e^(-μτ) dτ)."""
    r, alpha, mu = fit.r, fit.alpha, fit.mu
    if len(x) == 0:
        return np.zeros(0)
    tt, i_tx, i_T, _, top = _limit_times(x, t_x, T)
    g = limit_tail_log(r, alpha, mu, int(top[0]), tt).ravel()
    g_tx, g_T = g[i_tx], g[i_T]
    gap = -np.expm1(g_T - g_tx)
    with np.errstate(divide="ignore"):
        B = np.log(mu) + g_tx + np.log(np.clip(gap, 0, None))
    A = -(r + x) * np.log(alpha + T) - mu * T
    return expit(A - B)


def purchases_if_alive(fit: PurchaseFit, t: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """E[repeat purchases in the next t | x, T, alive]: E[Y(t)] = this × P(alive). Depends on
    x and T only (not t_x), so it can be evaluated on the distinct (x, T) pairs."""
    x, T = np.asarray(x, dtype="float64"), np.asarray(T, dtype="float64")
    if t <= 0:
        return np.zeros_like(x)
    if isinstance(fit, ParetoNbdLimitFit):
        # alive: λ | x, T ~ Gamma(r+x, α+T) and the remaining lifetime ~ Exponential(μ), so
        # E[Y(t)] = (r+x)/(α+T) · E[min(t, lifetime)] = (r+x)/(α+T) · (1 - e^(-μt))/μ
        return (fit.r + x) / (fit.alpha + T) * (-np.expm1(-fit.mu * t) / fit.mu)
    if isinstance(fit, ParetoNbdFit):
        r, alpha, s, beta = fit.r, fit.alpha, fit.s, fit.beta
        u = np.log1p(t / (beta + T))
        if abs(s - 1) < 1e-8:  # [1 - (1+u')^-(s-1)] / (s-1) -> ln(1+u') as s -> 1
            growth = u
        else:
            growth = -np.expm1(-(s - 1) * u) / (s - 1)
        return (r + x) * (beta + T) / (alpha + T) * growth
    r, alpha, b = fit.r, fit.alpha, fit.b
    a = fit.a if abs(fit.a - 1.0) > 1e-6 else 1.0 + 1e-6  # a = 1 is a removable 0/0
    # MBG/NBD is BG/NBD with b + 1 in the beta function: c = a + b + x (BG/NBD: a + b + x - 1)
    c = a + b + x - (1 if isinstance(fit, BgNbdFit) else 0)
    z = t / (alpha + T + t)
    # where hyp2f1 overflows the product is inf * 0 = nan: no value, as below (not a warning
    # printed to the operator's terminal)
    with np.errstate(invalid="ignore", over="ignore"):
        tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(c - x - r, a - 1, c, z)
        value = c / (a - 1) * (1.0 - tail)
    return np.where(np.isfinite(value) & (value >= 0), value, np.nan)


def expected_purchases(
    fit: PurchaseFit, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[repeat purchases in the next t time units | x, t_x, T].

    BG/NBD (paper eq. 10) and MBG/NBD: the hypergeometric term is evaluated after Euler's
    transformation, (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1;
    a+b+x-1; z) (for MBG/NBD b+1 for b), which stays bounded for customers with many purchases
    (the raw form overflows). Pareto/NBD: (r+x)(β+T)/((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)]
    × P(alive).
    """
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    if t <= 0:
        return np.zeros_like(x)
    return purchases_if_alive(fit, t, x, T) * p_alive(fit, x, t_x, T)


def discounted_purchases_if_alive(
    fit: PurchaseFit,
    x: np.ndarray,
    T: np.ndarray,
    *,
    horizon_months: int = 12,
    monthly_discount: float = 0.01,
) -> np.ndarray:
    """Σ_m (E[Y(m months) | alive] − E[Y(m−1 months) | alive]) / (1 + d)^m: the CLV's
    purchase factor before P(alive) (a function of x and T only)."""
    x = np.asarray(x, dtype="float64")
    total = np.zeros(len(x))
    previous = np.zeros_like(total)
    for month in range(1, horizon_months + 1):
        cumulative = purchases_if_alive(fit, month * WEEKS_PER_MONTH, x, T)
        total += (cumulative - previous) / (1.0 + monthly_discount) ** month
        previous = cumulative
    return total


def gamma_gamma_log_lik(params: np.ndarray, x: np.ndarray, zbar: np.ndarray) -> np.ndarray:
    """Each repeat customer's log-density of their mean spend zbar over x transactions."""
    return _gamma_gamma_terms(params, x, zbar, _levels(x))[0]


# What the Gamma-Gamma terms take from the data alone: log zbar, log x, x * zbar (one row per
# repeat customer). Computed once per fit, not per evaluation: the same numbers, bit for bit.
SpendConstants = tuple[np.ndarray, np.ndarray, np.ndarray]


def _spend_constants(x: np.ndarray, zbar: np.ndarray) -> SpendConstants:
    return np.log(zbar), np.log(x), x * zbar


def _gamma_gamma_terms(
    params: np.ndarray,
    x: np.ndarray,
    zbar: np.ndarray,
    x_levels: Levels,
    constants: SpendConstants | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its (3, n) gradient in (p, q, v)."""
    p, q, v = params
    log_z, log_x, xz = _spend_constants(x, zbar) if constants is None else constants
    px, vxz = p * x, v + xz
    log_vxz = np.log(vxz)
    levels, at = x_levels  # gamma-function terms per distinct x only, as in _bgnbd_terms
    g_pxq, g_px = gammaln(p * levels + q)[at], gammaln(p * levels)[at]
    d_pxq, d_px = digamma(p * levels + q)[at], digamma(p * levels)[at]
    ll = (
        g_pxq - g_px - gammaln(q) + q * np.log(v)
        + (px - 1) * log_z + px * log_x - (px + q) * log_vxz
    )  # fmt: skip
    grad = np.array([
        x * (d_pxq - d_px + log_z + log_x - log_vxz),
        d_pxq - digamma(q) + np.log(v) - log_vxz,
        q / v - (px + q) / vxz,
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
    with np.errstate(all="ignore"):
        constants = _spend_constants(x, zbar)

    def neg_mean_ll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll, grad = _gamma_gamma_terms(params, x, zbar, x_levels, constants)
        value = -float(np.mean(ll))
        if not np.isfinite(value):
            return 1e300, np.zeros(3)
        return value, -grad.mean(axis=1) * params

    start = np.log([1.0, 1.0, float(np.mean(zbar))])
    (p, q, v), info = _optimise(neg_mean_ll, start, "Gamma-Gamma", GammaGammaFit.PARAMS, len(x))
    if q <= 1:
        raise ModelFitError(
            f"Gamma-Gamma: q = {q:.3g} <= 1, so the fitted spend distribution has no finite "
            "mean (spend too heavy-tailed)"
        )
    log_lik = float(np.sum(gamma_gamma_log_lik(np.array([p, q, v]), x, zbar)))
    return GammaGammaFit(float(p), float(q), float(v), log_lik, len(x), info=info)


def expected_order_value(fit: GammaGammaFit, x: np.ndarray, zbar: np.ndarray) -> np.ndarray:
    """E[mean order value | x, zbar]: a weighted mix of the population mean p·v/(q-1) and zbar.

    One-time buyers (x = 0) get the population mean; a non-positive zbar counts as 0.
    """
    x = np.asarray(x, dtype="float64")
    zbar = np.nan_to_num(np.asarray(zbar, dtype="float64"), nan=0.0).clip(min=0.0)
    zbar = np.where(x > 0, zbar, 0.0)
    return fit.p * (fit.v + x * zbar) / (fit.p * x + fit.q - 1)


def clv(
    fit: PurchaseFit,
    order_value: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    horizon_months: int = 12,
    monthly_discount: float = 0.01,
) -> np.ndarray:
    """Σ_m (E[Y(m months)] − E[Y(m−1 months)]) × order value / (1 + d)^m, m = 1..horizon."""
    factor = discounted_purchases_if_alive(
        fit, x, T, horizon_months=horizon_months, monthly_discount=monthly_discount
    )
    return factor * p_alive(fit, x, t_x, T) * np.asarray(order_value, dtype="float64")


def sample_params(fit: PurchaseFit | GammaGammaFit, draws: int, seed: int) -> np.ndarray:
    """``draws`` parameter vectors from the estimates' asymptotic normal distribution on the
    log scale (mean ln θ̂, covariance the inverse Hessian): (draws, k), all positive. Seeded,
    so the same fit always gives the same intervals. Without a covariance, the estimate
    repeated."""
    center = np.log(params_of(fit))
    if fit.info is None or not fit.info.cov_log:
        return np.tile(np.exp(center), (draws, 1))
    rng = np.random.default_rng(seed)
    cov = np.array(fit.info.cov_log)
    drawn = rng.multivariate_normal(center, cov, size=draws, method="cholesky")
    # a fit at the edge of the search range (a huge covariance) would draw overflowing values:
    # the draws stay inside the range the fit searched
    return np.exp(np.clip(drawn, *LOG_BOUNDS))


def _four(params: np.ndarray) -> tuple[float, float, float, float]:
    """The four parameters of a Pareto/NBD vector, as the positional arguments they are."""
    r, alpha, s, beta = (float(v) for v in params)
    return r, alpha, s, beta
