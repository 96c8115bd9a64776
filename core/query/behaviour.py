"""Behaviour over a window, computed from the raw events/orders tables relative to as_of, and
tags and campaign memberships. Every piece is an ``f.user_id IN / NOT IN (subquery)``.

A window condition that holds for zero (``count(login, 30d) < 3``) must include users with no
rows at all, so it compiles as NOT IN the users for whom it fails.
"""

from __future__ import annotations

import operator
from datetime import date, timedelta
from typing import Any, cast

from core.errors import QueryError
from core.query import names, windows
from core.query.ast import (
    Call,
    Compare,
    Filter,
    HasTag,
    InCampaign,
    InGlobalControl,
    TargetedWithin,
    Value,
)
from core.query.comparisons import NEGATIONS, as_date, date_predicate, predicate
from core.query.context import Ctx, Part, closest, did_you_mean
from core.query.words import op_words, sentence, show
from core.store.event_kinds import kind_label
from core.store.schema import DAYS_SINCE_LAST, EVENT_KINDS
from core.store.sql import quote

CALLS = ("count", "orders", "spent", "last", "first")
# The property a filter may test: an event's value (text), an order's amount (number).
FILTER_FIELDS = {"events": ("value", "text"), "orders": ("amount", "number")}
ORDER_WORDS = ("order", "orders")
_PY_OPS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compile_call(ctx: Ctx, node: Compare) -> Part:
    call = node.subject
    assert isinstance(call, Call)
    if call.name not in CALLS:
        guess = closest(call.name, list(CALLS))
        raise QueryError(
            f"Unknown behaviour '{call.name}' at column {call.pos + 1}{did_you_mean(guess)}",
            pos=call.pos,
            expected=list(CALLS),
            suggestion=guess,
        )
    if call.name in ("last", "first") and call.filter is not None:
        raise QueryError(
            f"{call.name}(…) takes no filter (column {call.filter.pos + 1})",
            pos=call.filter.pos,
            expected=[")"],
        )
    if call.name == "last":
        return _last(ctx, call, node)
    if call.name == "first":
        return _first(ctx, call, node)
    return _aggregate(ctx, call, node)


def call_parts(ctx: Ctx, call: Call) -> tuple[str | None, Value | None]:
    """(event kind or None for orders, window) of count/orders/spent, checked."""
    if call.name == "count":
        return _kind(ctx, call), _window(call, call.args[1:])
    return None, _window(call, call.args)


def _aggregate(ctx: Ctx, call: Call, node: Compare) -> Part:
    """count(kind[, window][, filter]), orders([window][, filter]), spent(…) against numbers."""
    kind, window = call_parts(ctx, call)
    nums = tuple(_number(v) for v in node.values)
    if node.op in ("contains", "startswith", "is empty", "is not empty"):
        raise QueryError(
            f"{call.name}(…) is a number: compare it with = != < <= > >= in between "
            f"(column {node.op_pos + 1})",
            pos=node.op_pos,
            expected=["=", "<", ">"],
        )
    zh, en = sentence(call_label(call, kind, window), node.op, "number", node.values)
    column = windows.column_for(ctx, call.name, kind, window, call.filter is not None)
    if column is not None:
        return Part(_on_column(ctx, f"f.{quote(column)}", "number", node.op, nums), zh, en)
    sql = _aggregate_subquery(ctx, call.name, kind, window, node.op, nums, call.filter)
    return Part(sql, zh, en)


def table_of(kind: str | None) -> str:
    return "orders" if kind is None else "events"


def aggregate_scalar(ctx: Ctx, call: Call) -> tuple[str, str | None]:
    """(the per-user number of count/orders/spent as a SQL expression over f, the rows it
    reads or None when a stored column holds it). A user without rows gets 0."""
    kind, window = call_parts(ctx, call)
    column = windows.column_for(ctx, call.name, kind, window, call.filter is not None)
    if column is not None:
        return f"f.{quote(column)}", None
    table = table_of(kind)
    where = rows_in_window(ctx, table, kind, window, call.filter)
    agg = "coalesce(sum(amount), 0)" if call.name == "spent" else "count(*)"
    scalar = ctx.dialect.per_user(agg, table, where)
    return scalar, f"SELECT user_id FROM {table} WHERE {where}"


