"""Which engine holds a database, and how each one spells the SQL the condition language emits.

A database argument is a plain path or a URL, as in SQLAlchemy (three slashes take a relative
path, four an absolute one):

- ``demo.db``, ``sqlite:///demo.db``, ``sqlite:////data/demo.db`` — SQLite, the default;
- ``duckdb:///demo.duckdb``, ``duckdb:////data/big.duckdb`` — DuckDB, an embedded columnar file;
- ``chdb:///demo.chdb``, ``chdb:////data/big.chdb`` — ClickHouse's engine in-process (chDB), a
  directory;
- ``clickhouse://user[:password]@host:port/database`` — a ClickHouse server (clickhouse-connect,
  its HTTP port, 8123 by default).

:func:`parse_database` turns the argument into a :class:`Target` (engine + location) or a
one-line :class:`~core.errors.DatabaseError`; :func:`open_database` opens it. A SQLite target
opens through :func:`core.store.db.open_db` exactly as a plain path always did.

A :class:`Dialect` is what differs between engines in the SQL of a condition: the marker of a
bound parameter, SQLite's ``+column`` (keeps its planner off an index), text to number, LIKE,
adding days/months/years to a timestamp. The query package asks :func:`dialect_of` the
connection for it; a third engine is one more :class:`Dialect` subclass in :data:`DIALECTS`
(docs/engines.md).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import DatabaseError

# engine key -> the name an operator reads
ENGINES = {"sqlite": "SQLite", "duckdb": "DuckDB", "clickhouse": "ClickHouse", "chdb": "chDB"}
# the engines that are ClickHouse (one dialect, one adapter: core.store.clickhouse)
CLICKHOUSE_ENGINES = ("chdb", "clickhouse")
# the file engines' usual suffixes (only used in examples of messages)
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://(.*)", re.DOTALL)
_CLICKHOUSE = re.compile(r"(?:([^@/:]+)(?::([^@/]*))?@)?([^@/:]+)(?::(\d+))?(?:/([^/]*))?")


@dataclass(frozen=True)
class Target:
    """A database argument understood: the engine and where its database is (a file path for
    SQLite and DuckDB; the URL itself for a server)."""

    engine: str
    location: str
    given: str

    @property
    def label(self) -> str:
        return ENGINES[self.engine]

    @property
    def path(self) -> Path:
        return Path(self.location)


def parse_database(arg: str | Path) -> Target:
    """A plain path (SQLite) or an engine URL; anything else is a one-line DatabaseError, and
    so is a plain path to another engine's database (:func:`foreign_database`)."""
    text = str(arg)
    match = _URL.fullmatch(text)
    if match is None:
        foreign = foreign_database(text)
        if foreign is not None:
            raise DatabaseError(foreign)
        return Target("sqlite", text, text)
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme in ("sqlite", "duckdb", "chdb"):
        if not rest.startswith("/") or rest in ("/", "//"):
            raise DatabaseError(
                f"{text}: a {ENGINES[scheme]} URL takes three slashes and a relative path "
                f"({scheme}:///file) or four and an absolute one ({scheme}:////dir/file)"
            )
        return Target(scheme, rest[1:], text)
    if scheme == "clickhouse":
        if not _CLICKHOUSE.fullmatch(rest):
            raise DatabaseError(
                f"{text}: a ClickHouse URL reads clickhouse://user@host:port/database"
            )
        return Target("clickhouse", rest, text)
    raise DatabaseError(
        f"{text}: unknown engine {scheme!r}: use a path or sqlite:///FILE (SQLite), "
        "duckdb:///FILE (DuckDB), chdb:///DIR (chDB), clickhouse://user@host:port/db (ClickHouse)"
    )


# the header of a DuckDB file: 8 bytes of checksum, then its magic
_DUCKDB_MAGIC = (8, b"DUCK")


def foreign_database(path: str) -> str | None:
    """For a plain path (read as SQLite) naming a DuckDB file, the one line saying what it is
    and how to name it (``duckdb:///x.duckdb``; an absolute path gets its four slashes); None
    otherwise (a missing file, a SQLite file, anything else: core.store.db.open_db says what it
    is; a directory, such as chDB's, the CLI's DB argument refuses before)."""
    try:
        with Path(path).open("rb") as f:
            head = f.read(16)
    except OSError:
        return None  # missing, a directory or unreadable: open_db's own line
    at, magic = _DUCKDB_MAGIC
    if head[at : at + len(magic)] == magic:
        return f"{path}: a DuckDB file, not a SQLite file: name it duckdb:///{path}"
    return None


