"""core.ingest.importer: happy paths per file type, idempotence, order lines, returns, and bad input."""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.ingest import importer
from core.ingest.importer import import_files
from core.store.db import get_meta, open_db
from core.store.duck import open_duckdb

USERS = "user_id,name,city\n00042,Ann,Shanghai\n007,Bob,Chengdu\n"
ORDERS = (
    "order_id,user_id,amount,created_at\n"
    "o1,00042,10.5,2024-06-01\n"
    "o2,007,3,2024-06-02T08:26:00\n"
    "o3,00042,7.25,2024-06-03 09:15\n"
)
EVENTS = (
    "user_id,kind,created_at,value\n"
    "00042,login,2024-06-04 10:00:00,\n"
    "007,view,2024-06-04 11:00:00,lipstick\n"
)
LINES = (
    "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
    "536365,A,6,2010-12-01 08:26:00,2.55,17850\n"
    "536365,B,2,2010-12-01 08:28:00,3.00,17850\n"
    "536366,A,1,2010-12-02 09:00:00,2.55,\n"
    "C536367,A,-2,2010-12-03 10:00:00,2.55,17850\n"
    "536368,B,-1,2010-12-04 10:00:00,3.00,12345\n"
    "536368,A,4,2010-12-04 10:00:00,2.50,12345\n"
    "C536369,A,-1,2010-12-05 10:00:00,5.00,99999\n"
)
LINE_MAP = {
    "InvoiceNo": "order_id",
    "CustomerID": "user_id",
    "InvoiceDate": "created_at",
    "Quantity": "quantity",
    "UnitPrice": "unit_price",
}


@pytest.fixture(scope="module")
def new_duckdb(tmp_path_factory) -> Path:
    """A new DuckDB userops database, made once (its creation takes ~0.5 s): tests copy it."""
    path = tmp_path_factory.mktemp("duck") / "new.duckdb"
    open_duckdb(path, create=True).close()
    return path


@pytest.fixture(params=["sqlite", "duckdb"])
def conn(request, tmp_path: Path, new_duckdb: Path):
    """A new database on each engine the import runs on: every test here runs on both (the
    DuckDB import stages and merges with DuckDB's SQL, in one transaction: docs/engines.md)."""
    if request.param == "sqlite":
        c = open_db(tmp_path / "test.db", create=True)
    else:
        shutil.copy(new_duckdb, tmp_path / "test.duckdb")
        c = open_duckdb(tmp_path / "test.duckdb")
    yield c
    c.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Every row of the tables an import touches, plus the users table's columns."""
    tables = {
        t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall())
        for t in ("users", "orders", "meta")
    }
    tables["events"] = sorted(conn.execute("SELECT user_id, kind, created_at, value FROM events"))
    tables["columns"] = [r[1] for r in conn.execute("PRAGMA table_info(users)")]
    return tables


def sqlite_only(conn) -> None:
    if not isinstance(conn, sqlite3.Connection):
        pytest.skip("SQLite's own mechanism")


