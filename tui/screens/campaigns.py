"""The campaign screen: campaigns with their counts; the highlighted one's targets (paged),
audit log and effect report; create, add targets with a control group, undo, export, send,
unlock. Enter makes a campaign the current one, which space marks into from the users table.

Reads run in exclusive thread workers, writes in the "write" group, each on its own connection;
the OS user is read here (tui), never in core.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from core.audience import campaigns as cmp
from core.audience import segments
from core.audience.effect import EffectReport, effect_report, projected_power
from core.errors import CoreError
from core.query import compile_condition
from core.views import users
from core.views.text import visible
from tui.messages import DataWritten
from tui.screens import WorkingScreen, reader
from tui.widgets import campaign_parts as parts
from tui.widgets import query_runner
from tui.widgets.campaign_writes import WRITES
from tui.widgets.dialogs import ConfirmModal, Field, FormModal
from tui.widgets.footer import KeysFooter
from tui.widgets.power_text import power_text
from tui.widgets.status_line import StatusLine
from tui.widgets.writes import current_campaign, quoted, who, writer

PAGE_SIZE = 50
TARGET_COLUMNS = ("user_id", "name", "layer", "rfm_group", "city")


@dataclass
class CampaignsLoaded(Message):
    found: list[tuple[cmp.Campaign, int, int]]
    segment_names: list[str]


@dataclass
class DetailLoaded(Message):
    name: str
    page: users.Page
    offset: int
    audit: list[cmp.AuditEntry]


@dataclass
class EffectLoaded(Message):
    name: str
    report: EffectReport | None
    problem: str  # why there is no report (no start date yet …)


@dataclass
class CampaignWritten(Message):
    note: str
    select: str | None  # the campaign to highlight afterwards


class CampaignsScreen(WorkingScreen):
    CSS_PATH = "campaigns.tcss"
    CANCELLABLE = ("campaigns.add", "campaigns.detail", "campaigns.effect")
    HELP = """
## Campaigns
The campaigns with their targets and control group. The highlighted campaign's targets (paged
with **]** and **[**), its audit log and its effect report are in the tabs below. **Enter**
makes it the current campaign: **space** in the users table then marks users into it.
"""
    HELP_ZH = """