def _on_column(ctx: Ctx, column: str, kind: str, op: str, values: tuple[object, ...]) -> str:
    """The comparison on a materialised features column (whitelisted in windows.py)."""
    positive = NEGATIONS.get(op, op)
    return _negated_if(op, predicate(ctx, column, kind, positive, values))


def _negated_if(op: str, sql: str) -> str:
    """``sql`` (the positive test) negated for != / not in / is not empty; NULL counts as no."""
    return f"NOT ifnull({sql}, 0)" if op in NEGATIONS else sql


def _aggregate_subquery(
    ctx: Ctx,
    name: str,
    kind: str | None,
    window: Value | None,
    op: str,
    nums: tuple[float, ...],
    flt: Filter | None = None,
) -> str:
    """The window computed from the raw rows: users IN (or NOT IN) a GROUP BY ... HAVING."""
    table, agg = (
        ("orders", "sum(amount)")
        if name == "spent"
        else (("orders", "count(*)") if kind is None else ("events", "count(*)"))
    )
    where = rows_in_window(ctx, table, kind, window, flt)
    rows = f"SELECT user_id FROM {table} WHERE {where}"
    # A count test that only asks "any row?" needs no GROUP BY (-25% on 10M events)
    shape = None if name == "spent" else _any_or_none(op, nums)
    if shape == "any":
        return f"f.user_id IN ({rows})"
    if shape == "none":
        return f"f.user_id NOT IN ({rows})"
    having = predicate(ctx, agg, "number", NEGATIONS.get(op, op), nums)
    if op in NEGATIONS:
        having = f"NOT ({having})"
    if _holds(op, nums, 0):
        return f"f.user_id NOT IN ({rows} GROUP BY user_id HAVING NOT ({having}))"
    return f"f.user_id IN ({rows} GROUP BY user_id HAVING {having})"


def _holds(op: str, nums: tuple[float, ...], n: int) -> bool:
    """Does the comparison hold for a count of n?"""
    if op in _PY_OPS:
        return bool(_PY_OPS[op](n, nums[0]))
    if op == "between":
        return nums[0] <= n <= nums[1]
    return (n in nums) == (op == "in")


def _any_or_none(op: str, nums: tuple[float, ...]) -> str | None:
    """'any' when the count test holds exactly for counts >= 1 (``>= 1``, ``!= 0``), 'none'
    when exactly for 0 (``= 0``, ``< 1``), else None. Counts are integers and every test is
    constant above its largest value, so checking 0 .. max + 1 decides it."""
    top = max(nums)
    if top > 1000:
        return None
    held = [_holds(op, nums, n) for n in range(max(int(top), 0) + 2)]
    if not held[0] and all(held[1:]):
        return "any"
    if held[0] and not any(held[1:]):
        return "none"
    return None


def rows_in_window(
    ctx: Ctx,
    table: str,
    kind: str | None,
    window: Value | None,
    flt: Filter | None = None,
    alias: str = "",
) -> str:
    """The WHERE of the rows of ``table`` in the window (``alias``: 'a.' for a correlated use)."""
    parts = [f"{alias}kind = {ctx.bind(kind)}"] if kind is not None else []
    # events: the (kind, created_at, user_id) index serves the range (it carries the primary
    # key, value included, so a value filter reads no row). orders: '+' keeps SQLite off
    # orders_time (a row lookup per order) so it scans the covering (user_id, created_at,
    # amount) index already grouped by user: 7 s -> 1 s on 2.5M orders.
    col = (
        f"{alias}created_at" if table == "events" or alias else ctx.dialect.unindexed("created_at")
    )
    start, end = ctx.window_range(window)
    if start is not None:
        parts.append(f"{col} >= {ctx.day(start)}")
    parts.append(f"{col} < {ctx.day(end + timedelta(days=1))}")
    if flt is not None:
        parts.append(_filter_sql(ctx, table, flt))
    return " AND ".join(parts)


_rows_in_window = rows_in_window


