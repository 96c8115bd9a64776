"""The tags screen: every rule tag by dimension with how many users hold it; Enter lists them;
a predictive tag shows the distribution of the model value its condition reads.

**e** / **a** open the tag form (edit the highlighted tag / a new one): its condition is the
live-condition editor, whose count is the preview of who would hold the tag. **ctrl+s** saves
it in one transaction (``tags.write``: a rename deletes the old name) and re-applies the rules
in the same worker; **ctrl+t** deletes the highlighted tag."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from core.errors import CoreError
from core.rules import applicability, tags
from core.views import users
from core.views.text import visible
from tui.messages import DataWritten, OpenUsers
from tui.screens import WorkingScreen, reader
from tui.widgets.footer import KeysFooter
from tui.widgets.histogram import Histogram
from tui.widgets.rfm_parts import ConfirmSave
from tui.widgets.status_line import StatusLine
from tui.widgets.tables import fill_table
from tui.widgets.tag_editor import TagEditor
from tui.widgets.writes import quoted, writer

NARROW = 110


@dataclass
class TagsLoaded(Message):
    counts: list[tuple[tags.TagRule, int]]
    total: int
    # tags reading what this data does not record (core.rules.applicability): not measured
    unmeasured: frozenset[str] = frozenset()


@dataclass
class DistributionLoaded(Message):
    tag: str
    distribution: tags.ValueDistribution | None


@dataclass
class TagWritten(Message):
    name: str
    deleted: bool = False
    error: str = ""  # refused: nothing was written


class TagsScreen(WorkingScreen):
    CSS_PATH = "tags.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # .tcss styles -narrow
    HELP = """
## Tags
Every tag by dimension (basic, behavioural, result, predictive) with how many users hold it as
of the last recompute. **Enter** lists the users holding the highlighted tag. A predictive tag
shows how its model value (P(alive), CLV, expected purchases) spreads over all users.

**e** edits the highlighted tag, **a** adds one: the form counts who would hold it while you
type the condition. **ctrl+s** saves it (after a confirmation) and re-applies the tags;
**ctrl+t** deletes the highlighted tag; **Escape** closes the form without saving.
"""
    IGNORES = frozenset({"marks"})  # campaign marks change nothing shown here
    HELP_ZH = """
