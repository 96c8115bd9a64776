"""Helpers for the Pilot and snapshot tests (imported by the test modules)."""

from __future__ import annotations

import contextlib
import io
import time
from datetime import date
from pathlib import Path

AS_OF = date(2024, 6, 30)  # the sample database's as-of date


def make_app(db: Path, *, lang: str = "en", mask: bool = False):
    from tui.app import Settings, UserOpsApp

    return UserOpsApp(Settings(db, AS_OF, lang, mask))


def app_on(path: Path, engine: str, lang: str = "en", as_of: date = AS_OF, read_only: bool = False):
    """The app on ``path`` on its engine (``read_only``: as ``userops DB --read-only``), and
    the list of what it said as a warning or an error ("title|message"), the notifications
    shown as usual."""
    from tui.app import Settings, UserOpsApp

    app = UserOpsApp(Settings(path, as_of, lang, False, engine=engine, read_only=read_only))
    said: list[str] = []
    shown = app.notify

    def notify(message: str, *, title: str = "", **options) -> None:
        if options.get("severity") in ("error", "warning"):
            said.append(f"{title}|{message}")
        shown(message, title=title, **options)

    app.notify = notify  # type: ignore[method-assign]
    return app, said


async def settle(app, pilot, rounds: int = 3) -> None:
    """Let workers finish and their messages be handled (results can start new workers)."""
    from textual.worker import WorkerCancelled, WorkerFailed

    for _ in range(rounds):
        # a worker that fails while we wait raises here; a quicker one that failed before
        # would not: either way the app's error route reports it, and tests assert on that.
        # An exclusive worker (a count) cancelled by its successor while we wait raises too
        # (seen on a loaded machine): the successor is waited for in the next round.
        with contextlib.suppress(WorkerFailed, WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()


async def counts_done(app, pilot, timeout: float = 30.0) -> None:
    """Wait until no count on the screen is pending: on a loaded machine the debounce timer
    can fire after a fixed pause, and settle() finds no worker yet to wait for."""
    from tui.widgets.segment_count import SegmentCount

    deadline = time.monotonic() + timeout
    while any(c.pending for c in app.screen.query(SegmentCount)) and time.monotonic() < deadline:
        await pilot.pause(0.05)
        await settle(app, pilot)


def shown_ids(app) -> list[str]:
    table = app.screen.query_one("UserTable")
    return [table.get_row_at(i)[0].plain for i in range(table.row_count)]


def text_of(widget) -> str:
    """What a Static shows, as plain text (rich renderables rendered at a fixed width)."""
    from rich.console import Console

    console = Console(width=160, record=True, color_system=None, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()
