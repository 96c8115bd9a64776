"""The database schema: table and column names, DDL, versioned migrations.

This module is the whitelist of identifiers: any SQL identifier that is not a literal in core's
own code must come from here (``USER_COLUMNS``, ``FEATURE_COLUMNS``, ``user_attribute_columns``;
the built-in columns are declared once in core.store.columns) and reaches SQL through
core.store.sql.quote.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from core.errors import DatabaseError
from core.store import columns
from core.store.sql import quote

SCHEMA_VERSION = 8

# Typed basic attributes of a user (core.store.columns). Any other column an import brings is
# added as TEXT.
USER_COLUMNS = columns.USER_COLUMNS

ORDER_COLUMNS: dict[str, str] = {
    "order_id": "TEXT",
    "user_id": "TEXT",
    "amount": "REAL",
    "created_at": "TEXT",  # ISO 'YYYY-MM-DD HH:MM:SS' (or 'YYYY-MM-DD')
}

EVENT_COLUMNS: dict[str, str] = {
    "user_id": "TEXT",
    "kind": "TEXT",
    "created_at": "TEXT",
    "value": "TEXT",
}

EVENT_KINDS = ("login", "view", "post", "checkin", "cart_add", "share", "coupon_use")

# The wide per-user table every screen and every segment count reads (one row per user), declared
# column by column in core.store.columns. Basic attributes are copied in at recompute so counts
# never join on a text key.
FEATURE_COLUMNS = columns.FEATURE_COLUMNS

# The interval columns of the model outputs (core.analytics.predict), added to existing
# databases by migration 3 -> 4.
MODEL_INTERVAL_COLUMNS: dict[str, str] = {
    name: FEATURE_COLUMNS[name]
    for name in ("expected_purchases_90d_low", "expected_purchases_90d_high", "clv_low", "clv_high")
}

# The latest date of each standard event kind, stored as days before D, so that
# `last(kind) < X` is a column test (~150 ms on 1M users) instead of a GROUP BY over all of
# that kind's events (1.1-1.8 s on 10M events for any kind with a tenth of them or more).
# Cost: ~0.9 s of recompute per kind on 20M events, ~20 KB per kind in demo.db.
DAYS_SINCE_LAST = columns.DAYS_SINCE_LAST

DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS users (
    user_id   TEXT PRIMARY KEY,
    name      TEXT,
    gender    TEXT,
    city      TEXT,
    channel   TEXT,
    device    TEXT,
    signup_at TEXT,
    phone     TEXT,
    email     TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
    order_id   TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(user_id),
    amount     REAL NOT NULL,
    created_at TEXT NOT NULL
);
-- covering index: the RFM aggregate reads only this index
CREATE INDEX IF NOT EXISTS orders_user_time_amount ON orders(user_id, created_at, amount);
CREATE INDEX IF NOT EXISTS orders_time ON orders(created_at);
-- One event is (user, kind, time, value): re-importing the same file adds nothing. Keyed
-- WITHOUT ROWID on that identity, the table is itself the per-user covering index (no rowid
-- copy, no separate unique index: about a third less space). '' means "no value"; a NULL
-- inserted by a plain INSERT becomes ''.
CREATE TABLE IF NOT EXISTS events (
    user_id    TEXT NOT NULL REFERENCES users(user_id),
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    value      TEXT NOT NULL ON CONFLICT REPLACE DEFAULT '',
    PRIMARY KEY (user_id, kind, created_at, value)
) WITHOUT ROWID;
-- Behaviour windows read only this index: it carries the key columns, value included.
CREATE INDEX IF NOT EXISTS events_kind_time ON events(kind, created_at, user_id);
CREATE TABLE IF NOT EXISTS user_tags (
    user_id TEXT NOT NULL,
    tag     TEXT NOT NULL,
    PRIMARY KEY (tag, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_tags_user ON user_tags(user_id);
CREATE TABLE IF NOT EXISTS rfm_settings (
    dimension TEXT PRIMARY KEY CHECK (dimension IN ('r', 'f', 'm')),
    method    TEXT NOT NULL,        -- mean | median | fixed | score
    value     REAL                  -- the fixed value or score cut, when method needs one
);
CREATE TABLE IF NOT EXISTS model_fits (
    model      TEXT NOT NULL,       -- bgnbd | pareto_nbd | mbgnbd | gamma_gamma
    params     TEXT,                -- JSON
    time_unit  TEXT,
    log_lik    REAL,
    n_customers INTEGER,
    error      TEXT,                -- why it could not be fitted, else NULL
    as_of      TEXT NOT NULL,       -- a fit belongs to the as-of date of the orders it saw
    fitted_at  TEXT,
    diagnostics TEXT,               -- JSON: convergence, gradient, standard errors
    PRIMARY KEY (model, as_of)
);
-- Users whose rows changed on or before the features' date since they were computed (kept by
-- triggers the recompute installs: core.pipeline), which the refresh recomputes.
CREATE TABLE IF NOT EXISTS refresh_dirty (user_id TEXT PRIMARY KEY) WITHOUT ROWID;
-- Per buyer, the purchase history the models score (x, t_x, and T from the date), kept
-- with the features so that a refresh re-scores every buyer without reading every order.
CREATE TABLE IF NOT EXISTS model_inputs (
    user_id        TEXT PRIMARY KEY,
    first_order_at TEXT NOT NULL,  -- the day of the first order (T = D - it)
    x              INTEGER NOT NULL,
    t_x_days       REAL NOT NULL,
    repeat_mean    REAL           -- mean spend of the repeat purchase days (NULL: none)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (
    name        TEXT PRIMARY KEY,
    query       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS segment_history (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    replaced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS segment_snapshots (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,      -- the snapshot's own name
    segment     TEXT,               -- the segment it froze
    query       TEXT NOT NULL,
    as_of       TEXT,
    taken_at    TEXT NOT NULL,
    UNIQUE(name)
);
CREATE TABLE IF NOT EXISTS snapshot_members (
    snapshot_id INTEGER NOT NULL REFERENCES segment_snapshots(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS layer_rules (
    position  INTEGER PRIMARY KEY,  -- evaluation order: first match wins
    key       TEXT NOT NULL UNIQUE,
    name_zh   TEXT NOT NULL,
    name_en   TEXT NOT NULL,
    condition TEXT NOT NULL,
    lifecycle INTEGER  -- rank in the lifecycle: 1, 2, … up; -1, -2, … sliding down; NULL unplaced
);
CREATE TABLE IF NOT EXISTS layer_history (
    as_of   TEXT NOT NULL,
    user_id TEXT NOT NULL,
    layer   TEXT NOT NULL,
    PRIMARY KEY (as_of, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rfm_history (
    as_of     TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    rfm_group TEXT NOT NULL,
    PRIMARY KEY (as_of, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tag_history (
    as_of   TEXT NOT NULL,
    tag     TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (as_of, tag, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tag_rules (
    name      TEXT PRIMARY KEY,
    dimension TEXT NOT NULL CHECK (dimension IN ('basic', 'behavioural', 'result', 'predictive')),
    condition TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS campaigns (
    name       TEXT PRIMARY KEY,
    channel    TEXT NOT NULL DEFAULT 'push',
    offer      TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sent', 'closed')),
    start_date TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_members (
    campaign  TEXT NOT NULL REFERENCES campaigns(name) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    role      TEXT NOT NULL CHECK (role IN ('target', 'control')),
    added_at  TEXT NOT NULL,        -- wall-clock time: metadata only
    source    TEXT NOT NULL DEFAULT '',
    added_on  TEXT,                 -- the data date (the database's as-of date) it happened on
    PRIMARY KEY (campaign, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS campaign_members_user ON campaign_members(user_id, added_at);
-- Which user columns hold personal data (masked under --mask, left out of exports unless asked):
-- set on import by the column's name (core.store.personal) or by the operator (--personal).
CREATE TABLE IF NOT EXISTS column_flags (
    column_name TEXT PRIMARY KEY,
    personal    INTEGER NOT NULL DEFAULT 0 CHECK (personal IN (0, 1))
);
CREATE TABLE IF NOT EXISTS campaign_audit (
    id        INTEGER PRIMARY KEY,
    campaign  TEXT NOT NULL,
    at        TEXT NOT NULL,
    who       TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '',
    n_users   INTEGER NOT NULL DEFAULT 0,
    as_of     TEXT                  -- the data date; `at` and `who` are wall clock and OS user
);
"""

