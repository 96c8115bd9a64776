"""Pilot tests of the segment builder on the 60-user sample database."""

from __future__ import annotations

from textual.widgets import Input
from tui_helpers import AS_OF, make_app, settle, shown_ids, text_of

from core.audience import segments
from core.query import compile_condition
from core.store.db import open_db
from tui.screens.segments import SegmentsScreen
from tui.widgets.segment_parts import overlap_condition

SIZE = (120, 40)
SHANGHAI = ["u006", "u012", "u018", "u024", "u030", "u036", "u042", "u048", "u054", "u060"]


async def open_builder(app, pilot) -> SegmentsScreen:
    await settle(app, pilot)
    app.action_analytics("segments")
    await settle(app, pilot)
    assert isinstance(app.screen, SegmentsScreen)
    return app.screen


async def type_condition(app, pilot, text: str) -> None:
    await pilot.press(*text)
    await pilot.pause(0.3)  # the debounce
    await settle(app, pilot)


async def fill_form(app, pilot, **values) -> None:
    """Fill the open FormModal and submit it with Enter in its last text field."""
    form = app.screen
    for key, value in values.items():
        form.query_one(f"#f-{key}").value = value
    form.query(Input).last().focus()
    await pilot.press("enter")
    await settle(app, pilot)


def core_count(db, text: str) -> int:
    conn = open_db(db, readonly=True)
    try:
        return segments.count(conn, compile_condition(conn, text, as_of=AS_OF))
    finally:
        conn.close()


async def test_typing_updates_count_sentence_and_preview(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_builder(app, pilot)
        text = "city = '上海' and m_score >= 2"
        await type_condition(app, pilot, text)
        expected = core_count(sample_db, text)
        assert expected == 6  # the 8 Shanghai buyers less 2 with M = 1
        assert str(screen.query_one("SegmentCount").render()) == "6 / 60 · 10.0%"
        assert text_of(screen.query_one("#human")).strip() == "city is 上海 and M score ≥ 2"
        assert screen.query_one("#preview").row_count == 6


async def test_preview_is_capped_at_twenty_rows(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_builder(app, pilot)
        await type_condition(app, pilot, "logins_30d >= 0")
        assert str(screen.query_one("SegmentCount").render()) == "60 / 60 · 100.0%"
        assert screen.query_one("#preview").row_count == 20


async def test_invalid_condition_shows_the_column(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_builder(app, pilot)
        await type_condition(app, pilot, "city = = 'x'")
        caret = text_of(screen.query_one("#caret"))
        assert caret.startswith(" " * 7 + "^ ")  # under the second '=' (0-based 7)
        assert "column 8" in caret
        assert str(screen.query_one("SegmentCount").render()) == ""


async def test_save_adds_the_segment_with_its_count_and_keeps_history(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_builder(app, pilot)
        await type_condition(app, pilot, 'tag "big_spender"')
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await fill_form(app, pilot, name="big", description="spent over 1000")
        table = screen.query_one("#saved")
        rows = {table.get_row_at(i)[1].plain: table.get_row_at(i)[2].plain for i in range(2)}
        assert rows == {"big": "31", "sh_buyers": "10"}
        screen.editor.input.value = 'tag "big_spender" and city = "上海"'
        await pilot.pause(0.3)
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await fill_form(app, pilot)  # the name is filled in: the loaded segment
        conn = open_db(sample_db, readonly=True)
        assert len(segments.history(conn, "big")) == 1
        assert segments.get(conn, "big").query == 'tag "big_spender" and city = "上海"'
        conn.close()


async def test_overlap_of_two_picked_segments_and_open_a_part(sample_db):
    conn = open_db(sample_db)
    segments.save(conn, "big", 'tag "big_spender"', as_of=AS_OF)
    expected = segments.compare(conn, "big", "sh_buyers", as_of=AS_OF)
    conn.close()
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_builder(app, pilot)
        await pilot.press("ctrl+l", "space", "down", "space")
        await settle(app, pilot)
        overlap = screen.query_one("#overlap")
        shown = tuple(int(overlap.get_row_at(i)[1].plain) for i in range(3))
        assert shown == expected == (25, 6, 4)
        overlap.focus()
        overlap.move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert type(app.screen).__name__ == "UsersScreen"
        both = [u for u in shown_ids(app)]
        assert len(both) == 6 and set(both) <= set(SHANGHAI)


async def test_delete_asks_first(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_builder(app, pilot)
        await pilot.press("ctrl+l", "ctrl+t")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert screen.query_one("#saved").row_count == 0


def test_overlap_conditions_quote_names():
    assert overlap_condition("A", 'B"x', "only_a") == 'in segment "A" and not in segment "B\\"x"'
    assert overlap_condition("A", "B", "both") == 'in segment "A" and in segment "B"'
    assert overlap_condition("A", "B", "only_b") == 'in segment "B" and not in segment "A"'


async def test_snapshot_freezes_the_highlighted_segment(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_builder(app, pilot)
        await pilot.press("ctrl+l", "ctrl+n")
        await settle(app, pilot)
        conn = open_db(sample_db, readonly=True)
        snap = conn.execute("SELECT id, name FROM segment_snapshots").fetchall()
        frozen = conn.execute("SELECT user_id FROM snapshot_members ORDER BY user_id").fetchall()
        conn.close()
        assert [name for _, name in snap] == ["sh_buyers @ 2024-06-30"]
        assert [u for (u,) in frozen] == SHANGHAI


async def test_snapshots_are_listed_and_load_their_frozen_members(sample_db):
    """issue 13, 12: a snapshot shows in the saved list (marked, with its frozen count);
    Enter puts its members in the editor as a condition; delete leaves it alone."""
    conn = open_db(sample_db)
    segments.snapshot(conn, "sh_buyers", as_of=AS_OF, snapshot_name="sh frozen")
    conn.close()
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_builder(app, pilot)
        table = screen.query_one("#saved")
        rows = [(table.get_row_at(i)[1].plain, table.get_row_at(i)[2].plain) for i in range(2)]
        assert rows == [("sh_buyers", "10"), ("sh frozen (snapshot)", "10")]
        await pilot.press("ctrl+l", "down", "enter")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert screen.editor.input.value == 'in segment "sh frozen"'
        assert str(screen.query_one("SegmentCount").render()) == "10 / 60 · 16.7%"
        assert "the members of sh_buyers as of 2024-06-30, frozen" in text_of(
            screen.query_one("#about")
        )
        await pilot.press("ctrl+l", "ctrl+t")
        await settle(app, pilot)
        assert table.row_count == 2  # not deleted, and no question asked
