"""``userops import``: options, the printed report, JSON, and the one-line error with exit 2."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from tui.cli import cli
from tui.cli import import_cmd as import_cmd_module
from tui.cli.import_cmd import _progress_bar, local_zone, one_year_after

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


# --- issue 12: time zone, latest date, amount bound, no database left behind, JSON -------------

OFFSETS = "user_id,amount,created_at\n1,5,2024-01-02T03:04:05+08:00\n2,6,2024-01-03 10:00\n"


def test_tz_converts_offsets_and_the_report_says_so(tmp_path):
    (tmp_path / "o.csv").write_text(OFFSETS)
    db = tmp_path / "z.db"
    result = run(db, "--orders", tmp_path / "o.csv", "--tz", "Europe/Paris")
    assert result.exit_code == 0, result.output
    assert "  times             1 with a UTC offset, converted to Europe/Paris\n" in result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT created_at FROM orders ORDER BY 1").fetchall() == [
            ("2024-01-01 20:04:05",),
            ("2024-01-03 10:00:00",),  # naive: taken as already in Europe/Paris
        ]
    result = run(tmp_path / "j.db", "--orders", tmp_path / "o.csv", "--tz", "UTC", "--json")
    report = json.loads(result.output)
    assert (report["time_zone"], report["times_converted"]) == ("UTC", 1)


def test_default_zone_is_the_machines(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    assert local_zone() == ZoneInfo("Asia/Shanghai")
    (tmp_path / "o.csv").write_text(OFFSETS)
    result = run(tmp_path / "z.db", "--orders", tmp_path / "o.csv", "--json")
    assert json.loads(result.output)["time_zone"] == "Asia/Shanghai"
    with sqlite3.connect(tmp_path / "z.db") as conn:
        assert conn.execute("SELECT min(created_at) FROM orders").fetchone() == (
            "2024-01-02 03:04:05",
        )


def test_bad_tz_is_a_usage_error(tmp_path):
    result = run(tmp_path / "z.db", "--orders", "o.csv", "--tz", "Mars/Olympus")
    assert result.exit_code == 2
    assert "'Mars/Olympus' is not a time zone name" in result.output


def test_future_dates_default_bound_is_one_year_after_today(tmp_path):
    today = date.today()
    ok, late = one_year_after(today), one_year_after(today) + timedelta(days=1)
    (tmp_path / "ok.csv").write_text(f"user_id,amount,created_at\n1,5,{ok}\n")
    (tmp_path / "late.csv").write_text(f"user_id,amount,created_at\n1,5,{late}\n")
    assert run(tmp_path / "a.db", "--orders", tmp_path / "ok.csv").exit_code == 0
    result = run(tmp_path / "b.db", "--orders", tmp_path / "late.csv")
    assert result.exit_code == 2
    assert f"column 'created_at': '{late}' is after {ok}, the latest date accepted" in result.output
    assert not (tmp_path / "b.db").exists()
    result = run(tmp_path / "b.db", "--orders", tmp_path / "late.csv", "--allow-future-dates")
    assert result.exit_code == 0, result.output
    result = run(tmp_path / "c.db", "--orders", tmp_path / "ok.csv", "--latest-date", "2000-01-01")
    assert result.exit_code == 2 and "is after 2000-01-01" in result.output
    both = ("--latest-date", "2000-01-01", "--allow-future-dates")
    result = run(tmp_path / "c.db", "--orders", tmp_path / "ok.csv", *both)
    assert result.output == "userops: give --latest-date or --allow-future-dates, not both\n"


def test_one_year_after_29_february():
    assert one_year_after(date(2024, 2, 29)) == date(2025, 2, 28)
    assert one_year_after(date(2025, 7, 1)) == date(2026, 7, 1)


def test_max_amount_option(tmp_path):
    (tmp_path / "o.csv").write_text("user_id,amount,created_at\n1,2000,2024-01-01\n")
    result = run(tmp_path / "a.db", "--orders", tmp_path / "o.csv", "--max-amount", "1000")
    assert result.exit_code == 2
    assert "'2000' is beyond ±1000, the largest amount accepted" in result.output
    assert run(tmp_path / "a.db", "--orders", tmp_path / "o.csv").exit_code == 0


def test_any_failure_of_a_first_import_leaves_no_database(tmp_path, monkeypatch):
    (tmp_path / "o.csv").write_text(ORDERS)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(import_cmd_module, "import_files", broken)
    result = run(tmp_path / "new.db", "--orders", tmp_path / "o.csv")
    assert isinstance(result.exception, RuntimeError)
    assert list(tmp_path.iterdir()) == [tmp_path / "o.csv"]


def test_users_json_never_holds_infinity_or_nan(tmp_path):
    (tmp_path / "o.csv").write_text(ORDERS)
    db = tmp_path / "r.db"
    assert run(db, "--orders", tmp_path / "o.csv").exit_code == 0
    with sqlite3.connect(db) as conn:  # a database filled before amounts were bounded
        conn.execute("UPDATE orders SET amount = 1e308 * 10 WHERE order_id = 'o1'")
    assert CliRunner().invoke(cli, ["recompute", str(db)]).exit_code == 0
    result = CliRunner().invoke(cli, ["users", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    users = {u["user_id"]: u for u in json.loads(result.output, parse_constant=refuse)}
    assert users["00042"]["monetary"] is None
    assert users["7"]["monetary"] == 3.0
