"""RFM: quintile scores, the 8 standard groups, the 27-cell view, the thresholds.

Scores (1–5, 5 best) are computed over buyers only (``frequency > 0``), per dimension:

    score = ceil(5 × k / n)

where n is the number of buyers and k the number of buyers whose value is *no better* than this
buyer's (ties included: this is SQL's ``cume_dist``). Equal values therefore always get equal
scores; a heavily tied value takes the score of the top of its tie block (everyone identical ⇒
everyone 5). For R "better" means more recent (smaller recency_days), so the most recent get 5.

Groups: each dimension is split high/low by a threshold stored in ``rfm_settings``:
``mean`` (default) or ``median`` over buyers, ``fixed:<value>`` (F, M high when ≥ value; R high
when recency_days ≤ value), or ``score:<n>`` (high when the score ≥ n). The 27-cell view maps
each score to H (4–5), M (3) or L (1–2). Users who never bought get NULL scores, group and cell:
they are shown as 'non-buyer' / '未购买', never as 一般挽留.

What the group table, the 27 cells and the suggested cuts show is in core.analytics.rfm_report.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import CoreError
from core.store.engines import dialect_of, engine_of
from core.store.sql import table_name

if TYPE_CHECKING:  # numpy (~0.1 s) loads in the three functions that use it: light commands
    import numpy as np  # and the app import this module through features and layers

DIMENSIONS = ("r", "f", "m")
VALUE_COLUMN = {"r": "recency_days", "f": "frequency", "m": "monetary"}
SCORE_COLUMN = {"r": "r_score", "f": "f_score", "m": "m_score"}
DIMENSION_NAMES = {"r": "recency", "f": "frequency", "m": "monetary"}
METHODS = ("mean", "median", "fixed", "score")
NON_BUYER_KEY, NON_BUYER_ZH, NON_BUYER_EN = "non_buyer", "未购买", "non-buyer"
CELL_LETTERS = "LLMHH"  # score 1..5 -> L L M H H


@dataclass(frozen=True)
class RfmGroup:
    key: str
    name_zh: str
    name_en: str
    r_high: bool
    f_high: bool
    m_high: bool
    action: str

    @property
    def code(self) -> int:
        """R, F, M high/low as three bits (R = 4, F = 2, M = 1)."""
        return 4 * self.r_high + 2 * self.f_high + self.m_high


GROUPS: tuple[RfmGroup, ...] = (
    RfmGroup(
        "important_value",
        "重要价值客户",
        "important value",
        True,
        True,
        True,
        "keep delighted, VIP service",
    ),
    RfmGroup(
        "important_development",
        "重要发展客户",
        "important development",
        True,
        False,
        True,
        "raise frequency",
    ),
    RfmGroup(
        "important_retention",
        "重要保持客户",
        "important retention",
        False,
        True,
        True,
        "win back before they go: was valuable, now silent",
    ),
    RfmGroup(
        "important_winback",
        "重要挽留客户",
        "important win-back",
        False,
        False,
        True,
        "recall campaign",
    ),
    RfmGroup(
        "general_value", "一般价值客户", "general value", True, True, False, "raise basket size"
    ),
    RfmGroup(
        "general_development", "一般发展客户", "general development", True, False, False, "nurture"
    ),
    RfmGroup(
        "general_retention", "一般保持客户", "general retention", False, True, False, "keep engaged"
    ),
    RfmGroup(
        "general_winback",
        "一般挽留客户",
        "general win-back",
        False,
        False,
        False,
        "low-cost reminders",
    ),
)
GROUPS_BY_KEY = {g.key: g for g in GROUPS}


@dataclass(frozen=True)
class Threshold:
    dimension: str
    method: str = "mean"
    value: float | None = None

    def describe(self) -> str:
        if self.method == "fixed":
            return f"fixed:{self.value:g}"
        if self.method == "score":
            return f"score:{int(self.value or 0)}"
        return self.method


def check_threshold(dim: str, method: str, value: float | None = None) -> Threshold:
    """Validate one threshold; the message says which part is wrong."""
    if dim not in DIMENSIONS:
        raise CoreError(f"unknown RFM dimension {dim!r}: use r, f or m", title="Bad threshold")
    if method not in METHODS:
        raise CoreError(
            f"{dim}: unknown method {method!r}: use mean, median, fixed:<value> or score:<1-5>",
            title="Bad threshold",
        )
    if method in ("mean", "median"):
        return Threshold(dim, method, None)
    if value is None or not math.isfinite(value):
        raise CoreError(
            f"{dim}: method {method} needs a number, e.g. {method}:3", title="Bad threshold"
        )
    if method == "score" and (value != int(value) or not 1 <= value <= 5):
        raise CoreError(
            f"{dim}: score cut must be a whole number 1-5, got {value:g}", title="Bad threshold"
        )
    return Threshold(dim, method, float(value))


def parse_threshold(spec: str) -> Threshold:
    """``r=median``, ``f=fixed:3``, ``m=score:4``, ``r=mean`` -> Threshold."""
    dim, sep, rest = spec.strip().partition("=")
    if not sep:
        raise CoreError(
            f"{spec!r}: expected DIM=METHOD, e.g. r=median or f=fixed:3", title="Bad threshold"
        )
    method, _, raw = rest.strip().partition(":")
    value = None
    if raw:
        try:
            value = float(raw)
        except ValueError:
            raise CoreError(f"{spec!r}: {raw!r} is not a number", title="Bad threshold") from None
    return check_threshold(dim.strip().lower(), method.strip().lower(), value)


def get_thresholds(conn: sqlite3.Connection) -> dict[str, Threshold]:
    """The stored split per dimension; ``mean`` where none is stored."""
    stored = {
        dim: Threshold(dim, method, value)
        for dim, method, value in conn.execute("SELECT dimension, method, value FROM rfm_settings")
    }
    return {dim: stored.get(dim, Threshold(dim)) for dim in DIMENSIONS}


def set_threshold(
    conn: sqlite3.Connection, dim: str, method: str, value: float | None = None
) -> Threshold:
    """Store one dimension's split (a single statement; wrap several in a transaction)."""
    t = check_threshold(dim, method, value)
    conn.execute(
        "INSERT OR REPLACE INTO rfm_settings(dimension, method, value) VALUES (?, ?, ?)",
        (t.dimension, t.method, t.value),
    )
    return t


