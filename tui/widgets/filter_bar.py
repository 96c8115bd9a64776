"""The users list's filter bar: a :class:`LiveCondition` that is hidden until ``f`` opens it.

Typing is checked, counted and completed by the live condition; the screen that lists the
users handles ``LiveCondition.Counted`` (its new condition) and ``QueryInput.Accepted``.
"""

from __future__ import annotations

from tui.widgets.live_condition import LiveCondition


class FilterBar(LiveCondition):
    ALLOW_EMPTY = True  # emptied: every user again (LiveCondition.Cleared)

    def reveal(self, typed: str = "") -> None:
        """Show the bar and its count, focus it and insert what was typed before it opened."""
        self.add_class("-shown")
        self.counter.add_class("-shown")
        # focus now, not after the next refresh (Widget.focus): keys typed or pasted in the same
        # burst as `f` must reach the box, not the table's bindings
        self.screen.set_focus(self.input)
        self.input.insert_text_at_cursor(typed)

    def conceal(self) -> None:
        """Empty and hide the bar: the list is every user again (the screen handles Cleared)."""
        self.set_condition("")
        self.remove_class("-shown")
        self.counter.remove_class("-shown")
