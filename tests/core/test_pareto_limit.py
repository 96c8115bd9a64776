"""The Pareto/NBD's homogeneous-dropout limit (s, β -> ∞ with s/β = μ): one dropout rate for
everyone. Its special function against numerical integration, its gradient, the full model
tending to it, a fit recovering a simulated process, the fallback, and a stored fit scoring to
the same bits (issue 15)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad

from core.analytics import models
from core.analytics.models import (
    ParetoNbdFit,
    ParetoNbdLimitFit,
    fit_gamma_gamma,
    fit_pareto_nbd_limit,
    p_alive,
    pareto_nbd_limit_log_lik,
    pareto_nbd_log_lik,
    purchases_if_alive,
    scaled_expint,
)

CDNOW = Path(__file__).parent.parent / "data" / "cdnow_summary.csv"


def simulate(n: int, r: float, alpha: float, mu: float, seed: int):
    """Customers of the limit process: λ ~ Gamma(r, α), lifetime ~ Exponential(μ), first
    purchase 20..60 weeks before the end (whole days), purchase days rounded down."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    life = rng.exponential(1 / mu, n)
    T = rng.integers(20 * 7, 60 * 7, n) / 7
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        end, now, count, last = min(life[i], T[i]), 0.0, 0, 0.0
        while True:
            now += rng.exponential(1 / lam[i])
            if now > end:
                break
            count, last = count + 1, now
        x[i], t_x[i] = count, np.floor(last * 7) / 7
    return x, t_x, T


@pytest.fixture(scope="module")
def limit_data():
    return simulate(5000, 0.8, 6.0, 0.05, seed=42)


@pytest.fixture(scope="module")
def limit_fit(limit_data) -> ParetoNbdLimitFit:
    return fit_pareto_nbd_limit(*limit_data)


@pytest.mark.parametrize("r", [0.05, 0.3, 1.0, 1.36, 2.0, 7.3, 60.0])
def test_scaled_expint_matches_numerical_integration(r: float) -> None:
    z = np.array([1e-7, 3e-4, 0.05, 0.7, 1.0, 2.5, 13.0, 90.0, 2000.0])
    table = scaled_expint(r, 300, z)
    for x in (0, 1, 2, 5, 17, 60, 300):
        k = r + x
        for j, zz in enumerate(z):
            # e^z E_k(z) = ∫_0^∞ exp((1-k)u - z(e^u - 1)) du
            peak = [max(np.log(max(1 - k, 1e-300) / zz), 0.0)] if k < 1 else None
            ref = quad(
                lambda u, k=k, zz=zz: np.exp((1 - k) * u - zz * np.expm1(u)),
                0,
                np.log1p(200 / zz) + 1,
                epsabs=0,
                epsrel=1e-13,
                limit=2000,
                points=peak,
            )[0]
            assert table[x, j] == pytest.approx(ref, rel=1e-12), (x, zz)


@pytest.mark.parametrize("r", [30.0, 1e3, 1e5, 1e6])
def test_scaled_expint_for_a_large_r(r: float) -> None:
    """Where a fit heads to homogeneous purchase rates (r up to the bound, 1e6): from r = 30 on
    every z starts by the continued fraction; the integrand is a spike of width 1/(k-1)."""
    z = np.array([1e-7, 3e-4, 0.05, 0.7, 0.999, 2.5, 90.0])
    table = scaled_expint(r, 40, z)
    for x in (0, 1, 7, 40):
        k = r + x
        for j, zz in enumerate(z):
            top = min(np.log1p(200 / zz) + 1, 80 / (k - 1))
            ref = quad(lambda u, k=k, zz=zz: np.exp((1 - k) * u - zz * np.expm1(u)), 0, top,
                       epsabs=0, epsrel=1e-13, limit=2000)[0]  # fmt: skip
            assert table[x, j] == pytest.approx(ref, rel=1e-12), (x, zz)


