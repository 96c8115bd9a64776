"""Import users, orders (or order lines) and events from CSV, gzipped CSV or Parquet files.

Every file is read, checked and staged (in a temporary database, sorted for the insert) first,
without the write lock; then everything is copied in by one short transaction, so bad input
anywhere leaves the database exactly as it was and marks made meanwhile are not kept waiting.
A large first import builds its tables beside in short transactions and swaps them in with the
last one (the large path, at the end of this module).
See docs/import.md for the operator's view.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import DatabaseError, InputError
from core.ingest.readers import (
    MAX_AMOUNT,
    Limits,
    Source,
    blank_to_none,
    check_amounts,
    check_conflicts,
    clean_ids,
    parse_dates,
    parse_numbers,
    printable,
    quoted,
    read_source,
    require_columns,
)
from core.store.db import get_meta, set_meta, transaction
from core.store.engines import dialect_of, engine_of
from core.store.logical import IMPORT_BUILD_PREFIX
from core.store.personal import flag_columns
from core.store.schema import USER_COLUMNS, schema_version, user_attribute_columns
from core.store.sql import quote

Progress = Callable[[int, int], None]
Progress1 = Callable[[int], None]  # advance(n): n more units done
RETURN_POLICIES = ("skip", "net")
WRITE_BATCH = 50_000
BULK_ROWS = 50_000  # a load this big into a table half its size rebuilds indexes instead


# An extra attribute may have any name (group, 用户等级, a b: it is always quoted in SQL) except
# one with control characters, a backquote (a condition writes an unusual name between
# backquotes) or a comma (export column lists are comma-separated), or with spaces at either end.
_UNUSABLE_IN_NAME = re.compile(r"[\x00-\x1f\x7f`,]")
_RESERVED = {"rowid", "oid", "_rowid_"}


@dataclass
class ImportReport:
    users_created: int = 0
    users_updated: int = 0
    orders_inserted: int = 0
    orders_updated: int = 0
    events_inserted: int = 0
    events_ignored: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> lines or rows
    columns_added: list[str] = field(default_factory=list)
    as_of: date | None = None  # the latest order or event date in the database
    features_as_of: date | None = None  # the database's as-of date, which an import never moves
    time_zone: str | None = None  # the zone times are stored in (None: not given)
    times_converted: int = 0  # values with a UTC offset, converted to time_zone

    def skip(self, reason: str, n: int) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + int(n)


def import_files(
    conn: sqlite3.Connection,
    *,
    users: str | Path | None = None,
    orders: str | Path | None = None,
    events: str | Path | None = None,
    mapping: Mapping[str, str] | None = None,
    cancelled_prefix: str | None = None,
    returns: str = "skip",
    user_columns: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    tz: tzinfo | None = None,
    latest_date: date | None = None,
    max_amount: float = MAX_AMOUNT,
    personal: Sequence[str] = (),
) -> ImportReport:
    """Import any subset of the three files; all or nothing. The write lock is held only for
    the final copy from the staged rows (docs/import.md), not while the files are read.

    ``mapping`` renames source columns (``{"CustomerID": "user_id"}``); ``user_columns`` copies
    columns of the orders file onto the user (``{"Country": "country"}``, the last value wins).
    ``progress(done, total)`` counts bytes read plus the same amount again for rows written.
    ``tz``: times with a UTC offset (CSV text or zone-aware Parquet timestamps) are converted to
    this zone; times without one are taken as already in it (None: an offset is an error).
    ``latest_date``: a later date is an error (None: no bound). ``max_amount``: the bound on
    |amount| of an order and of a line's quantity x unit price. The caller chooses these (the
    CLI from the machine's zone and today's date): core reads no clock.
    Every user column gets a personal-data flag, by its name (core.store.personal) or, for
    the columns in ``personal``, by the operator's word.
    Raises InputError naming file, line and column on bad input.
    """
    if returns not in RETURN_POLICIES:
        raise InputError(f"--returns must be one of {', '.join(RETURN_POLICIES)}, not {returns!r}")
    paths = {"users": users, "orders": orders, "events": events}
    limits = Limits(tz, latest_date, max_amount)
    sources = {k: Source.open(p, mapping or {}, limits) for k, p in paths.items() if p is not None}
    meter = _Meter(progress, 2 * sum(s.size for s in sources.values()))
    report = ImportReport(time_zone=None if tz is None else str(tz))
    frames: dict[str, pd.DataFrame] = {}
    for kind, src in sources.items():
        df = read_source(src, meter.advance)
        if kind == "users":
            frames[kind] = _prepare_users(src, df)
        elif kind == "orders":
            frames[kind], frames["order_users"] = _prepare_orders(
                src, df, report, cancelled_prefix, returns, user_columns or {}
            )
        else:
            frames[kind] = _prepare_events(src, df, report)
        report.times_converted += src.converted
    if "users" in frames:
        _check_user_columns(sources["users"], [c for c in frames["users"] if c != "user_id"])
    if "orders" in frames:
        _check_user_columns(sources["orders"], frames["order_users"].columns[1:])
    version = schema_version(conn)
    latest = _latest_staged(frames)
    duck = _on_duckdb(conn)
    if not duck:
        _drop_stray_builds(conn)
    with _stage_attached(conn):
        staged = _stage(conn, sources, frames, meter)  # no write lock held
        frames.clear()  # the stage holds the rows now
        # the build/swap spares SQLite's one write lock; DuckDB takes the plain transaction
        large = [] if duck else _large_tables(conn, staged)
        if large:  # a first import of many orders or events: built beside, swapped in
            _import_large(conn, sources, staged, large, report, meter, version, latest, personal)
            return report
        with _foreign_key_checks_off(conn), transaction(conn):  # the write lock, held briefly
            _check_unchanged(conn, version)
            _write(conn, sources, staged, report, meter)
            report.as_of = _refresh_as_of(conn, latest)
            flag_columns(conn, user_attribute_columns(conn), personal=personal)
            computed = get_meta(conn, "features_as_of")
            report.features_as_of = date.fromisoformat(computed[:10]) if computed else None
    return report


@contextmanager
def _foreign_key_checks_off(conn: sqlite3.Connection) -> Iterator[None]:
    """The import creates every order's and event's user before the row, in the same
    transaction, so SQLite's per-row check is redundant; it doubles the insert time. (DuckDB's
    tables have no foreign keys: nothing to turn off.)"""
    if _on_duckdb(conn):
        yield
        return
    was_on = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if was_on else 'OFF'}")


class _Meter:
    """Turns per-step increments into the (done, total) calls the caller asked for."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, max(total, 1), 0

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + int(n))
        if self.progress is not None:
            self.progress(self.done, self.total)


