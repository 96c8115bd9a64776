"""Keys typed or pasted in one burst with `f` or `/` belong to the box they open, even though
they reach the table before the box has focus (tmux, a paste, a fast typist)."""

from __future__ import annotations

from textual import events
from tui_helpers import make_app, settle

from tui.widgets.query_input import QueryInput


def burst(app, keys: str) -> None:
    """Queue every key at once, without letting the app run in between."""
    for ch in keys:
        app.post_message(events.Key("slash" if ch == "/" else ch, ch))


async def test_a_burst_after_f_goes_into_the_filter_not_to_the_bindings(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        burst(app, "fcity")  # `c` alone would open Campaigns, `s` would sort
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert app.screen is screen
        assert screen.query_one(QueryInput).input.value == "city"


async def test_a_burst_after_slash_goes_into_the_search(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        burst(app, "/u00")
        await pilot.pause(0.3)
        assert app.screen.query_one("#search").value == "u00"
        # back on the table, letters are commands again: `s` sorts
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.focused is app.screen.table
