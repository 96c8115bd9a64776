"""The app's screens. Workers open their own read-only connection with :func:`reader`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from textual import on
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from core.db import open_db


@contextmanager
def reader(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection for one worker thread (never shared across threads)."""
    conn = open_db(path, readonly=True)
    try:
        yield conn
    finally:
        conn.close()


class WorkingScreen(Screen):
    """A screen whose thread workers report failures in one place (the app's error router).

    Worker.StateChanged does not bubble, so each screen forwards it; the routing itself lives
    in :meth:`tui.app.UserOpsApp.report_worker_error`.
    """

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.report_worker_error(event.worker.error)