def buyer_values(conn: sqlite3.Connection, table: str) -> np.ndarray:
    """The buyers' (recency_days, frequency, monetary), one row each, as floats: the one read
    both the split cuts and the score boundaries are taken from."""
    import numpy as np

    columns = ", ".join(VALUE_COLUMN[d] for d in DIMENSIONS)
    engine = engine_of(conn)
    # SQLite: +frequency, a scan in key order, not a seek per buyer in features_frequency's
    # order (random rows: 4x the CPU at 100k users; NOT INDEXED does not stop that plan)
    buyers = "+frequency > 0" if engine == "sqlite" else "frequency > 0"
    sql = f"SELECT {columns} FROM {table_name(table)} WHERE {buyers}"
    if engine == "duckdb":  # DuckDB hands over columns, not rows
        return conn.frame(sql).to_numpy(dtype=np.float64).reshape(-1, len(DIMENSIONS))  # type: ignore[attr-defined]
    rows = conn.execute(sql)
    # streamed into the array, no list of row tuples in between: -30 % on 700k buyers
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64)
    return flat.reshape(-1, len(DIMENSIONS))


def cut_values(
    conn: sqlite3.Connection,
    table: str,
    thresholds: dict[str, Threshold],
    values: np.ndarray | None = None,
) -> dict[str, float | None]:
    """The number each threshold stands for now (a value, or a score for ``score``): the
    buyers' mean or median (the middle value, or the mean of the two middle ones), or the
    stored value. ``values`` = buyer_values(conn, table) when the caller already has them."""
    import numpy as np

    if values is None:
        values = buyer_values(conn, table)
    cuts: dict[str, float | None] = {}
    for dim, t in thresholds.items():
        column = values[:, DIMENSIONS.index(dim)]
        if t.method in ("fixed", "score"):
            cuts[dim] = t.value
        elif len(column) == 0:
            cuts[dim] = None
        elif t.method == "mean":
            cuts[dim] = float(column.mean())
        else:
            cuts[dim] = float(np.median(column))
    return cuts


@dataclass(frozen=True)
class ScorePlan:
    """Scoring as SQL expressions over a buyer's own row, plus their bound parameters.

    A score is a step function of the value. With the n buyers sorted worst first, a buyer has
    k <= floor(s*n/5) buyers no better than itself (so score = ceil(5k/n) <= s) exactly when its
    value is worse than the buyer at 0-based rank floor(s*n/5). The values at those 4 ranks per
    dimension therefore reproduce the tie rule exactly, and scores, group and cell need no
    window sort and no join: ``score = 1 + number of boundaries reached``.
    """

    exprs: dict[str, str]  # r_score, f_score, m_score, rfm_group, rfm_cell27 -> SQL
    params: dict[str, object]
    code: str  # SQL of the 3-bit high/low code (R = 4, F = 2, M = 1)


