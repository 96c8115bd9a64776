"""Sequences (``did A [in W] then [no] B within N``) and transitions (``entered|left layer|rfm|tag
"X" within N``), each one ``f.user_id IN (subquery)``.

Sequences: some A row in the window W (default: the whole history up to D) followed, by the
same user, by a B row strictly after it and at most N after it (B also up to D). ``then no``:
no such B, counted only once the N after A has fully passed by the end of D (an A an hour
before the end of D with N = 1d is pending: it does not match yet).

Transitions read the per-date histories the recompute writes (``layer_history``,
``rfm_history``, ``tag_history``): "now" is the latest history date up to D, "before" the latest
history date before the window's first day. A user entered X when they are in X now and were
not in X before; left X when they were in X before and are not now. Without a history date
before the window nothing can be told apart, and no one matches.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import cast

from core.errors import QueryError
from core.query import behaviour, names
from core.query.ast import Call, Sequence, Transition, Value
from core.query.context import Ctx, Part, shift_back, table_exists
from core.query.words import show
from core.store.event_kinds import kind_label

# what -> (history table, its column, zh, en)
HISTORIES = {
    "layer": ("layer_history", "layer", "分层", "layer"),
    "rfm": ("rfm_history", "rfm_group", "RFM分组", "RFM group"),
    "tag": ("tag_history", "tag", "标签", "tag"),
}


def _kind(ctx: Ctx, v: Value) -> str | None:
    """An event kind, or None for orders (order / orders)."""
    return behaviour._kind(ctx, Call("did", (v,), v.pos))  # noqa: SLF001


def _interval(within: Value) -> tuple[int, str]:
    """``within`` as a count of days, months or years (a week is 7 days)."""
    n, unit = cast(tuple[int, str], within.value)
    if unit in ("d", "w"):
        return n * (7 if unit == "w" else 1), "days"
    return n, "months" if unit == "m" else "years"


def compile_sequence(ctx: Ctx, node: Sequence) -> Part:
    kind_a, kind_b = _kind(ctx, node.first), _kind(ctx, node.then)
    table_a, table_b = behaviour.table_of(kind_a), behaviour.table_of(kind_b)
    where_a = behaviour.rows_in_window(ctx, table_a, kind_a, node.window, alias="a.")
    end = ctx.end()
    kind_b_sql = "" if kind_b is None else f" AND b.kind = {ctx.bind(kind_b)}"
    until = ctx.dialect.plus_interval("a.created_at", *_interval(node.within), ctx.bind)
    follow = (
        f"SELECT 1 FROM {table_b} AS b WHERE b.user_id = a.user_id{kind_b_sql} "
        f"AND b.created_at > a.created_at "
        f"AND b.created_at <= {until} "
        f"AND b.created_at < {end}"
    )
    if node.negated:
        # the N after A has passed by the end of D: A <= (D + 1 day) - N
        end_of_d = datetime.combine(ctx.as_of + timedelta(days=1), time())
        n, unit = cast(tuple[int, str], node.within.value)
        if unit in ("d", "w"):
            cutoff = end_of_d - timedelta(days=n * (7 if unit == "w" else 1))
        else:
            cutoff = datetime.combine(shift_back(end_of_d.date(), node.within), time())
        where_a += f" AND a.created_at <= {ctx.bind(cutoff.isoformat(sep=' '))}"
    joined = None
    if kind_a == kind_b and ctx.dialect.next_row_sequences:  # A's next such row is B
        start, _ = ctx.window_range(node.window)
        # every row a B may be, A's among them: B is after an A (so after the window's start)
        rows = f"SELECT * FROM {table_b} AS b WHERE b.created_at < {end}{kind_b_sql}"
        if start is not None:
            rows += f" AND b.created_at >= {ctx.day(start)}"
        joined = ctx.dialect.followed_by_next(rows, where_a, until, node.negated)
    if joined is None:
        joined = ctx.dialect.followed(
            f"SELECT a.user_id, a.created_at FROM {table_a} AS a WHERE {where_a}",
            _b_rows(ctx, node, table_b, kind_b_sql, end),
            until,
            node.negated,
        )
    if joined is not None:
        sql = f"f.user_id IN ({joined})"
    elif ctx.dialect.indexes and ctx.window_range(node.window)[0] is None:
        sql = _whole_history(table_a, where_a, follow, node.negated)
    elif node.negated:
        sql = (
            f"f.user_id IN (SELECT a.user_id FROM {table_a} AS a WHERE {where_a} "
            f"AND NOT EXISTS ({follow}))"
        )
    elif kind_b is not None and ctx.window_range(node.window)[0] is not None:
        sql = _windowed_sequence(ctx, node, kind_a, kind_b, until, end)
    else:
        sql = (
            f"f.user_id IN (SELECT a.user_id FROM {table_a} AS a WHERE {where_a} "
            f"AND EXISTS ({follow}))"
        )
    a, b = kind_a or "order", kind_b or "order"
    (a_zh, _), (b_zh, _) = kind_label(a), kind_label(b)
    zh_w, en_w = behaviour.window_words(node.window) if node.window else ("曾", "")
    zh_n, en_n = show(node.within)
    zh = f"{zh_w}有{a_zh} 且其后 {zh_n}内{'没有' if node.negated else '有'}{b_zh}"
    en = f"did {a}{en_w} then {'no ' if node.negated else ''}{b} within {en_n}"
    return Part(sql, zh, en)


def _b_rows(ctx: Ctx, node: Sequence, table_b: str, kind_b_sql: str, end: str) -> str:
    """The B rows a sequence may find after an A (a dialect's join form, Dialect.followed):
    before the end of D, and after the window's first day when it has one (B follows an A of
    the window)."""
    sql = f"SELECT b.user_id, b.created_at FROM {table_b} AS b WHERE b.created_at < {end}"
    start, _ = ctx.window_range(node.window)
    if start is not None:
        sql += f" AND b.created_at > {ctx.day(start)}"
    return sql + kind_b_sql


def _whole_history(table_a: str, where_a: str, follow: str, negated: bool) -> str:
    """``did A then [no] B within N`` over the whole history up to D, on an engine that seeks
    its per-user keys (SQLite): the A rows read per user of ``users``, in user order (its
    primary key scanned, then A's range of the per-user key of each), so the probe of each A
    row for its B lands in B's per-user key next to the previous one. Read in the time order of
    ``events_kind_time`` (the windowed form), each probe lands anywhere in that key. ``then no``
    asks per user for one A not followed (it stops at the first: most users match); the
    positive form joins (an ``EXISTS`` per user measured 12 % slower). 1M users / 20M events:
    did cart_add then order within 1d 6.5 -> 1.8 s of CPU, then no order 12.1 -> 1.7 s. The
    driver is ``users``, not ``f``'s table: a condition is also evaluated over the per-user
    table being built (the recompute's tag and layer rules), and every user with an order or
    an event is in ``users`` (the import creates them first; the foreign keys say so). In the
    refresh, ``users``, ``orders`` and ``events`` are the TEMP copies of the dirty users' rows
    (core/analytics/features.py ``_make_shadows``): the same invariant, within those users."""
    if negated:
        return (
            f"f.user_id IN (SELECT u.user_id FROM users AS u WHERE EXISTS (SELECT 1 FROM "
            f"{table_a} AS a WHERE a.user_id = u.user_id AND {where_a} AND NOT EXISTS ({follow})))"
        )
    return (
        f"f.user_id IN (SELECT a.user_id FROM users AS u CROSS JOIN {table_a} AS a "
        f"WHERE a.user_id = u.user_id AND {where_a} AND EXISTS ({follow}))"
    )


def _windowed_sequence(
    ctx: Ctx, node: Sequence, kind_a: str | None, kind_b: str, until: str, end: str
) -> str:
    """``did A in W then B within N`` when W has a first day S and B is an event kind: a
    matching user has an A row in W and a B row after S (it follows an A of W) and before the
    end of D, both ranges of ``events_kind_time``; only the users in both are tested for an A
    followed by its B, per user of ``f`` in user order, so the seeks go through the per-user
    key in key order (view in 30d then cart_add within 1d on 20M events: 1.96 s -> 0.95 s of
    CPU). With B = order the users with an order after S are
    most users and read the whole per-user index of orders: every A row of W is probed, as in
    the whole-history form (measured: the per-user form 0.68 s against 0.47 s)."""
    table_a = behaviour.table_of(kind_a)
    start, _ = ctx.window_range(node.window)
    assert start is not None
    rows_a = behaviour.rows_in_window(ctx, table_a, kind_a, node.window)
    where_a = behaviour.rows_in_window(ctx, table_a, kind_a, node.window, alias="a.")
    b = ctx.bind(kind_b)
    has_b = (
        f"SELECT user_id FROM events WHERE kind = {b} AND created_at > {ctx.day(start)} "
        f"AND created_at < {end}"
    )
    follow = (
        f"SELECT 1 FROM events AS b WHERE b.user_id = a.user_id AND b.kind = {b} "
        f"AND b.created_at > a.created_at AND b.created_at <= {until} AND b.created_at < {end}"
    )
    return (
        f"(f.user_id IN (SELECT user_id FROM {table_a} WHERE {rows_a}) "
        f"AND f.user_id IN ({has_b}) "
        f"AND EXISTS (SELECT 1 FROM {table_a} AS a WHERE a.user_id = f.user_id AND {where_a} "
        f"AND EXISTS ({follow})))"
    )


def compile_transition(ctx: Ctx, node: Transition) -> Part:
    table, column, zh_what, en_what = HISTORIES[node.what]
    if node.what == "layer":
        key = names._closed_set(ctx, node.name, "layer", names.layer_names(ctx))  # noqa: SLF001
    elif node.what == "rfm":
        key = names._closed_set(ctx, node.name, "RFM group", names.rfm_names())  # noqa: SLF001
    else:
        key = names.check_tag(ctx, node.name)
    if node.name.kind != "string":  # the grammar only lets a STRING through
        raise QueryError("A name is quoted", pos=node.name.pos)
    zh_n, en_n = show(node.within)
    zh_shown, en_shown = names.value_label(ctx, column, key, str(node.name.value))
    if node.direction == "entered":
        zh = f"近{zh_n}内进入{zh_what} {zh_shown}"
        en = f"entered {en_what} {en_shown} in the last {en_n}"
    else:
        zh = f"近{zh_n}内离开{zh_what} {zh_shown}"
        en = f"left {en_what} {en_shown} in the last {en_n}"
    if not table_exists(ctx.conn, table):
        return Part("0", zh, en)  # no history kept yet: no one can be seen moving
    start = ctx.window_start(node.within)
    now_date = f"(SELECT max(as_of) FROM {table} WHERE as_of <= {ctx.day(ctx.as_of)})"
    before_date = f"(SELECT max(as_of) FROM {table} WHERE as_of < {ctx.day(start)})"
    x = ctx.bind(key)
    into, out_of = (
        (now_date, before_date) if node.direction == "entered" else (before_date, now_date)
    )
    # the rows of one date in X without a row of the other date in X: one read of the first
    # date in user order, each user's row of the other date found by its key (as_of, user_id;
    # tags: as_of, tag, user_id) in the same order (20-60% less CPU than an IN and a NOT IN
    # list of the two whole dates)
    moved = (
        f"SELECT h.user_id FROM {table} AS h WHERE h.as_of = {into} AND h.{column} = {x} "
        f"AND NOT EXISTS (SELECT 1 FROM {table} AS o WHERE o.as_of = {out_of} "
        f"AND o.user_id = h.user_id AND o.{column} = {x})"
    )
    sql = f"(f.user_id IN ({moved}) AND {before_date} IS NOT NULL)"
    return Part(sql, zh, en)
