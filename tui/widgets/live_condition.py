"""A condition editor that checks, counts and completes while the operator types: the one
live-condition component of the users list's filter bar and the segment builder.

The syntax is checked at once on the UI thread (cheap); the count waits for a pause in typing
(:class:`Debounce`) and runs in an exclusive thread worker, completions in another. Every
request carries the token of the text it was made for, and results for an older text are
dropped here, so the screen only ever sees current ones:

* ``LiveCondition.Counted``: the compiled condition (``core.query.Compiled``, what the screen
  keeps and hands back to core), how many users match and the first ``preview`` of them;
* ``LiveCondition.Invalid``: the text does not parse or compile: where (0-based) and why;
* ``LiveCondition.Completions``: what may be typed at the cursor.

The editor shows the error under its column and the completions itself; its ``counter``
(a :class:`SegmentCount`, its last child) shows the count or that one is pending. Workers
never touch a widget: they post these messages, handled on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.message_pump import MessagePump
from textual.timer import Timer
from textual.worker import Worker, get_current_worker

from core.errors import QueryError
from core.query import Compiled, compile_condition, parse
from core.views import users
from tui.widgets.query_input import QueryInput, Suggestion
from tui.widgets.query_runner import reader
from tui.widgets.segment_count import SegmentCount


class _RunsInUserOps(Protocol):
    """What this widget needs of its app (widgets never import the app module)."""

    settings: Any  # tui.app.Settings: db_path, as_of


DEBOUNCE_S = 0.2
COUNT_GROUP, COMPLETE_GROUP = "condition.count", "condition.complete"


class Debounce:
    """The latest request wins: each change takes a new token (older ones are stale) and
    restarts the timer of the call that waits for a pause."""

    def __init__(self, node: MessagePump, delay: float = DEBOUNCE_S) -> None:
        self.node, self.delay = node, delay
        self.token = 0
        self._timer: Timer | None = None

    def bump(self) -> int:
        """A new request: every earlier token is stale and a waiting call is dropped."""
        self.token += 1
        self.stop()
        return self.token

    def is_current(self, token: int) -> bool:
        return token == self.token

    def later(self, call: Callable[[], object]) -> None:
        """Run ``call`` after the delay, unless another request came first."""
        token = self.token
        self.stop()

        def fire() -> None:
            if self.is_current(token):
                call()

        self._timer = self.node.set_timer(self.delay, fire)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None


def plain_offer(completion) -> str:
    """A completion as the popup lists it: its label, else the text it inserts."""
    return completion.label or completion.text


class LiveCondition(QueryInput):
    """A QueryInput that counts the users its condition matches while the operator types."""

    @dataclass
    class Counted(Message):
        """The condition compiled and was counted: the screen's new condition and its size."""

        token: int
        condition: Compiled
        matching: int
        preview: list[users.UserRow] = field(default_factory=list)

    @dataclass
    class Invalid(Message):
        """The condition does not parse or compile: where (0-based) and why."""

        token: int
        text: str
        pos: int
        error: str

        @property
        def column(self) -> int:
            """1-based, as the message says it."""
            return self.pos + 1

    @dataclass
    class Completions(Message):
        token: int
        suggestions: tuple[Suggestion, ...]

    @dataclass
    class Cleared(Message):
        """The text was emptied where an empty condition means every user (ALLOW_EMPTY)."""

        token: int

    ALLOW_EMPTY = False  # the users list's filter bar: empty is "no filter", not an error

    def __init__(
        self,
        placeholder: str = "",
        *,
        preview: int = 0,
        offer: Callable[[object], str] = plain_offer,
        debounce: float = DEBOUNCE_S,
        check: Callable[..., object] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(placeholder, **kwargs)
        # what else the condition must satisfy, called as check(conn, text, as_of=…) after it
        # compiles (e.g. a layer rule may not use `layer`): its QueryError shows at its column
        self.check = check
        self.preview = preview  # how many matching users each count also fetches
        self.offer = offer  # a completion's label in the popup
        self.requests = Debounce(self, debounce)
        self._set_here: str | None = None  # a text set by set_condition, not typed

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield SegmentCount(id="count")

    @property
    def counter(self) -> SegmentCount:
        return self.query_one(SegmentCount)

    @property
    def token(self) -> int:
        """The token of the current text: results carrying another one are stale."""
        return self.requests.token

    # ---------------------------------------------------------------- workers (threads)

    @work(thread=True, exclusive=True, group=COUNT_GROUP, exit_on_error=False)
    def count_condition(self, token: int, text: str) -> None:
        settings = cast(_RunsInUserOps, self.app).settings
        with reader(settings.db_path) as conn:
            try:
                compiled = compile_condition(conn, text, as_of=settings.as_of)
                if self.check is not None:
                    self.check(conn, text, as_of=settings.as_of)
            except QueryError as exc:
                self.post_message(self.Invalid(token, text, exc.pos, str(exc)))
                return
            matching = users.count(conn, compiled)
            rows = (
                users.page(conn, condition=compiled, limit=self.preview).rows
                if self.preview
                else []
            )
        if not get_current_worker().is_cancelled:
            self.post_message(self.Counted(token, compiled, matching, rows))

    @work(thread=True, exclusive=True, group=COMPLETE_GROUP, exit_on_error=False)
    def complete_at(self, token: int, text: str, cursor: int) -> None:
        from core.query import complete, partial_word  # loaded on first use, as core does

        with reader(cast(_RunsInUserOps, self.app).settings.db_path) as conn:
            found = complete(conn, text, cursor)
        start = cursor - len(partial_word(text, cursor))
        offers = tuple(Suggestion(self.offer(c), c.text, start) for c in found)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Completions(token, offers))

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        # it does not bubble: the screen routes failures and shows the cancel key (WorkingScreen)
        self.screen.post_message(Worker.StateChanged(event.worker, event.state))

    # ---------------------------------------------------------------- typing (UI thread)

    @on(QueryInput.Changed)
    def _typed(self, message: QueryInput.Changed) -> None:
        token = self.requests.bump()  # any count still running is now stale
        typed, self._set_here = message.text != self._set_here, None
        if typed:  # nothing to offer for a condition the operator did not type
            self.complete_at(token, message.text, message.cursor)
        if self.ALLOW_EMPTY and not message.text.strip():
            self.error = None
            self.counter.pending = False
            self.post_message(self.Cleared(token))
            return
        try:
            if message.text.strip():
                parse(message.text)
        except QueryError as exc:
            self.post_message(self.Invalid(token, message.text, exc.pos, str(exc)))
            self._show_invalid(exc.pos, str(exc))
            return
        self.error = None
        self.counter.pending = True
        text = message.text.strip()
        self.requests.later(lambda: self.count_condition(token, text))

    def _show_invalid(self, pos: int, error: str) -> None:
        self.counter.pending = False  # the last valid count stays
        labels = getattr(self.app, "labels", None)  # the app's language (none in a bare App)
        self.error = (pos, labels.message(error) if labels else error)

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        if not self.requests.is_current(message.token):
            message.stop()  # typed on since: the screen never sees it
            return
        self.error = None
        self.counter.pending, self.counter.matching = False, message.matching

    @on(Invalid)
    def _invalid(self, message: Invalid) -> None:
        if not self.requests.is_current(message.token):
            message.stop()
            return
        self._show_invalid(message.pos, message.error)

    @on(Cleared)
    def _cleared(self, message: Cleared) -> None:
        if not self.requests.is_current(message.token):
            message.stop()

    @on(Completions)
    def _completions(self, message: Completions) -> None:
        message.stop()  # the editor shows them; nothing else needs them
        # only while the operator types here: a condition set from elsewhere (a list opened
        # from another screen) must not leave the popup open
        if self.requests.is_current(message.token) and self.input.has_focus:
            self.completions = message.suggestions

    @on(QueryInput.Accepted)
    def _accepted(self) -> None:
        self.completions = ()

    def cancelled(self) -> None:
        """The count was cancelled: no longer pending; the last count stays."""
        self.counter.pending = False

    def set_condition(self, text: str) -> None:
        """Show ``text`` as if typed (it is checked and counted), without a completion popup."""
        self._set_here = text
        self.input.value = text
        self.completions = ()