def _boundaries(values: np.ndarray) -> dict[str, list]:
    """Per dimension, the buyers' values at 0-based ranks floor(s*n/5), s = 1..4, worst first,
    by a linear-time selection (numpy partition): cheaper than three sorts in SQL."""
    import numpy as np

    n = len(values)
    ranks = [s * n // 5 for s in range(1, 5)]
    bounds = {}
    for i, dim in enumerate(DIMENSIONS):
        # R: the worst is the largest recency, so worst-first rank k is ascending rank n-1-k
        at = [n - 1 - k for k in ranks] if dim == "r" else ranks
        picked = np.partition(values[:, i], sorted(set(at)))[at]
        bounds[dim] = [_as_stored(dim, v) for v in picked.tolist()]
    return bounds


def _as_stored(dim: str, value: float) -> float | int:
    """A boundary in the column's own type (R and F are whole numbers in SQL)."""
    return value if dim == "m" else int(value)


def _at_least(dim: str, column: str, param: str) -> str:
    """SQL: the value is at least as good as the bound in ``param`` (R: smaller is better)."""
    return f"({column} {'<=' if dim == 'r' else '>='} :{param})"


def _high_cut(dim: str, t: Threshold, cut: float | None, bounds: list) -> float | int | None:
    """The value a buyer must reach (as good or better) to be 'high' on ``dim``."""
    if t.method != "score":
        return _tolerant(dim, t, cut)
    n = int(t.value or 1)
    if n == 1:  # every buyer scores at least 1
        return math.inf if dim == "r" else -math.inf
    return bounds[n - 2]  # score >= n exactly when the value reaches boundary n-1


def _tolerant(dim: str, t: Threshold, cut: float | None) -> float | None:
    """Widen a mean/median cut by rounding noise, so 'everyone identical' is everyone high."""
    if cut is None or t.method in ("fixed", "score"):
        return cut
    eps = 1e-9 * max(1.0, abs(cut))
    return cut + eps if dim == "r" else cut - eps


def score_plan(
    conn: sqlite3.Connection,
    table: str,
    thresholds: dict[str, Threshold],
    alias: str | None = None,
) -> ScorePlan | None:
    """Scores, group and cell of the buyers of ``table`` as SQL over its columns (qualified by
    ``alias`` when given); None when there are no buyers. Parameters are named ``rfm_*``."""
    values = buyer_values(conn, table)
    if len(values) == 0:
        return None
    num = dialect_of(conn).as_int  # a test as 0/1 (SQLite's already are)
    cuts = cut_values(conn, table, thresholds, values)
    all_bounds = _boundaries(values)
    params: dict[str, object] = {}
    exprs: dict[str, str] = {}
    cells, highs = [], []
    buyer = f"{alias}.frequency" if alias else "frequency"
    for dim in DIMENSIONS:
        column = f"{alias}.{VALUE_COLUMN[dim]}" if alias else VALUE_COLUMN[dim]
        bounds = all_bounds[dim]
        params.update({f"rfm_{dim}{s}": b for s, b in enumerate(bounds, 1)})
        params[f"rfm_{dim}_high"] = _high_cut(dim, thresholds[dim], cuts[dim], bounds)
        steps = " + ".join(num(_at_least(dim, column, f"rfm_{dim}{s}")) for s in range(1, 5))
        exprs[SCORE_COLUMN[dim]] = f"CASE WHEN {buyer} > 0 THEN 1 + {steps} END"
        cells.append(
            f"CASE WHEN {_at_least(dim, column, f'rfm_{dim}3')} THEN 'H' "
            f"WHEN {_at_least(dim, column, f'rfm_{dim}2')} THEN 'M' ELSE 'L' END"
        )
        highs.append(num(_at_least(dim, column, f"rfm_{dim}_high")))
    code = f"4 * {highs[0]} + 2 * {highs[1]} + {highs[2]}"
    groups = " ".join(f"WHEN {g.code} THEN :rfm_g{g.code}" for g in GROUPS)
    params.update({f"rfm_g{g.code}": g.key for g in GROUPS})
    exprs["rfm_group"] = f"CASE WHEN {buyer} > 0 THEN CASE {code} {groups} END END"
    exprs["rfm_cell27"] = f"CASE WHEN {buyer} > 0 THEN {' || '.join(cells)} END"
    return ScorePlan(exprs, params, code)


def apply_rfm(conn: sqlite3.Connection, table: str = "features") -> None:
    """Score every buyer of ``table`` and set its group and 27-cell; non-buyers get NULL.

    One pass over the buyers whatever the thresholds, writing only the scores that change
    (``_write_changed_scores``). Runs in the caller's transaction (the one around
    a threshold change, or a scratch table's). The recompute folds the same expressions into
    the INSERT that fills ``features_new`` instead (core.analytics.features).
    """
    table = table_name(table)
    conn.execute(
        f"UPDATE {table} SET r_score = NULL, f_score = NULL, m_score = NULL, rfm_group = NULL, "
        "rfm_cell27 = NULL WHERE coalesce(frequency, 0) = 0 AND rfm_group IS NOT NULL"
    )
    plan = score_plan(conn, table, get_thresholds(conn))
    if plan is None:
        return
    sets = ", ".join(f"{column} = {expr}" for column, expr in plan.exprs.items())
    # Only the rows whose scores change are written (most keep theirs from one day to the
    # next: the refresh); the test is the same expressions, so nothing else can differ. The
    # 27-cell is a function of the three scores (H: score >= 4, M: 3): not tested (its string
    # is the costliest expression). SQLite: _write_changed_scores.
    differs = dialect_of(conn).is_distinct
    changed = " OR ".join(
        differs(column, expr) for column, expr in plan.exprs.items() if column != "rfm_cell27"
    )
    if engine_of(conn) != "sqlite":
        conn.execute(f"UPDATE {table} SET {sets} WHERE frequency > 0 AND ({changed})", plan.params)
        return
    _write_changed_scores(conn, table, plan)


CHANGED_SCORES = "temp.uo_rfm_changed"


def _write_changed_scores(conn: sqlite3.Connection, table: str, plan: ScorePlan) -> None:
    """SQLite: write only the score columns that change, row by row. Each indexed column in an
    UPDATE's SET list costs a delete and an insert in its index per row whatever its value
    (r_score, f_score, m_score and rfm_group are indexed from INDEX_MIN_USERS users), and from
    one day to the next most rows that change move one or two of the four (the recency score:
    at 100k users 27k r, 5k f, 9k m, 18k groups in 37k rows). So the rows that change are
    found first, in key order (``+frequency``: else the planner seeks every buyer in the order
    of features_frequency, at random in the table, which NOT INDEXED does not prevent), each
    with a bit per changed column; then each combination is written by an UPDATE of its own,
    rows in key order: every row still rewritten once, each index touched only where its
    column moves. The 27-cell follows the scores (H: score >= 4, M: 3): written with any of
    them, never alone."""
    differs = dialect_of(conn).is_distinct
    tested = [c for c in plan.exprs if c != "rfm_cell27"]
    bits = " + ".join(f"({differs(c, plan.exprs[c])}) * {1 << i}" for i, c in enumerate(tested))
    conn.execute(f"DROP TABLE IF EXISTS {CHANGED_SCORES}")
    conn.execute(
        f"CREATE TEMP TABLE {CHANGED_SCORES.split('.')[1]} (mask INTEGER NOT NULL,"
        " user_id TEXT NOT NULL, PRIMARY KEY (mask, user_id)) WITHOUT ROWID"
    )
    conn.execute(
        f"INSERT INTO {CHANGED_SCORES} SELECT mask, user_id FROM (SELECT user_id, {bits} AS mask"
        f" FROM {table} WHERE +frequency > 0) WHERE mask > 0",
        plan.params,
    )
    masks = [m for (m,) in conn.execute(f"SELECT DISTINCT mask FROM {CHANGED_SCORES}")]
    for mask in masks:
        columns = [c for i, c in enumerate(tested) if mask >> i & 1]
        if set(columns) - {"rfm_group"}:
            columns.append("rfm_cell27")
        sets = ", ".join(f"{column} = {plan.exprs[column]}" for column in columns)
        conn.execute(
            f"UPDATE {table} SET {sets} WHERE user_id IN"
            f" (SELECT user_id FROM {CHANGED_SCORES} WHERE mask = :rfm_mask)",
            {**plan.params, "rfm_mask": mask},
        )
    conn.execute(f"DROP TABLE {CHANGED_SCORES}")
