"""ClickHouse: its tables derived from the one schema, and a connection that speaks the DB-API
subset core is written against (as core.store.duck does for DuckDB), on two backends: chDB
(ClickHouse's engine in-process, a directory: ``chdb:///DIR``) and a server through
clickhouse-connect (``clickhouse://user[:password]@host:port/database``).

Tables (:func:`create_table_sql`, from core.store.logical's reading of the SQLite schema): each
is a ``ReplacingMergeTree`` whose sorting key is the table's primary key with ``user_id`` first
(``orders``, keyed by ``order_id``, is sorted by ``(user_id, order_id)``), so the per-user reads
the language and the screens make are range reads of one user's rows. Columns the schema lets be
NULL are ``Nullable``; key columns are not (ClickHouse's sorting key holds no NULL). Types:
TEXT -> String, REAL -> Float64, INTEGER -> Int64. UNIQUE constraints, foreign keys and CHECKs
are SQLite's (ClickHouse enforces none of them). The upsert design (the recompute, ``rfm --set``
and ``model`` write, in a build database exchanged in: :func:`exchanged`; and ``userops copy``):
a write of a keyed row is one INSERT of the whole new row; of the rows with one sorting key, ReplacingMergeTree keeps the last inserted when it
merges parts, and a reader that must see one row per key before the merge reads with
``FINAL`` (setting ``final = 1`` on its connection); a delete is a lightweight ``DELETE FROM``.
See docs/engines.md.

The connection: parameters are ``{name:?}`` in the SQL core emits (core.store.engines.
ClickHouseDialect) or ``?``; :func:`prepare` writes each one's ClickHouse type from its value
(``{p0:String}``, ``{_q0:Int64}``) and the backend binds it (values never enter the SQL text).
SQLite's catalogue, which core reads (``PRAGMA table_info(t)``, ``sqlite_master``), is answered
from ClickHouse's ``system`` tables. Settings make ClickHouse answer as SQLite does:
``join_use_nulls`` (an outer join's missing side is NULL, not 0 or ''),
``aggregate_functions_null_for_empty`` (a sum of no rows is NULL), ``union_default_mode``
(UNION is UNION DISTINCT). Failures are ``sqlite3.OperationalError``, so every handler core has
reads them and the CLI prints one line.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any
from weakref import WeakSet

from core.errors import DatabaseError
from core.store.logical import (
    RowsCursor,
    Table,
    TableColumn,
    first_line,
    logical_tables,
    read_create_table,
    seed_rows,
)
from core.store.schema import SCHEMA_VERSION, stored_version
from core.store.sql import quote

# SQLite's declared types -> ClickHouse's (and back, for a table read from ClickHouse)
CLICKHOUSE_TYPES = {"TEXT": "String", "REAL": "Float64", "INTEGER": "Int64", "": "String"}
SQLITE_TYPES = {"String": "TEXT", "Float64": "REAL", "Int64": "INTEGER"}
# what makes ClickHouse answer the SQL core writes as SQLite does (the module's docstring)
SETTINGS: dict[str, str] = {
    "join_use_nulls": "1",
    "aggregate_functions_null_for_empty": "1",
    "union_default_mode": "DISTINCT",
}
INSTALL = "`pip install 'userops[clickhouse]'`"


# -- tables -------------------------------------------------------------------------------


def sorting_key(table: Table) -> tuple[str, ...]:
    """The table's primary key with ``user_id`` first (added first when the table has a
    ``user_id`` column outside its key): each user's rows lie together."""
    key = [c for c in table.primary_key if c != "user_id"]
    names = {c.name for c in table.columns}
    return ("user_id", *key) if "user_id" in names else tuple(key)


def clickhouse_type(sql_type: str) -> str:
    return CLICKHOUSE_TYPES.get(sql_type.upper(), "String")


def column_type(col: TableColumn, key: tuple[str, ...]) -> str:
    """The column's ClickHouse type: Nullable where the schema allows NULL (not in the key)."""
    base = clickhouse_type(col.sql_type)
    return base if col.not_null or col.name in key else f"Nullable({base})"


