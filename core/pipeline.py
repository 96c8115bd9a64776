"""The recompute: the one module that runs analytics and rules together (docs/architecture.md).

Features (core.analytics), then layers and tags (core.rules), built in this connection's TEMP
schema under a read snapshot (no write lock: in WAL mode marks and other small writes go on
meanwhile), then copied in and swapped inside one short write transaction, so a kill half-way
leaves the previous state intact. An import or a rule change committed during the build is
found at the swap (``_inputs``): the build is redone once, then refused with a message.

On DuckDB the same steps run in the engine in one transaction (its DDL is transactional, and
one process at a time writes a file); on chDB in a build database whose tables are then
exchanged in (ClickHouse has no multi-statement transactions): docs/engines.md.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.analytics import coverage
from core.analytics.features import compute_features
from core.errors import CoreError, DatabaseError
from core.rules import applicability, history, layers, tags
from core.store.db import describe_fault, get_meta, set_meta, stored_as_of, transaction
from core.store.engines import dialect_of, engine_of
from core.store.schema import (
    HISTORY_DDL,
    INDEX_MIN_USERS,
    SCHEMA_VERSION,
    feature_index_ddl,
    feature_table_ddl,
)

# Mirrors user_tags in core.store.schema.DDL, for the table built beside the live one.
USER_TAGS_NEW_DDL = (
    "CREATE TABLE user_tags_new (user_id TEXT NOT NULL, tag TEXT NOT NULL, "
    "PRIMARY KEY (tag, user_id)) WITHOUT ROWID"
)
USER_TAGS_INDEX_DDL = "CREATE INDEX IF NOT EXISTS user_tags_user ON user_tags(user_id)"
# Tables the build writes besides its own: shadowed by TEMP tables of the same name during the
# build (unqualified names find TEMP first), copied into the live ones at the swap.
SHADOWED = ("model_fits", "model_inputs", "layer_history", "rfm_history", "tag_history", "meta")
# the per-date histories: the build adds one as-of date to each (copied in at the swap)
HISTORIES = ("layer_history", "rfm_history", "tag_history")
# meta is shadowed whole (the build records which model made the outputs); at the swap only the
# keys the build changed are copied back, so a concurrent write to another key is kept.
# What a recompute reads besides the data (whose imports set meta.features_stale): a change to
# any of them during the build makes its result stale.
RULE_TABLES = ("layer_rules", "tag_rules", "rfm_settings")
BUILD_ATTEMPTS = 2  # a build overtaken by an import is redone once, then refused


@dataclass(frozen=True)
class RecomputeReport:
    as_of: date
    users: int
    buyers: int
    seconds: float
    models: dict[str, str]  # model -> 'fitted' or why it could not be fitted
    # rules and tags reading what this data does not measure (core.rules.applicability)
    not_applicable: tuple[applicability.NotApplicable, ...] = ()


def resolve_as_of(conn: sqlite3.Connection, as_of: date | None) -> date:
    """The given date, else the database's stored as-of date; an error when neither exists."""
    if as_of is not None:
        return as_of
    stored = stored_as_of(conn)
    if stored is None:
        raise CoreError(
            "No as-of date: the database has none stored (import data first) and none was given.",
            title="No as-of date",
        )
    return stored


def _model_status(conn: sqlite3.Connection, as_of: date) -> dict[str, str]:
    rows = conn.execute(
        "SELECT model, error FROM model_fits WHERE as_of = ? ORDER BY model", (as_of.isoformat(),)
    ).fetchall()
    return {model: ("fitted" if error is None else error) for model, error in rows}


def index_user_tags(conn: sqlite3.Connection, n_users: int | None = None) -> None:
    """Like the features indexes, the per-user tag index only pays from INDEX_MIN_USERS users:
    below, reading user_tags whole takes a few ms (and the index is 0.5 MB of demo.db)."""
    if n_users is None:
        n_users = conn.execute("SELECT count(*) FROM features").fetchone()[0]
    if n_users >= INDEX_MIN_USERS:
        conn.execute(USER_TAGS_INDEX_DDL)
    else:
        conn.execute("DROP INDEX IF EXISTS user_tags_user")


