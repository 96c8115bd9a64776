"""DuckDB: its tables derived from the one schema, and a connection that speaks the DB-API subset
core is written against (``execute`` -> a cursor to iterate or fetch, ``executemany``,
``close``, ``set_progress_handler``, ``interrupt``; failures as ``sqlite3.OperationalError``, so
every handler core already has reads them).

The tables are not written a second time: :func:`core.store.logical.logical_tables` builds the
SQLite schema of core.store.schema (columns from core.store.columns) in memory and reads it back —
columns, types, NOT NULL, defaults, primary keys and UNIQUE constraints — and
:func:`create_table_sql` spells
each table for DuckDB (plain tables: VARCHAR / DOUBLE / BIGINT; no foreign keys, CHECKs or
secondary indexes, which SQLite keeps for its writes and its access paths). Columns an import
added to ``users`` come with the data (core.store.copy).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from core.errors import DatabaseError
from core.store.logical import (  # noqa: F401  (the shared reader, named here as before)
    RowsCursor,
    Table,
    TableColumn,
    first_line,
    logical_tables,
    read_create_table,
    read_table,
    seed_rows,
    table_names,
)
from core.store.schema import SCHEMA_VERSION, ensure_schema, stored_version
from core.store.sql import quote

# SQLite's declared types (core.store.columns.Column.sql_type and the DDL) -> DuckDB's
DUCKDB_TYPES = {"TEXT": "VARCHAR", "REAL": "DOUBLE", "INTEGER": "BIGINT", "": "VARCHAR"}
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# sqlite3's named markers (:name) outside quoted text and identifiers, which DuckDB spells $name
_SQLITE_PARAM = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(?<![:\w]):([A-Za-z_]\w*)")
# sqlite3's transaction statements, and DuckDB's spelling of each
_BEGIN = re.compile(r"\s*BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(\s+TRANSACTION)?\s*;?\s*", re.I)
_END = re.compile(r"\s*(COMMIT|END|ROLLBACK)(\s+TRANSACTION)?\s*;?\s*", re.I)


def duckdb_type(sql_type: str) -> str:
    return DUCKDB_TYPES.get(sql_type.upper(), "VARCHAR")


def create_table_sql(table: Table) -> str:
    """The DuckDB DDL of one table."""
    parts = []
    for col in table.columns:
        text = f"{quote(col.name)} {duckdb_type(col.sql_type)}"
        if col.not_null:
            text += " NOT NULL"
        if col.default is not None:
            text += f" DEFAULT {col.default}"
        parts.append(text)
    if table.primary_key:
        parts.append(f"PRIMARY KEY ({', '.join(quote(c) for c in table.primary_key)})")
    for cols in table.unique:
        parts.append(f"UNIQUE ({', '.join(quote(c) for c in cols)})")
    body = ",\n    ".join(parts)
    return f"CREATE TABLE {quote(table.name)} (\n    {body}\n)"


@cache
def spell_create_table(ddl: str) -> str:
    """A SQLite ``CREATE [TEMP] TABLE [IF NOT EXISTS] name (…) [WITHOUT ROWID]`` as DuckDB
    spells it: the table is made by SQLite in memory and read back (:func:`read_table`), as the
    schema's tables are, so its types are DuckDB's (SQLite's REAL is DuckDB's DOUBLE: DuckDB's
    own REAL is single precision) and its keys are kept."""
    made = read_create_table(ddl)
    body = create_table_sql(made.shape).split("(", 1)[1]
    # SQLite's CREATE TABLE temp.x makes a TEMP table; DuckDB wants the word
    temp = "TEMP " if made.temp else ""
    exists = "IF NOT EXISTS " if made.if_not_exists else ""
    return f"CREATE {temp}TABLE {exists}{made.name} ({body}"


def sqlite_markers(sql: str) -> str:
    """``sql`` with sqlite3's named markers ``:name`` spelled ``$name`` (text in quotes and
    quoted identifiers left as they are; ``::`` casts too)."""
    return _SQLITE_PARAM.sub(lambda m: f"${m[1]}" if m[1] else m[0], sql)


# DuckDB's one secondary index (an ART): a user's events. A copy writes events by kind and
# time (core.store.copy.COPY_ORDER: the language's windows read a kind's recent row groups), so
# one user's events are spread over every row group; the profile's read of them (a CTE on
# ``user_id = ?``, core.views.profile) is then a lookup in this index instead of a scan of 20M
# user ids (1M users: 185 -> 3 ms). Joins do not use it (DuckDB hashes), so the windows cost
# the same. Built after the load by a copy; a new database has it from the start, and an
# import keeps it. A file made before it reads the same, only slower (docs/engines.md).
# Orders likewise (written by time: COPY_ORDER), orders_user.
INDEXES = {
    "events_user": "CREATE INDEX IF NOT EXISTS events_user ON events(user_id)",
    "orders_user": "CREATE INDEX IF NOT EXISTS orders_user ON orders(user_id)",
}


def schema_statements() -> list[str]:
    """The DDL of a new DuckDB userops database, in order."""
    return [create_table_sql(t) for t in logical_tables()]


DuckDBCursor = RowsCursor  # the shared cursor (core.store.logical)


class DuckDBError(sqlite3.OperationalError):
    """A DuckDB failure, raised as the sqlite3 error core's handlers already catch."""


