"""Users as the screens see them: keyset pages over ``features``, counts, search, masks, profiles.

Paging is keyset on (sort column, user_id), never OFFSET, so page 5,000 costs what page 1 costs.
NULLs follow SQLite's own order (smallest): first when ascending, last when descending, so one
direction is exactly the reverse of the other and "jump to the end" is a reversed first page.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.errors import CoreError, NotFound

# Columns of the users list, in display order; each is a FEATURE_COLUMNS name.
LIST_COLUMNS = (
    "user_id",
    "name",
    "layer",
    "rfm_group",
    "r_score",
    "f_score",
    "m_score",
    "monetary",
    "last_order_at",
    "city",
)
# Sortable columns (the whitelist that may reach ORDER BY).
SORT_COLUMNS = (*LIST_COLUMNS, "recency_days", "frequency", "clv")
# Tag dimensions, most telling first: what a model predicts says more than a city.
TAG_DIMENSIONS = ("predictive", "behavioural", "result", "basic")
TOP_TAGS = 3
_HIGH = "\U0010ffff"  # sorts after every character: prefix ranges use the index

Key = tuple[Any, str]  # (sort value, user_id)


@dataclass(frozen=True)
class UserRow:
    user_id: str
    name: str | None
    layer: str | None
    rfm_group: str | None
    r_score: int | None
    f_score: int | None
    m_score: int | None
    monetary: float | None
    last_order_at: str | None
    city: str | None
    tags: tuple[str, ...] = ()

    def key(self, order: str) -> Key:
        return (getattr(self, order) if order in LIST_COLUMNS else None, self.user_id)


@dataclass(frozen=True)
class Page:
    rows: list[UserRow]
    next_key: Key | None  # pass as ``after`` to get the following page
    has_more: bool  # rows exist after this page
    has_previous: bool = False  # rows exist before this page


def _check_order(order: str) -> None:
    if order not in SORT_COLUMNS:
        raise CoreError(
            f"cannot sort by {order!r}; sortable columns: {', '.join(SORT_COLUMNS)}",
            title="Unknown column",
        )


def _select(where: str) -> str:
    cols = ", ".join(f"f.{c}" for c in LIST_COLUMNS)
    return f"SELECT {cols} FROM features AS f WHERE ({where})"


def _fetch(conn, where, params, order, descending, after, limit) -> list[tuple]:
    """Up to ``limit`` raw rows strictly after ``after`` in the given order.

    The order is split into a NULL part (sorted by user_id) and a non-NULL part (sorted by the
    row value (column, user_id)), so each part is one index range scan.
    """
    _check_order(order)
    direction, op = ("DESC", "<") if descending else ("ASC", ">")
    nulls = "" if order == "user_id" else f"f.{order} IS NULL"
    rows: list[tuple] = []
    for part in _parts(order, descending, after):
        sql, args = _select(where), dict(params)
        if part == "nulls":
            sql += f" AND {nulls}"
            if after is not None and after[0] is None:
                sql += f" AND f.user_id {op} :_after_id"
                args["_after_id"] = after[1]
            sql += f" ORDER BY f.user_id {direction}"
        else:
            if nulls:
                sql += f" AND f.{order} IS NOT NULL"
            if after is not None and after[0] is not None:
                sql += f" AND (f.{order}, f.user_id) {op} (:_after_v, :_after_id)"
                args.update(_after_v=after[0], _after_id=after[1])
            elif after is not None and order == "user_id":
                sql += f" AND f.user_id {op} :_after_id"
                args["_after_id"] = after[1]
            tie = "" if order == "user_id" else f", f.user_id {direction}"
            sql += f" ORDER BY f.{order} {direction}{tie}"
        sql += " LIMIT :_limit"
        args["_limit"] = limit - len(rows)
        rows += _run(conn, sql, args).fetchall()
        if len(rows) >= limit:
            break
        after = None  # the next part starts at its beginning
    return rows


def _parts(order: str, descending: bool, after: Key | None) -> list[str]:
    """Which parts of the order remain after the key: NULLs come first ascending, last descending."""
    if order == "user_id":
        return ["values"]  # the primary key is never NULL
    parts = ["values", "nulls"] if descending else ["nulls", "values"]
    if after is None:
        return parts
    return parts[parts.index("nulls" if after[0] is None else "values") :]


def _run(conn: sqlite3.Connection, sql: str, args: dict | tuple) -> sqlite3.Cursor:
    try:
        return conn.execute(sql, args)
    except sqlite3.OperationalError as exc:
        raise CoreError(f"reading users failed: {exc}", title="Database problem") from exc


def _to_rows(conn: sqlite3.Connection, raw: list[tuple]) -> list[UserRow]:
    tags = top_tags(conn, [r[0] for r in raw])
    return [UserRow(*r, tags=tags.get(r[0], ())) for r in raw]


def page(
    conn: sqlite3.Connection,
    *,
    where: str = "1",
    params: dict | None = None,
    order: str = "user_id",
    descending: bool = False,
    after: Key | None = None,
    limit: int = 200,
) -> Page:
    """The ``limit`` users after ``after`` (from the start when None) in the given order."""
    raw = _fetch(conn, where, params or {}, order, descending, after, limit + 1)
    rows = _to_rows(conn, raw[:limit])
    more = len(raw) > limit
    return Page(rows, rows[-1].key(order) if more else None, more, after is not None)


def page_before(
    conn: sqlite3.Connection,
    *,
    before: Key,
    where: str = "1",
    params: dict | None = None,
    order: str = "user_id",
    descending: bool = False,
    limit: int = 200,
) -> Page:
    """The ``limit`` users just before ``before``: paging up from the top of a window."""
    raw = _fetch(conn, where, params or {}, order, not descending, before, limit + 1)
    rows = _to_rows(conn, raw[:limit][::-1])
    return Page(rows, rows[-1].key(order) if rows else None, True, len(raw) > limit)


def last_page(
    conn: sqlite3.Connection,
    *,
    where: str = "1",
    params: dict | None = None,
    order: str = "user_id",
    descending: bool = False,
    limit: int = 200,
) -> Page:
    """The last ``limit`` users: the reversed order's first page, turned back around."""
    raw = _fetch(conn, where, params or {}, order, not descending, None, limit + 1)
    rows = _to_rows(conn, raw[:limit][::-1])
    return Page(rows, None, False, len(raw) > limit)