## 标签
按维度（基础、行为、结果、预测）列出每个标签及截至上次计算的持有人数。**Enter** 列出持有高亮
标签的用户。预测标签显示其模型值（P(alive)、CLV、预期购买次数）在全部用户中的分布。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding("escape", "back", "Back", id="tags.back", tooltip="Back (or close the form)"),
        Binding("ctrl+r", "reload", "Reload", id="tags.reload", tooltip="Count the tags again"),
        Binding("e", "edit", "Edit", id="tags.edit", tooltip="Edit the highlighted tag"),
        Binding("a", "add", "Add", id="tags.add", tooltip="Add a tag"),
        Binding("ctrl+t,delete", "delete", "Delete", id="tags.delete", tooltip="Delete the tag"),
        Binding(
            "ctrl+s", "save", "Save", id="tags.save", tooltip="Save the tag and re-apply the tags"
        ),
    ]

    PALETTE = (
        ("tags: Reload", "Count the tags again", "reload"),
        ("tags: Edit the tag", "Edit the highlighted tag with a live count", "edit"),
        ("tags: Add a tag", "A new tag with a live count", "add"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.rules: dict[str, tags.TagRule] = {}
        self.holders: dict[str, int] = {}
        self.total = 0
        self.shown: str | None = None  # the tag whose distribution is wanted

    def compose(self) -> ComposeResult:
        lab = self.app.labels
        with Horizontal(id="main"):
            table: DataTable[object] = DataTable(id="tags", cursor_type="row", zebra_stripes=True)
            table.border_title = lab("tags_title")
            yield table
            with Vertical(id="side") as side:
                side.border_title = lab("distribution")
                yield Static("", id="about", markup=False)
                yield Histogram(self.app.labels("users"), id="histogram")
        editor = TagEditor(lab, id="editor")
        editor.border_title = lab("tag_editor")
        yield editor
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#tags", DataTable).focus()
        self.refresh_status()
        self.action_reload()

    def refresh_data(self) -> None:  # ctrl+r, and after any write (WorkingScreen)
        self.load_tags()

    # ---------------------------------------------------------------- workers (threads)

    @work(thread=True, exclusive=True, group="tags.load", exit_on_error=False)
    def load_tags(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            counts, total = tags.tag_counts(conn), users.count(conn)
            cannot = applicability.report(conn)
        unmeasured = frozenset(n.name for n in cannot if n.kind == "tag")
        self.post_message(TagsLoaded(counts, total, unmeasured))

    @work(thread=True, exclusive=True, group="tags.distribution", exit_on_error=False)
    def load_distribution(self, tag: tags.TagRule) -> None:
        field = tags.model_field(tag)
        found = None
        if field is not None:
            with reader(self.app.settings.db_path) as conn:
                found = tags.value_distribution(conn, field)
        if not get_current_worker().is_cancelled:
            self.post_message(DistributionLoaded(tag.name, found))

    # ---------------------------------------------------------------- results (UI thread)

    @on(TagsLoaded)
    def _loaded(self, message: TagsLoaded) -> None:
        lab = self.app.labels
        self.total = message.total
        self.rules = {rule.name: rule for rule, _ in message.counts}
        self.holders = {rule.name: n for rule, n in message.counts}
        table = self.query_one("#tags", DataTable)
        rows: list[tuple[str, list[Text]]] = []
        previous = None
        for rule, n in message.counts:
            zh, en = tags.DIMENSION_NAMES.get(rule.dimension, (rule.dimension, rule.dimension))
            dim = "" if rule.dimension == previous else (zh if lab.lang == "zh" else en)
            previous = rule.dimension
            share = n / message.total if message.total else 0.0
            shown = Text(f"{share:.1%}", justify="right")
            if rule.name in message.unmeasured:  # a 0 that is not a measurement
                shown = Text(lab("not_measured"), style="dim", justify="right")
            description = lab.tag_description(rule.name, rule.description) or rule.condition
            cells = [
                Text(dim, style="bold"),
                Text(visible(rule.name)),
                Text(f"{n:,}", justify="right"),
                shown,
                Text(visible(description)),
            ]
            rows.append((rule.name, cells))
        keys = ("dimension", "tag", "count", "share", "description")
        fill_table(table, [(key, lab(key)) for key in keys], rows)
        self.refresh_status()
        if table.row_count:
            self.show_tag(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowHighlighted, "#tags")
    def _highlighted(self, message: DataTable.RowHighlighted) -> None:
        self.show_tag(message.row_key.value)

    def show_tag(self, name: str | None) -> None:
        rule = self.rules.get(name or "")
        if rule is None or name == self.shown:
            return
        self.shown = name
        lab = self.app.labels
        extra = "" if rule.dimension == "predictive" else lab("no_distribution")
        self.query_one("#about", Static).update(self._about(rule, extra))
        histogram = self.query_one(Histogram)
        histogram.distribution = None
        histogram.display = rule.dimension == "predictive"
        if rule.dimension == "predictive":
            self.load_distribution(rule)

    @on(DistributionLoaded)
    def _distribution(self, message: DistributionLoaded) -> None:
        if message.tag != self.shown:
            return  # the cursor moved on
        dist = message.distribution
        self.query_one(Histogram).distribution = dist
        if dist is not None and dist.missing:
            extra = f"{dist.missing:,} {self.app.labels('without_value')}"
            self.query_one("#about", Static).update(self._about(self.rules[message.tag], extra))

    def _about(self, rule: tags.TagRule, extra: str) -> str:
        """The highlighted tag above its distribution: its rule, its whole description (the
        table's column cuts a long one at the pane's edge) and ``extra``."""
        lines = [f"{visible(rule.name)}: {visible(rule.condition)}"]
        description = self.app.labels.tag_description(rule.name, rule.description)
        if description and description != rule.condition:
            lines.append(visible(description))
        return "\n".join([*lines, extra] if extra else lines)

    def refresh_status(self) -> None:
        lab, settings = self.app.labels, self.app.settings
        parts = [lab("tags_title"), Path(settings.db_path).name, self.app.as_of_label()]
        if self.rules:
            parts.append(f"{len(self.rules)} {lab('tags')} · {self.total:,} {lab('users')}")
        self.query_one(StatusLine).text = " · ".join(parts)

    @on(DataTable.RowSelected, "#tags")
    def _list_users(self, message: DataTable.RowSelected) -> None:
        if message.row_key.value in self.rules:
            name = str(message.row_key.value)
            self.post_message(OpenUsers(f"tag {quoted(name)}", visible(name)))

    # ---------------------------------------------------------------- the tag form

    @property
    def editing(self) -> bool:
        return self.has_class("-editing")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self.editing
        if action in ("edit", "add", "delete"):
            return not self.editing  # the form's fields take the letters
        return super().check_action(action, parameters)

    def highlighted(self) -> tags.TagRule | None:
        table = self.query_one("#tags", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rules.get(key or "")

    def open_form(self, tag: tags.TagRule | None) -> None:
        self.add_class("-editing")
        self.refresh_bindings()
        holders = self.holders.get(tag.name) if tag else None
        self.query_one(TagEditor).start(tag, holders, self.total)

    def close_form(self) -> None:
        self.remove_class("-editing")
        self.refresh_bindings()
        self.query_one("#tags", DataTable).focus()

    def action_edit(self) -> None:
        tag = self.highlighted()
        if tag is not None:
            self.open_form(tag)

    def action_add(self) -> None:
        self.open_form(None)

    def action_back(self) -> None:
        if self.editing:
            self.close_form()
        else:
            self.app.pop_screen()

    def action_save(self) -> None:
        editor = self.query_one(TagEditor)
        tag, original = editor.tag(), editor.original
        lab = self.app.labels

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.write_tag(original, tag)

        question = lab("save_tag").format(name=visible(tag.name))
        self.app.push_screen(ConfirmSave(question, lab), confirmed)

    def action_delete(self) -> None:
        tag = self.highlighted()
        if tag is None:
            return
        lab = self.app.labels

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.remove_tag(tag.name)

        question = lab("delete_tag").format(name=visible(tag.name))
        self.app.push_screen(ConfirmSave(question, lab), confirmed)

    @work(thread=True, exclusive=True, group="tags.write", exit_on_error=False)
    def write_tag(self, original: str | None, tag: tags.TagRule) -> None:
        with writer(self.app.settings.db_path) as conn:
            try:
                tags.replace_tag(conn, original, tag, as_of=self.app.settings.as_of)
            except CoreError as exc:  # a QueryError too: where in the condition and why
                self.post_message(TagWritten(tag.name, error=self.app.labels.message(str(exc))))
                return
            tags.reapply_rules(conn)  # the holders of every tag, as of the features' date
        self.post_message(TagWritten(tag.name))

    @work(thread=True, exclusive=True, group="tags.write", exit_on_error=False)
    def remove_tag(self, name: str) -> None:
        with writer(self.app.settings.db_path) as conn:
            try:
                tags.delete_tag(conn, name)
            except CoreError as exc:
                self.post_message(
                    TagWritten(name, deleted=True, error=self.app.labels.message(str(exc)))
                )
                return
        self.post_message(TagWritten(name, deleted=True))

    @on(TagWritten)
    def _written(self, message: TagWritten) -> None:
        lab = self.app.labels
        if message.error:
            self.query_one(TagEditor).show_error(message.error)
            self.notify(message.error, title=lab("tag_invalid"), severity="error", markup=False)
            return
        done = lab("tag_deleted" if message.deleted else "tag_saved")
        self.notify(done.format(name=visible(message.name)), markup=False)
        self.shown = None
        if not message.deleted:
            self.close_form()
        self.post_message(DataWritten("tags"))  # every open screen reloads, this one too
