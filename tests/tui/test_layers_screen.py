"""Pilot tests of the layers screen on the 60-user sample database (tests/tui/conftest.py)."""

from __future__ import annotations

from tui_helpers import AS_OF, make_app, settle

from core.rules import layers
from core.store.db import open_db

SIZE = (120, 40)


async def open_layers(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("L")
    await settle(app, pilot)
    assert type(app.screen).__name__ == "LayersScreen"


def core_report(db) -> layers.MeceReport:
    conn = open_db(db, readonly=True)
    try:
        return layers.mece_report(conn, AS_OF)
    finally:
        conn.close()


async def test_pyramid_shows_the_counts_of_the_mece_report(sample_db):
    report = core_report(sample_db)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_layers(app, pilot)
        tiers = app.screen.query_one("Pyramid").tiers
        assert [(t.name, t.count) for t in tiers] == [
            (c.name_en if c.key != "unclassified" else "unclassified", c.count)
            for c in report.pyramid
        ]
        assert sum(t.count for t in tiers) == 60
        # registered (logins_30d >= 0) catches everyone: nobody is left in the gap
        assert tiers[-1].count == 0
        mece = app.screen.query_one("#mece")
        keys = [row.value for row in mece.rows]
        # the catch-all's pairs are not overlaps: one row says who is only in it (issue 13 item 5)
        assert keys == [f"{o.a}|{o.b}" for o in report.overlaps] + ["catch_all", "gap"]
        assert mece.get_row("gap")[1].plain == "0"


async def test_enter_on_an_overlap_lists_exactly_those_users(sample_db):
    report = core_report(sample_db)
    overlap = next(o for o in report.overlaps if (o.a, o.b) == ("buyer", "active"))
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_layers(app, pilot)
        mece = app.screen.query_one("#mece")
        mece.move_cursor(row=mece.get_row_index("buyer|active"))
        await pilot.press("enter")
        await pilot.pause(0.3)  # the filter bar's debounce
        await settle(app, pilot)
        assert type(app.screen).__name__ == "UsersScreen"
        assert app.screen.matching == overlap.count > 0
        assert app.screen.query_one("UserTable").row_count == overlap.count


async def test_transitions_since_a_typed_date(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_layers(app, pilot)
        matrix = app.screen.query_one("#matrix")
        assert str(matrix.ordered_columns[0].label) == "2024-05-31 → 2024-06-30"  # 30 days back
        await pilot.press("d", *"2024-03-01", "enter")
        await settle(app, pilot)
        assert str(matrix.ordered_columns[0].label) == "2024-03-01 → 2024-06-30"
        totals = [int(matrix.get_row_at(i)[-1].plain) for i in range(matrix.row_count)]
        assert sum(totals) == 60  # every user is in exactly one cell


async def test_a_bad_date_is_reported_not_crashed(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_layers(app, pilot)
        await pilot.press("d", *"2024-13-01", "enter")
        await settle(app, pilot)
        assert any("is not a date" in n.message for n in app._notifications)
        await pilot.press("escape", "escape")  # out of the date box, then back to users
        await settle(app, pilot)
        assert type(app.screen).__name__ == "UsersScreen"


async def test_chinese_names_follow_the_language(sample_db):
    app = make_app(sample_db, lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await open_layers(app, pilot)
        names = [t.name for t in app.screen.query_one("Pyramid").tiers]
        assert names == ["购买用户", "活跃用户", "流失用户", "注册用户", "未分类"]
