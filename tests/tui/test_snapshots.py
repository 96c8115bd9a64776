"""Snapshots of the screens on the sample database (fixed as-of date, sizes, no blinking cursor).

Update only after looking at snapshot_report.html: ``pytest tests/tui/test_snapshots.py
--snapshot-update``.
"""

from __future__ import annotations

from textual.widgets import Input
from tui_helpers import make_app, settle


def still(app) -> None:
    for box in app.screen.query(Input):
        box.cursor_blink = False


def ready(*keys: str, profile: str | None = None, wait: float = 0.0):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(wait)
            await settle(app, pilot)
        if profile:
            app.open_profile(profile)
            await settle(app, pilot)
        still(app)

    return run_before


class TestUsersScreen:
    def test_home_120x40(self, snap_compare, sample_db):
        assert snap_compare(make_app(sample_db), terminal_size=(120, 40), run_before=ready())

    def test_home_80x24_chinese(self, snap_compare, sample_db):
        app = make_app(sample_db, lang="zh")
        assert snap_compare(app, terminal_size=(80, 24), run_before=ready())

    def test_filter_invalid(self, snap_compare, sample_db):
        """A valid condition is counted, then a mistake is typed: the error shows under its
        column and the last valid count stays. Typed in two steps so that which prefix got
        counted never depends on how fast keys arrive."""

        async def run_before(pilot) -> None:
            await ready("f", *"city = '上海'", wait=0.5)(pilot)
            await ready(*" and r_score >= = 4", wait=0.5)(pilot)

        assert snap_compare(make_app(sample_db), terminal_size=(120, 40), run_before=run_before)

    def test_too_small(self, snap_compare, sample_db):
        assert snap_compare(make_app(sample_db), terminal_size=(50, 12), run_before=ready())

    def test_too_small_narrow_zh(self, snap_compare, sample_db):
        # narrower than the message: it wraps inside its box (it used to be cut at the edge)
        app = make_app(sample_db, lang="zh")
        assert snap_compare(app, terminal_size=(30, 10), run_before=ready())


class TestProfileScreen:
    def test_profile_120x40(self, snap_compare, sample_db):
        run_before = ready(profile="u004")
        assert snap_compare(make_app(sample_db), terminal_size=(120, 40), run_before=run_before)

    def test_profile_80x24_masked(self, snap_compare, sample_db):
        app = make_app(sample_db, mask=True)
        assert snap_compare(app, terminal_size=(80, 24), run_before=ready(profile="u007"))

    def test_profile_200x60(self, snap_compare, sample_db):
        run_before = ready(profile="u004")
        assert snap_compare(make_app(sample_db), terminal_size=(200, 60), run_before=run_before)
