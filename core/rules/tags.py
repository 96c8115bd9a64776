"""Rule tags (标签体系): named conditions in four dimensions, applied to every user at recompute.

Rules are data (table ``tag_rules``) in the condition language of ``core.query``; the users each
tag holds are stored in ``user_tags`` so screens read them without evaluating conditions.
Tags are applied after layers, so a tag condition may use ``layer``; it may not use ``tag``
(tags are evaluated together, none sees another's result).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date

from core.errors import CoreError, NotFound, QueryError
from core.query import parse
from core.query.ast import Field
from core.query.fields import ALIASES
from core.rules.conditions import atomic, compile_rule, forbid, walk
from core.rules.layers import apply_layers, install_default_rules
from core.store.db import get_meta, set_meta, stored_as_of
from core.store.engines import dialect_of
from core.store.schema import MODEL_OUTPUT_COLUMNS
from core.store.sql import quote, table_name

DIMENSIONS = ("basic", "behavioural", "result", "predictive")
DIMENSION_NAMES = {
    "basic": ("基础标签", "basic"),
    "behavioural": ("行为标签", "behavioural"),
    "result": ("结果标签", "result"),
    "predictive": ("预测标签", "predictive"),
}
_MAX_NAME = 40


@dataclass(frozen=True)
class TagRule:
    name: str
    dimension: str
    condition: str
    description: str = ""


@dataclass(frozen=True)
class DefaultsInstalled:
    installed: list[str]
    skipped: list[tuple[str, str]]  # (tag, why): e.g. a field this database does not have


# Predictive tags read the model outputs (p_alive, clv, expected purchases), not hand rules.
DEFAULT_TAGS: tuple[TagRule, ...] = (
    TagRule("一线城市", "basic", 'city_tier = "一线"', "lives in a tier-1 city"),
    TagRule("iOS用户", "basic", 'device = "iOS"', "uses the iOS app"),
    TagRule(
        "夜猫子",
        "behavioural",
        "night_order_share >= 0.5 and frequency >= 2",
        "night buyer: half of their orders placed 22:00-06:00",
    ),
    TagRule("优惠券用户", "behavioural", "coupon_uses_90d >= 2", "used coupons twice in 90 days"),
    TagRule("加购未付", "behavioural", "carts_open >= 1", "added to cart, not paid"),
    TagRule("社区活跃", "behavioural", "posts_30d >= 2", "posted twice in 30 days"),
    TagRule("高复购", "result", "frequency >= 5", "high repurchase: five orders or more"),
    TagRule("偏好美妆", "result", 'favourite_category = "美妆"', "favourite category: beauty"),
    TagRule(
        "高客单",
        "result",
        # average order value; non-buyers have no value (0 / 0) and never match
        "monetary / frequency >= 400",
        "high basket: 400 or more per order on average",
    ),
    TagRule(
        "流失预警",
        "predictive",
        "p_alive < 0.3",
        "churn warning: the purchase model gives under 30 % that the buyer is still a customer"
        " (the churned layer is a recency rule: no order for 90 days; a model needs repeat"
        " purchases to judge, so the two differ)",
    ),
    TagRule("高价值潜力", "predictive", "clv >= 2000", "high predicted lifetime value"),
    TagRule(
        "近期复购",
        "predictive",
        "expected_purchases_30d >= 1",
        "expected to buy again within 30 days",
    ),
)


def list_tags(conn: sqlite3.Connection) -> list[TagRule]:
    """All tag rules, by dimension (basic → predictive) then name."""
    rows = conn.execute("SELECT name, dimension, condition, description FROM tag_rules")
    return sorted((TagRule(*row) for row in rows), key=_order)


def _order(tag: TagRule) -> tuple[int, str]:
    return DIMENSIONS.index(tag.dimension), tag.name


def get_tag(conn: sqlite3.Connection, name: str) -> TagRule:
    row = conn.execute(
        "SELECT name, dimension, condition, description FROM tag_rules WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no tag {name!r} (see `userops tags DB`)")
    return TagRule(*row)


def validate_tag(conn: sqlite3.Connection, tag: TagRule, *, as_of: date) -> None:
    """Raise CoreError for a bad name or dimension, the positioned QueryError for a bad condition."""
    if not tag.name.strip() or len(tag.name) > _MAX_NAME or any(c in tag.name for c in "\"'\n"):
        raise CoreError(
            f"tag name {tag.name!r}: 1-{_MAX_NAME} characters, no quotes or line breaks",
            title="Invalid tag",
        )
    if tag.dimension not in DIMENSIONS:
        raise CoreError(
            f"tag {tag.name!r}: dimension {tag.dimension!r} is not one of {', '.join(DIMENSIONS)}",
            title="Invalid tag",
        )
    validate_tag_condition(conn, tag.condition, as_of=as_of)


def validate_tag_condition(conn: sqlite3.Connection, condition: str, *, as_of: date) -> None:
    """Raise the positioned QueryError if ``condition`` cannot be a tag's condition."""
    compile_rule(conn, condition, as_of=as_of, prefix="v_")
    forbid(condition, field="tag", tags=True, why="tags are evaluated together")


