"""``userops user DB ID``: the profile screen's content on the command line (issue 13, 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_analytics_cli import ORDERS

from core.store.db import open_db, set_meta
from tui.cli import cli


@pytest.fixture
def shop(db_path: Path) -> str:
    conn = open_db(db_path)
    conn.executemany(
        "INSERT INTO users(user_id, name, phone) VALUES (?, ?, ?)",
        [(f"u{i}", f"名{i}", f"1380000000{i}") for i in range(1, 6)],
    )
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
    conn.execute(
        "INSERT INTO events(user_id, kind, created_at) VALUES ('u3', 'login', ?)",
        ("2024-06-20 09:00:00",),
    )
    set_meta(conn, "as_of", "2024-06-30")
    conn.commit()
    conn.close()
    db = str(db_path)
    assert CliRunner().invoke(cli, ["recompute", db]).exit_code == 0
    conn = open_db(db_path)
    # the models need more buyers than this: the one-time buyer's output set by hand
    conn.execute("UPDATE features SET p_alive = 1.0, clv = 2500.0 WHERE user_id = 'u3'")
    conn.execute("INSERT INTO user_tags VALUES ('u3', '高价值潜力')")  # as a recompute would
    conn.commit()
    conn.close()
    return db


def user(*args: str) -> str:
    result = CliRunner().invoke(cli, ["user", *args])
    assert result.exit_code == 0, result.output
    return result.output


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_user_prints_what_the_profile_shows(shop):
    out = lines(user(shop, "u3", "--lang", "en"))
    assert out[0] == "名3  u3 · buyer · important development"
    assert "✓ buyer: orders_30d >= 1" in out  # the rule trail
    assert "✗ churned: recency_days > 90 and days_since_active >= 30" in out
    # u3: recency 29 among recencies 0/29/89/107 -> 3 of 4 buyers at or above
    assert "R recency   29 days · 4/5 · at or above buyers 75%" in out  # the percentiles
    assert any(
        line.startswith("chance the customer is still active")
        and line.endswith("one purchase only: the model cannot tell yet")
        for line in out
    )
    assert "predictive 高价值潜力  clv >= 2000  clv = 2500.0" in out  # the tag with its reason
    assert " 2024-06-01 08:00  200.00  o7" in out  # the timeline
    assert " 2024-06-20 09:00  login" in out
    assert out[-1] == "2022-07 … 2024-06 · max 2 · Σ 2"


def test_user_json_and_mask(shop):
    data = json.loads(user(shop, "u3", "--json"))
    assert (data["user_id"], data["layer"], data["as_of"]) == ("u3", "buyer", "2024-06-30")
    assert data["layer_rule"]["condition"] == "orders_30d >= 1" and data["layer_rule"]["met"]
    assert [c["key"] for c in data["rules_not_met"]][:2] == ["new", "churned"]
    assert data["rfm_percentiles"]["r"] == 0.75
    assert data["orders"] == [["o7", "2024-06-01 08:00:00", 200.0]]
    assert data["prediction_note"] == "one_purchase"
    assert [t["name"] for t in data["tags"]["predictive"]] == ["高价值潜力"]
    assert data["attributes"]["phone"] == "13800000003"
    masked = json.loads(user(shop, "u3", "--json", "--mask"))
    assert masked["attributes"]["phone"] != "13800000003"
    assert "13800000003" not in user(shop, "u3", "--mask", "--lang", "en")


def test_unknown_user_is_one_line(shop):
    result = CliRunner().invoke(cli, ["user", shop, "nobody"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["userops: Not found: no user with id 'nobody'"]


def test_order_only_data_says_not_measured(tmp_path):
    """issue 13, 10: on order-only data the recompute names what cannot apply, and the
    profile says "not measured" instead of logins 0, leaving out attributes nobody has."""
    orders = tmp_path / "o.csv"
    orders.write_text(
        "CustomerID,InvoiceDate,Amount,Country\n"
        "12347,2011-06-01 10:00:00,100,Iceland\n12347,2011-12-07 15:52:00,50,Iceland\n"
    )
    db = str(tmp_path / "retail.db")
    runner = CliRunner()
    done = runner.invoke(
        cli,
        ["import", db, "--orders", str(orders), "--map", "CustomerID=user_id"]
        + ["--map", "InvoiceDate=created_at", "--map", "Amount=amount"]
        + ["--user-column", "Country=country"],
    )
    assert done.exit_code == 0, done.output
    out = runner.invoke(cli, ["recompute", db]).output.splitlines()
    start = out.index(
        "cannot apply to this data (they read what it does not record; counts are not measured):"
    )
    assert out[start + 2] == "  layer new: signup_at: no user has a signup date"
    assert "  tag 加购未付: carts_open: no cart_add events in the data" in out
    data = json.loads(runner.invoke(cli, ["recompute", db, "--json"]).output)
    assert {"kind": "tag", "name": "iOS用户", "condition": 'device = "iOS"',
            "why": ["device: no user has a device"]} in data["not_applicable"]  # fmt: skip
    shown = lines(user(db, "12347", "--lang", "en"))
    assert "country          Iceland" in shown
    assert any(line.startswith("not in this data Name, Gender, City") for line in shown)
    assert not any(line.startswith("logins in 30 days") for line in shown)
    assert any(
        line.startswith("not measured          logins, views, posts, check-ins, carts")
        for line in shown
    )
    assert (
        "✗ new: signup_at >= -29d and frequency = 0  (reads what this data does not"
        in "\n".join(shown)
    )
    zh = "\n".join(lines(user(db, "12347", "--lang", "zh")))
    assert "未计量" in zh and "数据中没有" in zh
