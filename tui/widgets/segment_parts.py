"""Pieces of the segment builder with no I/O: the overlap's conditions, completion labels and
the preview's cells (plain ``Text``: database values are never markup)."""

from __future__ import annotations

from rich.text import Text

from core.views import users
from core.views.text import visible_value
from tui.i18n import Labels
from tui.widgets.writes import quoted


def overlap_condition(a: str, b: str, part: str) -> str:
    """The users-list filter for one part of the overlap of saved segments A and B."""
    in_a, in_b = f"in segment {quoted(a)}", f"in segment {quoted(b)}"
    return {
        "only_a": f"{in_a} and not {in_b}",
        "both": f"{in_a} and {in_b}",
        "only_b": f"{in_b} and not {in_a}",
    }[part]


def offer_label(c) -> str:
    label = c.label or c.text
    return label if c.count is None else f"{label}  ({c.count:,})"


def preview_cell(row: users.UserRow, column: str, lab: Labels) -> Text:
    value = getattr(row, column)
    if column == "layer":
        return Text(lab.layer(value))
    if column == "rfm_group":
        return Text(lab.group(value))
    if column == "monetary":
        return Text("" if value is None else f"{value:,.2f}", justify="right")
    return Text(visible_value(value))
