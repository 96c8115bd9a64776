"""A bar chart of a predictive tag's model value (plotext), e.g. how P(alive) spreads over users."""

from __future__ import annotations

from textual.reactive import reactive
from textual_plotext import PlotextPlot

from core.rules.tags import ValueDistribution


def bin_label(low: float, high: float) -> str:
    return f"{low:.2g}–{high:.2g}" if abs(high) < 10 else f"{low:,.0f}–{high:,.0f}"


class Histogram(PlotextPlot):
    DEFAULT_CSS = """
    Histogram { height: 1fr; min-height: 8; }
    """

    distribution: reactive[ValueDistribution | None] = reactive(None)

    def __init__(self, users_word: str = "users", **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.users_word = users_word  # the title's count, in the app's language

    def watch_distribution(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        plt, dist = self.plt, self.distribution
        plt.clear_figure()
        if dist is None or not dist.counts:
            self.refresh()
            return
        labels = [bin_label(a, b) for a, b in zip(dist.edges, dist.edges[1:], strict=False)]
        plt.bar(labels, dist.counts, orientation="horizontal", width=0.6)
        plt.title(f"{dist.field} · {sum(dist.counts):,} {self.users_word}")
        self.refresh()
