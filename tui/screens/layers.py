"""The layers screen: the pyramid, the MECE report (overlaps and the gap) and the transitions
between an earlier date and the as-of date as a from × to matrix.

Every query runs in a thread worker on its own read-only connection and posts a message back;
Enter on an overlap, the catch-all or the gap opens the users list filtered to exactly those
users. **e** edits the rules: a draft (add, edit, reorder, delete) previewed live — pyramid,
overlaps, catch-all and gap — and saved in one transaction (``layers.write``), after which the
layers and tags are re-applied in the same worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from core.errors import CoreError
from core.query import Compiled
from core.rules import layers, tags
from core.views.text import visible
from tui.messages import DataWritten, OpenUsers
from tui.screens import WorkingScreen, reader
from tui.widgets.footer import KeysFooter
from tui.widgets.layer_editor import LayerEditor
from tui.widgets.live_condition import Debounce
from tui.widgets.pyramid import Pyramid, Tier
from tui.widgets.rfm_parts import ConfirmSave
from tui.widgets.status_line import StatusLine
from tui.widgets.writes import writer

GAP_ROW = "gap"
CATCH_ALL_ROW = "catch_all"
EDITING_ONLY = ("add_rule", "delete_rule", "move_up", "move_down", "save")
SINCE_DAYS = 30
NARROW = 110  # below this many columns the pyramid and the MECE table stack


@dataclass
class ReportLoaded(Message):
    report: layers.MeceReport
    rules: list[layers.LayerRule]


@dataclass
class TransitionsLoaded(Message):
    transitions: layers.Transitions


@dataclass
class DraftPreviewed(Message):
    token: int
    report: layers.MeceReport | None
    draft: list[layers.LayerRule]
    error: str = ""  # why the draft cannot be saved (a rule set_rule would refuse)


@dataclass
class RulesSaved(Message):
    rules: int
    error: str = ""  # refused: nothing was saved


def mece_problems(report: layers.MeceReport, name, lab) -> str:
    """Which problem the rules have, in words: the overlap, the users only in the catch-all,
    the gap (or that they are MECE)."""
    if report.is_mece:
        return lab("is_mece")
    problems = []
    if report.overlaps:
        first = report.overlaps[0]
        text = lab("overlap_of").format(a=name(first.a), b=name(first.b))
        if len(report.overlaps) > 1:
            text += lab("more_overlaps").format(n=len(report.overlaps) - 1)
        problems.append(text)
    if report.catch_all is not None and report.catch_all.count:
        problems.append(
            lab("only_catch_all").format(n=report.catch_all.count, rule=name(report.catch_all.rule))
        )
    if report.gap:
        problems.append(lab("gap_of").format(n=report.gap))
    return lab("problems_sep").join(problems)


@dataclass
class MovedListed(Message):
    """The users of one transitions cell (core.rules.layers.transition_users)."""

    title: str
    condition: Compiled
    users: int


def overlap_condition(rules: list[layers.LayerRule], a: str, b: str) -> str:
    """The users matching both rules on their own, in the condition language."""
    by_key = {r.key: r.condition for r in rules}
    return f"({by_key[a]}) and ({by_key[b]})"


class LayersScreen(WorkingScreen):
    CSS_PATH = "layers.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # .tcss styles -narrow
    CANCELLABLE = ("layers.report", "layers.transitions", "layers.moved")
    HELP = """
## Layers
The pyramid counts every user in the first layer whose rule matches (rule order), then the
unclassified; it is drawn in lifecycle order (each rule's rank: new at the base, loyal at the
top, the sliding-down states dormant and churned beside, marked ↘). The MECE report lists pairs
of rules that match the same users on their own (the earlier rule wins them), the users who
match no rule except a catch-all (a rule every user matches) and the gap (users no rule
matches). **Enter** on a row lists those users. Type an earlier date and press **Enter** to see
how users moved between layers.

