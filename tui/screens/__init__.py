"""The app's screens and their base classes. Workers open their own read-only connection with
:func:`reader` (tui.widgets.query_runner; widgets never import screens)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import events, getters, on
from textual.binding import ActiveBinding, Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TextArea
from textual.worker import Worker, WorkerState

from tui.i18n import binding_description
from tui.messages import Reload
from tui.widgets import query_runner
from tui.widgets.query_runner import reader

__all__ = ["WorkingScreen", "reader"]

if TYPE_CHECKING:
    from tui.app import UserOpsApp


def footer_order(bindings: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    """Help first, then the screen's own keys, then the app's (quit, the other screens): on a
    narrow terminal the footer cuts from the right, and ``?`` with this screen's keys must stay
    (issue 13 item 9)."""

    def rank(item: tuple[str, ActiveBinding]) -> int:
        binding = item[1].binding
        if binding.id == "app.help":
            return 0
        return 2 if (binding.id or "").startswith("app.") else 1

    return dict(sorted(bindings.items(), key=rank))  # stable: the order within a rank stays


class WorkingScreen(Screen):
    """A screen whose thread workers report failures in one place (the app's error router).

    Worker.StateChanged does not bubble, so each screen forwards it (and widgets that run
    workers, like LiveCondition, forward theirs to their screen); the routing itself lives
    in :meth:`tui.app.UserOpsApp.report_worker_error`. Workers of the groups in ``CANCELLABLE``
    (the user-typed or slow queries) can be stopped with ``ctrl+x``, shown in the footer once
    one has run for CANCEL_KEY_AFTER seconds, until none runs.
    """

    CANCELLABLE: tuple[str, ...] = ()
    IGNORES: frozenset[str] = frozenset()  # the app's writes (DataWritten.what) not shown here
    if TYPE_CHECKING:  # for mypy: screens run inside the one UserOpsApp (settings, labels, …)
        app = getters.app(UserOpsApp)

    BINDINGS = [
        Binding(
            "ctrl+x",
            "cancel_query",
            "Cancel query",
            id="query.cancel",
            tooltip="Stop the query that is still running; the last results stay",
            priority=True,  # also while typing in a condition (the Input's cut otherwise)
        ),
    ]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The keys as the footer and the help show them, described in the app's language."""
        labels = self.app.labels
        shown = {}
        for key, active in footer_order(super().active_bindings).items():
            b = active.binding
            words = binding_description(b.id, b.description, labels.lang)
            tip = labels.text(b.tooltip)
            if words != b.description or tip != b.tooltip:
                active = active._replace(binding=replace(b, description=words, tooltip=tip))
            shown[key] = active
        return shown

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_query":
            return bool(self.slow_queries())
        return True

    def slow_queries(self) -> list[Worker]:
        own = [w for w in self.app.workers if w.node is self or self._holds(w.node)]
        return query_runner.running(own, self.CANCELLABLE)

    def _holds(self, node: object) -> bool:
        """Is ``node`` a widget on this screen (its workers are this screen's queries)?"""
        return isinstance(node, Widget) and self in node.ancestors

    def action_cancel_query(self) -> None:
        if query_runner.cancel(self.slow_queries()):
            self.query_cancelled()
            self.notify(self.app.labels("query_cancelled"), markup=False)
        self.refresh_bindings()

    def _show_cancel_key(self) -> None:
        if self.slow_queries():  # still running
            self.refresh_bindings()

    def query_cancelled(self) -> None:
        """A query was cancelled: undo its 'pending' look (the earlier results stay shown)."""

    # ---------------------------------------------------------------- freshness

    def refresh_data(self) -> None:
        """Read what the screen shows again (in its workers): after a write, in the app or by
        another process. Screens override it; the default is nothing to read."""

    def action_reload(self) -> None:  # the layers and tags screens bind it to ctrl+r
        self.refresh_data()

    def is_editing(self) -> bool:
        """The operator is typing in this screen (it is on top and a text box has the focus):
        a change by another program then waits until they leave the box (it is said so)."""
        return self.app.screen is self and isinstance(self.focused, Input | TextArea)

    @on(Reload)
    def _reload(self, message: Reload) -> None:
        if message.what in self.IGNORES:
            return
        if message.external and self.is_editing():
            if not getattr(self, "_reload_waits", False):  # said once until it reloads
                self._reload_waits = True
                labels = self.app.labels
                self.notify(labels("changed_outside"), title=labels("changed"), markup=False)
            return
        self._reload_waits = False
        self.action_reload()

    @on(events.DescendantFocus)
    def _left_the_box(self) -> None:
        """The focus moved: a reload that waited for the operator to stop typing runs now."""
        if getattr(self, "_reload_waits", False) and not self.is_editing():
            self._reload_waits = False
            self.action_reload()

    # seconds a query runs before the footer shows the cancel key: each footer change rebuilds
    # it (~40 ms of styling, twice per query), which a page or a profile (tens of ms) would pay
    # on the way to its result for a key nobody could press in time (ctrl+x works at once)
    CANCEL_KEY_AFTER = 0.3

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group in self.CANCELLABLE:
            if event.state == WorkerState.RUNNING:
                self.set_timer(self.CANCEL_KEY_AFTER, self._show_cancel_key)
            elif event.state != WorkerState.PENDING:
                # the cancel key hidden again; what the result enables (tab's completion) shown
                # (KeysFooter rebuilds only when what it shows changes)
                self.refresh_bindings()
        if event.state != WorkerState.ERROR:
            return
        if query_runner.was_interrupted(event.worker.error):
            self.query_cancelled()  # interrupted outside the key: still a cancellation
            self.notify(self.app.labels("query_cancelled"), markup=False)
            return
        self.app.report_worker_error(event.worker.error)
