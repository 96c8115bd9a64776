"""What RFM looks like over the buyers: the group table (also with trial thresholds, before
they are saved), the 27-cell counts, a sample for the scatter, where each cut falls, and
suggested cuts.

Suggested cuts come from Fisher's exact one-dimensional k-means (Jenks natural breaks), solved by
dynamic programming on at most ``MAX_BINS`` equal-weight bins of the buyers' values.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.analytics.rfm import (
    DIMENSIONS,
    GROUPS,
    NON_BUYER_EN,
    NON_BUYER_KEY,
    NON_BUYER_ZH,
    SCORE_COLUMN,
    VALUE_COLUMN,
    Threshold,
    cut_values,
    get_thresholds,
    score_plan,
)
from core.store.engines import dialect_of
from core.store.sql import table_name

if TYPE_CHECKING:  # numpy (~0.1 s) loads in the clustering functions; the app imports this module
    import numpy as np

MAX_BINS = 1000


@dataclass(frozen=True)
class GroupRow:
    key: str
    name_zh: str
    name_en: str
    count: int
    share_of_buyers: float | None
    share_of_revenue: float | None
    mean_recency: float | None
    mean_frequency: float | None
    mean_monetary: float | None
    action: str


def group_table(conn: sqlite3.Connection, table: str = "features") -> list[GroupRow]:
    """The 8 groups in their standard order, then the non-buyers."""
    table = table_name(table)
    stats = {
        key: row
        for key, *row in conn.execute(
            f"SELECT rfm_group, count(*), {dialect_of(conn).total('monetary', 'user_id')}, avg(recency_days), "
            "avg(frequency), "
            f"avg(monetary) FROM {table} WHERE frequency > 0 GROUP BY rfm_group"
        )
    }
    return _group_rows(conn, table, stats)


def preview_groups(
    conn: sqlite3.Connection, trial: dict[str, Threshold], table: str = "features"
) -> list[GroupRow]:
    """The group table as it would be with ``trial`` thresholds (the others as stored), computed
    without writing anything: what an operator sees before saving a new cut."""
    table = table_name(table)
    thresholds = {**get_thresholds(conn), **trial}
    plan = score_plan(conn, table, thresholds)
    stats: dict[str, list] = {}
    if plan is not None:
        by_code = {g.code: g.key for g in GROUPS}
        sql = (
            f"SELECT {plan.code} AS code, count(*), {dialect_of(conn).total('monetary', 'user_id')}, "
            "avg(recency_days), "
            f"avg(frequency), avg(monetary) FROM {table} WHERE frequency > 0 GROUP BY code"
        )
        for code, *row in conn.execute(sql, plan.params):
            stats[by_code[code]] = row
    return _group_rows(conn, table, stats)


def _group_rows(conn: sqlite3.Connection, table: str, stats: dict) -> list[GroupRow]:
    buyers = sum(row[0] for row in stats.values())
    revenue = sum(row[1] for row in stats.values())
    rows = []
    for g in GROUPS:
        count, spent, mean_r, mean_f, mean_m = stats.get(g.key, (0, 0.0, None, None, None))
        rows.append(
            GroupRow(
                g.key,
                g.name_zh,
                g.name_en,
                count,
                count / buyers if buyers else None,
                spent / revenue if revenue else None,
                mean_r,
                mean_f,
                mean_m,
                g.action,
            )
        )
    non_buyers = conn.execute(
        f"SELECT count(*) FROM {table} WHERE coalesce(frequency, 0) = 0"
    ).fetchone()[0]
    rows.append(
        GroupRow(
            NON_BUYER_KEY,
            NON_BUYER_ZH,
            NON_BUYER_EN,
            non_buyers,
            None,
            None,
            None,
            None,
            None,
            "activate a first purchase",
        )
    )
    return rows


def buyer_sample(
    conn: sqlite3.Connection, limit: int = 2000, table: str = "features"
) -> list[tuple[float, float, float]]:
    """(recency_days, frequency, monetary) of at most ``limit`` buyers for a scatter plot: every
    k-th buyer by user id, so the sample is spread over the table and the same on every call."""
    table = table_name(table)
    buyers = conn.execute(f"SELECT count(*) FROM {table} WHERE frequency > 0").fetchone()[0]
    step = max(1, buyers // max(1, limit))  # about ``limit`` buyers fall on a multiple of step
    sql = (
        "SELECT recency_days, frequency, monetary FROM ("
        " SELECT recency_days, frequency, monetary, row_number() OVER (ORDER BY user_id) AS n"
        f" FROM {table} WHERE frequency > 0) WHERE n % :step = 0 LIMIT :limit"
    )
    return [tuple(r) for r in conn.execute(sql, {"step": step, "limit": limit})]


def cut_lines(
    conn: sqlite3.Connection, thresholds: dict[str, Threshold], table: str = "features"
) -> dict[str, float | None]:
    """Where each threshold falls on its dimension's value axis (to draw it over the scatter):
    a ``score:n`` cut becomes the value at which buyers reach score n."""
    table = table_name(table)
    cuts = cut_values(conn, table, thresholds)
    for dim, t in thresholds.items():
        if t.method == "score":
            edge = "max" if dim == "r" else "min"
            sql = (
                f"SELECT {edge}({VALUE_COLUMN[dim]}) FROM {table} "
                f"WHERE frequency > 0 AND {SCORE_COLUMN[dim]} >= ?"
            )
            cuts[dim] = conn.execute(sql, (t.value,)).fetchone()[0]
    return cuts


def cell27_table(conn: sqlite3.Connection, table: str = "features") -> dict[str, int]:
    """Buyers per 27-cell ('HHH' … 'LLL'), every cell present."""
    table = table_name(table)
    got = dict(
        conn.execute(
            f"SELECT rfm_cell27, count(*) FROM {table} WHERE rfm_cell27 IS NOT NULL "
            "GROUP BY rfm_cell27"
        ).fetchall()
    )
    return {r + f + m: got.get(r + f + m, 0) for r in "HML" for f in "HML" for m in "HML"}


def _binned(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Collapse sorted (value, weight) points into ≤ MAX_BINS equal-weight bins."""
    import numpy as np

    if len(values) <= MAX_BINS:
        return values, weights, values, values
    before = np.cumsum(weights) - weights
    bins = np.minimum((before * MAX_BINS // weights.sum()).astype(np.int64), MAX_BINS - 1)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    w = np.add.reduceat(weights, starts)
    centre = np.add.reduceat(values * weights, starts) / w
    lows = values[starts]
    highs = np.r_[values[starts[1:] - 1], values[-1]]
    return centre, w, lows, highs


def fisher_breaks(x: np.ndarray, w: np.ndarray, k: int) -> list[int]:
    """Fisher's exact weighted 1-D k-means: indices where clusters 2..k start (x sorted)."""
    import numpy as np

    n = len(x)
    k = min(k, n)
    cw, cs, cq = (np.r_[0.0, np.cumsum(a)] for a in (w, w * x, w * x * x))

    def cost(i: np.ndarray, j: int) -> np.ndarray:  # within-cluster SSE of points i..j-1
        ws = cw[j] - cw[i]
        return cq[j] - cq[i] - (cs[j] - cs[i]) ** 2 / ws

    best = np.full((k + 1, n + 1), np.inf)
    start = np.zeros((k + 1, n + 1), dtype=np.int64)
    best[1, 1:] = [cost(np.array([0]), j)[0] for j in range(1, n + 1)]
    for c in range(2, k + 1):
        for j in range(c, n + 1):
            i = np.arange(c - 1, j)
            total = best[c - 1, i] + cost(i, j)
            pick = int(np.argmin(total))
            best[c, j], start[c, j] = total[pick], i[pick]
    breaks, j = [], n
    for c in range(k, 1, -1):
        j = int(start[c, j])
        breaks.append(j)
    return sorted(breaks)


def suggest_cuts(
    conn: sqlite3.Connection, table: str = "features", k: int = 2
) -> dict[str, list[float]]:
    """Per dimension, the k-1 cut values that separate Jenks' natural clusters of the buyers.

    F/M cuts are the lowest value of each upper cluster (high when ≥ cut); R cuts are the highest
    recency of each more recent cluster (high when ≤ cut), in ascending order.
    """
    import numpy as np

    table = table_name(table)
    cuts: dict[str, list[float]] = {}
    for dim in DIMENSIONS:
        column = VALUE_COLUMN[dim]
        rows = conn.execute(
            f"SELECT {column}, count(*) FROM {table} WHERE frequency > 0 "
            f"GROUP BY {column} ORDER BY {column}"
        ).fetchall()
        if len(rows) < 2:
            cuts[dim] = []
            continue
        data = np.array(rows, dtype=float)
        centre, w, lows, highs = _binned(data[:, 0], data[:, 1])
        starts = fisher_breaks(centre, w, k)
        edge = highs[np.array(starts) - 1] if dim == "r" else lows[np.array(starts)]
        cuts[dim] = [float(v) for v in edge]
    return cuts