def open_database(
    target: Target | str | Path, *, create: bool = False, readonly: bool = False
) -> Any:
    """Open the database a :class:`Target` (or a database argument) names, on its engine.

    SQLite gives the ``sqlite3.Connection`` of :func:`core.store.db.open_db`; DuckDB the
    adapter of :mod:`core.store.duck`, which speaks the same DB-API subset core uses.
    """
    if not isinstance(target, Target):
        target = parse_database(target)
    if target.engine == "duckdb":
        from core.store.duck import open_duckdb  # duckdb loads only for a DuckDB database

        return open_duckdb(target.location, create=create, readonly=readonly)
    if target.engine in CLICKHOUSE_ENGINES:
        from core.store.clickhouse import open_clickhouse  # chdb / clickhouse-connect load here

        return open_clickhouse(
            target.engine, target.location, target.given, create=create, readonly=readonly
        )
    from core.store.db import open_db

    # a plain path reaches open_db as given, so every message about it reads as before
    return open_db(target.location, create=create, readonly=readonly)


def engine_of(conn: Any) -> str:
    """The engine of an open connection: ``sqlite``, ``duckdb``, ``chdb``, ``clickhouse``."""
    if isinstance(conn, sqlite3.Connection):
        return "sqlite"
    return str(getattr(conn, "engine", "sqlite"))


def insert_with_id(conn: Any, table: str, sql: str, params: tuple[Any, ...]) -> int:
    """Run ``sql``, an ``INSERT INTO table(columns) VALUES (?, …)`` leaving out the ``id`` of a
    table keyed by SQLite's ``id INTEGER PRIMARY KEY``, and return the new row's id. On SQLite
    the statement is run as written (the id is the rowid: max(id) + 1; ``lastrowid``); an
    engine without a rowid alias (DuckDB) gets the same max(id) + 1, read in the caller's
    transaction (one writer at a time) and inserted with the row."""
    if engine_of(conn) == "sqlite":
        return int(conn.execute(sql, params).lastrowid or 0)
    head = f"INSERT INTO {table}("
    if not sql.startswith(head) or sql.count("VALUES (") != 1:
        raise ValueError(f"not an INSERT INTO {table}(…) VALUES (…): {sql[:60]}")  # our own SQL
    (new_id,) = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()
    keyed = head + "id, " + sql[len(head) :].replace("VALUES (", "VALUES (?, ", 1)
    conn.execute(keyed, (new_id, *params))
    return int(new_id)


@contextmanager
def all_or_nothing(conn: Any, *, writes: tuple[str, ...]) -> Iterator[Any]:
    """A block of writes to the tables ``writes``, all or nothing: a transaction on SQLite and
    DuckDB; on ClickHouse (no multi-statement transactions) a build database whose copies of
    those tables are exchanged in at the end (core.store.clickhouse.exchanged)."""
    if engine_of(conn) in CLICKHOUSE_ENGINES:
        from core.store.clickhouse import exchanged

        with exchanged(conn, copied=writes):
            yield conn
        return
    from core.store.db import transaction

    with transaction(conn):
        yield conn


def not_supported(what: str, engine: str) -> str:
    """The one line for a command or screen that does not run on ``engine`` yet."""
    return (
        f"{what} does not run on {ENGINES[engine]} yet: run it on the SQLite database and "
        f"`userops copy` it to {ENGINES[engine]} again (docs/engines.md says what runs where)"
    )


Bind = Callable[[object], str]