def _prepare_users(src: Source, df: pd.DataFrame) -> pd.DataFrame:
    require_columns(src, df, ["user_id"])
    df = df.copy()
    df["user_id"] = clean_ids(src, df, "user_id")
    empty = df["user_id"] == ""
    if empty.any():
        raise src.error("user_id is empty", row=empty.idxmax(), column="user_id")
    if "signup_at" in df.columns:
        df["signup_at"] = parse_dates(src, df, "signup_at", optional=True)
    attrs = [c for c in df.columns if c != "user_id"]
    for col in attrs:
        if col != "signup_at":
            df[col] = blank_to_none(df[col].str.strip())
    identical = check_conflicts(src, df, "user_id", attrs)
    return df[~identical]


def _prepare_orders(
    src: Source,
    df: pd.DataFrame,
    report: ImportReport,
    cancelled_prefix: str | None,
    returns: str,
    user_columns: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders with order_id, user_id, amount, created_at; user attributes from user_columns)."""
    lines = "amount" not in df.columns and bool({"quantity", "unit_price"} & set(df.columns))
    money = ["order_id", "quantity", "unit_price"] if lines else ["amount"]
    require_columns(src, df, ["user_id", *money, "created_at", *user_columns])
    df = df.copy()
    df["user_id"] = clean_ids(src, df, "user_id")
    no_user = df["user_id"] == ""
    report.skip("no user_id", no_user.sum())
    df = df[~no_user]
    if "order_id" in df.columns:
        df["order_id"] = clean_ids(src, df, "order_id")
        empty = df["order_id"] == ""
        if empty.any():
            raise src.error("order_id is empty", row=empty.idxmax(), column="order_id")
    df["created_at"] = parse_dates(src, df, "created_at")
    cancelled = _cancelled(df, cancelled_prefix)
    if lines:
        orders = _sum_lines(src, df, report, cancelled, returns)
    else:
        orders = _whole_orders(src, df, report, cancelled, returns)
    attrs = df[["user_id", *user_columns]].rename(columns=dict(user_columns))
    if user_columns:  # only users who kept an order (object dtype: arrow-string isin is slow)
        kept = attrs["user_id"].astype(object).isin(orders["user_id"].astype(object).unique())
        attrs = attrs[kept].drop_duplicates("user_id", keep="last")
    return orders, attrs.assign(**{c: blank_to_none(attrs[c]) for c in attrs.columns[1:]})


def _cancelled(df: pd.DataFrame, prefix: str | None) -> pd.Series:
    if not prefix or "order_id" not in df.columns:
        return pd.Series(False, index=df.index)
    return df["order_id"].str.startswith(prefix)


def _sum_lines(
    src: Source, df: pd.DataFrame, report: ImportReport, cancelled: pd.Series, returns: str
) -> pd.DataFrame:
    """Order lines -> orders: amount = sum of quantity x unit_price, time = the earliest line."""
    quantity, price = parse_numbers(src, df, "quantity"), parse_numbers(src, df, "unit_price")
    if returns == "skip":
        negative = (quantity < 0) & ~cancelled
        report.skip("cancellation line", cancelled.sum())
        report.skip("negative quantity", negative.sum())
        keep = ~cancelled & ~negative
        df, quantity, price, cancelled = df[keep], quantity[keep], price[keep], cancelled[keep]
    check_conflicts(src, df[["order_id", "user_id"]], "order_id", ["user_id"])
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is found just below
        amount = quantity * price
    check_amounts(
        src,
        amount,
        "quantity",
        lambda i: (
            f"quantity {quoted(df.at[i, 'quantity'].strip())} x unit_price "
            f"{quoted(df.at[i, 'unit_price'].strip())} = {amount.at[i]:g}"
        ),
    )
    lines = pd.DataFrame(
        {
            "order_id": df["order_id"],
            "user_id": df["user_id"],
            "amount": amount,
            "created_at": df["created_at"],
            "cancelled": cancelled,
            "line": df.index,
        }
    )
    orders = lines.groupby("order_id", sort=False).agg(
        user_id=("user_id", "first"),
        amount=("amount", "sum"),
        created_at=("created_at", "min"),
        cancelled=("cancelled", "first"),
        line=("line", "first"),
    )
    total = pd.Series(orders["amount"].to_numpy(), index=orders["line"].to_numpy())
    check_amounts(
        src,
        total,
        "quantity",
        lambda i: (
            f"order {quoted(df.at[i, 'order_id'])}: its lines add up to {total.at[i]:g}, which"
        ),
    )
    orders["amount"] = orders["amount"].round(6)
    # net: a cancellation invoice takes money back, whatever the sign of its lines
    orders.loc[orders["cancelled"], "amount"] = -orders.loc[orders["cancelled"], "amount"].abs()
    return orders.reset_index()[["order_id", "user_id", "amount", "created_at"]]


def _whole_orders(
    src: Source, df: pd.DataFrame, report: ImportReport, cancelled: pd.Series, returns: str
) -> pd.DataFrame:
    amount = parse_numbers(src, df, "amount")
    check_amounts(src, amount, "amount", lambda i: quoted(df.at[i, "amount"].strip()))
    orders = pd.DataFrame(
        {"user_id": df["user_id"], "amount": amount, "created_at": df["created_at"]}
    )
    if "order_id" in df.columns:
        orders.insert(0, "order_id", df["order_id"])
        if returns == "skip":
            report.skip("cancelled order", cancelled.sum())
            orders = orders[~cancelled]
        else:
            orders.loc[cancelled, "amount"] = -orders.loc[cancelled, "amount"].abs()
        identical = check_conflicts(src, orders, "order_id", ["user_id", "amount", "created_at"])
        report.skip("duplicate row", identical.sum())
        return orders[~identical]
    orders.insert(0, "order_id", _generated_orderids(orders))
    return orders


def _generated_orderids(orders: pd.DataFrame) -> list[str]:
    """A stable id from the row's content (and its repeat number), so re-import is idempotent."""
    amount = [repr(float(a)) for a in orders["amount"].tolist()]
    repeat = orders.groupby(["user_id", "created_at", "amount"], sort=False).cumcount()
    columns = (orders["user_id"].tolist(), orders["created_at"].tolist(), amount, repeat.tolist())
    keys = zip(*columns, strict=True)
    return [
        "h" + hashlib.blake2b(f"{u}\x1f{t}\x1f{a}\x1f{k}".encode(), digest_size=8).hexdigest()
        for u, t, a, k in keys
    ]