def _filter_sql(ctx: Ctx, table: str, flt: Filter) -> str:
    """value = "美妆" on events, amount >= 200 on orders: a test on each row."""
    name, kind = FILTER_FIELDS[table]
    if flt.field != name:
        guess = name  # the one property of this kind of row
        where = "an event" if table == "events" else "an order"
        raise QueryError(
            f"Unknown property '{flt.field}' of {where} at column {flt.pos + 1}"
            f"{did_you_mean(guess)} (events have value, orders have amount)",
            pos=flt.pos,
            expected=[name],
            suggestion=guess,
        )
    want = "string" if kind == "text" else "number"
    for v in flt.values:
        if v.kind != want:
            what = 'a quoted value ("…")' if want == "string" else "a number"
            raise QueryError(
                f"{name} is compared with {what} at column {v.pos + 1}, not {v.raw}",
                pos=v.pos,
                expected=[what],
            )
    if kind == "text" and flt.op not in ("=", "!=", "in"):
        raise QueryError(
            f"value is text: filter it with = != in, not {flt.op} (column {flt.pos + 1})",
            pos=flt.pos,
            expected=["=", "!=", "in"],
        )
    values = tuple(v.value for v in flt.values)
    if flt.op == "!=":
        return f"{name} != {ctx.bind(values[0])}"
    return predicate(ctx, name, "number" if kind == "number" else "text", flt.op, values)


def filter_words(flt: Filter | None) -> tuple[str, str]:
    """(zh, en) of a row filter: '值为 美妆 的 ' / ' with value 美妆'."""
    if flt is None:
        return "", ""
    shown = [show(v) for v in flt.values]
    zh_name, en_name = ("值", "value") if flt.field == "value" else ("金额", "amount")
    if flt.op == "in":
        zh = f"{zh_name}为 {'、'.join(s[0] for s in shown)} 之一的 "
        return zh, f" with {en_name} one of {', '.join(s[1] for s in shown)}"
    if flt.op == "=" and flt.field == "value":
        return f"{zh_name}为 {shown[0][0]} 的 ", f" with value {shown[0][1]}"
    zh_op, en_op = op_words(flt.op, "number" if flt.field == "amount" else "text")
    return f"{zh_name}{zh_op} {shown[0][0]} 的 ", f" with {en_name} {en_op} {shown[0][1]}"


def _last(ctx: Ctx, call: Call, node: Compare) -> Part:
    """last(kind) / last(order): the date of the latest such row up to as_of."""
    kind = _kind(ctx, call)
    if len(call.args) > 1:
        raise QueryError("last(…) takes one event kind, e.g. last(login)", pos=call.args[1].pos)
    zh, en = sentence(call_label(call, kind, None), node.op, "date", node.values)
    if kind is None and windows.features_are_as_of(ctx):
        days = tuple(as_date(ctx, "last(…)", v) for v in node.values)
        return Part(
            _on_column(ctx, f"f.{quote(windows.LAST_ORDER)}", "date", node.op, days), zh, en
        )
    if (
        kind in DAYS_SINCE_LAST
        and windows.features_are_as_of(ctx)
        and not _since_recently(ctx, node)
    ):
        return Part(_on_days_since(ctx, DAYS_SINCE_LAST[kind], node), zh, en)
    table = "orders" if kind is None else "events"
    rows = _rows_in_window(ctx, table, kind, None)
    op = NEGATIONS.get(node.op, node.op)
    if op == "is empty":
        sql = f"f.user_id NOT IN (SELECT user_id FROM {table} WHERE {rows})"
    elif op in (">", ">="):  # latest is after X  <=>  some row after X: an index range scan
        days = tuple(as_date(ctx, "last(…)", v) for v in node.values)
        sql = (
            f"f.user_id IN (SELECT user_id FROM {table} WHERE {rows} AND "
            f"{date_predicate(ctx, 'created_at', op, days)})"
        )
    elif ctx.dialect.span_joins:
        days = tuple(as_date(ctx, "last(…)", v) for v in node.values)
        spans = _spans(ctx, op, days)
        sql = "(" + " OR ".join(_latest_in(ctx, table, kind, lo, hi) for lo, hi in spans) + ")"
    else:
        days = tuple(as_date(ctx, "last(…)", v) for v in node.values)
        having = date_predicate(ctx, "max(created_at)", op, days)
        sql = (
            f"f.user_id IN (SELECT user_id FROM {table} WHERE {rows} "
            f"GROUP BY user_id HAVING {having})"
        )
    if op != node.op:
        sql = f"NOT ({sql})"
    return Part(sql, zh, en)