def _swap(conn: sqlite3.Connection, as_of: date) -> None:
    """Replace the live tables by the new ones (inside the caller's transaction)."""
    conn.execute("DROP TABLE IF EXISTS features")
    conn.execute("DROP TABLE IF EXISTS user_tags")
    conn.execute("ALTER TABLE features_new RENAME TO features")
    conn.execute("ALTER TABLE user_tags_new RENAME TO user_tags")
    if dialect_of(conn).indexes:
        n_users = conn.execute("SELECT count(*) FROM features").fetchone()[0]
        for ddl in feature_index_ddl("features", n_users=n_users):
            conn.execute(ddl)
        index_user_tags(conn, n_users)
    _record_computed(conn, as_of)


def _record_computed(conn: sqlite3.Connection, as_of: date) -> None:
    """The meta a recompute leaves (inside the caller's transaction, or build)."""
    mark_computed(conn, as_of)
    set_meta(conn, "fit_as_of", as_of.isoformat())  # the predictions come from this date's fit
    set_meta(conn, "features_schema", str(SCHEMA_VERSION))
    # Wall-clock time is metadata only (when the numbers were made), never a result input.
    set_meta(conn, "features_computed_at", datetime.now().isoformat(timespec="seconds"))


# Rows dated before the end of the features' date change what those features should be: these
# triggers note their users in refresh_dirty (a string test per row: imports of later days
# pay next to nothing). The date is our own ISO text (date.isoformat), not user input.
_DIRTY_TRIGGERS = {
    "orders": ("INSERT", "UPDATE", "DELETE"),
    "events": ("INSERT", "UPDATE", "DELETE"),
}


def install_dirty_triggers(conn: sqlite3.Connection, as_of: date) -> None:
    """(Re)create the triggers that keep refresh_dirty for features as of ``as_of``."""
    end = (as_of + timedelta(days=1)).isoformat()
    for table, actions in _DIRTY_TRIGGERS.items():
        for action in actions:
            name = f"uo_dirty_{table}_{action.lower()}"
            rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[action]
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            when = " OR ".join(f"{r}.created_at < '{end}'" for r in rows)
            body = " ".join(
                f"INSERT OR IGNORE INTO refresh_dirty VALUES ({r}.user_id);" for r in rows
            )
            conn.execute(
                f"CREATE TRIGGER {name} AFTER {action} ON {table} WHEN {when} BEGIN {body} END"
            )
    for action, row in (("INSERT", "NEW"), ("UPDATE", "NEW")):  # attributes are copied in
        name = f"uo_dirty_users_{action.lower()}"
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(
            f"CREATE TRIGGER {name} AFTER {action} ON users BEGIN "
            f"INSERT OR IGNORE INTO refresh_dirty VALUES ({row}.user_id); END"
        )


def mark_computed(conn: sqlite3.Connection, as_of: date) -> None:
    """The features now describe ``as_of``: it becomes the database's as-of date (inside the
    caller's transaction); nothing is dirty any more."""
    set_meta(conn, "features_as_of", as_of.isoformat())
    set_meta(conn, "as_of", as_of.isoformat())
    conn.execute("DELETE FROM meta WHERE key = 'features_stale'")
    conn.execute("DELETE FROM refresh_dirty")
    if dialect_of(conn).indexes:  # SQLite's triggers; DuckDB's import notes them itself
        install_dirty_triggers(conn, as_of)


def _build_new(conn: sqlite3.Connection, as_of: date, features: str, user_tags: str) -> None:
    """Steps 1–5 of the pipeline (docs/architecture.md) into ``features`` / ``user_tags``."""
    conn.execute(f"DROP TABLE IF EXISTS {user_tags}")
    compute_features(conn, features, as_of, with_predictions=True)  # RFM + models
    layers.apply_layers(conn, features, as_of)
    ddl = USER_TAGS_NEW_DDL.replace("TABLE user_tags_new", f"TABLE {user_tags}")
    conn.execute(dialect_of(conn).create_table(ddl))
    tags.apply_tags(conn, features, user_tags, as_of)
    history.record(conn, features, user_tags, as_of)
    coverage.record(conn)  # what the data measures, for the screens (meta, copied at the swap)


