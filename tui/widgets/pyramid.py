"""The layer pyramid in lifecycle order: one centred bar per layer, widest for the biggest, with
count and share.

Layers with a climbing rank (1, 2, …) are stacked with the highest rank on top (new at the
base, loyal at the top); the states users slide down into (rank -1, -2, …: dormant, churned)
are drawn beside the climb (below it when the panel is narrow), marked ↘. Layers without a rank,
then the unclassified, come after the climb in rule order. Without any rank it is the rule order.

Drawn as text (no plotting library): it stays legible at 80×24 and aligns CJK names by cells.
Layer names come from the database, so everything is plain ``Text`` (never markup).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

PALETTE = ("#5fafff", "#5fd7af", "#afd75f", "#ffd75f", "#ffaf5f", "#ff875f", "#d787d7", "#87afd7")
DOWN = "↘ "
BESIDE_MIN = 76  # narrower than this, the sliding-down states go below the climb
GUTTER = "  │ "


@dataclass(frozen=True)
class Tier:
    name: str
    count: int
    share: float
    rank: int | None = None  # the lifecycle rank (None: not placed; the unclassified)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


def arrange(tiers: tuple[Tier, ...]) -> tuple[list[int], list[int]]:
    """Indexes of the tiers: the climb (top first, then the unplaced in order) and the sliding-down
    states (-1 first)."""

    def rank(i: int) -> int:
        return tiers[i].rank or 0

    climb = sorted((i for i in range(len(tiers)) if rank(i) > 0), key=lambda i: -rank(i))
    down = sorted((i for i in range(len(tiers)) if rank(i) < 0), key=lambda i: -rank(i))
    rest = [i for i, t in enumerate(tiers) if t.rank is None]
    return climb + rest, down


class Pyramid(Widget):
    DEFAULT_CSS = """
    Pyramid { height: auto; min-height: 3; }
    """

    tiers: reactive[tuple[Tier, ...]] = reactive((), layout=True)

    def beside(self, width: int) -> bool:
        return width >= BESIDE_MIN

    def get_content_height(self, container, viewport, width: int) -> int:
        climb, down = arrange(self.tiers)
        if not down:
            return max(1, len(climb))
        if self.beside(width):
            return max(1, len(climb), len(down))
        return len(climb) + len(down)

    def render(self) -> Text:
        if not self.tiers:
            return Text("…")
        climb, down = arrange(self.tiers)
        top = max(t.count for t in self.tiers) or 1
        width = self.size.width
        if not down:
            return self._join(self._block(climb, width, top, ""))
        if self.beside(width):
            left_w = (width - cell_len(GUTTER)) * 3 // 5
            right_w = width - cell_len(GUTTER) - left_w
            left = self._block(climb, left_w, top, "")
            right = self._block(down, right_w, top, DOWN)
            rows = []
            for n in range(max(len(left), len(right))):
                line = left[n] if n < len(left) else Text(" " * left_w)
                line = line.copy()
                line.pad_right(left_w - line.cell_len)
                line.append(GUTTER, style="dim")
                if n < len(right):
                    line.append_text(right[n])
                rows.append(line)
            return self._join(rows)
        return self._join(self._block(climb, width, top, "") + self._block(down, width, top, DOWN))

    def _block(self, indexes: list[int], width: int, top: int, mark: str) -> list[Text]:
        """One line per tier, at most ``width`` cells: the name, a centred bar scaled to
        ``top``, count and share (the bar gives way first)."""
        if not indexes:
            return []
        tiers = [self.tiers[i] for i in indexes]
        name_w = max(cell_len(mark + t.name) for t in tiers)
        count_w = max(len(f"{t.count:,}") for t in tiers)
        figures = [f"{t.count:>{count_w},} {t.share:6.1%}" for t in tiers]
        room = max(0, width - name_w - len(figures[0]) - 2)
        lines = []
        for i, tier, figure in zip(indexes, tiers, figures, strict=True):
            bar = round(room * tier.count / top) if tier.count else 0
            bar = min(room, max(bar, 1 if tier.count else 0))
            left = (room - bar) // 2
            out = Text(no_wrap=True, overflow="crop")
            out.append(_pad(mark + tier.name, name_w) + " ")
            out.append(" " * left)
            out.append("█" * bar, style=PALETTE[i % len(PALETTE)])
            out.append(" " * (room - bar - left) + " " + figure)
            out.truncate(width)
            lines.append(out)
        return lines

    def _join(self, lines: list[Text]) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for n, line in enumerate(lines):
            out.append_text(line)
            if n < len(lines) - 1:
                out.append("\n")
        return out