# Indexes on the wide table, for the access paths of the users screen and segment counts.
# Each ends in user_id: the users screen pages by keyset on (column, user_id), which is then
# one index range scan for any sort column (core/users.py).
# The feature columns that predictive models fill (core.analytics.predict); declared in
# core.store.columns, not in predict, so that modules reading them don't load scipy.
MODEL_OUTPUT_COLUMNS = columns.MODEL_OUTPUT_COLUMNS

# Filter indexes: an equality on these answers from an index range (4 ms on 1M users, where a
# read of every row takes ~180 ms).
FEATURE_INDEXES = (
    ("features_layer", "layer, user_id"),
    ("features_rfm_group", "rfm_group, user_id"),
    ("features_city", "city, user_id"),
)
# Indexes for keyset paging sorted by a column: on 1M users a page becomes an index range
# (a few ms) instead of a scan and sort of every row (0.3-1.5 s).
FEATURE_SORT_INDEXES = (
    ("features_monetary", "monetary, user_id"),
    ("features_recency", "recency_days, user_id"),
    ("features_name", "name, user_id"),
    ("features_r_score", "r_score, user_id"),
    ("features_f_score", "f_score, user_id"),
    ("features_m_score", "m_score, user_id"),
    ("features_last_order", "last_order_at, user_id"),
    ("features_frequency", "frequency, user_id"),
)
# Under this many users a read (and sort) of every row costs a few ms, while the indexes would
# nearly double the table on disk (1.2 MB of the 20k-user demo.db): the recompute builds them
# only for large user bases.
INDEX_MIN_USERS = 100_000

