"""Modal screens: help built from the real bindings, and the too-small-terminal notice."""

from __future__ import annotations

from importlib.resources import files

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown, Static


def _key_name(key: str) -> str:
    return {"slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter"}.get(key, key)


def bindings_markdown(screen: Screen) -> str:
    """A table of the keys active on ``screen`` right now, from the bindings themselves."""
    ours, inherited, seen = [], [], set()
    for key, active in screen.active_bindings.items():
        b = active.binding
        if not b.description or (b.id or b.action) in seen:
            continue
        seen.add(b.id or b.action)
        tip = (b.tooltip or "").replace("|", "\\|")
        row = f"| `{_key_name(key)}` | {b.description} | {tip} |"
        (ours if b.id else inherited).append(row)  # userops' own keys first, then Textual's
    return "\n".join(["| key | action | what it does |", "| --- | --- | --- |", *ours, *inherited])


class HelpModal(ModalScreen[None]):
    """``?``: the focused screen's keys and its HELP text, then tui/help.md."""

    DEFAULT_CSS = """
    HelpModal { align: center middle; }
    HelpModal > VerticalScroll {
        width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help.close", tooltip="Close the help"),
        Binding("q", "dismiss", "Close", show=False, id="help.close_q", tooltip="Close the help"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        guide = files("tui").joinpath("help.md").read_text(encoding="utf-8")
        own = getattr(screen, "HELP", None) or ""
        self.text = f"{own}\n\n### Keys here\n\n{bindings_markdown(screen)}\n\n{guide}"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(self.text)


class TooSmall(ModalScreen[None]):
    """Shown instead of a broken layout while the terminal is below the minimum size."""

    DEFAULT_CSS = """
    TooSmall { align: center middle; background: $background; }
    TooSmall > Static { width: auto; height: auto; padding: 1 2; border: round $warning; }
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        yield Static(self.message, markup=False)
