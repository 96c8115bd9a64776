"""The RFM screen: the 8 groups (or the 27 cells), buyers on a scatter with the thresholds, and
a small form to try a threshold, see the group counts it would give, then save it.

Workers: ``rfm.load`` (everything shown), ``rfm.preview`` (groups under a trial threshold,
nothing written), ``rfm.write`` (save the threshold and regroup the buyers, one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Select, Static
from textual.worker import get_current_worker

from core.analytics import rfm, rfm_report
from core.errors import CoreError
from core.store.db import transaction
from tui.messages import DataWritten, OpenUsers
from tui.screens import WorkingScreen, reader
from tui.widgets.footer import KeysFooter
from tui.widgets.live_condition import Debounce
from tui.widgets.rfm_parts import (
    ConfirmSave,
    action_line,
    fill_cells,
    fill_groups,
    group_name,
    thresholds_text,
)
from tui.widgets.rfm_scatter import DIMS, RfmScatter
from tui.widgets.status_line import StatusLine
from tui.widgets.writes import writer

NARROW = 110


@dataclass
class RfmLoaded(Message):
    groups: list[rfm_report.GroupRow]
    thresholds: dict[str, rfm.Threshold]
    suggested: dict[str, list[float]]
    lines: dict[str, float | None]
    sample: list[tuple[float, float, float]]
    cells: dict[str, int]


@dataclass
class PreviewReady(Message):
    token: int
    trial: rfm.Threshold
    groups: list[rfm_report.GroupRow]
    lines: dict[str, float | None]


@dataclass
class ThresholdSaved(Message):
    threshold: rfm.Threshold


class RfmScreen(WorkingScreen):
    CSS_PATH = "rfm.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # .tcss styles -narrow
    HELP = """
## RFM
The 8 groups split each dimension high/low at a threshold. **e** opens the threshold form:
pick the dimension and the method (mean, median, fixed value, score cut), type the value; the
*Preview* column shows the group counts it would give, before anything is saved.
**ctrl+s** saves it (after a confirmation) and regroups the buyers. **d** switches the plot's
dimensions, **v** the 27-cell view; **Enter** lists the users of the group or cell.
"""
    IGNORES = frozenset({"marks"})  # campaign marks change nothing shown here
    HELP_ZH = """