def rows(conn: sqlite3.Connection, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


# --- happy paths --------------------------------------------------------------------------------


def test_csv_import_keeps_string_ids_and_normalises_dates(conn, tmp_path):
    report = import_files(
        conn,
        users=write(tmp_path / "u.csv", USERS),
        orders=write(tmp_path / "o.csv", ORDERS),
        events=write(tmp_path / "e.csv", EVENTS),
    )
    assert rows(conn, "SELECT user_id, name, city FROM users ORDER BY user_id") == [
        ("00042", "Ann", "Shanghai"),
        ("007", "Bob", "Chengdu"),
    ]
    assert rows(conn, "SELECT * FROM orders ORDER BY order_id") == [
        ("o1", "00042", 10.5, "2024-06-01 00:00:00"),
        ("o2", "007", 3.0, "2024-06-02 08:26:00"),
        ("o3", "00042", 7.25, "2024-06-03 09:15:00"),
    ]
    assert rows(conn, "SELECT user_id, kind, created_at, value FROM events ORDER BY kind") == [
        ("00042", "login", "2024-06-04 10:00:00", ""),  # "" = no value
        ("007", "view", "2024-06-04 11:00:00", "lipstick"),
    ]
    assert (report.users_created, report.orders_inserted, report.events_inserted) == (2, 3, 2)
    assert report.as_of == date(2024, 6, 4)
    assert get_meta(conn, "as_of") == "2024-06-04"


def test_gzipped_csv(conn, tmp_path):
    path = tmp_path / "o.csv.gz"
    path.write_bytes(gzip.compress(ORDERS.encode()))
    report = import_files(conn, orders=path)
    assert report.orders_inserted == 3
    assert rows(conn, "SELECT sum(amount) FROM orders") == [(20.75,)]


def test_parquet_float_ids_and_timestamps(conn, tmp_path):
    path = tmp_path / "o.parquet"
    pd.DataFrame(
        {
            "order_id": ["a", "b"],
            "user_id": [17850.0, None],  # a float column, as pandas writes ids with gaps
            "amount": [2.55, 1.0],
            "created_at": pd.to_datetime(["2010-12-01 08:26:00", "2010-12-02 00:00:00"]),
        }
    ).to_parquet(path)
    report = import_files(conn, orders=path)
    assert rows(conn, "SELECT * FROM orders") == [("a", "17850", 2.55, "2010-12-01 08:26:00")]
    assert report.skipped == {"no user_id": 1}
    assert rows(conn, "SELECT user_id FROM users") == [("17850",)]


def test_reimport_changes_nothing(conn, tmp_path):
    files = dict(
        users=write(tmp_path / "u.csv", USERS),
        orders=write(tmp_path / "o.csv", ORDERS),
        events=write(tmp_path / "e.csv", EVENTS),
    )
    import_files(conn, **files)
    before = dump(conn)
    again = import_files(conn, **files)
    assert dump(conn) == before
    assert (again.users_created, again.users_updated, again.orders_inserted) == (0, 0, 0)
    assert (again.orders_updated, again.events_inserted, again.events_ignored) == (0, 0, 2)


def test_later_users_file_updates_attributes_and_blank_keeps_value(conn, tmp_path):
    import_files(conn, users=write(tmp_path / "u1.csv", USERS))
    later = "user_id,name,city\n00042,Ann,Beijing\n007,,Chengdu\n"
    report = import_files(conn, users=write(tmp_path / "u2.csv", later))
    assert (report.users_created, report.users_updated) == (0, 1)
    assert rows(conn, "SELECT user_id, name, city FROM users ORDER BY user_id") == [
        ("00042", "Ann", "Beijing"),
        ("007", "Bob", "Chengdu"),  # the empty name did not erase 'Bob'
    ]


def test_changed_order_is_updated(conn, tmp_path):
    import_files(conn, orders=write(tmp_path / "o1.csv", ORDERS))
    changed = "order_id,user_id,amount,created_at\no1,00042,11,2024-06-01\n"
    report = import_files(conn, orders=write(tmp_path / "o2.csv", changed))
    assert (report.orders_inserted, report.orders_updated) == (0, 1)
    assert rows(conn, "SELECT amount FROM orders WHERE order_id = 'o1'") == [(11.0,)]


def test_unknown_users_are_created_by_orders_and_events(conn, tmp_path):
    import_files(conn, users=write(tmp_path / "u.csv", "user_id,name\n1,Ann\n"))
    report = import_files(
        conn,
        orders=write(tmp_path / "o.csv", "user_id,amount,created_at\n2,5,2024-01-01\n"),
        events=write(
            tmp_path / "e.csv", "user_id,kind,created_at\n3,login,2024-01-02\n1,login,2024-01-02\n"
        ),
    )
    assert report.users_created == 2
    assert rows(conn, "SELECT user_id, name FROM users ORDER BY user_id") == [
        ("1", "Ann"),
        ("2", None),
        ("3", None),
    ]


def test_extra_user_column_is_kept_as_text_attribute(conn, tmp_path):
    report = import_files(conn, users=write(tmp_path / "u.csv", "user_id,vip_level\n1,3\n2,\n"))
    assert report.columns_added == ["vip_level"]
    if isinstance(conn, sqlite3.Connection):
        assert rows(conn, "SELECT user_id, vip_level, typeof(vip_level) FROM users ORDER BY 1") == [
            ("1", "3", "text"),
            ("2", None, "null"),
        ]
    else:  # DuckDB: a column's type, not a value's
        assert rows(conn, "SELECT user_id, vip_level FROM users ORDER BY 1") == [
            ("1", "3"),
            ("2", None),
        ]
        assert rows(conn, "SELECT typeof(vip_level) FROM users LIMIT 1") == [("VARCHAR",)]


def test_map_renames_columns(conn, tmp_path):
    text = "CustomerID,Spent,When\n00042,9.5,2024-02-29\n"
    import_files(
        conn,
        orders=write(tmp_path / "o.csv", text),
        mapping={"CustomerID": "user_id", "Spent": "amount", "When": "created_at"},
    )
    assert rows(conn, "SELECT user_id, amount, created_at FROM orders") == [
        ("00042", 9.5, "2024-02-29 00:00:00")
    ]


def test_generated_order_ids_are_stable_and_keep_identical_rows(conn, tmp_path):
    text = "user_id,amount,created_at\n1,5,2024-01-01\n1,5,2024-01-01\n2,5,2024-01-01\n"
    path = write(tmp_path / "o.csv", text)
    assert import_files(conn, orders=path).orders_inserted == 3
    ids = rows(conn, "SELECT order_id FROM orders ORDER BY order_id")
    assert import_files(conn, orders=path).orders_inserted == 0
    assert rows(conn, "SELECT order_id FROM orders ORDER BY order_id") == ids
    assert len({i for (i,) in ids}) == 3


def test_order_lines_summed_cancellations_skipped(conn, tmp_path):
    report = import_files(
        conn, orders=write(tmp_path / "l.csv", LINES), mapping=LINE_MAP, cancelled_prefix="C"
    )
    # 536365: 6 x 2.55 + 2 x 3.00 = 21.3 at the first line's time; 536368 loses its -1 line
    assert rows(conn, "SELECT * FROM orders ORDER BY order_id") == [
        ("536365", "17850", 21.3, "2010-12-01 08:26:00"),
        ("536368", "12345", 10.0, "2010-12-04 10:00:00"),
    ]
    assert report.skipped == {"no user_id": 1, "cancellation line": 2, "negative quantity": 1}
    assert rows(conn, "SELECT user_id FROM users ORDER BY 1") == [("12345",), ("17850",)]


def test_order_lines_net_keeps_returns_as_negative_orders(conn, tmp_path):
    report = import_files(
        conn,
        orders=write(tmp_path / "l.csv", LINES),
        mapping=LINE_MAP,
        cancelled_prefix="C",
        returns="net",
    )
    assert rows(conn, "SELECT * FROM orders ORDER BY order_id") == [
        ("536365", "17850", 21.3, "2010-12-01 08:26:00"),
        ("536368", "12345", 7.0, "2010-12-04 10:00:00"),  # 4 x 2.50 - 1 x 3.00
        ("C536367", "17850", -5.1, "2010-12-03 10:00:00"),
        ("C536369", "99999", -5.0, "2010-12-05 10:00:00"),
    ]
    assert report.skipped == {"no user_id": 1}
    # net of returns: 17850 spent 21.3 - 5.1; 99999 only returned, and exists as a user
    assert rows(
        conn, "SELECT user_id, round(sum(amount), 2) FROM orders GROUP BY 1 ORDER BY 1"
    ) == [
        ("12345", 7.0),
        ("17850", 16.2),
        ("99999", -5.0),
    ]


def test_user_column_copies_orders_attribute(conn, tmp_path):
    text = "user_id,amount,created_at,Country\n1,5,2024-01-01,France\n1,6,2024-01-02,Spain\n"
    report = import_files(
        conn, orders=write(tmp_path / "o.csv", text), user_columns={"Country": "country"}
    )
    assert rows(conn, "SELECT user_id, country FROM users") == [("1", "Spain")]
    assert (report.users_created, report.users_updated) == (1, 0)


def test_bom_and_blank_lines_are_fine(conn, tmp_path):
    path = write(tmp_path / "u.csv", "\ufeffuser_id,name\n\n1,张三\n")
    import_files(conn, users=path)
    assert rows(conn, "SELECT user_id, name FROM users") == [("1", "张三")]


def test_progress_reaches_the_total(conn, tmp_path):
    calls = []
    import_files(
        conn, orders=write(tmp_path / "o.csv", ORDERS), progress=lambda d, t: calls.append((d, t))
    )
    done, total = calls[-1]
    assert done == total == 2 * len(ORDERS.encode())
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# --- bad input: message names file, line and column; the database is untouched -----------------


@pytest.fixture
def filled(conn, tmp_path):
    """A database with some rows, to check that a failed import leaves it exactly as it was."""
    import_files(
        conn, users=write(tmp_path / "u0.csv", USERS), orders=write(tmp_path / "o0.csv", ORDERS)
    )
    return conn


def fails(conn, **kwargs) -> InputError:
    before = dump(conn)
    with pytest.raises(InputError) as info:
        import_files(conn, **kwargs)
    assert dump(conn) == before
    err = info.value
    where = [str(err.file)] + [f"line {err.line}"] * (err.line is not None)
    where += [f"column {err.column!r}"] * (err.column is not None)
    assert str(err).startswith(", ".join(where) + ": ")  # what the operator reads
    return err


def test_missing_required_column(filled, tmp_path):
    path = write(tmp_path / "o.csv", "user_id,total,created_at\n1,5,2024-01-01\n")
    err = fails(filled, orders=path)
    assert (err.file, err.line, err.column) == (str(path), 1, "amount")
    assert "columns found: user_id, total, created_at" in str(err)


def test_missing_mapped_line_column_names_target(filled, tmp_path):
    path = write(
        tmp_path / "l.csv", "InvoiceNo,CustomerID,InvoiceDate,Quantity\nA,1,2024-01-01,2\n"
    )
    err = fails(filled, orders=path, mapping=LINE_MAP)
    assert (err.line, err.column) == (1, "unit_price")
    assert "InvoiceNo, CustomerID, InvoiceDate, Quantity" in str(err)


@pytest.mark.parametrize("bad", ["2024-13-01", "01/06/2024", "2024-06-01 25:00", ""])
def test_unparseable_date(filled, tmp_path, bad):
    path = write(
        tmp_path / "o.csv", f"order_id,user_id,amount,created_at\nx1,1,5,2024-01-01\nx2,1,5,{bad}\n"
    )
    err = fails(filled, orders=path)
    assert (err.file, err.line, err.column) == (str(path), 3, "created_at")
    assert f"{bad!r} is not a date" in str(err)


def test_unparseable_signup_date_in_users(filled, tmp_path):
    path = write(tmp_path / "u.csv", "user_id,signup_at\n1,2024-01-01\n2,yesterday\n")
    err = fails(filled, users=path)
    assert (err.line, err.column) == (3, "signup_at")


@pytest.mark.parametrize("bad", ["abc", "1,5", "nan", "inf", ""])
def test_unparseable_amount(filled, tmp_path, bad):
    path = write(tmp_path / "o.csv", f'user_id,amount,created_at\n1,"{bad}",2024-01-01\n')
    err = fails(filled, orders=path)
    assert (err.line, err.column) == (2, "amount")


@pytest.mark.parametrize(("column", "line"), [("Quantity", 3), ("UnitPrice", 5)])
def test_unparseable_quantity_or_price(filled, tmp_path, column, line):
    text = LINES.splitlines()
    parts = text[line - 1].split(",")
    parts[text[0].split(",").index(column)] = "x"
    text[line - 1] = ",".join(parts)
    path = write(tmp_path / "l.csv", "\n".join(text) + "\n")
    err = fails(filled, orders=path, mapping=LINE_MAP)
    assert (err.file, err.line, err.column) == (str(path), line, column)


def test_empty_file(filled, tmp_path):
    err = fails(filled, users=write(tmp_path / "u.csv", ""))
    assert (err.line, err.column) == (1, None)
    assert "empty" in str(err)


def test_header_without_rows(filled, tmp_path):
    err = fails(filled, events=write(tmp_path / "e.csv", "user_id,kind,created_at\n"))
    assert err.line == 1
    assert "no rows" in str(err)


def test_wrong_encoding_names_line_and_column(filled, tmp_path):
    path = write(tmp_path / "u.csv", "user_id,name,city\n1,Ann,Paris\n2,Zoé,Lyon\n", "latin-1")
    err = fails(filled, users=path)
    assert (err.file, err.line, err.column) == (str(path), 3, "name")
    assert "not UTF-8" in str(err)


def test_wrong_encoding_in_gzip(filled, tmp_path):
    path = tmp_path / "u.csv.gz"
    path.write_bytes(gzip.compress("user_id,name\n1,Zoé\n".encode("latin-1")))
    err = fails(filled, users=path)
    assert (err.line, err.column) == (2, "name")


def test_conflicting_duplicate_order(filled, tmp_path):
    text = ORDERS + "o2,007,4,2024-06-02T08:26:00\n" + "o1,00042,10.5,2024-06-01\n"
    path = write(tmp_path / "o.csv", text)
    err = fails(filled, orders=path)
    assert (err.line, err.column) == (5, "amount")
    assert "'o2'" in str(err) and "on line 3" in str(err)


def test_conflicting_duplicate_user(filled, tmp_path):
    path = write(tmp_path / "u.csv", "user_id,name,city\n5,Ann,SH\n5,Ann,SH\n\n5,Ann,BJ\n")
    err = fails(filled, users=path)
    assert (err.line, err.column) == (5, "city")  # the blank line 4 still counts


def test_identical_duplicates_are_fine(conn, tmp_path):
    report = import_files(
        conn, orders=write(tmp_path / "o.csv", ORDERS + "o1,00042,10.5,2024-06-01\n")
    )
    assert report.orders_inserted == 3
    assert report.skipped == {"duplicate row": 1}


def test_order_lines_with_two_customers(filled, tmp_path):
    text = LINES + "536365,C,1,2010-12-01 08:30:00,1.00,11111\n"
    err = fails(filled, orders=write(tmp_path / "l.csv", text), mapping=LINE_MAP)
    assert (err.line, err.column) == (9, "CustomerID")


def test_line_numbers_count_quoted_newlines(filled, tmp_path):
    text = 'user_id,name,signup_at\n1,"two\nlines",2024-01-01\n2,Bob,never\n'
    err = fails(filled, users=write(tmp_path / "u.csv", text))
    assert (err.line, err.column) == (4, "signup_at")


def test_missing_file(filled, tmp_path):
    path = tmp_path / "nope.csv"
    err = fails(filled, users=path)
    assert (err.file, err.line, err.column) == (str(path), None, None)
    assert "no such file" in str(err)


def test_unknown_extension(filled, tmp_path):
    path = write(tmp_path / "u.xlsx", USERS)
    err = fails(filled, users=path)
    assert err.file == str(path)
    assert ".csv, .csv.gz or .parquet" in str(err)


@pytest.mark.parametrize("name", ["vip`level", "vip,level", "vip\tlevel", "rowid", "sqlite_x"])
def test_bad_attribute_name(filled, tmp_path, name):
    # (a name with a space, "vip level", was refused before identifiers were always quoted: it
    # is an ordinary attribute now, see test_any_other_attribute_name_is_kept)
    header = '"' + name + '"' if "," in name else name
    err = fails(filled, users=write(tmp_path / "u.csv", f"user_id,{header}\n1,3\n"))
    assert (err.line, err.column) == (1, name)
    assert "not a usable attribute name" in str(err)


def test_any_other_attribute_name_is_kept(filled, tmp_path):
    names = ["vip level", "group", "order", "用户等级", 'say "hi"', "1st"]
    header = ",".join('"' + n.replace('"', '""') + '"' for n in names)
    report = import_files(
        filled, users=write(tmp_path / "u.csv", f"user_id,{header}\n1,a,b,c,金,d,e\n")
    )
    assert report.columns_added == names
    row = filled.execute("SELECT * FROM users WHERE user_id = '1'").fetchone()
    columns = [r[1] for r in filled.execute("PRAGMA table_info(users)")]
    stored = dict(zip(columns, row, strict=True))
    assert [stored[n] for n in names] == ["a", "b", "c", "金", "d", "e"]


def test_bad_file_later_in_the_import_rolls_back_everything(filled, tmp_path):
    users = write(tmp_path / "u.csv", "user_id,name\n00042,Changed\n9,New\n")
    err = fails(filled, users=users, events=write(tmp_path / "e.csv", "user_id,kind\n1,login\n"))
    assert err.column == "created_at"


def test_clash_found_while_writing_rolls_back(filled, tmp_path):
    # users are upserted first; the attribute clash of the orders file comes after, in the write
    users = write(tmp_path / "u.csv", "user_id,name\n00042,Changed\n")
    orders = write(tmp_path / "o.csv", "user_id,amount,created_at,Town\n1,5,2024-01-01,Lyon\n")
    err = fails(filled, users=users, orders=orders, user_columns={"Town": "City"})
    assert "clashes with the existing attribute 'city'" in str(err)


# --- the bulk-load path -------------------------------------------------------------------------


def test_big_load_rebuilds_the_same_indexes_and_restores_foreign_keys(conn, tmp_path, monkeypatch):
    sqlite_only(conn)  # DuckDB's tables have no secondary indexes nor foreign keys
    monkeypatch.setattr(importer, "BULK_ROWS", 1)  # take the drop-and-rebuild path on tiny files
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    before = rows(conn, indexes)
    report = import_files(
        conn, orders=write(tmp_path / "o.csv", ORDERS), events=write(tmp_path / "e.csv", EVENTS)
    )
    assert (report.orders_inserted, report.events_inserted) == (3, 2)
    assert rows(conn, indexes) == before
    assert rows(conn, "PRAGMA foreign_keys") == [(1,)]
    assert rows(conn, "PRAGMA foreign_key_check") == []
    assert rows(conn, "SELECT order_id FROM orders INDEXED BY orders_time ORDER BY created_at") == [
        ("o1",),
        ("o2",),
        ("o3",),
    ]


def test_failed_import_restores_foreign_keys(filled, tmp_path):
    sqlite_only(filled)
    fails(filled, orders=write(tmp_path / "o.csv", "user_id,amount,created_at\n1,x,2024-01-01\n"))
    assert rows(filled, "PRAGMA foreign_keys") == [(1,)]


def test_row_with_too_many_fields(filled, tmp_path):
    path = write(
        tmp_path / "o.csv", "user_id,amount,created_at\n1,5,2024-01-01\n2,6,2024-01-01,x\n"
    )
    err = fails(filled, orders=path)
    assert (err.line, err.column) == (3, None)
    assert str(err).endswith(": 4 fields, but the header has 3; the first extra value is 'x'")


# --- issue 12, item 1: a longer row is an error, never a shifted file ---------------------------

TRAILING_HINT = (
    " (the last one is empty: a trailing comma? remove it, or end the header line with a comma too)"
)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # pandas took the extra field of the first row as an index: user 'Alice' named 'Paris'
        ("user_id,name,city\nu1,Alice,Paris,\nu2,Bob,Rome\n", 2, "4 fields" + TRAILING_HINT),
        ("user_id,name,city\nu1,Alice,Paris,x\nu2,Bob,Rome\n", 2, "4 fields, x"),
        ("user_id,name,city\nu1,Alice,Paris,,\nu2,Bob,Rome\n", 2, "5 fields, "),
        ("user_id,name,city\nu1,Alice,Paris\nu2,Bob,Rome,\n", 3, "4 fields" + TRAILING_HINT),
        ('user_id,name,city\r\nu1,"A\r\nB",Paris\r\nu2,Bob,Rome,x\r\n', 4, "4 fields, x"),
    ],
)
def test_longer_row_is_an_error_at_its_line(filled, tmp_path, text, line, message):
    err = fails(filled, users=write(tmp_path / "u.csv", text))
    assert (err.line, err.column) == (line, None)
    fields, _, extra = message.partition(", ")
    expected = fields.split(" (")[0] + ", but the header has 3"
    if "(" in fields:
        expected += TRAILING_HINT
    elif extra:
        expected += f"; the first extra value is {extra!r}"
    else:
        expected += "; the first extra value is ''"
    assert str(err).endswith(": " + expected)