def replace_tag(
    conn: sqlite3.Connection, old_name: str | None, tag: TagRule, *, as_of: date
) -> TagRule:
    """Save ``tag`` in place of ``old_name`` (None: a new tag) in one transaction, through
    ``set_tag`` and ``delete_tag`` (what ``userops tag set`` / ``tag delete`` do): a renamed
    tag loses the old name, and a refused tag leaves everything as it was. Another tag's name
    is refused (saving would overwrite that tag)."""
    if tag.name.strip() != old_name and any(t.name == tag.name.strip() for t in list_tags(conn)):
        raise CoreError(f"a tag named {tag.name.strip()!r} exists already", title="Invalid tag")
    with atomic(conn):
        saved = set_tag(conn, tag.name, tag.dimension, tag.condition, tag.description, as_of=as_of)
        if old_name is not None and old_name != saved.name:
            delete_tag(conn, old_name)
    return saved


def set_tag(
    conn: sqlite3.Connection,
    name: str,
    dimension: str,
    condition: str,
    description: str = "",
    *,
    as_of: date,
) -> TagRule:
    """Add or replace the tag ``name``; an invalid condition is rejected and nothing is stored."""
    tag = TagRule(name.strip(), dimension, condition.strip(), description.strip())
    validate_tag(conn, tag, as_of=as_of)
    with atomic(conn):
        conn.execute(
            "INSERT OR REPLACE INTO tag_rules(name, dimension, condition, description) "
            "VALUES (?, ?, ?, ?)",
            (tag.name, tag.dimension, tag.condition, tag.description),
        )
    return tag


def delete_tag(conn: sqlite3.Connection, name: str) -> None:
    """Delete the rule and the users' copies of the tag."""
    get_tag(conn, name)
    with atomic(conn):
        conn.execute("DELETE FROM tag_rules WHERE name = ?", (name,))
        conn.execute("DELETE FROM user_tags WHERE tag = ?", (name,))


def install_default_tags(
    conn: sqlite3.Connection, *, as_of: date | None = None
) -> DefaultsInstalled:
    """Install the demo's tags when there are none yet, skipping those this database cannot
    express (e.g. ``city_tier`` exists only when an import brought that column)."""
    if list_tags(conn):
        return DefaultsInstalled([], [])
    when = as_of or stored_as_of(conn) or date(2000, 1, 1)  # only relative dates depend on it
    installed, skipped = [], []
    with atomic(conn):
        for tag in DEFAULT_TAGS:
            try:
                set_tag(conn, tag.name, tag.dimension, tag.condition, tag.description, as_of=when)
                installed.append(tag.name)
            except QueryError as exc:
                skipped.append((tag.name, str(exc)))
    return DefaultsInstalled(installed, skipped)


def apply_tags(conn: sqlite3.Connection, features_table: str, tags_table: str, as_of: date) -> None:
    """Replace the content of ``tags_table`` with (user_id, tag) for every rule, one INSERT each."""
    features, tags = table_name(features_table), table_name(tags_table)
    d = dialect_of(conn)
    with atomic(conn):
        conn.execute(f"DELETE FROM {tags}")
        rules = list_tags(conn)
        one_pass = d.labelled_rows("f.user_id", []) is not None and rules
        labels: list[tuple[str, str]] = []
        params: dict[str, object] = {}
        for i, tag in enumerate(rules):
            try:  # each its own parameter names when they share one statement
                rule = compile_rule(
                    conn, tag.condition, as_of=as_of, prefix=f"t{i}_" if one_pass else "t_"
                )
            except QueryError as exc:
                raise QueryError(
                    f"tag {tag.name!r}: {exc} — fix it with `userops tag set` or delete it",
                    pos=exc.pos,
                ) from exc
            if one_pass:
                labels.append((rule.where, f":tag_name{i}"))
                params.update(rule.params, **{f"tag_name{i}": tag.name})
                continue
            conn.execute(
                f"INSERT OR IGNORE INTO {tags}(user_id, tag) "
                f"SELECT f.user_id, :tag_name FROM {features} AS f WHERE ({rule.where})",
                {**rule.params, "tag_name": tag.name},
            )
        if one_pass:  # every tag in one scan (Dialect.labelled_rows): no key twice
            conn.execute(
                f"INSERT INTO {tags}(user_id, tag) "
                f"SELECT {d.labelled_rows('f.user_id', labels)} FROM {features} AS f",
                params,
            )