def _first(ctx: Ctx, call: Call, node: Compare) -> Part:
    """first(kind) / first(order): the date of the earliest such row up to as_of.

    Every test is "the first day falls in [lo, hi]" (or a union of such), i.e. some row on
    lo..hi and none before lo: a range of the kind's rows, then one seek per candidate into
    the per-user key for "none before" (cheap where a GROUP BY over all rows is not)."""
    kind = _kind(ctx, call)
    if len(call.args) > 1:
        raise QueryError("first(…) takes one event kind, e.g. first(login)", pos=call.args[1].pos)
    zh, en = sentence(call_label(call, kind, None), node.op, "date", node.values)
    op = NEGATIONS.get(node.op, node.op)
    table = table_of(kind)
    if kind is None and windows.features_are_as_of(ctx) and op != "is empty":
        days = tuple(as_date(ctx, "first(…)", v) for v in node.values)
        return Part(_on_column(ctx, "f.first_order_at", "date", node.op, days), zh, en)
    if op == "is empty" and kind in DAYS_SINCE_LAST and windows.features_are_as_of(ctx):
        # no such event up to D: no first one and no last one, the stored days since it
        sql = f"f.{DAYS_SINCE_LAST[kind]} IS NULL"
    elif op == "is empty":
        rows = rows_in_window(ctx, table, kind, None)
        sql = f"f.user_id NOT IN (SELECT user_id FROM {table} WHERE {rows})"
    else:
        days = tuple(as_date(ctx, "first(…)", v) for v in node.values)
        spans = _spans(ctx, op, days)
        sql = "(" + " OR ".join(_first_in(ctx, table, kind, lo, hi) for lo, hi in spans) + ")"
    if op != node.op:
        sql = f"NOT ifnull({sql}, 0)"
    return Part(sql, zh, en)


def _spans(ctx: Ctx, op: str, days: tuple[date, ...]) -> list[tuple[date | None, date]]:
    """A date test as the spans of days (first, last; both included; None: no first) on which
    the tested date falls."""
    one = timedelta(days=1)
    return cast(
        list[tuple[date | None, date]],
        {
            "=": lambda: [(days[0], days[0])],
            "<": lambda: [(None, days[0] - one)],
            "<=": lambda: [(None, days[0])],
            ">": lambda: [(days[0] + one, ctx.as_of)],
            ">=": lambda: [(days[0], ctx.as_of)],
            "between": lambda: [(days[0], days[1])],
            "in": lambda: [(d, d) for d in days],
        }[op](),
    )


def _kind_rows(ctx: Ctx, table: str, kind: str | None, lo: date | None, end: date) -> str:
    """The user ids of the kind's rows (orders: None) from day ``lo`` (None: the first) up to
    the day before ``end``."""
    parts = [] if kind is None else [f"kind = {ctx.bind(kind)}"]
    if lo is not None:
        parts.append(f"created_at >= {ctx.day(lo)}")
    parts.append(f"created_at < {ctx.day(end)}")
    return f"SELECT user_id FROM {table} WHERE {' AND '.join(parts)}"


def _latest_in(ctx: Ctx, table: str, kind: str | None, lo: date | None, hi: date) -> str:
    """Users whose latest such row up to as_of falls on lo..hi, as ranges (Dialect.span_joins):
    some row on lo..hi and none from hi + 1 day to as_of."""
    hi = min(hi, ctx.as_of)
    after = hi + timedelta(days=1)
    sql = f"f.user_id IN ({_kind_rows(ctx, table, kind, lo, after)})"
    if hi < ctx.as_of:
        sql += (
            f" AND f.user_id NOT IN "
            f"({_kind_rows(ctx, table, kind, after, ctx.as_of + timedelta(days=1))})"
        )
    return f"({sql})"