def test_trailing_comma_on_every_line_header_included_is_an_empty_column(conn, tmp_path):
    text = "user_id,name,city,\nu1,Alice,Paris,\nu2,Bob,Rome,\n"
    report = import_files(conn, users=write(tmp_path / "u.csv", text))
    assert report.columns_added == []
    assert rows(conn, "SELECT user_id, name, city FROM users ORDER BY 1") == [
        ("u1", "Alice", "Paris"),
        ("u2", "Bob", "Rome"),
    ]


def test_two_columns_with_one_name(filled, tmp_path):
    path = write(tmp_path / "o.csv", "user_id,amount,amount,created_at\n1,5,6,2024-01-01\n")
    err = fails(filled, orders=path)
    assert str(err) == f"{path}, line 1: two columns are named 'amount' in the header; rename one"


# --- item 2: no traceback on a huge field or a non-UTF-8 byte in a CR-only file -------------------


def test_field_over_128_kib_before_a_bad_value(filled, tmp_path):
    text = "user_id,amount,created_at\n1," + "9" * 140_000 + ",2024-01-01\n2,abc,2024-01-01\n"
    err = fails(filled, orders=write(tmp_path / "o.csv", text))
    assert (err.line, err.column) == (2, "amount")
    assert str(err).endswith(": '" + "9" * 60 + "'… (140,000 characters) is not a number")
    text = (
        "user_id,name,amount,created_at\n1," + "x" * 140_000 + ",5,2024-01-01\n2,y,abc,2024-01-01\n"
    )
    err = fails(filled, orders=write(tmp_path / "o2.csv", text))
    assert (err.line, err.column) == (3, "amount")
    assert str(err).endswith(": 'abc' is not a number")  # the value of the right column


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n"])
def test_non_utf8_byte_with_any_line_ending(filled, tmp_path, ending):
    lines = ["user_id,amount,created_at", "1,5,2024-01-01", "2,\udcff5,2024-01-01", ""]
    path = tmp_path / "o.csv"
    path.write_bytes(ending.join(lines).encode("utf-8", "surrogateescape"))
    err = fails(filled, orders=path)
    assert (err.line, err.column) == (3, "amount")
    assert "not UTF-8 text (byte 0xff)" in str(err)