def tag_counts(conn: sqlite3.Connection) -> list[tuple[TagRule, int]]:
    """Every tag with how many users hold it (as of the last recompute)."""
    counts = dict(conn.execute("SELECT tag, COUNT(*) FROM user_tags GROUP BY tag").fetchall())
    return [(tag, counts.get(tag.name, 0)) for tag in list_tags(conn)]


def tags_of(conn: sqlite3.Connection, user_id: str) -> list[TagRule]:
    """The rule tags a user holds, by dimension then name."""
    rows = conn.execute(
        "SELECT r.name, r.dimension, r.condition, r.description "
        "FROM user_tags AS u JOIN tag_rules AS r ON r.name = u.tag WHERE u.user_id = ?",
        (user_id,),
    )
    return sorted((TagRule(*row) for row in rows), key=_order)


SKIPPED_META = "default_tags_skipped"  # [(tag, why)] of the first install


def install_defaults_once(conn: sqlite3.Connection, *, as_of: date | None = None) -> bool:
    """On a database's first recompute, install the default layer rules and tags (those its
    fields can express). Once done it is recorded, so rules an operator deleted stay deleted."""
    if get_meta(conn, "default_rules_installed"):
        return False
    with atomic(conn):
        install_default_rules(conn)
        done = install_default_tags(conn, as_of=as_of)
        set_meta(conn, "default_rules_installed", "1")
        if done.skipped:  # reported by each recompute (core.rules.applicability)
            set_meta(conn, SKIPPED_META, json.dumps(done.skipped, ensure_ascii=False))
    return True


def reapply_rules(conn: sqlite3.Connection) -> date | None:
    """Re-run layers then tags (the recompute's order) on the current ``features``, as of their
    own date, so a rule change shows at once. None when features were never computed.
    """
    stored = get_meta(conn, "features_as_of")
    if not stored:
        return None
    as_of = date.fromisoformat(stored[:10])
    with atomic(conn):
        apply_layers(conn, "features", as_of)
        apply_tags(conn, "features", "user_tags", as_of)
    return as_of


# ---- predictive tags: the model value behind the tag ---------------------------------------

MODEL_FIELDS = MODEL_OUTPUT_COLUMNS


@dataclass(frozen=True)
class ValueDistribution:
    field: str
    edges: list[float]  # bins + 1 ascending edges; the last bin includes its upper edge
    counts: list[int]  # users per bin (users without a model value are left out)
    missing: int  # users without a value (non-buyers, or no model fitted)


def model_field(tag: TagRule) -> str | None:
    """The model output a tag's condition reads (the first one), e.g. p_alive for 流失预警."""
    for node in walk(parse(tag.condition)):
        if isinstance(node, Field):
            name = ALIASES.get(node.name.lower(), node.name.lower())
            if name in MODEL_FIELDS:
                return name
    return None


def value_distribution(conn: sqlite3.Connection, field: str, bins: int = 10) -> ValueDistribution:
    """Histogram of one model output over all users, in ``bins`` equal-width bins."""
    if field not in MODEL_FIELDS:
        raise CoreError(
            f"{field!r} is not a model output ({', '.join(MODEL_FIELDS)})", title="Unknown field"
        )
    if bins < 1:
        raise CoreError(f"bins must be at least 1, got {bins}", title="Bad histogram")
    column = quote(field)
    low, high, missing = conn.execute(
        f"SELECT min({column}), max({column}), sum({column} IS NULL) FROM features"
    ).fetchone()
    if low is None:
        return ValueDistribution(field, [], [], missing or 0)
    width = (high - low) / bins or 1.0  # all equal: one bin holds everyone
    d = dialect_of(conn)
    binned = d.least(":last", d.int_part(f"({column} - :low) / :width"))
    got = dict(
        conn.execute(
            f"SELECT {binned}, count(*) FROM features WHERE {column} IS NOT NULL GROUP BY 1",
            {"last": bins - 1, "low": low, "width": width},
        ).fetchall()
    )
    edges = [low + i * width for i in range(bins + 1)]
    return ValueDistribution(field, edges, [got.get(i, 0) for i in range(bins)], missing)