def _first_in(ctx: Ctx, table: str, kind: str | None, lo: date | None, hi: date) -> str:
    """Users whose first such row (up to as_of) falls on lo..hi: the users with a row on lo..hi
    (a range of the kind's index, grouped: each user once, in user order), then for each one
    "none before lo", one seek into the per-user key, in key order. (Testing "none before" per
    row of the range, in time order, landed each seek anywhere in the 20M-row key: 1.19 s
    against 0.72 s of CPU for first(login) > -7d at 1M users, docs/query-language.md.)"""
    hi = min(hi, ctx.as_of)
    kind_sql = "" if kind is None else f"a.kind = {ctx.bind(kind)} AND "
    where = f"{kind_sql}a.created_at < {ctx.day(hi + timedelta(days=1))}"
    if lo is None:
        return f"f.user_id IN (SELECT a.user_id FROM {table} AS a WHERE {where})"
    if ctx.dialect.span_joins:  # some row on lo..hi, none before lo: two ranges
        return (
            f"(f.user_id IN ({_kind_rows(ctx, table, kind, lo, hi + timedelta(days=1))}) "
            f"AND f.user_id NOT IN ({_kind_rows(ctx, table, kind, None, lo)}))"
        )
    where += f" AND a.created_at >= {ctx.day(lo)}"
    kind_b = "" if kind is None else f"b.kind = {ctx.bind(kind)} AND "
    before = (
        f"SELECT 1 FROM {table} AS b WHERE b.user_id = c.user_id AND {kind_b}"
        f"b.created_at < {ctx.day(lo)}"
    )
    return (
        f"f.user_id IN (SELECT c.user_id FROM (SELECT a.user_id FROM {table} AS a "
        f"WHERE {where} GROUP BY a.user_id) AS c WHERE NOT EXISTS ({before}))"
    )


def _since_recently(ctx: Ctx, node: Compare) -> bool:
    """last(kind) > X for a recent X: "some such event since X" reads a short range of the
    events index, cheaper than the stored column of every user (windows.RECENT_RANGE_DAYS)."""
    if node.op not in (">", ">="):
        return False
    since = as_date(ctx, "last(…)", node.values[0])
    return (ctx.as_of - since).days <= windows.RECENT_RANGE_DAYS


def _on_days_since(ctx: Ctx, column: str, node: Compare) -> str:
    """last(kind) OP dates as a test on the stored days since the latest such event."""
    days = [as_date(ctx, "last(…)", v) for v in node.values]
    since = tuple((ctx.as_of - d).days for d in days)
    positive = NEGATIONS.get(node.op, node.op)
    if positive == "between":  # a later date is fewer days ago
        since = since[::-1]
    op = positive if positive == "is empty" else windows.DAYS_OP[positive]
    return _negated_if(node.op, predicate(ctx, f"f.{quote(column)}", "number", op, since))


def _kind(ctx: Ctx, call: Call) -> str | None:
    """The event kind argument (None for orders); unknown kinds are errors with a suggestion."""
    if not call.args or call.args[0].kind not in ("name", "string"):
        pos = call.args[0].pos if call.args else call.pos
        raise QueryError(
            f"{call.name}(…) needs an event kind first, e.g. {call.name}(login"
            f"{', 30d' if call.name == 'count' else ''})",
            pos=pos,
            expected=["an event kind"],
        )
    arg = call.args[0]
    kind = str(arg.value)
    takes_orders = call.name in ("last", "first", "did")
    if takes_orders and kind.lower() in ORDER_WORDS:
        return None
    if (
        kind in EVENT_KINDS
        or ctx.conn.execute("SELECT 1 FROM events WHERE kind = ? LIMIT 1", (kind,)).fetchone()
    ):
        return kind
    guess = closest(kind, [*EVENT_KINDS, *ORDER_WORDS[:1]] if takes_orders else list(EVENT_KINDS))
    raise QueryError(
        f"Unknown event kind '{kind}' at column {arg.pos + 1}{did_you_mean(guess)}",
        pos=arg.pos,
        expected=["an event kind"],
        suggestion=guess,
    )


def _window(call: Call, args: tuple[Value, ...]) -> Value | None:
    if not args:
        return None
    if len(args) > 1 or args[0].kind not in ("duration", "range"):
        raise QueryError(
            f"{call.name}(…): expected a window like 30d or -59d..-30d at column {args[0].pos + 1}",
            pos=args[0].pos,
            expected=["a duration (30d)", "a range (-59d..-30d)"],
        )
    return args[0]


