"""The filter bar: an Input for a condition, a caret line under a syntax error, completions.

It does no I/O: the screen validates and counts in workers, then sets ``error`` / ``completions``
(attributes down); the widget posts ``QueryInput.Changed`` and ``QueryInput.Accepted`` (messages up).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

MAX_SHOWN = 6


@dataclass(frozen=True)
class Suggestion:
    """One completion the screen offers: replace text[start:cursor] with ``insert``."""

    label: str
    insert: str
    start: int


class QueryInput(Vertical):
    DEFAULT_CSS = """
    QueryInput { height: auto; }
    QueryInput > Input, QueryInput > Input:focus { border: none; height: 1; padding: 0 1; }
    QueryInput > #caret { height: auto; color: $error; padding: 0 1; }
    QueryInput > OptionList { height: auto; max-height: 7; display: none; }
    QueryInput > OptionList.-shown { display: block; }
    """

    BINDINGS = [
        Binding(
            "tab",
            "accept_completion",
            "Complete",
            id="filter.complete",
            tooltip="Insert the highlighted completion",
        ),
        Binding(
            "down",
            "next_completion",
            "Next completion",
            show=False,
            id="filter.next",
            tooltip="Highlight the next completion",
        ),
        Binding(
            "up",
            "previous_completion",
            "Previous completion",
            show=False,
            id="filter.prev",
            tooltip="Highlight the previous completion",
        ),
    ]

    error: reactive[tuple[int, str] | None] = reactive(None)  # (0-based position, message)
    completions: reactive[tuple[Suggestion, ...]] = reactive(())

    @dataclass
    class Changed(Message):
        text: str
        cursor: int

    @dataclass
    class Accepted(Message):
        text: str

    def __init__(self, placeholder: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self._placeholder, id="condition")
        yield Static("", id="caret", markup=False)
        yield OptionList(id="completions")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value, self.input.cursor_position))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Accepted(event.value))

    def watch_error(self, error: tuple[int, str] | None) -> None:
        caret = self.query_one("#caret", Static)
        if error is None:
            caret.update("")
            return
        pos, message = error
        # cells, not characters: 上海 takes four cells, so the caret must count widths
        pad = cell_len(self.input.value[:pos])
        caret.update(Text(" " * pad + "^ " + message, no_wrap=False))

    def watch_completions(self, completions: tuple[Suggestion, ...]) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(
            [Option(Text(s.label), id=str(i)) for i, s in enumerate(completions[:MAX_SHOWN])]
        )
        options.set_class(bool(completions), "-shown")
        if completions:
            options.highlighted = 0

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("accept_completion", "next_completion", "previous_completion"):
            return bool(self.completions)  # otherwise tab / arrows keep their usual meaning
        return True

    def action_next_completion(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_previous_completion(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_accept_completion(self) -> None:
        index = self.query_one(OptionList).highlighted or 0
        self.apply(self.completions[index])

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.apply(self.completions[int(event.option.id or 0)])

    def apply(self, suggestion: Suggestion) -> None:
        """Replace the word being typed with the completion and keep typing after it."""
        field = self.input
        cursor = field.cursor_position
        text = field.value[: suggestion.start] + suggestion.insert + field.value[cursor:]
        self.completions = ()
        field.value = text
        field.cursor_position = suggestion.start + len(suggestion.insert)
        field.focus()