# Conditions test these most: they come first in each stored row, because SQLite decodes a
# row's header up to the last column a query needs (a test on the last columns of the wide
# row cost +45 % over one on the first columns, on 1M users). The rest follow in
# FEATURE_COLUMNS order; readers always name columns, so the order is invisible to them.
# (Column.hot in core.store.columns gives each hot column its place.)
HOT_FEATURE_COLUMNS = columns.HOT_FEATURE_COLUMNS


def feature_table_ddl(table: str = "features") -> str:
    order = dict.fromkeys([*HOT_FEATURE_COLUMNS, *FEATURE_COLUMNS])
    cols = ",\n".join(
        f"    {quote(name)} {FEATURE_COLUMNS[name]}{' PRIMARY KEY' if name == 'user_id' else ''}"
        for name in order
    )
    # WITHOUT ROWID: the table is its own user_id index (no second copy of every key)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n{cols}\n) WITHOUT ROWID"


def feature_index_ddl(table: str = "features", *, n_users: int = 0) -> list[str]:
    """The indexes of the features table: none under INDEX_MIN_USERS users."""
    if n_users < INDEX_MIN_USERS:
        return []
    return [
        f"CREATE INDEX IF NOT EXISTS {name if table == 'features' else table + '_' + name} "
        f"ON {table}({column})"
        for name, column in FEATURE_INDEXES + FEATURE_SORT_INDEXES
    ]


def _column_type(conn: sqlite3.Connection, sql_type: str) -> str:
    """SQLite's declared type as the connection's engine spells it in ALTER TABLE … ADD COLUMN:
    itself on SQLite; an engine adapter with a ``column_type`` (core.store.duck: REAL is
    DOUBLE, INTEGER BIGINT) spells it (asked of the connection, not of core.store.engines,
    which opens databases through this module)."""
    spell = getattr(conn, "column_type", None)
    return sql_type if spell is None else str(spell(sql_type))