def window_words(window: Value | None) -> tuple[str, str]:
    """(zh, en) of a window: '近30天' / ' in the last 30 days', ranges 'from … to …'."""
    if window is None:
        return "累计", " in total"
    if window.kind == "range":
        (a_zh, a_en), (b_zh, b_en) = (show(v) for v in cast(tuple[Any, Any], window.value))
        return f"{a_zh}至{b_zh}", f" from {a_en} to {b_en}"
    zh_w, en_w = show(window)
    return f"近{zh_w}", f" in the last {en_w}"


def _number(v: Value) -> float:
    if v.kind != "number":
        raise QueryError(
            f"Expected a number at column {v.pos + 1}, not {v.raw}",
            pos=v.pos,
            expected=["a number"],
        )
    return v.value  # type: ignore[return-value]


def call_label(call: Call, kind: str | None, window: Value | None) -> tuple[str, str]:
    zh_in, en_in = window_words(window)
    zh_f, en_f = filter_words(call.filter)
    zh_kind, en_kind = kind_label(kind or "order")
    if call.name == "count":
        return f"{zh_in} {zh_f}{zh_kind}次数", f"{en_kind} events{en_f}{en_in}"
    if call.name == "orders":
        return f"{zh_in}{' ' + zh_f if zh_f else ''}订单数", f"orders{en_f}{en_in}"
    if call.name == "spent":
        zh_spent = f" {zh_f}订单" if zh_f else ""
        return f"{zh_in}{zh_spent}消费金额", f"amount spent{en_f}{en_in}"
    if call.name == "first":
        return f"首次{zh_kind}日期", f"first {en_kind} date"
    return f"最近一次{zh_kind}日期", f"last {en_kind} date"


_call_label = call_label


def compile_tag(ctx: Ctx, node: HasTag) -> Part:
    if node.tag.kind != "string":
        raise QueryError(
            f'A tag name is quoted: tag "夜猫子" (column {node.tag.pos + 1})',
            pos=node.tag.pos,
            expected=['a quoted value ("…")'],
        )
    tag = names.check_tag(ctx, node.tag)
    sql = f"f.user_id IN (SELECT user_id FROM user_tags WHERE tag = {ctx.bind(tag)})"
    return Part(sql, f"有标签 {tag}", f"has tag {tag}")


def compile_campaign(ctx: Ctx, node: InCampaign) -> Part:
    name = names.check_campaign(ctx, node.name)
    role_sql = "" if node.role is None else f" AND role = {ctx.bind(node.role)}"
    sql = (
        f"f.user_id IN (SELECT user_id FROM campaign_members WHERE campaign = "
        f"{ctx.bind(name)}{role_sql})"
    )
    if node.role is None:
        return Part(sql, f"在活动 {name} 中", f"in campaign {name}")
    zh_role = "目标" if node.role == "target" else "对照组"
    return Part(sql, f"是活动 {name} 的{zh_role}", f"{node.role} of campaign {name}")


# The data date a member ``m`` of campaign ``c`` is "targeted on": the campaign's start date
# (its send), else the data date the user was added. `targeted within Nd` and the campaigns'
# frequency cap (core.audience.campaigns.members) both test it, so they always agree. A start
# date after D (a scheduled send) counts too: those users are about to be contacted.
TARGETED_ON = "coalesce(c.start_date, m.added_on)"


def compile_targeted(ctx: Ctx, node: TargetedWithin) -> Part:
    start = ctx.day(ctx.window_start(node.duration))
    sql = (
        "f.user_id IN (SELECT m.user_id FROM campaign_members AS m "
        "JOIN campaigns AS c ON c.name = m.campaign "
        f"WHERE m.role = {ctx.bind('target')} AND {TARGETED_ON} >= {start})"
    )
    zh_w, en_w = show(node.duration)
    return Part(sql, f"近{zh_w}内被活动触达", f"targeted by a campaign in the last {en_w}")


def compile_global_control(ctx: Ctx, node: InGlobalControl) -> Part:
    """`in global control`: the stored global control group (core.audience.global_control)."""
    return Part(
        "f.user_id IN (SELECT user_id FROM global_control)",
        "在全局对照组中",
        "in the global control group",
    )