class Dialect:
    """SQLite's spelling of what the condition language emits. Subclasses override only what
    their engine spells differently; every method returns SQL over whitelisted identifiers and
    bound parameters (``bind`` makes one and returns its marker)."""

    name = "sqlite"
    label = "SQLite"

    def param(self, name: str) -> str:
        """The marker of the named parameter ``name`` in SQL text."""
        return f":{name}"

    def unindexed(self, expr: str) -> str:
        """``expr`` kept off a column index: SQLite's planner guesses that a range is selective
        (no range statistics), where one scan wins."""
        return f"+{expr}"

    def to_number(self, expr: str) -> str:
        """A text column read as a number: SQLite's CAST takes the leading number ('12 kg'
        is 12.0; 'abc' is 0.0)."""
        return f"CAST({expr} AS REAL)"

    def divide(self, a: str, b: str) -> str:
        """Real division; by zero it is NULL (no value), as SQLite's is."""
        return f"(CAST({a} AS REAL) / {b})"

    def like(self, expr: str, pattern: str, escape: str) -> str:
        """SQLite's LIKE: ASCII letters match either case."""
        return f"{expr} LIKE {pattern} ESCAPE {escape}"

    def empty_is_zero(self, scalar: str) -> str:
        """A correlated ``(SELECT count(*) | coalesce(sum(...), 0) ...)`` of one user: 0 when
        the user has no rows, as SQLite's is."""
        return scalar

    def plus_interval(self, expr: str, n: int, unit: str, bind: Bind) -> str:
        """The text timestamp ``expr`` plus ``n`` ``unit`` (days, months, years) as
        'YYYY-MM-DD HH:MM:SS' text; a month past the end of the target month runs on into the
        next (SQLite's date functions: 01-31 + 1 month is 03-02 or 03-03)."""
        return f"datetime({expr}, {bind(f'+{n} {unit}')})"

    # ---- the recompute's SQL (core.analytics.features, rfm, predict; core.pipeline) ----

    # SQLite answers min()/max() per kind by seeks on events(kind, created_at) (a recursive
    # CTE); an engine without that index scans once instead (core.analytics.features, coverage)
    seeks = True
    # SQLite keeps secondary indexes and triggers (the features indexes, the refresh's dirty
    # triggers); DuckDB's tables are plain (docs/engines.md)
    indexes = True
    # How a date's rows of a keyed table are replaced: SQLite deletes them all and inserts the
    # new ones; on DuckDB a key deleted and inserted again in one transaction makes the commit
    # slow (~10 s per 100k keys), so only the rows that go are deleted and the rest upserted
    upserts_in_place = False
    # the bound value of ``LIMIT ?`` that means no limit (SQLite's -1; DuckDB's NULL)
    no_limit: int | None = -1
    # ``INSERT OR IGNORE`` keeps the first row of a key (ClickHouse's ReplacingMergeTree keeps
    # the last inserted: the refresh's list of touched users is then a GROUP BY, core.refresh)
    keeps_first = True

    def day_span(self, start: str, end: str) -> str:
        """Days from the date text ``start`` to the date text ``end`` (a real number on SQLite:
        julianday; whole days either way, both being dates)."""
        return f"julianday({end}) - julianday({start})"

    def days_before(self, stamp: str, day: str) -> str:
        """Whole days from the date of the ISO timestamp text ``stamp`` to the date ``day``;
        NULL stays NULL."""
        return f"CAST({self.day_span(f'substr({stamp}, 1, 10)', day)} AS INTEGER)"

    def next_day(self, stamp: str) -> str:
        """The day after the date of ``stamp``, as 'YYYY-MM-DD' text."""
        return f"date({stamp}, '+1 day')"

    def greatest(self, a: str, b: str) -> str:
        """The larger of two values (SQLite's two-argument max)."""
        return f"max({a}, {b})"

    def least(self, a: str, b: str) -> str:
        """The smaller of two values (SQLite's two-argument min)."""
        return f"min({a}, {b})"

    def int_part(self, expr: str) -> str:
        """A number's integer part, toward zero (SQLite's CAST AS INTEGER: 2.7 is 2, -2.7 -2)."""
        return f"CAST({expr} AS INTEGER)"

    # a CTE read twice, computed once: ``WITH x AS MATERIALIZED (…)`` (SQLite 3.35+, DuckDB;
    # ClickHouse inlines it: two reads, as two statements would)
    materialized = "MATERIALIZED "

    # SQLite and DuckDB make TEMP tables on a read-only connection (the layers' transitions
    # fill two); ClickHouse's reads are one statement each, over the stored tables
    temp_tables = True

    def json_texts(self, marker: str) -> str:
        """A subquery of the texts of the JSON array bound at ``marker`` (one column)."""
        return f"SELECT value FROM json_each({marker})"

    def real(self, expr: str) -> str:
        """``expr`` as a double-precision number."""
        return f"CAST({expr} AS REAL)"

    def as_int(self, test: str) -> str:
        """A truth value as 0/1 for arithmetic (SQLite's are numbers already)."""
        return test

    def total(self, expr: str, order: str) -> str:
        """SQLite's ``total(expr)``: the sum of REAL values, 0.0 for none. SQLite (3.40, this
        Python's) adds them one by one in the order it reads the rows, ``order`` (its index's);
        summed in another order or compensated, a third of the 1M benchmark's buyers get
        another last bit, and ties at an RFM boundary split differently. DuckDB sums in that
        order (NULL for none: every use has a row, or reads it through coalesce)."""
        return f"total({expr})"

    def sum(self, expr: str, order: str) -> str:
        """SQLite's ``SUM(expr)`` of REAL values, added in ``order`` (see :meth:`total`)."""
        return f"SUM({expr})"

    def total_where(self, expr: str, order: str, test: str) -> str:
        """:meth:`total` of the rows where ``test`` holds (SQLite: 0.0 when none does)."""
        return f"{self.total(expr, order)} FILTER (WHERE {test})"

    def latest_where(self, stamp: str, test: str) -> str:
        """The latest ISO timestamp text ``stamp`` of the rows where ``test`` holds (NULL for
        none), or at least its date: what the recompute's days_since_<kind> columns read."""
        return f"max({stamp}) FILTER (WHERE {test})"

    def indexed_by(self, index: str) -> str:
        """`` INDEXED BY index`` after a table name: SQLite's planner told which index to
        walk; nothing on engines without secondary indexes."""
        return f" INDEXED BY {index}"

    def is_distinct(self, a: str, b: str) -> str:
        """``a`` and ``b`` differ, NULL being a value (SQLite's IS NOT)."""
        return f"{a} IS NOT ({b})"

    def followed(self, a_rows: str, b_rows: str, until: str, negated: bool) -> str | None:
        """A sequence's users as one subquery of user ids: those with an A row (``a_rows``,
        ``SELECT user_id, created_at``) followed by a B row (``b_rows``, likewise) strictly
        after it and at most ``until`` (an expression over ``a.created_at``); ``negated``:
        with an A row not so followed. None: the language's correlated EXISTS, which SQLite
        answers by seeks on its per-user keys."""
        return None

    def per_user(self, agg: str, table: str, where: str) -> str:
        """One user's ``agg`` (``count(*)``, ``coalesce(sum(amount), 0)``) over their rows of
        ``table`` where ``where`` holds, 0 for a user without any, as a number over ``f``: a
        correlated subquery, which SQLite answers by seeks on its per-user keys."""
        return self.empty_is_zero(
            f"(SELECT {agg} FROM {table} WHERE user_id = f.user_id AND {where})"
        )

    # How the language tests the date of a user's latest (last(kind)) or earliest
    # (first(kind)) row against a span of days: False, per user (SQLite: a GROUP BY max() over
    # the kind's index, a seek per candidate for "none before"); True, as ranges of rows: some
    # row in the span and none after it (latest), none before it (earliest), each a semi or
    # anti join of one range (a columnar engine's zone maps read only the range's row groups)
    span_joins = False

    # does :meth:`followed_by_next` answer a sequence of one kind of row
    next_row_sequences = False

    def followed_by_next(self, rows: str, a_test: str, until: str, negated: bool) -> str | None:
        """A sequence whose A and B are the same kind of row (``did order then no order within
        60d``) as one subquery of user ids: each of those ``rows`` (``SELECT * FROM table WHERE
        …``, every row a B may be, A's among them) with the next later one of its user, as
        ``a.next_at``; the A rows are those where ``a_test`` holds, and ``until`` is over
        ``a.created_at`` as in :meth:`followed`. None: :meth:`followed`."""
        return None

    def keyset(self, column: str, key: str, op: str, value: str, after_key: str) -> str:
        """The rows after (``op`` '>') or before ('<') the row (value, after_key) in the order
        (column, key), column not NULL: a row value, which SQLite walks on its index."""
        return f"({column}, {key}) {op} ({value}, {after_key})"

    def now_text(self) -> str:
        """The wall clock (UTC) as 'YYYY-MM-DD HH:MM:SS' text: metadata only, never a result."""
        return "datetime('now')"

    def create_table(self, ddl: str) -> str:
        """SQLite's ``CREATE [TEMP] TABLE`` statement as this engine spells it."""
        return ddl

    def update_from(self, conn: Any, table: str, source: str, columns: list[str]) -> list[str]:
        """The statements that set ``columns`` of the rows of ``table`` from the rows of
        ``source`` with the same user_id (SQLite's UPDATE … FROM)."""
        sets = ", ".join(f"{c} = o.{c}" for c in columns)
        return [f"UPDATE {table} AS f SET {sets} FROM {source} AS o WHERE f.user_id = o.user_id"]

    def column_type(self, sql_type: str) -> str:
        """SQLite's declared type (TEXT, REAL, INTEGER) as this engine's DDL spells it, for
        ALTER TABLE … ADD COLUMN (the schema's migrations, an import's new attributes)."""
        return sql_type

    def scratch_table(self, ddl: str) -> str:
        """A recompute's scratch table (one row per user, filled by one GROUP BY and read by
        joins): SQLite keeps its key (the joins seek it)."""
        return self.create_table(ddl)

    def labelled_rows(self, key: str, labels: list[tuple[str, str]]) -> str | None:
        """One row (``key``, label) per ``(test, label marker)`` whose test holds, over one
        pass of the rows (the tags: the SELECT list and FROM are the caller's), or None: one
        statement per label (SQLite: each one a scan as cheap as the shared pass)."""
        return None