_LITERAL = re.compile(r"'[^'\\]*'|-?[0-9]+(\.[0-9]+)?")


def create_table_sql(table: Table) -> str:
    """The ClickHouse DDL of one table (see the module's docstring)."""
    key = sorting_key(table)
    parts = []
    for col in table.columns:
        text = f"{quote(col.name)} {column_type(col, key)}"
        if col.default is not None and _LITERAL.fullmatch(col.default):
            text += f" DEFAULT {col.default}"
        parts.append(text)
    body = ",\n    ".join(parts)
    if not key:  # a table beyond the schema without a key: rows in insertion order
        return (
            f"CREATE TABLE {quote(table.name)} (\n    {body}\n) ENGINE = MergeTree ORDER BY tuple()"
        )
    order = ", ".join(quote(c) for c in key)
    return (
        f"CREATE TABLE {quote(table.name)} (\n    {body}\n) "
        f"ENGINE = ReplacingMergeTree ORDER BY ({order})"
    )


@cache
def spell_create_table(ddl: str) -> str:
    """A SQLite ``CREATE [TEMP] TABLE [IF NOT EXISTS] name (…) [WITHOUT ROWID]`` as ClickHouse
    spells it (the recompute's new and scratch tables): made by SQLite in memory and read back,
    as the schema's tables are (:func:`create_table_sql`). ClickHouse has no TEMP schema: the
    table is made in the current database (the recompute's build database: core.pipeline)."""
    made = read_create_table(ddl)
    body = create_table_sql(made.shape).split("(", 1)[1]
    exists = "IF NOT EXISTS " if made.if_not_exists else ""
    return f"CREATE TABLE {exists}{quote(made.name.split('.')[-1])} ({body}"


def schema_statements() -> list[str]:
    """The DDL of a new ClickHouse userops database, in order."""
    return [create_table_sql(t) for t in logical_tables()]


# -- parameters ---------------------------------------------------------------------------

_TOKENS = re.compile(
    r"(?P<quoted>'(?:[^'\\]|\\.|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`)"
    r"|(?P<named>\{[A-Za-z_][A-Za-z0-9_]*:\?\})"
    r"|(?<![:\w]):(?P<sqlite_named>[A-Za-z_]\w*)"  # sqlite3's :name, as DuckDB's adapter takes it
    r"|(?P<positional>\?)"
    r"|(?P<master>\bsqlite_master\b)"
    r"|(?P<temp>\btemp\.(?=[A-Za-z_\"]))"  # SQLite's TEMP schema: the current database here
    r"|(?P<main>\bmain\.(?=[A-Za-z_\"]))",  # SQLite's main schema: the live database (exchanged)
    re.DOTALL,
)
# SQLite's catalogue of tables, as core reads it (type, name)
_SQLITE_MASTER = (
    "(SELECT 'table' AS type, name, name AS tbl_name FROM system.tables "
    "WHERE database = currentDatabase() AND NOT is_temporary) AS sqlite_master"
)
_INT64 = (-(2**63), 2**63 - 1)


def value_type(value: object) -> str:
    """The ClickHouse type a bound value is declared with."""
    if value is None:
        return "Nullable(String)"
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ClickHouseError(f"the number {value} does not fit ClickHouse's Int64")
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    return "String"