def count(conn: sqlite3.Connection, where: str = "1", params: dict | None = None) -> int:
    sql = f"SELECT count(*) FROM features AS f WHERE ({where})"
    return _run(conn, sql, params or {}).fetchone()[0]


def top_tags(conn: sqlite3.Connection, user_ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Up to TOP_TAGS tags per user, predictive first (then behavioural, result, basic)."""
    if not user_ids:
        return {}
    marks = ",".join("?" * len(user_ids))
    rank = " ".join(f"WHEN '{d}' THEN {i}" for i, d in enumerate(TAG_DIMENSIONS))
    sql = (
        f"SELECT t.user_id, t.tag FROM user_tags AS t LEFT JOIN tag_rules AS r ON r.name = t.tag "
        f"WHERE t.user_id IN ({marks}) ORDER BY t.user_id, CASE r.dimension {rank} ELSE 9 END, t.tag"
    )
    found: dict[str, list[str]] = {}
    for uid, tag in _run(conn, sql, tuple(user_ids)):
        tags = found.setdefault(uid, [])
        if len(tags) < TOP_TAGS:
            tags.append(tag)
    return {uid: tuple(tags) for uid, tags in found.items()}


def rows_for(conn: sqlite3.Connection, user_ids: list[str]) -> list[UserRow]:
    """List rows of these users, in the order given (unknown ids are skipped)."""
    if not user_ids:
        return []
    marks = ",".join("?" * len(user_ids))
    cols = ", ".join(f"f.{c}" for c in LIST_COLUMNS)
    sql = f"SELECT {cols} FROM features AS f WHERE f.user_id IN ({marks})"
    by_id = {r[0]: r for r in _run(conn, sql, tuple(user_ids))}
    return _to_rows(conn, [by_id[u] for u in user_ids if u in by_id])


def search(conn: sqlite3.Connection, text: str, *, limit: int = 50) -> list[UserRow]:
    """Users whose id, name or phone matches ``text``, best matches first.

    Order: exact id, id prefix, name prefix (indexed ranges), then phone prefix/suffix and
    name substring (scans that stop once ``limit`` users were found).
    """
    text = text.strip()
    if not text:
        return []
    hi = text + _HIGH
    steps = [
        ("SELECT user_id FROM features WHERE user_id = ?", (text,)),
        (
            "SELECT user_id FROM features WHERE user_id >= ? AND user_id < ? ORDER BY user_id",
            (text, hi),
        ),
        (
            "SELECT user_id FROM features WHERE name >= ? AND name < ? ORDER BY name, user_id",
            (text, hi),
        ),
    ]
    digits = text.lstrip("+").replace(" ", "").replace("-", "")
    if digits.isdigit() and len(digits) >= 3:
        steps += [
            (
                "SELECT user_id FROM users WHERE phone >= ? AND phone < ? ORDER BY phone",
                (digits, digits + _HIGH),
            ),
            (
                "SELECT user_id FROM users WHERE substr(phone, -?) = ? ORDER BY user_id",
                (len(digits), digits),
            ),
        ]
    steps.append(
        ("SELECT user_id FROM features WHERE instr(name, ?) > 0 ORDER BY user_id", (text,))
    )
    found: dict[str, None] = {}
    for sql, args in steps:
        for (uid,) in _run(conn, f"{sql} LIMIT ?", (*args, limit)):
            found.setdefault(uid, None)
            if len(found) >= limit:
                break
        if len(found) >= limit:
            break
    return rows_for(conn, list(found))


def mask_phone(phone: str | None) -> str | None:
    """138****1234: keep the first 3 and last 4 digits of a mobile number, hide the rest."""
    if not phone:
        return phone
    if len(phone) <= 4:
        return "*" * len(phone)
    if len(phone) < 8:
        return phone[0] + "*" * (len(phone) - 3) + phone[-2:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_email(email: str | None) -> str | None:
    """a***@x.com: the first letter of the local part, the domain kept."""
    if not email:
        return email
    local, at, domain = email.partition("@")
    return (local[:1] + "***" + at + domain) if at else local[:1] + "***"


def masked(attributes: dict[str, Any]) -> dict[str, Any]:
    """The attributes with phone and email masked (privacy mode, for demos)."""
    out = dict(attributes)
    if "phone" in out:
        out["phone"] = mask_phone(out["phone"])
    if "email" in out:
        out["email"] = mask_email(out["email"])
    return out


# ---------------------------------------------------------------- the profile of one user

PREDICTIVE_FIELDS = (
    "p_alive",
    "expected_purchases_30d",
    "expected_purchases_90d",
    "expected_order_value",
    "clv",
)
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
    campaigns: list[tuple[str, str, str]]  # (campaign, role, added_at)


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
    feats = _one(conn, "SELECT * FROM features WHERE user_id = ?", (user_id,)) or {}
    placed, not_met = _layer_checks(conn, user_id, feats.get("layer"), as_of)
    return UserProfile(
        user_id=user_id,
        attributes=attributes,
        features=feats,
        layer=feats.get("layer"),
        layer_rule=placed,
        rules_not_met=not_met,
        rfm_percentiles=rfm_percentiles(conn, feats) if with_percentiles else {},
        tags=_tags(conn, user_id, feats),
        orders=_latest(conn, "orders", "order_id, created_at, amount", user_id, as_of),
        events=_latest(conn, "events", "kind, created_at, nullif(value, '')", user_id, as_of),
        monthly_activity=monthly_activity(conn, user_id, as_of),
        segments=_segments_of(conn, user_id, as_of),
        campaigns=[tuple(r) for r in _run(conn, _CAMPAIGNS_SQL, (user_id,))],
    )


_CAMPAIGNS_SQL = (
    "SELECT campaign, role, added_at FROM campaign_members WHERE user_id = ? "
    "ORDER BY added_at DESC, campaign"
)


def _one(conn: sqlite3.Connection, sql: str, args: tuple) -> dict[str, Any] | None:
    cur = _run(conn, sql, args)
    row = cur.fetchone()
    return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))


def _end_of(as_of: date) -> str:
    """Rows "as of D" are those created before the start of D + 1 day."""
    return (as_of + timedelta(days=1)).isoformat()


def holds(conn: sqlite3.Connection, user_id: str, condition: str, as_of: date) -> bool:
    """Does ``condition`` (segment language) hold for this one user? Raises QueryError."""
    from core.query import compile_condition  # the language is core's own; imported late

    compiled = compile_condition(conn, condition, as_of=as_of)
    sql = f"SELECT ({compiled.where}) FROM features AS f WHERE f.user_id = :_profile_user"
    row = _run(conn, sql, {**compiled.params, "_profile_user": user_id}).fetchone()
    return bool(row and row[0])


def _check(conn, user_id: str, rule: tuple, as_of: date) -> RuleCheck:
    key, name_zh, name_en, condition = rule
    try:
        return RuleCheck(key, name_zh, name_en, condition, holds(conn, user_id, condition, as_of))
    except CoreError as exc:
        return RuleCheck(key, name_zh, name_en, condition, None, str(exc))


def layer_rules(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    """(key, name_zh, name_en, condition) in evaluation order."""
    sql = "SELECT key, name_zh, name_en, condition FROM layer_rules ORDER BY position"
    return [tuple(r) for r in _run(conn, sql, ())]


def _layer_checks(conn, user_id: str, layer: str | None, as_of: date):
    """The rule that placed the user, and the earlier rules it did not meet."""
    placed, earlier = None, []
    for rule in layer_rules(conn):
        if rule[0] == layer:
            placed = _check(conn, user_id, rule, as_of)
            break
        earlier.append(_check(conn, user_id, rule, as_of))
    return placed, earlier


def rfm_percentiles(conn: sqlite3.Connection, feats: dict[str, Any]) -> dict[str, float | None]:
    """Share of buyers (frequency > 0) the user equals or beats: R more recent, F and M more.

    Index range counts, not a scan of the wide table; non-buyers have monetary 0, so they are
    taken back out of the M count.
    """
    if not feats.get("frequency"):
        return {"r": None, "f": None, "m": None}

    def n(where: str, value: Any = None) -> int:
        return _run(conn, f"SELECT count(*) FROM features WHERE {where}", (value,)).fetchone()[0]

    buyers = n("frequency > ?", 0)
    # non-buyers all have monetary 0 (core.features), at or below any buyer's total
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
    for name, dimension, condition, description in _run(conn, sql, (user_id,)):
        values = {}
        if dimension == "predictive":
            words = set(re.findall(r"[a-z_0-9]+", condition))
            values = {f: feats.get(f) for f in PREDICTIVE_FIELDS if f in words}
        info = TagInfo(name, dimension, condition, description, values)
        grouped.setdefault(dimension, []).append(info)
    return grouped


def _latest(conn, table: str, columns: str, user_id: str, as_of: date) -> list[tuple]:
    # table and columns are literals from profile(), never user text
    sql = (
        f"SELECT {columns} FROM {table} WHERE user_id = ? AND created_at < ? "
        "ORDER BY created_at DESC LIMIT ?"
    )
    return [tuple(r) for r in _run(conn, sql, (user_id, _end_of(as_of), TIMELINE_LIMIT))]


def monthly_activity(conn: sqlite3.Connection, user_id: str, as_of: date) -> list[tuple[str, int]]:
    """Orders + events per calendar month, the ACTIVITY_MONTHS months ending with as_of's."""
    months = []
    y, m = as_of.year, as_of.month
    for _ in range(ACTIVITY_MONTHS):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    months.reverse()
    counts = dict.fromkeys(months, 0)
    for table in ("orders", "events"):
        sql = (
            f"SELECT substr(created_at, 1, 7), count(*) FROM {table} "
            "WHERE user_id = ? AND created_at >= ? AND created_at < ? GROUP BY 1"
        )
        for month, n in _run(conn, sql, (user_id, months[0] + "-01", _end_of(as_of))):
            counts[month] = counts.get(month, 0) + n
    return list(counts.items())


def _segments_of(conn: sqlite3.Connection, user_id: str, as_of: date) -> list[str]:
    """Saved segments whose condition holds for the user, then snapshots that froze them in."""
    names = []
    for name, query in _run(conn, "SELECT name, query FROM segments ORDER BY name", ()):
        try:
            if holds(conn, user_id, query, as_of):
                names.append(name)
        except CoreError:
            continue  # a segment that no longer compiles is the segments screen's concern
    sql = (
        "SELECT s.name FROM snapshot_members AS m JOIN segment_snapshots AS s "
        "ON s.id = m.snapshot_id WHERE m.user_id = ? ORDER BY s.name"
    )
    return names + [r[0] for r in _run(conn, sql, (user_id,))]


@dataclass(frozen=True)
class Overview:
    """What the status line and the labels need once: sizes, dates and layer names."""

    users: int
    as_of: date | None  # meta.as_of: the database's default as-of date
    features_as_of: str | None
    features_computed_at: str | None
    layer_names: dict[str, tuple[str, str]]  # key -> (zh, en)
    features_stale: bool = False  # data imported (or the schema upgraded) since the recompute


def overview(conn: sqlite3.Connection) -> Overview:
    meta = dict(_run(conn, "SELECT key, value FROM meta", ()).fetchall())
    return Overview(
        users=count(conn),
        as_of=date.fromisoformat(meta["as_of"]) if meta.get("as_of") else None,
        features_as_of=meta.get("features_as_of"),
        features_computed_at=meta.get("features_computed_at"),
        layer_names={key: (zh, en) for key, zh, en, _ in layer_rules(conn)},
        features_stale=bool(meta.get("features_stale")),
    )
