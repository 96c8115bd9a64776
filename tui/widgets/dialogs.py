"""Small modal dialogs the segment and campaign screens share: a yes/no question and a form.

Neither touches the database: they return what the operator typed (``dismiss``) and the screen
runs the write in a worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from core.errors import CoreError
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
    """A titled form; Enter in an input (or the OK button) returns {key: value}, Esc None.

    ``checks`` (field key -> a function of the typed text that raises CoreError) run first: a
    value they refuse keeps the form open, what was typed kept, the error under that field.
    """

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
    FormModal .form-error { color: $error; display: none; }
    FormModal .form-error.-shown { display: block; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close the form")]

    def __init__(
        self,
        title: str,
        fields: list[Field],
        ok: str = "OK",
        no: str = "Cancel",
        checks: Mapping[str, Callable[[str], object]] | None = None,
    ) -> None:
        super().__init__()
        self.title_text, self.fields, self.ok, self.no = title, fields, ok, no
        self.checks = dict(checks or {})

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
                yield Static("", id=f"e-{f.key}", classes="form-error", markup=False)
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

    def refused(self, values: dict) -> dict[str, str]:
        """field key -> why its value is refused (by ``checks``), shown under the field."""
        errors = {}
        for key, check in self.checks.items():
            try:
                check(values[key])
            except CoreError as exc:
                labels = getattr(self.app, "labels", None)  # core's message, in the UI's language
                errors[key] = labels.message(str(exc)) if labels else str(exc)
        return errors

    def submit(self) -> None:
        values = self.values()
        errors = self.refused(values)
        for shown in self.query(".form-error").results(Static):
            key = str(shown.id).removeprefix("e-")
            shown.update(visible(errors.get(key, "")))
            shown.set_class(key in errors, "-shown")
        if not errors:
            self.dismiss(values)
            return
        first = next(f.key for f in self.fields if f.key in errors)
        self.query_one(f"#f-{first}").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
