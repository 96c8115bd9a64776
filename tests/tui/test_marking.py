"""Marking targets of the current campaign from the users table and the profile (space, M, u)."""

from __future__ import annotations

from test_campaign_screen import members
from tui_helpers import AS_OF, make_app, settle

from core.audience import campaigns as cmp
from core.store.db import open_db

SIZE = (120, 40)


def table(app):
    return app.screen.query_one("UserTable")


def mark_of(app, user_id: str) -> str:
    """The mark column's cell for ``user_id`` (the first column while a campaign is current)."""
    return table(app).get_row(user_id)[0].plain


def ids(app) -> list[str]:
    t = table(app)
    return [t.get_row_at(i)[1].plain for i in range(t.row_count)]  # after the mark column


async def start(app, pilot, campaign: str = "summer") -> None:
    await settle(app, pilot)
    app.current_campaign = campaign
    app.screen.refresh_marks()
    await settle(app, pilot)


async def test_space_marks_the_highlighted_user(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        assert mark_of(app, "u001") == "●"  # the sample's one target of summer
        await pilot.press("down", "space")  # u002
        await settle(app, pilot)
        assert members(sample_db, "summer") == {"u001": "target", "u002": "target"}
        assert mark_of(app, "u002") == "●"
        assert "summer: 2 target · 0 control" in app.screen.query_one("StatusLine").text


async def test_marks_survive_sorting_and_paging(sample_db, monkeypatch):
    monkeypatch.setattr("tui.screens.users.PAGE_SIZE", 25)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        table(app).move_cursor(row=4)  # u005
        await pilot.press("space")
        await settle(app, pilot)
        await pilot.press("r")  # user id descending: u060 … u036 on the first page
        await settle(app, pilot)
        assert ids(app)[0] == "u060" and "u005" not in ids(app)
        await pilot.press("G")  # the last page holds u025 … u001
        await settle(app, pilot)
        assert ids(app)[-1] == "u001"
        marked = [u for u in ids(app) if mark_of(app, u) == "●"]
        assert marked == ["u005", "u001"]


async def test_undo_removes_the_last_mark(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("down", "down", "space")  # u003
        await settle(app, pilot)
        assert "u003" in members(sample_db, "summer")
        await pilot.press("u")
        await settle(app, pilot)
        assert members(sample_db, "summer") == {"u001": "target"}
        assert mark_of(app, "u003") == ""


async def test_space_on_a_target_unmarks_it(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("space")  # u001 is a target already
        await settle(app, pilot)
        assert members(sample_db, "summer") == {}
        assert mark_of(app, "u001") == ""


async def test_locked_campaign_refuses_marks(sample_db):
    conn = open_db(sample_db)
    cmp.set_status(conn, "summer", "sent", who="test", as_of=AS_OF)
    conn.close()
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("down", "space")
        await settle(app, pilot)
        assert members(sample_db, "summer") == {"u001": "target"}
        assert any("locked" in str(n.message) for n in app._notifications)
        assert "summer (locked)" in app.screen.query_one("StatusLine").text


async def test_mark_all_filtered_after_confirmation(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("f", *"city = '上海'")
        await pilot.pause(0.3)
        await settle(app, pilot)
        await pilot.press("enter", "M")  # Enter leaves the filter bar for the table
        await settle(app, pilot)
        assert "Mark all 10 filtered users" in str(app.screen.query_one("Static").render())
        await pilot.press("y")
        await settle(app, pilot)
        roles = members(sample_db, "summer")
        assert len(roles) == 11 and set(roles.values()) == {"target"}  # holdout 0
        assert all(mark_of(app, u) == "●" for u in ids(app))


async def test_no_current_campaign_hides_the_keys(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("space")
        await settle(app, pilot)
        assert members(sample_db, "summer") == {"u001": "target"}
        assert table(app).get_row_at(0)[0].plain == "u001"  # no mark column


async def test_profile_space_marks_its_user(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        app.open_profile("u004")
        await settle(app, pilot)
        await pilot.press("space")
        await settle(app, pilot)
        assert members(sample_db, "summer")["u004"] == "target"
        assert "● summer: 2 target" in app.screen.query_one("StatusLine").text


async def test_locked_database_is_a_notification_not_a_crash(sample_db, monkeypatch):
    monkeypatch.setattr("core.store.db.BUSY_TIMEOUT_MS", 50)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        other = open_db(sample_db)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            await pilot.press("down", "space")
            await settle(app, pilot)
        finally:
            other.execute("ROLLBACK")
            other.close()
        titles = [n.title for n in app._notifications]
        assert "Database problem" in titles
        assert members(sample_db, "summer") == {"u001": "target"}
        assert type(app.screen).__name__ == "UsersScreen"


async def test_mark_all_says_the_control_size_and_what_it_can_detect(sample_db):
    """issue 13, 14: marking adds targets only, so the control stays as it is (0 here): the
    question warns that the effect report will never have enough data."""
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("f", *"city = '上海'")
        await pilot.pause(0.3)
        await settle(app, pilot)
        await pilot.press("enter", "M")
        await settle(app, pilot)
        text = str(app.screen.query_one("Static").render())
        assert "after marking: control 0 · targets 11 · base conversion" in text
        assert '⚠ control under 30: the effect report will only say "not enough data"' in text