def test_limit_likelihood_is_the_integral_over_the_dropout_time() -> None:
    """LL by its definition for one customer: alive at T, or gone at τ in (t_x, T]."""
    from scipy.special import gammaln

    r, alpha, mu = 0.7, 5.0, 0.04
    for x, t_x, T in [(0, 0.0, 30.0), (3, 12.0, 40.0), (12, 50.0, 52.0)]:
        mixing = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        gone = quad(lambda tau, x=x: mu * (alpha + tau) ** -(r + x) * np.exp(-mu * tau), t_x, T)
        alive = (alpha + T) ** -(r + x) * np.exp(-mu * T)
        want = mixing + np.log(alive + gone[0])
        got = pareto_nbd_limit_log_lik(
            np.array([r, alpha, mu]), np.array([x]), np.array([t_x]), np.array([T])
        )[0]
        assert got == pytest.approx(want, abs=1e-10)


def test_limit_gradient_matches_finite_differences() -> None:
    from scipy.optimize import approx_fprime

    from core.analytics.models import _levels, _limit_terms, _limit_times

    cdnow = pd.read_csv(CDNOW)
    x, t_x, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(), cdnow["T"].to_numpy()
    p0 = np.array([0.55, 10.0, 0.05])
    times, levels = _limit_times(x, t_x, T), _levels(x)
    numeric = approx_fprime(p0, lambda p: _limit_terms(p, x, t_x, T, times, levels)[0].sum(), 1e-7)
    analytic = _limit_terms(p0, x, t_x, T, times, levels)[1].sum(axis=1)
    assert analytic == pytest.approx(numeric, rel=1e-4)


def test_the_fit_recovers_the_simulated_process(limit_fit: ParetoNbdLimitFit) -> None:
    fit = limit_fit
    # fixed seed: the maximum of this sample (found to 1e-4), near the truth 0.8, 6, 0.05
    assert fit.r == pytest.approx(0.80403, rel=1e-4)
    assert fit.alpha == pytest.approx(5.9572, rel=1e-4)
    assert fit.mu == pytest.approx(0.049228, rel=1e-4)
    assert abs(fit.r - 0.8) < 2 * fit.info.standard_errors["r"]
    assert abs(fit.alpha - 6.0) < 2 * fit.info.standard_errors["alpha"]
    assert abs(fit.mu - 0.05) < 2 * fit.info.standard_errors["mu"]
    assert fit.info.converged and fit.info.gradient_check < 1e-3
    assert fit.log_lik == pytest.approx(-34763.4537, abs=1e-3)


def test_the_full_pareto_nbd_tends_to_the_limit(limit_data, limit_fit) -> None:
    """Along s, β -> ∞ with s/β = μ the Pareto/NBD's P(alive) and likelihood approach the
    limit's; P(alive) like 1/s. (The hypergeometric evaluation of the full model returns NaN
    from s ≈ 200 here, where z = (β-α)/(β+t) -> 1: the limit is what can be evaluated.)"""
    x, t_x, T = limit_data
    f = limit_fit
    limit_alive = p_alive(f, x, t_x, T)
    gaps = []
    for s in (25.0, 50.0, 100.0, 150.0):
        full = ParetoNbdFit(f.r, f.alpha, s, s / f.mu, 0.0, len(x))
        gaps.append(float(np.abs(p_alive(full, x, t_x, T) - limit_alive).max()))
        ll_full = pareto_nbd_log_lik(np.array([f.r, f.alpha, s, s / f.mu]), x, t_x, T)
        ll_limit = pareto_nbd_limit_log_lik(np.array([f.r, f.alpha, f.mu]), x, t_x, T)
        assert np.abs(ll_full - ll_limit).max() < 4.5 / s  # per customer, also O(1/s)
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
    assert gaps[3] * 150 == pytest.approx(gaps[2] * 100, rel=0.1)  # O(1/s)
    assert gaps[3] < 0.01
    # expected purchases: the full model's (β+T)/(s-1) [1 - ((β+T)/(β+T+t))^(s-1)] -> (1-e^-μt)/μ
    full = ParetoNbdFit(f.r, f.alpha, 1e6, 1e6 / f.mu, 0.0, len(x))
    assert purchases_if_alive(full, 13.0, x[:50], T[:50]) == pytest.approx(
        purchases_if_alive(f, 13.0, x[:50], T[:50]), rel=1e-5
    )


