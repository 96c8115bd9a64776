"""The Models view (P): the stored fits, the model in use and why, the validation charts.

Pilot test and snapshots on the 60-user sample database, with two fits and a small validation
stored as ``userops model --validate`` stores them.
"""

from __future__ import annotations

import json

from tui_helpers import make_app, settle

from core.store.db import open_db, set_meta, transaction

VALIDATION = {
    "calibration_end": "2024-03-31",
    "holdout_end": "2024-06-30",
    "customers": 40,
    "actual_repeat_purchases": 30,
    "weeks": [1.0, 2.0, 3.0, 4.0],
    "actual_tracking": [6, 14, 21, 30],
    "buckets": ["0", "1", "2+"],
    "bucket_customers": [20, 12, 8],
    "actual_conditional": [0.3, 0.8, 1.6],
    "models": {
        "bgnbd": {
            "params": {"r": 0.3, "alpha": 4.0, "a": 0.8, "b": 2.4},
            "log_likelihood": -150.0,
            "bic": 314.8,
            "predicted_repeat_purchases": 27.0,
            "mae": 0.61,
            "tracking": [7.0, 13.5, 20.0, 27.0],
            "conditional": [0.32, 0.7, 1.3],
        },
        "pareto_nbd": {
            "params": {"r": 0.5, "alpha": 10.0, "s": 0.6, "beta": 11.0},
            "log_likelihood": -151.0,
            "bic": 316.8,
            "predicted_repeat_purchases": 29.0,
            "mae": 0.55,
            "tracking": [7.2, 14.2, 21.4, 29.0],
            "conditional": [0.2, 0.8, 1.5],
        },
        "mbgnbd": {"error": "MBG/NBD: parameter(s) b ran to the edge of the search range"},
    },
    "chosen": "pareto_nbd",
    "reason": "lowest per-customer error on the holdout 2024-03-31..2024-06-30: MAE 0.5500",
}


def _store(db) -> None:
    conn = open_db(db)
    with transaction(conn):
        conn.execute(
            "INSERT INTO model_fits(model, params, log_lik, n_customers, error, as_of, diagnostics)"
            " VALUES ('bgnbd', ?, -180.5, 50, NULL, '2024-06-30', ?),"
            " ('pareto_nbd', ?, -181.25, 50, NULL, '2024-06-30', ?),"
            " ('mbgnbd', NULL, NULL, NULL, 'MBG/NBD: b ran to the edge', '2024-06-30', NULL)",
            (
                json.dumps({"r": 0.31, "alpha": 4.2, "a": 0.79, "b": 2.5}),
                json.dumps({"converged": True}),
                json.dumps({"r": 0.52, "alpha": 10.4, "s": 0.61, "beta": 11.2}),
                json.dumps({"converged": False}),
            ),
        )
        set_meta(conn, "model_validation", json.dumps(VALIDATION))
        set_meta(conn, "model_used", json.dumps({"model": "pareto_nbd", "reason": "test"}))
    conn.close()


async def test_models_view_lists_fits_choice_and_charts(sample_db):
    _store(sample_db)
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        screen = app.screen
        assert type(screen).__name__ == "ModelsScreen"
        table = screen.query_one("#fits")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[0] for r in rows] == ["BG/NBD", "Pareto/NBD", "MBG/NBD"]
        assert rows[0][2:] == ["-180.5", "314.8", "0.6100", "converged"]
        assert rows[1][5] == "NOT converged"
        # a fit's error is not a cell (a long one pushed the other columns off the screen):
        # the row says "not fitted", the line under the table says why for the highlighted fit
        assert rows[2][1:] == ["—", "", "", "", "not fitted"]
        detail = screen.query_one("#fit-detail")
        assert str(detail.render()) == "BG/NBD: r 0.31 alpha 4.2 a 0.79 b 2.5"
        await pilot.press("down", "down")
        await settle(app, pilot)
        assert str(detail.render()) == "MBG/NBD: b ran to the edge"
        choice = str(screen.query_one("#choice").render())
        assert "Predictions use Pareto/NBD (fit of 2024-06-30): test" in choice  # its date
        assert "30 actual repeat purchases" in choice
        charts = list(screen.query("ValidationChart"))
        assert [c.kind for c in charts] == ["tracking", "conditional"]
        assert all(c.validation == VALIDATION for c in charts)
        await pilot.press("escape")
        assert type(app.screen).__name__ == "UsersScreen"


async def test_the_fits_fit_in_80_columns(sample_db):
    """At 80x24 the parameters leave the table for the line under it: every column shows."""
    _store(sample_db)
    app = make_app(sample_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        table = app.screen.query_one("#fits")
        headers = [str(c.label) for c in table.columns.values()]
        assert headers == ["model", "log-lik", "calib. BIC", "holdout MAE", "fit"]
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= 80 - 4
        assert [str(c) for c in table.get_row_at(0)] == [
            "BG/NBD", "-180.5", "314.8", "0.6100", "converged"
        ]  # fmt: skip
        detail = str(app.screen.query_one("#fit-detail").render())
        assert detail == "BG/NBD: r 0.31 alpha 4.2 a 0.79 b 2.5"


async def test_models_view_without_a_validation_says_how_to_make_one(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        assert "--validate --calibration-end" in str(app.screen.query_one("#choice").render())


def _opened(pilot_keys=("P",)):
    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        await pilot.press(*pilot_keys)
        await settle(pilot.app, pilot)

    return run_before


class TestModelsSnapshots:
    def test_models_80x24(self, snap_compare, sample_db):
        _store(sample_db)
        assert snap_compare(make_app(sample_db), terminal_size=(80, 24), run_before=_opened())

    def test_models_160x48(self, snap_compare, sample_db):
        _store(sample_db)
        assert snap_compare(make_app(sample_db), terminal_size=(160, 48), run_before=_opened())