## RFM
八大客户群按每个维度的阈值分为高/低。**e** 打开阈值表单：选择维度和方法（均值、中位数、
固定值、按得分），输入数值；*试算* 列在保存之前显示分组人数。
**ctrl+s** 确认后保存并重新分组。**d** 切换散点图维度，**v** 切换27格视图；**Enter** 列出该客户群或格子的用户。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding("escape", "back", "Back", id="rfm.back", tooltip="Back (or close the form)"),
        Binding("d", "dims", "Plot dims", id="rfm.dims", tooltip="Plot R–F, R–M or F–M"),
        Binding("v", "cells", "27 cells", id="rfm.cells", tooltip="Switch groups / 27 cells"),
        Binding("e", "edit", "Threshold", id="rfm.edit", tooltip="Try a threshold (preview)"),
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="rfm.save",
            tooltip="Save the threshold being previewed and regroup the buyers",
        ),
    ]
    PALETTE = (
        ("rfm: Switch plot dimensions", "Plot R–F, R–M or F–M", "dims"),
        ("rfm: Groups / 27 cells", "Switch between the 8 groups and the 27 cells", "cells"),
        ("rfm: Try a threshold", "Preview the groups under another threshold", "edit"),
        ("rfm: Save the threshold", "Save the previewed threshold and regroup", "save"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.loaded: RfmLoaded | None = None
        self.trial: rfm.Threshold | None = None
        self.preview: list[rfm_report.GroupRow] | None = None
        self.previews = Debounce(self)  # the latest form wins; the preview waits for a pause

    def compose(self) -> ComposeResult:
        lab = self.app.labels
        with VerticalScroll(id="body"):
            with Horizontal(id="top"):
                groups: DataTable[object] = DataTable(
                    id="groups", cursor_type="row", zebra_stripes=True
                )
                groups.border_title = lab("rfm_groups")
                yield groups
                cells: DataTable[object] = DataTable(id="cells", cursor_type="cell")
                cells.border_title = lab("rfm_cells")
                yield cells
                with Vertical(id="side"):  # the form first: its dropdowns open over the panel
                    with Horizontal(id="form"):
                        yield Select(
                            [(d.upper(), d) for d in rfm.DIMENSIONS],
                            value="r",
                            id="dim",
                            allow_blank=False,
                            compact=True,
                        )
                        yield Select(
                            [(lab.rfm_method(m), m) for m in rfm.METHODS],
                            value="median",
                            id="method",
                            allow_blank=False,
                            compact=True,
                        )
                        yield Input(placeholder=lab("value"), id="value", compact=True)
                    yield Static("", id="form-error", markup=False)
                    yield Static("", id="thresholds", markup=False)
            yield RfmScatter(id="scatter")
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#thresholds").border_title = self.app.labels("thresholds")
        self.query_one("#groups", DataTable).focus()
        self.refresh_status()
        self.load()

    def refresh_data(self) -> None:
        self.load()

    # ---------------------------------------------------------------- workers (threads)

    @work(thread=True, exclusive=True, group="rfm.load", exit_on_error=False)
    def load(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            thresholds = rfm.get_thresholds(conn)
            loaded = RfmLoaded(
                rfm_report.group_table(conn),
                thresholds,
                rfm_report.suggest_cuts(conn),
                rfm_report.cut_lines(conn, thresholds),
                rfm_report.buyer_sample(conn),
                rfm_report.cell27_table(conn),
            )
        self.post_message(loaded)

    @work(thread=True, exclusive=True, group="rfm.preview", exit_on_error=False)
    def run_preview(self, token: int, trial: rfm.Threshold) -> None:
        with reader(self.app.settings.db_path) as conn:
            groups = rfm_report.preview_groups(conn, {trial.dimension: trial})
            lines = rfm_report.cut_lines(conn, {**rfm.get_thresholds(conn), trial.dimension: trial})
        if not get_current_worker().is_cancelled:
            self.post_message(PreviewReady(token, trial, groups, lines))

    @work(thread=True, exclusive=True, group="rfm.write", exit_on_error=False)
    def save(self, trial: rfm.Threshold) -> None:
        with writer(self.app.settings.db_path) as conn, transaction(conn):
            saved = rfm.set_threshold(conn, trial.dimension, trial.method, trial.value)
            rfm.apply_rfm(conn)  # the groups follow the new cut at once
        self.post_message(ThresholdSaved(saved))

    # ---------------------------------------------------------------- results (UI thread)

    @on(RfmLoaded)
    def _loaded(self, message: RfmLoaded) -> None:
        self.loaded = message
        self.show_groups(message.groups, self.preview)
        fill_cells(self.query_one("#cells", DataTable), message.cells, self.app.labels)
        scatter = self.query_one(RfmScatter)
        scatter.sample = tuple(message.sample)
        scatter.lines = message.lines
        self.show_thresholds()
        self.refresh_status()

    @on(PreviewReady)
    def _previewed(self, message: PreviewReady) -> None:
        if not self.previews.is_current(message.token) or self.loaded is None:
            return  # the form changed since: a newer preview is on its way
        self.preview = message.groups
        self.show_groups(self.loaded.groups, self.preview)
        self.query_one(RfmScatter).trial_lines = message.lines
        self.show_thresholds()

    @on(ThresholdSaved)
    def _saved(self, message: ThresholdSaved) -> None:
        self.notify(
            f"{message.threshold.dimension.upper()} = {message.threshold.describe()}",
            title=self.app.labels("threshold_saved"),
            markup=False,
        )
        self.clear_trial()
        self.post_message(DataWritten("rfm thresholds"))  # every open screen reloads, this one too

    def show_thresholds(self) -> None:
        if self.loaded is not None:
            text = thresholds_text(self.loaded, self.trial, self.app.labels)
            self.query_one("#thresholds", Static).update(text)

    def refresh_status(self) -> None:
        lab, settings = self.app.labels, self.app.settings
        parts = [lab("rfm_title"), Path(settings.db_path).name, self.app.as_of_label()]
        if self.loaded is not None:
            buyers = sum(g.count for g in self.loaded.groups if g.key != rfm.NON_BUYER_KEY)
            parts.append(f"{buyers:,} {lab('buyers')}")
        self.query_one(StatusLine).text = " · ".join(parts)

    # ---------------------------------------------------------------- the threshold form

    @on(Select.Changed)
    @on(Input.Changed, "#value")
    def _form_changed(self) -> None:
        if not self.has_class("-editing"):
            return
        token = self.previews.bump()
        error = self.query_one("#form-error", Static)
        try:
            trial = self.form_threshold()
        except CoreError as exc:
            error.update(self.app.labels.message(str(exc)))
            return
        error.update("")
        self.trial = trial
        self.previews.later(lambda: self.run_preview(token, trial))

    def form_threshold(self) -> rfm.Threshold:
        dim = str(self.query_one("#dim", Select).value)
        method = str(self.query_one("#method", Select).value)
        raw = self.query_one("#value", Input).value.strip()
        value = None
        if method in ("fixed", "score"):
            try:
                value = float(raw)
            except ValueError:
                lab = self.app.labels
                words = lab.words(
                    "needs_number", dim=dim, method=lab.rfm_method(method), raw=repr(raw)
                )
                raise CoreError(words) from None
        return rfm.check_threshold(dim, method, value)

    def clear_trial(self) -> None:
        self.previews.bump()
        self.trial = self.preview = None
        self.remove_class("-editing")
        self.query_one(RfmScatter).trial_lines = {}
        if self.loaded is not None:
            self.show_groups(self.loaded.groups, None)
        self.show_thresholds()
        self.query_one("#groups", DataTable).focus()

    # ---------------------------------------------------------------- keys

    @property
    def compact(self) -> bool:
        return self.size.width < NARROW

    def show_groups(self, groups: list, preview: list | None) -> None:
        """The groups table, its columns fitted to the width (rfm_parts.fill_groups)."""
        table = self.query_one("#groups", DataTable)
        fill_groups(table, groups, preview, self.app.labels, compact=self.compact)
        self._shown_compact = self.compact
        self._action_line()

    def _action_line(self) -> None:
        table = self.query_one("#groups", DataTable)
        key = None
        if self.compact and table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        groups = self.loaded.groups if self.loaded is not None else []
        table.border_subtitle = action_line(groups, key, self.app.labels) if key else ""

    @on(DataTable.RowHighlighted, "#groups")
    def _group_highlighted(self) -> None:
        self._action_line()

    def on_resize(self) -> None:
        if self.loaded is not None and getattr(self, "_shown_compact", None) != self.compact:
            self.show_groups(self.loaded.groups, self.preview)

    def action_edit(self) -> None:
        self.add_class("-editing")
        self.query_one("#dim", Select).focus()
        self._form_changed()

    def action_save(self) -> None:
        if self.trial is None:
            self.notify(self.app.labels("try_first"), markup=False)
            return
        trial = self.trial
        question = (
            f"{self.app.labels('save_threshold')}\n{trial.dimension.upper()} = {trial.describe()}"
        )

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.save(trial)

        self.app.push_screen(ConfirmSave(question, self.app.labels), confirmed)

    def action_dims(self) -> None:
        scatter = self.query_one(RfmScatter)
        scatter.dims = DIMS[(DIMS.index(scatter.dims) + 1) % len(DIMS)]

    def action_cells(self) -> None:
        self.toggle_class("-cells")
        table = "#cells" if self.has_class("-cells") else "#groups"
        self.query_one(table, DataTable).focus()

    @on(DataTable.RowSelected, "#groups")
    def _group_users(self, message: DataTable.RowSelected) -> None:
        key = message.row_key.value
        rows = {row.key: row for row in (self.loaded.groups if self.loaded else [])}
        title = group_name(rows[key], self.app.labels) if key in rows else str(key)
        if key == rfm.NON_BUYER_KEY:
            self.post_message(OpenUsers("frequency = 0", title))
        elif key:
            self.post_message(OpenUsers(f'rfm = "{key}"', title))

    @on(DataTable.CellSelected, "#cells")
    def _cell_users(self, message: DataTable.CellSelected) -> None:
        row, column = message.cell_key.row_key.value, message.cell_key.column_key.value
        if row and column in ("H", "M", "L"):
            title = f"R {row[0]} · F {row[1]} · M {column}"  # as the 27-cell table says it
            self.post_message(OpenUsers(f'rfm_cell27 = "{row}{column}"', title))

    def action_back(self) -> None:
        if self.has_class("-editing"):
            self.clear_trial()
        else:
            self.app.pop_screen()
