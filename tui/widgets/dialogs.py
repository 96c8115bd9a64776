"""Small modal dialogs the segment and campaign screens share: a yes/no question and a form.

Neither touches the database: they return what the operator typed (``dismiss``) and the screen
runs the write in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from core.views.text import visible


class ConfirmModal(ModalScreen[bool]):
    """A question with a confirming button (Enter/y) and Cancel (Esc/n)."""

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > Vertical {
        width: 64; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmModal Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmModal Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Confirm"),
        Binding("n,escape", "answer(False)", "Cancel", id="confirm.no", tooltip="Cancel"),
    ]

    def __init__(self, question: str, yes: str = "OK", no: str = "Cancel") -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(visible(self.question, keep="\n"), markup=False)  # names from the db
            with Horizontal():
                yield Button(self.yes, variant="warning", id="yes")
                yield Button(self.no, id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, ok: bool) -> None:
        self.dismiss(ok)


@dataclass(frozen=True)
class Field:
    """One form field: a text input, a select (``options``) or a checkbox (bool ``default``)."""

    key: str
    label: str
    default: str | bool = ""
    options: tuple[str | tuple[str, str], ...] = ()


class FormModal(ModalScreen[dict | None]):
    """A titled form; Enter in the last input (or the OK button) returns {key: value}, Esc None."""

    DEFAULT_CSS = """
    FormModal { align: center middle; }
    FormModal > Vertical {
        width: 72; height: auto; max-height: 100%; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    FormModal Label { color: $text-muted; }
    FormModal Input, FormModal Select { width: 100%; }
    FormModal Horizontal { height: auto; align-horizontal: right; }
    FormModal Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close the form")]

    def __init__(self, title: str, fields: list[Field], ok: str = "OK", no: str = "Cancel") -> None:
        super().__init__()
        self.title_text, self.fields, self.ok, self.no = title, fields, ok, no

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content(visible(self.title_text))  # not markup: may hold a name
            for f in self.fields:
                if isinstance(f.default, bool):
                    yield Checkbox(f.label, f.default, id=f"f-{f.key}")
                    continue
                yield Label(f.label)
                if f.options:
                    # an option is a value or (label, value): a channel shown as 推送, stored as push
                    choices = [o if isinstance(o, tuple) else (o, o) for o in f.options]
                    yield Select(choices, value=f.default or choices[0][1], id=f"f-{f.key}")
                else:
                    yield Input(str(f.default), id=f"f-{f.key}")
            with Horizontal():
                yield Button(self.ok, variant="primary", id="ok")
                yield Button(self.no, id="cancel")

    def values(self) -> dict:
        out = {}
        for f in self.fields:
            widget = self.query_one(f"#f-{f.key}")
            assert isinstance(widget, Checkbox | Select | Input)  # what compose yields
            out[f.key] = widget.value
        return out

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self.values())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.values() if event.button.id == "ok" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
