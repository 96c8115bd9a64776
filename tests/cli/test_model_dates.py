"""A model fit belongs to a date: on the CDNOW sample (first 39 weeks to 1997-09-30, data to
1998-06-30), the recompute as of 1997-09-30 stores the fit of that date, `userops model` prints
it (the published BG/NBD estimates) and the stored P(alive) comes from it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from core.analytics.models import p_alive
from core.analytics.predict import load_fits
from core.store.db import open_db
from tui.cli import cli

CDNOW = Path(__file__).parent.parent / "data" / "cdnow_summary.csv"
CALIBRATION_END = date(1997, 9, 30)


def _cdnow_db(path: Path) -> None:
    """Each CDNOW customer's calibration history as orders (x repeat days, the last t_x weeks
    after the first, which is T weeks before 1997-09-30), and one later order each for every
    third customer, up to 1998-06-30."""
    cdnow = pd.read_csv(CDNOW)
    rows = []
    for row in cdnow.itertuples():
        first = CALIBRATION_END - timedelta(days=round(row.T * 7))
        last = round(row.t_x * 7)
        days = sorted({0, *np.linspace(0, last, int(row.x) + 1)[1:].round().astype(int)})
        assert len(days) == row.x + 1
        rows += [
            (f"c{row.ID}", float(row.zbar) or 10.0, first + timedelta(days=int(d))) for d in days
        ]
        if row.ID % 3 == 0:
            rows.append((f"c{row.ID}", 15.0, date(1998, 6, 30) - timedelta(days=row.ID % 200)))
    conn = open_db(path, create=True)
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(f"c{i}",) for i in cdnow["ID"]])
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [(f"o{i}", u, amount, d.isoformat()) for i, (u, amount, d) in enumerate(rows)],
    )
    conn.execute("INSERT INTO meta(key, value) VALUES ('data_latest', '1998-06-30')")
    conn.close()


@pytest.fixture(scope="module")
def cdnow_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.db"
    _cdnow_db(path)
    result = CliRunner().invoke(cli, ["recompute", str(path), "--as-of", "1997-09-30"])
    assert result.exit_code == 0, result.output
    return path


def test_model_after_recompute_prints_the_published_estimates(cdnow_db: Path) -> None:
    result = CliRunner().invoke(cli, ["model", str(cdnow_db), "--json"])
    assert result.exit_code == 0, result.output
    bg = json.loads(result.output)["bgnbd"]
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    assert bg["r"] == pytest.approx(0.243, rel=0.01)
    assert bg["alpha"] == pytest.approx(4.414, rel=0.01)
    assert bg["a"] == pytest.approx(0.793, rel=0.01)
    assert bg["b"] == pytest.approx(2.426, rel=0.01)
    assert bg["n_customers"] == 2357


def test_the_stored_predictions_come_from_the_stored_fit(cdnow_db: Path) -> None:
    conn = open_db(cdnow_db)
    fit = load_fits(conn, CALIBRATION_END)
    assert fit is not None and fit.chosen_fit is not None
    got = pd.read_sql_query(
        "SELECT f.user_id, f.p_alive, i.x, i.t_x_days,"
        " julianday('1997-09-30') - julianday(substr(i.first_order_at, 1, 10)) AS t_days"
        " FROM features f JOIN model_inputs i USING (user_id) ORDER BY f.user_id",
        conn,
    )
    conn.close()
    assert len(got) == 2357
    # the chosen purchase model's (issue 15): as the recompute chose it on these orders
    want = p_alive(fit.chosen_fit, got["x"].to_numpy(float), got["t_x_days"] / 7, got["t_days"] / 7)
    assert np.allclose(got["p_alive"], want, rtol=1e-12)


def test_model_as_of_another_date_reports_without_storing(cdnow_db: Path) -> None:
    result = CliRunner().invoke(cli, ["model", str(cdnow_db), "--json", "--as-of", "1998-06-30"])
    assert result.exit_code == 0, result.output
    assert "not stored: the features are as of 1997-09-30" in result.output
    conn = open_db(cdnow_db)
    dates = {r[0] for r in conn.execute("SELECT as_of FROM model_fits")}
    assert dates == {"1997-09-30"}
    conn.close()
    again = json.loads(CliRunner().invoke(cli, ["model", str(cdnow_db), "--json"]).output)
    assert again["bgnbd"]["r"] == pytest.approx(0.243, rel=0.01)  # the stored fit, unchanged
