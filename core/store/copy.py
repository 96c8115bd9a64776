"""``userops copy SRC DST``: a whole database from one engine to another (SQLite, DuckDB, chDB).

Every table of the source (meta and its schema version included) with every row, read in one
read transaction (a consistent state, safe while another process writes the source), written
into a new database of the destination's engine made from the one schema (core.store.duck for
DuckDB, core.store.clickhouse for chDB, core.store.schema for SQLite), in one transaction, into
a temporary file (a directory for chDB, which has no transactions) beside DST that replaces it
only when complete: all or nothing. An existing DST is kept unless ``force``. A ClickHouse
server can be a source (read table by table); not yet a destination.

Columns an import added to ``users`` (or any column or table the source has beyond the schema)
are created on the destination with the matching type. The destination's own start rows (meta,
the built-in column flags) are replaced by the source's. On SQLite the features indexes are
built from INDEX_MIN_USERS users, as the recompute builds them; the refresh triggers are the
recompute's (core.pipeline) and the caller installs them (tui/cli/copy_cmd.py).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import DatabaseError
from core.store.duck import INDEXES as DUCKDB_INDEXES
from core.store.duck import DuckDBConnection, create_table_sql, duckdb_type
from core.store.engines import CLICKHOUSE_ENGINES, Target, open_database, parse_database
from core.store.logical import Table, TableColumn, first_line, read_table, table_names
from core.store.schema import SCHEMA_VERSION, feature_index_ddl
from core.store.sql import quote

BATCH_ROWS = 50_000
# DuckDB's types -> SQLite's declared types (the other way is core.store.duck.DUCKDB_TYPES)
SQLITE_TYPES = {"VARCHAR": "TEXT", "DOUBLE": "REAL", "BIGINT": "INTEGER", "INTEGER": "INTEGER"}


@dataclass
class CopyResult:
    source: Target
    destination: Target
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    schema_version: int = SCHEMA_VERSION

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copy_database(
    src: str | Path | Target,
    dst: str | Path | Target,
    *,
    force: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> CopyResult:
    """Copy the whole database ``src`` to ``dst`` (see the module's docstring). ``progress``
    is told (table, rows so far) as batches land. Raises DatabaseError with one line."""
    source = src if isinstance(src, Target) else parse_database(src)
    dest = dst if isinstance(dst, Target) else parse_database(dst)
    if dest.engine == "clickhouse":
        raise DatabaseError(
            f"{dest.given}: copying to a ClickHouse server is not supported yet; copy to a chDB "
            "directory (chdb:///DIR) or read from the server (docs/engines.md)"
        )
    if source.engine == dest.engine == "chdb":
        raise DatabaseError(
            f"{dest.given}: chDB opens one directory per process; copy chDB to chDB through a "
            "DuckDB or SQLite file"
        )
    src_path, dst_path = Path(source.location), Path(dest.location)
    if dst_path.exists() and src_path.exists() and dst_path.resolve() == src_path.resolve():
        raise DatabaseError(f"{dest.given}: the destination is the source")
    if dest.engine == "chdb" and dst_path.exists() and not dst_path.is_dir():
        raise DatabaseError(f"{dest.given}: is a file; a chDB database is a directory")
    if dest.engine != "chdb" and dst_path.is_dir():
        raise DatabaseError(f"{dest.given}: is a directory, not a database file")
    if dst_path.exists() and not force:
        raise DatabaseError(f"{dest.given}: exists; pass --force to replace it")
    folder = dst_path.parent if str(dst_path.parent) else Path(".")
    if not folder.is_dir():
        raise DatabaseError(f"{dest.given}: no such folder {folder}")
    tmp = folder / f".{dst_path.name}.copy-{os.getpid()}.tmp"
    _remove(tmp)
    reader = _open(source, readonly=True)
    try:
        version = _schema_version(reader)
        if version != SCHEMA_VERSION:
            raise DatabaseError(
                f"{source.given}: schema {version}; copy reads schema {SCHEMA_VERSION}: open it "
                "once with this userops (e.g. `userops check`) to upgrade it"
            )
        result = CopyResult(source, dest)
        writer = _open(Target(dest.engine, str(tmp), str(tmp)), create=True)
        try:
            _copy_all(reader, writer, result, progress)
        finally:
            _close_writer(writer)
    except BaseException:
        _remove(tmp)
        raise
    finally:
        reader.close()
    try:
        for leftover in _sidecars(dst_path, dest.engine):  # a replaced file's journal
            _remove(leftover)
        if dst_path.is_dir():  # a chDB directory: a directory is not replaced by a rename
            old = folder / f".{dst_path.name}.old-{os.getpid()}.tmp"
            _remove(old)
            os.replace(dst_path, old)
            os.replace(tmp, dst_path)
            _remove(old)
        else:
            os.replace(tmp, dst_path)
    except OSError as exc:
        _remove(tmp)
        raise DatabaseError(f"{dest.given}: cannot write it ({exc})") from exc
    return result


def _open(target: Target, *, create: bool = False, readonly: bool = False) -> Any:
    return open_database(target, create=create, readonly=readonly)


def _is_clickhouse(conn: Any) -> bool:
    return getattr(conn, "engine", None) in CLICKHOUSE_ENGINES


def _schema_version(conn: Any) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row and str(row[0]).isdigit() else None


def _sidecars(path: Path, engine: str) -> list[Path]:
    if engine == "duckdb":
        return [Path(f"{path}.wal")]
    return [Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():  # a chDB directory
        shutil.rmtree(path, ignore_errors=True)
        return
    for p in [path, *_sidecars(path, "sqlite"), *_sidecars(path, "duckdb")]:
        with suppress(FileNotFoundError):
            p.unlink()


def _close_writer(conn: Any) -> None:
    """Leave one self-contained file: the journal folded in."""
    with suppress(Exception):
        if isinstance(conn, DuckDBConnection):
            conn.raw.execute("CHECKPOINT")
        elif not _is_clickhouse(conn):
            conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()


# -- the tables of each side ---------------------------------------------------------------


def source_tables(conn: Any) -> list[Table]:
    """Every table of the source with its columns in stored order."""
    if isinstance(conn, DuckDBConnection):
        names = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        return [_duck_table(conn, name) for name in names]
    if _is_clickhouse(conn):
        from core.store import clickhouse

        return [clickhouse.read_table(conn, name) for name in clickhouse.table_names(conn)]
    return [read_table(conn, name) for name in table_names(conn)]


def _duck_table(conn: DuckDBConnection, name: str) -> Table:
    cols = conn.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        (name,),
    ).fetchall()
    return Table(
        name,
        tuple(TableColumn(c[0], SQLITE_TYPES.get(c[1], "TEXT"), c[2] == "NO") for c in cols),
    )


def _dest_columns(conn: Any, table: str) -> list[str] | None:
    """The destination table's columns, or None when it has no such table."""
    if isinstance(conn, DuckDBConnection):
        got = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_name = ? ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        return [r[0] for r in got] or None
    got = conn.execute(f"PRAGMA table_info({quote(table)})").fetchall()
    return [r[1] for r in got] or None


def _sqlite_create(table: Table) -> str:
    cols = [f"{quote(c.name)} {c.sql_type or 'TEXT'}" for c in table.columns]
    return f"CREATE TABLE {quote(table.name)} ({', '.join(cols)})"


def _prepare_table(writer: Any, table: Table) -> None:
    """The destination has this table with at least the source's columns."""
    have = _dest_columns(writer, table.name)
    duck = isinstance(writer, DuckDBConnection)
    house = _is_clickhouse(writer)
    if have is None:  # beyond the schema: made from the source's shape
        plain = Table(table.name, tuple(TableColumn(c.name, c.sql_type) for c in table.columns))
        if house:
            from core.store.clickhouse import create_table_sql as house_table

            writer.execute(house_table(plain))
        else:
            writer.execute(create_table_sql(plain) if duck else _sqlite_create(plain))
        return
    for col in table.columns:
        if col.name not in have:  # e.g. an attribute an import added to users
            if house:
                from core.store.clickhouse import clickhouse_type

                kind = f"Nullable({clickhouse_type(col.sql_type)})"
            else:
                kind = duckdb_type(col.sql_type) if duck else (col.sql_type or "TEXT")
            writer.execute(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(col.name)} {kind}")


# -- the rows -------------------------------------------------------------------------------


def _copy_all(
    reader: Any, writer: Any, result: CopyResult, progress: Callable[[str, int], None] | None
) -> None:
    tables = source_tables(reader)
    for table in tables:
        _prepare_table(writer, table)
    duck_out, house_out = isinstance(writer, DuckDBConnection), _is_clickhouse(writer)
    if house_out:  # the new database's start rows (ClickHouse: only the tables that have any)
        from core.store.logical import seed_rows

        for name in {name for name, _ in seed_rows()}:
            writer.execute(f"TRUNCATE TABLE {quote(name)}")
    for table in [] if house_out else tables:  # (before: DuckDB checks keys eagerly)
        _raw(writer).execute(f"DELETE FROM {quote(table.name)}")
    for name in DUCKDB_INDEXES if duck_out else ():  # built once after the load, not row by row
        _raw(writer).execute(f"DROP INDEX IF EXISTS {quote(name)}")
    if not duck_out and not house_out:  # a faithful copy, in any table order
        writer.execute("PRAGMA foreign_keys = OFF")
    if not house_out:  # ClickHouse has no transactions: the new directory is the unit
        _raw(writer).execute("BEGIN TRANSACTION" if duck_out else "BEGIN IMMEDIATE")
    if not _is_clickhouse(reader):  # a chDB source is this process's alone while it is read
        read_begin = "BEGIN TRANSACTION" if isinstance(reader, DuckDBConnection) else "BEGIN"
        _raw(reader).execute(read_begin)
    try:
        for table in tables:
            n = 0
            for batch in _read_batches(reader, table):
                try:
                    _write_batch(writer, table, batch)
                except Exception as exc:
                    raise DatabaseError(
                        f"{result.destination.given}: cannot copy table {table.name} "
                        f"({first_line(exc)})"
                    ) from exc
                n += len(batch)
                if progress is not None:
                    progress(table.name, n)
            result.rows[table.name] = n
        if not duck_out and not house_out:
            n_users = result.rows.get("features", 0)
            for statement in feature_index_ddl(n_users=n_users):
                writer.execute(statement)
        for statement in DUCKDB_INDEXES.values() if duck_out else ():
            _raw(writer).execute(statement)
        if not house_out:
            _raw(writer).execute("COMMIT")
    except BaseException:
        if not house_out:
            with suppress(Exception):
                _raw(writer).execute("ROLLBACK")
        raise
    finally:
        if not _is_clickhouse(reader):
            with suppress(Exception):
                _raw(reader).execute("COMMIT")


def _raw(conn: Any) -> Any:
    return conn.raw if isinstance(conn, DuckDBConnection) else conn


def _select(table: Table) -> str:
    cols = ", ".join(quote(c.name) for c in table.columns)
    return f"SELECT {cols} FROM {quote(table.name)}"


# The order a table's rows are written in, from a SQLite source (the others: its own). Events
# by kind and time, the order of SQLite's covering index events_kind_time (read at no cost):
# DuckDB's zone maps then read only a kind's recent row groups for the language's windows
# (count(login, 30d) >= 3 at 1M users: 80 ms of CPU; written by user instead, 700 ms, while
# the profile's two reads of one user's events went from 240 to 20 ms: docs/engines.md).
# Orders by time, the order of SQLite's orders_time (an import's are by user): an orders window
# (orders(30d) >= 1, spent(90d) …) then reads the row groups of its days, not all 82 of 10M
# orders' created_at (1M users: 398 -> ~120 ms of CPU); a user's orders are found through
# core.store.duck.INDEXES' orders_user, as their events are.
COPY_ORDER: dict[str, tuple[str, ...]] = {
    "events": ("kind", "created_at", "user_id"),
    "orders": ("created_at",),
}


def _read_batches(reader: Any, table: Table) -> Iterator[list[tuple[Any, ...]]]:
    sql = _select(table)
    order = COPY_ORDER.get(table.name)
    if order is not None and isinstance(reader, sqlite3.Connection):
        sql += f" ORDER BY {', '.join(quote(c) for c in order)}"
    cursor = _raw(reader).execute(sql)
    while batch := cursor.fetchmany(BATCH_ROWS):
        yield batch


def _write_batch(writer: Any, table: Table, batch: list[tuple[Any, ...]]) -> None:
    names = ", ".join(quote(c.name) for c in table.columns)
    if _is_clickhouse(writer):
        _write_clickhouse(writer, table, batch)
        return
    if not isinstance(writer, DuckDBConnection):
        marks = ", ".join("?" * len(table.columns))
        writer.executemany(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", batch)
        return
    # DuckDB takes a batch as one Arrow table (its executemany runs one statement per row)
    frame = _arrow_frame(table, batch)
    writer.raw.register("uo_copy_batch", frame)
    try:
        writer.raw.execute(
            f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM uo_copy_batch"
        )
    finally:
        writer.raw.unregister("uo_copy_batch")


def _arrow_frame(table: Table, batch: list[tuple[Any, ...]]) -> Any:
    """The batch as one pyarrow table of the columns' types; a value the type cannot hold is
    a DatabaseError naming the column and the value."""
    import pyarrow as pa

    kinds = {"TEXT": pa.string(), "REAL": pa.float64(), "INTEGER": pa.int64()}
    arrays = []
    for i, col in enumerate(table.columns):
        values = [row[i] for row in batch]
        kind = (col.sql_type or "TEXT").upper()
        try:
            arrays.append(pa.array(values, type=kinds.get(kind, pa.string())))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            offending = next(
                (v for v in values if v is not None and not _fits(v, col.sql_type)), values[0]
            )
            raise DatabaseError(
                f"column {col.name} is {col.sql_type} but holds {offending!r} ({exc})"
            ) from exc
        if col.not_null and arrays[-1].null_count:
            raise DatabaseError(f"column {col.name} cannot be empty there but holds NULL")
    return pa.Table.from_arrays(arrays, names=[c.name for c in table.columns])


_HOUSE_TABLES: dict[tuple[int, str], Table] = {}


def _write_clickhouse(writer: Any, table: Table, batch: list[tuple[Any, ...]]) -> None:
    """A batch into ClickHouse as one Arrow INSERT, typed as the destination's columns (its
    key columns hold no NULL: one there is named, not made '' or 0)."""
    from core.store import clickhouse

    key = (id(writer), table.name)
    if key not in _HOUSE_TABLES:
        _HOUSE_TABLES.clear()
        dest = {c.name: c for c in clickhouse.read_table(writer, table.name).columns}
        _HOUSE_TABLES[key] = Table(table.name, tuple(dest[c.name] for c in table.columns))
    writer.backend.insert_arrow(table.name, _arrow_frame(_HOUSE_TABLES[key], batch))


def _fits(value: Any, sql_type: str) -> bool:
    kind = sql_type.upper()
    if kind == "INTEGER":
        return isinstance(value, int)
    if kind == "REAL":
        return isinstance(value, int | float)
    return isinstance(value, str)
