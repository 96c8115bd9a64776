"""The layer pyramid: one centred bar per layer, widest for the biggest, with count and share.

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


@dataclass(frozen=True)
class Tier:
    name: str
    count: int
    share: float


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


class Pyramid(Widget):
    DEFAULT_CSS = """
    Pyramid { height: auto; min-height: 3; }
    """

    tiers: reactive[tuple[Tier, ...]] = reactive((), layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.tiers))

    def render(self) -> Text:
        if not self.tiers:
            return Text("…")
        name_w = max(cell_len(t.name) for t in self.tiers)
        figures = [f"{t.count:>9,} {t.share:6.1%}" for t in self.tiers]
        room = max(4, self.size.width - name_w - len(figures[0]) - 3)
        top = max(t.count for t in self.tiers) or 1
        out = Text(no_wrap=True, overflow="crop")
        for i, (tier, figure) in enumerate(zip(self.tiers, figures, strict=True)):
            bar = round(room * tier.count / top) if tier.count else 0
            bar = max(bar, 1 if tier.count else 0)
            left = (room - bar) // 2
            out.append(_pad(tier.name, name_w) + " ")
            out.append(" " * left)
            out.append("█" * bar, style=PALETTE[i % len(PALETTE)])
            out.append(" " * (room - bar - left) + " " + figure)
            if i < len(self.tiers) - 1:
                out.append("\n")
        return out
