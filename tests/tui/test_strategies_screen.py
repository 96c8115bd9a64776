"""Pilot tests of the Strategies screen on the sample database with four strategies built through
the core API (strategy_fixture): the list's rows, the form's live count and validation, pause,
delete, the dry run and run now (in the database), the report."""

from __future__ import annotations

import pytest
from strategy_fixture import build_strategies_db
from tui_helpers import make_app, settle, text_of

from core.audience import strategies as st
from core.store.db import open_db
from tui.screens.strategies import RunConfirm, StrategiesScreen
from tui.widgets.live_condition import LiveCondition
from tui.widgets.strategy_form import StrategyForm

SIZE = (160, 48)
EVERYONE = "+6.7 [-5.7, +21.3]"  # 2 of 30 targets converted, 0 of 30 control (Newcombe)


@pytest.fixture
def strategies_db(tmp_path):
    return build_strategies_db(tmp_path / "s.db")


async def open_strategies(app, pilot) -> StrategiesScreen:
    await settle(app, pilot)
    app.action_analytics("strategies")
    await settle(app, pilot)
    assert isinstance(app.screen, StrategiesScreen)
    return app.screen


def rows(screen, table_id: str = "#strategies") -> list[list[str]]:
    table = screen.query_one(table_id)
    return [[c.plain for c in table.get_row_at(i)] for i in range(table.row_count)]


def stored(db) -> dict[str, st.Strategy]:
    conn = open_db(db, readonly=True)
    try:
        return {s.name: s for s in st.list_all(conn)}
    finally:
        conn.close()


