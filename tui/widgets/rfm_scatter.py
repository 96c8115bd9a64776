"""Buyers over two RFM dimensions (a plotext scatter) with the thresholds drawn as lines.

Attributes down: the screen sets ``sample``, ``dims``, ``lines`` and ``trial_lines``; the widget
redraws. Current cuts are drawn in one colour, a trial cut being previewed in another.
"""

from __future__ import annotations

from textual.reactive import reactive
from textual_plotext import PlotextPlot

DIMS = (("r", "f"), ("r", "m"), ("f", "m"))
INDEX = {"r": 0, "f": 1, "m": 2}
AXIS = {"r": "scatter_r", "f": "scatter_f", "m": "scatter_m"}  # label keys (tui.i18n)
CURRENT, TRIAL = "cyan", "orange"


class RfmScatter(PlotextPlot):
    DEFAULT_CSS = """
    RfmScatter { height: 16; min-height: 10; }
    """

    sample: reactive[tuple[tuple[float, float, float], ...]] = reactive(())
    dims: reactive[tuple[str, str]] = reactive(DIMS[0])
    lines: reactive[dict] = reactive(dict)  # dim -> cut value (or None)
    trial_lines: reactive[dict] = reactive(dict)

    def watch_sample(self) -> None:
        self.redraw()

    def watch_dims(self) -> None:
        self.redraw()

    def watch_lines(self) -> None:
        self.redraw()

    def watch_trial_lines(self) -> None:
        self.redraw()

    @property
    def title(self) -> str:
        x, y = self.dims
        return f"{x.upper()}–{y.upper()} · {len(self.sample):,} {self.app.labels('buyers')}"  # type: ignore[attr-defined]

    def redraw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        x, y = self.dims
        xs = [row[INDEX[x]] for row in self.sample]
        ys = [row[INDEX[y]] for row in self.sample]
        plt.title(self.title)
        lab = self.app.labels  # type: ignore[attr-defined]
        plt.xlabel(lab(AXIS[x]))
        plt.ylabel(lab(AXIS[y]))
        if xs:
            plt.scatter(xs, ys, marker="braille", color="white")
        for cuts, colour in ((self.lines, CURRENT), (self.trial_lines, TRIAL)):
            if cuts.get(x) is not None:
                plt.vline(cuts[x], colour)
            if cuts.get(y) is not None:
                plt.hline(cuts[y], colour)
        self.refresh()
