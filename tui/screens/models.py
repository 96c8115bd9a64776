"""The Models view: the stored fits (parameters, log-likelihood, convergence), which model the
predictions use and why, and the last holdout validation as two charts — cumulative repeat
purchases by week and mean holdout purchases by calibration purchases, actual vs each model.

Read-only; the validation is run by ``userops model DB --validate --calibration-end D``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from core.analytics.models import MODEL_TITLES
from core.analytics.validation import StoredModels, stored_models
from tui.screens import WorkingScreen, reader
from tui.widgets.footer import KeysFooter
from tui.widgets.status_line import StatusLine

COLOURS = {"actual": "white", "bgnbd": "cyan", "pareto_nbd": "orange", "mbgnbd": "green"}


WIDE_COLUMNS = 120  # from this screen width the fits table has a parameters column


def param_text(params: dict[str, float]) -> str:
    """'r 0.9676 alpha 12.43 a 0.5297 b 2.334': the names as in the literature."""
    return " ".join(f"{k} {v:.4g}" for k, v in params.items())


@dataclass
class ModelsLoaded(Message):
    stored: StoredModels


class ValidationChart(PlotextPlot):
    """Actual against each model's prediction: ``kind`` 'tracking' or 'conditional'."""

    def __init__(self, kind: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.validation: dict | None = None

    def show(self, validation: dict | None) -> None:
        self.validation = validation
        self.redraw()

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        v = self.validation
        if not v:
            plt.title(self.app.labels("no_validation_stored"))  # type: ignore[attr-defined]
            self.refresh()
            return
        tracking = self.kind == "tracking"
        xs = v["weeks"] if tracking else list(range(len(v["buckets"])))
        lab = self.app.labels  # type: ignore[attr-defined]
        plt.title(lab("chart_tracking") if tracking else lab("chart_conditional"))
        plt.plot(xs, v["actual_tracking" if tracking else "actual_conditional"], label=lab("actual"),
                 color=COLOURS["actual"], marker="dot")  # fmt: skip
        for name, check in v["models"].items():
            if "error" in check:
                continue
            plt.plot(xs, check["tracking" if tracking else "conditional"],
                     label=MODEL_TITLES.get(name, name), color=COLOURS.get(name, "red"))  # fmt: skip
        if not tracking:
            plt.xticks(xs, v["buckets"])
        plt.xlabel(lab("chart_weeks") if tracking else lab("chart_repeats"))
        self.refresh()


class ModelsScreen(WorkingScreen):
    CSS_PATH = "models.tcss"
    HELP = """
## Models
The purchase models fitted on this database (BG/NBD, Pareto/NBD, MBG/NBD) and Gamma-Gamma,
with their log-likelihood and whether the fit reached the maximum; which one the predictions
use, and why. The charts show the last holdout validation: actual against predicted repeat
purchases. Run `userops model DB --validate --calibration-end YYYY-MM-DD` to make one.
"""
    IGNORES = frozenset({"marks"})  # campaign marks change nothing shown here
    HELP_ZH = """
## 模型
在本数据库上拟合的购买模型（BG/NBD、Pareto/NBD、MBG/NBD）与 Gamma-Gamma，及其对数似然和拟合
是否达到最大值；预测使用哪个模型及原因。图表显示最近一次验证：实际与预测的复购次数。
运行 `userops model DB --validate --calibration-end YYYY-MM-DD` 生成验证。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding("escape", "back", "Back", id="models.back", tooltip="Back to the users list"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stored: StoredModels | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="body"):
            table: DataTable[object] = DataTable(id="fits", cursor_type="row", zebra_stripes=True)
            table.border_title = self.app.labels("fits")
            yield table
            yield Static("", id="fit-detail", markup=False)
            yield Static("", id="choice", markup=False)
            with Horizontal(id="charts"):
                yield ValidationChart("tracking", id="tracking")
                yield ValidationChart("conditional", id="conditional")
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#fits", DataTable).focus()
        self.refresh_status()
        self.load()

    def refresh_data(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    @work(thread=True, exclusive=True, group="models.load", exit_on_error=False)
    def load(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            stored = stored_models(conn)
        self.post_message(ModelsLoaded(stored))

    @property
    def wide(self) -> bool:
        """Room for the parameters column; narrower, they show under the table only."""
        return self.size.width >= WIDE_COLUMNS

    def on_resize(self) -> None:
        table = self.query_one("#fits", DataTable)
        if self.stored is not None and table.columns and (len(table.columns) == 6) != self.wide:
            self.fill_fits()

    def fill_fits(self) -> None:
        """The fits table; a fit's error or parameters in full under it (the highlighted row),
        so a long error never widens the table past the screen."""
        stored = self.stored
        assert stored is not None
        checks = cast(dict[str, Any], (stored.validation or {}).get("models", {}))
        table = self.query_one("#fits", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        lab = self.app.labels
        keys = ["model", "parameters", "log_lik", "calib_bic", "holdout_mae", "fit_state"]
        if not self.wide:
            keys.remove("parameters")
        table.add_columns(*(lab(k) for k in keys))
        for model, params, log_lik, error, stored_diagnostics in stored.fits:
            diagnostics = cast(dict[str, Any], stored_diagnostics or {})
            title = MODEL_TITLES.get(model, "Gamma-Gamma" if model == "gamma_gamma" else model)
            if error:
                cells = [Text(title), Text("—"), "", "", "", Text(lab("not_fitted"), style="red")]
            else:
                check = cast(dict[str, Any], checks.get(model, {}))
                fit = lab("converged") if diagnostics.get("converged") else lab("not_converged")
                cells = [
                    Text(title),
                    Text(param_text(params)),
                    f"{log_lik:,.1f}" if log_lik is not None else "",
                    f"{check['bic']:,.1f}" if "bic" in check else "",
                    f"{check['mae']:.4f}" if "mae" in check else "",
                    Text(fit, style="" if diagnostics.get("converged") else "red"),
                ]
            if not self.wide:
                del cells[1]
            table.add_row(*cells)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        self.show_fit_detail(table.cursor_row)

    @on(DataTable.RowHighlighted, "#fits")
    def _fit_highlighted(self, message: DataTable.RowHighlighted) -> None:
        self.show_fit_detail(message.cursor_row)

    def show_fit_detail(self, row: int) -> None:
        """The highlighted fit in full: its parameters, or why it could not be fitted."""
        detail = self.query_one("#fit-detail", Static)
        fits = self.stored.fits if self.stored is not None else []
        if not 0 <= row < len(fits):
            detail.update("")
            return
        model, params, _, error, _ = fits[row]
        title = MODEL_TITLES.get(model, "Gamma-Gamma" if model == "gamma_gamma" else model)
        if error:
            why = self.app.labels.message(error)
            shown = why if why.startswith(title) else f"{title}: {why}"  # core names it mostly
            text = Text(shown, style="red")
        else:
            text = Text(f"{title}: {param_text(params)}")
        detail.update(text)

    def on_models_loaded(self, message: ModelsLoaded) -> None:
        self.stored = stored = message.stored
        lab = self.app.labels
        self.fill_fits()
        lines = []
        if stored.used:
            used = MODEL_TITLES.get(stored.used["model"], stored.used["model"])
            reason = lab.message(stored.used.get("reason", ""))
            fit_of = f" ({lab('fit_of').format(d=stored.fits_as_of)})" if stored.fits_as_of else ""
            lines.append(f"{lab('predictions_use')} {used}{fit_of}: {reason}")
        v = stored.validation
        if v:
            lines.append(
                lab("validation_line").format(
                    cal=v["calibration_end"], hold=v["holdout_end"], n=v["actual_repeat_purchases"]
                )
            )
        else:
            lines.append(lab("no_validation"))
        self.query_one("#choice", Static).update(Text("\n".join(lines)))
        for chart in self.query(ValidationChart):
            chart.show(v)
        self.refresh_status()

    def refresh_status(self) -> None:
        settings = self.app.settings
        lab = self.app.labels
        parts = [
            lab("models_title"),
            Path(settings.db_path).name,
            f"{lab('as_of')} {settings.as_of}",
        ]
        self.query_one(StatusLine).text = " · ".join(parts)