def _inputs(conn: sqlite3.Connection) -> tuple:
    """What the result depends on, cheaply: the staleness mark imports set (made unique at
    the start of each build, so a later import shows as a change), the stored as-of date, and
    the rule tables (a few rows each)."""
    digest = hashlib.sha256()
    for table in RULE_TABLES:
        for row in conn.execute(f"SELECT * FROM main.{table} ORDER BY 1"):
            digest.update(repr(row).encode())
    # main.meta: during the build, unqualified meta is the build's TEMP shadow
    stored = dict(
        conn.execute("SELECT key, value FROM main.meta WHERE key IN ('features_stale', 'as_of')")
    )
    return stored.get("features_stale"), stored.get("as_of"), digest.hexdigest()


def _watch_inputs(conn: sqlite3.Connection) -> tuple:
    """A tiny write transaction: a staleness mark becomes this build's own value (still a
    mark: a kill leaves the features stale, as they were), so that an import's '1' during the
    build is seen at the swap. Returns the inputs as this build sees them."""
    with transaction(conn):
        for ddl in HISTORY_DDL:  # databases made before the RFM and tag histories
            conn.execute(ddl)
        if get_meta(conn, "features_stale") is not None:
            set_meta(conn, "features_stale", f"1 recompute {uuid.uuid4().hex}")
        return _inputs(conn)


