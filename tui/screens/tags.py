"""The tags screen: every rule tag by dimension with how many users hold it; Enter lists them;
a predictive tag shows the distribution of the model value its condition reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from core.rules import tags
from core.views import users
from core.views.text import visible
from tui.messages import OpenUsers
from tui.screens import WorkingScreen, reader
from tui.widgets.histogram import Histogram
from tui.widgets.status_line import StatusLine

NARROW = 110


@dataclass
class TagsLoaded(Message):
    counts: list[tuple[tags.TagRule, int]]
    total: int


@dataclass
class DistributionLoaded(Message):
    tag: str
    distribution: tags.ValueDistribution | None


class TagsScreen(WorkingScreen):
    CSS_PATH = "tags.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # .tcss styles -narrow
    HELP = """
## Tags
Every tag by dimension (basic, behavioural, result, predictive) with how many users hold it as
of the last recompute. **Enter** lists the users holding the highlighted tag. A predictive tag
shows how its model value (P(alive), CLV, expected purchases) spreads over all users.
"""
    HELP_ZH = """
## 标签
按维度（基础、行为、结果、预测）列出每个标签及截至上次计算的持有人数。**Enter** 列出持有高亮
标签的用户。预测标签显示其模型值（P(alive)、CLV、预期购买次数）在全部用户中的分布。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="tags.back", tooltip="Back to the users"),
        Binding("ctrl+r", "reload", "Reload", id="tags.reload", tooltip="Count the tags again"),
    ]

    PALETTE = (("tags: Reload", "Count the tags again", "reload"),)

    def __init__(self) -> None:
        super().__init__()
        self.rules: dict[str, tags.TagRule] = {}
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
                yield Histogram(id="histogram")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tags", DataTable).focus()
        self.refresh_status()
        self.action_reload()

    def action_reload(self) -> None:
        self.load_tags()

    # ---------------------------------------------------------------- workers (threads)

    @work(thread=True, exclusive=True, group="tags.load", exit_on_error=False)
    def load_tags(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            counts, total = tags.tag_counts(conn), users.count(conn)
        self.post_message(TagsLoaded(counts, total))

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
        table = self.query_one("#tags", DataTable)
        table.clear(columns=True)
        for key in ("dimension", "tag", "count", "share", "description"):
            table.add_column(lab(key), key=key)
        previous = None
        for rule, n in message.counts:
            zh, en = tags.DIMENSION_NAMES.get(rule.dimension, (rule.dimension, rule.dimension))
            dim = "" if rule.dimension == previous else (zh if lab.lang == "zh" else en)
            previous = rule.dimension
            share = n / message.total if message.total else 0.0
            table.add_row(
                Text(dim, style="bold"),
                Text(visible(rule.name)),
                Text(f"{n:,}", justify="right"),
                Text(f"{share:.1%}", justify="right"),
                Text(
                    visible(
                        self.app.labels.tag_description(rule.name, rule.description)
                        or rule.condition
                    )
                ),
                key=rule.name,
            )
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
        about = f"{visible(rule.name)}: {visible(rule.condition)}"
        if rule.dimension != "predictive":
            about += f"\n{lab('no_distribution')}"
        self.query_one("#about", Static).update(about)
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
            rule = self.rules[message.tag]
            lab = self.app.labels
            about = f"{visible(rule.name)}: {visible(rule.condition)}\n{dist.missing:,} {lab('without_value')}"
            self.query_one("#about", Static).update(about)

    def refresh_status(self) -> None:
        lab, settings = self.app.labels, self.app.settings
        parts = [lab("tags_title"), Path(settings.db_path).name, f"{lab('as_of')} {settings.as_of}"]
        if self.rules:
            parts.append(f"{len(self.rules)} {lab('tags')} · {self.total:,} {lab('users')}")
        self.query_one(StatusLine).text = " · ".join(parts)

    @on(DataTable.RowSelected, "#tags")
    def _list_users(self, message: DataTable.RowSelected) -> None:
        if message.row_key.value in self.rules:
            self.post_message(OpenUsers(f'tag "{message.row_key.value}"'))
