"""Issue 15, "done when": on the shipped demo no buyer silent for more than 90 days is called
certainly alive.

Computed with this tree's code from what the shipped demo.db stores (the fit of its fit date
and every buyer's model inputs, as the refresh scores them), so the test speaks for the code
whether or not demo.db was rebuilt since; read-only.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo.db"

pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="no shipped demo.db in this tree")


@pytest.fixture(scope="module")
def demo() -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{DEMO}?mode=ro", uri=True)
    yield conn
    conn.close()


def _meta(conn: sqlite3.Connection, key: str) -> date:
    return date.fromisoformat(
        conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0][:10]
    )


def test_no_buyer_silent_over_90_days_is_called_certainly_alive(demo) -> None:
    from core.analytics.predict import load_fits, predictions, stored_summary

    as_of = _meta(demo, "as_of")
    report = load_fits(demo, _meta(demo, "fit_as_of"))
    assert report is not None and report.chosen is not None
    summary = stored_summary(demo, as_of)
    shown = predictions(report, summary)["p_alive"].to_numpy()
    silence = np.rint((summary["T"] - summary["t_x"]).to_numpy() * 7)  # days since the last order
    silent = silence > 90
    one_time = summary["x"].to_numpy() == 0
    live = demo.execute(
        "SELECT count(*) FROM features WHERE frequency > 0 AND recency_days > 90"
    ).fetchone()[0]
    assert int(silent.sum()) == live > 1000  # the same buyers the features call silent
    assert int((silent & (shown >= 0.999)).sum()) == 0  # the done-when criterion, exactly
    if report.chosen == "bgnbd":
        # its 1 for a buyer without a repeat purchase is an assumption: not stored as a number
        assert np.isnan(shown[one_time]).all()
        assert not np.isnan(shown[~one_time]).any()
        assert np.nanmax(shown[silent]) < 0.95


def test_the_profile_of_a_silent_one_time_buyer_says_the_model_cannot_tell(demo) -> None:
    from core.analytics.predict import load_fits, predictions, stored_summary
    from core.views.profile import prediction_note
    from tui.i18n import Labels
    from tui.widgets.user_profile import chance_alive

    as_of = _meta(demo, "as_of")
    report = load_fits(demo, _meta(demo, "fit_as_of"))
    summary = stored_summary(demo, as_of)
    out = predictions(report, summary)
    silence = np.rint((summary["T"] - summary["t_x"]).to_numpy() * 7)
    pick = np.flatnonzero((summary["x"].to_numpy() == 0) & (silence > 90))[0]
    feats = {
        "p_alive": None if np.isnan(out["p_alive"].iloc[pick]) else out["p_alive"].iloc[pick],
        "expected_purchases_30d": float(out["expected_purchases_30d"].iloc[pick]),
        "first_order_at": summary["first_order_at"].iloc[pick],
        "last_order_at": summary["first_order_at"].iloc[pick],
    }
    note = prediction_note(feats, as_of)
    assert note == "one_purchase"
    if feats["p_alive"] is not None:  # a model that estimates it: a number, never "100%"
        assert "100" not in chance_alive(feats["p_alive"], note, Labels("en"))