def prepare(
    sql: str, params: Sequence[Any] | dict[str, Any] = (), *, main: str = ""
) -> tuple[str, dict[str, Any]]:
    """``sql`` with each ``{name:?}``, ``:name`` and ``?`` written as a typed ClickHouse
    parameter, and the values by name; quoted text and identifiers are left as they are.
    SQLite's ``temp.`` is left out (the current database) and ``main.`` is ``main`` (the live
    database's name and a dot while a build database is current, :func:`exchanged`; else
    nothing: the current database is the live one)."""
    named = params if isinstance(params, dict) else {}
    positional = list(params) if not isinstance(params, dict) else []
    values: dict[str, Any] = {}
    out: list[str] = []
    at = 0
    for match in _TOKENS.finditer(sql):
        out.append(sql[at : match.start()])
        at = match.end()
        kind = match.lastgroup
        if kind == "quoted":
            out.append(match.group())
            continue
        if kind == "temp":
            continue
        if kind == "main":
            out.append(main)
            continue
        if kind == "master":
            rest = sql[at:].lstrip()
            out.append(_SQLITE_MASTER if rest[:3].upper() != "AS " else _SQLITE_MASTER[:-17])
            continue
        if kind in ("named", "sqlite_named"):
            name = match.group()[1:-3] if kind == "named" else match.group("sqlite_named")
            if name not in named:
                raise ClickHouseError(f"no value for the parameter {name}")
            value = named[name]
        else:
            name = f"_q{len(values)}"
            if len(values) >= len(positional):
                raise ClickHouseError("more ? in the statement than values")
            value = positional[len(values)]
        values[name] = _plain(value)
        out.append("{" + f"{name}:{value_type(values[name])}" + "}")
    out.append(sql[at:])
    return "".join(out), values


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "isoformat"):  # a date or datetime: text, as SQLite stores it
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def chdb_text(value: object) -> str:
    """A bound value as chDB takes it: text in ClickHouse's escaped format (``\\N`` is NULL)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    for raw, escaped in (
        ("\\", "\\\\"),
        ("\t", "\\t"),
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\0", "\\0"),
    ):
        text = text.replace(raw, escaped)
    return text


# -- backends -----------------------------------------------------------------------------

Rows = tuple[list[tuple[Any, ...]], Any]


def _rows_of(table: Any) -> Rows:
    """(rows, description) of a pyarrow table; NaN is no value (SQLite stores NaN as NULL)."""
    import pyarrow as pa

    if table is None or table.num_columns == 0:
        return [], None
    columns = []
    for col in table.columns:
        values = col.to_pylist()
        if pa.types.is_floating(col.type):
            values = [None if isinstance(v, float) and math.isnan(v) else v for v in values]
        columns.append(values)
    description = [(name, None, None, None, None, None, None) for name in table.column_names]
    return list(zip(*columns, strict=True)), description


class _Engine:
    """chDB runs one engine per process, bound to one directory until its last connection
    closes. Connections to other directories wait, closed, until they are used again."""

    lock = threading.RLock()
    path: str | None = None
    users: WeakSet[ChdbBackend] = WeakSet()
    alone: set[threading.Thread] = set()  # statements on connections of their own, running


class ChdbBackend:
    """A chDB directory. Its raw connection is opened on first use and reopened after another
    directory's connection took the process's engine."""

    engine = "chdb"

    def __init__(self, path: str, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self._conn: Any = None

    def connection_string(self) -> str:
        settings = dict(SETTINGS, readonly="2") if self.readonly else SETTINGS
        return f"{self.path}?" + "&".join(f"{k}={v}" for k, v in settings.items())

    def _raw(self) -> Any:
        from chdb.state import connect

        with _Engine.lock:
            if _Engine.path != self.path:
                for running in list(_Engine.alone):  # a statement stopped waiting for
                    if running is not threading.current_thread():
                        running.join()
                for other in list(_Engine.users):
                    other._suspend()
            if self._conn is None:
                if _Engine.path != self.path and _held_elsewhere(Path(self.path)):
                    raise ClickHouseError(
                        "held by another process (chDB lets one process open a directory); "
                        "try again when it is done"
                    )
                try:
                    self._conn = connect(self.connection_string())
                except Exception as exc:
                    raise ClickHouseError(first_line(exc)) from exc
                _Engine.path = self.path
                _Engine.users.add(self)
            return self._conn

    def _suspend(self) -> None:
        with _Engine.lock:
            if self._conn is not None:
                with suppress(Exception):
                    self._conn.close()
                self._conn = None
            _Engine.users.discard(self)
            if not _Engine.users:
                _Engine.path = None

    def query(self, sql: str, values: dict[str, Any]) -> Rows:
        return _rows_of(self.query_arrow(sql, values))

    def query_arrow(self, sql: str, values: dict[str, Any]) -> Any:
        """A statement's result as a pyarrow table."""
        params = {k: chdb_text(v) for k, v in values.items()}
        with _Engine.lock:
            raw = self._raw()
            try:
                return raw.query(sql, "ArrowTable", params=params)
            except Exception as exc:
                raise ClickHouseError(first_line(exc)) from exc

    def query_alone(self, sql: str, values: dict[str, Any]) -> Rows:
        """The same on a connection of its own (a statement another thread may stop waiting
        for: chDB cannot cancel a running statement)."""
        from chdb.state import connect

        params = {k: chdb_text(v) for k, v in values.items()}
        with _Engine.lock:
            self._raw()  # the engine is this directory's
            raw = connect(self.connection_string())
            _Engine.alone.add(threading.current_thread())
        try:
            return _rows_of(raw.query(sql, "ArrowTable", params=params))
        except Exception as exc:
            raise ClickHouseError(first_line(exc)) from exc
        finally:
            with suppress(Exception):
                raw.close()
            _Engine.alone.discard(threading.current_thread())

    def insert_arrow(self, table: str, frame: Any) -> None:
        """Rows of a pyarrow table into ``table`` (its columns by name), in one INSERT."""
        import pyarrow as pa

        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, frame.schema) as writer:
            writer.write_table(frame)
        names = ", ".join(quote(n) for n in frame.column_names)
        with _Engine.lock:
            raw = self._raw()
            try:
                inserter = raw.send_insert(f"INSERT INTO {quote(table)} ({names})", "ArrowStream")
                inserter.append(sink.getvalue().to_pybytes())
                inserter.finish()
            except Exception as exc:
                raise ClickHouseError(first_line(exc)) from exc

    def close(self) -> None:
        self._suspend()


