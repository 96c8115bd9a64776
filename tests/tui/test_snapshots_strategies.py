"""Snapshots of the Strategies screen (the list and the highlighted strategy's report, the chart)
on the sample database with four strategies (strategy_fixture), at 80x24 and 160x48, in both
languages. Update only after looking at snapshot_report.html."""

from __future__ import annotations

import pytest
from strategy_fixture import build_strategies_db
from test_snapshots import still
from tui_helpers import make_app, settle


@pytest.fixture
def strategies_db(tmp_path):
    return build_strategies_db(tmp_path / "s.db")


def on_strategies(*keys: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        app.action_analytics("strategies")
        await settle(app, pilot)
        if keys:
            await pilot.press(*keys)
            await settle(app, pilot)
        still(app)

    return run_before


class TestStrategiesScreen:
    def test_list_and_report_80x24(self, snap_compare, strategies_db):
        app = make_app(strategies_db)
        assert snap_compare(app, terminal_size=(80, 24), run_before=on_strategies())

    def test_list_and_report_80x24_chinese(self, snap_compare, strategies_db):
        app = make_app(strategies_db, lang="zh")
        assert snap_compare(app, terminal_size=(80, 24), run_before=on_strategies())

    def test_measured_report_160x48(self, snap_compare, strategies_db):
        app = make_app(strategies_db)
        run_before = on_strategies("down", "down", "down")  # everyone: 30 and 30
        assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)

    def test_measured_report_160x48_chinese(self, snap_compare, strategies_db):
        app = make_app(strategies_db, lang="zh")
        run_before = on_strategies("down", "down", "down")
        assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)

    def test_uplift_chart_160x48(self, snap_compare, strategies_db):
        app = make_app(strategies_db)
        run_before = on_strategies("down", "down", "down", "v")
        assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)
