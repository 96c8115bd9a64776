"""Snapshots of the layers, RFM and tags screens on the sample database (fixed as-of, sizes).

Review changes in snapshot_report.html before any --snapshot-update.
"""

from __future__ import annotations

from tui_helpers import make_app, settle


def opened(*keys: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        await pilot.press(*keys)
        await settle(app, pilot)

    return run_before


class TestLayers:
    def test_layers(self, snap_compare, sample_db):
        assert snap_compare(make_app(sample_db), terminal_size=(120, 36), run_before=opened("L"))

    def test_layers_80x24(self, snap_compare, sample_db):
        assert snap_compare(make_app(sample_db), terminal_size=(80, 24), run_before=opened("L"))


class TestRfm:
    def test_rfm(self, snap_compare, sample_db):
        assert snap_compare(make_app(sample_db), terminal_size=(120, 40), run_before=opened("R"))

    def test_rfm_27_cells_zh(self, snap_compare, sample_db):
        app = make_app(sample_db, lang="zh")
        assert snap_compare(app, terminal_size=(120, 40), run_before=opened("R", "v", "d"))


class TestTags:
    def test_tags_predictive(self, snap_compare, sample_db):
        keys = ("T", "down", "down", "down")
        assert snap_compare(make_app(sample_db), terminal_size=(120, 36), run_before=opened(*keys))
