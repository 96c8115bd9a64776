"""One clock: the database's as-of date is the features' date; imports report the latest date
they saw without moving it; another date is refused rather than mixed with stored columns."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from core.errors import CoreError
from core.ingest.importer import import_files
from core.pipeline import recompute
from core.store.db import check_as_of, get_meta, latest_data_date, open_db, stored_as_of
from tui.cli import cli

ORDERS = "order_id,user_id,amount,created_at\no1,a,10,2024-06-01\no2,b,5,2024-06-30 10:00:00\n"


def _db(tmp_path):
    (tmp_path / "o.csv").write_text(ORDERS)
    conn = open_db(tmp_path / "t.db", create=True)
    report = import_files(conn, orders=str(tmp_path / "o.csv"))
    return conn, report


def test_before_the_first_recompute_the_as_of_date_follows_the_data(tmp_path) -> None:
    conn, report = _db(tmp_path)
    assert report.as_of == date(2024, 6, 30)
    assert stored_as_of(conn) == date(2024, 6, 30)
    assert latest_data_date(conn) == date(2024, 6, 30)


def test_an_import_after_the_recompute_does_not_move_the_as_of_date(tmp_path) -> None:
    conn, _ = _db(tmp_path)
    recompute(conn, date(2024, 6, 30))
    (tmp_path / "later.csv").write_text("order_id,user_id,amount,created_at\no3,a,7,2024-07-02\n")
    report = import_files(conn, orders=str(tmp_path / "later.csv"))
    assert report.as_of == date(2024, 7, 2)  # what the import saw
    assert report.features_as_of == date(2024, 6, 30)
    assert stored_as_of(conn) == date(2024, 6, 30)  # "today" for the data has not moved
    assert latest_data_date(conn) == date(2024, 7, 2)
    # a row after the features' date leaves them valid for their date; an earlier one does not
    assert get_meta(conn, "features_stale") is None
    (tmp_path / "late.csv").write_text("order_id,user_id,amount,created_at\no4,b,1,2024-06-30\n")
    import_files(conn, orders=str(tmp_path / "late.csv"))
    assert get_meta(conn, "features_stale") == "1"
    assert conn.execute("SELECT user_id FROM refresh_dirty").fetchall() == [("b",)]


def test_a_recompute_to_another_date_moves_the_as_of_date(tmp_path) -> None:
    conn, _ = _db(tmp_path)
    recompute(conn, date(2024, 6, 15))
    assert stored_as_of(conn) == date(2024, 6, 15)
    assert check_as_of(conn, None) == date(2024, 6, 15)
    assert check_as_of(conn, date(2024, 6, 15)) == date(2024, 6, 15)
    with pytest.raises(CoreError, match="computed as of 2024-06-15, not 2024-06-30"):
        check_as_of(conn, date(2024, 6, 30))


def test_the_cli_refuses_a_count_at_another_date(tmp_path) -> None:
    conn, _ = _db(tmp_path)
    recompute(conn, date(2024, 6, 30))
    conn.close()
    db = str(tmp_path / "t.db")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["segment", "count", db, "orders(30d) >= 1", "--as-of", "2024-07-30"]
    )
    assert result.exit_code == 2
    assert "computed as of 2024-06-30, not 2024-07-30" in result.output
    assert "userops refresh" in result.output
    result = runner.invoke(cli, ["segment", "count", db, "orders(30d) >= 1"])
    assert result.exit_code == 0, result.output
    assert result.output.split()[0] == "2"
