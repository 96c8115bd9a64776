"""Cancelling a slow query from the keyboard (ctrl+x): the statement is interrupted, the
operator is told, the earlier results stay and the screen keeps working."""

from __future__ import annotations

import asyncio
import sqlite3

from tui_helpers import make_app, settle, shown_ids

from tui.widgets import query_runner
from tui.widgets.footer import KeysFooter

SIZE = (120, 40)
ENDLESS = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"


def endless_count(conn: sqlite3.Connection, *args, **kwargs) -> int:
    """A count that never ends on its own: only Connection.interrupt() stops it."""
    return conn.execute(ENDLESS).fetchone()[0]


async def wait_until(condition, pilot, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
        await pilot.pause()
    raise AssertionError("condition not met in time")


def interrupt_all() -> None:
    """Whatever a failing test left running is stopped, so the event loop can close."""
    with query_runner.RUNNING._lock:
        for conn in query_runner.RUNNING._by_worker.values():
            conn.interrupt()


def footer_keys(app) -> set[str]:
    return {b.binding.description for b in app.screen.active_bindings.values()}


async def test_ctrl_x_cancels_a_slow_filter_count(sample_db, monkeypatch):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        try:
            await pilot.press("f", *"city = '上海'")  # 10 users of the 60 (i % 6 == 0)
            await pilot.pause(0.3)  # the debounce
            await settle(app, pilot)
            assert len(shown_ids(app)) == 10
            assert "Cancel query" not in footer_keys(app)  # nothing runs: the key is hidden
            monkeypatch.setattr("core.views.users.count", endless_count)
            # set at once, as if pasted: typed key by key, each pause would start a count
            app.screen.query_one("QueryInput").input.value = "city = '上海' and r_score >= 1"
            await wait_until(lambda: query_runner.RUNNING._by_worker, pilot)  # the count is stuck
            assert "Cancel query" in footer_keys(app)
            footer = app.screen.query_one(KeysFooter)  # drawn once the query ran 0.3 s
            await wait_until(lambda: footer.shows("cancel_query"), pilot)
            assert app.screen.query_one("SegmentCount").pending

            await pilot.press("ctrl+x")  # while the filter Input has focus
            await wait_until(lambda: not query_runner.RUNNING._by_worker, pilot)  # thread stopped
            await settle(app, pilot)
            messages = [n.message for n in app._notifications]
            assert "query cancelled" in messages
            assert not [n for n in app._notifications if n.severity == "error"]
            assert "Cancel query" not in footer_keys(app)
            assert not footer.shows("cancel_query")
            assert len(shown_ids(app)) == 10  # the earlier result stays on screen
            assert str(app.screen.query_one("SegmentCount").render()) == "10 / 60 · 16.7%"

            monkeypatch.undo()  # the screen still works: the next count goes through
            await pilot.press("end", "space")
            await pilot.pause(0.3)
            await settle(app, pilot)
            assert len(shown_ids(app)) == 8  # the Shanghai buyers: u025 and u055 never bought
        finally:
            interrupt_all()


async def test_ctrl_x_without_a_query_keeps_its_input_meaning(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f", *"city")
        await settle(app, pilot)
        await pilot.press("ctrl+x")
        await settle(app, pilot)
        assert "query cancelled" not in [n.message for n in app._notifications]


def test_interrupted_errors_are_recognised_through_wrappers():
    from core.errors import CoreError

    try:
        try:
            raise sqlite3.OperationalError("interrupted")
        except sqlite3.OperationalError as exc:
            raise CoreError("reading users failed: interrupted") from exc
    except CoreError as wrapped:
        assert query_runner.was_interrupted(wrapped)
    assert not query_runner.was_interrupted(sqlite3.OperationalError("database is locked"))
    assert not query_runner.was_interrupted(None)


async def test_a_quick_query_leaves_the_footer_as_it_is(sample_db, monkeypatch):
    """A page read in less than CANCEL_KEY_AFTER never shows the cancel key: the footer is not
    rebuilt twice (~40 ms each) on the way to the page (it was, at each worker state)."""
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        rebuilt = []
        shown = KeysFooter.recompose

        async def recompose(footer):
            rebuilt.append(footer)
            await shown(footer)

        monkeypatch.setattr(KeysFooter, "recompose", recompose)
        await pilot.press("end")  # the last page: a worker of the cancellable group "page"
        await settle(app, pilot)
        await pilot.pause(app.screen.CANCEL_KEY_AFTER)
        await settle(app, pilot)
        assert shown_ids(app)[-1] == "u060" and rebuilt == []