def test_conflict_message_quotes_long_values_briefly(filled, tmp_path):
    long = "z" * 500
    text = f"user_id,name\n1,{long}\n1,other\n"
    err = fails(filled, users=write(tmp_path / "u.csv", text))
    assert str(err).endswith(
        f": user_id '1' appears twice with different name: '{'z' * 60}'… (500 characters) "
        "on line 2, 'other' here"
    )


# --- item 3: values that are not values -----------------------------------------------------------

LINES_HEADER = "order_id,user_id,quantity,unit_price,created_at\n"


def test_quantity_times_price_overflow_is_an_error(filled, tmp_path):
    text = LINES_HEADER + "a,1,2,3,2024-01-01\nb,1,1e200,1e200,2024-01-01\n"
    err = fails(filled, orders=write(tmp_path / "l.csv", text))
    assert str(err).endswith(
        ", line 3, column 'quantity': quantity '1e200' x unit_price '1e200' = inf is beyond "
        "±1e+12, the largest amount accepted (--max-amount)"
    )


def test_lines_adding_up_beyond_the_bound(filled, tmp_path):
    text = LINES_HEADER + "a,1,1,1,2024-01-01\nb,1,1,6e11,2024-01-01\nb,1,1,6e11,2024-01-02\n"
    err = fails(filled, orders=write(tmp_path / "l.csv", text))
    assert (err.line, err.column) == (3, "quantity")
    assert str(err).endswith(": order 'b': its lines add up to 1.2e+12, which is beyond ±1e+12, "
                             "the largest amount accepted (--max-amount)")  # fmt: skip