**e** edits the rules: **a** adds one, **ctrl+t** deletes the highlighted one, **ctrl+↑/↓** moves
it earlier or later (the priority), **Enter** edits its condition; the pyramid, overlaps and gap
show what the draft would give before anything is saved. **ctrl+s** saves the draft (after a
confirmation) and re-applies the layers and tags; **Escape** drops the draft.
"""
    HELP_ZH = """
## 分层
金字塔把每个用户计入第一个匹配的规则所在的分层（按规则顺序），其余为未分类。MECE 检查列出各自
匹配到相同用户的规则对（由靠前的规则得到这些用户）和遗漏（不符合任何规则的用户）。在一行上按
**Enter** 列出这些用户。输入起始日期并按 **Enter** 查看用户在分层之间的迁移。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding("escape", "back", "Back", id="layers.back", tooltip="Back to the users list"),
        Binding(
            "d",
            "since",
            "Since date",
            id="layers.since",
            tooltip="Choose the earlier date of the transitions matrix",
        ),
        Binding("ctrl+r", "reload", "Reload", id="layers.reload", tooltip="Count the layers again"),
        Binding(
            "e", "edit", "Edit rules", id="layers.edit", tooltip="Edit the layer rules (preview)"
        ),
        Binding("a", "add_rule", "Add", id="layers.add", tooltip="Add a layer rule to the draft"),
        Binding(
            "ctrl+t,delete", "delete_rule", "Delete", id="layers.delete", tooltip="Delete the rule"
        ),
        Binding("ctrl+up", "move_up", "Up", id="layers.up", tooltip="Evaluate the rule earlier"),
        Binding(
            "ctrl+down", "move_down", "Down", id="layers.down", tooltip="Evaluate the rule later"
        ),
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="layers.save",
            tooltip="Save the draft rules and re-apply the layers and tags",
        ),
    ]

    IGNORES = frozenset({"marks"})  # campaign marks change no layer: no recount after each

    PALETTE = (
        ("layers: Edit the rules", "Add, edit, reorder or delete rules with a preview", "edit"),
        ("layers: Transitions since a date", "Type the earlier date of the matrix", "since"),
        ("layers: Reload", "Count the layers, overlaps and gap again", "reload"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.report: layers.MeceReport | None = None
        self.rules: list[layers.LayerRule] = []
        self.since: date | None = None  # the earlier date of the matrix (default: 30 days back)
        self.saved: tuple[layers.MeceReport, list[layers.LayerRule]] | None = None  # while editing
        self.draft_error = ""  # why the draft being edited cannot be saved
        self.previews = Debounce(self)  # the latest draft wins; the preview waits for a pause

    def app_as_of(self) -> date:
        return self.app.settings.as_of

    def compose(self) -> ComposeResult:
        lab = self.app.labels
        self.since = self.since or self.app_as_of() - timedelta(days=SINCE_DAYS)
        with VerticalScroll(id="body"):
            editor = LayerEditor(lab, id="editor")
            editor.border_title = lab("rules_editor")
            yield editor
            with Horizontal(id="top"):
                pyramid = Pyramid(id="pyramid")
                pyramid.border_title = lab("pyramid")
                yield pyramid
                mece: DataTable[object] = DataTable(
                    id="mece", cursor_type="row", zebra_stripes=True
                )
                mece.border_title = lab("mece")
                yield mece
            with Horizontal(id="since-bar"):
                yield Static(lab("transitions_since"), id="since-label", markup=False)
                yield Input(str(self.since), id="since", max_length=10)
                yield Static("", id="moved", markup=False)
            matrix: DataTable[object] = DataTable(
                id="matrix", cursor_type="cell", zebra_stripes=True
            )
            matrix.border_title = lab("transitions")
            yield matrix
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#mece", DataTable).focus()
        self.refresh_status()
        self.action_reload()

    def refresh_data(self) -> None:  # ctrl+r, and after any write (WorkingScreen)
        if self.editing:  # the draft's preview stays; saving reloads
            return
        self.load_report()
        self.load_transitions(self.since)

    # ---------------------------------------------------------------- workers (threads)

    @work(thread=True, exclusive=True, group="layers.report", exit_on_error=False)
    def load_report(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            report = layers.mece_report(conn, self.app.settings.as_of)
            rules = layers.list_rules(conn)
        self.post_message(ReportLoaded(report, rules))

    @work(thread=True, exclusive=True, group="layers.preview", exit_on_error=False)
    def run_preview(self, token: int, draft: list[layers.LayerRule]) -> None:
        with reader(self.app.settings.db_path) as conn:
            try:
                report = layers.mece_report(conn, self.app.settings.as_of, draft)
            except CoreError as exc:  # a QueryError too: the rule it names, where and why
                found = DraftPreviewed(token, None, draft, self.app.labels.message(str(exc)))
            else:
                found = DraftPreviewed(token, report, draft)
        if not get_current_worker().is_cancelled:
            self.post_message(found)

    @work(thread=True, exclusive=True, group="layers.write", exit_on_error=False)
    def save_rules(self, draft: list[layers.LayerRule]) -> None:
        with writer(self.app.settings.db_path) as conn:
            try:
                layers.replace_rules(conn, draft, as_of=self.app.settings.as_of)
            except CoreError as exc:
                self.post_message(RulesSaved(0, self.app.labels.message(str(exc))))
                return
            tags.reapply_rules(conn)  # the layers, then the tags that read them
        self.post_message(RulesSaved(len(draft)))

    @work(thread=True, exclusive=True, group="layers.transitions", exit_on_error=False)
    def load_transitions(self, since: date) -> None:
        with reader(self.app.settings.db_path) as conn:
            moved = layers.transitions(conn, since, self.app.settings.as_of)
        self.post_message(TransitionsLoaded(moved))

    # ---------------------------------------------------------------- results (UI thread)

    def layer_name(self, key: str) -> str:
        lab = self.app.labels
        for rule in self.rules:
            if rule.key == key:
                return visible(rule.name_zh if lab.lang == "zh" else rule.name_en)
        if key == layers.NONE:
            return lab("not_there")
        return lab.layer(key)

    @on(ReportLoaded)
    def _report(self, message: ReportLoaded) -> None:
        if self.editing:
            self.saved = (message.report, message.rules)  # shown again when editing ends
            return
        self.show_report(message.report, message.rules)

    def show_report(self, report: layers.MeceReport, rules: list[layers.LayerRule]) -> None:
        self.report, self.rules = report, rules
        lab = self.app.labels
        ranks = {r.key: r.lifecycle for r in rules}
        self.query_one(Pyramid).tiers = tuple(
            Tier(self.layer_name(t.key), t.count, t.share, ranks.get(t.key)) for t in report.pyramid
        )
        table = self.query_one("#mece", DataTable)
        table.clear(columns=True)
        table.add_columns(lab("mece_what"), lab("count"))
        for o in report.overlaps:
            what = f"{self.layer_name(o.a)} & {self.layer_name(o.b)}"
            table.add_row(Text(what), Text(f"{o.count:,}", justify="right"), key=f"{o.a}|{o.b}")
        if report.catch_all is not None:
            what = lab("catch_all_row").format(rule=self.layer_name(report.catch_all.rule))
            n = Text(f"{report.catch_all.count:,}", justify="right")
            table.add_row(Text(what), n, key=CATCH_ALL_ROW)
        gap = Text(f"{report.gap:,}", justify="right")
        table.add_row(Text(lab("gap")), gap, key=GAP_ROW)
        self.refresh_status()

    @on(TransitionsLoaded)
    def _transitions(self, message: TransitionsLoaded) -> None:
        t, lab = message.transitions, self.app.labels
        table = self.query_one("#matrix", DataTable)
        table.clear(columns=True)
        table.add_column(f"{t.from_as_of} → {t.to_as_of}", key="from")
        for key in t.layers:
            table.add_column(self.layer_name(key), key=key)
        table.add_column(lab("total"), key="total")
        for before in t.layers:
            cells = [Text(self.layer_name(before), style="bold")]
            for after in t.layers:
                n = t.count(before, after)
                style = "bold" if before == after else ("" if n else "dim")
                cells.append(Text(f"{n:,}", justify="right", style=style))
            total = sum(t.count(before, after) for after in t.layers)
            cells.append(Text(f"{total:,}", justify="right"))
            table.add_row(*cells, key=before)
        self.query_one("#moved", Static).update(f"{lab('moved')}: {t.moved:,}")

    def refresh_status(self) -> None:
        lab, settings = self.app.labels, self.app.settings
        parts = [lab("layers_title")]
        if self.editing:
            parts.append(lab("rules_preview"))
        # the finding first: at 80 columns the end of the line is cut
        if self.editing and self.draft_error:
            parts.append(self.draft_error)
        elif self.report is not None:
            parts.append(mece_problems(self.report, self.layer_name, lab))
            parts.append(f"{self.report.total:,} {lab('users')}")
        parts += [Path(settings.db_path).name, self.app.as_of_label()]
        self.query_one(StatusLine).text = " · ".join(parts)

    # ---------------------------------------------------------------- keys

    @on(DataTable.RowSelected, "#mece")
    def _list_users(self, message: DataTable.RowSelected) -> None:
        key = message.row_key.value
        if key == GAP_ROW:
            title = self.app.labels("gap")
            self.post_message(OpenUsers(f'layer = "{layers.UNCLASSIFIED}"', title))
        elif key == CATCH_ALL_ROW and self.report is not None:
            condition = layers.only_catch_all_condition(self.rules, self.report)
            catch_all = self.report.catch_all
            if condition and catch_all is not None:
                rule = self.layer_name(catch_all.rule)
                title = self.app.labels("catch_all_row").format(rule=rule)
                self.post_message(OpenUsers(condition, title))
        elif key:
            a, b = key.split("|")
            title = f"{self.layer_name(a)} ∩ {self.layer_name(b)}"
            self.post_message(OpenUsers(overlap_condition(self.rules, a, b), title))

    @on(DataTable.CellSelected, "#matrix")
    def _list_moved(self, message: DataTable.CellSelected) -> None:
        """Enter on a cell: the users who were in the row's layer then and the column's now."""
        before = message.cell_key.row_key.value
        after = message.cell_key.column_key.value
        if before is None or after in (None, "from", "total") or self.since is None:
            return
        title = f"{self.layer_name(before)} → {self.layer_name(after)}"
        self.list_moved(self.since, before, after, title)

    @work(thread=True, exclusive=True, group="layers.moved", exit_on_error=False)
    def list_moved(self, since: date, before: str, after: str, title: str) -> None:
        as_of = self.app.settings.as_of
        with reader(self.app.settings.db_path) as conn:
            moved = layers.transition_condition(conn, since, as_of, before, after)
        n = len(json.loads(str(moved.params["moved_user_ids"])))
        if not get_current_worker().is_cancelled:
            self.post_message(MovedListed(title, moved, n))

    @on(MovedListed)
    def _moved_listed(self, message: MovedListed) -> None:
        if not message.users:
            self.notify(f"{message.title}: {self.app.labels('nobody_moved')}", markup=False)
            return
        moved = message.condition
        self.post_message(OpenUsers(moved.text, message.title, compiled=moved))

    def action_since(self) -> None:
        self.query_one("#since", Input).focus()

    @on(Input.Submitted, "#since")
    def _since(self, message: Input.Submitted) -> None:
        message.stop()
        try:
            since = self.parse_since(message.value)
        except CoreError as exc:
            lab = self.app.labels
            self.notify(
                lab.message(str(exc)), title=lab.text(exc.title), severity="error", markup=False
            )
            return
        self.since = since
        self.query_one("#matrix", DataTable).focus()
        self.load_transitions(since)

    def parse_since(self, text: str) -> date:
        try:
            since = date.fromisoformat(text.strip())
        except ValueError:
            lab = self.app.labels
            raise CoreError(
                lab.words("not_a_date", text=repr(text.strip())), title=lab("bad_date")
            ) from None
        if since >= self.app_as_of():
            lab = self.app.labels
            raise CoreError(
                lab.words("not_before", day=since, as_of=self.app_as_of()), title=lab("bad_date")
            )
        return since

    # ---------------------------------------------------------------- editing the rules

    @property
    def editing(self) -> bool:
        return self.has_class("-editing")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in EDITING_ONLY:
            return self.editing
        return super().check_action(action, parameters)

    def action_edit(self) -> None:
        editor = self.query_one(LayerEditor)
        if self.editing:
            editor.edit_condition()
            return
        if self.report is None:
            return  # not loaded yet
        self.saved = (self.report, self.rules)
        editor.condition.counter.total = self.report.total
        self.add_class("-editing")
        self.refresh_bindings()
        editor.start(self.rules)
        editor.query_one("#rules", DataTable).focus()
        self.query_one(Pyramid).border_title = self.app.labels("pyramid_preview")
        self.refresh_status()

    def stop_editing(self) -> None:
        self.previews.bump()
        self.remove_class("-editing")
        self.refresh_bindings()
        self.draft_error = ""
        self.query_one(LayerEditor).show_error("")
        self.query_one(Pyramid).border_title = self.app.labels("pyramid")
        if self.saved is not None:
            self.show_report(*self.saved)
            self.saved = None
        self.query_one("#mece", DataTable).focus()
        self.refresh_status()

    @on(LayerEditor.DraftChanged)
    def _draft_changed(self, message: LayerEditor.DraftChanged) -> None:
        token = self.previews.bump()
        draft = message.draft
        self.previews.later(lambda: self.run_preview(token, draft))

    @on(DraftPreviewed)
    def _previewed(self, message: DraftPreviewed) -> None:
        if not self.previews.is_current(message.token) or not self.editing:
            return  # the draft changed since: a newer preview is on its way
        self.draft_error = message.error
        editor = self.query_one(LayerEditor)
        shown = message.error
        if editor.draft and editor.condition.error is not None:
            mine = f"layer {editor.draft[editor.current].key!r}:"
            if shown.startswith(mine):
                shown = ""  # the condition field shows it already, under its column
        editor.show_error(shown)
        if message.report is not None:
            self.show_report(message.report, message.draft)
        else:
            self.refresh_status()

    def action_add_rule(self) -> None:
        self.query_one(LayerEditor).add()

    def action_delete_rule(self) -> None:
        self.query_one(LayerEditor).delete()

    def action_move_up(self) -> None:
        self.query_one(LayerEditor).move(-1)

    def action_move_down(self) -> None:
        self.query_one(LayerEditor).move(+1)

    def action_save(self) -> None:
        editor = self.query_one(LayerEditor)
        draft = list(editor.draft)
        if self.draft_error:
            self.notify(self.draft_error, title=self.app.labels("rules_invalid"), markup=False)
            return
        lab = self.app.labels
        question = lab("save_rules").format(n=len(draft))

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.save_rules(draft)

        self.app.push_screen(ConfirmSave(question, lab), confirmed)

    @on(RulesSaved)
    def _saved(self, message: RulesSaved) -> None:
        lab = self.app.labels
        if message.error:
            self.draft_error = message.error
            self.query_one(LayerEditor).show_error(message.error)
            self.notify(message.error, title=lab("rules_invalid"), severity="error", markup=False)
            return
        self.notify(lab("rules_saved").format(n=message.rules), markup=False)
        self.saved = None
        self.stop_editing()
        self.post_message(DataWritten("layers"))  # every open screen reloads, this one too

    def action_back(self) -> None:
        if self.editing:
            self.stop_editing()
            return
        if self.query_one("#since", Input).has_focus:
            self.query_one("#mece", DataTable).focus()
        else:
            self.app.pop_screen()
