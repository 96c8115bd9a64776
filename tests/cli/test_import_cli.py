"""``userops import``: options, the printed report, JSON, and the one-line error with exit 2."""

from __future__ import annotations

import io
import json
import sqlite3
import sys

from click.testing import CliRunner

from tui.cli import cli
from tui.cli.import_cmd import _progress_bar

ORDERS = "order_id,user_id,amount,created_at\no1,00042,10.5,2024-06-01\no2,7,3,2024-06-02\n"
LINES = (
    "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "1,2,2010-12-01 08:26:00,1.50,17850,France\n"
    "1,1,2010-12-01 08:26:00,2.00,17850,France\n"
    "C2,-1,2010-12-02 08:26:00,1.50,17850,France\n"
    "3,1,2010-12-03 08:26:00,1.00,,\n"
)
LINE_OPTIONS = [
    "--map", "InvoiceNo=order_id", "--map", "CustomerID=user_id",
    "--map", "InvoiceDate=created_at", "--map", "Quantity=quantity",
    "--map", "UnitPrice=unit_price", "--cancelled-prefix", "C",
    "--user-column", "Country=country",
]  # fmt: skip


def run(*args: str):
    return CliRunner().invoke(cli, ["import", *map(str, args)])


def test_creates_database_and_prints_report(tmp_path):
    (tmp_path / "o.csv").write_text(ORDERS)
    db = tmp_path / "new.db"
    result = run(db, "--orders", tmp_path / "o.csv")
    assert result.exit_code == 0, result.output
    assert "latest date in the data 2024-06-02" in result.output
    assert "2 created" in result.output and "2 inserted" in result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT user_id FROM users ORDER BY 1").fetchall() == [
            ("00042",),
            ("7",),
        ]


def test_order_lines_with_map_and_json(tmp_path):
    (tmp_path / "l.csv").write_text(LINES)
    db = tmp_path / "r.db"
    result = run(db, "--orders", tmp_path / "l.csv", *LINE_OPTIONS, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["orders_inserted"] == 1
    assert report["skipped"] == {"no user_id": 1, "cancellation line": 1}
    assert report["columns_added"] == ["country"]
    assert report["as_of"] == "2010-12-01"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT * FROM orders").fetchall() == [
            ("1", "17850", 5.0, "2010-12-01 08:26:00")
        ]
        assert conn.execute("SELECT user_id, country FROM users").fetchall() == [
            ("17850", "France")
        ]


def test_returns_net(tmp_path):
    (tmp_path / "l.csv").write_text(LINES)
    result = run(
        tmp_path / "r.db", "--orders", tmp_path / "l.csv", *LINE_OPTIONS, "--returns", "net"
    )
    assert result.exit_code == 0, result.output
    assert "2 inserted" in result.output


def test_input_error_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "o.csv").write_text("user_id,amount,created_at\n1,five,2024-01-01\n")
    result = run(tmp_path / "x.db", "--orders", tmp_path / "o.csv")
    assert result.exit_code == 2
    assert result.output == (
        f"userops: Import failed: {tmp_path / 'o.csv'}, line 2, column 'amount': "
        "'five' is not a number\n"
    )


def test_mapped_column_is_named_as_in_the_file(tmp_path):
    (tmp_path / "o.csv").write_text("Who,amount,When\n1,5,2024-01-01\n2,6,June\n")
    maps = ["--map", "Who=user_id", "--map", "When=created_at"]
    result = run(tmp_path / "x.db", "--orders", tmp_path / "o.csv", *maps)
    assert result.exit_code == 2
    assert "line 3, column 'When': 'June' is not a date" in result.output


def test_bad_map_option(tmp_path):
    result = run(tmp_path / "x.db", "--orders", "o.csv", "--map", "CustomerID")
    assert result.exit_code == 2
    assert "is not SOURCE=TARGET" in result.output


def test_no_files_given(tmp_path):
    result = run(tmp_path / "x.db")
    assert result.exit_code == 2
    assert "give at least one of --users, --orders, --events" in result.output


def test_progress_bar_only_on_a_terminal(tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _progress_bar() as progress:
        progress(50, 100)
        progress(100, 100)
    assert "Importing" in terminal.getvalue() and "100%" in terminal.getvalue()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with _progress_bar() as progress:
        assert progress is None
