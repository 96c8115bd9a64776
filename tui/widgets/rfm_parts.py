"""Pieces of the RFM screen: the groups and 27-cell tables, the thresholds panel, the save
confirmation. Group names follow the language; nothing from the database becomes markup."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from core.analytics import rfm, rfm_report
from tui.i18n import Labels

LEVELS = "HML"


def _num(value: float | None, fmt: str) -> Text:
    return Text("–" if value is None else format(value, fmt), justify="right")


def group_name(row: rfm_report.GroupRow, labels: Labels) -> str:
    return row.name_zh if labels.lang == "zh" else row.name_en


def fill_groups(
    table: DataTable,
    groups: list[rfm_report.GroupRow],
    preview: list[rfm_report.GroupRow] | None,
    labels: Labels,
    compact: bool = False,
) -> None:
    """One row per group (then the non-buyers); the Preview column shows the trial counts.

    ``compact`` (a narrow terminal): the columns that fit in 80, no column cut off. The typical
    action moves under the table (``action_line``); while a trial is previewed, its counts
    replace the means."""
    cursor = table.cursor_row
    table.clear(columns=True)
    keys: tuple[str, ...]
    if not compact:
        keys = GROUP_COLUMNS
    elif preview is not None:
        keys = ("group", "count", "preview", "share", "revenue_share")
    else:
        keys = ("group", "count", "share", "revenue_share", "mean_r", "mean_f", "mean_m")
    for key in keys:
        table.add_column(labels(key), key=key)
    trial = {row.key: row.count for row in preview or ()}
    for g in groups:
        after = "" if g.key not in trial else f"{trial[g.key]:,} ({trial[g.key] - g.count:+,})"
        cells = {
            "group": Text(group_name(g, labels)),
            "count": _num(g.count, ","),
            "preview": Text(after, justify="right", style="bold" if after else ""),
            "share": _num(g.share_of_buyers, ".1%"),
            "revenue_share": _num(g.share_of_revenue, ".1%"),
            "mean_r": _num(g.mean_recency, ".0f"),
            "mean_f": _num(g.mean_frequency, ".1f"),
            "mean_m": _num(g.mean_monetary, ",.0f"),
            "action": Text(labels.rfm_action(g.key, g.action)),
        }
        table.add_row(*(cells[k] for k in keys), key=g.key)
    if table.row_count:
        table.move_cursor(row=min(cursor, table.row_count - 1))


GROUP_COLUMNS = (
    "group", "count", "preview", "share", "revenue_share", "mean_r", "mean_f", "mean_m", "action"
)  # fmt: skip


def action_line(groups: list[rfm_report.GroupRow], key: str | None, labels: Labels) -> str:
    """The highlighted group's typical action, for the table's border when the column is off."""
    for g in groups:
        if g.key == key:
            return f"{labels('action')}: {labels.rfm_action(g.key, g.action)}"
    return ""


def fill_cells(table: DataTable, cells: dict[str, int], labels: Labels | None = None) -> None:
    """R×F rows, M columns: 9 × 3 counts of buyers (levels H M L, 高 中 低 in Chinese)."""
    shown = dict(zip(LEVELS, "高中低", strict=True)) if labels and labels.lang == "zh" else {}
    lv = {x: shown.get(x, x) for x in LEVELS}
    table.clear(columns=True)
    table.add_column("R F", key="rf")
    for m in LEVELS:
        table.add_column(f"M {lv[m]}", key=m)
    for r in LEVELS:
        for f in LEVELS:
            counts = [Text(f"{cells.get(r + f + m, 0):,}", justify="right") for m in LEVELS]
            table.add_row(Text(f"R {lv[r]} · F {lv[f]}"), *counts, key=r + f)


def describe(t: rfm.Threshold, labels: Labels) -> str:
    """A threshold's method as the operator reads it (fixed:12 → 固定值:12 in Chinese)."""
    method, _, value = t.describe().partition(":")
    return labels.rfm_method(method) + (f":{value}" if value else "")


def thresholds_text(loaded, trial: rfm.Threshold | None, labels: Labels) -> Text:
    """Per dimension: the current method and its cut, the clustering suggestion, the trial."""
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(f"    {labels('current'):<16} {labels('suggested')}\n", style="bold")
    for dim in rfm.DIMENSIONS:
        t = loaded.thresholds[dim]
        cut = loaded.lines.get(dim)
        now = describe(t, labels) + ("" if cut is None else f" = {cut:,.4g}")
        hint = ", ".join(f"{v:,.4g}" for v in loaded.suggested.get(dim, [])) or "–"
        out.append(f"{dim.upper()}   {now:<16} {hint}")
        if trial is not None and trial.dimension == dim:
            out.append(f"  → {labels('trial')} {describe(trial, labels)}", style="bold")
        out.append("\n")
    out.rstrip()
    return out


class ConfirmSave(ModalScreen[bool]):
    """Saving a threshold regroups every buyer: ask first (Enter/y saves, Esc/n cancels)."""

    DEFAULT_CSS = """
    ConfirmSave { align: center middle; }
    ConfirmSave > Vertical {
        width: 60; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmSave Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmSave Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Save", id="confirm.yes", tooltip="Save the threshold"),
        Binding("n,escape", "answer(False)", "Cancel", id="confirm.no", tooltip="Do not save"),
    ]

    def __init__(self, question: str, labels: Labels) -> None:
        super().__init__()
        self.question, self.labels = question, labels

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False)
            with Horizontal():
                yield Button(self.labels("confirm_save"), variant="warning", id="yes")
                yield Button(self.labels("confirm_cancel"), id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, ok: bool) -> None:
        self.dismiss(ok)