def _held_elsewhere(folder: Path) -> bool:
    """Whether another process's engine has the directory (ClickHouse locks its ``status``
    file while it runs): asked before starting one here, which would fail saying less."""
    import fcntl

    try:
        with open(folder / "status", "rb") as status:
            try:
                fcntl.flock(status, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(status, fcntl.LOCK_UN)
    except FileNotFoundError:
        return False
    return False


class ServerBackend:
    """A ClickHouse server through clickhouse-connect (its HTTP interface): parameters are
    bound by the server (``{name:Type}``), the settings are the client's."""

    engine = "clickhouse"

    def __init__(self, client: Any, readonly: bool) -> None:
        self.client = client
        self.readonly = readonly

    def query(self, sql: str, values: dict[str, Any]) -> Rows:
        return _rows_of(self.query_arrow(sql, values))

    def query_arrow(self, sql: str, values: dict[str, Any]) -> Any:
        try:
            return self.client.query_arrow(sql, parameters=values, use_strings=True)
        except Exception as exc:
            raise ClickHouseError(first_line(exc)) from exc

    query_alone = query

    def insert_arrow(self, table: str, frame: Any) -> None:
        try:
            self.client.insert_arrow(table, frame)
        except Exception as exc:
            raise ClickHouseError(first_line(exc)) from exc

    def close(self) -> None:
        with suppress(Exception):
            self.client.close()


# -- the connection -----------------------------------------------------------------------


class ClickHouseError(sqlite3.OperationalError):
    """A ClickHouse failure, raised as the sqlite3 error core's handlers already catch."""


_TEMP_AS = re.compile(r"\s*CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+(?:temp\.)?(?P<name>\w+)\s+AS\b", re.I)
_DELETE_ALL = re.compile(r"\s*DELETE\s+FROM\s+[\w.\"]+\s*;?\s*", re.I)
_OR_VERB = re.compile(r"\s*INSERT\s+OR\s+(?:REPLACE|IGNORE)\s+INTO\b", re.I)
_UPDATE = re.compile(
    r"\s*UPDATE\s+(?P<table>[A-Za-z_][A-Za-z0-9_.]*|\"[^\"]+\")(?:\s+AS\s+(?P<alias>\w+))?"
    r"\s+SET\s+(?P<rest>.*)",
    re.I | re.S,
)
_WHERE = re.compile(r"'(?:[^'\\]|\\.|'')*'|\(|\)|\bWHERE\b", re.I)


def sqlite_writes(sql: str) -> str:
    """SQLite's write verbs core uses, as ClickHouse spells them (docs/engines.md, the upsert
    design): ``INSERT OR REPLACE`` / ``OR IGNORE`` are plain INSERTs (ReplacingMergeTree keeps
    one row per key; core only ignores rows equal to the stored ones, and a reader that must
    see one row per key before the merge reads with ``final``); ``UPDATE t [AS a] SET … [WHERE
    …]`` is a mutation (``DELETE FROM t`` gets ``WHERE 1``), ``ALTER TABLE t UPDATE …`` waited for (no ``a.`` prefixes: a mutation
    names its own table's columns bare; joinGet, its UPDATE … FROM, is allowed). Other statements are returned as they are."""
    temp = _TEMP_AS.match(sql)
    if temp is not None:
        return f"CREATE TABLE {temp['name']} ENGINE = Memory AS{sql[temp.end() :]}"
    if _DELETE_ALL.fullmatch(sql):  # a lightweight DELETE takes a WHERE
        return sql.rstrip().rstrip(";") + " WHERE 1"
    verb = _OR_VERB.match(sql)
    if verb is not None:
        return "INSERT INTO" + sql[verb.end() :]
    update = _UPDATE.fullmatch(sql)
    if update is None:
        return sql
    rest, depth, cut = update["rest"], 0, None
    for token in _WHERE.finditer(rest):
        text = token.group()
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif text.upper() == "WHERE" and depth == 0:
            cut = token
            break
    sets, where = (rest, "1") if cut is None else (rest[: cut.start()], rest[cut.end() :])
    if update["alias"]:
        bare = re.compile(rf"(?<![\w.]){re.escape(update['alias'])}\.")
        sets, where = bare.sub("", sets), bare.sub("", where)
    return (
        f"ALTER TABLE {update['table']} UPDATE {sets.strip()} WHERE {where.strip().rstrip(';')} "
        "SETTINGS mutations_sync = 2, allow_nondeterministic_mutations = 1"
    )


_TRANSACTION = re.compile(r"\s*(BEGIN(\s+IMMEDIATE|\s+TRANSACTION)?|COMMIT|ROLLBACK)\s*;?\s*", re.I)
_PRAGMA = re.compile(r"\s*PRAGMA\s+(\w+)\s*(?:\((.*)\))?\s*;?\s*", re.IGNORECASE | re.DOTALL)


class ClickHouseConnection:
    """A ClickHouse database as core uses a ``sqlite3.Connection`` (the module's docstring)."""

    def __init__(self, backend: ChdbBackend | ServerBackend, location: str) -> None:
        self.backend = backend
        self.engine = backend.engine
        self.path = location
        self.readonly = backend.readonly
        self._handler: Callable[[], Any] | None = None

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> RowsCursor:
        if self.building and _TRANSACTION.fullmatch(sql):
            return RowsCursor([], None)  # the build database is the transaction (exchanged)
        pragma = _PRAGMA.fullmatch(sql)
        if pragma is not None:
            return self._pragma(pragma.group(1).lower(), (pragma.group(2) or "").strip())
        text, values = prepare(sqlite_writes(sql), params, main=self._main())
        if self._handler is None:
            return RowsCursor(*self.backend.query(text, values))
        return RowsCursor(*self._limited(text, values, self._handler))

    def _limited(self, sql: str, values: dict[str, Any], handler: Callable[[], Any]) -> Rows:
        """As sqlite3's progress handler: the caller stops waiting (``interrupted``) once
        ``handler`` returns true; the statement runs on in the background to its end (chDB
        cannot cancel one)."""
        got: dict[str, Any] = {}

        def work() -> None:
            try:
                got["rows"] = self.backend.query_alone(sql, values)
            except BaseException as exc:
                got["error"] = exc

        worker = threading.Thread(target=work, name="userops-clickhouse-limit", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.02)
            if worker.is_alive() and handler():
                raise ClickHouseError("interrupted")
        if "error" in got:
            raise got["error"]
        return got["rows"]

    def _pragma(self, name: str, arg: str) -> RowsCursor:
        """SQLite's catalogue pragmas core reads, from ClickHouse's system tables."""
        if name != "table_info":
            raise ClickHouseError(f"PRAGMA {name} has no meaning on ClickHouse")
        table = arg[1:-1].replace('""', '"') if arg.startswith('"') else arg.strip("'`")
        rows = self.backend.query(
            "SELECT name, type, default_expression FROM system.columns "
            "WHERE database = currentDatabase() AND table = {t:String} "
            "AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position",
            {"t": table},
        )[0]
        info = []
        for cid, (col, kind, default) in enumerate(rows):
            nullable = kind.startswith("Nullable(")
            base = kind[9:-1] if nullable else kind
            info.append(
                (cid, col, SQLITE_TYPES.get(base, "TEXT"), int(not nullable), default or None, 0)
            )
        description = [(n, None, None, None, None, None, None) for n in _PRAGMA_COLUMNS]
        return RowsCursor(info, description)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.execute(sql, row)

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        """The rows of a query as a pandas DataFrame (NULL numbers are NaN), as DuckDB's
        adapter gives them (core.analytics.predict.read_frame)."""
        text, values = prepare(sql, params or {}, main=self._main())
        return self.backend.query_arrow(text, values).to_pandas()

    def _main(self) -> str:
        """What SQLite's ``main.`` is here (:func:`prepare`)."""
        return f"{quote(self.live)}." if self.building and self.live else ""

    def execute_with_frame(
        self, name: str, frame: Any, sql: str, params: dict[str, Any] | None = None
    ) -> None:
        """Run ``sql`` with the pandas DataFrame ``frame`` readable as the table ``name`` (a
        Memory table in the current database, dropped after): the bulk writes of per-buyer
        results, as DuckDB's adapter runs them. NaN in a float column reads as NULL."""
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        columns = ", ".join(f"{quote(f.name)} {_arrow_type(f.type)}" for f in table.schema)
        self.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        self.execute(f"CREATE TABLE {quote(name)} ({columns}) ENGINE = Memory")
        try:
            if table.num_rows:
                self.backend.insert_arrow(name, table)
            self.execute(sql, params or {})
        finally:
            self.execute(f"DROP TABLE IF EXISTS {quote(name)}")

    def interrupt(self) -> None:
        """Nothing to stop: a running ClickHouse statement is not cancelled (see _limited)."""

    def set_progress_handler(self, handler: Callable[[], Any] | None, n: int) -> None:
        self._handler = handler

    @property
    def in_transaction(self) -> bool:
        # ClickHouse has no transactions: copy writes a new database whole, and the recompute's
        # writes go to a build database exchanged in at the end (:func:`exchanged`), which
        # stands for the transaction the code inside it opens and joins
        return self.building

    building = False
    live: str | None = None  # the live database while a build database is current

    def close(self) -> None:
        self._handler = None
        self.backend.close()

    def __enter__(self) -> ClickHouseConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _arrow_type(kind: Any) -> str:
    """A pandas column's ClickHouse type, for a frame read as a table (execute_with_frame)."""
    import pyarrow as pa

    if pa.types.is_floating(kind):
        return "Nullable(Float64)"
    if pa.types.is_integer(kind):
        return "Int64"
    return "Nullable(String)"


_PRAGMA_COLUMNS = ("cid", "name", "type", "notnull", "dflt_value", "pk")


# -- opening ------------------------------------------------------------------------------


def open_clickhouse(
    engine: str, location: str, given: str, *, create: bool = False, readonly: bool = False
) -> ClickHouseConnection:
    """Open (or, with ``create``, create with the userops schema) a chDB directory or a
    database on a ClickHouse server. Raises DatabaseError with one line for a missing
    directory, one that is not chDB's, a directory another process holds, a server that does
    not answer, a database without our schema or of another schema version. ``engine``,
    ``location`` and ``given`` are core.store.engines.Target's (which opens this module)."""
    if engine == "chdb":
        backend: ChdbBackend | ServerBackend = _chdb_backend(location, create, readonly)
        where = location
    else:
        backend = _server_backend(location, given, readonly)
        where = given
    conn = ClickHouseConnection(backend, where)
    try:
        version = clickhouse_schema_version(conn)
    except (sqlite3.Error, DatabaseError) as exc:
        conn.close()
        raise DatabaseError(f"{where}: {_why(exc)}") from exc
    if version is None:
        if not create:
            conn.close()
            raise DatabaseError(
                f"{where}: a {ENGINE_NAMES[engine]} database, but not a userops "
                "database (no schema)"
            )
        try:
            create_schema(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise DatabaseError(f"{where}: cannot create the schema ({exc})") from exc
    elif version != SCHEMA_VERSION:
        conn.close()
        raise DatabaseError(
            f"{where}: a ClickHouse database of schema {version}; this userops reads schema "
            f"{SCHEMA_VERSION} and does not migrate ClickHouse databases yet: copy the SQLite "
            "database to it again (`userops copy SRC DST --force`)"
        )
    return conn


ENGINE_NAMES = {"chdb": "chDB", "clickhouse": "ClickHouse"}


def _why(exc: BaseException) -> str:
    return str(exc)


def _chdb_backend(location: str, create: bool, readonly: bool) -> ChdbBackend:
    try:
        import chdb.state  # noqa: F401  (~1 s: only for a chDB database)
    except ImportError:
        raise DatabaseError(f"{location}: chDB is not installed: {INSTALL}") from None
    p = Path(location)
    if p.exists() and not p.is_dir():
        raise DatabaseError(f"{p}: is a file; a chDB database is a directory")
    if not p.exists() and not create:
        raise DatabaseError(f"{p}: no such directory")
    if p.exists() and any(p.iterdir()) and not (p / "metadata").is_dir():
        raise DatabaseError(f"{p}: not a chDB directory (it has no metadata folder)")
    return ChdbBackend(str(p), readonly and p.exists())


_SERVER = re.compile(r"(?:([^@/:]+)(?::([^@/]*))?@)?([^@/:]+)(?::(\d+))?(?:/([^/]*))?")


def _server_backend(location: str, given: str, readonly: bool) -> ServerBackend:
    match = _SERVER.fullmatch(location)
    if match is None:
        raise DatabaseError(f"{given}: a ClickHouse URL reads clickhouse://user@host:port/database")
    user, password, host, port, database = match.groups()
    try:
        import clickhouse_connect
    except ImportError:
        raise DatabaseError(f"{given}: clickhouse-connect is not installed: {INSTALL}") from None
    settings: dict[str, Any] = dict(SETTINGS)
    if readonly:
        settings["readonly"] = "2"
    try:
        client = clickhouse_connect.get_client(
            host=host,
            port=int(port) if port else 8123,
            username=user or "default",
            password=password or "",
            database=database or "default",
            settings=settings,
        )
    except Exception as exc:
        raise DatabaseError(f"{given}: cannot connect ({first_line(exc)})") from exc
    return ServerBackend(client, readonly)


def clickhouse_schema_version(conn: ClickHouseConnection) -> int | None:
    found = conn.execute(
        "SELECT 1 FROM system.tables WHERE database = currentDatabase() AND name = 'meta'"
    ).fetchone()
    if found is None:
        return None
    return stored_version(conn)


def create_schema(conn: ClickHouseConnection) -> None:
    """Every table of the schema and the rows a new database starts with. ClickHouse has no
    transactions: core.store.copy makes a new database beside the destination and puts it in
    place only when complete."""
    for statement in schema_statements():
        conn.execute(statement)
    for table, rows in seed_rows():  # schema_version in meta, the built-in column flags
        marks = ", ".join("?" * len(rows[0]))
        for row in rows:
            conn.execute(f"INSERT INTO {quote(table)} VALUES ({marks})", row)


def table_names(conn: ClickHouseConnection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT name FROM system.tables WHERE database = currentDatabase() "
            "AND NOT is_temporary AND engine NOT LIKE '%View' ORDER BY name"
        )
    ]


def read_table(conn: ClickHouseConnection, name: str) -> Table:
    """A ClickHouse table's logical shape, in SQLite's types (the PRAGMA the adapter answers)."""
    info = conn.execute(f"PRAGMA table_info({quote(name)})").fetchall()
    return Table(name, tuple(TableColumn(r[1], r[2], bool(r[3])) for r in info))


# -- all or nothing: a build database exchanged in -------------------------------------------

BUILD_SUFFIX = "__build"


@contextmanager
def exchanged(
    conn: ClickHouseConnection,
    *,
    copied: Sequence[str] = (),
    empty: Sequence[str] = (),
    filtered: dict[str, tuple[str, tuple[Any, ...]]] | None = None,
    renamed: Sequence[str] = (),
) -> Iterator[None]:
    """Writes to several tables, all or nothing, on an engine without multi-statement
    transactions. The block runs in a database of its own (``<db>__build``, made current)
    where each table it writes is a copy of the live one: ``copied`` whole, ``filtered`` with
    the rows of a WHERE (``{table: (where, params)}``), ``empty`` without rows, ``renamed``
    made by the block as ``<table>_new`` (until then, like every table it only reads, a view
    of the live one). Then each written table is swapped in with ``EXCHANGE TABLES`` (atomic,
    one pair at a time; a failure half-way exchanges the done ones back) and the build
    database, holding the previous tables now, is dropped. A failure or a kill before the
    exchanges leaves the previous state (and at most the build database, dropped by the next
    build). Inside, reads see one row per key (``final``: the writes are INSERTs into
    ReplacingMergeTree tables), and BEGIN/COMMIT/ROLLBACK are no-ops (``in_transaction``)."""
    filtered = filtered or {}
    written = (*copied, *filtered, *empty, *renamed)
    live = conn.execute("SELECT currentDatabase()").fetchall()[0][0]
    build = quote(live + BUILD_SUFFIX)
    conn.execute(f"DROP DATABASE IF EXISTS {build}")
    conn.execute(f"CREATE DATABASE {build}")
    try:
        for table in table_names(conn):
            here, there = f"{quote(live)}.{quote(table)}", f"{build}.{quote(table)}"
            if table not in written or table in renamed:
                conn.execute(f"CREATE VIEW {there} AS SELECT * FROM {here}")
                continue
            conn.execute(f"CREATE TABLE {there} AS {here}")
            if table in filtered:
                where, params = filtered[table]
                conn.execute(f"INSERT INTO {there} SELECT * FROM {here} WHERE {where}", params)
            elif table in copied:
                conn.execute(f"INSERT INTO {there} SELECT * FROM {here}")
        conn.execute(f"USE {build}")
        conn.execute("SET final = 1")
        conn.building, conn.live = True, live
        try:
            yield
            for table in renamed:  # the live ones' views, until now
                conn.execute(f"DROP VIEW {quote(table)}")
                conn.execute(f"RENAME TABLE {quote(table + '_new')} TO {quote(table)}")
            for table in written:
                conn.execute(f"OPTIMIZE TABLE {quote(table)} FINAL")  # one row per key, stored
        finally:
            conn.building, conn.live = False, None
            conn.execute("SET final = 0")
            conn.execute(f"USE {quote(live)}")
        done: list[str] = []
        try:
            for table in written:
                _exchange(conn, f"{quote(live)}.{quote(table)}", f"{build}.{quote(table)}")
                done.append(table)
        except BaseException:
            for table in reversed(done):  # EXCHANGE is its own inverse
                _exchange(conn, f"{quote(live)}.{quote(table)}", f"{build}.{quote(table)}")
            raise
    finally:
        conn.execute(f"DROP DATABASE IF EXISTS {build}")


def _exchange(conn: ClickHouseConnection, a: str, b: str) -> None:
    conn.execute(f"EXCHANGE TABLES {a} AND {b}")
