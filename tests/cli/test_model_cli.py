"""``userops model DB``: JSON shape, human output, stored fits, unfit models and bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from core.store.db import open_db
from tui.cli import cli

CDNOW = Path(__file__).parent.parent / "data" / "cdnow_summary.csv"


def _fill(path: Path, n_users: int, as_of: str | None = "2024-10-01") -> None:
    """Orders that replay the first n CDNOW customers on days from 2024-01-01."""
    cdnow = pd.read_csv(CDNOW).head(n_users)
    start = pd.Timestamp("2024-01-01")
    rows = []
    for row in cdnow.itertuples():
        days = {0} | {round(row.t_x * 7 * k / row.x) for k in range(1, int(row.x) + 1)}
        amount = float(row.zbar) or 10.0
        rows += [
            (f"u{row.ID}", amount, (start + pd.Timedelta(days=d)).isoformat(" ")) for d in days
        ]
    conn = open_db(path)
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(f"u{i}",) for i in cdnow["ID"]])
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)", [(f"o{i}", *r) for i, r in enumerate(rows)]
    )
    if as_of:
        conn.execute("INSERT INTO meta(key, value) VALUES ('as_of', ?)", (as_of,))
    conn.close()


def test_model_json_shape_and_stored_fits(db_path: Path) -> None:
    _fill(db_path, 300)
    result = CliRunner().invoke(cli, ["model", str(db_path), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert set(got) == {"bgnbd", "gamma_gamma", "pareto_nbd", "mbgnbd", "chosen", "diagnostics"}
    assert set(got["bgnbd"]) == {
        "r",
        "alpha",
        "a",
        "b",
        "time_unit",
        "log_likelihood",
        "n_customers",
    }
    assert set(got["gamma_gamma"]) == {"p", "q", "v", "log_likelihood", "n_customers"}
    assert got["bgnbd"]["time_unit"] == "weeks"
    assert got["bgnbd"]["n_customers"] == 300
    assert got["gamma_gamma"]["n_customers"] == 300 - sum(pd.read_csv(CDNOW).head(300)["x"] == 0)
    assert got["bgnbd"]["log_likelihood"] < 0
    conn = sqlite3.connect(db_path)
    stored = dict(conn.execute("SELECT model, as_of FROM model_fits").fetchall())
    conn.close()
    assert stored == dict.fromkeys(["bgnbd", "pareto_nbd", "mbgnbd", "gamma_gamma"], "2024-10-01")


def test_model_human_output_names_time_unit(db_path: Path) -> None:
    _fill(db_path, 300)
    result = CliRunner().invoke(cli, ["model", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "time unit: weeks" in result.output
    assert "log-likelihood" in result.output
    assert "alpha" in result.output and "not fitted" not in result.output


def test_model_reports_unfit_models(db_path: Path) -> None:
    _fill(db_path, 4)
    result = CliRunner().invoke(cli, ["model", str(db_path), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert got["bgnbd"] == {"error": "only 4 customer(s) with orders; BG/NBD needs at least 10"}
    assert list(got["gamma_gamma"]) == ["error"]
    text = CliRunner().invoke(cli, ["model", str(db_path)]).output
    assert "not fitted: only 4 customer(s)" in text


def test_model_as_of_option_cuts_orders(db_path: Path) -> None:
    _fill(db_path, 300)
    # on 2024-01-01 every buyer has just made their first purchase: no repeat buyers yet
    result = CliRunner().invoke(cli, ["model", str(db_path), "--json", "--as-of", "2024-01-01"])
    got = json.loads(result.output)
    assert "repeat buyers" in got["bgnbd"]["error"]


def test_model_without_as_of_date_fails_cleanly(db_path: Path) -> None:
    _fill(db_path, 20, as_of=None)
    result = CliRunner().invoke(cli, ["model", str(db_path)])
    assert result.exit_code == 2
    assert "no as-of date stored" in result.output


@pytest.mark.parametrize(
    "args", [["model", "missing.db"], ["model", "x.db", "--as-of", "2024-13-01"]]
)
def test_model_bad_input_exits_2(tmp_path: Path, args: list[str]) -> None:
    args = [args[0], str(tmp_path / args[1]), *args[2:]]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_model_validate_json_and_recorded_choice(db_path: Path) -> None:
    _fill(db_path, 300)
    args = ["model", str(db_path), "--validate", "--calibration-end", "2024-06-30", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert got["calibration_end"] == "2024-06-30" and got["holdout_end"] == "2024-10-01"
    assert set(got["models"]) == {"bgnbd", "pareto_nbd", "mbgnbd"}
    assert got["chosen"] in ("pareto_nbd", "mbgnbd")  # BG/NBD only when chosen explicitly
    conn = sqlite3.connect(db_path)
    choice = json.loads(
        conn.execute("SELECT value FROM meta WHERE key = 'model_choice'").fetchone()[0]
    )
    assert choice["model"] == got["chosen"] and choice["by"] == "validation"
    conn.close()
    text = CliRunner().invoke(cli, ["model", str(db_path), "--use", "bgnbd", "--json"])
    assert json.loads(text.output)["chosen"]["model"] == "bgnbd"


def test_model_validate_bad_dates_exit_2(db_path: Path) -> None:
    _fill(db_path, 30)
    missing = CliRunner().invoke(cli, ["model", str(db_path), "--validate"])
    assert missing.exit_code == 2 and "--calibration-end" in missing.output
    args = ["model", str(db_path), "--validate", "--calibration-end", "2024-12-01"]
    reversed_ = CliRunner().invoke(cli, args)
    assert reversed_.exit_code == 2 and "must come after" in reversed_.output