def _prepare_events(src: Source, df: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    require_columns(src, df, ["user_id", "kind", "created_at"])
    df = df.copy()
    df["user_id"] = clean_ids(src, df, "user_id")
    no_user = df["user_id"] == ""
    report.skip("no user_id", no_user.sum())
    df = df[~no_user]
    kind = df["kind"].str.strip()
    if (kind == "").any():
        raise src.error("kind is empty", row=(kind == "").idxmax(), column="kind")
    value = df["value"].str.strip() if "value" in df.columns else pd.Series("", index=df.index)
    return pd.DataFrame(
        {
            "user_id": df["user_id"],
            "kind": kind,
            "created_at": parse_dates(src, df, "created_at"),
            "value": value.fillna(""),  # '' is "no value": part of the event's identity
        }
    )


# --- staging (outside the write lock) -----------------------------------------------------------
#
# Every row to write goes first into an attached temporary database (``ATTACH ''``: private to
# the connection, in memory under open_db's temp_store, gone with the connection even after a
# kill -9), sorted the way the final insert wants it. Writing it takes no lock on the database,
# so marks and other small writes go on. Only the final copy (core.store.db.transaction) holds
# the write lock: UPDATE ... FROM and INSERT ... SELECT from the stage, which do every part that
# depends on what the database holds then (upserts, new attribute columns, counts), so an import of
# the same users or a recompute's swap committed meanwhile is simply found there; a schema
# upgrade by another userops in between refuses the import.

STAGE = "import_stage"
COPY_BATCH = 50_000  # rows per INSERT ... SELECT of the final copy (for the progress bar)
# DuckDB: the stage is an attached in-memory database too (ATTACH ':memory:'), each table made
# from its frame by one CREATE TABLE ... AS SELECT (DuckDB reads the DataFrame itself), typed as
# the target's columns; its rowids count from 0 where SQLite's count from 1 (_copy). The final
# copy is the same statements in one transaction (DuckDB writes one attached database per
# transaction: the stage is written before it). DuckDB has no triggers: the import notes the
# users the refresh's triggers would have (_note_dirty_rows).
_STAGE_FRAME = "uo_import_frame"


def _on_duckdb(conn: sqlite3.Connection) -> bool:
    return engine_of(conn) == "duckdb"


def _differs(conn: sqlite3.Connection, a: str, b: str) -> str:
    """``a`` and ``b`` differ, NULL being a value: SQLite's text as it always was
    (``a IS NOT b``), another engine's from its Dialect."""
    if engine_of(conn) == "sqlite":
        return f"{a} IS NOT {b}"
    return dialect_of(conn).is_distinct(a, b)


@dataclass
class _Staged:
    """One staged table: its name in STAGE, the target columns of its c0.. columns, rows."""

    table: str
    columns: list[str]
    rows: int
    weight: int = 0  # this file's share of the progress total, for the final copy


@contextmanager
def _stage_attached(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute(f"ATTACH ':memory:' AS {STAGE}" if _on_duckdb(conn) else f"ATTACH '' AS {STAGE}")
    try:
        yield
    finally:
        if conn.in_transaction:  # an error or Ctrl-C inside the final copy: already rolled back
            conn.execute("ROLLBACK")
        conn.execute(f"DETACH {STAGE}")


def _stage_table(
    conn: sqlite3.Connection, table: str, df: pd.DataFrame, weight: int, advance: Progress1
) -> _Staged:
    """``df`` into STAGE.``table`` (untyped columns c0.., so every value stays as bound), in
    the frame's order: rowid order is the order of the final insert."""
    names = [f"c{i}" for i in range(len(df.columns))]
    if _on_duckdb(conn):  # one statement reading the frame, each column typed as its target
        typed = ", ".join(
            f"CAST({n} AS {'DOUBLE' if c == 'amount' else 'VARCHAR'}) AS {n}"
            for n, c in zip(names, df.columns, strict=True)
        )
        conn.execute_with_frame(  # type: ignore[attr-defined]
            _STAGE_FRAME,
            df.set_axis(names, axis=1),
            f"CREATE TABLE {STAGE}.{table} AS SELECT {typed} FROM {_STAGE_FRAME}",
        )
        advance(weight)
        return _Staged(table, [str(c) for c in df.columns], len(df))
    conn.execute(f"CREATE TABLE {STAGE}.{table} ({', '.join(names)})")
    sql = f"INSERT INTO {STAGE}.{table} VALUES ({', '.join('?' * len(names))})"
    _executemany(conn, sql, df, weight, advance)
    return _Staged(table, [str(c) for c in df.columns], len(df))


def _stage(
    conn: sqlite3.Connection,
    sources: dict[str, Source],
    frames: dict[str, pd.DataFrame],
    meter: _Meter,
) -> dict[str, _Staged]:
    """Every frame into the stage, in one transaction on the stage alone (no lock on main)."""
    staged: dict[str, _Staged] = {}
    silent = _Meter(None, 0).advance
    conn.execute("BEGIN")  # deferred: it writes only STAGE, so it never locks the database
    try:
        if "users" in frames:
            weight = sources["users"].size
            users = frames["users"]
            users = users[["user_id", *(c for c in users.columns if c != "user_id")]]
            users = users.sort_values("user_id")  # the key order of users
            staged["users"] = _stage_table(conn, "users", users, weight // 2, meter.advance)
            staged["users"].weight = weight - weight // 2
        if "orders" in frames:
            weight = sources["orders"].size
            orders = frames["orders"]
            if len(frames["order_users"].columns) > 1:  # --user-column: users with attributes
                attrs = frames["order_users"].sort_values("user_id")
                staged["order_users"] = _stage_table(conn, "order_users", attrs, 0, silent)
            ids = orders[["user_id"]].drop_duplicates().sort_values("user_id")
            staged["order_user_ids"] = _stage_table(conn, "order_user_ids", ids, 0, silent)
            ordered = orders.sort_values("order_id")  # the primary key's order
            staged["orders"] = _stage_table(conn, "orders", ordered, weight // 2, meter.advance)
            staged["orders"].weight = weight - weight // 2
        if "events" in frames:
            weight = sources["events"].size
            events = frames["events"]
            ids = events[["user_id"]].drop_duplicates().sort_values("user_id")
            staged["event_user_ids"] = _stage_table(conn, "event_user_ids", ids, 0, silent)
            ordered = events.sort_values(["user_id", "kind", "created_at", "value"])  # the key
            staged["events"] = _stage_table(conn, "events", ordered, weight // 2, meter.advance)
            staged["events"].weight = weight - weight // 2
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return staged


def _check_unchanged(conn: sqlite3.Connection, version: int | None) -> None:
    """Inside the final transaction: the schema the rows were prepared for is still the
    database's (another userops may have upgraded it meanwhile)."""
    now = schema_version(conn)
    if now != version:
        raise DatabaseError(
            f"Import refused, nothing imported: the database was upgraded (schema {version} to "
            f"{now}) by another userops while this import was being prepared; run it again "
            "with that version."
        )


# --- the final copy (inside the one write transaction) -----------------------------------------


def _write(
    conn: sqlite3.Connection,
    sources: dict[str, Source],
    staged: dict[str, _Staged],
    report: ImportReport,
    meter: _Meter,
    builds: Mapping[str, _Build] | None = None,
) -> None:
    """The final copy; a table in ``builds`` (a large first import's) is swapped in instead
    of copied, unless the visible table changed meanwhile (then it is copied as usual)."""
    builds = builds or {}
    if "users" in staged:
        _upsert_users(conn, sources["users"], staged["users"], report, meter)
    if "orders" in staged:
        if "order_users" in staged:  # --user-column: create users with attributes
            _upsert_users(conn, sources["orders"], staged["order_users"], report, None)
        _create_users(conn, staged["order_user_ids"], report)
        if "orders" in builds and _swap_in(conn, builds["orders"]):
            report.orders_inserted = builds["orders"].rows
        else:
            _write_orders(conn, staged["orders"], report, meter)
    if "events" in staged:
        _create_users(conn, staged["event_user_ids"], report)
        if "events" in builds and _swap_in(conn, builds["events"]):
            report.events_inserted = builds["events"].rows
            report.events_ignored = staged["events"].rows - builds["events"].rows
        else:
            _write_events(conn, staged["events"], report, meter)


def _write_orders(
    conn: sqlite3.Connection, staged: _Staged, report: ImportReport, meter: _Meter
) -> None:
    """Upsert by order_id; a row whose values did not change is not touched (nor counted)."""
    differs = " OR ".join(
        _differs(conn, f"orders.{c}", f"s.c{i}")
        for i, c in ((1, "user_id"), (2, "amount"), (3, "created_at"))
    )
    update = (
        f"UPDATE orders SET user_id = s.c1, amount = s.c2, created_at = s.c3 FROM {STAGE}.orders "
        f"AS s WHERE s.rowid BETWEEN ? AND ? AND orders.order_id = s.c0 AND ({differs})"
    )
    insert = (
        "INSERT INTO orders(order_id, user_id, amount, created_at) "
        f"SELECT c0, c1, c2, c3 FROM {STAGE}.orders WHERE rowid BETWEEN ? AND ? "
        "ON CONFLICT(order_id) DO NOTHING"
    )
    _note_dirty_rows(conn, "orders", staged)
    with _secondary_indexes_set_aside(conn, "orders", staged.rows):
        report.orders_updated, report.orders_inserted = _copy(
            conn, [update, insert], staged, meter.advance
        )


def _write_events(
    conn: sqlite3.Connection, staged: _Staged, report: ImportReport, meter: _Meter
) -> None:
    """Insert-or-ignore on the unique identity (user_id, kind, created_at, value)."""
    sql = (
        "INSERT OR IGNORE INTO events(user_id, kind, created_at, value) "
        f"SELECT c0, c1, c2, c3 FROM {STAGE}.events WHERE rowid BETWEEN ? AND ?"
    )
    _note_dirty_rows(conn, "events", staged)
    with _secondary_indexes_set_aside(conn, "events", staged.rows):
        (inserted,) = _copy(conn, [sql], staged, meter.advance)
    report.events_inserted = inserted
    report.events_ignored = staged.rows - inserted


def _copy(
    conn: sqlite3.Connection, statements: list[str], staged: _Staged, advance: Progress1
) -> list[int]:
    """Run each of ``statements`` (over a rowid range of the stage, given as two parameters)
    batch after batch, so the progress bar moves. Returns the rows each changed: sqlite3_changes,
    which leaves out the rows the refresh's triggers write.

    (No UPSERT's DO UPDATE here: its conflict policy overrides the OR IGNORE of the refresh's
    triggers, so a changed row of a dirty user failed with "UNIQUE constraint failed:
    refresh_dirty.user_id"; an UPDATE ... FROM, then an INSERT ... DO NOTHING, do the same.)"""
    changed = [0] * len(statements)
    done = 0
    shift = 1 if _on_duckdb(conn) else 0  # DuckDB's rowids count from 0
    for first in range(1, staged.rows + 1, COPY_BATCH):
        last = first + COPY_BATCH - 1
        for i, n in enumerate(_copy_rows(conn, statements, first - shift, last - shift)):
            changed[i] += n
        step = staged.weight * min(staged.rows, last) // staged.rows - done
        done += step
        advance(step)
    advance(staged.weight - done)
    return changed


def _copy_rows(conn: sqlite3.Connection, statements: list[str], first: int, last: int) -> list[int]:
    """One batch of the final copy: stage rows ``first``..``last`` (rowids)."""
    return [conn.execute(sql, (first, last)).rowcount for sql in statements]


@contextmanager
def _secondary_indexes_set_aside(
    conn: sqlite3.Connection, table: str, incoming: int
) -> Iterator[None]:
    """For a big load, drop the plain indexes and rebuild them after: sorting once beats
    inserting row by row into each index. Unique indexes stay (conflicts are found with them).
    The rebuild uses the stored CREATE INDEX text, so the schema stays core.store.schema's."""
    if not dialect_of(conn).indexes:  # DuckDB: no secondary indexes
        yield
        return
    if incoming < BULK_ROWS or incoming < 2 * _count_up_to(conn, table, incoming // 2 + 1):
        yield  # a re-import or a daily increment
        return
    indexes = [
        (name, sql)
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        )
        if not sql.lstrip().upper().startswith("CREATE UNIQUE")
    ]
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        conn.execute(sql)


def _executemany(
    conn: sqlite3.Connection,
    sql: str,
    df: pd.DataFrame,
    weight: int,
    advance: Callable[[int], None],
) -> None:
    """Write in batches so the progress bar moves; ``weight`` is this file's share of the total."""
    rows = list(zip(*(df[c].tolist() for c in df.columns), strict=True))
    done = 0
    for start in range(0, len(rows), WRITE_BATCH):
        batch = rows[start : start + WRITE_BATCH]
        conn.executemany(sql, batch)
        step = weight * (start + len(batch)) // len(rows) - done
        done += step
        advance(step)
    advance(weight - done)


def _count_up_to(conn: sqlite3.Connection, table: str, limit: int) -> int:
    """count(*), but stopping at ``limit``: its cost is the import's size, not the table's."""
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {quote(table)} LIMIT ?)"
    return conn.execute(sql, (limit,)).fetchone()[0]


def _create_users(conn: sqlite3.Connection, staged: _Staged, report: ImportReport) -> None:
    """An order or event for an unknown user creates that user (only user_id set)."""
    _note_dirty_users(
        conn, f"SELECT c0 FROM {STAGE}.{staged.table} WHERE c0 NOT IN (SELECT user_id FROM users)"
    )
    sql = f"INSERT OR IGNORE INTO users(user_id) SELECT c0 FROM {STAGE}.{staged.table}"
    report.users_created += conn.execute(sql).rowcount


def _upsert_users(
    conn: sqlite3.Connection,
    src: Source,
    staged: _Staged,
    report: ImportReport,
    meter: _Meter | None,
) -> None:
    """Insert new users, update changed attributes; an empty cell never erases a stored value."""
    attrs = staged.columns[1:]
    report.columns_added += _add_user_columns(conn, src, attrs)
    known = set(user_attribute_columns(conn))  # the whitelist every identifier below is from
    picked = [0, *(i + 1 for i, c in enumerate(attrs) if c in known)]
    quoted = [quote(staged.columns[i]) for i in picked]
    rows = f"FROM {STAGE}.{staged.table} AS s WHERE s.rowid BETWEEN ? AND ?"
    insert = (
        f"INSERT INTO users({', '.join(quoted)}) "
        f"SELECT {', '.join(f's.c{i}' for i in picked)} {rows} ON CONFLICT(user_id) DO NOTHING"
    )
    statements = [insert]
    if len(picked) > 1:
        new = {
            q: f"coalesce(s.c{i}, users.{q})" for q, i in zip(quoted[1:], picked[1:], strict=True)
        }
        sets = ", ".join(f"{q} = {v}" for q, v in new.items())
        differs = " OR ".join(_differs(conn, f"users.{q}", v) for q, v in new.items())
        update = f"UPDATE users SET {sets} {rows} AND users.user_id = s.c0 AND ({differs})"
        statements = [update, insert]
        _note_dirty_users(  # new or changed
            conn,
            f"SELECT s.c0 FROM {STAGE}.{staged.table} AS s LEFT JOIN users ON users.user_id = "
            f"s.c0 WHERE users.user_id IS NULL OR {differs}",
        )
    else:
        _note_dirty_users(
            conn,
            f"SELECT c0 FROM {STAGE}.{staged.table} WHERE c0 NOT IN (SELECT user_id FROM users)",
        )
    if meter is None:
        staged.weight = 0
    advance = meter.advance if meter else _Meter(None, 0).advance
    *updated, created = _copy(conn, statements, staged, advance)
    report.users_created += created
    report.users_updated += sum(updated)


def _dirty_end(conn: sqlite3.Connection) -> str | None:
    """On DuckDB once features are computed, the end of their date (rows dated before it make
    them stale: what the refresh's triggers note on SQLite); None where nothing is noted
    (SQLite, whose triggers do it; no features yet)."""
    if not _on_duckdb(conn):
        return None
    computed = get_meta(conn, "features_as_of")
    if computed is None:
        return None
    return (date.fromisoformat(computed[:10]) + timedelta(days=1)).isoformat()


def _note_dirty_users(conn: sqlite3.Connection, select: str) -> None:
    """DuckDB: the users ``select`` gives (before the write: those it creates or changes) into
    refresh_dirty, as SQLite's users triggers note every user inserted or updated."""
    if _dirty_end(conn) is not None:
        conn.execute(f"INSERT OR IGNORE INTO refresh_dirty SELECT DISTINCT * FROM ({select})")


def _note_dirty_rows(conn: sqlite3.Connection, table: str, staged: _Staged) -> None:
    """DuckDB, before the write of staged orders or events: the users of the rows it inserts
    or changes that are dated before the end of the features' date (an order changed: its old
    user too) into refresh_dirty, as SQLite's orders and events triggers note them."""
    end = _dirty_end(conn)
    if end is None:
        return
    if table == "orders":
        changed = " OR ".join(
            _differs(conn, f"o.{c}", f"s.c{i}")
            for i, c in ((1, "user_id"), (2, "amount"), (3, "created_at"))
        )
        select = (
            f"SELECT s.c1 FROM {STAGE}.orders AS s LEFT JOIN orders AS o ON o.order_id = s.c0 "
            "WHERE (o.order_id IS NULL AND s.c3 < $end) "
            f"OR (o.order_id IS NOT NULL AND ({changed}) AND (s.c3 < $end OR o.created_at < $end)) "
            f"UNION SELECT o.user_id FROM {STAGE}.orders AS s JOIN orders AS o ON o.order_id = s.c0 "
            f"WHERE ({changed}) AND (s.c3 < $end OR o.created_at < $end)"
        )
    else:
        select = (
            f"SELECT s.c0 FROM {STAGE}.events AS s WHERE s.c2 < $end AND NOT EXISTS (SELECT 1 "
            "FROM events AS e WHERE e.user_id = s.c0 AND e.kind = s.c1 AND e.created_at = s.c2 "
            "AND e.value = s.c3)"
        )
    conn.execute(
        f"INSERT OR IGNORE INTO refresh_dirty SELECT DISTINCT * FROM ({select})", {"end": end}
    )


def _check_user_columns(src: Source, attrs: Sequence[str]) -> None:
    """The names of new attribute columns, checked before anything is staged (what does not
    depend on the database; clashes with its columns are checked in the final write)."""
    for col in attrs:
        if col not in USER_COLUMNS and not _usable_name(col):
            raise _unusable_name(src, col)


def _usable_name(col: str) -> bool:
    return not (
        not col
        or col != col.strip()
        or _UNUSABLE_IN_NAME.search(col)
        or col.lower() in _RESERVED
        or col.lower().startswith("sqlite_")
    )


def _unusable_name(src: Source, col: str) -> InputError:
    return src.error(
        "not a usable attribute name (no control characters, backquotes or commas, no "
        "spaces at either end, not rowid or sqlite_…); rename it with --map",
        column=col,
    )


def _add_user_columns(conn: sqlite3.Connection, src: Source, attrs: list[str]) -> list[str]:
    """Columns beyond the typed basics become TEXT attributes of users (names checked first)."""
    existing = {c.lower(): c for c in user_attribute_columns(conn)}
    added = []
    for col in attrs:
        if col in existing.values():
            continue
        if not _usable_name(col):
            raise _unusable_name(src, col)
        if col.lower() in existing:
            raise src.error(
                f"clashes with the existing attribute {existing[col.lower()]!r} (names ignore "
                f"case); rename it with --map {printable(src.display(col))}={existing[col.lower()]}",
                column=col,
            )
        text = dialect_of(conn).column_type("TEXT")
        conn.execute(f"ALTER TABLE users ADD COLUMN {quote(col)} {text}")
        existing[col.lower()] = col
        added.append(col)
    return added


def _latest_staged(frames: Mapping[str, pd.DataFrame]) -> str | None:
    """The latest created_at of the orders and events about to be written (outside the lock)."""
    dates = [
        f["created_at"].max() for k, f in frames.items() if k in ("orders", "events") and len(f)
    ]
    return max((d for d in dates if isinstance(d, str)), default=None)


def _refresh_as_of(conn: sqlite3.Connection, staged: str | None = None) -> date | None:
    """The date of the latest order or event in the database, kept as meta ``data_latest``.

    The database's as-of date does not move (docs/architecture.md, "One clock"): once features
    are computed it is their date, and only ``userops refresh``/``recompute`` move it; before
    that, it follows the data. Rows dated on or after the features' date's end leave them
    valid; earlier ones (refresh_dirty, kept by triggers) mark them stale.

    ``staged``: the latest created_at of this import's rows. With a stored ``data_latest``,
    the new one is the later of the two (no scan of the tables under the write lock: events
    has no index on created_at alone); without one (a database from before it), the tables'.
    """
    stored = get_meta(conn, "data_latest")
    if stored is not None:
        latest = max(stored, staged[:10]) if staged else stored
    else:
        latest = conn.execute(
            "SELECT max(t) FROM (SELECT max(created_at) AS t FROM orders "
            "UNION ALL SELECT max(created_at) FROM events)"
        ).fetchone()[0]
    if latest is None:
        return None
    set_meta(conn, "data_latest", latest[:10])
    if get_meta(conn, "features_as_of") is None:
        set_meta(conn, "as_of", latest[:10])
        set_meta(conn, "features_stale", "1")
    elif conn.execute("SELECT 1 FROM refresh_dirty LIMIT 1").fetchone() is not None:
        # features no longer reflect every row of their date until the next refresh (core.query
        # then counts behaviour windows from the raw rows, not from the stored window columns)
        set_meta(conn, "features_stale", "1")
    return date.fromisoformat(latest[:10])


# --- the large path: tables built beside in short transactions, swapped in at the end ----------
#
# A first import of many orders or events (LARGE_ROWS or more staged for an empty table) would
# hold the write lock for its whole copy (2.2 s for 400k orders). Instead, each such table is
# built complete, with its indexes, as a hidden table of the main database (BUILD_PREFIX, a name
# no screen or query reads), in transactions of CHUNK_ROWS rows with a pause between them in
# which marks and other writes get the lock. The one final transaction writes the users (as the
# small path does), then swaps each built table in: DROP of the empty visible table, RENAME of
# the built one, its indexes given their schema names (below), the table's triggers recreated.
# Readers see nothing of the import before that commit, everything after it.
#
# A build table is named after its process (BUILD_PREFIX + pid + token): one left by a killed
# import (its process gone) is dropped by the next import; a failed import drops its own. If
# the visible table is no longer empty at the swap (another import wrote it meanwhile) or its
# schema changed, the swap is not done: the staged rows are copied by the small path inside
# the same final transaction instead (merged with the other import's rows, as always).

LARGE_ROWS = 100_000  # staged orders or events from which an empty table is built and swapped
CHUNK_ROWS = 20_000  # rows of the first short write transaction of a build
CHUNK_SECONDS = 0.4  # the next ones sized to take about this long (0: all of CHUNK_ROWS)
CHUNK_PAUSE = 0.1  # seconds between two of them: SQLite's busy handler retries every <= 100 ms
BUILD_PREFIX = IMPORT_BUILD_PREFIX
_BUILD_NAME = re.compile(r"uo_import_(\d+)_[0-9a-f]+_(orders|events)")
# the build's insert of stage rows (the small path's statements, onto a table with no triggers)
_BUILD_INSERT = {
    "orders": "INSERT INTO {build}(order_id, user_id, amount, created_at) SELECT c0, c1, c2, c3 "
    "FROM {stage}.orders WHERE rowid BETWEEN ? AND ? ON CONFLICT(order_id) DO NOTHING",
    "events": "INSERT OR IGNORE INTO {build}(user_id, kind, created_at, value) "
    "SELECT c0, c1, c2, c3 FROM {stage}.events WHERE rowid BETWEEN ? AND ?",
}
_USER_AND_TIME = {"orders": ("c1", "c3"), "events": ("c0", "c2")}  # stage columns
_LIVE_BUILDS: set[str] = set()  # this process's builds under way (other threads' imports)


@dataclass
class _Build:
    """A table built beside ``table``: its name, the target's DDL it was made from (to see a
    change at the swap), {build index name: (schema index name, its stored SQL)}, rows."""

    table: str
    name: str
    table_sql: str
    indexes: dict[str, tuple[str, str]]
    rows: int = 0


def _large_tables(conn: sqlite3.Connection, staged: dict[str, _Staged]) -> list[str]:
    """The tables this import builds beside and swaps in: orders and events with LARGE_ROWS or
    more staged rows whose table is empty now (a first import) and whose schema the build can
    copy (an unexpected DDL text, or a SQLite whose schema table cannot be written by this
    connection, SQLITE_DBCONFIG_DEFENSIVE, keeps the small path)."""
    tables: list[str] = [
        t
        for t in ("orders", "events")
        if t in staged
        and staged[t].rows >= LARGE_ROWS
        and conn.execute(f"SELECT 1 FROM {quote(t)} LIMIT 1").fetchone() is None
        and _build_ddl(conn, t, "x") is not None
    ]
    return tables if tables and _schema_writable(conn) else []


def _schema_writable(conn: sqlite3.Connection) -> bool:
    conn.execute("PRAGMA writable_schema = ON")
    try:
        return bool(conn.execute("PRAGMA writable_schema").fetchone()[0])
    finally:
        conn.execute("PRAGMA writable_schema = OFF")


def _target_ddl(conn: sqlite3.Connection, table: str) -> tuple[str, dict[str, str]]:
    """The stored CREATE TABLE text of ``table`` and {index name: CREATE INDEX text} of its
    named indexes (the primary key's automatic index has no text: it follows the table)."""
    (sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    indexes = dict(
        conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL ORDER BY name",
            (table,),
        )
    )
    return sql, indexes


def _build_ddl(
    conn: sqlite3.Connection, table: str, name: str
) -> tuple[str, dict[str, tuple[str, str]], str, list[str]] | None:
    """(the target's table SQL, {build index: (index, its SQL)}, the build table's CREATE,
    its CREATE INDEXes): the target's own DDL with the build's names; None when a statement
    does not have the shape SQLite stores (CREATE TABLE name ..., CREATE INDEX i ON name(...))."""
    table_sql, indexes = _target_ddl(conn, table)
    named = re.compile(rf'CREATE TABLE\s+("?){re.escape(table)}\1(?=[\s(])', re.IGNORECASE)
    found = named.match(table_sql)
    if found is None:
        return None
    create = f"CREATE TABLE {quote(name)}" + table_sql[found.end() :]
    renamed, creates = {}, []
    for index, sql in indexes.items():
        shape = re.compile(
            rf'CREATE (UNIQUE )?INDEX\s+("?){re.escape(index)}\2\s+ON\s+("?){re.escape(table)}\3'
            r"\s*\(",
            re.IGNORECASE,
        )
        found = shape.match(sql)
        if found is None:
            return None
        build_index = f"{name}__{index}"
        unique = found.group(1) or ""
        creates.append(
            f"CREATE {unique}INDEX {quote(build_index)} ON {quote(name)} (" + sql[found.end() :]
        )
        renamed[build_index] = (index, sql)
    return table_sql, renamed, create, creates


def _import_large(
    conn: sqlite3.Connection,
    sources: dict[str, Source],
    staged: dict[str, _Staged],
    large: list[str],
    report: ImportReport,
    meter: _Meter,
    version: int | None,
    latest: str | None,
    personal: Sequence[str],
) -> None:
    """The large path: build ``large`` beside (short transactions), then one short final
    transaction that writes the users and swaps the builds in. Whatever fails on the way, the
    builds not swapped in are dropped (a kill leaves them to the next import)."""
    token = f"{os.getpid()}_{secrets.token_hex(4)}"
    names = {table: f"{BUILD_PREFIX}{token}_{table}" for table in large}
    builds: dict[str, _Build] = {}
    _LIVE_BUILDS.update(names.values())
    try:
        for table in large:
            builds[table] = _build(conn, table, staged[table], names[table], meter)
        with _foreign_key_checks_off(conn), transaction(conn):  # the write lock, held briefly
            _check_unchanged(conn, version)
            _write(conn, sources, staged, report, meter, builds)
            report.as_of = _refresh_as_of(conn, latest)
            flag_columns(conn, user_attribute_columns(conn), personal=personal)
            computed = get_meta(conn, "features_as_of")
            report.features_as_of = date.fromisoformat(computed[:10]) if computed else None
    finally:
        _drop_tables(conn, list(names.values()))
        _LIVE_BUILDS.difference_update(names.values())


def _build(
    conn: sqlite3.Connection, table: str, staged: _Staged, name: str, meter: _Meter
) -> _Build:
    """``table`` with the staged rows, as the hidden table ``name`` with its indexes, written
    CHUNK_ROWS rows per transaction; the users' first dates noted in the stage (for the dirty
    tracking at the swap)."""
    ddl = _build_ddl(conn, table, name)
    if ddl is None:  # checked by _large_tables: the schema changed since
        raise DatabaseError(
            f"Import refused, nothing imported: the {table} table changed while this import "
            "was being prepared; run it again."
        )
    table_sql, indexes, create, creates = ddl
    build = _Build(table, name, table_sql, indexes)
    with transaction(conn):
        conn.execute(create)
        for sql in creates:
            conn.execute(sql)
    user, time_ = _USER_AND_TIME[table]
    conn.execute(
        f"CREATE TABLE {STAGE}.first_{table} AS SELECT {user} AS user_id, min({time_}) AS t "
        f"FROM {STAGE}.{table} GROUP BY {user}"
    )  # the stage only: no lock on the database
    insert = _BUILD_INSERT[table].format(build=quote(name), stage=STAGE)
    done, last, rows = 0, 0, CHUNK_ROWS
    with _foreign_key_checks_off(conn):  # every row's user is created at the swap
        while last < staged.rows:
            first, last = last + 1, min(staged.rows, last + rows)
            started = time.perf_counter()
            with transaction(conn):
                build.rows += conn.execute(insert, (first, last)).rowcount
            rows = _next_chunk(rows, time.perf_counter() - started)
            step = staged.weight * last // staged.rows - done
            done += step
            meter.advance(step)
            _between_chunks(conn, table, last)
    meter.advance(staged.weight - done)
    staged.weight = 0  # the final copy, if it happens after all, moves the bar no further
    return build


def _next_chunk(rows: int, seconds: float) -> int:
    """The rows of the next chunk: about CHUNK_SECONDS of work at the pace of the last one
    (inserts into the indexes slow down as the table grows; a loaded machine is slower),
    within a factor of two of the last one's."""
    if CHUNK_SECONDS <= 0 or seconds <= 0:
        return rows
    return max(1_000, rows // 2, min(2 * rows, int(rows * CHUNK_SECONDS / seconds)))


def _between_chunks(conn: sqlite3.Connection, table: str, done: int) -> None:
    """After each transaction of a build (``done`` stage rows of ``table`` written): a pause
    in which another writer waiting for the lock gets it."""
    time.sleep(CHUNK_PAUSE)


def _swap_in(conn: sqlite3.Connection, build: _Build) -> bool:
    """Replace the (empty) visible table by its build, inside the final transaction; False,
    and nothing done, when the visible table got rows or another schema meanwhile."""
    table = build.table
    table_sql, indexes = _target_ddl(conn, table)
    if (
        conn.execute(f"SELECT 1 FROM {quote(table)} LIMIT 1").fetchone() is not None
        or table_sql != build.table_sql
        or indexes != {index: sql for index, sql in build.indexes.values()}
    ):
        return False
    triggers = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
        )
    ]
    conn.execute(f"DROP TABLE {quote(table)}")
    conn.execute(f"ALTER TABLE {quote(build.name)} RENAME TO {quote(table)}")
    _rename_indexes(conn, build)
    for sql in triggers:
        conn.execute(sql)
    if triggers:
        _note_dirty(conn, table)
    return True


def _rename_indexes(conn: sqlite3.Connection, build: _Build) -> None:
    """Give the swapped-in table's indexes their schema names and stored SQL (queries name
    them in INDEXED BY), and the table its stored SQL as it was (RENAME quotes the name).
    SQLite has no ALTER INDEX ... RENAME: the name and text are changed in sqlite_master, as
    its own ALTER TABLE RENAME does, and the schema cookie is moved on so that every
    connection reloads the schema. Only names and SQL text change (the b-trees, root pages and
    columns stay); the result is checked before the commit."""
    table = build.table
    cookie = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
            (build.table_sql, table),
        )
        for build_index, (index, sql) in build.indexes.items():
            conn.execute(
                "UPDATE sqlite_master SET name = ?, sql = ? WHERE type = 'index' AND name = ? "
                "AND tbl_name = ?",
                (index, sql, build_index, table),
            )
        conn.execute(f"PRAGMA schema_version = {int(cookie) + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")
    table_sql, indexes = _target_ddl(conn, table)
    expected = {index: sql for index, sql in build.indexes.values()}
    listed = {row[1] for row in conn.execute(f"PRAGMA index_list({quote(table)})")}
    if table_sql != build.table_sql or indexes != expected or not set(expected) <= listed:
        raise DatabaseError(
            f"Import refused, nothing imported: the indexes of {table} could not be renamed."
        )


def _note_dirty(conn: sqlite3.Connection, table: str) -> None:
    """What the refresh's triggers (core.pipeline.install_dirty_triggers) would have noted for
    the swapped-in rows, all inserts: their users, when a row is dated before the end of the
    features' date. From the users' first dates in the stage: the cost is the users', not the
    rows'."""
    computed = get_meta(conn, "features_as_of")
    if computed is None:
        return
    end = (date.fromisoformat(computed[:10]) + timedelta(days=1)).isoformat()
    conn.execute(
        f"INSERT OR IGNORE INTO refresh_dirty SELECT user_id FROM {STAGE}.first_{table} "
        "WHERE t < ?",
        (end,),
    )


def _drop_tables(conn: sqlite3.Connection, names: Sequence[str]) -> None:
    """Drop those of ``names`` that exist, in one short transaction; a failure (the lock not
    got, a full disk) leaves them to the next import."""
    with suppress(DatabaseError, sqlite3.Error):
        present = [
            n
            for n in names
            if conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (n,)
            ).fetchone()
        ]
        if present:
            with transaction(conn):
                for n in present:
                    conn.execute(f"DROP TABLE IF EXISTS {quote(n)}")


def _drop_stray_builds(conn: sqlite3.Connection) -> None:
    """Drop the build tables of imports whose process is gone (killed before their swap)."""
    names = [
        n
        for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\'",
            (BUILD_PREFIX.replace("_", "\\_") + "%",),
        )
    ]
    stray = []
    for n in names:
        found = _BUILD_NAME.fullmatch(n)
        if n not in _LIVE_BUILDS and (found is None or not _process_alive(int(found.group(1)))):
            stray.append(n)
    _drop_tables(conn, stray)


def _process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (WAL databases are shared by processes
    of one machine only). A pid reused since leaves its build until a later import."""
    if pid == os.getpid():
        return False  # a build of this process not in _LIVE_BUILDS: left by a failure
    if os.name == "nt":  # os.kill would end the process there: keep the build
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
