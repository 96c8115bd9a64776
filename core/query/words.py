"""The words of the human sentences (zh, en): one place for every operator's phrasing."""

from __future__ import annotations

from typing import cast

from core.query.ast import Value

# op -> field type -> (zh, en); 'any' applies to every type.
OPS: dict[str, dict[str, tuple[str, str]]] = {
    "=": {"number": ("等于", "="), "date": ("为", "is on"), "any": ("为", "is")},
    "!=": {"number": ("不等于", "≠"), "date": ("不为", "is not on"), "any": ("不为", "is not")},
    "<": {"date": ("早于", "is before"), "any": ("小于", "<")},
    "<=": {"date": ("不晚于", "is on or before"), "any": ("不大于", "≤")},
    ">": {"date": ("晚于", "is after"), "any": ("大于", ">")},
    ">=": {"date": ("不早于", "is on or after"), "any": ("不小于", "≥")},
    "contains": {"any": ("包含", "contains")},
    "startswith": {"any": ("开头为", "starts with")},
}


def op_words(op: str, kind: str) -> tuple[str, str]:
    table = OPS[op]
    return table.get(kind, table["any"])


def show(value: Value) -> tuple[str, str]:
    """A value as the operator wrote it (relative dates spelled out)."""
    if value.kind == "string":
        return str(value.value), str(value.value)
    if value.kind in ("reldate", "duration"):
        n, unit = cast("tuple[int, str]", value.value)  # reldate/duration: (n, unit)
        zh_unit = {"d": "天", "w": "周", "m": "个月", "y": "年"}[unit]
        en_unit = {"d": "day", "w": "week", "m": "month", "y": "year"}[unit] + (
            "s" if n != 1 else ""
        )
        if value.kind == "reldate":
            return f"{n}{zh_unit}前", f"{n} {en_unit} ago"
        return f"{n}{zh_unit}", f"{n} {en_unit}"
    return value.raw, value.raw


def sentence(
    label: tuple[str, str],
    op: str,
    kind: str,
    values: tuple[Value, ...],
    shown_as: tuple[tuple[str, str], ...] | None = None,
) -> tuple[str, str]:
    """'城市 为 上海' / 'city is 上海' for one comparison; ``shown_as`` (zh, en) per value
    replaces the typed values (an RFM group's label instead of its key)."""
    zh_label, en_label = label
    shown = list(shown_as) if shown_as is not None else [show(v) for v in values]
    if op in ("in", "not in"):
        zh_vals = "、".join(s[0] for s in shown)
        en_vals = ", ".join(s[1] for s in shown)
        if op == "in":
            return f"{zh_label} 为 {zh_vals} 之一", f"{en_label} is one of {en_vals}"
        return f"{zh_label} 不为 {zh_vals} 中任何一个", f"{en_label} is none of {en_vals}"
    if op == "between":
        (lo_zh, lo_en), (hi_zh, hi_en) = shown
        return (
            f"{zh_label} 介于 {lo_zh} 与 {hi_zh} 之间",
            f"{en_label} is between {lo_en} and {hi_en}",
        )
    if op == "is empty":
        return f"{zh_label} 为空", f"{en_label} is empty"
    if op == "is not empty":
        return f"{zh_label} 不为空", f"{en_label} is not empty"
    zh_op, en_op = op_words(op, kind)
    return f"{zh_label} {zh_op} {shown[0][0]}", f"{en_label} {en_op} {shown[0][1]}"
