"""Arithmetic comparisons: ``monetary / frequency >= 400``, ``spent(30d) > 2 * spent(-59d..-30d)``.

Operands are number fields of ``features``, behaviour windows (count/orders/spent) and numbers.
``+ - * /`` follow SQL's NULL rules: an operand with no value (a model output not fitted, an
empty ``recency_days``) or a division by zero gives no value, and a comparison with no value
does not match; its complement (``!=``, ``not in``, ``not``) does, as everywhere else.

A behaviour that is not a stored column is a per-user subquery over its rows. It only runs for
users who have some such row: every other user holds 0 there, so the comparison is written
``CASE WHEN f.user_id IN (their rows) THEN <with subqueries> ELSE <with zeros> END``.
"""

from __future__ import annotations

from core.errors import QueryError
from core.query import behaviour
from core.query.ast import Arith, Calc, Call, Field, Value
from core.query.comparisons import NEGATIONS, resolve_field
from core.query.context import Ctx, Part
from core.query.words import op_words, show

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_ZH_OPS = {"+": "+", "-": "-", "*": "×", "/": "÷"}


def compile_calc(ctx: Ctx, node: Calc) -> Part:
    if node.op in ("contains", "startswith"):
        raise QueryError(
            f"'{node.op}' works on text, not on a calculation (column {node.op_pos + 1})",
            pos=node.op_pos,
            expected=["=", "<", ">"],
        )
    raw: list[str] = []
    left = _expr(ctx, node.left, raw, zero=False)
    rights = [_expr(ctx, r, raw, zero=False) for r in node.right]
    positive = NEGATIONS.get(node.op, node.op)
    sql = _test(ctx, left, positive, rights)
    if raw:  # users without any of the rows read: every such behaviour is 0 for them
        zero_left = _expr(ctx, node.left, [], zero=True)
        zero_rights = [_expr(ctx, r, [], zero=True) for r in node.right]
        zero_sql = _test(ctx, zero_left, positive, zero_rights)
        rows = " UNION ALL ".join(raw)
        sql = f"CASE WHEN f.user_id IN ({rows}) THEN {sql} ELSE {zero_sql} END"
    if positive != node.op:
        sql = f"NOT ifnull({sql}, 0)"
    zh_left, en_left = words(node.left)
    shown = [words(r) for r in node.right]
    return Part(sql, *_sentence(zh_left, en_left, node.op, shown))


def _test(ctx: Ctx, left: str, op: str, rights: list[str]) -> str:
    if op == "is empty":
        return f"({left}) IS NULL"
    if op == "in":
        return f"({left}) IN ({', '.join(rights)})"
    if op == "between":
        return f"({left}) BETWEEN {rights[0]} AND {rights[1]}"
    return f"({left}) {op} ({rights[0]})"


def _expr(ctx: Ctx, e: object, raw: list[str], *, zero: bool) -> str:
    """The SQL number for an operand. Identifiers come from the whitelist, numbers are bound."""
    if isinstance(e, Arith):
        a = _expr(ctx, e.left, raw, zero=zero)
        b = _expr(ctx, e.right, raw, zero=zero)
        if e.op == "/":  # real division; x / 0 is NULL in SQLite: no value
            return ctx.dialect.divide(a, b)
        return f"({a} {e.op} {b})"
    if isinstance(e, Value):
        if e.kind != "number":
            raise QueryError(
                f"Only numbers take part in a calculation: {e.raw} at column {e.pos + 1}",
                pos=e.pos,
                expected=["a number", "a number field"],
            )
        return ctx.bind(e.value)
    if isinstance(e, Field):
        fd = resolve_field(ctx, e)
        if fd.type != "number" or fd.source != "features":
            raise QueryError(
                f"{fd.written} is not a number: only number fields take part in a calculation "
                f"(column {e.pos + 1})",
                pos=e.pos,
                expected=["a number field"],
            )
        return f"f.{fd.column}"
    assert isinstance(e, Call)
    if e.name not in ("count", "orders", "spent"):
        what = "a date" if e.name in ("first", "last") else "not a behaviour"
        raise QueryError(
            f"{e.name}(…) is {what}: calculations take count, orders, spent and number fields "
            f"(column {e.pos + 1})",
            pos=e.pos,
            expected=["count(", "orders(", "spent("],
        )
    scalar, rows = behaviour.aggregate_scalar(ctx, e)
    if rows is None:
        return scalar
    if zero:
        return "0"
    raw.append(rows)
    return scalar


def words(e: object, parent: int = 0) -> tuple[str, str]:
    """(zh, en) of an expression, parenthesised only where precedence needs it."""
    if isinstance(e, Arith):
        prec = _PRECEDENCE[e.op]
        a_zh, a_en = words(e.left, prec)
        b_zh, b_en = words(e.right, prec + 1)  # a - (b - c) keeps its parentheses
        zh, en = f"{a_zh} {_ZH_OPS[e.op]} {b_zh}", f"{a_en} {e.op} {b_en}"
        return (f"（{zh}）", f"({en})") if prec < parent else (zh, en)
    if isinstance(e, Value):
        return show(e)
    if isinstance(e, Field):
        from core.query.fields import ALIASES, LABELS

        name = e.name.lower()
        zh, en = LABELS.get(name) or LABELS.get(ALIASES.get(name, name), (e.name, e.name))
        return zh, en
    assert isinstance(e, Call)
    kind = str(e.args[0].value) if e.name == "count" and e.args else None
    window = [a for a in e.args if a.kind in ("duration", "range")]
    return behaviour.call_label(e, kind, window[0] if window else None)


def _sentence(zh: str, en: str, op: str, shown: list[tuple[str, str]]) -> tuple[str, str]:
    if op in ("in", "not in"):
        zh_vals, en_vals = "、".join(s[0] for s in shown), ", ".join(s[1] for s in shown)
        if op == "in":
            return f"{zh} 为 {zh_vals} 之一", f"{en} is one of {en_vals}"
        return f"{zh} 不为 {zh_vals} 中任何一个", f"{en} is none of {en_vals}"
    if op == "between":
        return (
            f"{zh} 介于 {shown[0][0]} 与 {shown[1][0]} 之间",
            f"{en} is between {shown[0][1]} and {shown[1][1]}",
        )
    if op == "is empty":
        return f"{zh} 无值", f"{en} has no value"
    if op == "is not empty":
        return f"{zh} 有值", f"{en} has a value"
    zh_op, en_op = op_words(op, "number")
    return f"{zh} {zh_op} {shown[0][0]}", f"{en} {en_op} {shown[0][1]}"
