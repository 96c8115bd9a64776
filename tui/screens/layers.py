"""The layers screen: the pyramid, the MECE report (overlaps and the gap) and the transitions
between an earlier date and the as-of date as a from × to matrix.

Every query runs in a thread worker on its own read-only connection and posts a message back;
Enter on an overlap or on the gap opens the users list filtered to exactly those users.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static

from core.errors import CoreError
from core.rules import layers
from core.views.text import visible
from tui.messages import OpenUsers
from tui.screens import WorkingScreen, reader
from tui.widgets.pyramid import Pyramid, Tier
from tui.widgets.status_line import StatusLine

GAP_ROW = "gap"
SINCE_DAYS = 30
NARROW = 110  # below this many columns the pyramid and the MECE table stack


@dataclass
class ReportLoaded(Message):
    report: layers.MeceReport
    rules: list[layers.LayerRule]


@dataclass
class TransitionsLoaded(Message):
    transitions: layers.Transitions


def overlap_condition(rules: list[layers.LayerRule], a: str, b: str) -> str:
    """The users matching both rules on their own, in the condition language."""
    by_key = {r.key: r.condition for r in rules}
    return f"({by_key[a]}) and ({by_key[b]})"


class LayersScreen(WorkingScreen):
    CSS_PATH = "layers.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # .tcss styles -narrow
    CANCELLABLE = ("layers.report", "layers.transitions")
    HELP = """
## Layers
The pyramid counts every user in the first layer whose rule matches (rule order), then the
unclassified. The MECE report lists pairs of rules that match the same users on their own
(the earlier rule wins them) and the gap (users no rule matches). **Enter** on a row lists
those users. Type an earlier date and press **Enter** to see how users moved between layers.
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
    ]

    PALETTE = (
        ("layers: Transitions since a date", "Type the earlier date of the matrix", "since"),
        ("layers: Reload", "Count the layers, overlaps and gap again", "reload"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.report: layers.MeceReport | None = None
        self.rules: list[layers.LayerRule] = []
        self.since: date | None = None  # the earlier date of the matrix (default: 30 days back)

    def app_as_of(self) -> date:
        return self.app.settings.as_of

    def compose(self) -> ComposeResult:
        lab = self.app.labels
        self.since = self.since or self.app_as_of() - timedelta(days=SINCE_DAYS)
        with VerticalScroll(id="body"):
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
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#mece", DataTable).focus()
        self.refresh_status()
        self.action_reload()

    def action_reload(self) -> None:
        self.load_report()
        self.load_transitions(self.since)

    # ---------------------------------------------------------------- workers (threads)

    @work(thread=True, exclusive=True, group="layers.report", exit_on_error=False)
    def load_report(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            report = layers.mece_report(conn, self.app.settings.as_of)
            rules = layers.list_rules(conn)
        self.post_message(ReportLoaded(report, rules))

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
        self.report, self.rules = message.report, message.rules
        lab = self.app.labels
        self.query_one(Pyramid).tiers = tuple(
            Tier(self.layer_name(t.key), t.count, t.share) for t in message.report.pyramid
        )
        table = self.query_one("#mece", DataTable)
        table.clear(columns=True)
        table.add_columns(lab("mece_what"), lab("count"))
        for o in message.report.overlaps:
            what = f"{self.layer_name(o.a)} & {self.layer_name(o.b)}"
            table.add_row(Text(what), Text(f"{o.count:,}", justify="right"), key=f"{o.a}|{o.b}")
        gap = Text(f"{message.report.gap:,}", justify="right")
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
        parts = [
            lab("layers_title"),
            Path(settings.db_path).name,
            f"{lab('as_of')} {settings.as_of}",
        ]
        if self.report is not None:
            parts.append(f"{self.report.total:,} {lab('users')}")
            parts.append(lab("is_mece") if self.report.is_mece else lab("not_mece"))
        self.query_one(StatusLine).text = " · ".join(parts)

    # ---------------------------------------------------------------- keys

    @on(DataTable.RowSelected, "#mece")
    def _list_users(self, message: DataTable.RowSelected) -> None:
        key = message.row_key.value
        if key == GAP_ROW:
            self.post_message(OpenUsers(f'layer = "{layers.UNCLASSIFIED}"'))
        elif key:
            a, b = key.split("|")
            self.post_message(OpenUsers(overlap_condition(self.rules, a, b)))

    def action_since(self) -> None:
        self.query_one("#since", Input).focus()

    @on(Input.Submitted, "#since")
    def _since(self, message: Input.Submitted) -> None:
        message.stop()
        try:
            since = self.parse_since(message.value)
        except CoreError as exc:
            self.notify(str(exc), title=exc.title, severity="error", markup=False)
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

    def action_back(self) -> None:
        if self.query_one("#since", Input).has_focus:
            self.query_one("#mece", DataTable).focus()
        else:
            self.app.pop_screen()
