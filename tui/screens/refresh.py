"""Refreshing the figures from the app: a modal with a progress bar while ``core.refresh`` runs
in a thread worker on its own connection; it dismisses with the report (None on failure, after
handing the error to the app's error route)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from textual import getters, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, ProgressBar

from core.refresh import STEPS, RefreshReport, refresh
from tui.widgets.query_runner import refreshing

if TYPE_CHECKING:
    from tui.app import UserOpsApp


class RefreshModal(ModalScreen[RefreshReport | None]):
    if TYPE_CHECKING:  # for mypy: inside the one UserOpsApp (settings, labels, error route)
        app = getters.app(UserOpsApp)
    """Runs the refresh to ``as_of`` (None: the latest date in the data) and shows each step."""

    DEFAULT_CSS = """
    RefreshModal { align: center middle; }
    RefreshModal > Vertical {
        width: 60; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    RefreshModal ProgressBar { margin-top: 1; }
    """

    def __init__(self, as_of: date | None) -> None:
        super().__init__()
        self.as_of = as_of

    def compose(self) -> ComposeResult:
        target = self.as_of.isoformat() if self.as_of else self.app.labels("latest_date")
        with Vertical():
            yield Label(f"{self.app.labels('refreshing')} {target}", markup=False)
            yield Label("", id="step", markup=False)
            yield ProgressBar(total=STEPS, show_eta=False)

    def on_mount(self) -> None:
        self.run_refresh()

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def run_refresh(self) -> None:
        try:
            with refreshing(self.app.settings.db_path) as conn:
                report = refresh(conn, self.as_of, progress=self._progress)
        except Exception as exc:  # the transaction rolled back: the previous figures stay
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self.dismiss, report)

    def _failed(self, error: Exception) -> None:
        self.dismiss(None)
        self.app.report_worker_error(error)  # the app's single error route

    def _progress(self, done: int, total: int, what: str) -> None:
        self.app.call_from_thread(self._show, done, total, what)

    def _show(self, done: int, total: int, what: str) -> None:
        self.query_one("#step", Label).update(what)
        self.query_one(ProgressBar).update(total=total, progress=done)