@pytest.mark.parametrize("bad", ["1e13", "-1e13", "1e309", "NaN", "-inf", "Infinity"])
def test_amount_beyond_the_bound_or_not_finite(filled, tmp_path, bad):
    text = f"user_id,amount,created_at\n1,5,2024-01-01\n2,{bad},2024-01-01\n"
    err = fails(filled, orders=write(tmp_path / "o.csv", text))
    assert (err.line, err.column) == (3, "amount")
    assert str(err).endswith(
        f": {bad!r} is beyond ±1e+12, the largest amount accepted (--max-amount)"
        if bad.endswith("13")
        else f": {bad!r} is not a number"
    )


def test_max_amount_is_a_setting(conn, tmp_path):
    text = "user_id,amount,created_at\n1,5e12,2024-01-01\n"
    import_files(conn, orders=write(tmp_path / "o.csv", text), max_amount=1e13)
    assert rows(conn, "SELECT amount FROM orders") == [(5e12,)]
    with pytest.raises(InputError, match="beyond ±10"):
        import_files(conn, orders=write(tmp_path / "o2.csv", text), max_amount=10)


@pytest.mark.parametrize(
    ("kind", "text", "line", "column"),
    [
        ("orders", "user_id,amount,created_at\n1,5,2024-01-01\n2,5,9999-12-31\n", 3, "created_at"),
        ("events", "user_id,kind,created_at\n1,login,2025-07-02 00:00\n", 2, "created_at"),
        ("users", "user_id,signup_at\n1,\n2,2025-07-02T08:00:00\n", 3, "signup_at"),
    ],
)
def test_dates_after_the_latest_date_are_errors(filled, tmp_path, kind, text, line, column):
    path = write(tmp_path / f"{kind}.csv", text)
    err = fails(filled, **{kind: path}, latest_date=date(2025, 7, 1))
    assert (err.line, err.column) == (line, column)
    assert "is after 2025-07-01, the latest date accepted" in str(err)
    assert "--allow-future-dates" in str(err)


