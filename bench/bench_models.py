"""Fit time of each purchase model on 700k buyers, side by side with BG/NBD (the baseline
measured in the same run). Issue 15: each within 2x of the BG/NBD fit. The Pareto/NBD's homogeneous-dropout limit
(fitted when the full model's s runs off) is timed on its own too.

The per-customer summary is synthetic: BG/NBD draws (r 0.8, alpha 10, a 0.3, b 3 — weeks)
for 700k buyers whose first purchase is spread over two years, purchase times rounded to days
as the database's summary is, so the distinct histories are as many as a real database's.

Then the customers without variety: bench/bench_refresh.py's 100k-user database (70,000
buyers whose orders are spread uniformly over two years: one purchase rate, no dropout), read
from its cache bench/bench_refresh_100000_*.db when there is one, else generated the same way
(--no-db: always generated). Every model runs to the edge of its search range there; the
Pareto/NBD, whose hypergeometric function fails on the way, stops at the second point it
cannot evaluate (MAX_FAILED_EVALUATIONS) and within MAX_EVALUATIONS. Beside it, in the same
run, the Pareto/NBD search without those stops (both unlimited), as it was before, cut by the
benchmark after --before-limit seconds (on main it ran > 400 s).

    .venv/bin/python bench/bench_models.py [N_BUYERS] [--before-limit S] [--no-db]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.analytics import models  # noqa: E402
from core.analytics.models import (  # noqa: E402
    distinct_rows,
    fit_bgnbd,
    fit_mbgnbd,
    fit_pareto_nbd,
    fit_pareto_nbd_limit,
)
from core.errors import ModelFitError  # noqa: E402

HERE = Path(__file__).resolve().parent


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


def no_variety(n_users: int = 100_000, seed: int = 7) -> tuple[np.ndarray, ...]:
    """bench_refresh.py's history as the models see it: 70 % of the users buy, 10 orders per
    user go to random buyers at uniform times over the two years to 2024-12-31 (730 days);
    x = distinct purchase days after the first, t_x and T in weeks from the first day."""
    rng = np.random.default_rng(seed)
    buyers = np.flatnonzero(np.arange(n_users) % 10 < 7)
    who = rng.choice(buyers, 10 * n_users)
    day = rng.integers(0, 730 * 86400, len(who)) // 86400
    pairs = np.unique(np.column_stack([who, day]), axis=0)  # distinct (buyer, day)
    start = np.r_[0, np.flatnonzero(np.diff(pairs[:, 0])) + 1]
    first, last = pairs[start, 1], pairs[np.r_[start[1:], len(pairs)] - 1, 1]
    x = np.diff(np.r_[start, len(pairs)]) - 1.0
    return x, (last - first) / 7.0, (730 - first) / 7.0


def cached_db_summary() -> tuple[tuple[np.ndarray, ...], str] | None:
    """The summary of bench_refresh.py's cached 100k-user database, if one was built."""
    from core.analytics.predict import stored_summary

    for path in sorted(HERE.glob("bench_refresh_100000_*.db")):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            as_of = date.fromisoformat(
                conn.execute("SELECT value FROM meta WHERE key = 'as_of'").fetchone()[0][:10]
            )
            s = stored_summary(conn, as_of)
        finally:
            conn.close()
        return tuple(s[c].to_numpy(float) for c in ("x", "t_x", "T")), path.name
    return None


class _Cut(Exception):
    pass


def _before(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, limit: float) -> str:
    """The Pareto/NBD fit without the evaluation stops (as before them), cut after ``limit``
    seconds by the benchmark (its clock, never the model's)."""
    saved = models.MAX_EVALUATIONS, models.MAX_FAILED_EVALUATIONS, models._pareto_terms
    started, calls = time.perf_counter(), [0]

    def timed(*args, **kwargs):
        if time.perf_counter() - started > limit:
            raise _Cut
        calls[0] += 1
        return saved[2](*args, **kwargs)

    models.MAX_EVALUATIONS = models.MAX_FAILED_EVALUATIONS = 1 << 62
    models._pareto_terms = timed
    try:
        fit = fit_pareto_nbd(x, t_x, T)
        outcome = f"converged {fit.info.converged}, LL {fit.log_lik:,.1f}"
    except _Cut:
        outcome = "cut by the benchmark, not finished"
    except ModelFitError as exc:
        outcome = f"gave up: {str(exc)[:70]}..."
    finally:
        models.MAX_EVALUATIONS, models.MAX_FAILED_EVALUATIONS, models._pareto_terms = saved
    took = time.perf_counter() - started
    return f"{took:6.1f} s  {calls[0]} evaluations, {outcome}"


def _timed(fit, x, t_x, T) -> tuple[float, str]:
    calls, real = [0], models._pareto_terms

    def counted(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    models._pareto_terms = counted
    started = time.perf_counter()
    try:
        result = fit(x, t_x, T)
        outcome = f"converged {result.info.converged}, LL {result.log_lik:,.1f}"
    except ModelFitError as exc:
        outcome = f"gave up: {str(exc)[:70]}..."
    finally:
        models._pareto_terms = real
    took = time.perf_counter() - started
    if calls[0]:
        outcome = f"{calls[0]} evaluations, {outcome}"
    return took, outcome


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=700_000, help="buyers of the first case")
    ap.add_argument("--before-limit", type=float, default=300.0)
    ap.add_argument("--no-db", action="store_true")
    args = ap.parse_args()
    n = args.n
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

    found = None if args.no_db else cached_db_summary()
    if found is None:
        (x, t_x, T), source = no_variety(), "generated as bench_refresh.py's 100k users"
    else:
        (x, t_x, T), source = found
    n_hist = len(distinct_rows(x, t_x, T)[0])
    print(f"\nno variety ({source}): {len(x):,} buyers, {n_hist:,} distinct histories")
    base = None
    for name, fit in (
        ("BG/NBD", fit_bgnbd),
        ("MBG/NBD", fit_mbgnbd),
        ("Pareto/NBD", fit_pareto_nbd),
    ):
        took, outcome = _timed(fit, x, t_x, T)
        base = base or took
        print(f"{name:<28} {took:6.2f} s  ({took / base:.2f}x BG/NBD)  {outcome}")
    print(f"{'Pareto/NBD without the stops':<28} {_before(x, t_x, T, args.before_limit)}")


if __name__ == "__main__":
    main()
