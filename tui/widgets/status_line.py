"""The status line: database file, as-of date, when features were computed, users, window."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine {
        height: auto; max-height: 3; background: $panel; color: $text-muted; padding: 0 1;
    }
    """

    text: reactive[str] = reactive("", layout=True)

    def render(self) -> Text:
        # wrapped, not cut: on 80 columns the last item (what is wrong) is the one that matters;
        # a long line takes a second row (up to three). File names are not markup.
        return Text(self.text, overflow="fold")