def test_the_latest_date_itself_is_accepted_and_none_means_no_bound(conn, tmp_path):
    text = "user_id,amount,created_at\n1,5,2025-07-01 23:59:59\n"
    import_files(conn, orders=write(tmp_path / "o.csv", text), latest_date=date(2025, 7, 1))
    text = "user_id,amount,created_at\n1,5,9999-12-31\n"
    report = import_files(conn, orders=write(tmp_path / "o2.csv", text))
    assert report.as_of == date(9999, 12, 31)


# --- item 4: time zones -----------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2024-01-02T03:04:05+08:00", "2024-01-02 03:04:05"),
        ("2024-01-02T03:04:05Z", "2024-01-02 11:04:05"),
        ("2024-01-02 03:04+0100", "2024-01-02 10:04:00"),
        ("2024-01-01T23:30:00-05", "2024-01-02 12:30:00"),
        ("2024-01-02 03:04:05", "2024-01-02 03:04:05"),  # naive: already in the zone
    ],
)
def test_csv_offsets_are_converted_to_the_zone(conn, tmp_path, value, stored):
    text = f"user_id,amount,created_at\n1,5,{value}\n"
    report = import_files(conn, orders=write(tmp_path / "o.csv", text), tz=SHANGHAI)
    assert rows(conn, "SELECT created_at FROM orders") == [(stored,)]
    assert report.time_zone == "Asia/Shanghai"
    assert report.times_converted == (0 if value == stored else 1)