class DuckDBConnection:
    """A DuckDB connection as core uses a ``sqlite3.Connection`` (see the module's docstring)."""

    engine = "duckdb"

    def __init__(self, raw: Any, path: str, readonly: bool) -> None:
        self.raw = raw
        self.path = path
        self.readonly = readonly
        self._watch: threading.Event | None = None
        self._in_transaction = False

    def _prepare(
        self, sql: str, params: Sequence[Any] | dict[str, Any]
    ) -> tuple[str, Sequence[Any] | dict[str, Any] | None]:
        """sqlite3's spelling to DuckDB's: named markers, BEGIN IMMEDIATE and the like (the
        state is kept for ``in_transaction``)."""
        if _BEGIN.fullmatch(sql):
            self._in_transaction = True
            return "BEGIN TRANSACTION", None
        if _END.fullmatch(sql):
            self._in_transaction = False
            return sql, None
        if isinstance(params, dict):  # DuckDB refuses values the statement does not name
            sql = sqlite_markers(sql)
            named = set(_PARAM.findall(sql))
            params = {k: v for k, v in params.items() if k in named}
        return sql, params or None

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> DuckDBCursor:
        import duckdb

        sql, bound = self._prepare(sql, params)
        try:
            self.raw.execute(sql, bound)
            description = self.raw.description
            rows = self.raw.fetchall() if description else []
        except duckdb.InterruptException:
            raise DuckDBError("interrupted") from None
        except duckdb.Error as exc:
            raise DuckDBError(first_line(exc)) from exc
        cursor = DuckDBCursor(rows, description)
        if description is not None and len(description) == 1 and description[0][0] == "Count":
            cursor.rowcount = int(rows[0][0]) if rows else 0  # INSERT, UPDATE, DELETE
        return cursor

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        """The rows of a query as a pandas DataFrame (DuckDB's own conversion: NULL numbers
        are NaN), for the places core reads with ``pandas.read_sql_query`` on SQLite."""
        import duckdb

        sql, bound = self._prepare(sql, params or {})
        try:
            return self.raw.execute(sql, bound).df()
        except duckdb.Error as exc:
            raise DuckDBError(first_line(exc)) from exc

    def execute_with_frame(
        self, name: str, frame: Any, sql: str, params: dict[str, Any] | None = None
    ) -> None:
        """Run ``sql`` with the pandas DataFrame ``frame`` readable as the table ``name``: bulk
        writes of per-buyer results (sqlite3's executemany, row by row, is DuckDB's slow path).
        NaN in a float column reads as NULL, as sqlite3 stores it."""
        import duckdb

        sql, bound = self._prepare(sql, params or {})
        try:
            self.raw.register(name, frame)
            try:
                self.raw.execute(sql, bound)
            finally:
                self.raw.unregister(name)
        except duckdb.Error as exc:
            raise DuckDBError(first_line(exc)) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        import duckdb

        rows = list(rows)
        if not rows:  # sqlite3 runs nothing; DuckDB refuses an empty list
            return
        try:
            self.raw.executemany(sql, rows)
        except duckdb.Error as exc:
            raise DuckDBError(first_line(exc)) from exc

    @contextmanager
    def alongside(self, work: Callable[..., Any], *args: Any) -> Iterator[Callable[[], Any]]:
        """Run ``work(reader, *args)`` on a thread while the caller goes on with this
        connection; yields a function that waits for and returns its result (or raises its
        error). ``reader`` is a connection of its own to the same database (DuckDB's
        ``cursor()``), which sees the last committed state: ``work`` must read only tables the
        caller has not changed in its open transaction. DuckDB lets go of Python's lock while a
        statement runs, so the caller's SQL and the work's Python (the model fits) overlap:
        core.store.db.beside's second process, for DuckDB. Leaving the block early (an error,
        Ctrl-C) interrupts the work's statement and waits for the thread."""
        reader = DuckDBConnection(self.raw.cursor(), self.path, True)
        reader.raw.execute("SET enable_progress_bar = false")
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = work(reader, *args)
            except BaseException as exc:  # handed to the caller by result()
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="userops-duckdb-alongside", daemon=True)
        thread.start()

        def result() -> Any:
            thread.join()
            if "error" in outcome:
                raise outcome["error"]
            return outcome["value"]

        try:
            yield result
        finally:
            if thread.is_alive():
                reader.raw.interrupt()
                thread.join()
            reader.raw.close()

    def interrupt(self) -> None:
        self.raw.interrupt()

    def set_progress_handler(self, handler: Callable[[], Any] | None, n: int) -> None:
        """As sqlite3's: while a handler is set, the running statement stops (``interrupted``)
        once it returns true. DuckDB has no such callback: a thread asks it every 20 ms."""
        if self._watch is not None:
            self._watch.set()
            self._watch = None
        if handler is None:
            return
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.02):
                if handler():
                    self.raw.interrupt()
                    return

        self._watch = stop
        threading.Thread(target=watch, name="userops-duckdb-limit", daemon=True).start()

    def column_type(self, sql_type: str) -> str:
        """SQLite's declared type as DuckDB's DDL spells it (the schema's migrations)."""
        return duckdb_type(sql_type)

    def create_table(self, ddl: str) -> str:
        """A SQLite CREATE TABLE as DuckDB spells it (the schema's migrations)."""
        return spell_create_table(ddl)

    @property
    def in_transaction(self) -> bool:
        """Inside a BEGIN … COMMIT made through ``execute`` (copy's writes use .raw)."""
        return self._in_transaction

    def close(self) -> None:
        self.set_progress_handler(None, 0)
        self.raw.close()

    def __enter__(self) -> DuckDBConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_duckdb(
    path: str | Path, *, create: bool = False, readonly: bool = False
) -> DuckDBConnection:
    """Open (or, with ``create``, create with the userops schema) a DuckDB database file.

    A database of an older schema is upgraded by the schema's migrations
    (core.store.schema.ensure_schema, one transaction), as SQLite's is; read-only, it is
    upgraded through a writable connection first. Raises DatabaseError with one line for a
    missing file, a file that is not DuckDB, a file another process holds, one without our
    schema, or one of a newer schema version."""
    import duckdb  # ~0.2 s: only for a DuckDB database

    p = Path(path)
    if not create and not p.exists():
        raise DatabaseError(f"{p}: no such file")
    if p.is_dir():
        raise DatabaseError(f"{p}: is a directory, not a database file")
    try:
        raw = duckdb.connect(str(p), read_only=readonly and p.exists())
    except duckdb.Error as exc:
        text = first_line(exc)
        if "lock" in text.lower():
            raise DatabaseError(
                f"{p}: locked by another process (DuckDB lets one process write a file, or "
                f"several read it); try again when it is done ({text})"
            ) from exc
        raise DatabaseError(f"{p}: not a DuckDB database ({text})") from exc
    raw.execute("SET enable_progress_bar = false")  # the commands print their own report
    conn = DuckDBConnection(raw, str(p), readonly)
    try:
        version = duckdb_schema_version(conn)
    except DatabaseError as exc:
        conn.close()
        raise DatabaseError(f"{p}: {exc}") from exc
    if version is None:
        if not create:
            conn.close()
            raise DatabaseError(f"{p}: a DuckDB file, but not a userops database (no schema)")
        create_schema(conn)
    elif version > SCHEMA_VERSION:
        conn.close()
        raise DatabaseError(
            f"{p}: a DuckDB database of schema {version}; this userops understands up to "
            f"{SCHEMA_VERSION}. Upgrade userops."
        )
    elif version < SCHEMA_VERSION:
        if readonly:  # upgraded once through a writable connection, then read (as SQLite's)
            conn.close()
            open_duckdb(p).close()
            return open_duckdb(p, readonly=True)
        try:
            # the schema's migrations, in one transaction: all or nothing (the adapter speaks the
            # part of sqlite3's API they use, and spells their DDL: column_type, create_table)
            ensure_schema(conn)  # type: ignore[arg-type]
        except sqlite3.OperationalError as exc:
            conn.close()
            raise DatabaseError(
                f"{p}: made by an older userops (schema {version}); upgrading it to schema "
                f"{SCHEMA_VERSION} failed, nothing changed ({exc})"
            ) from exc
    return conn


def duckdb_schema_version(conn: DuckDBConnection) -> int | None:
    tables = conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchone()
    if tables is None:
        return None
    return stored_version(conn)


def create_schema(conn: DuckDBConnection) -> None:
    """Every table of the schema and the rows a new database starts with, in one transaction."""
    import duckdb

    try:
        conn.raw.execute("BEGIN TRANSACTION")
        for statement in [*schema_statements(), *INDEXES.values()]:
            conn.raw.execute(statement)
        for table, rows in seed_rows():  # schema_version in meta, the built-in column flags
            marks = ", ".join("?" * len(rows[0]))
            conn.raw.executemany(f"INSERT INTO {quote(table)} VALUES ({marks})", list(rows))
        conn.raw.execute("COMMIT")
    except duckdb.Error as exc:
        conn.raw.execute("ROLLBACK")
        raise DatabaseError(f"{conn.path}: cannot create the schema ({first_line(exc)})") from exc


def user_columns(conn: DuckDBConnection, table: str = "users") -> list[tuple[str, str]]:
    """(name, DuckDB type) of a DuckDB table's columns, in order."""
    return [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            (table,),
        )
    ]