def _create_table(conn: sqlite3.Connection, ddl: str) -> str:
    """A CREATE TABLE statement of this module as the connection's engine spells it (itself on
    SQLite; core.store.duck's ``create_table``)."""
    spell = getattr(conn, "create_table", None)
    return ddl if spell is None else str(spell(ddl))


def _add_days_since_last(conn: sqlite3.Connection) -> None:
    """1 -> 2: the DAYS_SINCE_LAST columns. Empty until the next recompute, so the stored
    features are marked stale (the language computes windows from the raw events meanwhile)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(features)")}
    integer = _column_type(conn, "INTEGER")
    for column in DAYS_SINCE_LAST.values():
        if column not in columns:
            conn.execute(f"ALTER TABLE features ADD COLUMN {quote(column)} {integer}")
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('features_stale', '1')")


def _add_column_flags(conn: sqlite3.Connection) -> None:
    """2 -> 3: the column_flags table, filled for the existing user columns by their names."""
    from core.store.personal import flag_columns  # the names live there; it needs only this

    conn.execute(
        _create_table(
            conn,
            "CREATE TABLE IF NOT EXISTS column_flags (column_name TEXT PRIMARY KEY, "
            "personal INTEGER NOT NULL DEFAULT 0 CHECK (personal IN (0, 1)))",
        )
    )
    flag_columns(conn, user_attribute_columns(conn))


def _add_model_intervals(conn: sqlite3.Connection) -> None:
    """3 -> 4: the MODEL_INTERVAL_COLUMNS and model_fits.diagnostics. Empty until
    the next recompute / ``userops model``."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(features)")}
    for column, kind in MODEL_INTERVAL_COLUMNS.items():
        if column not in columns:
            conn.execute(
                f"ALTER TABLE features ADD COLUMN {quote(column)} {_column_type(conn, kind)}"
            )
    fit_columns = {row[1] for row in conn.execute("PRAGMA table_info(model_fits)")}
    if "diagnostics" not in fit_columns:
        conn.execute(f"ALTER TABLE model_fits ADD COLUMN diagnostics {_column_type(conn, 'TEXT')}")