class DuckDBDialect(Dialect):
    name = "duckdb"
    label = "DuckDB"

    def param(self, name: str) -> str:
        return f"${name}"

    def unindexed(self, expr: str) -> str:
        return expr  # plain tables: no index to keep off

    def to_number(self, expr: str) -> str:
        # SQLite's CAST(text AS REAL): the leading number, else 0.0 (NULL stays NULL)
        lead = r"'^\s*([-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)'"
        return (
            f"CASE WHEN {expr} IS NULL THEN NULL ELSE coalesce(TRY_CAST(regexp_extract("
            f"CAST({expr} AS VARCHAR), {lead}, 1) AS DOUBLE), 0.0) END"
        )

    def divide(self, a: str, b: str) -> str:
        # DuckDB's x / 0 is NaN or an infinity (and NaN sorts above every number)
        return f"(CAST({a} AS DOUBLE) / nullif({b}, 0))"

    def like(self, expr: str, pattern: str, escape: str) -> str:
        # SQLite's LIKE folds ASCII letters only ('École' is not LIKE 'é%'); DuckDB's ILIKE
        # folds every letter: fold A-Z on both sides and compare with LIKE
        return f"{_ascii_lower(expr)} LIKE {_ascii_lower(pattern)} ESCAPE {escape}"

    def plus_interval(self, expr: str, n: int, unit: str, bind: Bind) -> str:
        ts = f"TRY_CAST({expr} AS TIMESTAMP)"
        if unit == "days":
            shifted = f"{ts} + to_days(CAST({bind(n)} AS INTEGER))"
        else:
            # as SQLite: the same offset into the month, counted from the target month's 1st
            add = "to_months" if unit == "months" else "to_years"
            month = f"date_trunc('month', {ts})"
            shifted = f"{month} + {add}(CAST({bind(n)} AS INTEGER)) + ({ts} - {month})"
        return f"strftime({shifted}, '%Y-%m-%d %H:%M:%S')"

    seeks = False
    indexes = False
    upserts_in_place = True
    no_limit = None

    def day_span(self, start: str, end: str) -> str:
        return f"date_diff('day', TRY_CAST({start} AS DATE), TRY_CAST({end} AS DATE))"

    def days_before(self, stamp: str, day: str) -> str:
        return self.day_span(f"substr({stamp}, 1, 10)", day)

    def next_day(self, stamp: str) -> str:
        return f"strftime(TRY_CAST(substr({stamp}, 1, 10) AS DATE) + INTERVAL 1 DAY, '%Y-%m-%d')"

    def greatest(self, a: str, b: str) -> str:
        return f"greatest({a}, {b})"  # DuckDB's max(x, n) is the top n of x

    def least(self, a: str, b: str) -> str:
        return f"least({a}, {b})"  # DuckDB's min(x, n) is the bottom n of x

    def int_part(self, expr: str) -> str:
        return f"CAST(trunc({expr}) AS BIGINT)"  # DuckDB's CAST rounds (2.7 is 3)

    def json_texts(self, marker: str) -> str:
        return f"SELECT unnest(CAST(json({marker}) AS VARCHAR[]))"

    def real(self, expr: str) -> str:
        return f"CAST({expr} AS DOUBLE)"  # DuckDB's REAL is single precision

    def as_int(self, test: str) -> str:
        return f"CAST({test} AS INTEGER)"

    def total(self, expr: str, order: str) -> str:
        return f"sum({expr} ORDER BY {order})"  # the order SQLite adds them in: the same bits

    def sum(self, expr: str, order: str) -> str:
        return self.total(expr, order)

    def latest_where(self, stamp: str, test: str) -> str:
        # its date: the max of the dates is the date of the max (a prefix keeps text order),
        # and a 10-character text is compared in place (longer ones through a pointer); a
        # CASE, not a FILTER: -20 % CPU, and the dates -25 % more, on 2M events
        return f"max(CASE WHEN {test} THEN substr({stamp}, 1, 10) END)"

    def indexed_by(self, index: str) -> str:
        return ""

    def is_distinct(self, a: str, b: str) -> str:
        return f"{a} IS DISTINCT FROM ({b})"

    def followed(self, a_rows: str, b_rows: str, until: str, negated: bool) -> str | None:
        # each A row with the nearest B row after it (an ASOF join: both sides sorted once)
        # instead of a correlated (NOT) EXISTS per A row, which DuckDB runs as a join of each
        # user's pairs of rows. Some B within the N after A <=> the nearest B is within it;
        # an ``until`` of no value (a timestamp not read) finds no B, as the EXISTS did
        within = f"b.created_at <= {until}"
        keep = f"b.created_at IS NULL OR NOT coalesce({within}, false)" if negated else within
        return (
            f"SELECT a.user_id FROM ({a_rows}) AS a ASOF LEFT JOIN ({b_rows}) AS b "
            f"ON a.user_id = b.user_id AND b.created_at > a.created_at WHERE {keep}"
        )

    def per_user(self, agg: str, table: str, where: str) -> str:
        # the window's rows grouped once and each user's number looked up there: DuckDB
        # decorrelates the per-user subquery into a join of every user with all the table's
        # rows (spent(30d) > 2 * spent(-59d..-30d) at 1M users: 2.0 s of CPU, 10M orders)
        return (
            f"coalesce((SELECT g.n FROM (SELECT user_id, {agg} AS n FROM {table} WHERE {where} "
            "GROUP BY user_id) AS g WHERE g.user_id = f.user_id), 0)"
        )

    span_joins = True
    next_row_sequences = True

    def followed_by_next(self, rows: str, a_test: str, until: str, negated: bool) -> str | None:
        # one sort of the rows (a window over each user's rows) instead of the ASOF join's
        # two (A's and B's, the same rows): the next later row is the first of the next
        # group of equal times (GROUPS: a row at the same second is not after it)
        within = f"a.next_at <= {until}"
        keep = f"a.next_at IS NULL OR NOT coalesce({within}, false)" if negated else within
        following = (
            "min(created_at) OVER (PARTITION BY user_id ORDER BY created_at "
            "GROUPS BETWEEN 1 FOLLOWING AND 1 FOLLOWING)"
        )
        return (
            f"SELECT a.user_id FROM (SELECT *, {following} AS next_at FROM ({rows})) AS a "
            f"WHERE ({a_test}) AND ({keep})"
        )

    def keyset(self, column: str, key: str, op: str, value: str, after_key: str) -> str:
        # the same rows; a plain range on the column reaches DuckDB's scan as a filter (zone
        # maps, no row value per row): a page sorted by RFM group at 1M users 38 -> 26 ms of
        # CPU (p50 of 15, wall 137-154 -> 100 ms at load 13)
        return f"{column} {op}= {value} AND ({column} {op} {value} OR {key} {op} {after_key})"

    def now_text(self) -> str:
        return "strftime(get_current_timestamp() AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S')"

    def create_table(self, ddl: str) -> str:
        from core.store.duck import spell_create_table  # duckdb-side DDL lives there

        return spell_create_table(ddl)

    def column_type(self, sql_type: str) -> str:
        from core.store.duck import duckdb_type  # REAL is DOUBLE, INTEGER is BIGINT there

        return duckdb_type(sql_type)

    def scratch_table(self, ddl: str) -> str:
        # no key: DuckDB's joins hash either way, and a key is an index (ART) built row by row
        return re.sub(r",\s*PRIMARY KEY \([^)]*\)", "", self.create_table(ddl))

    def labelled_rows(self, key: str, labels: list[tuple[str, str]]) -> str | None:
        # a list of each row's labels unnested: every tag's test in one scan of features, not
        # one scan per tag (NULL: the test does not hold, as in a WHERE)
        cases = ", ".join(f"CASE WHEN ({test}) THEN {label} END" for test, label in labels)
        return f"{key}, unnest(list_filter([{cases}], lambda x: x IS NOT NULL))"


