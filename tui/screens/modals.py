"""Modal screens: help built from the real bindings, and the too-small-terminal notice."""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown, Static

from tui.i18n import binding_description

if TYPE_CHECKING:
    from tui.app import UserOpsApp

KEY_LABELS = {
    "slash": "/",
    "question_mark": "?",
    "escape": "Esc",
    "enter": "Enter",
    "tab": "Tab",
    "up": "Up",
    "down": "Down",
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}


def key_label(key: str) -> str:
    """A key as help.md and the help table write it: ``slash`` → ``/``, ``ctrl+s`` as is."""
    return KEY_LABELS.get(key, key)


def bindings_markdown(screen: Screen, labels) -> str:
    """A table of the keys active on ``screen`` right now, from the bindings themselves."""
    ours: list[str] = []
    inherited: list[str] = []
    seen = set()
    for key, active in screen.active_bindings.items():
        b = active.binding
        if not b.description or (b.id or b.action) in seen:
            continue
        seen.add(b.id or b.action)
        words = binding_description(b.id, b.description, labels.lang)  # modals too
        tip = labels.text(b.tooltip or "").replace("|", "\\|")
        row = f"| `{key_label(key)}` | {words} | {tip} |"
        (ours if b.id else inherited).append(row)  # userops' own keys first, then Textual's
    head = f"| {labels('key')} | {labels('key_action')} | {labels('key_what')} |"
    return "\n".join([head, "| --- | --- | --- |", *ours, *inherited])


class HelpModal(ModalScreen[None]):
    """``?``: the focused screen's keys and its HELP text, then tui/help.md."""

    DEFAULT_CSS = """
    HelpModal { align: center middle; }
    HelpModal > VerticalScroll {
        width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="help.close", tooltip="Close the help"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        labels = cast("UserOpsApp", screen.app).labels
        zh = labels.lang == "zh"
        guide = files("tui").joinpath("help.zh.md" if zh else "help.md").read_text(encoding="utf-8")
        own = (
            (getattr(screen, "HELP_ZH", None) if zh else None)
            or getattr(screen, "HELP", None)
            or ""
        )
        keys = bindings_markdown(screen, labels)
        self.text = f"{own}\n\n### {labels('keys_here')}\n\n{keys}\n\n{guide}"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(self.text)


class TooSmall(ModalScreen[None]):
    """Shown instead of a broken layout while the terminal is below the minimum size."""

    DEFAULT_CSS = """
    TooSmall { align: center middle; background: $background; }
    TooSmall > Static {
        width: auto; max-width: 100%; height: auto; padding: 1 2; border: round $warning;
    }
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        yield Static(self.message, markup=False)
