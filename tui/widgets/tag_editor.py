"""The tag form of the tags screen: name, dimension, description and the condition in the
live-condition editor (positioned errors, completion, and the live count of the users who would
hold the tag: the preview before saving).

The widget does no I/O of its own (the condition field counts in its own workers); the screen
reads :meth:`TagEditor.tag` and saves it. Typed text is shown as text, never markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select, Static

from core.rules import tags
from tui.widgets.live_condition import LiveCondition


class TagEditor(Vertical):
    DEFAULT_CSS = """
    TagEditor { height: auto; border: round $accent 60%; border-title-color: $accent; }
    TagEditor SegmentCount { width: 1fr; }
    TagEditor > Horizontal { height: 1; }
    TagEditor > Horizontal > Static { width: auto; padding: 0 1; color: $text-muted; }
    TagEditor > Horizontal > Input { height: 1; border: none; padding: 0 1; }
    TagEditor #tag-name { width: 22; }
    TagEditor #tag-dimension { width: 18; }
    TagEditor #tag-description { width: 1fr; }
    TagEditor > #tag-error { height: auto; color: $error; padding: 0 1; }
    TagEditor > #tag-now { height: auto; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, labels, **kwargs) -> None:
        super().__init__(**kwargs)
        self.labels = labels
        self.original: str | None = None  # the name of the tag being edited (None: a new one)

    def compose(self) -> ComposeResult:
        lab = self.labels
        zh = lab.lang == "zh"
        dims = [(tags.DIMENSION_NAMES[d][0 if zh else 1], d) for d in tags.DIMENSIONS]
        with Horizontal(id="tag-fields"):
            yield Static(lab("tag_name"), markup=False)
            yield Input(id="tag-name", compact=True, max_length=40)
            yield Static(lab("dimension"), markup=False)
            yield Select(dims, value="basic", id="tag-dimension", allow_blank=False, compact=True)
        with Horizontal(id="tag-about"):
            yield Static(lab("description"), markup=False)
            yield Input(id="tag-description", compact=True)
        yield LiveCondition(
            placeholder=lab("rule_condition"),
            check=tags.validate_tag_condition,
            id="tag-condition",
        )
        yield Static("", id="tag-error", markup=False)
        yield Static("", id="tag-now", markup=False)

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.select_on_focus = False  # typing goes where the cursor is, not over it

    @property
    def condition(self) -> LiveCondition:
        return self.query_one("#tag-condition", LiveCondition)

    def start(self, tag: tags.TagRule | None, holders: int | None, total: int) -> None:
        """Fill the form with ``tag`` (None: an empty form for a new tag)."""
        self.original = tag.name if tag else None
        self.query_one("#tag-name", Input).value = tag.name if tag else ""
        self.query_one("#tag-dimension", Select).value = tag.dimension if tag else "basic"
        self.query_one("#tag-description", Input).value = tag.description if tag else ""
        self.condition.counter.total = total
        self.condition.counter.matching = None  # the count of another tag's condition
        self.condition.set_condition(tag.condition if tag else "")
        self.show_error("")
        now = self.query_one("#tag-now", Static)
        if tag is None:
            now.update(self.labels("tag_new"))
        else:
            now.update(self.labels("tag_now").format(n=holders or 0))
        field = self.query_one("#tag-name" if tag is None else "#condition", Input)
        field.focus()
        field.cursor_position = len(field.value)  # go on typing at the end

    def tag(self) -> tags.TagRule:
        return tags.TagRule(
            self.query_one("#tag-name", Input).value.strip(),
            str(self.query_one("#tag-dimension", Select).value),
            self.condition.input.value.strip(),
            self.query_one("#tag-description", Input).value.strip(),
        )

    def show_error(self, text: str) -> None:
        self.query_one("#tag-error", Static).update(text)
