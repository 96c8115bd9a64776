"""The Strategies screen: every strategy with its status, schedule, last run, targets, control,
latest uplift with its 95 % interval and a sparkline of its runs; the highlighted one's report
(per run and cumulative, with the small-holdout warning) and a chart of the uplift per run with
its interval. ``n`` / ``e`` open the form (live count and overlaps), ``p`` pauses or resumes,
``d`` deletes after a question, ``r`` shows a dry run of every due strategy, then runs it for
real when confirmed.

Reads run in exclusive thread workers, writes in the "write" group, each on its own connection
(core.audience.strategies does the work; tui.widgets.writes). docs/strategies.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from core.audience import strategies as st
from core.errors import CoreError
from core.views.text import visible
from tui.screens import WorkingScreen, reader
from tui.widgets import strategy_parts as parts
from tui.widgets.dialogs import ConfirmModal
from tui.widgets.footer import KeysFooter
from tui.widgets.status_line import StatusLine
from tui.widgets.strategy_form import StrategyForm
from tui.widgets.tables import fill_table
from tui.widgets.writes import writer


@dataclass
class StrategiesLoaded(Message):
    found: list[st.StrategySummary]


@dataclass
class ReportLoaded(Message):
    name: str
    report: st.StrategyReport | None
    problem: str


@dataclass
class DryRun(Message):
    report: st.RunReport


@dataclass
class StrategyWritten(Message):
    note: str
    select: str | None


class UpliftChart(PlotextPlot):
    """The conversion uplift of each run (points) with its 95 % interval as two dotted lines."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.report: st.StrategyReport | None = None
        self.title_text = ""
        self.empty_text = ""
        self.legend = ("", "")

    def show(
        self, report: st.StrategyReport | None, title: str, empty: str, legend: tuple[str, str]
    ) -> None:
        self.report, self.title_text, self.empty_text, self.legend = report, title, empty, legend
        self.redraw()

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        every = [r for r in self.report.runs if not r.empty] if self.report else []
        runs = [r for r in every if r.conversion]
        if not runs:  # no run measured on its own: the sizes per run, and why
            if every:
                xs: list[float] = list(range(1, len(every) + 1))
                plt.bar(xs, [r.targets.users for r in every], color="cyan", width=0.4)
                plt.bar(
                    [x + 0.4 for x in xs],
                    [r.control.users for r in every],
                    color="orange",
                    width=0.4,
                )
                self._ticks(xs, every)
            plt.title(self.empty_text)
            self.refresh()
            return
        xs = [float(x) for x in range(1, len(runs) + 1)]
        up = [r.conversion.absolute * 100 for r in runs if r.conversion]
        lo = [r.conversion.low * 100 for r in runs if r.conversion]
        hi = [r.conversion.high * 100 for r in runs if r.conversion]
        plt.title(self.title_text)
        plt.plot(xs, hi, color="gray", marker="dot", label=self.legend[1])
        plt.plot(xs, lo, color="gray", marker="dot")
        plt.plot(xs, up, color="cyan", marker="braille", label=self.legend[0])
        plt.hline(0, "white")
        self._ticks(xs, runs)
        self.refresh()

    def _ticks(self, xs: list[float], runs: list[st.RunEffect]) -> None:
        step = max(1, len(runs) // 6)
        ticks = xs[::step]
        self.plt.xticks(ticks, [str(runs[int(i) - 1].date)[5:] for i in ticks])


class RunConfirm(ConfirmModal):
    """The dry run (scrollable: one block per strategy) and the question to run it for real."""

    DEFAULT_CSS = """
    RunConfirm > Vertical { width: 90%; max-width: 120; max-height: 90%; }
    RunConfirm VerticalScroll { height: auto; max-height: 1fr; }
    """

    def __init__(self, dry: Text, question: str, yes: str, no: str) -> None:
        super().__init__(question, yes, no)
        self.dry = dry

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll():
                yield Static(self.dry, id="dry")
            yield Static(visible(self.question), markup=False)
            with Horizontal():
                yield Button(self.yes, variant="warning", id="yes")
                yield Button(self.no, id="no")


class StrategiesScreen(WorkingScreen):
    CSS_PATH = "strategies.tcss"
    CANCELLABLE = ("strategies.report",)
    HELP = """
## Strategies
The strategies with their status, schedule, last run, targets and control of that run, the
latest conversion uplift with its 95 % interval and a sparkline of the runs. Below, the
highlighted strategy's report — per run and cumulative, with the minimum detectable uplift
and the small-holdout warning — and a chart of the uplift per run with its interval.
**n** new, **e** edit (the form shows who it would target today and the overlaps), **p** pause
or resume, **d** delete, **r** run now: a dry run first, then confirm to run for real; **v** scrolls
the report to the chart and back.
"""
    HELP_ZH = """
## 策略
列出各策略的状态、排期、上次运行及该次的目标与对照人数、最近一次转化提升及其 95% 区间，以及各次运行的
迷你走势图。下方是高亮策略的报告——按每次运行和累计，含最小可检测提升与对照组过小的提醒——以及每次运行
提升及其区间的图表。
**n** 新建，**e** 编辑（表单显示今天会触达谁以及与其他策略的重叠），**p** 暂停或恢复，**d** 删除，
**r** 立即运行：先试运行，确认后正式运行；**v** 在报告与图表之间滚动。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="strategies.back", tooltip="Back"),
        Binding("n", "new_strategy", "New", id="strategies.new", tooltip="Create a strategy"),
        Binding("e", "edit_strategy", "Edit", id="strategies.edit", tooltip="Edit the strategy"),
        Binding(
            "p",
            "toggle_pause",
            "Pause/resume",
            id="strategies.pause",
            tooltip="Pause an active strategy, resume a paused one",
        ),
        Binding(
            "d",
            "delete_strategy",
            "Delete",
            id="strategies.delete",
            tooltip="Delete the strategy (after a question; its runs stay as campaigns)",
        ),
        Binding(
            "r",
            "run_now",
            "Run now",
            id="strategies.run",
            tooltip="A dry run of every due strategy, then run it for real when confirmed",
        ),
        Binding(
            "v",
            "switch_view",
            "Chart",
            id="strategies.view",
            tooltip="Scroll the report to the uplift chart, and back",
        ),
    ]
    PALETTE = (
        ("strategy: New", "Create a strategy (live count and overlaps)", "new_strategy"),
        ("strategy: Edit", "Edit the highlighted strategy", "edit_strategy"),
        ("strategy: Pause or resume", "Pause or resume the highlighted strategy", "toggle_pause"),
        ("strategy: Delete", "Delete the highlighted strategy", "delete_strategy"),
        ("strategy: Run now", "A dry run of the due strategies, then run", "run_now"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, st.StrategySummary] = {}
        self.selected: str | None = None
        self.select_after: str | None = None
        self.loaded: StrategiesLoaded | None = None
        self.columns_for = 0  # the screen width the list's columns were chosen for
        self.report_shown: tuple[st.StrategyReport | None, str] | None = None
        self.report_for = 0

    def compose(self) -> ComposeResult:
        lab = self.app.labels
        table: DataTable[object] = DataTable(id="strategies", cursor_type="row", zebra_stripes=True)
        table.border_title = lab("strategies_title")
        yield table
        yield Static("", id="note", markup=False)
        with VerticalScroll(id="pane"):
            runs: DataTable[object] = DataTable(id="runs", zebra_stripes=True)
            yield runs
            yield Static("", id="about", markup=False)
            yield UpliftChart(id="chart")
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#strategies").focus()
        self.refresh_status()
        self.load_strategies()

    # ---------------------------------------------------------------- reads (threads)

    @work(thread=True, exclusive=True, group="strategies.load", exit_on_error=False)
    def load_strategies(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            found = st.summaries(conn)
        self.post_message(StrategiesLoaded(found))

    @work(thread=True, exclusive=True, group="strategies.report", exit_on_error=False)
    def load_report(self, name: str) -> None:
        with reader(self.app.settings.db_path) as conn:
            try:
                found = st.report(conn, name)
            except CoreError as exc:
                self.post_message(ReportLoaded(name, None, str(exc)))
                return
        if not get_current_worker().is_cancelled:
            self.post_message(ReportLoaded(name, found, ""))

    @work(thread=True, exclusive=True, group="strategies.dry", exit_on_error=False)
    def dry_run(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            found = st.run_strategies(conn, dry_run=True)
        self.post_message(DryRun(found))

    # ---------------------------------------------------------------- writes (threads)

    @work(thread=True, group="write", exit_on_error=False)
    def write(self, what: str, name: str) -> None:
        lab = self.app.labels
        with writer(self.app.settings.db_path) as conn:
            select: str | None = name
            if what == "pause":
                note = lab("st_paused_note").format(name=st.pause(conn, name).name)
            elif what == "resume":
                note = lab("st_resumed_note").format(name=st.resume(conn, name).name)
            elif what == "delete":
                st.delete(conn, name)
                note = lab("st_deleted_note").format(name=name)
                select = None
            else:  # run
                done = st.run_strategies(conn)
                ran = [r for r in done.runs if r.campaign]
                note = lab("st_ran").format(
                    n=len(ran), t=sum(r.targets for r in ran), c=sum(r.control for r in ran)
                )
                folders = sorted({str(r.file.parent) for r in ran if r.file})
                if folders:
                    note += f" · {lab('st_files')} {', '.join(folders)}"
        self.post_message(StrategyWritten(note, select))

    @on(StrategyWritten)
    def _written(self, message: StrategyWritten) -> None:
        self.query_one("#note", Static).update(visible(message.note))
        self.select_after = message.select
        self.load_strategies()

    # ---------------------------------------------------------------- results (UI thread)

    @on(StrategiesLoaded)
    def _loaded(self, message: StrategiesLoaded) -> None:
        lab = self.app.labels
        self.found = {r.strategy.name: r for r in message.found}
        table = self.query_one("#strategies", DataTable)
        keep = self.select_after or self.selected
        self.columns_for = self.size.width
        keys = parts.summary_columns(self.size.width)
        narrow = keys != parts.SUMMARY_COLUMNS
        rows = []
        for r in message.found:
            cells = dict(zip(parts.SUMMARY_COLUMNS, parts.summary_cells(r, lab), strict=True))
            rows.append((r.strategy.name, [cells[k] for k in keys]))
        headers = [(k, lab(parts.NARROW_HEADERS.get(k, k) if narrow else k)) for k in keys]
        fill_table(table, headers, rows)
        self.loaded = message
        table.border_subtitle = "" if message.found else lab("st_no_strategies")
        names = list(self.found)
        if keep in self.found:
            table.move_cursor(row=names.index(keep), animate=False)
        self.select_after = None
        self.show_strategy(self.highlighted(), force=True)

    def on_resize(self) -> None:
        """Across WIDE_COLUMNS the list changes its columns (the rows stay)."""
        if self.loaded is not None and (
            parts.summary_columns(self.size.width) != parts.summary_columns(self.columns_for)
        ):
            self.select_after = self.selected
            self._loaded(self.loaded)
        if self.report_shown is not None and (
            parts.report_columns(self.size.width) != parts.report_columns(self.report_for)
        ):
            self._fill_report(*self.report_shown)

    def highlighted(self) -> str | None:
        table = self.query_one("#strategies", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowHighlighted, "#strategies")
    def _highlight(self, message: DataTable.RowHighlighted) -> None:
        self.show_strategy(message.row_key.value)

    def show_strategy(self, name: str | None, *, force: bool = False) -> None:
        if name is None:
            self.selected = None
            self._fill_report(None, "")
            return
        if name == self.selected and not force:
            return
        self.selected = name
        self.load_report(name)

    @on(ReportLoaded)
    def _report(self, message: ReportLoaded) -> None:
        if message.name == self.selected:
            self._fill_report(message.report, message.problem)

    def _fill_report(self, report: st.StrategyReport | None, problem: str) -> None:
        lab = self.app.labels
        table = self.query_one("#runs", DataTable)
        self.report_shown = (report, problem)
        self.report_for = self.size.width
        keys = parts.report_columns(self.size.width)
        narrow = keys != parts.REPORT_COLUMNS
        headers = [(k, lab(parts.NARROW_HEADERS.get(k, k) if narrow else k)) for k in keys]
        rows: list[tuple[str, Sequence[Text]]] = []
        if report is not None:
            rows = [
                (str(i), parts.effect_cells(e, lab, narrow=narrow)[: len(keys)])
                for i, e in enumerate(report.runs)
            ]
            rows.append(
                (
                    "cumulative",
                    parts.effect_cells(report.cumulative, lab, narrow=narrow)[: len(keys)],
                )
            )
        fill_table(table, headers, rows)
        about = self.query_one("#about", Static)
        chart = self.query_one(UpliftChart)
        legend = (lab("st_legend_uplift"), lab("st_legend_ci"))
        if report is None:
            table.border_title = ""
            about.update(Text(visible(lab.message(problem))))
            chart.show(None, "", lab("st_chart_empty"), legend)
            return
        table.border_title = visible(report.strategy)
        table.move_cursor(row=table.row_count - 1, animate=False)
        about.update(parts.report_note(report, lab, narrow=narrow))
        title = f"{visible(report.strategy)}: {lab('st_chart_title')}"
        chart.show(report, title, lab("st_chart_empty"), legend)

    @on(DryRun)
    def _dry(self, message: DryRun) -> None:
        lab = self.app.labels

        def done(ok: bool | None) -> None:
            if ok:
                self.write("run", self.selected or "")

        text = parts.dry_run_text(message.report, lab)
        self.app.push_screen(
            RunConfirm(text, lab("st_run_q"), lab("st_run"), lab("st_cancel")), done
        )

    # ---------------------------------------------------------------- actions

    def _form_done(self, name: str | None) -> None:
        if name is not None:
            self.query_one("#note", Static).update(
                visible(self.app.labels("st_saved").format(name=name))
            )
            self.select_after = name
            self.load_strategies()

    def action_new_strategy(self) -> None:
        self.app.push_screen(StrategyForm(None), self._form_done)

    def action_edit_strategy(self) -> None:
        name = self.highlighted()
        if name in self.found:
            self.app.push_screen(StrategyForm(self.found[name].strategy), self._form_done)

    def action_toggle_pause(self) -> None:
        name = self.highlighted()
        if name in self.found:
            self.write("pause" if self.found[name].strategy.active else "resume", name)

    def action_delete_strategy(self) -> None:
        name = self.highlighted()
        if name is None:
            return
        lab = self.app.labels

        def done(ok: bool | None) -> None:
            if ok:
                self.write("delete", name)

        question = lab("st_delete_q").format(name=name)
        self.app.push_screen(ConfirmModal(question, lab("st_delete"), lab("st_cancel")), done)

    def action_switch_view(self) -> None:
        """Scroll the report pane to the chart, or back to the table."""
        pane = self.query_one("#pane", VerticalScroll)
        if pane.scroll_y > 0:
            pane.scroll_home(animate=False)
        else:
            self.query_one(UpliftChart).scroll_visible(animate=False, top=True)

    def action_run_now(self) -> None:
        self.dry_run()

    def refresh_status(self) -> None:
        lab, settings = self.app.labels, self.app.settings
        items = [lab("strategies_title"), Path(settings.db_path).name, self.app.as_of_label()]
        self.query_one(StatusLine).text = " · ".join(items)
