"""Users as the screens see them: keyset pages over ``features``, counts, search, masks (one
user's profile: core.views.profile).

Paging is keyset on (sort column, user_id), never OFFSET, so page 5,000 costs what page 1 costs.
NULLs follow SQLite's own order (smallest): first when ascending, last when descending, so one
direction is exactly the reverse of the other and "jump to the end" is a reversed first page.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import CoreError
from core.store.engines import dialect_of
from core.store.personal import (  # noqa: F401 (the masks are used from here too)
    is_personal_name,
    mask_email,
    mask_phone,
    mask_value,
)
from core.store.sql import quote, run

if TYPE_CHECKING:  # the lists only read .where and .params; the language is not loaded for them
    from core.query import Compiled

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
    # imported attributes (users columns beyond the built-ins, see extra_columns): (name, value)
    extra: tuple[tuple[str, Any], ...] = ()

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


def _where(condition: Compiled | None) -> tuple[str, dict[str, object]]:
    """The SQL boolean and parameters of a compiled condition; None: every user."""
    if condition is None:
        return "1", {}
    return condition.where, dict(condition.params)


def _select(where: str) -> str:
    cols = ", ".join(f"f.{quote(c)}" for c in LIST_COLUMNS)
    return f"SELECT {cols} FROM features AS f WHERE ({where})"


def _fetch(conn, condition, order, descending, after, limit) -> list[tuple]:
    """Up to ``limit`` raw rows strictly after ``after`` in the given order.

    The order is split into a NULL part (sorted by user_id) and a non-NULL part (sorted by the
    row value (column, user_id)), so each part is one index range scan.
    """
    _check_order(order)
    where, params = _where(condition)
    direction, op = ("DESC", "<") if descending else ("ASC", ">")
    column = f"f.{quote(order)}"
    nulls = "" if order == "user_id" else f"{column} IS NULL"
    dialect = dialect_of(conn)
    mark = dialect.param  # :_after_id on SQLite
    after_id, after_v, limit_p = mark("_after_id"), mark("_after_v"), mark("_limit")
    rows: list[tuple] = []
    for part in _parts(order, descending, after):
        sql, args = _select(where), dict(params)
        if part == "nulls":
            sql += f" AND {nulls}"
            if after is not None and after[0] is None:
                sql += f" AND f.user_id {op} {after_id}"
                args["_after_id"] = after[1]
            sql += f" ORDER BY f.user_id {direction}"
        else:
            if nulls:
                sql += f" AND {column} IS NOT NULL"
            if after is not None and after[0] is not None:
                sql += " AND " + dialect.keyset(column, "f.user_id", op, after_v, after_id)
                args.update(_after_v=after[0], _after_id=after[1])
            elif after is not None and order == "user_id":
                sql += f" AND f.user_id {op} {after_id}"
                args["_after_id"] = after[1]
            tie = "" if order == "user_id" else f", f.user_id {direction}"
            sql += f" ORDER BY {column} {direction}{tie}"
        sql += f" LIMIT {limit_p}"
        args["_limit"] = limit - len(rows)
        rows += run(conn, sql, args).fetchall()
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


def _to_rows(conn: sqlite3.Connection, raw: list[tuple]) -> list[UserRow]:
    ids = [r[0] for r in raw]
    tags, extra = top_tags(conn, ids), extra_values(conn, ids)
    # tags and the imported attributes: the last two fields
    return [UserRow(*(*r, tags.get(r[0], ()), extra.get(r[0], ()))) for r in raw]


MAX_EXTRA_COLUMNS = 3  # imported attributes shown in the list (the profile shows them all)


def extra_columns(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The imported attributes the users list shows: users columns beyond the built-ins, not
    flagged personal, in import order, at most MAX_EXTRA_COLUMNS (e.g. UCI's ``country``)."""
    from core.store.columns import USER_COLUMNS
    from core.store.personal import personal_columns

    personal = personal_columns(conn)
    names = [r[1] for r in run(conn, "PRAGMA table_info(users)", ())]
    extra = [n for n in names if n not in USER_COLUMNS and n not in personal]
    return tuple(n for n in extra if not is_personal_name(n))[:MAX_EXTRA_COLUMNS]


def extra_values(
    conn: sqlite3.Connection, user_ids: list[str]
) -> dict[str, tuple[tuple[str, Any], ...]]:
    """user_id -> ((column, value), ...) of the extra columns, for these users."""
    columns = extra_columns(conn)
    if not columns or not user_ids:
        return {}
    cols = ", ".join(quote(c) for c in columns)  # names from the schema
    marks = ",".join("?" * len(user_ids))
    sql = f"SELECT user_id, {cols} FROM users WHERE user_id IN ({marks})"
    return {r[0]: tuple(zip(columns, r[1:], strict=True)) for r in run(conn, sql, tuple(user_ids))}


def empty_list_columns(conn: sqlite3.Connection) -> frozenset[str]:
    """List columns nobody in this data has (an import without names or cities), as the last
    recompute measured them (core.analytics.coverage): the list leaves them out."""
    from core.analytics.coverage import stored

    found = stored(conn)
    if found is None:
        return frozenset()
    return frozenset(c for c in LIST_COLUMNS if c in found.empty_attributes)