class ClickHouseDialect(Dialect):
    """ClickHouse (a server, or chDB in-process). Parameters are ``{name:?}``: the connection
    (core.store.clickhouse) writes each one's ClickHouse type from its value (``{p0:String}``,
    ``{p1:Int64}`` …) and binds it; values never enter the SQL text."""

    name = "clickhouse"
    label = "ClickHouse"

    def param(self, name: str) -> str:
        return "{" + name + ":?}"

    def unindexed(self, expr: str) -> str:
        return expr  # the sorting key is the user; no secondary index to keep off

    def to_number(self, expr: str) -> str:
        # SQLite's CAST(text AS REAL): the leading number, else 0.0 (NULL stays NULL); no
        # backslashes in the literal (ClickHouse reads escapes in string literals)
        lead = "'^[[:space:]]*([-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?)'"
        return (
            f"if(isNull({expr}), NULL, ifNull(toFloat64OrNull(extract(toString({expr}), "
            f"{lead})), 0.0))"
        )

    def divide(self, a: str, b: str) -> str:
        # ClickHouse's x / 0 is inf or nan: no value, as SQLite's
        return f"(toFloat64({a}) / nullIf({b}, 0))"

    def like(self, expr: str, pattern: str, escape: str) -> str:
        # ClickHouse's LIKE has no ESCAPE clause: its escape is the backslash, the one the
        # language binds. Its ILIKE folds every letter; SQLite folds A-Z only: fold A-Z
        # (bytes below 0x80 are never part of a UTF-8 sequence, so translate() is safe)
        return f"{_ascii_lower(expr)} LIKE {_ascii_lower(pattern)}"

    def empty_is_zero(self, scalar: str) -> str:
        # a correlated subquery is a join there: a user without rows gets NULL, not 0
        return f"ifNull({scalar}, 0)"

    # the tables are sorted by user, with no secondary index to seek on
    seeks = False
    indexes = False
    temp_tables = False
    materialized = ""

    def greatest(self, a: str, b: str) -> str:
        return f"greatest({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"least({a}, {b})"

    def int_part(self, expr: str) -> str:
        return f"toInt64({expr})"  # toward zero, as SQLite's CAST

    def total(self, expr: str, order: str) -> str:
        # 0.0 for no rows, as SQLite's total(), added one by one in SQLite's order (``order``):
        # ClickHouse's sum() adds in blocks, in parallel (other last bits), and an aggregate
        # takes no ORDER BY: the values sorted by ``order`` and folded left to right
        return f"ifNull({self._ordered_sum(expr, order, '')}, 0.0)"

    def sum(self, expr: str, order: str) -> str:
        return self._ordered_sum(expr, order, "")  # NULL for no rows, as SQLite's SUM

    def total_where(self, expr: str, order: str, test: str) -> str:
        return f"ifNull({self._ordered_sum(expr, order, test)}, 0.0)"

    def _ordered_sum(self, expr: str, order: str, test: str) -> str:
        keys = ", ".join(k.strip() for k in order.split(","))
        # NULLs are left out, as SQLite's sum and total leave them out
        where = f"isNotNull({expr})" + (f" AND ({test})" if test else "")
        pairs = f"groupArrayIf(({keys}, assumeNotNull(toFloat64({expr}))), {where})"
        values = f"arrayMap(uo_t -> uo_t.{len(order.split(',')) + 1}, arraySort({pairs}))"
        fold = f"arrayFold((uo_acc, uo_x) -> uo_acc + uo_x, {values}, toFloat64(0))"
        return f"if(length({pairs}) = 0, NULL, {fold})"

    # the recompute (core.pipeline): histories are rewritten whole for their date
    upserts_in_place = False
    keeps_first = False

    def day_span(self, start: str, end: str) -> str:
        return f"dateDiff('day', toDate32OrNull({start}), toDate32OrNull({end}))"

    def days_before(self, stamp: str, day: str) -> str:
        return self.day_span(f"substring({stamp}, 1, 10)", day)

    def next_day(self, stamp: str) -> str:
        return f"toString(addDays(toDate32OrNull(substring({stamp}, 1, 10)), 1))"

    def real(self, expr: str) -> str:
        return f"toFloat64({expr})"

    def as_int(self, test: str) -> str:
        return f"toInt64({test})"

    def indexed_by(self, index: str) -> str:
        return ""

    def is_distinct(self, a: str, b: str) -> str:
        return f"NOT isNotDistinctFrom({a}, {b})"

    def now_text(self) -> str:
        return "formatDateTime(now('UTC'), '%Y-%m-%d %H:%i:%S', 'UTC')"

    def create_table(self, ddl: str) -> str:
        from core.store.clickhouse import spell_create_table  # ClickHouse's DDL lives there

        return spell_create_table(ddl)

    def update_from(self, conn: Any, table: str, source: str, columns: list[str]) -> list[str]:
        # a mutation reads no other table: the source as a Join table, read by joinGet (the
        # ClickHouse way of UPDATE … FROM; named with its database: a mutation runs without
        # a current one), for the users it has
        bare = source.split(".")[-1]
        joined = f"{bare}_join"
        (database,) = conn.execute("SELECT currentDatabase()").fetchone()
        qualified = f"{database}.{joined}".replace("'", "")  # our own names
        sets = ", ".join(
            f"{c} = joinGet('{qualified}', '{c.strip(chr(34))}', user_id)" for c in columns
        )
        return [
            f"DROP TABLE IF EXISTS {joined}",
            f"CREATE TABLE {joined} ENGINE = Join(ANY, LEFT, user_id) AS SELECT * FROM {bare}",
            f"UPDATE {table} SET {sets} WHERE user_id IN (SELECT user_id FROM {bare})",
            f"DROP TABLE {joined}",
        ]

    def column_type(self, sql_type: str) -> str:
        from core.store.clickhouse import clickhouse_type

        return f"Nullable({clickhouse_type(sql_type)})"

    def json_texts(self, marker: str) -> str:
        return f"SELECT arrayJoin(JSONExtract({marker}, 'Array(String)'))"

    def plus_interval(self, expr: str, n: int, unit: str, bind: Bind) -> str:
        ts = f"parseDateTime64BestEffortOrNull(toString({expr}), 0, 'UTC')"
        if unit == "days":
            shifted = f"addDays({ts}, {bind(n)})"
        else:
            # as SQLite: the same offset into the month, counted from the target month's 1st
            add = "addMonths" if unit == "months" else "addYears"
            month = f"toDateTime64(toStartOfMonth({ts}), 0, 'UTC')"
            shifted = f"addSeconds({add}({month}, {bind(n)}), dateDiff('second', {month}, {ts}))"
        return f"formatDateTime({shifted}, '%Y-%m-%d %H:%i:%S', 'UTC')"


def _ascii_lower(expr: str) -> str:
    return f"translate({expr}, '{_UPPER}', '{_UPPER.lower()}')"


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SQLITE = Dialect()
DUCKDB = DuckDBDialect()
CLICKHOUSE = ClickHouseDialect()
DIALECTS: dict[str, Dialect] = {
    "sqlite": SQLITE,
    "duckdb": DUCKDB,
    "chdb": CLICKHOUSE,
    "clickhouse": CLICKHOUSE,
}


def dialect_of(conn: Any) -> Dialect:
    """The SQL dialect of an open connection."""
    return DIALECTS[engine_of(conn)]
