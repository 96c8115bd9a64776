"""The profile of one user as of a date: attributes, the layer rule that placed them and the
earlier rules not met, RFM standing among buyers, tags with their reasons, predictions, the
latest orders and events, monthly activity, segments and campaigns.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from core.errors import CoreError, NotFound
from core.store.engines import dialect_of
from core.store.personal import personal_columns
from core.store.schema import FEATURE_COLUMNS, HOT_FEATURE_COLUMNS, MODEL_OUTPUT_COLUMNS
from core.store.sql import run
from core.views.users import TAG_DIMENSIONS, layer_rules

PREDICTIVE_FIELDS = MODEL_OUTPUT_COLUMNS  # what a predictive tag's reason shows
TIMELINE_LIMIT = 50
ACTIVITY_MONTHS = 24


@dataclass(frozen=True)
class RuleCheck:
    """One layer rule evaluated for one user: met, not met, or broken (``error``)."""

    key: str
    name_zh: str
    name_en: str
    condition: str
    met: bool | None
    error: str | None = None


@dataclass(frozen=True)
class TagInfo:
    name: str
    dimension: str
    condition: str
    description: str
    model_values: dict[str, Any]  # predictive tags: the model outputs their condition reads


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    attributes: dict[str, Any]  # every users column, extra import columns included
    features: dict[str, Any]  # the features row ({} before the first recompute)
    layer: str | None
    layer_rule: RuleCheck | None  # the rule that placed the user
    rules_not_met: list[RuleCheck]  # earlier rules, in evaluation order
    rfm_percentiles: dict[str, float | None]  # r/f/m: share of buyers the user equals or beats
    tags: dict[str, list[TagInfo]]  # by dimension, in TAG_DIMENSIONS order
    orders: list[tuple[str, str, float]]  # (order_id, created_at, amount), latest first
    events: list[tuple[str, str, str | None]]  # (kind, created_at, value), latest first
    monthly_activity: list[tuple[str, int]]  # ('YYYY-MM', orders + events), oldest first
    segments: list[str]
    campaigns: list[tuple[str, str, str]]  # (campaign, role, data date added on)
    personal: frozenset[str] = frozenset()  # attributes holding personal data (masked by --mask)
    prediction_model: str | None = None  # the purchase model behind the predictions (f-models)
    prediction_note: str | None = None  # 'one_purchase' | 'short_history' | None (f-models)
    # features columns this data does not measure -> (why, what) (core.analytics.coverage):
    # shown as "not measured", not as a 0; layer keys whose rule reads one of them
    unmeasured: dict[str, tuple[str, str]] = field(default_factory=dict)
    rules_unmeasured: frozenset[str] = frozenset()


def profile(
    conn: sqlite3.Connection, user_id: str, as_of: date, *, with_percentiles: bool = True
) -> UserProfile:
    """Everything about one user as of ``as_of``. Raises NotFound for an unknown id.

    The R/F/M percentiles count over every buyer (~0.2 s at 1M users): a screen may ask for the
    rest first (``with_percentiles=False``) and call :func:`rfm_percentiles` separately.
    """
    attributes = _one(conn, "SELECT * FROM users WHERE user_id = ?", (user_id,))
    if attributes is None:
        raise NotFound(f"no user with id {user_id!r}")
    feats = _stored_order(_one(conn, "SELECT * FROM features WHERE user_id = ?", (user_id,)) or {})
    rules = layer_rules(conn)
    saved = [tuple(r) for r in run(conn, "SELECT name, query FROM segments ORDER BY name", ())]
    placed, not_met, segment_names = _checks(conn, user_id, feats.get("layer"), rules, saved, as_of)
    orders, order_months = _timeline(conn, "orders", user_id, as_of)
    events, event_months = _timeline(conn, "events", user_id, as_of)
    return UserProfile(
        user_id=user_id,
        attributes=attributes,
        features=feats,
        layer=feats.get("layer"),
        layer_rule=placed,
        rules_not_met=not_met,
        rfm_percentiles=rfm_percentiles(conn, feats) if with_percentiles else {},
        tags=_tags(conn, user_id, feats),
        orders=orders,
        events=events,
        monthly_activity=_months(as_of, order_months, event_months),
        segments=segment_names + _snapshots_of(conn, user_id),
        campaigns=[tuple(r) for r in run(conn, _CAMPAIGNS_SQL, (user_id,))],
        personal=personal_columns(conn),
        prediction_model=_prediction_model(conn) if has_predictions(feats) else None,
        prediction_note=prediction_note(feats, as_of),
        **_coverage(conn, rules),
    )


def _coverage(conn: sqlite3.Connection, rules: list | None = None) -> dict[str, Any]:
    """What the last recompute found this data does not measure (nothing before one);
    ``rules``: the layer rules when the caller has read them."""
    from core.analytics.coverage import stored
    from core.rules.applicability import unmeasured_reads

    found = stored(conn)
    if found is None:
        return {}
    keys = frozenset(
        key
        for key, _, _, condition in (layer_rules(conn) if rules is None else rules)
        if unmeasured_reads(condition, found)
    )
    return {"unmeasured": found.unmeasured(), "rules_unmeasured": keys}


SHORT_HISTORY_DAYS = 30  # a first purchase this recent tells the models little


def has_predictions(feats: dict[str, Any]) -> bool:
    """Whether the purchase model has outputs for the user. P(alive) alone does not say: a
    one-time buyer under BG/NBD has expected purchases but no P(alive) estimate (NULL)."""
    return feats.get("p_alive") is not None or feats.get("expected_purchases_30d") is not None


def prediction_note(feats: dict[str, Any], as_of: date) -> str | None:
    """How much the user's history tells the models: 'one_purchase' (a single purchase day:
    nothing yet on their rhythm), 'short_history' (first purchase under SHORT_HISTORY_DAYS
    days before the as-of date), else None."""
    first, last = feats.get("first_order_at"), feats.get("last_order_at")
    if not has_predictions(feats) or not first or not last:
        return None
    if str(first)[:10] == str(last)[:10]:
        return "one_purchase"
    try:
        age = (as_of - date.fromisoformat(str(first)[:10])).days
    except ValueError:
        return None
    return "short_history" if age < SHORT_HISTORY_DAYS else None


def _prediction_model(conn: sqlite3.Connection) -> str | None:
    """The purchase model recorded as behind the stored outputs (meta model_used)."""
    import json

    row = run(conn, "SELECT value FROM meta WHERE key = 'model_used'", ()).fetchone()
    try:
        used = json.loads(row[0]) if row and row[0] else None
    except ValueError:
        return None
    return used.get("model") if isinstance(used, dict) else None


_CAMPAIGNS_SQL = (
    "SELECT campaign, role, coalesce(added_on, substr(added_at, 1, 10)) FROM campaign_members"
    " WHERE user_id = ? ORDER BY added_on DESC, added_at DESC, campaign"
)


def _stored_order(feats: dict[str, Any]) -> dict[str, Any]:
    """The features in the order a recomputed table stores them (hot columns first): a column a
    migration appended (ALTER TABLE, until the next recompute) is listed in its place, so the
    profile reads the same on every engine and after any upgrade."""
    order = [*dict.fromkeys([*HOT_FEATURE_COLUMNS, *FEATURE_COLUMNS]), *feats]
    return {c: feats[c] for c in dict.fromkeys(order) if c in feats}


def _one(conn: sqlite3.Connection, sql: str, args: tuple) -> dict[str, Any] | None:
    cur = run(conn, sql, args)
    row = cur.fetchone()
    return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))


def _end_of(as_of: date) -> str:
    """Rows "as of D" are those created before the start of D + 1 day."""
    return (as_of + timedelta(days=1)).isoformat()


def holds(conn: sqlite3.Connection, user_id: str, condition: str, as_of: date) -> bool:
    """Does ``condition`` (segment language) hold for this one user? Raises QueryError."""
    from core.query import compile_condition  # the language is core's own; imported late

    compiled = compile_condition(conn, condition, as_of=as_of)
    user = dialect_of(conn).param("_profile_user")
    sql = f"SELECT ({compiled.where}) FROM features AS f WHERE f.user_id = {user}"
    row = run(conn, sql, {**compiled.params, "_profile_user": user_id}).fetchone()
    return bool(row and row[0])


def holds_each(
    conn: sqlite3.Connection, user_id: str, conditions: list[str], as_of: date
) -> list[tuple[bool | None, str | None]]:
    """Does each condition hold for this one user: (met, None), or (None, why) for one that
    does not compile or run. All of them in one statement (one column each over the user's
    features row), not one or two per condition: on DuckDB every statement costs milliseconds
    of its own (10–30 at 1M users under load), and the profile tests each layer rule and saved
    segment. Should that statement fail (an engine's limits), each is asked alone
    (:func:`holds`), so an error is its own condition's."""
    from core.query import compile_condition  # the language is core's own; imported late

    out: list[tuple[bool | None, str | None]] = [(None, None)] * len(conditions)
    compiled = {}
    for i, text in enumerate(conditions):
        try:
            compiled[i] = compile_condition(conn, text, as_of=as_of, prefix=f"c{i}_", prepare=False)
        except CoreError as exc:
            out[i] = (None, str(exc))
    if not compiled:
        return out
    user = dialect_of(conn).param("_profile_user")
    columns = ", ".join(f"({c.where})" for c in compiled.values())
    params: dict[str, object] = {"_profile_user": user_id}
    for c in compiled.values():
        params.update(c.params)
    try:
        sql = f"SELECT {columns} FROM features AS f WHERE f.user_id = {user}"
        row = run(conn, sql, params).fetchone()
    except CoreError:
        for i in compiled:
            try:
                out[i] = (holds(conn, user_id, conditions[i], as_of), None)
            except CoreError as exc:
                out[i] = (None, str(exc))
        return out
    for i, value in zip(compiled, row or [None] * len(compiled), strict=True):
        out[i] = (bool(value), None)
    return out


def _checks(conn, user_id: str, layer: str | None, rules: list, saved: list, as_of: date):
    """The rule that placed the user and the earlier rules it did not meet (RuleChecks), and
    the saved segments whose condition holds for the user: one statement (holds_each)."""
    keys = [rule[0] for rule in rules]
    checked = rules[: keys.index(layer) + 1] if layer in keys else rules
    found = holds_each(conn, user_id, [r[3] for r in checked] + [q for _, q in saved], as_of)
    checks = [
        RuleCheck(key, zh, en, condition, met, error)
        for (key, zh, en, condition), (met, error) in zip(checked, found, strict=False)
    ]
    placed = checks.pop() if layer in keys else None
    # a segment that no longer compiles is the segments screen's concern
    names = [name for (name, _), (met, _) in zip(saved, found[len(checked) :], strict=True) if met]
    return placed, checks, names


def rfm_percentiles(conn: sqlite3.Connection, feats: dict[str, Any]) -> dict[str, float | None]:
    """Share of buyers (frequency > 0) the user equals or beats: R more recent, F and M more.

    Index range counts, not a scan of the wide table; non-buyers have monetary 0, so they are
    taken back out of the M count.
    """
    if not feats.get("frequency"):
        return {"r": None, "f": None, "m": None}

    def n(where: str, value: Any = None) -> int:
        return run(conn, f"SELECT count(*) FROM features WHERE {where}", (value,)).fetchone()[0]

    buyers = n("frequency > ?", 0)
    # non-buyers all have monetary 0 (core.analytics.features), at or below any buyer's total
    non_buyers_below = n("frequency = ?", 0) if feats["monetary"] >= 0 else 0
    beaten = {
        "r": n("recency_days >= ?", feats["recency_days"]),
        "f": n("frequency BETWEEN 1 AND ?", feats["frequency"]),
        "m": n("monetary <= ?", feats["monetary"]) - non_buyers_below,
    }
    return {d: b / buyers for d, b in beaten.items()}


def _tags(
    conn: sqlite3.Connection, user_id: str, feats: dict[str, Any]
) -> dict[str, list[TagInfo]]:
    sql = (
        "SELECT t.tag, coalesce(r.dimension, 'basic'), coalesce(r.condition, ''), "
        "coalesce(r.description, '') FROM user_tags AS t LEFT JOIN tag_rules AS r ON r.name = t.tag "
        "WHERE t.user_id = ? ORDER BY t.tag"
    )
    grouped: dict[str, list[TagInfo]] = {d: [] for d in TAG_DIMENSIONS}
    for name, dimension, condition, description in run(conn, sql, (user_id,)):
        values = {}
        if dimension == "predictive":
            words = set(re.findall(r"[a-z_0-9]+", condition))
            values = {f: feats.get(f) for f in PREDICTIVE_FIELDS if f in words}
        info = TagInfo(name, dimension, condition, description, values)
        grouped.setdefault(dimension, []).append(info)
    return grouped


# table -> its timeline's columns, and the order of rows of one time (on every engine the
# order SQLite's keys gave them: orders by amount down, events by kind and value)
_TIMELINE_COLUMNS = {
    "orders": ("order_id", "amount", ("t_c DESC, t_a DESC", "c DESC, a DESC")),
    "events": ("kind", "nullif(value, '')", ("t_a, coalesce(t_c, '')", "a, coalesce(c, '')")),
}


def _timeline(conn, table: str, user_id: str, as_of: date) -> tuple[list[tuple], dict[str, int]]:
    """The user's latest TIMELINE_LIMIT rows of ``table`` up to as_of and their rows per month
    of the ACTIVITY_MONTHS months: one statement, the user's rows read once (DuckDB keeps
    events by kind and time, so a user's rows are a scan of the whole user_id column)."""
    a, c, (ties, out_ties) = _TIMELINE_COLUMNS[table]  # literals, never user text
    once = dialect_of(conn).materialized
    # the CTE's names differ from the output's: ClickHouse's aliases reach into WHERE
    sql = (
        f"WITH mine AS {once}(SELECT {a} AS t_a, created_at AS t_at, {c} AS t_c FROM {table} "
        "WHERE user_id = ? AND created_at < ?) "
        "SELECT * FROM (SELECT * FROM (SELECT 0 AS part, t_a AS a, t_at AS b, t_c AS c, "
        f"NULL AS n FROM mine ORDER BY t_at DESC, {ties} LIMIT ?) "
        "UNION ALL SELECT 1 AS part, substr(t_at, 1, 7) AS a, NULL AS b, NULL AS c, "
        "count(*) AS n FROM mine WHERE t_at >= ? GROUP BY substr(t_at, 1, 7)) "
        f"ORDER BY part, b DESC, {out_ties}"
    )
    first = _month_keys(as_of)[0] + "-01"
    latest, months = [], {}
    for part, x, stamp, y, n in run(conn, sql, (user_id, _end_of(as_of), TIMELINE_LIMIT, first)):
        if part == 0:
            latest.append((x, stamp, y))
        else:
            months[x] = int(n)
    return latest, months


def _month_keys(as_of: date) -> list[str]:
    """'YYYY-MM' of the ACTIVITY_MONTHS months ending with as_of's, oldest first."""
    months = []
    y, m = as_of.year, as_of.month
    for _ in range(ACTIVITY_MONTHS):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return months[::-1]


def _months(as_of: date, *counted: dict[str, int]) -> list[tuple[str, int]]:
    counts = dict.fromkeys(_month_keys(as_of), 0)
    for found in counted:
        for month, n in found.items():
            counts[month] = counts.get(month, 0) + n
    return list(counts.items())


def monthly_activity(conn: sqlite3.Connection, user_id: str, as_of: date) -> list[tuple[str, int]]:
    """Orders + events per calendar month, the ACTIVITY_MONTHS months ending with as_of's."""
    return _months(as_of, *(_timeline(conn, t, user_id, as_of)[1] for t in ("orders", "events")))


def _snapshots_of(conn: sqlite3.Connection, user_id: str) -> list[str]:
    """The snapshots that froze the user in."""
    sql = (
        "SELECT s.name FROM snapshot_members AS m JOIN segment_snapshots AS s "
        "ON s.id = m.snapshot_id WHERE m.user_id = ? ORDER BY s.name"
    )
    return [r[0] for r in run(conn, sql, (user_id,))]