@contextmanager
def _shadows(conn: sqlite3.Connection) -> Iterator[None]:
    """TEMP copies of SHADOWED (model_fits and meta whole; model_inputs and the histories
    empty: the build writes all of the one and one as-of date of the others), dropped on the
    way out, whatever happens."""
    try:
        for table in SHADOWED:
            (ddl,) = conn.execute(
                "SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
            conn.execute(ddl.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
        conn.execute("INSERT INTO temp.model_fits SELECT * FROM main.model_fits")
        conn.execute("INSERT INTO temp.meta SELECT * FROM main.meta")
        conn.execute("CREATE TEMP TABLE meta_before AS SELECT * FROM main.meta")
        yield
    finally:
        for table in (*SHADOWED, "meta_before", "features_new", "user_tags_new"):
            conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _install(conn: sqlite3.Connection, as_of: date) -> None:
    """Inside the swap's write transaction: the TEMP results into the live tables."""
    for table in ("features_new", "user_tags_new"):
        conn.execute(f"DROP TABLE IF EXISTS main.{table}")
    conn.execute(feature_table_ddl("main.features_new"))
    conn.execute("INSERT INTO main.features_new SELECT * FROM temp.features_new")
    conn.execute(USER_TAGS_NEW_DDL.replace("TABLE user_tags_new", "TABLE main.user_tags_new"))
    conn.execute("INSERT INTO main.user_tags_new SELECT * FROM temp.user_tags_new")
    conn.execute("INSERT OR REPLACE INTO main.model_fits SELECT * FROM temp.model_fits")
    conn.execute("DELETE FROM main.model_inputs")  # the build writes every buyer's
    conn.execute("INSERT INTO main.model_inputs SELECT * FROM temp.model_inputs")
    for table in HISTORIES:
        conn.execute(f"DELETE FROM main.{table} WHERE as_of = ?", (as_of.isoformat(),))
        conn.execute(f"INSERT OR REPLACE INTO main.{table} SELECT * FROM temp.{table}")
    conn.execute(
        "INSERT OR REPLACE INTO main.meta SELECT t.key, t.value FROM temp.meta AS t "
        "LEFT JOIN temp.meta_before AS b ON b.key = t.key WHERE b.value IS NOT t.value"
    )
    for table in (*SHADOWED, "meta_before", "features_new", "user_tags_new"):
        # unqualified names: main again
        conn.execute(f"DROP TABLE temp.{table}")
    _swap(conn, as_of)


def _build_in_one_transaction(conn: sqlite3.Connection, as_of: date) -> None:
    """DuckDB: the build and the swap in one transaction (its DDL is transactional: a failure
    or a kill leaves the previous tables, and no features_new). No shadows, no input watch:
    one process at a time may open a DuckDB file for writing, so nothing changes meanwhile."""
    with transaction(conn):
        for table in ("features_new", "user_tags_new"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        _build_new(conn, as_of, "features_new", "user_tags_new")
        _swap(conn, as_of)


# ClickHouse (chDB): what the recompute writes besides features and user_tags, built in a
# database of its own and exchanged in (core.store.clickhouse.exchanged)
COPIED = ("model_fits", "meta")
EMPTIED = ("model_inputs", "refresh_dirty")  # the build writes all of them afresh


def _build_and_exchange(conn: sqlite3.Connection, as_of: date) -> None:
    """ClickHouse has no multi-statement transactions: the build runs in a build database
    whose written tables are copies (the histories but this date) and the others views of the
    live ones, so the very SQL of the build runs unchanged; then its tables are exchanged in
    (core.store.clickhouse.exchanged: a failure before leaves the previous state)."""
    from core.store.clickhouse import exchanged  # chdb loads only for a chDB database

    day = (as_of.isoformat(),)
    with exchanged(
        conn,  # type: ignore[arg-type]
        copied=COPIED,
        filtered=dict.fromkeys(HISTORIES, ("as_of <> ?", day)),
        empty=EMPTIED,
        renamed=("features", "user_tags"),
    ):
        _build_new(conn, as_of, "features_new", "user_tags_new")
        _record_computed(conn, as_of)


def _build_and_swap(conn: sqlite3.Connection, as_of: date) -> bool:
    """One attempt; False when the inputs changed during the build (nothing installed)."""
    seen = _watch_inputs(conn)
    with _shadows(conn):
        conn.execute("BEGIN")  # deferred: one read snapshot; the build writes only TEMP tables
        try:
            _build_new(conn, as_of, "temp.features_new", "temp.user_tags_new")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        with transaction(conn):  # the write lock, for the copy and the swap only
            if _inputs(conn) != seen:
                return False
            _install(conn, as_of)
    return True


def recompute(conn: sqlite3.Connection, as_of: date | None = None) -> RecomputeReport:
    """Rebuild ``features`` and ``user_tags`` as of a date, all or nothing.

    The build holds no write lock (marks and other small writes made meanwhile succeed); the
    copy and swap are one short write transaction. A kill or Ctrl-C at any moment leaves the
    previous features untouched and no ``features_new`` behind. When an import or a rule change
    lands during the build, it is redone once; if that happens again, DatabaseError says so and
    the previous features are kept.
    """
    as_of = resolve_as_of(conn, as_of)
    started = time.perf_counter()
    try:
        if engine_of(conn) == "duckdb":
            _build_in_one_transaction(conn, as_of)
        elif engine_of(conn) == "chdb":
            _build_and_exchange(conn, as_of)
        elif not any(_build_and_swap(conn, as_of) for _ in range(BUILD_ATTEMPTS)):
            raise DatabaseError(
                "Recompute refused, previous features kept: the data or the rules changed while "
                "it ran (an import or a rule edit, twice); run it again when they are done."
            )
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"Recompute failed, previous features kept: {exc}") from exc
    except sqlite3.DatabaseError as exc:  # damaged inside: found by the build's reads
        path = next((r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")
        raise DatabaseError(
            f"Recompute failed, previous features kept: {describe_fault(path, exc)}"
        ) from exc
    users, buyers = conn.execute(
        "SELECT count(*), coalesce(sum(frequency > 0), 0) FROM features"
    ).fetchone()
    return RecomputeReport(
        as_of=as_of,
        users=users,
        buyers=buyers,
        seconds=time.perf_counter() - started,
        models=_model_status(conn, as_of),
        not_applicable=tuple(applicability.report(conn)),
    )
