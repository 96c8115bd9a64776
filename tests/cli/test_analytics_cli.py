"""``userops recompute``, ``rfm`` and ``users`` through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.store.db import open_db, set_meta
from tui.cli import cli

ORDERS = [  # as of 2024-06-30: recency 0/107/29/89, frequency 3/2/1/2, monetary 180/40/200/20
    ("o1", "u1", 100.0, "2024-06-30 23:30:00"),
    ("o2", "u1", 50.0, "2024-06-20 10:00:00"),
    ("o3", "u1", 30.0, "2024-05-01 02:00:00"),
    ("o5", "u2", 20.0, "2024-01-10 12:00:00"),
    ("o6", "u2", 20.0, "2024-03-15 12:00:00"),
    ("o7", "u3", 200.0, "2024-06-01 08:00:00"),
    ("o8", "u4", 10.0, "2024-04-02"),
    ("o9", "u4", 10.0, "2024-04-01 23:00:00"),
]


@pytest.fixture
def shop(db_path: Path) -> Path:
    conn = open_db(db_path)
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(f"u{i}",) for i in range(1, 6)])
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
    set_meta(conn, "as_of", "2024-06-30")
    conn.close()
    return db_path


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_recompute_prints_counts(shop):
    result = run("recompute", str(shop))
    assert result.exit_code == 0, result.output
    assert "users   5" in result.output and "buyers  4" in result.output
    assert "as of   2024-06-30" in result.output and "models" in result.output
    earlier = run("recompute", str(shop), "--as-of", "2024-02-01")
    assert "buyers  1" in earlier.output


def test_rfm_json_and_set(shop):
    run("recompute", str(shop))
    data = json.loads(run("rfm", str(shop), "--json").output)
    counts = {g["key"]: g["count"] for g in data["groups"]}
    assert counts["important_value"] == 1 and counts["general_retention"] == 2
    assert counts["non_buyer"] == 1
    assert data["thresholds"]["m"] == {
        "method": "mean",
        "setting": "mean",
        "value": 110.0,
        "suggested_high_low": [180.0],
        "suggested_high_mid_low": [40.0, 180.0],
    }
    # F high only with f_score 5 (u1): u2 and u4 drop to general win-back, without a recompute
    data = json.loads(run("rfm", str(shop), "--set", "f=score:5", "--json", "--cells27").output)
    counts = {g["key"]: g["count"] for g in data["groups"]}
    assert counts["general_winback"] == 2 and counts["general_retention"] == 0
    assert data["thresholds"]["f"]["setting"] == "score:5" and data["cells27"]["HHH"] == 1


def test_rfm_text_table(shop):
    run("recompute", str(shop))
    out = run("rfm", str(shop)).output
    assert "重要价值客户" in out and "important value" in out and "未购买" in out
    assert "Jenks" in out


def test_rfm_bad_setting_is_one_line(shop):
    result = CliRunner().invoke(cli, ["rfm", str(shop), "--set", "f=fixed"])
    assert result.exit_code == 2
    assert "f: method fixed needs a number" in result.output
    assert "Traceback" not in result.output


def test_users_csv_and_json(shop, tmp_path):
    run("recompute", str(shop))
    out = run("users", str(shop)).output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["user_id"] for r in rows] == ["u1", "u2", "u3", "u4", "u5"]
    needed = (
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_group",
        "p_alive",
        "expected_purchases_90d",
        "clv",
    )
    assert all(c in rows[0] for c in needed)
    assert (rows[1]["recency_days"], rows[1]["frequency"], rows[1]["monetary"]) == (
        "107",
        "2",
        "40.0",
    )
    assert rows[4]["rfm_group"] == "" and rows[4]["recency_days"] == ""
    target = tmp_path / "users.json"
    assert run("users", str(shop), "--format", "json", "-o", str(target)).output == ""
    users = json.loads(target.read_text(encoding="utf-8"))
    assert users[2]["user_id"] == "u3" and users[2]["rfm_group"] == "important_development"
    assert users[4]["rfm_group"] is None


def test_users_query_filters(shop):
    run("recompute", str(shop))
    rows = list(csv.DictReader(io.StringIO(run("users", str(shop), "frequency >= 2").output)))
    assert [r["user_id"] for r in rows] == ["u1", "u2", "u4"]


def test_missing_database_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["recompute", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_users_export_keeps_small_probabilities(shop, tmp_path):
    """A probability below 5e-7 is not written as 0.0 (issue 13, 15); sums keep 6 decimals."""
    run("recompute", str(shop))
    conn = open_db(shop)
    conn.execute("UPDATE features SET p_alive = 3.217e-08 WHERE user_id = 'u2'")
    conn.execute("UPDATE features SET p_alive = 1.234567891e-12 WHERE user_id = 'u3'")
    conn.execute("UPDATE features SET monetary = 556.3499999999999 WHERE user_id = 'u1'")
    conn.commit()
    conn.close()
    rows = list(csv.DictReader(io.StringIO(run("users", str(shop)).output)))
    assert [r["p_alive"] for r in rows[1:3]] == ["3.217e-08", "1.23457e-12"]
    assert rows[0]["monetary"] == "556.35"
    target = tmp_path / "users.json"
    run("users", str(shop), "--format", "json", "-o", str(target))
    users = json.loads(target.read_text(encoding="utf-8"))
    assert (users[1]["p_alive"], users[0]["monetary"]) == (3.217e-08, 556.35)