def test_offsets_across_a_dst_change_use_the_zone_rules(conn, tmp_path):
    text = (
        "user_id,kind,created_at\n"
        "1,login,2024-03-31T00:30:00Z\n"  # Paris: 01:30 CET
        "1,login,2024-03-31T01:30:00Z\n"  # 03:30 CEST
    )
    report = import_files(conn, events=write(tmp_path / "e.csv", text), tz=ZoneInfo("Europe/Paris"))
    assert rows(conn, "SELECT created_at FROM events ORDER BY 1") == [
        ("2024-03-31 01:30:00",),
        ("2024-03-31 03:30:00",),
    ]
    assert report.times_converted == 2


def test_offset_without_a_zone_and_a_bad_offset(filled, tmp_path):
    path = write(tmp_path / "o.csv", "user_id,amount,created_at\n1,5,2024-01-02T03:04:05+08:00\n")
    err = fails(filled, orders=path)
    assert str(err).endswith(
        ", line 2, column 'created_at': '2024-01-02T03:04:05+08:00' has a UTC offset, and no "
        "time zone to convert it to was given"
    )
    path = write(tmp_path / "o.csv", "user_id,amount,created_at\n1,5,2024-01-02T03:04:05+25:00\n")
    err = fails(filled, orders=path, tz=SHANGHAI)
    assert (err.line, err.column) == (2, "created_at")
    assert "'2024-01-02T03:04:05+25:00' is not a date" in str(err)