def _add_layer_lifecycle(conn: sqlite3.Connection) -> None:
    """5 -> 6: layer_rules.lifecycle, each layer's rank in the lifecycle (the order the pyramid
    draws), separate from its priority (position). The shipped lifecycle layers get their ranks
    by key (the defaults of core.rules.layers when this step was written); others stay NULL."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(layer_rules)")}
    if "lifecycle" not in columns:
        integer = _column_type(conn, "INTEGER")
        conn.execute(f"ALTER TABLE layer_rules ADD COLUMN lifecycle {integer}")
    ranks = {"new": 1, "registered": 2, "active": 3, "buyer": 4, "loyal": 5}
    ranks.update({"dormant": -1, "churned": -2})
    conn.executemany(
        "UPDATE layer_rules SET lifecycle = ? WHERE key = ? AND lifecycle IS NULL",
        [(rank, key) for key, rank in ranks.items()],
    )


# The per-date histories of RFM groups and tags (``entered rfm|tag "X" within Nd``), beside
# layer_history. Also created by the recompute that writes them (core/rules/history.py), so a
# database made before them needs no schema version step.
HISTORY_DDL = [
    stmt.strip() + ";"
    for stmt in DDL.split(";")
    if "rfm_history (" in stmt or "tag_history (" in stmt
]


def _fits_per_date(conn: sqlite3.Connection) -> None:
    """4 -> 5: model_fits keyed by (model, as_of); the refresh's tables (refresh_dirty,
    model_inputs); campaign dates in data time. model_inputs fills at the next recompute, which a refresh
    falls back to while it is empty."""
    conn.execute("ALTER TABLE model_fits RENAME TO model_fits_v2")
    start = DDL.index("CREATE TABLE IF NOT EXISTS model_fits")
    end = DDL.index("CREATE TABLE IF NOT EXISTS segments")
    for statement in DDL[start:end].split(";"):
        if statement.strip():
            conn.execute(_create_table(conn, statement))
    conn.execute(
        "INSERT OR REPLACE INTO model_fits SELECT model, params, time_unit, log_lik, n_customers,"
        " error, coalesce(as_of, ''), fitted_at, diagnostics FROM model_fits_v2"
    )
    conn.execute("DROP TABLE model_fits_v2")
    for table, column in (("campaign_members", "added_on"), ("campaign_audit", "as_of")):
        if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
            text = _column_type(conn, "TEXT")
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {text}")
    # before schema 5 only the wall-clock day was kept: the best guess of the data date
    conn.execute(
        "UPDATE campaign_members SET added_on = substr(added_at, 1, 10) WHERE added_on IS NULL"
    )


# Strategies (core.audience.strategies, docs/strategies.md) and the global control group. Each
# run of a strategy is also a campaign (``campaigns`` / ``campaign_members``: role target or
# control, start_date the run's data date); these tables add what a campaign does not hold.
STRATEGY_DDL = """
CREATE TABLE IF NOT EXISTS strategies (
    name          TEXT PRIMARY KEY,
    condition     TEXT NOT NULL,
    mode          TEXT NOT NULL DEFAULT 'entering' CHECK (mode IN ('entering', 'every_run')),
    channel       TEXT NOT NULL,
    offer         TEXT NOT NULL DEFAULT '',
    offers_by     TEXT CHECK (offers_by IN ('layer', 'rfm')),
    offers        TEXT NOT NULL DEFAULT '{}',   -- JSON {group key: offer}
    variants      TEXT NOT NULL DEFAULT '[]',   -- JSON [[channel, offer], ...]
    holdout_pct   REAL NOT NULL DEFAULT 10,
    seed          INTEGER NOT NULL DEFAULT 0,
    cooldown_days INTEGER NOT NULL DEFAULT 0,
    max_per_run   INTEGER,
    priority      INTEGER NOT NULL DEFAULT 0,
    schedule      TEXT NOT NULL DEFAULT 'daily',
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    include_contact INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,                -- wall clock: metadata only
    updated_at    TEXT NOT NULL
);
-- one row per strategy and data date it ran on, arms as JSON [[variant, channel, offer], ...]
CREATE TABLE IF NOT EXISTS strategy_runs (
    id        INTEGER PRIMARY KEY,
    strategy  TEXT NOT NULL,
    run_date  TEXT NOT NULL,
    campaign  TEXT NOT NULL,
    matched   INTEGER NOT NULL,
    removed   TEXT NOT NULL DEFAULT '{}',       -- JSON {limit: users removed}
    targets   INTEGER NOT NULL,
    control   INTEGER NOT NULL,
    arms      TEXT NOT NULL DEFAULT '[]',
    file      TEXT,
    ran_at    TEXT NOT NULL,                    -- wall clock: metadata only
    UNIQUE (strategy, run_date)
);
-- the action each target of a run got (an index into the run's arms)
CREATE TABLE IF NOT EXISTS strategy_targets (
    run_id  INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    arm     INTEGER NOT NULL,
    PRIMARY KEY (run_id, user_id)
) WITHOUT ROWID;
-- each user's seeded draw for a strategy, stored at first selection: -1 control, else variant
CREATE TABLE IF NOT EXISTS strategy_draws (
    strategy TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    arm      INTEGER NOT NULL,
    PRIMARY KEY (strategy, user_id)
) WITHOUT ROWID;
-- the data date each user last matched a strategy's condition on a run ("entering" mode)
CREATE TABLE IF NOT EXISTS strategy_matches (
    strategy     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    last_matched TEXT NOT NULL,
    PRIMARY KEY (strategy, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS global_control (user_id TEXT PRIMARY KEY) WITHOUT ROWID;
"""


def _add_strategies(conn: sqlite3.Connection) -> None:
    """6 -> 7: the strategy tables and the global control group (issue 16); nothing
    existing changes."""
    for statement in STRATEGY_DDL.split(";"):
        if statement.strip():
            conn.execute(_create_table(conn, statement))


# The previous-period window columns (-59d..-30d, core.store.columns), as schema 8 added them.
PREVIOUS_PERIOD_COLUMNS: dict[str, str] = {
    "logins_prev_30d": "INTEGER",
    "orders_prev_30d": "INTEGER",
    "spent_prev_30d": "REAL",
}


def _add_previous_period(conn: sqlite3.Connection) -> None:
    """7 -> 8: the previous-period windows (logins, orders and spent over D-59 … D-30), which
    ``count(login, -59d..-30d)``, ``orders(…)`` and ``spent(…)`` read. Empty until the next
    recompute, so the stored features are marked stale (the language computes windows from the
    raw rows meanwhile, and the refresh recomputes: the features' schema is older)."""
    existing = {row[1] for row in conn.execute("PRAGMA table_info(features)")}
    for column, kind in PREVIOUS_PERIOD_COLUMNS.items():
        if column not in existing:
            conn.execute(
                f"ALTER TABLE features ADD COLUMN {quote(column)} {_column_type(conn, kind)}"
            )
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('features_stale', '1')")


# Migrations: version N -> N+1. Each runs inside the transaction of ensure_schema(), on SQLite
# and on DuckDB alike (core.store.duck opens an older DuckDB database through it): DDL that
# engines spell differently goes through _column_type (ALTER TABLE … ADD COLUMN) and
# _create_table, whose SQLite spelling is the statement as written.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _add_days_since_last,
    2: _add_column_flags,
    3: _add_model_intervals,
    4: _fits_per_date,
    5: _add_layer_lifecycle,
    6: _add_strategies,
    7: _add_previous_period,
}
# Versions whose missing upgrades only add what readers can do without (read-only media opens
# them as they are): without column_flags, personal columns are known by their names.
READABLE_WITHOUT_UPGRADE = frozenset({2})


def readable_without_upgrade(version: int) -> bool:
    return all(v in READABLE_WITHOUT_UPGRADE for v in range(version, SCHEMA_VERSION))


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the schema on an empty database, or migrate an older one to SCHEMA_VERSION.

    The connection must be in autocommit mode (``isolation_level=None``, as core.store.db opens it);
    the whole creation or migration is one transaction.
    """
    version = schema_version(conn)
    if version == SCHEMA_VERSION:
        return
    if version is not None and version > SCHEMA_VERSION:
        raise DatabaseError(
            f"This database has schema version {version}; this userops understands up to "
            f"{SCHEMA_VERSION}. Upgrade userops."
        )
    if version is None:
        script = ";\n".join(
            [DDL, feature_table_ddl(), STRATEGY_DDL, *feature_index_ddl(), *_builtin_flags()]
        )
        conn.executescript(
            "BEGIN IMMEDIATE;\n" + script + ";\n"
            f"INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');\n"
            "COMMIT;"
        )
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for v in range(version, SCHEMA_VERSION):
            MIGRATIONS[v](conn)
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _builtin_flags() -> list[str]:
    from core.store.personal import is_personal_name

    return [
        f"INSERT OR IGNORE INTO column_flags(column_name, personal) VALUES ('{c}', 1)"
        for c in USER_COLUMNS
        if is_personal_name(c)
    ]


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The stored schema version, or None for an empty database (no meta table)."""
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if row is None:
        return None
    return stored_version(conn)


def stored_version(conn: Any) -> int | None:
    """meta.schema_version as a number, on any engine's connection (the meta table exists)."""
    got = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if not got:
        return None
    try:
        return int(got[0])
    except (TypeError, ValueError):
        raise DatabaseError(
            f"meta.schema_version is {got[0]!r}, not a number: the database was edited by "
            "hand or is damaged"
        ) from None


def user_attribute_columns(conn: sqlite3.Connection) -> list[str]:
    """Every column of ``users``: the typed basics plus extra columns imports added."""
    return [row[1] for row in conn.execute("PRAGMA table_info(users)")]


def extra_user_columns(conn: sqlite3.Connection) -> list[str]:
    return [c for c in user_attribute_columns(conn) if c not in USER_COLUMNS]
