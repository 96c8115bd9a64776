"""Fits end in bounded work: a Pareto/NBD fit heading where its likelihood cannot be evaluated
gives the edge diagnosis instead of wandering (on 70k buyers who all buy at one rate and never
drop out it ran for more than 400 s), and no search takes more than MAX_EVALUATIONS
evaluations of the likelihood (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hyp2f1

from core.analytics import models
from core.analytics.models import (
    MAX_EVALUATIONS,
    fit_bgnbd,
    fit_pareto_nbd,
    pareto_nbd_log_lik,
)
from core.errors import ModelFitError


def one_rate_no_dropout(n: int, per_day: float, seed: int):
    """Customers who all buy at one rate (purchase days of a Poisson process) and never drop
    out, first purchase spread over 530 days before a 730-day end: no variety for the models'
    heterogeneity to fit (as bench/bench_refresh.py's generated database, where every buyer's
    orders are spread uniformly over the two years)."""
    rng = np.random.default_rng(seed)
    T_days = 730 - rng.integers(0, 530, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        drawn = rng.uniform(0, T_days[i], rng.poisson(per_day * T_days[i]))
        days = np.unique(np.floor(drawn))
        days = days[days > 0]
        x[i], t_x[i] = len(days), days.max() if len(days) else 0.0
    return x, t_x / 7, T_days / 7


@pytest.fixture(scope="module")
def homogeneous():
    return one_rate_no_dropout(400, 0.02, seed=15)


def test_a_failed_hypergeometric_is_no_likelihood() -> None:
    """Where scipy's hyp2f1 fails (NaN: r + x ~ 1000, z = (α-β)/(α+t) within 1e-3 of 1) the
    customer's log-likelihood is NaN, not the finite value without the dropout term it was."""
    r, alpha, s, beta = 1000.0, 50_000.0, 0.001, 5.0
    x, t_x, T = np.array([12.0]), np.array([50.0]), np.array([80.0])
    z = (alpha - beta) / (alpha + t_x[0])
    assert np.isnan(hyp2f1(1, r + x[0], r + s + x[0] + 1, z))
    ll = pareto_nbd_log_lik(np.array([r, alpha, s, beta]), x, t_x, T)
    assert np.isnan(ll).all()


def test_pareto_nbd_without_variety_stops_at_the_edge_diagnosis(monkeypatch, homogeneous) -> None:
    """One purchase rate, no dropout: the likelihood rises towards r, α -> ∞ (no heterogeneity)
    and s -> 0 (no dropout), and the hypergeometric fails on the way (r ~ 160 here). The fit
    gives the edge diagnosis BG/NBD gives, so no automatic choice takes it. Before, the search
    went on where hyp2f1 fails, each evaluation 10-100x dearer, with a likelihood there that
    silently lacked its dropout term (finite, wrong) and a NaN gradient: it returned r =
    12,368, α = 90,953, s = 2.3e-05 with NaN standard errors, a fit an automatic choice takes
    when it is the only one (61 evaluations here; on the 70k-buyer database > 400 s)."""
    calls = []
    real = models._pareto_terms

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(models, "_pareto_terms", counted)
    with pytest.raises(ModelFitError) as caught:
        fit_pareto_nbd(*homogeneous)
    assert str(caught.value) == (
        "Pareto/NBD: parameter(s) r, alpha, s ran toward the edge of the search range, where "
        "the likelihood cannot be evaluated (stopped at r = 158.3, alpha = 1157, s = 0.001869, "
        "beta = 5.613); the data cannot identify the model (too little variety among customers)"
    )
    assert len(calls) == 36
    # BG/NBD on the same customers, the same diagnosis: α (with r) ran to the edge
    with pytest.raises(ModelFitError, match=r"^BG/NBD: parameter\(s\) alpha ran to the edge"):
        fit_bgnbd(*homogeneous)


def test_no_search_takes_more_than_the_evaluation_budget() -> None:
    """A likelihood whose gradient misleads L-BFGS-B (it points uphill), so Nelder-Mead, with
    its tolerances at machine precision, does the search down a 4-d Rosenbrock valley: before,
    693 evaluations in all (16 + 659 to the minimum at 1, 1, 1, 1); now the search stops
    after MAX_EVALUATIONS at the best point it saw, reported as not converged (then one
    evaluation there, the Hessian and the gradient check: 2 x 4 each)."""
    calls = []

    def neg_ll(v: np.ndarray) -> tuple[float, np.ndarray]:
        calls.append(1)
        value = float(np.sum(100 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2))
        return value, 2 * np.sign(1 - v + 1e-9)  # not its gradient: no line search succeeds

    params, info = models._optimise(neg_ll, np.full(4, -1.0), "Test", ("a", "b", "c", "d"), 1.0)
    assert len(calls) == MAX_EVALUATIONS + 1 + 2 * 4 + 2 * 4
    assert not info.converged
    assert np.isfinite(params).all() and not np.allclose(params, np.e, atol=1e-3)