async def test_the_list_shows_each_strategy_with_its_last_run(strategies_db):
    app = make_app(strategies_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_strategies(app, pilot)
        assert rows(screen) == [
            ["shanghai", "active", "daily", "2024-06-20", "8", "2", "", "▅", ""],
            ["buyers", "active", "mon,thu", "2024-06-20", "9", "0", "", "▅", ""],
            ["big", "paused", "daily", "", "0", "0", "", "", ""],
            ["everyone", "paused", "daily", "2024-06-01", "30", "30", EVERYONE, "▅", EVERYONE],
        ]


async def test_at_80_columns_the_list_fits_and_widens_again(strategies_db):
    """At 80x24 the list keeps name, status, last run, sizes and the latest uplift (the schedule,
    trend and cumulative are in the report): no sideways scrolling; wider, every column again."""
    app = make_app(strategies_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_strategies(app, pilot)
        table = screen.query_one("#strategies")
        assert [str(c.label) for c in table.columns.values()] == [
            "Strategy", "Status", "Last run", "Targets", "Control", "Uplift [95% CI]"
        ]  # fmt: skip
        assert rows(screen)[3] == ["everyone", "paused", "2024-06-01", "30", "30", EVERYONE]
        assert table.virtual_size.width <= table.scrollable_content_region.width
        runs = screen.query_one("#runs")  # the report: sizes, conversions, uplift
        assert [str(c.label) for c in runs.columns.values()] == [
            "Date", "Targets", "Control", "Conv. T", "Conv. C", "Uplift [95% CI]"
        ]  # fmt: skip
        assert runs.virtual_size.width <= runs.scrollable_content_region.width
        await pilot.resize_terminal(160, 48)
        await settle(app, pilot)
        assert len(table.columns) == 9 and rows(screen)[1][2] == "mon,thu"
        assert len(runs.columns) == 8


async def test_the_report_of_the_highlighted_strategy(strategies_db):
    app = make_app(strategies_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_strategies(app, pilot)
        about = text_of(screen.query_one("#about"))
        assert "warning: the holdout is too small to measure: 2 control users" in about
        await pilot.press("down", "down", "down")  # everyone: one run big enough to measure
        await settle(app, pilot)
        assert screen.selected == "everyone"
        line = ["30", "30", "6.7%", "0.0%", EVERYONE, "13.0", "push: hello"]
        assert rows(screen, "#runs") == [["2024-06-01", *line], ["cumulative", *line]]
        assert "warning" not in text_of(screen.query_one("#about"))  # 30 and 30: measurable
        await pilot.press("up", "up")  # buyers: its offer is text, not markup
        await settle(app, pilot)
        assert rows(screen, "#runs")[0][-1] == "push: [bold]coupon"


async def test_the_form_counts_live_and_shows_the_overlaps(strategies_db):
    app = make_app(strategies_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_strategies(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, StrategyForm)
        form.query_one("#f-name").value = "sh2"
        form.query_one(LiveCondition).input.value = "city = '上海'"
        await pilot.pause(0.5)  # the debounce of the count and of the preview
        await settle(app, pilot)
        assert form.query_one(LiveCondition).counter.matching == 10
        shown = text_of(form.query_one("#preview"))
        assert "today: 10 match · 10 wanted · 0 would be targeted, 0 control" in shown
        assert "removed: priority 10" in shown  # shanghai (priority 5) takes all of them
        assert "overlap with the others: buyers 0, shanghai 10" in shown
        form.query_one("#f-priority").value = "9"  # now it takes them from shanghai
        await pilot.pause(0.5)
        await settle(app, pilot)
        shown = text_of(form.query_one("#preview"))
        assert "removed: none" in shown and "10 wanted · 9 would be targeted, 1 control" in shown


async def test_a_mistake_keeps_the_form_open_with_the_message_at_its_field(strategies_db):
    app = make_app(strategies_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_strategies(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        form = app.screen
        form.query_one("#f-name").value = "sh2"
        form.query_one(LiveCondition).input.value = "city = '上海'"
        form.query_one("#f-offer").value = "5 元券"
        form.query_one("#f-holdout").value = "abc"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is form
        assert text_of(form.query_one("#e-holdout")).strip() == (
            "Holdout %: a number, please (got 'abc')"
        )
        assert "sh2" not in stored(strategies_db)
        form.query_one("#f-holdout").value = "100"  # core's own check, at the same field
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is form
        assert "Holdout 100.0% is out of range" in text_of(form.query_one("#e-holdout"))
        form.query_one(LiveCondition).input.value = "city = = '上海'"  # the trigger's column
        form.query_one("#f-holdout").value = "25"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is form and form.query_one(LiveCondition).error[0] == 7
        form.query_one(LiveCondition).input.value = "city = '上海'"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
        saved = stored(strategies_db)["sh2"]
        assert (saved.condition, saved.offer, saved.holdout_pct) == ("city = '上海'", "5 元券", 25)
        assert screen.highlighted() == "sh2"


async def test_pause_toggles_the_status(strategies_db):
    app = make_app(strategies_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_strategies(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        assert rows(screen)[0][:2] == ["shanghai", "paused"]
        assert stored(strategies_db)["shanghai"].status == "paused"
        await pilot.press("p")
        await settle(app, pilot)
        assert rows(screen)[0][:2] == ["shanghai", "active"]
        assert stored(strategies_db)["shanghai"].status == "active"


async def test_delete_asks_first(strategies_db):
    app = make_app(strategies_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_strategies(app, pilot)
        await pilot.press("down", "down", "d")  # big
        await settle(app, pilot)
        await pilot.press("n")  # no: nothing deleted
        await settle(app, pilot)
        assert "big" in stored(strategies_db)
        await pilot.press("d")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert "big" not in stored(strategies_db)
        assert [r[0] for r in rows(screen)] == ["shanghai", "buyers", "everyone"]


def run_count(db) -> dict[str, int]:
    conn = open_db(db, readonly=True)
    try:
        found = conn.execute(
            "SELECT strategy || ' ' || run_date, COUNT(*) FROM strategy_runs GROUP BY 1"
        ).fetchall()
        members = conn.execute(
            "SELECT role, COUNT(*) FROM campaign_members"
            " WHERE campaign = 'strategy shanghai 2024-06-30' GROUP BY role"
        ).fetchall()
        return dict(found) | {f"members {r}": n for r, n in members}
    finally:
        conn.close()


async def test_run_now_shows_the_dry_run_then_runs_once(strategies_db):
    before = run_count(strategies_db)
    app = make_app(strategies_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_strategies(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, RunConfirm)
        dry = text_of(app.screen.query_one("#dry"))
        assert "Dry run as of 2024-06-30" in dry
        assert "shanghai: matched 10 · removed: none · 8 targets, 2 control" in dry
        assert "sms: 10 元券: 8" in dry
        assert "buyers: not due on 2024-06-30 (schedule mon,thu)" in dry
        assert run_count(strategies_db) == before  # a dry run writes nothing
        await pilot.press("n")
        await settle(app, pilot)
        assert run_count(strategies_db) == before
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert run_count(strategies_db) == before | {
            "shanghai 2024-06-30": 1,
            "members target": 8,
            "members control": 2,
        }
        folder = strategies_db.parent / "s-targets"  # the default: beside the database
        assert text_of(screen.query_one("#note")).strip() == (
            f"strategies run: 1; 8 targets, 2 control · target files in {folder}"
        )
        lines = (folder / "shanghai_2024-06-30.csv").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1 + 8  # a header and the 8 targets (never the control)
        assert rows(screen)[0][:6] == ["shanghai", "active", "daily", "2024-06-30", "8", "2"]


def test_a_run_with_nobody_new_is_a_gap_not_a_zero_and_says_so():
    from datetime import date

    from core.audience.effect import GroupStats, Uplift
    from core.audience.strategies.report import NOBODY_NEW, RunEffect, RunPoint
    from tui.i18n import Labels
    from tui.widgets.strategy_parts import effect_cells, sparkline, summary_cells

    assert sparkline([1.0, 0.0, 3.0], [False, True, False]) == "▁ █"  # the 0 is not read
    assert sparkline([None, 5.0], [True, False]) == " ▅"
    s = st.Strategy(name="cart", condition="frequency >= 1", offer="x")
    up = Uplift(absolute=0.1, relative=None, low=0.02, high=0.18, method="m")
    series = (
        RunPoint(date(2025, 12, 1), 40, 5, None, None, None),
        RunPoint(date(2025, 12, 2), 0, 0, None, None, None, empty=True),
    )
    row = st.StrategySummary(
        s, date(2025, 12, 2), 2, 0, 0, None, series, up, last_empty=True, last_reason=NOBODY_NEW
    )
    for lang, word in (("en", "nobody new"), ("zh", "无新目标")):
        cells = [c.plain for c in summary_cells(row, Labels(lang))]
        assert cells[3:8] == ["2025-12-02", word, "", "", "▅ "]  # targets' trend, a gap
    nobody = GroupStats(users=0, converted=0, orders=0, revenue=0.0)
    run = RunEffect(date(2025, 12, 2), "coupon: x", nobody, nobody, None, None, None, True,
                    NOBODY_NEW, empty=True)  # fmt: skip
    cells = [c.plain for c in effect_cells(run, Labels("en"))]
    assert cells == ["2025-12-02", "", "", "", "", "nobody new", "", "coupon: x"]