def test_limit_p_alive_by_hand() -> None:
    fit = ParetoNbdLimitFit(0.7, 5.0, 0.04, 0.0, 1)
    r, alpha, mu, x, t_x, T = 0.7, 5.0, 0.04, 2, 10.0, 30.0
    gone = quad(lambda tau: mu * (alpha + tau) ** -(r + x) * np.exp(-mu * tau), t_x, T)[0]
    alive = (alpha + T) ** -(r + x) * np.exp(-mu * T)
    got = p_alive(fit, np.array([2.0]), np.array([t_x]), np.array([T]))[0]
    assert got == pytest.approx(alive / (alive + gone), rel=1e-10)
    # a one-time buyer can be gone, the more so the longer the silence
    once = p_alive(fit, np.zeros(3), np.zeros(3), np.array([1.0, 20.0, 60.0]))
    assert (once < 1).all() and once[0] > once[1] > once[2]


def test_pareto_nbd_falls_back_to_the_limit_when_s_runs_off(monkeypatch, limit_data) -> None:
    real = models._fit_counts

    def s_runs_off(kind, *args):
        if kind is ParetoNbdFit:
            raise models._AtEdge("Pareto/NBD: parameter(s) s, beta ran to the edge", ("s", "beta"))
        return real(kind, *args)

    monkeypatch.setattr(models, "_fit_counts", s_runs_off)
    fit = models.fit_pareto_nbd(*limit_data)
    assert isinstance(fit, ParetoNbdLimitFit) and fit.NAME == "pareto_nbd"
    assert fit.mu == pytest.approx(0.049228, rel=1e-4)


def test_no_dropout_at_all_is_not_a_converged_fit() -> None:
    """Data from a process without dropout (an NBD): the limit's μ runs down to the edge of
    the search range (1e-6) and the fit is not converged, so no automatic choice takes it."""
    x, t_x, T = simulate(3000, 1.2, 10.0, 1e-12, seed=7)
    fit = fit_pareto_nbd_limit(x, t_x, T)
    assert fit.mu < 1.01e-6 and not fit.info.converged
    assert fit.r == pytest.approx(1.1919, rel=1e-3)


def test_a_stored_limit_fit_scores_to_the_same_bits(
    conn: sqlite3.Connection, limit_data, limit_fit
) -> None:
    from core.analytics.predict import (
        PredictionReport,
        bic,
        load_fits,
        predictions,
        store_fits,
    )

    x, t_x, T = limit_data
    rng = np.random.default_rng(1)
    zbar = np.where(x > 0, rng.gamma(3.0, 50.0, len(x)), np.nan)
    gg = fit_gamma_gamma(x, zbar)
    as_of = date(2024, 6, 30)
    report = PredictionReport(
        as_of, len(x), None, gg, pareto_nbd=limit_fit, chosen="pareto_nbd", chosen_because="t"
    )
    store_fits(conn, report)
    params = conn.execute("SELECT params FROM model_fits WHERE model = 'pareto_nbd'").fetchone()
    assert set(__import__("json").loads(params[0])) == {"r", "alpha", "mu"}
    loaded = load_fits(conn, as_of)
    assert loaded is not None and isinstance(loaded.pareto_nbd, ParetoNbdLimitFit)
    assert loaded.pareto_nbd == limit_fit and loaded.pareto_nbd.info == limit_fit.info
    assert loaded.chosen == "pareto_nbd"
    summary = pd.DataFrame(
        {"user_id": [f"u{i}" for i in range(len(x))], "x": x, "t_x": t_x, "T": T,
         "monetary": zbar}
    )  # fmt: skip
    a, b = predictions(report, summary), predictions(loaded, summary)
    assert a.drop(columns="user_id").equals(b.drop(columns="user_id"))
    # three parameters in the BIC
    assert bic(limit_fit) == pytest.approx(-2 * limit_fit.log_lik + 3 * np.log(len(x)))


def test_a_full_fit_stopped_short_of_the_limit_gives_way_to_it() -> None:
    """On data from one common dropout rate the full fit stops, not converged, at s ≈ 158
    (where its hypergeometric evaluation starts to fail), below the limit's likelihood:
    fit_pareto_nbd returns the limit."""
    x, t_x, T = simulate(3000, 0.8, 6.0, 0.05, seed=2)
    fit = models.fit_pareto_nbd(x, t_x, T)
    assert isinstance(fit, ParetoNbdLimitFit) and fit.info.converged
    assert fit.log_lik == pytest.approx(-21092.0894, abs=1e-3)
    assert fit.mu == pytest.approx(0.049815, rel=1e-4)
