"""The one logical schema, read back from SQLite, and what every engine's connection adapter
shares (core.store.duck for DuckDB, core.store.clickhouse for ClickHouse).

The tables are not written once per engine: :func:`logical_tables` builds the SQLite schema of
core.store.schema (columns from core.store.columns) in memory and reads it back — columns in
order, types, NOT NULL, defaults, primary keys and UNIQUE constraints — and each engine spells
every :class:`Table` in its own DDL. :class:`RowsCursor` is the cursor of an adapter that reads
a statement's rows at once.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from core.store.sql import quote


@dataclass(frozen=True)
class TableColumn:
    name: str
    sql_type: str  # SQLite's declared type: TEXT | REAL | INTEGER
    not_null: bool = False
    default: str | None = None  # SQL literal text from the schema, e.g. '' or 0


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[TableColumn, ...]
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()


def read_table(conn: sqlite3.Connection, name: str) -> Table:
    """A SQLite table's logical shape (columns in stored order, keys), from its catalogue."""
    info = conn.execute(f"PRAGMA table_info({quote(name)})").fetchall()
    cols = tuple(TableColumn(row[1], (row[2] or "").upper(), bool(row[3]), row[4]) for row in info)
    pk = tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))
    unique = []
    for index in conn.execute(f"PRAGMA index_list({quote(name)})").fetchall():
        if index[3] == "u":  # a UNIQUE constraint (pk indexes are origin 'pk')
            members = conn.execute(f"PRAGMA index_info({quote(index[1])})").fetchall()
            unique.append(tuple(m[2] for m in sorted(members)))
    return Table(name, cols, pk, tuple(unique))


_CREATE = re.compile(
    r"\s*(?:--[^\n]*\n\s*)*"  # the schema's statements may start with comment lines
    r"CREATE\s+(?P<temp>TEMP\s+|TEMPORARY\s+)?TABLE\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>(?:temp\.|main\.)?[A-Za-z_][A-Za-z0-9_]*)\s*(?P<body>\(.*)",
    re.I | re.S,
)


@dataclass(frozen=True)
class CreateTable:
    """A SQLite ``CREATE [TEMP] TABLE [IF NOT EXISTS] name (…)`` understood: the name as
    written (``temp.`` and all), whether TEMP and IF NOT EXISTS, and the table's shape."""

    name: str
    temp: bool
    if_not_exists: bool
    shape: Table


def read_create_table(ddl: str) -> CreateTable:
    """One of core's own CREATE TABLE statements, made by SQLite in memory and read back (as
    the schema's tables are), for another engine to spell (core.store.duck, clickhouse)."""
    match = _CREATE.fullmatch(ddl)
    if match is None:
        raise ValueError(f"not a CREATE TABLE statement: {ddl.strip()[:60]}")  # our own DDL only
    mem = sqlite3.connect(":memory:")
    try:
        mem.execute(f"CREATE TABLE t {match['body']}")
        shape = read_table(mem, "t")
    finally:
        mem.close()
    temp = bool(match["temp"]) or match["name"].lower().startswith("temp.")
    return CreateTable(match["name"], temp, bool(match["ine"]), shape)


# A large first import builds its table under this prefix, hidden until it swaps it in
# (core.ingest.importer); a build is not part of the database's contents.
IMPORT_BUILD_PREFIX = "uo_import_"


def table_names(conn: sqlite3.Connection) -> list[str]:
    """The tables of a SQLite database, by name (SQLite's own catalogue tables and the hidden
    build of an import under way, or left by a killed one, left out)."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE ? ESCAPE '\\' ORDER BY name",
            (IMPORT_BUILD_PREFIX.replace("_", "\\_") + "%",),
        )
    ]


@cache
def _new_database() -> tuple[
    tuple[Table, ...], tuple[tuple[str, tuple[tuple[Any, ...], ...]], ...]
]:
    """A new userops database as core.store.schema creates it: its tables, and the rows it
    starts with (meta's schema_version, the built-in personal columns)."""
    from core.store.schema import ensure_schema

    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        ensure_schema(mem)
        tables = tuple(read_table(mem, name) for name in table_names(mem))
        seeds = tuple(
            (t.name, rows)
            for t in tables
            if (rows := tuple(mem.execute(f"SELECT * FROM {quote(t.name)}").fetchall()))
        )
        return tables, seeds
    finally:
        mem.close()


def logical_tables() -> tuple[Table, ...]:
    """Every table of a new userops database, as core.store.schema creates it."""
    return _new_database()[0]


def seed_rows() -> tuple[tuple[str, tuple[tuple[Any, ...], ...]], ...]:
    """(table, rows) a new userops database starts with."""
    return _new_database()[1]


class RowsCursor:
    """The rows of one statement, read at once (DuckDB keeps one open result per connection,
    chDB answers a statement whole; core reads a second query while iterating a first)."""

    def __init__(self, rows: list[tuple[Any, ...]], description: Any) -> None:
        self._rows = rows
        self._at = 0
        self.description = description
        self.rowcount = -1

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        got = self._rows[self._at : self._at + size]
        self._at += len(got)
        return got

    def fetchall(self) -> list[tuple[Any, ...]]:
        got = self._rows[self._at :]
        self._at = len(self._rows)
        return got

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row


def first_line(exc: BaseException) -> str:
    """Engines' messages run over several lines (the statement, a caret): the first says it."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
