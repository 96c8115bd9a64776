"""Fit time of each purchase model on 700k buyers, side by side with BG/NBD (the baseline
measured in the same run). Issue 15: each within 2x of the BG/NBD fit. The Pareto/NBD's homogeneous-dropout limit
(fitted when the full model's s runs off) is timed on its own too.

The per-customer summary is synthetic: BG/NBD draws (r 0.8, alpha 10, a 0.3, b 3 — weeks)
for 700k buyers whose first purchase is spread over two years, purchase times rounded to days
as the database's summary is, so the distinct histories are as many as a real database's.

    .venv/bin/python bench/bench_models.py [N_BUYERS]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from core.analytics.models import (
    distinct_rows,
    fit_bgnbd,
    fit_mbgnbd,
    fit_pareto_nbd,
    fit_pareto_nbd_limit,
)


def synthetic(n: int, seed: int = 15) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 731, n).astype(float)  # days from first purchase to the as-of date
    lam = rng.gamma(0.8, 1 / 10, n) / 7  # purchases per day
    p = rng.beta(0.3, 3, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1 / lam[idx])
        bought = now[idx] <= T[idx]
        hit = idx[bought]
        x[hit] += 1
        t_x[hit] = now[hit]
        dies = rng.random(len(hit)) < p[hit]
        alive[idx[~bought]] = False
        alive[hit[dies]] = False
    t_x = np.floor(t_x)  # purchase days
    return x, t_x / 7, T / 7


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 700_000
    x, t_x, T = synthetic(n)
    n_hist = len(distinct_rows(x, t_x, T)[0])
    print(f"{n:,} buyers, {int((x > 0).sum()):,} repeat buyers, {n_hist:,} distinct histories")
    times = {}
    for name, fit in (
        ("BG/NBD", fit_bgnbd),
        ("Pareto/NBD", fit_pareto_nbd),
        ("MBG/NBD", fit_mbgnbd),
        ("Pareto/NBD, one dropout rate", fit_pareto_nbd_limit),
    ):
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            result = fit(x, t_x, T)
            best = min(best, time.perf_counter() - started)
        times[name] = best
        info = result.info
        print(
            f"{name:<28} {best:6.2f} s  ({best / times['BG/NBD']:.2f}x BG/NBD)  "
            f"LL {result.log_lik:,.1f}  converged {info.converged}  "
            f"gradient {info.gradient_norm:.1e}"
        )


if __name__ == "__main__":
    main()
