"""The layer rules editor of the layers screen: a draft of the rules (priority order), the
highlighted rule's fields, and its condition in the live-condition editor (positioned errors,
completion, live count).

The widget holds the draft and does no I/O of its own (the condition field counts in its own
workers); every change posts :class:`LayerEditor.DraftChanged`, and the screen previews the
draft (the pyramid, overlaps and gap it would give) and saves it. Names typed here are shown as
text, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from core.errors import CoreError
from core.rules import layers
from core.views.text import visible
from tui.widgets.live_condition import LiveCondition
from tui.widgets.query_input import QueryInput


def parse_rank(text: str) -> int | None:
    """The rank field: empty is "not placed", else a whole number (checked by core)."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise CoreError(f"lifecycle rank {text!r}: a whole number (1, 2, … or -1, -2, …)") from None


def rank_text(rank: int | None) -> str:
    return "" if rank is None else f"{rank:+d}"


class LayerEditor(Vertical):
    DEFAULT_CSS = """
    LayerEditor { height: auto; border: round $accent 60%; border-title-color: $accent; }
    LayerEditor SegmentCount { width: 1fr; }
    LayerEditor > #rules { height: auto; max-height: 9; }
    LayerEditor > #rule-fields { height: 1; }
    LayerEditor > #rule-fields > Static { width: auto; padding: 0 1 0 1; color: $text-muted; }
    LayerEditor > #rule-fields > Input { height: 1; border: none; padding: 0 1; }
    LayerEditor #rule-key { width: 14; }
    LayerEditor #rule-zh, LayerEditor #rule-en { width: 1fr; }
    LayerEditor #rule-rank { width: 6; }
    LayerEditor > #rule-error { height: auto; color: $error; padding: 0 1; }
    LayerEditor > #rule-hint { height: auto; color: $text-muted; padding: 0 1; }
    """

    @dataclass
    class DraftChanged(Message):
        draft: list[layers.LayerRule]

    def __init__(self, labels, **kwargs) -> None:
        super().__init__(**kwargs)
        self.labels = labels
        self.draft: list[layers.LayerRule] = []
        self.current = 0  # index of the rule in the form

    def compose(self) -> ComposeResult:
        lab = self.labels
        table: DataTable[object] = DataTable(id="rules", cursor_type="row", zebra_stripes=True)
        yield table
        with Horizontal(id="rule-fields"):
            yield Static(lab("rule_key"), markup=False)
            yield Input(id="rule-key", compact=True, max_length=40)
            yield Static(lab("rule_zh"), markup=False)
            yield Input(id="rule-zh", compact=True)
            yield Static(lab("rule_en"), markup=False)
            yield Input(id="rule-en", compact=True)
            yield Static(lab("rule_rank"), markup=False)
            yield Input(id="rule-rank", compact=True, max_length=4)
        yield LiveCondition(
            placeholder=lab("rule_condition"),
            check=layers.validate_condition,
            id="rule-condition",
        )
        yield Static("", id="rule-error", markup=False)
        yield Static(lab("rule_hint"), id="rule-hint", markup=False)

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.select_on_focus = False  # typing goes where the cursor is, not over it
        table = self.query_one("#rules", DataTable)
        lab = self.labels
        for key, label in (
            ("pos", "#"),
            ("key", lab("rule_key")),
            ("name", lab("rule_name")),
            ("rank", lab("rule_rank")),
            ("condition", lab("rule_condition")),
        ):
            table.add_column(label, key=key)

    # ---------------------------------------------------------------- the draft

    def start(self, rules: list[layers.LayerRule]) -> None:
        """Edit a copy of ``rules``; nothing is saved until the screen saves the draft."""
        self.draft = list(rules)
        self.current = 0
        self.refill(select=0)
        self.changed()

    def refill(self, select: int | None = None) -> None:
        table = self.query_one("#rules", DataTable)
        table.clear()
        zh = self.labels.lang == "zh"
        for i, rule in enumerate(self.draft):
            table.add_row(
                Text(str(i + 1), justify="right"),
                Text(visible(rule.key)),
                Text(visible(rule.name_zh if zh else rule.name_en)),
                Text(rank_text(rule.lifecycle), justify="right"),
                Text(visible(rule.condition)),
                key=str(i),
            )
        if select is not None and self.draft:
            self.current = max(0, min(select, len(self.draft) - 1))
            table.move_cursor(row=self.current)
            self.fill_form()

    def fill_form(self) -> None:
        if not self.draft:
            return
        rule = self.draft[self.current]
        # the Inputs post Changed for these values: the same as the rule, so nothing changes
        self.query_one("#rule-key", Input).value = rule.key
        self.query_one("#rule-zh", Input).value = rule.name_zh
        self.query_one("#rule-en", Input).value = rule.name_en
        self.query_one("#rule-rank", Input).value = rank_text(rule.lifecycle).lstrip("+")
        self.condition.counter.matching = None  # the count of another rule's condition
        self.condition.set_condition(rule.condition)

    @property
    def condition(self) -> LiveCondition:
        return self.query_one("#rule-condition", LiveCondition)

    def changed(self) -> None:
        self.post_message(self.DraftChanged(list(self.draft)))

    def show_error(self, text: str) -> None:
        self.query_one("#rule-error", Static).update(text)

    # ---------------------------------------------------------------- what the screen's keys do

    def add(self) -> None:
        keys = {r.key for r in self.draft}
        n = next(i for i in range(1, layers.MAX_RULES + 2) if f"layer_{i}" not in keys)
        self.draft.append(layers.LayerRule(0, f"layer_{n}", "", "", ""))
        self.refill(select=len(self.draft) - 1)
        field = self.query_one("#rule-key", Input)
        field.focus()
        field.select_all()  # the made-up key: typing replaces it
        self.changed()

    def delete(self) -> None:
        if not self.draft:
            return
        del self.draft[self.current]
        self.refill(select=self.current)
        self.changed()

    def move(self, step: int) -> None:
        """Move the highlighted rule up (-1) or down (+1) in the priority order."""
        i, j = self.current, self.current + step
        if not self.draft or not 0 <= j < len(self.draft):
            return
        self.draft[i], self.draft[j] = self.draft[j], self.draft[i]
        self.refill(select=j)
        self.changed()

    def edit_condition(self) -> None:
        field = self.condition.input
        field.focus()
        field.cursor_position = len(field.value)  # go on typing at the end

    # ---------------------------------------------------------------- typing

    @on(DataTable.RowHighlighted, "#rules")
    def _highlighted(self, message: DataTable.RowHighlighted) -> None:
        message.stop()
        # the table's cursor now, not the message's row: refilling the table posts highlights
        # of rows it passed on the way, which must not bring another rule into the form
        index = message.data_table.cursor_row
        if index != self.current and 0 <= index < len(self.draft):
            self.current = index
            self.fill_form()

    @on(DataTable.RowSelected, "#rules")
    def _selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.edit_condition()

    @on(Input.Changed, "#rule-key, #rule-zh, #rule-en, #rule-rank")
    def _field_typed(self, message: Input.Changed) -> None:
        message.stop()
        if not self.draft or message.value != message.input.value:
            return  # stale: the form was refilled since (another rule is in it)
        rule = self.draft[self.current]
        value = message.value
        try:
            if message.input.id == "rule-key":
                rule = replace(rule, key=value.strip())
            elif message.input.id == "rule-zh":
                rule = replace(rule, name_zh=value)
            elif message.input.id == "rule-en":
                rule = replace(rule, name_en=value)
            else:
                rule = replace(rule, lifecycle=parse_rank(value))
        except CoreError as exc:
            self.show_error(cast(Any, self.app).labels.message(str(exc)))
            return
        self.update_rule(rule)
        self.changed()  # even when unchanged: the preview says again what is wrong, if anything

    @on(QueryInput.Changed)  # the one condition field (the message has no control to match)
    def _condition_typed(self, message: QueryInput.Changed) -> None:
        if self.draft and message.text.strip() != self.draft[self.current].condition:
            self.update_rule(replace(self.draft[self.current], condition=message.text.strip()))

    def update_rule(self, rule: layers.LayerRule) -> None:
        if rule == self.draft[self.current]:
            return
        self.draft[self.current] = rule
        table = self.query_one("#rules", DataTable)
        row = str(self.current)
        zh = self.labels.lang == "zh"
        table.update_cell(row, "key", Text(visible(rule.key)))
        table.update_cell(row, "name", Text(visible(rule.name_zh if zh else rule.name_en)))
        table.update_cell(row, "rank", Text(rank_text(rule.lifecycle), justify="right"))
        table.update_cell(row, "condition", Text(visible(rule.condition)))
        self.changed()
