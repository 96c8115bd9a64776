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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.errors import DatabaseError
from core.store.logical import (  # noqa: F401  (the shared reader, named here as before)
    RowsCursor,
    Table,
    TableColumn,
    first_line,
    logical_tables,
    read_table,
    seed_rows,
    table_names,
)
from core.store.schema import SCHEMA_VERSION, stored_version
from core.store.sql import quote

# SQLite's declared types (core.store.columns.Column.sql_type and the DDL) -> DuckDB's
DUCKDB_TYPES = {"TEXT": "VARCHAR", "REAL": "DOUBLE", "INTEGER": "BIGINT", "": "VARCHAR"}
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


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

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> DuckDBCursor:
        import duckdb

        if isinstance(params, dict):  # DuckDB refuses values the statement does not name
            named = set(_PARAM.findall(sql))
            params = {k: v for k, v in params.items() if k in named}
        try:
            self.raw.execute(sql, params or None)
            description = self.raw.description
            rows = self.raw.fetchall() if description else []
        except duckdb.InterruptException:
            raise DuckDBError("interrupted") from None
        except duckdb.Error as exc:
            raise DuckDBError(first_line(exc)) from exc
        return DuckDBCursor(rows, description)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        import duckdb

        try:
            self.raw.executemany(sql, rows)
        except duckdb.Error as exc:
            raise DuckDBError(first_line(exc)) from exc

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

    @property
    def in_transaction(self) -> bool:
        return False  # every statement here commits on its own (copy writes use .raw)

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

    Raises DatabaseError with one line for a missing file, a file that is not DuckDB, a file
    another process holds, or one without our schema (or of another schema version: DuckDB
    databases are not migrated yet)."""
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
    elif version != SCHEMA_VERSION:
        conn.close()
        raise DatabaseError(
            f"{p}: a DuckDB database of schema {version}; this userops reads schema "
            f"{SCHEMA_VERSION} and does not migrate DuckDB databases yet: copy the SQLite "
            "database to it again (`userops copy SRC DST --force`)"
        )
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
        for statement in schema_statements():
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