def test_zone_aware_parquet_timestamps(filled, tmp_path):
    path = tmp_path / "e.parquet"
    when = pd.to_datetime(["2024-01-02 03:04:05+00:00", "2024-06-01 12:00:00+00:00"], utc=True)
    frame = pd.DataFrame({"user_id": ["1", "2"], "kind": ["a", "b"], "created_at": when})
    frame.to_parquet(path)
    err = fails(filled, events=path)
    assert (err.line, err.column) == (1, "created_at")
    assert "timestamps with a time zone (UTC), and no time zone to convert them to" in str(err)
    report = import_files(filled, events=path, tz=SHANGHAI)
    assert rows(filled, "SELECT user_id, created_at FROM events ORDER BY 1") == [
        ("1", "2024-01-02 11:04:05"),
        ("2", "2024-06-01 20:00:00"),
    ]
    assert (report.time_zone, report.times_converted) == ("Asia/Shanghai", 2)


def test_conflict_with_an_empty_cell_says_empty_not_none(filled, tmp_path):
    err = fails(filled, users=write(tmp_path / "u.csv", "user_id,name\n1,Ann\n1,\n"))
    assert str(err).endswith(
        ", line 3, column 'name': user_id '1' appears twice with different name: 'Ann' on line "
        "2, an empty value here"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("inf"), "'inf' is not a number"),
        (float("nan"), "'' is not a number"),  # a missing value in Parquet is an empty cell
        (2e12, "'2000000000000.0' is beyond ±1e+12"),
    ],
)
def test_parquet_amounts_that_are_not_values(filled, tmp_path, value, message):
    path = tmp_path / "o.parquet"
    pd.DataFrame(
        {"user_id": ["1", "2"], "amount": [5.0, value], "created_at": ["2024-01-01"] * 2}
    ).to_parquet(path)
    err = fails(filled, orders=path)
    assert (err.line, err.column) == (3, "amount")
    assert message in str(err)


@given(
    moments=st.lists(
        st.datetimes(datetime(2000, 1, 1), datetime(2030, 1, 1)).map(
            lambda d: d.replace(microsecond=0)
        ),
        min_size=1,
        max_size=20,
    ),
    source=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata", "Europe/Paris"]),
    target=st.sampled_from(["UTC", "Asia/Shanghai", "America/Los_Angeles"]),
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_parquet_zone_aware_times_any_zone_to_any_zone(tmp_path, moments, source, target):
    src = ZoneInfo(source)
    aware = [m.replace(tzinfo=src) for m in moments]  # wall times in the source zone
    path = tmp_path / "e.parquet"
    frame = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(len(aware))],
            "kind": "login",
            "created_at": pd.to_datetime([a.isoformat() for a in aware], utc=True).tz_convert(src),
        }
    )
    frame.to_parquet(path)
    db = tmp_path / "p.db"
    db.unlink(missing_ok=True)
    conn = open_db(db, create=True)
    try:
        report = import_files(conn, events=path, tz=ZoneInfo(target))
        got = dict(conn.execute("SELECT user_id, created_at FROM events"))
    finally:
        conn.close()
    expected = {
        f"u{i}": a.astimezone(ZoneInfo(target)).strftime("%Y-%m-%d %H:%M:%S")
        for i, a in enumerate(aware)
    }
    assert got == expected
    assert report.times_converted == len(aware)


def test_unclosed_quote_is_reported_where_it_opens(filled, tmp_path):
    text = (
        'user_id,amount,created_at\n1,5,2024-01-01\n\n"x\ny",5,2024-01-01\n2,"6,2024-01-01\n3,4\n'
    )
    err = fails(filled, orders=write(tmp_path / "o.csv", text))
    assert str(err).endswith(
        ", line 6: a quoted field is not closed: it runs to the end of the file"
    )


def test_column_names_with_line_breaks_are_shown_escaped(filled, tmp_path):
    err = fails(filled, orders=write(tmp_path / "o.csv", 'Who,"x\ny",amount\n1,2,3\n'))
    assert str(err).endswith("columns found: Who, 'x\\ny', amount")
    assert "\n" not in str(err)
