"""Pilot tests of the RFM screen on the 60-user sample database (tests/tui/conftest.py)."""

from __future__ import annotations

from tui_helpers import make_app, settle

from core.analytics import rfm, rfm_report
from core.store.db import open_db

SIZE = (120, 40)


async def open_rfm(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("R")
    await settle(app, pilot)
    assert type(app.screen).__name__ == "RfmScreen"


def shown_counts(app, column: int = 1) -> dict[str, str]:
    table = app.screen.query_one("#groups")
    return {row.value: table.get_row(row)[column].plain for row in table.rows}


def with_conn(db, fn):
    conn = open_db(db, readonly=True)
    try:
        return fn(conn)
    finally:
        conn.close()


async def test_groups_table_shows_core_counts(sample_db):
    groups = with_conn(sample_db, rfm_report.group_table)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_rfm(app, pilot)
        assert shown_counts(app) == {g.key: f"{g.count:,}" for g in groups}
        # the fixture: 48 buyers spread over 4 groups by i % 4, 12 non-buyers
        assert shown_counts(app)["important_value"] == "12"
        assert shown_counts(app)["non_buyer"] == "12"
        names = [app.screen.query_one("#groups").get_row_at(i)[0].plain for i in range(2)]
        assert names == ["important value", "important development"]


async def test_d_switches_the_plot_dimensions(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_rfm(app, pilot)
        scatter = app.screen.query_one("RfmScatter")
        assert scatter.dims == ("r", "f") and len(scatter.sample) == 48
        await pilot.press("d")
        assert scatter.dims == ("r", "m") and scatter.title.startswith("R–M")
        await pilot.press("d", "d")
        assert scatter.dims == ("r", "f")


async def test_trial_threshold_previews_counts_then_saving_persists(sample_db):
    trial = rfm.check_threshold("f", "fixed", 5)
    expected = with_conn(sample_db, lambda c: rfm_report.preview_groups(c, {"f": trial}))
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_rfm(app, pilot)
        await pilot.press("e")
        app.screen.query_one("#dim").value = "f"
        app.screen.query_one("#method").value = "fixed"
        app.screen.query_one("#value").focus()
        await pilot.press("5")
        await pilot.pause(0.3)  # the debounce
        await settle(app, pilot)
        preview = shown_counts(app, column=2)
        for g in expected[:-1]:
            assert preview[g.key].startswith(f"{g.count:,} (")
        assert shown_counts(app)["important_value"] == "12"  # nothing saved yet
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ConfirmSave"
        await pilot.press("y")
        await settle(app, pilot)
        assert shown_counts(app) == {g.key: f"{g.count:,}" for g in expected}
        assert shown_counts(app, column=2)["important_value"] == ""  # the preview is done
    stored = with_conn(sample_db, rfm.get_thresholds)
    assert stored["f"] == rfm.Threshold("f", "fixed", 5.0)


async def test_escape_cancels_a_trial_and_a_bad_value_says_why(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_rfm(app, pilot)
        await pilot.press("e")
        app.screen.query_one("#method").value = "score"
        app.screen.query_one("#value").focus()
        await pilot.press("9")
        await pilot.pause(0.3)
        await settle(app, pilot)
        error = app.screen.query_one("#form-error").render()
        assert "score cut must be a whole number 1-5" in str(error)
        await pilot.press("escape")
        assert app.screen.trial is None and not app.screen.has_class("-editing")


async def test_enter_on_a_group_lists_its_users(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_rfm(app, pilot)
        await pilot.press("down", "down", "enter")  # important retention
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert type(app.screen).__name__ == "UsersScreen"
        assert app.screen.matching == 12
        assert app.screen.query_one("#condition").value == 'rfm = "important_retention"'
        assert app.screen.query_one("FilterBar").completions == ()  # not typed: no popup
        assert app.focused is app.screen.query_one("UserTable")


async def test_c_switches_to_the_27_cells(sample_db):
    cells = with_conn(sample_db, rfm_report.cell27_table)
    app = make_app(sample_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_rfm(app, pilot)
        await pilot.press("v")
        table = app.screen.query_one("#cells")
        assert table.display and not app.screen.query_one("#groups").display
        assert table.row_count == 9
        shown = sum(int(table.get_row_at(i)[j].plain) for i in range(9) for j in (1, 2, 3))
        assert shown == sum(cells.values())
