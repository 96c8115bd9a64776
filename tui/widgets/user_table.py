"""The users table: the built-in DataTable holding one window of rows (a few hundred).

It never queries: the screen hands it rows (attributes down) and it asks for more when the
cursor runs off either edge of the window (``UserTable.NeedMore``, messages up).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input

from core.views.text import visible
from core.views.users import LIST_COLUMNS, UserRow
from tui.i18n import Labels

NUMERIC = {"r_score", "f_score", "m_score", "monetary"}


def _cell(column: str, row: UserRow, labels: Labels) -> Text:
    """One cell as a plain Text: database values are never parsed as markup."""
    if column not in LIST_COLUMNS:  # an imported attribute
        value = dict(row.extra).get(column)
        return Text("" if value is None else visible(str(value)))
    value = getattr(row, column)
    if column == "layer":
        return Text(labels.layer(value))
    if column == "rfm_group":
        return Text(labels.group(value))
    if column == "monetary":
        return Text("" if value is None else f"{value:,.2f}", justify="right")
    if column == "last_order_at":
        return Text(visible((value or "")[:10]))
    if value is None:
        return Text("")
    return Text(visible(str(value)), justify="right" if column in NUMERIC else "left")


class UserTable(DataTable):
    """Rows of users keyed by user_id; edges of the window post NeedMore."""

    BINDINGS = [
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            show=False,
            id="users.page_down",
            tooltip="Next screenful; at the bottom, the next page of users",
        ),
        Binding(
            "pageup",
            "page_up",
            "Page up",
            show=False,
            id="users.page_up",
            tooltip="Previous screenful; at the top, the previous page of users",
        ),
    ]

    @dataclass
    class NeedMore(Message):
        """The cursor left the window: 'next' or 'previous' page."""

        direction: str

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.has_previous = False
        self.has_more = False
        self._header: tuple[Labels, str, bool] | None = None
        self.marks: dict[str, str] = {}  # user_id -> "target" / "control" of the current campaign
        self.mark_column = False  # shown while there is a current campaign
        # the data's own columns (core.views.users.Overview): built-ins nobody has are left
        # out, imported attributes (UCI's country) shown before the tags
        self.hidden: frozenset[str] = frozenset()
        self.extra: tuple[str, ...] = ()
        # Type-ahead: keys typed or pasted in one burst with `f` or `/` reach this table before
        # the screen has opened its text box; they are kept for the box, not taken as commands.
        self._typeahead = False
        self._typed: list[str] = []

    TYPEAHEAD_OPENERS = ("f", "slash")

    async def _on_key(self, event) -> None:
        if event.key in self.TYPEAHEAD_OPENERS and not self._typeahead:
            self._typeahead = True  # the binding still runs: the event goes on bubbling
        elif self._typeahead and event.is_printable:
            event.stop()
            event.prevent_default()
            target = self.screen.focused
            if isinstance(target, Input):  # the box is open already: straight into it
                target.insert_text_at_cursor(event.character or "")
            else:
                self._typed.append(event.character or "")
            return
        await super()._on_key(event)

    def take_typeahead(self) -> str:
        """What was typed after `f` or `/` before the box had focus (then forgets it)."""
        text, self._typed = "".join(self._typed), []
        return text

    def _on_focus(self, event) -> None:
        self._typeahead = False  # back on the table: keys are commands again
        self._typed = []
        super()._on_focus(event)

    def set_columns(self, labels: Labels, order: str, descending: bool) -> None:
        """Remember the header; it is built with the rows (the sorted column carries ▲ or ▼)."""
        self._header = (labels, order, descending)
        self.show_rows([], labels)

    def _labels(self) -> list[Text]:
        assert self._header is not None  # set_columns ran first
        labels, order, descending = self._header
        heads = []
        for column in self.columns_shown():
            label = labels(column) if column == "tags" else labels.column(column)
            if column == order:
                label += " ▼" if descending else " ▲"
            heads.append(Text(label))
        return heads

    def show_rows(
        self, rows: list[UserRow], labels: Labels, *, cursor_at_end: bool = False
    ) -> None:
        """Replace the window. Column widths are measured here, before anything is drawn:
        DataTable's own lazy measuring can leave cells cut at a width drawn too early."""
        shown = self.columns_shown()[:-1]  # the tags come last
        cells = [
            [*(_cell(c, row, labels) for c in shown), Text(visible(" ".join(row.tags)))]
            for row in rows
        ]
        heads = self._labels()
        self.clear(columns=True)
        if self.mark_column:
            self.add_column(Text("✓"), key="mark", width=1)
        for i, (head, column) in enumerate(zip(heads, self.columns_shown(), strict=True)):
            width = max([head.cell_len, *(r[i].cell_len for r in cells)])
            self.add_column(head, key=column, width=width)
        for row, values in zip(rows, cells, strict=True):
            marked = [self._mark(row.user_id)] if self.mark_column else []
            self.add_row(*marked, *values, key=row.user_id)
        if rows:
            self.move_cursor(row=len(rows) - 1 if cursor_at_end else 0, animate=False)

    def columns_shown(self) -> tuple[str, ...]:
        return (*(c for c in LIST_COLUMNS if c not in self.hidden), *self.extra, "tags")

    def _mark(self, user_id: str) -> Text:
        role = self.marks.get(user_id)
        return Text({"target": "●", "control": "○"}.get(role or "", ""))

    def show_marks(self, marks: dict[str, str]) -> None:
        """Redraw the mark column for the rows shown (marks are keyed by user id)."""
        self.marks = marks
        if "mark" not in self.columns:
            return
        for key in self.rows:
            self.update_cell(key, "mark", self._mark(str(key.value)))  # keys are user ids

    def shown_user_ids(self) -> list[str]:
        return [str(key.value) for key in self.rows]

    def highlighted_user(self) -> str | None:
        if not self.row_count:
            return None
        key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return key.value

    def _at_bottom(self) -> bool:
        return self.row_count > 0 and self.cursor_row >= self.row_count - 1

    def action_cursor_down(self) -> None:
        if self._at_bottom() and self.has_more:
            self.post_message(self.NeedMore("next"))
        else:
            super().action_cursor_down()

    def action_page_down(self) -> None:
        if self._at_bottom() and self.has_more:
            self.post_message(self.NeedMore("next"))
        else:
            super().action_page_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row == 0 and self.has_previous:
            self.post_message(self.NeedMore("previous"))
        else:
            super().action_cursor_up()

    def action_page_up(self) -> None:
        if self.cursor_row == 0 and self.has_previous:
            self.post_message(self.NeedMore("previous"))
        else:
            super().action_page_up()
