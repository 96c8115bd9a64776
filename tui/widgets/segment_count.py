"""“12,345 of 1,000,000 · 1.2%”: how many users match the filter, with a visible pending state."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class SegmentCount(Static):
    DEFAULT_CSS = """
    SegmentCount { width: auto; padding: 0 1; color: $text-muted; }
    SegmentCount.-pending { color: $text-disabled; }
    """

    matching: reactive[int | None] = reactive(None)
    total: reactive[int | None] = reactive(None)
    pending: reactive[bool] = reactive(False)
    pending_text: reactive[str] = reactive("…")

    def render(self) -> str:
        self.set_class(self.pending, "-pending")
        if self.pending:
            return self.pending_text
        if self.matching is None or self.total is None:
            return ""
        share = 100 * self.matching / self.total if self.total else 0.0
        return f"{self.matching:,} / {self.total:,} · {share:.1f}%"
