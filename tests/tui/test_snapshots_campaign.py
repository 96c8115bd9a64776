"""Snapshots of the segment builder (valid and invalid condition), the campaign screen and the
users table with the mark column, on the sample database (fixed as-of date, no blinking cursor).

Update only after looking at snapshot_report.html.
"""

from __future__ import annotations

from test_snapshots import still
from tui_helpers import counts_done, make_app, settle


def on(screen: str, *keys: str, current: str | None = None):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        app.current_campaign = current
        app.action_analytics(screen) if screen != "users" else app.screen.refresh_marks()
        await settle(app, pilot)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.3)  # the debounce of the count
            await settle(app, pilot)
            await counts_done(app, pilot)
        still(app)

    return run_before


class TestSegmentBuilder:
    def test_valid_condition(self, snap_compare, sample_db):
        run_before = on("segments", *"city = '上海' and m_score >= 2")
        assert snap_compare(make_app(sample_db), terminal_size=(120, 40), run_before=run_before)

    def test_invalid_condition_80x24(self, snap_compare, sample_db):
        run_before = on("segments", *"city = = '上海'")
        assert snap_compare(make_app(sample_db), terminal_size=(80, 24), run_before=run_before)


class TestCampaignScreen:
    def test_campaigns(self, snap_compare, sample_db):
        run_before = on("campaigns", current="summer")
        assert snap_compare(make_app(sample_db), terminal_size=(120, 40), run_before=run_before)

    def test_users_with_marks(self, snap_compare, sample_db):
        run_before = on("users", current="summer")
        assert snap_compare(make_app(sample_db), terminal_size=(100, 30), run_before=run_before)