def page(
    conn: sqlite3.Connection,
    *,
    condition: Compiled | None = None,
    order: str = "user_id",
    descending: bool = False,
    after: Key | None = None,
    limit: int = 200,
) -> Page:
    """The ``limit`` users matching ``condition`` (None: all) after ``after`` (from the start
    when None) in the given order."""
    raw = _fetch(conn, condition, order, descending, after, limit + 1)
    rows = _to_rows(conn, raw[:limit])
    more = len(raw) > limit
    return Page(rows, rows[-1].key(order) if more else None, more, after is not None)


def page_before(
    conn: sqlite3.Connection,
    *,
    before: Key,
    condition: Compiled | None = None,
    order: str = "user_id",
    descending: bool = False,
    limit: int = 200,
) -> Page:
    """The ``limit`` users just before ``before``: paging up from the top of a window."""
    raw = _fetch(conn, condition, order, not descending, before, limit + 1)
    rows = _to_rows(conn, raw[:limit][::-1])
    return Page(rows, rows[-1].key(order) if rows else None, True, len(raw) > limit)


def last_page(
    conn: sqlite3.Connection,
    *,
    condition: Compiled | None = None,
    order: str = "user_id",
    descending: bool = False,
    limit: int = 200,
) -> Page:
    """The last ``limit`` users: the reversed order's first page, turned back around."""
    raw = _fetch(conn, condition, order, not descending, None, limit + 1)
    rows = _to_rows(conn, raw[:limit][::-1])
    return Page(rows, None, False, len(raw) > limit)


def count(conn: sqlite3.Connection, condition: Compiled | None = None) -> int:
    """How many users match ``condition`` (None: all)."""
    where, params = _where(condition)
    sql = f"SELECT count(*) FROM features AS f WHERE ({where})"
    return run(conn, sql, params).fetchone()[0]


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
    for uid, tag in run(conn, sql, tuple(user_ids)):
        tags = found.setdefault(uid, [])
        if len(tags) < TOP_TAGS:
            tags.append(tag)
    return {uid: tuple(tags) for uid, tags in found.items()}


def rows_for(conn: sqlite3.Connection, user_ids: list[str]) -> list[UserRow]:
    """List rows of these users, in the order given (unknown ids are skipped)."""
    if not user_ids:
        return []
    marks = ",".join("?" * len(user_ids))
    cols = ", ".join(f"f.{quote(c)}" for c in LIST_COLUMNS)
    sql = f"SELECT {cols} FROM features AS f WHERE f.user_id IN ({marks})"
    by_id = {r[0]: r for r in run(conn, sql, tuple(user_ids))}
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
    steps: list[tuple[str, tuple[object, ...]]] = [
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
        for (uid,) in run(conn, f"{sql} LIMIT ?", (*args, limit)):
            found.setdefault(uid, None)
            if len(found) >= limit:
                break
        if len(found) >= limit:
            break
    return rows_for(conn, list(found))


def masked(attributes: dict[str, Any], personal: Iterable[str] | None = None) -> dict[str, Any]:
    """The attributes with every personal column masked (privacy mode, for demos). ``personal``
    is core.store.personal.personal_columns(conn); without it, the columns personal by name."""
    kinds = set(personal) if personal is not None else set()
    out = dict(attributes)
    for column, value in out.items():
        if column in kinds or is_personal_name(column):
            out[column] = mask_value(value)
    return out


def layer_rules(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    """(key, name_zh, name_en, condition) in evaluation order."""
    sql = "SELECT key, name_zh, name_en, condition FROM layer_rules ORDER BY position"
    return [tuple(r) for r in run(conn, sql, ())]


@dataclass(frozen=True)
class Overview:
    """What the status line and the labels need once: sizes, dates and layer names."""

    users: int
    as_of: date | None  # meta.as_of: the database's default as-of date
    features_as_of: str | None
    features_computed_at: str | None
    layer_names: dict[str, tuple[str, str]]  # key -> (zh, en)
    features_stale: bool = False  # data imported (or the schema upgraded) since the recompute
    hidden_columns: frozenset[str] = frozenset()  # list columns nobody has (empty_list_columns)
    extra_columns: tuple[str, ...] = ()  # imported attributes the list shows (extra_columns)
    # users who signed up after features_as_of and did nothing by then: not in the features
    signed_up_later: int = 0


def signed_up_later(conn: sqlite3.Connection, features_as_of: str | None) -> int:
    """How many users are left out of the features because they signed up after the date the
    features were computed for (a refresh back to an earlier date): one query."""
    if not features_as_of:
        return 0
    try:
        end = (date.fromisoformat(features_as_of[:10]) + timedelta(days=1)).isoformat()
    except ValueError:
        return 0
    (n,) = run(
        conn,
        "SELECT count(*) FROM users AS u WHERE u.signup_at >= ?"  # '?': every engine's marker
        " AND NOT EXISTS (SELECT 1 FROM features AS f WHERE f.user_id = u.user_id)",
        (end,),
    ).fetchone()
    return int(n)


def overview(conn: sqlite3.Connection) -> Overview:
    meta = dict(run(conn, "SELECT key, value FROM meta", ()).fetchall())
    return Overview(
        signed_up_later=signed_up_later(conn, meta.get("features_as_of")),
        users=count(conn),
        as_of=date.fromisoformat(meta["as_of"]) if meta.get("as_of") else None,
        features_as_of=meta.get("features_as_of"),
        features_computed_at=meta.get("features_computed_at"),
        layer_names={key: (zh, en) for key, zh, en, _ in layer_rules(conn)},
        features_stale=bool(meta.get("features_stale")),
        hidden_columns=empty_list_columns(conn),
        extra_columns=extra_columns(conn),
    )