## 活动
活动列表及其目标用户与对照组。高亮活动的目标用户（用 **]** 和 **[** 翻页）、操作日志和效果报告
在下方的标签页中。**Enter** 把它设为当前活动：之后在用户列表中按 **space** 把用户标记进该活动。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="campaigns.back", tooltip="Back"),
        Binding("n", "create", "New", id="campaigns.new", tooltip="Create a campaign"),
        Binding(
            "a", "add", "Add", id="campaigns.add", tooltip="Add targets from a segment or condition"
        ),
        Binding(
            "u", "undo", "Undo", id="campaigns.undo", tooltip="Undo the last change of targets"
        ),
        Binding("x", "export", "Export", id="campaigns.export", tooltip="Export targets to CSV"),
        Binding(
            "ctrl+s", "send", "Send", id="campaigns.send", tooltip="Mark as sent: locks the lists"
        ),
        Binding("U", "unlock", "Unlock", id="campaigns.unlock", tooltip="Unlock, with a reason"),
        Binding("w", "window", "Effect", id="campaigns.window", tooltip="Effect report window"),
        Binding(
            "right_square_bracket",
            "page(1)",
            "Next",
            id="campaigns.next",
            show=False,
            tooltip="Next page of targets",
        ),
        Binding(
            "left_square_bracket",
            "page(-1)",
            "Previous",
            id="campaigns.previous",
            show=False,
            tooltip="Previous page of targets",
        ),
    ]
    PALETTE = (
        ("campaign: New", "Create a campaign", "create"),
        ("campaign: Add targets", "Add targets from a segment with a control group", "add"),
        ("campaign: Set current", "Mark users into the highlighted campaign", "set_current"),
        ("campaign: Undo", "Undo the last change of the targets", "undo"),
        ("campaign: Export targets", "Write the targets (never the control) to CSV", "export"),
        ("campaign: Send", "Mark the campaign as sent and lock its lists", "send"),
        ("campaign: Unlock", "Unlock a sent campaign (the reason is logged)", "unlock"),
        ("campaign: Effect report", "Targets against control over a window", "window"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, tuple[cmp.Campaign, int, int]] = {}
        self.segment_names: list[str] = []
        self.selected: str | None = None
        self.window = 30
        self.page_starts: list[str | None] = [None]  # keyset starts of the pages seen
        self.page: users.Page | None = None
        self.select_after: str | None = None

    def compose(self) -> ComposeResult:
        lab = self.app.labels
        table: DataTable[object] = DataTable(id="campaigns", cursor_type="row", zebra_stripes=True)
        table.border_title = lab("campaigns_title")
        yield table
        yield Static("", id="report", markup=False)
        with TabbedContent(id="tabs"):
            with TabPane(lab("targets"), id="tab-targets"):
                yield DataTable(id="targets", zebra_stripes=True, cursor_type="row")
            with TabPane(lab("audit"), id="tab-audit"):
                yield DataTable(id="audit", zebra_stripes=True, cursor_type="row")
            with TabPane(lab("effect"), id="tab-effect"):
                yield Static("", id="effect")
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#campaigns").focus()
        self.refresh_status()
        self.load_campaigns()

    def refresh_data(self) -> None:
        self.load_campaigns()

    # ---------------------------------------------------------------- reads (threads)

    @work(thread=True, exclusive=True, group="campaigns.load", exit_on_error=False)
    def load_campaigns(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            found = cmp.list_campaigns(conn)
            names = [seg.name for seg, _ in segments.list_segments(conn, self.app.settings.as_of)]
        self.post_message(CampaignsLoaded(found, names))

    @work(thread=True, exclusive=True, group="campaigns.detail", exit_on_error=False)
    def load_detail(self, name: str, after: str | None, offset: int) -> None:
        with reader(self.app.settings.db_path) as conn:
            text = f"target of campaign {quoted(name)}"
            compiled = compile_condition(conn, text, as_of=self.app.settings.as_of)
            key = None if after is None else (after, after)  # keyset on (user_id, user_id)
            page = users.page(conn, condition=compiled, after=key, limit=PAGE_SIZE)
            log = cmp.audit(conn, name, limit=200)
        if not get_current_worker().is_cancelled:
            self.post_message(DetailLoaded(name, page, offset, log))

    @work(thread=True, exclusive=True, group="campaigns.effect", exit_on_error=False)
    def load_effect(self, name: str, window: int) -> None:
        with reader(self.app.settings.db_path) as conn:
            try:
                found = effect_report(conn, name, window_days=window, as_of=self.app.settings.as_of)
            except CoreError as exc:  # e.g. no start date yet: say so in the panel
                self.post_message(EffectLoaded(name, None, str(exc)))
                return
        if not get_current_worker().is_cancelled:
            self.post_message(EffectLoaded(name, found, ""))

    # ---------------------------------------------------------------- writes (threads)

    @work(thread=True, group="write", exit_on_error=False)
    def write(self, what: str, name: str, values: dict) -> None:
        settings = self.app.settings
        with writer(settings.db_path) as conn:
            note = WRITES[what](conn, name, values, settings.as_of, who(), self.app.labels)
        self.post_message(CampaignWritten(note, values.get("name", name)))

    @work(thread=True, group="campaigns.add", exit_on_error=False)
    def add_targets(self, name: str, values: dict) -> None:
        """Adding a segment can take long on many users: cancellable (the transaction rolls back)."""
        settings = self.app.settings
        with writer(settings.db_path) as conn, query_runner.RUNNING.track(conn):
            note = WRITES["add"](conn, name, values, settings.as_of, who(), self.app.labels)
            note += "\n" + power_text(projected_power(conn, name), self.app.labels)
        self.post_message(CampaignWritten(note, values.get("name", name)))

    @on(CampaignWritten)
    def _written(self, message: CampaignWritten) -> None:
        self.query_one("#report", Static).update(visible(message.note, keep="\n"))
        self.select_after = message.select
        self.post_message(DataWritten("campaigns"))  # every open screen reloads, this one too

    # ---------------------------------------------------------------- results (UI thread)

    @on(CampaignsLoaded)
    def _loaded(self, message: CampaignsLoaded) -> None:
        self.found = {c.name: (c, t, n) for c, t, n in message.found}
        self.segment_names = message.segment_names
        table, lab = self.query_one("#campaigns", DataTable), self.app.labels
        keep = self.select_after or self.selected
        table.clear(columns=True)
        # the start date beside the status, as `campaign list` has it: at 80 columns the last
        # column is cut, and the date is what tells a day's strategy runs apart
        for key in ("campaign", "channel", "status", "start", "targets", "control"):
            head = self.app.labels(key)
            table.add_column(head[:1].upper() + head[1:], key=key)
        for c, targets, control in message.found:
            star = "▶ " if c.name == current_campaign(self.app) else "  "
            table.add_row(
                Text(star + visible(c.name)), Text(lab.channel(c.channel)), Text(lab.status(c.status)),
                Text(str(c.start_date or "")),
                Text(f"{targets:,}", justify="right"), Text(f"{control:,}", justify="right"),
                key=c.name,
            )  # fmt: skip
        table.border_subtitle = "" if message.found else self.app.labels("no_campaigns")
        names = list(self.found)
        if keep in self.found:
            table.move_cursor(row=names.index(keep), animate=False)
        self.select_after = None
        self.show_campaign(self.highlighted(), force=True)

    def highlighted(self) -> str | None:
        table = self.query_one("#campaigns", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowHighlighted, "#campaigns")
    def _highlight(self, message: DataTable.RowHighlighted) -> None:
        self.show_campaign(message.row_key.value)

    def show_campaign(self, name: str | None, *, force: bool = False) -> None:
        if name is None or (name == self.selected and not force):
            return
        self.selected = name
        self.page_starts = [None]
        self.load_detail(name, None, 0)
        self.load_effect(name, self.window)
        self.refresh_status()

    @on(DetailLoaded)
    def _detail(self, message: DetailLoaded) -> None:
        if message.name != self.selected:
            return
        self.page = message.page
        lab, table = self.app.labels, self.query_one("#targets", DataTable)
        table.clear(columns=True)
        for column in TARGET_COLUMNS:
            table.add_column(lab(column), key=column)
        for row in message.page.rows:
            cells = (
                row.user_id,
                row.name,
                lab.layer(row.layer),
                lab.group(row.rfm_group),
                row.city,
            )
            table.add_row(*(Text(visible(v or "")) for v in cells), key=row.user_id)
        shown = len(message.page.rows)
        total = self.found[message.name][1] if message.name in self.found else shown
        first = message.offset + 1 if shown else 0
        table.border_title = f"{first:,}–{message.offset + shown:,} {lab('of')} {total:,}"
        self._fill_audit(message.audit)

    def _fill_audit(self, entries: list[cmp.AuditEntry]) -> None:
        table = self.query_one("#audit", DataTable)
        table.clear(columns=True)
        for column in ("when", "who", "audit_action", "count", "detail"):
            table.add_column(self.app.labels(column), key=column)
        for e in reversed(entries):  # newest first
            n = Text(f"{e.n_users:,}", justify="right")
            table.add_row(
                Text(e.at), Text(visible(e.who)), Text(self.app.labels.audit_action(e.action)), n,
                Text(visible(e.detail)),
                key=str(e.id),
            )  # fmt: skip

    @on(EffectLoaded)
    def _effect(self, message: EffectLoaded) -> None:
        if message.name != self.selected:
            return
        panel = self.query_one("#effect", Static)
        if message.report is None:
            panel.update(Text(visible(self.app.labels.message(message.problem))))
        else:
            panel.update(parts.effect_view(message.report, self.app.labels))

    def action_page(self, step: int) -> None:
        page, name = self.page, self.selected
        if name is None or page is None:
            return
        if step > 0 and page.has_more and page.rows:
            self.page_starts.append(page.rows[-1].user_id)
        elif step < 0 and len(self.page_starts) > 1:
            self.page_starts.pop()
        else:
            return
        self.load_detail(name, self.page_starts[-1], (len(self.page_starts) - 1) * PAGE_SIZE)

    # ---------------------------------------------------------------- actions

    @on(DataTable.RowSelected, "#campaigns")
    def _selected(self, message: DataTable.RowSelected) -> None:
        self.action_set_current()

    def action_set_current(self) -> None:
        name = self.highlighted()
        if name is not None:
            self.app.current_campaign = name
            self.notify(self.app.labels.words("current_set", name=name), markup=False)
            self.load_campaigns()

    def ask(self, title: str, fields: list[Field], what: str, ok: str = "ok", checks=None) -> None:
        """A form, then the write ``what`` with its values (on the highlighted campaign);
        ``checks`` keep the form open on a bad value (FormModal)."""
        name = self.highlighted() or ""

        def done(values: dict | None) -> None:
            if values is None:
                return
            if what == "add":
                self.add_targets(name, values)
            else:
                self.write(what, name, values)

        lab = self.app.labels
        form = FormModal(lab.text(title), fields, lab(ok), lab("cancel"), checks)
        self.app.push_screen(form, done)

    def action_create(self) -> None:
        fields = parts.create_fields(self.app.settings.as_of, self.app.labels)
        self.ask("campaign: New", fields, "create", "create", parts.create_checks())

    def action_add(self) -> None:
        if self.highlighted():
            fields = parts.add_fields(self.segment_names, self.app.labels)
            self.ask("campaign: Add targets", fields, "add", "add", parts.add_checks())

    def action_export(self) -> None:
        name = self.highlighted()
        if name:
            fields = parts.export_fields(name, self.app.labels)
            self.ask("campaign: Export targets", fields, "export", "export")

    def action_unlock(self) -> None:
        if self.highlighted():
            fields = [Field("reason", self.app.labels("f_reason"))]
            self.ask("campaign: Unlock", fields, "unlock", "unlock")

    def action_undo(self) -> None:
        if self.highlighted():
            self.write("undo", self.highlighted(), {})

    def action_send(self) -> None:
        name = self.highlighted()
        if name is None:
            return
        lab = self.app.labels
        question = lab.words("send_question", name=name)

        def done(ok: bool | None) -> None:
            if ok:
                self.write("send", name, {})

        self.app.push_screen(ConfirmModal(question, lab("send"), lab("cancel")), done)

    def action_window(self) -> None:
        def done(values: dict | None) -> None:
            if values is None:
                return
            try:
                self.window = parts.whole_number(values["days"], lab("window"), empty=30)
            except CoreError as exc:
                self.notify(lab.message(str(exc)), severity="error", markup=False)
                return
            self.query_one(TabbedContent).active = "tab-effect"
            if self.selected:
                self.load_effect(self.selected, self.window)

        lab = self.app.labels
        fields = [Field("days", lab("f_window"), str(self.window))]
        checks = {"days": lambda v: parts.whole_number(v, lab("f_window"), empty=30)}
        title = lab.text("campaign: Effect report")
        self.app.push_screen(FormModal(title, fields, lab("ok"), lab("cancel"), checks), done)

    def refresh_status(self) -> None:
        lab, settings = self.app.labels, self.app.settings
        items = [lab("campaigns_title"), Path(settings.db_path).name]
        items.append(self.app.as_of_label())
        current = current_campaign(self.app)
        items.append(f"{lab('current_campaign')}: {current or lab('none')}")
        self.query_one(StatusLine).text = " · ".join(items)
