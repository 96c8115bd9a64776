"""Typing in the users list's filter bar: the syntax is checked at once (cheap, on the UI
thread), the count waits for a pause in typing (debounce) and runs in an exclusive worker,
completions are looked up in another; results carry the token of their request and stale ones
are dropped. The screen that lists the users handles ``UsersCounted`` (the new listing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.timer import Timer
from textual.worker import get_current_worker

from core.errors import QueryError
from core.query import compile_condition, parse
from core.views import users
from tui.messages import CompletionsFound, FilterInvalid, UsersCounted
from tui.screens import reader
from tui.widgets.marking import MarkingScreen
from tui.widgets.query_input import QueryInput, Suggestion
from tui.widgets.segment_count import SegmentCount

if TYPE_CHECKING:
    from tui.widgets.user_table import UserTable

DEBOUNCE_S = 0.2


class FilteringScreen(MarkingScreen):
    """A users list with a QueryInput and a SegmentCount; subclasses provide ``table``."""

    if TYPE_CHECKING:

        @property
        def table(self) -> UserTable: ...

    def __init__(self) -> None:
        super().__init__()
        self.count_token = 0  # the latest filter text; older counts and completions are stale
        self._debounce: Timer | None = None

    # ---------------------------------------------------------------- workers (threads)

    @work(thread=True, exclusive=True, group="count", exit_on_error=False)
    def count_condition(self, token: int, text: str) -> None:
        with reader(self.app.settings.db_path) as conn:
            try:
                compiled = compile_condition(conn, text, as_of=self.app.settings.as_of)
            except QueryError as exc:
                self.post_message(FilterInvalid(token, text, exc.pos, str(exc)))
                return
            matching = users.count(conn, compiled.where, compiled.params)
        if not get_current_worker().is_cancelled:
            self.post_message(UsersCounted(token, text, matching, compiled.where, compiled.params))

    @work(thread=True, exclusive=True, group="complete", exit_on_error=False)
    def complete_at(self, token: int, text: str, cursor: int) -> None:
        from core.query import complete, partial_word  # loaded on first use, as core does

        with reader(self.app.settings.db_path) as conn:
            found = complete(conn, text, cursor)
        start = cursor - len(partial_word(text, cursor))
        offers = tuple(Suggestion(c.label or c.text, c.text, start) for c in found)
        if not get_current_worker().is_cancelled:
            self.post_message(CompletionsFound(token, offers))

    # ---------------------------------------------------------------- typing (UI thread)

    @on(QueryInput.Changed)
    def _filter_typed(self, message: QueryInput.Changed) -> None:
        box, counter = self.query_one(QueryInput), self.query_one(SegmentCount)
        self.count_token += 1  # any count still running is now stale
        if self._debounce is not None:
            self._debounce.stop()
        self.complete_at(self.count_token, message.text, message.cursor)
        try:
            if message.text.strip():
                parse(message.text)
        except QueryError as exc:
            box.error = (exc.pos, str(exc))
            counter.pending = False
            return
        box.error = None
        counter.pending = True
        token, text = self.count_token, message.text.strip()
        self._debounce = self.set_timer(DEBOUNCE_S, lambda: self._count_now(token, text))

    def _count_now(self, token: int, text: str) -> None:
        if token == self.count_token:
            self.count_condition(token, text)

    @on(CompletionsFound)
    def _completions(self, message: CompletionsFound) -> None:
        box = self.query_one(QueryInput)
        # only while the operator types there: a condition set from another screen
        # (open_users) must not leave the popup open over the table
        if message.token == self.count_token and box.input.has_focus:
            box.completions = message.suggestions

    @on(FilterInvalid)
    def _invalid(self, message: FilterInvalid) -> None:
        if message.token == self.count_token:
            self.query_one(SegmentCount).pending = False
            self.query_one(QueryInput).error = (message.pos, message.error)
            # the table keeps the last valid result

    @on(QueryInput.Accepted)
    def _filter_done(self) -> None:
        self.query_one(QueryInput).completions = ()
        self.table.focus()

    def action_filter(self) -> None:
        box = self.query_one(QueryInput)
        box.add_class("-shown")
        self.query_one(SegmentCount).add_class("-shown")
        # focus now, not after the next refresh (Widget.focus): keys typed or pasted in the same
        # burst as `f` must reach the box, not the table's bindings
        self.set_focus(box.input)
        box.input.insert_text_at_cursor(self.table.take_typeahead())

    def query_cancelled(self) -> None:
        self.query_one(SegmentCount).pending = False  # the last count and rows stay
