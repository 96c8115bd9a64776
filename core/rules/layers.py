"""Lifecycle layers (用户分层): an ordered list of rules, first match wins; the MECE report.

Rules are data (table ``layer_rules``), written in the condition language of ``core.query``.
Every user gets the key of the first rule whose condition matches, else ``unclassified``.
Rules are evaluated before tags in the recompute, so a layer condition may not use ``tag``;
it may not use ``layer`` either (it would read the previous classification).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from core.analytics.features import compute_features
from core.errors import CoreError, NotFound, QueryError
from core.query import Compiled
from core.rules import history
from core.rules.conditions import atomic, compile_rule, forbid
from core.store.engines import ENGINES, dialect_of, engine_of
from core.store.sql import table_name

UNCLASSIFIED = "unclassified"
MAX_RULES = 60
NONE = "(none)"  # transitions: the user did not exist (or was not classified) on that date

_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class LayerRule:
    position: int  # the priority: evaluation order, first match wins
    key: str
    name_zh: str
    name_en: str
    condition: str
    lifecycle: int | None = None  # the rank in the lifecycle (see LIFECYCLE), not the priority


UNCLASSIFIED_RULE = LayerRule(0, UNCLASSIFIED, "未分层", "unclassified", "")


@dataclass(frozen=True)
class LayerCount:
    key: str
    name_zh: str
    name_en: str
    count: int
    share: float


@dataclass(frozen=True)
class Overlap:
    a: str
    b: str
    count: int


@dataclass(frozen=True)
class CatchAll:
    """The rules that every user matches (found by evaluating them, not by their text) and the
    users who match no other rule: a catch-all hides them from the gap, so they are counted."""

    rule: str  # the first catch-all in rule order: it is the layer those users get
    count: int  # users matching no rule except a catch-all
    rules: tuple[str, ...] = ()  # every catch-all rule, in rule order


@dataclass(frozen=True)
class MeceReport:
    as_of: date
    total: int
    pyramid: list[LayerCount]  # first match wins, in rule order, then unclassified
    matches: dict[str, int]  # each rule evaluated on its own
    overlaps: list[Overlap]  # pairs of ordinary rules matching the same users (count > 0 only)
    gap: int  # users matching no rule
    catch_all: CatchAll | None = None  # None when no rule matches every user
    catch_all_pairs: list[Overlap] = field(default_factory=list)  # pairs with a catch-all

    @property
    def only_catch_all(self) -> int:
        """Users matching no rule except a catch-all (the gap a catch-all hides)."""
        return self.catch_all.count if self.catch_all else 0

    @property
    def is_mece(self) -> bool:
        """Whether the rules are exclusive and exhaustive on their own, without their order:
        no overlap of ordinary rules, no gap, and nobody left only to a catch-all."""
        return not self.overlaps and self.gap == 0 and self.only_catch_all == 0


# Order matters: the first matching rule wins, so the specific states come before the broad ones.
# new before everything (a fresh sign-up is new even if silent); churned before loyal/dormant (a
# lapsed buyer is churned, not merely dormant); loyal before buyer (a loyal buyer is more than a
# buyer); buyer and active before dormant; registered last catches everyone else.
DEFAULT_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("new", "新用户", "new", "signup_at >= -29d and frequency = 0"),
    ("churned", "流失用户", "churned", "recency_days > 90 and days_since_active >= 30"),
    ("loyal", "忠诚用户", "loyal", "frequency >= 5 and recency_days <= 60"),
    ("buyer", "购买用户", "buyer", "orders_30d >= 1"),
    (
        "active",
        "活跃用户",
        "active",
        "logins_30d >= 10 or checkins_30d >= 4 or posts_30d >= 2",
    ),
    ("dormant", "沉睡用户", "dormant", "days_since_active between 30 and 90"),
    ("registered", "注册用户", "registered", "user_id is not empty"),
)


# The rank of each default layer in the lifecycle, the order the pyramid draws: 1, 2, … climb
# (new → registered → active → buyer → loyal); -1, -2, … are the states a user slides down into
# (dormant, then churned), drawn beside the climb; None: not placed (drawn after the climb).
LIFECYCLE = {"new": 1, "registered": 2, "active": 3, "buyer": 4, "loyal": 5}
LIFECYCLE.update({"dormant": -1, "churned": -2})
KEEP: Literal["keep"] = "keep"  # set_rule: keep the rank the rule has (a new rule: none)


def check_lifecycle(key: str, rank: int | None) -> int | None:
    if rank is not None and (rank == 0 or abs(rank) > 99):
        raise CoreError(
            f"layer {key!r}: lifecycle rank {rank}: use 1, 2, … for the climb (1 = the first "
            "stage), -1, -2, … for the states users slide down into, or none",
            title="Invalid layer",
        )
    return rank


# ---- compiling -----------------------------------------------------------------------------


def compile_rules(conn: sqlite3.Connection, rules: list[LayerRule], as_of: date) -> list[Compiled]:
    compiled = []
    for i, rule in enumerate(rules):
        try:
            compiled.append(compile_rule(conn, rule.condition, as_of=as_of, prefix=f"r{i}_"))
        except QueryError as exc:
            raise QueryError(
                f"layer {rule.key!r}: {exc} — fix it with `userops layer set`",
                pos=exc.pos,
                expected=exc.expected,
                suggestion=exc.suggestion,
            ) from exc
    return compiled


def _merged(rules: list[Compiled]) -> dict[str, object]:
    params: dict[str, object] = {}
    for rule in rules:
        params.update(rule.params)
    return params


# ---- the rules -----------------------------------------------------------------------------


def list_rules(conn: sqlite3.Connection) -> list[LayerRule]:
    rows = conn.execute(
        "SELECT position, key, name_zh, name_en, condition, lifecycle FROM layer_rules "
        "ORDER BY position"
    )
    return [LayerRule(*row) for row in rows]


def validate_condition(conn: sqlite3.Connection, condition: str, *, as_of: date) -> Compiled:
    """Compile a layer condition; raise the positioned QueryError if it cannot be a layer rule."""
    rule = compile_rule(conn, condition, as_of=as_of, prefix="v_")
    why = "layers are computed before tags, from the other features"
    forbid(condition, field="layer", tags=True, why=why)
    return rule


def set_rule(
    conn: sqlite3.Connection,
    key: str,
    name_zh: str,
    name_en: str,
    condition: str,
    *,
    position: int | None = None,
    lifecycle: int | None | Literal["keep"] = KEEP,
    as_of: date,
) -> LayerRule:
    """Add or replace the rule ``key``; ``position`` is 1-based (default: keep, or append);
    ``lifecycle`` is the rank in the lifecycle (default: keep; a new rule has none)."""
    if not _KEY.fullmatch(key) or key == UNCLASSIFIED:
        raise CoreError(
            f"layer key {key!r}: use lowercase letters, digits and _ (not 'unclassified')",
            title="Invalid layer",
        )
    if not name_zh.strip() or not name_en.strip():
        raise CoreError(
            f"layer {key!r}: both names (--zh and --en) are needed", title="Invalid layer"
        )
    validate_condition(conn, condition, as_of=as_of)
    current = list_rules(conn)
    rules = [r for r in current if r.key != key]
    old = next((i for i, r in enumerate(current) if r.key == key), len(rules))
    index = _index(position, len(rules)) if position is not None else old
    if len(rules) >= MAX_RULES:
        raise CoreError(f"at most {MAX_RULES} layers (the report keeps one bit per rule)")
    if lifecycle == KEEP:
        rank = next((r.lifecycle for r in current if r.key == key), None)
    else:
        rank = check_lifecycle(key, lifecycle)
    rules.insert(
        index, LayerRule(0, key, name_zh.strip(), name_en.strip(), condition.strip(), rank)
    )
    _store(conn, rules)
    return next(r for r in list_rules(conn) if r.key == key)


def check_draft(conn: sqlite3.Connection, rules: list[LayerRule], as_of: date) -> None:
    """Raise for the first rule of a draft that ``set_rule`` would refuse (key, names, rank,
    condition: the QueryError names the layer and keeps the position), or a repeated key."""
    if len(rules) > MAX_RULES:
        raise CoreError(f"at most {MAX_RULES} layers (the report keeps one bit per rule)")
    seen: set[str] = set()
    for rule in rules:
        if not _KEY.fullmatch(rule.key) or rule.key == UNCLASSIFIED:
            raise CoreError(
                f"layer key {rule.key!r}: use lowercase letters, digits and _ (not 'unclassified')",
                title="Invalid layer",
            )
        if rule.key in seen:
            raise CoreError(f"layer key {rule.key!r} is used twice", title="Invalid layer")
        seen.add(rule.key)
        if not rule.name_zh.strip() or not rule.name_en.strip():
            raise CoreError(f"layer {rule.key!r}: both names are needed", title="Invalid layer")
        check_lifecycle(rule.key, rule.lifecycle)
        try:
            validate_condition(conn, rule.condition, as_of=as_of)
        except QueryError as exc:
            raise QueryError(
                f"layer {rule.key!r}: {exc}",
                pos=exc.pos,
                expected=exc.expected,
                suggestion=exc.suggestion,
            ) from exc


def replace_rules(conn: sqlite3.Connection, rules: list[LayerRule], *, as_of: date) -> None:
    """Make the stored rules exactly ``rules`` (in this priority order), in one transaction,
    through ``delete_rule`` and ``set_rule`` (what ``userops layer set`` does, rule by rule):
    anything refused leaves the stored rules as they were."""
    check_draft(conn, rules, as_of)
    keep = {r.key for r in rules}
    with atomic(conn):
        for old in list_rules(conn):
            if old.key not in keep:
                delete_rule(conn, old.key)
        for i, rule in enumerate(rules, 1):
            set_rule(
                conn,
                rule.key,
                rule.name_zh,
                rule.name_en,
                rule.condition,
                position=i,
                lifecycle=rule.lifecycle,
                as_of=as_of,
            )


def delete_rule(conn: sqlite3.Connection, key: str) -> None:
    rules = list_rules(conn)
    _get(rules, key)
    _store(conn, [r for r in rules if r.key != key])


def move_rule(conn: sqlite3.Connection, key: str, position: int) -> None:
    """Move ``key`` to the 1-based ``position``; the others keep their relative order."""
    rules = list_rules(conn)
    rule = _get(rules, key)
    rest = [r for r in rules if r.key != key]
    rest.insert(_index(position, len(rest)), rule)
    _store(conn, rest)


def install_default_rules(conn: sqlite3.Connection) -> int:
    """Install the lifecycle rules of domain.md when there are no rules yet; return how many."""
    if list_rules(conn):
        return 0
    rules = [LayerRule(0, *row, LIFECYCLE.get(row[0])) for row in DEFAULT_RULES]
    _store(conn, rules)
    return len(rules)


def _index(position: int, n: int) -> int:
    if position < 1:
        raise CoreError(f"position {position}: positions start at 1", title="Invalid layer")
    return min(position - 1, n)


def _get(rules: list[LayerRule], key: str) -> LayerRule:
    for rule in rules:
        if rule.key == key:
            return rule
    known = ", ".join(r.key for r in rules) or "none"
    raise NotFound(f"no layer {key!r} (layers: {known})")


def _store(conn: sqlite3.Connection, rules: list[LayerRule]) -> None:
    """Rewrite the ordered list with positions 1..n (the table is a handful of rows)."""
    with atomic(conn):
        conn.execute("DELETE FROM layer_rules")
        conn.executemany(
            "INSERT INTO layer_rules(position, key, name_zh, name_en, condition, lifecycle) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (i, r.key, r.name_zh, r.name_en, r.condition, r.lifecycle)
                for i, r in enumerate(rules, 1)
            ],
        )


# ---- classifying ---------------------------------------------------------------------------


def first_match_sql(rules: list[LayerRule], compiled: list[Compiled]) -> tuple[str, dict]:
    """A CASE expression giving the key of the first matching rule, keys bound as parameters."""
    params = _merged(compiled)
    whens = []
    for i, (rule, sql) in enumerate(zip(rules, compiled, strict=True)):
        whens.append(f"WHEN ({sql.where}) THEN :k{i}")
        params[f"k{i}"] = rule.key
    params["k_none"] = UNCLASSIFIED
    if not whens:  # no rules yet: everyone is unclassified (CASE needs at least one WHEN)
        return ":k_none", params
    return f"CASE {' '.join(whens)} ELSE :k_none END", params


def classify(
    conn: sqlite3.Connection, table: str, as_of: date, *, changed_only: bool = False
) -> None:
    """Set ``layer`` of every row of ``table`` (one set-based UPDATE), without history. With
    ``changed_only`` only the rows whose layer moves are written (the same CASE decides the
    test and the value): the refresh, where most users keep their layer from one day to the
    next and a read costs far less than a row rewritten."""
    rules = list_rules(conn)
    case, params = first_match_sql(rules, compile_rules(conn, rules, as_of))
    where = f" WHERE {dialect_of(conn).is_distinct('layer', case)}" if changed_only else ""
    conn.execute(f"UPDATE {table_name(table)} AS f SET layer = {case}{where}", params)


def apply_layers(
    conn: sqlite3.Connection, table: str, as_of: date, *, changed_only: bool = False
) -> None:
    """Classify every row of ``table`` and record the layers as ``layer_history`` of ``as_of``
    (``changed_only``: as ``classify``)."""
    with atomic(conn):
        classify(conn, table, as_of, changed_only=changed_only)
        in_place = dialect_of(conn).upserts_in_place  # DuckDB: only the rows that go
        if not in_place:
            conn.execute("DELETE FROM layer_history WHERE as_of = ?", (as_of.isoformat(),))
        absent, params = history.absent_users(as_of)  # who was not there yet has no layer
        if in_place:
            conn.execute(
                "DELETE FROM layer_history WHERE as_of = :day AND user_id NOT IN (SELECT "
                f"user_id FROM {table_name(table)} WHERE user_id NOT IN ({absent}))",
                {**params, "day": as_of.isoformat()},
            )
        conn.execute(
            "INSERT OR REPLACE INTO layer_history(as_of, user_id, layer) "
            f"SELECT :day, user_id, layer FROM {table_name(table)} WHERE user_id NOT IN ({absent})"
            + (history.unchanged("layer_history", "layer", table, ":day") if in_place else ""),
            {**params, "day": as_of.isoformat()},
        )


# ---- the MECE report -----------------------------------------------------------------------


def _mask_sql(compiled: list[Compiled]) -> str:
    """Per user, a bit mask of the rules that match on their own (bit i = rule i; NULL = no)."""
    bits = [f"(CASE WHEN ({c.where}) THEN {1 << i} ELSE 0 END)" for i, c in enumerate(compiled)]
    return " + ".join(bits) or "0"


def _histogram(conn: sqlite3.Connection, compiled: list[Compiled]) -> dict[int, int]:
    """How many users have each mask. An upsert into a tiny TEMP table: on 1M users it is about
    three times faster than GROUP BY, which sorts every row first. (Other engines: GROUP BY,
    which they hash; DuckDB's upsert counts a key once per statement.)"""
    if engine_of(conn) != "sqlite":
        sql = f"SELECT {_mask_sql(compiled)} AS mask, count(*) FROM features AS f GROUP BY mask"
        return dict(conn.execute(sql, _merged(compiled)).fetchall())
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS layer_masks (mask INTEGER PRIMARY KEY, n INT)")
    conn.execute("DELETE FROM temp.layer_masks")
    conn.execute(
        f"INSERT INTO temp.layer_masks(mask, n) SELECT {_mask_sql(compiled)}, 1 "
        "FROM features AS f WHERE true ON CONFLICT(mask) DO UPDATE SET n = n + 1",
        _merged(compiled),
    )
    histogram = dict(conn.execute("SELECT mask, n FROM temp.layer_masks").fetchall())
    conn.execute("DROP TABLE temp.layer_masks")
    return histogram


def mece_report(
    conn: sqlite3.Connection, as_of: date, rules: list[LayerRule] | None = None
) -> MeceReport:
    """Pyramid, overlapping pairs and gap of the current rules over ``features``, in one pass.

    One scan gives each user's mask of matching rules (each condition evaluated once per user);
    everything else is counted from the small histogram of masks. With ``rules`` (a draft, in
    priority order), the report of those rules instead, nothing written: an editor's preview.
    """
    if rules is None:
        rules = list_rules(conn)
    else:
        check_draft(conn, rules, as_of)
    histogram = _histogram(conn, compile_rules(conn, rules, as_of))
    total, n = sum(histogram.values()), len(rules)

    def users(test: Callable[[int], bool]) -> int:
        return sum(count for mask, count in histogram.items() if test(mask))

    def first(i: int) -> int:  # rule i matches and no earlier rule does
        return users(lambda m: m & ((1 << (i + 1)) - 1) == 1 << i)

    gap = histogram.get(0, 0)
    pyramid = [
        LayerCount(r.key, r.name_zh, r.name_en, c, c / total if total else 0.0)
        for r, c in [*((r, first(i)) for i, r in enumerate(rules)), (UNCLASSIFIED_RULE, gap)]
    ]

    def all_of(*bits: int) -> Callable[[int], bool]:  # rules at these positions all match
        return lambda m: all(m >> b & 1 for b in bits)

    matches = {r.key: users(all_of(i)) for i, r in enumerate(rules)}
    wide = {i for i, r in enumerate(rules) if total and matches[r.key] == total}
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    both = [(i, j, users(all_of(i, j))) for i, j in pairs]
    found = [(i, j, Overlap(rules[i].key, rules[j].key, c)) for i, j, c in both if c]
    overlaps = [o for i, j, o in found if i not in wide and j not in wide]
    by_design = [o for i, j, o in found if i in wide or j in wide]
    catch_all = None
    if wide:
        wide_mask = sum(1 << i for i in wide)
        only = users(lambda m: m & ~wide_mask == 0)  # no ordinary rule matches
        keys = tuple(rules[i].key for i in sorted(wide))
        catch_all = CatchAll(keys[0], only, keys)
    return MeceReport(as_of, total, pyramid, matches, overlaps, gap, catch_all, by_design)


def users_in_overlap(
    conn: sqlite3.Connection, a: str, b: str, as_of: date, limit: int = 100
) -> list[str]:
    """Ids of users matching both rules ``a`` and ``b`` on their own (smallest ids first)."""
    rules = list_rules(conn)
    compiled = compile_rules(conn, [_get(rules, a), _get(rules, b)], as_of)
    return _user_ids(conn, compiled, "mask = 3", limit)


def users_in_gap(conn: sqlite3.Connection, as_of: date, limit: int = 100) -> list[str]:
    """Ids of users matching no rule (they end up ``unclassified``)."""
    rules = list_rules(conn)
    return _user_ids(conn, compile_rules(conn, rules, as_of), "mask = 0", limit)


def users_only_in_catch_all(conn: sqlite3.Connection, as_of: date, limit: int = 100) -> list[str]:
    """Ids of users matching no rule except a catch-all (none when there is no catch-all)."""
    report = mece_report(conn, as_of)
    if report.catch_all is None:
        return []
    rules = list_rules(conn)
    wide = set(report.catch_all.rules)
    ordinary = [r for r in rules if r.key not in wide]
    if not ordinary:  # the catch-all is the only kind of rule: everyone
        return _user_ids(conn, [], "mask = 0", limit)
    return _user_ids(conn, compile_rules(conn, ordinary, as_of), "mask = 0", limit)


def only_catch_all_condition(rules: list[LayerRule], report: MeceReport) -> str | None:
    """The users matching no rule except a catch-all, in the condition language (for a list);
    None without a catch-all. A NULL feature makes a rule not match, as in the report."""
    if report.catch_all is None:
        return None
    wide = set(report.catch_all.rules)
    ordinary = [r.condition for r in rules if r.key not in wide]
    if not ordinary:
        return f"({rules[0].condition})" if rules else None
    return " and ".join(f"not ({c})" for c in ordinary)


def _user_ids(
    conn: sqlite3.Connection, compiled: list[Compiled], test: str, limit: int
) -> list[str]:
    sql = (
        f"SELECT user_id FROM (SELECT f.user_id, {_mask_sql(compiled)} AS mask FROM features AS f)"
        f" WHERE {test} ORDER BY user_id LIMIT {dialect_of(conn).param('limit')}"
    )
    return [row[0] for row in conn.execute(sql, {**_merged(compiled), "limit": limit})]


# ---- transitions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Transitions:
    from_as_of: date
    to_as_of: date
    layers: list[str]  # rows and columns: rule order, unclassified, retired keys, (none)
    counts: dict[tuple[str, str], int]  # (layer on from_as_of, layer on to_as_of) -> users
    computed: tuple[bool, bool]  # whether each side was computed (no layer_history rows)

    def count(self, before: str, after: str) -> int:
        return self.counts.get((before, after), 0)

    @property
    def moved(self) -> int:
        return sum(c for (a, b), c in self.counts.items() if a != b)


def transitions(conn: sqlite3.Connection, from_as_of: date, to_as_of: date) -> Transitions:
    """How many users went from each layer (on ``from_as_of``) to each layer (on ``to_as_of``).

    A date with ``layer_history`` rows uses them; any other date is computed in TEMP tables
    (features at that date, then the current rules), never touching ``features``.
    """
    if not dialect_of(conn).temp_tables:  # ClickHouse: one statement over layer_history
        pairs, params = _stored_pairs(conn, from_as_of, to_as_of)
        found = conn.execute(f"SELECT before, after, COUNT(*) FROM ({pairs}) GROUP BY 1, 2", params)
        counts = {(a, b): c for a, b, c in found.fetchall()}
        return Transitions(from_as_of, to_as_of, _order(conn, counts), counts, (False, False))
    computed = (
        _layers_at(conn, from_as_of, "layers_before"),
        _layers_at(conn, to_as_of, "layers_after"),
    )
    rows = conn.execute(
        f"SELECT before, after, COUNT(*) FROM ({_PAIRS}) GROUP BY 1, 2", {"none": NONE}
    ).fetchall()
    conn.execute("DROP TABLE temp.layers_before")
    conn.execute("DROP TABLE temp.layers_after")
    counts = {(a, b): c for a, b, c in rows}
    return Transitions(from_as_of, to_as_of, _order(conn, counts), counts, computed)


# Every user with their layer on each date (NONE: not there), over the TEMP tables of _layers_at:
# the one definition of a cell, shared by the counts and the list of a cell.
_PAIRS = (
    "SELECT coalesce(a.user_id, b.user_id) AS user_id, coalesce(a.layer, :none) AS before, "
    "coalesce(b.layer, :none) AS after "
    "FROM temp.layers_before AS a FULL JOIN temp.layers_after AS b ON a.user_id = b.user_id"
)
# ... and on an engine without TEMP tables (Dialect.temp_tables: ClickHouse), over the stored
# layer_history of both dates (a date without them is refused: _stored_pairs)
_HISTORY_PAIRS = (
    "SELECT coalesce(a.user_id, b.user_id) AS user_id, coalesce(a.layer, :none) AS before, "
    "coalesce(b.layer, :none) AS after "
    "FROM (SELECT user_id, layer FROM layer_history WHERE as_of = :from_day) AS a "
    "FULL JOIN (SELECT user_id, layer FROM layer_history WHERE as_of = :to_day) AS b "
    "ON a.user_id = b.user_id"
)


def _stored_pairs(conn: sqlite3.Connection, from_as_of: date, to_as_of: date) -> tuple[str, dict]:
    """:data:`_HISTORY_PAIRS` and its parameters; a date without layer_history rows (which
    would be computed in TEMP tables) is a one-line CoreError on this engine."""
    for day in (from_as_of, to_as_of):
        found = conn.execute(
            "SELECT 1 FROM layer_history WHERE as_of = ? LIMIT 1", (day.isoformat(),)
        ).fetchone()
        if found is None:
            raise CoreError(
                f"No layer history on {day}: transitions from or to a date that was not "
                f"recomputed do not run on {ENGINES[engine_of(conn)]} yet (on SQLite and "
                "DuckDB they are computed)",
                title="Transitions",
            )
    days = {"from_day": from_as_of.isoformat(), "to_day": to_as_of.isoformat()}
    return _HISTORY_PAIRS, {"none": NONE, **days}


def transition_users(
    conn: sqlite3.Connection, from_as_of: date, to_as_of: date, before: str, after: str
) -> list[str]:
    """The ids (sorted) of the users counted in the cell ``before`` → ``after`` of
    :func:`transitions` for the same dates: who moved from one layer to the other."""
    if not dialect_of(conn).temp_tables:  # ClickHouse: over layer_history (transitions)
        pairs, params = _stored_pairs(conn, from_as_of, to_as_of)
        rows = conn.execute(
            f"SELECT user_id FROM ({pairs}) WHERE before = :before AND after = :after "
            "ORDER BY user_id",
            {**params, "before": before, "after": after},
        ).fetchall()
        return [uid for (uid,) in rows]
    _layers_at(conn, from_as_of, "layers_before")
    _layers_at(conn, to_as_of, "layers_after")
    try:
        rows = conn.execute(
            f"SELECT user_id FROM ({_PAIRS}) WHERE before = :before AND after = :after "
            "ORDER BY user_id",
            {"none": NONE, "before": before, "after": after},
        ).fetchall()
    finally:
        conn.execute("DROP TABLE temp.layers_before")
        conn.execute("DROP TABLE temp.layers_after")
    return [uid for (uid,) in rows]


def transition_condition(
    conn: sqlite3.Connection, from_as_of: date, to_as_of: date, before: str, after: str
) -> Compiled:
    """The users of one transitions cell as a condition core's read API takes: their ids bound
    as one JSON parameter (a cell can hold more users than the language's ``in (…)`` list, and
    a computed date has no history a condition could read). Frozen when made: it lists who
    moved between those dates, as the matrix counted them."""
    ids = transition_users(conn, from_as_of, to_as_of, before, after)
    d = dialect_of(conn)
    return Compiled(
        text=f"moved {before} -> {after} between {from_as_of} and {to_as_of}",
        where=f"f.user_id IN ({d.json_texts(d.param('moved_user_ids'))})",
        params={"moved_user_ids": json.dumps(ids)},
        human_zh=f"{from_as_of} 在 {before}、{to_as_of} 在 {after}：{len(ids):,} 位用户",
        human_en=f"in {before} on {from_as_of} and {after} on {to_as_of}: {len(ids):,} users",
    )


def _layers_at(conn: sqlite3.Connection, as_of: date, name: str) -> bool:
    """Fill TEMP table ``name``(user_id, layer) for ``as_of``; True when it had to compute."""
    conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
    conn.execute(f"CREATE TEMP TABLE {name} (user_id TEXT PRIMARY KEY, layer TEXT NOT NULL)")
    day = as_of.isoformat()
    if conn.execute("SELECT 1 FROM layer_history WHERE as_of = ? LIMIT 1", (day,)).fetchone():
        conn.execute(
            f"INSERT INTO temp.{name} SELECT user_id, layer FROM layer_history WHERE as_of = ?",
            (day,),
        )
        return False
    _compute_layers(conn, as_of, name)
    return True


def _compute_layers(conn: sqlite3.Connection, as_of: date, name: str) -> None:
    scratch = "temp.layers_scratch"
    try:
        # RFM is scored inside compute_features; model outputs stay empty (refitting a past
        # date is too costly)
        compute_features(conn, scratch, as_of)
        classify(conn, scratch, as_of)
        history.drop_absent(conn, scratch, as_of)  # no sign-up date, first order later
        conn.execute(f"INSERT INTO temp.{name} SELECT user_id, layer FROM {scratch}")
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {scratch}")


def _order(conn: sqlite3.Connection, counts: dict[tuple[str, str], int]) -> list[str]:
    seen = {k for pair in counts for k in pair}
    order = [r.key for r in list_rules(conn)] + [UNCLASSIFIED]
    retired = sorted(seen - set(order) - {NONE})  # keys of rules since deleted or renamed
    return [k for k in order if k in seen] + retired + ([NONE] if NONE in seen else [])
