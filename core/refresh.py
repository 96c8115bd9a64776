"""The daily refresh: bring the features, RFM, predictions, layers and tags from their date D0 to
a later date D1 touching only the users whose rows say they changed, with exactly the result a
full recompute to D1 gives (tests/core/test_refresh_property.py). docs/architecture.md, "The
refresh".

Which users change as D moves from D0 to D1 (every definition in core.analytics.features):
* users with orders or events dated D0+1 … D1 (new activity), and users listed in
  ``refresh_dirty`` (rows dated on or before D0 that arrived, changed or went since, and
  attribute changes: triggers the recompute installs);
* users with rows that leave a window: a window "Nd" holds D-(N-1) … D, so as of D1 the rows
  dated D0-(N-1) … D1-N drop out, for N = 7, 30 and 90 (every windowed count and sum, open
  carts over 30 days, the favourite category over 90 days), and N = 60 for the previous 30
  days (D-59 … D-30: rows leaving the last 30 days enter it);
* users who signed up D0+1 … D1 (they exist from D1 on).
Every other user keeps every column but the day counts — recency, days since active and since
each kind — which are D minus a fixed date, so they move by D1-D0 set-wise (a buyer's in the
UPDATE that writes its predictions: each row rewritten once). Then, over every user as before:
every buyer's predictions from the stored fit (refitted when older than ``refit_after_days`` or
on request), the RFM scores (the quantile cuts move with everyone's recency), the layer and tag
rules (only the layers and tags that moved are written), and the per-date history of layers,
RFM groups and tags. All in one write transaction, like the recompute.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from core.analytics import coverage, predict, rfm
from core.analytics.features import compute_features_of, drop_shadows
from core.errors import CoreError, DatabaseError
from core.pipeline import (
    USER_TAGS_NEW_DDL,
    index_user_tags,
    mark_computed,
    recompute,
)
from core.rules import history, layers, tags
from core.store.columns import COLUMNS
from core.store.db import get_meta, latest_data_date, set_meta, transaction
from core.store.engines import CLICKHOUSE_ENGINES, dialect_of, engine_of
from core.store.schema import DAYS_SINCE_LAST, FEATURE_COLUMNS, SCHEMA_VERSION, feature_table_ddl
from core.store.sql import quote

REFIT_AFTER_DAYS = 7  # a stored fit older than this is refitted by the refresh
# every day count where rows enter or leave a window column (core.store.columns.WINDOW_EDGES)
WINDOWS = (7, 30, 60, 90)
# Columns that are D minus a fixed date: they move with D for users whose rows did not change.
DAY_COUNTS = ("recency_days", "days_since_active", *DAYS_SINCE_LAST.values())
assert set(DAY_COUNTS) <= set(FEATURE_COLUMNS)
_SHIFTED = ", ".join(f"{c} = {c} + :shift" for c in DAY_COUNTS)
# recency_days is indexed: out of the SET list where it is NULL (each listed indexed column
# costs a delete and an insert in its index per row, whatever the value)
_SHIFTED_NOT_BUYERS = ", ".join(f"{c} = {c} + :shift" for c in DAY_COUNTS if c != "recency_days")
TOUCHED = "temp.uo_touched"
NEW_TAGS = "temp.uo_tags_new"  # the day's tags, before only their difference is written
# What a touched user's columns read (core.store.columns): only the windows (the longest is
# 90 days: carts_open also needs the last order, which is either in the window or before every
# cart of it) ...
WINDOW_COLUMNS = (
    *(c.name for c in COLUMNS if c.in_features and c.window and c.window[2] is not None),
    "carts_open",
    "favourite_category",
)
# ... every order ...
ORDER_HISTORY = (
    "recency_days", "frequency", "monetary", "first_order_at", "last_order_at",
    "night_order_share",
)  # fmt: skip
# ... or the latest row (DAYS_SINCE_LAST, last_active_at, days_since_active: maxima).
assert {c.name for c in COLUMNS if c.in_features and c.filled_by == "recompute"} == {
    *(c.name for c in COLUMNS if c.kind == "attribute" and c.in_features),
    *WINDOW_COLUMNS,
    *ORDER_HISTORY,
    *DAYS_SINCE_LAST.values(),
    "last_active_at",
    "days_since_active",
}, "a new feature column: say which of these it reads"


@dataclass(frozen=True)
class RefreshReport:
    from_as_of: date | None
    as_of: date
    touched: int  # users whose rows were recomputed
    users: int
    buyers: int
    seconds: float
    full: str  # why the full recompute ran instead; "" for an incremental refresh
    fit_as_of: date | None  # the date of the fit the predictions come from
    refitted: bool
    reread: int = 0  # of the touched users, those whose whole order history was re-read


def refresh(
    conn: sqlite3.Connection,
    as_of: date | None = None,
    *,
    refit: bool = False,
    refit_after_days: int = REFIT_AFTER_DAYS,
    progress: Callable[[int, int, str], None] | None = None,
) -> RefreshReport:
    """Bring everything to ``as_of`` (default: the latest date in the data), incrementally
    when it can; else the full recompute, with the reason in ``report.full``. ``progress``
    (step, of steps, what) is called before each step, for a progress bar."""
    started = time.perf_counter()
    step = _stepper(progress)
    target = as_of or latest_data_date(conn)
    if target is None:
        raise CoreError("No data to refresh: import orders or events first.", title="Refresh")
    previous = get_meta(conn, "features_as_of")
    d0 = date.fromisoformat(previous[:10]) if previous else None
    why = _why_full(conn, d0, target)
    if why:
        step("full recompute")
        report = recompute(conn, target)
        step("done")
        return RefreshReport(
            d0, target, report.users, report.users, report.buyers,
            time.perf_counter() - started, why, target, True,
        )  # fmt: skip
    assert d0 is not None
    try:
        with _all_or_nothing(conn, target):
            _keep_start_history(conn, d0)
            step("changed users")
            touched, reread = _collect_touched(conn, d0, target)
            step("their features")
            _recompute_touched(conn, target)
            mark_computed(conn, target)  # rules below read the features as of their own date
            step("predictions")
            fit_as_of, refitted = _predict(conn, target, refit, refit_after_days)
            _write_rows(conn, (target - d0).days)
            step("RFM scores")
            rfm.apply_rfm(conn, "features")
            step("layers and tags")
            _apply_rules(conn, target)
        step("done")
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"Refresh failed, previous features kept: {exc}") from exc
    finally:
        if engine_of(conn) not in CLICKHOUSE_ENGINES:  # there: in the build database, dropped
            drop_shadows(conn)
            conn.execute(f"DROP TABLE IF EXISTS {TOUCHED}")
            conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
            conn.execute(f"DROP TABLE IF EXISTS temp.{predict.PREDICTIONS_TABLE}")
    users, buyers = conn.execute(
        "SELECT count(*), coalesce(sum(frequency > 0), 0) FROM features"
    ).fetchone()
    return RefreshReport(
        d0, target, touched, users, buyers, time.perf_counter() - started, "", fit_as_of,
        refitted, reread,
    )  # fmt: skip


STEPS = 6  # the calls of step() on the incremental path, "done" included

# ClickHouse (chDB): what the refresh writes, built in a database of its own and exchanged in
# (core.store.clickhouse.exchanged), as the recompute's build is (core.pipeline)
COPIED = ("features", "model_fits", "model_inputs", "meta")
HISTORIES = ("layer_history", "rfm_history", "tag_history")


@contextmanager
def _all_or_nothing(conn: sqlite3.Connection, d1: date) -> Iterator[None]:
    """One write transaction on SQLite and DuckDB. ClickHouse has no multi-statement
    transactions: the steps run in a build database where every table the refresh writes is a
    copy of the live one (the histories but d1's rows, which it writes anew; refresh_dirty
    empty, as the refresh leaves it; user_tags made anew as user_tags_new by _apply_rules),
    the others views of the live ones; then the copies are exchanged in. A failure before the
    exchanges leaves the previous state (docs/engines.md)."""
    if engine_of(conn) not in CLICKHOUSE_ENGINES:
        with transaction(conn):
            yield
        return
    from core.store.clickhouse import exchanged  # chdb loads only for a chDB database

    with exchanged(
        conn,  # type: ignore[arg-type]
        copied=COPIED,
        filtered=dict.fromkeys(HISTORIES, ("as_of <> ?", (d1.isoformat(),))),
        empty=("refresh_dirty",),
        renamed=("user_tags",),
    ):
        yield


def _stepper(progress: Callable[[int, int, str], None] | None) -> Callable[[str], None]:
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(STEPS if what == "done" else done, STEPS, what)

    return step


def _why_full(conn: sqlite3.Connection, d0: date | None, target: date) -> str:
    """Why only the full recompute can bring the features to ``target`` ("" when the refresh
    can)."""
    if d0 is None:
        return "first computation of the features"
    if target < d0:
        return f"{target} is before the features' date {d0}"
    if get_meta(conn, "features_schema") != str(SCHEMA_VERSION):
        return "the features were computed by an older userops"
    if get_meta(conn, "fit_as_of") is None:
        return "no stored model fit for the features"
    return ""


def _collect_touched(conn: sqlite3.Connection, d0: date, d1: date) -> tuple[int, int]:
    """Fill temp.uo_touched with every user whose rows change from d0 to d1 (module doc),
    each with the bounds its rows are re-read from: ('', '') the whole row (dirty users, later
    signups), ('', d90) the whole order history (new orders), (d90, d90) the window only.
    Returns (users touched, users whose order history is re-read)."""
    d = dialect_of(conn)
    conn.execute(f"DROP TABLE IF EXISTS {TOUCHED}")
    conn.execute(
        d.create_table(
            f"CREATE TEMP TABLE {TOUCHED.split('.')[1]} (user_id TEXT PRIMARY KEY,"
            " orders_from TEXT NOT NULL, events_from TEXT NOT NULL) WITHOUT ROWID"
        )
    )
    day = timedelta(days=1)
    d90 = (d1 - timedelta(days=max(WINDOWS) - 1)).isoformat()
    new = ((d0 + day).isoformat(), (d1 + day).isoformat())  # rows (signups) dated d0+1 … d1
    leaving = [(d0 - timedelta(days=n - 1), d1 - timedelta(days=n - 1)) for n in WINDOWS]
    insert = f"INSERT OR IGNORE INTO {TOUCHED} "
    if not d.keeps_first:  # ClickHouse: every candidate row, the widest bounds taken below
        conn.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
        conn.execute(f"CREATE TEMP TABLE {CANDIDATES[5:]} AS SELECT * FROM {TOUCHED} WHERE 0")
        insert = f"INSERT INTO {CANDIDATES} "
    # first come, first kept (OR IGNORE): the widest re-read first
    conn.execute(insert + "SELECT user_id, '', '' FROM main.refresh_dirty")
    conn.execute(
        insert + "SELECT user_id, '', '' FROM main.users WHERE signup_at >= ? AND signup_at < ?",
        new,
    )
    orders_by_time = d.indexed_by("orders_time")
    conn.execute(
        insert + f"SELECT user_id, '', :d90 FROM main.orders{orders_by_time}"
        " WHERE created_at >= :start AND created_at < :end",
        {"d90": d90, "start": new[0], "end": new[1]},
    )
    # SQLite: one range of events_kind_time per kind (found by seeks); an engine without that
    # index scans events once per range (zone maps skip the row groups of other days)
    kinds = [k for (k,) in conn.execute(_KINDS)] if d.seeks else [None]
    events_by_kind = d.indexed_by("events_kind_time")
    ranges = [new, *((a.isoformat(), b.isoformat()) for a, b in leaving)]
    if not d.keeps_first:  # ClickHouse: one scan of each table for every range (sorted by
        # user, a range of days is a scan of every row: 5 scans of events cost 5x one)
        ranges = [(a, b) for a, b in ranges if a < b]
        bounds = {"d90": d90} | {f"s{i}": a for i, (a, _) in enumerate(ranges)}
        bounds |= {f"e{i}": b for i, (_, b) in enumerate(ranges)}
        within = " OR ".join(
            f"(created_at >= :s{i} AND created_at < :e{i})" for i in range(len(ranges))
        )
        for table in ("orders", "events") if ranges else ():
            conn.execute(
                insert + f"SELECT user_id, :d90, :d90 FROM main.{table} WHERE {within}", bounds
            )
        ranges = []
    for start, end in ranges:
        if start >= end:
            continue
        bounds = {"d90": d90, "start": start, "end": end}
        conn.execute(
            insert + f"SELECT user_id, :d90, :d90 FROM main.orders{orders_by_time}"
            " WHERE created_at >= :start AND created_at < :end",
            bounds,
        )
        for kind in kinds:
            conn.execute(
                insert + f"SELECT user_id, :d90, :d90 FROM main.events{events_by_kind}"
                f" WHERE {'' if kind is None else 'kind = :kind AND '}created_at >= :start"
                " AND created_at < :end",
                {**bounds, "kind": kind} if kind is not None else bounds,
            )
    # Active before signing up after d1: in features by their rows only, so whole rows too.
    if d.keeps_first:
        conn.execute(
            f"UPDATE {TOUCHED} AS t SET orders_from = '', events_from = '' FROM main.users AS u"
            " WHERE u.user_id = t.user_id AND t.events_from <> '' AND u.signup_at >= ?",
            (new[1],),
        )
    else:  # each user's widest bounds: '' (everything) sorts before any date
        late = "ifNull(u.signup_at >= :late, 0)"
        conn.execute(
            f"INSERT INTO {TOUCHED} SELECT c.user_id,"
            f" if({late}, '', min(c.orders_from)), if({late}, '', min(c.events_from))"
            f" FROM {CANDIDATES} AS c LEFT JOIN main.users AS u ON u.user_id = c.user_id"
            " GROUP BY c.user_id, u.signup_at",
            {"late": new[1]},
        )
        conn.execute(f"DROP TABLE {CANDIDATES}")
    reread = d.as_int("orders_from = ''")
    return conn.execute(f"SELECT count(*), coalesce(sum({reread}), 0) FROM {TOUCHED}").fetchone()


CANDIDATES = "temp.uo_touched_rows"  # ClickHouse: TOUCHED's rows before each user's widest


# Every event kind in the data, by one seek per kind on events_kind_time (a skip-scan).
_KINDS = """
WITH RECURSIVE k(kind) AS (
    SELECT min(kind) FROM main.events
    UNION ALL SELECT (SELECT min(kind) FROM main.events WHERE kind > k.kind) FROM k
    WHERE k.kind IS NOT NULL
)
SELECT kind FROM k WHERE kind IS NOT NULL"""


def _merged(reread: bool) -> dict[str, str]:
    """Column -> its value merging a partly re-read row ``s`` (of SCRATCH) into ``features`` f
    (module doc), the day counts kept from f moved by :shift: windowed columns from s; the
    order history from s when it was re-read (``reread``), else kept (only recency moves: the
    indexed columns stay out of the list, each would cost a delete and an insert in its index
    per row); the latest-event columns and last activity are maxima over all rows, so the
    later of the kept value and s's window value. The columns not listed keep f's."""
    sets = {c: f"s.{c}" for c in WINDOW_COLUMNS}
    if reread:
        sets |= {c: f"s.{c}" for c in ORDER_HISTORY}
    else:
        sets["recency_days"] = "f.recency_days + :shift"
    sets |= {c: f"coalesce(s.{c}, f.{c} + :shift)" for c in DAYS_SINCE_LAST.values()}
    later = "s.last_active_at > coalesce(f.last_active_at, '')"
    sets["last_active_at"] = f"CASE WHEN {later} THEN s.last_active_at ELSE f.last_active_at END"
    sets["days_since_active"] = (
        f"CASE WHEN {later} THEN s.days_since_active ELSE f.days_since_active + :shift END"
    )
    return sets


def _merge_sets(reread: bool) -> str:
    """_merged as an UPDATE's SET list."""
    return ", ".join(f"{c} = {value}" for c, value in _merged(reread).items())


SCRATCH = "temp.uo_refresh_rows"  # the touched users' rows as of D1, until they are written


def _recompute_touched(conn: sqlite3.Connection, d1: date) -> None:
    """The touched users' rows as of d1, re-read from their bounds, into SCRATCH (written into
    features with their predictions by ``_write_rows``: each row rewritten once); whole rows
    (dirty users, later signups) replaced now; the model inputs of the users whose order
    history was re-read."""
    d = dialect_of(conn)
    conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    conn.execute(d.create_table(feature_table_ddl(SCRATCH)))
    _, history_rows = compute_features_of(conn, SCRATCH, d1, TOUCHED)
    whole = f"SELECT user_id FROM {TOUCHED} WHERE events_from = ''"
    columns = ", ".join(FEATURE_COLUMNS)
    if d.upserts_in_place:  # DuckDB: a key deleted and inserted again slows the COMMIT
        conn.execute(
            f"DELETE FROM features WHERE user_id IN ({whole})"
            f" AND user_id NOT IN (SELECT user_id FROM {SCRATCH})"
        )
        conn.execute(
            f"INSERT OR REPLACE INTO features ({columns}) SELECT {columns} FROM {SCRATCH}"
            f" WHERE user_id IN ({whole})"
        )
    else:
        conn.execute(f"DELETE FROM features WHERE user_id IN ({whole})")
        conn.execute(
            f"INSERT INTO features ({columns}) SELECT {columns} FROM {SCRATCH}"
            f" WHERE user_id IN ({whole})"
        )
    reread = "temp.uo_refresh_reread"
    conn.execute(f"DROP TABLE IF EXISTS {reread}")
    conn.execute(
        d.create_table(
            f"CREATE TEMP TABLE {reread.split('.')[1]} (user_id TEXT PRIMARY KEY) WITHOUT ROWID"
        )
    )
    conn.execute(f"INSERT INTO {reread} SELECT user_id FROM {TOUCHED} WHERE orders_from = ''")
    ids = {u for (u,) in conn.execute(f"SELECT user_id FROM {reread}")}
    out = history_rows[history_rows["user_id"].isin(ids)].reset_index(drop=True)
    predict.write_model_inputs(conn, out, users_table=reread)
    conn.execute(f"DROP TABLE {reread}")


def _predict(
    conn: sqlite3.Connection, d1: date, refit: bool, refit_after_days: int
) -> tuple[date, bool]:
    """Every buyer's predictions as of d1 from the stored fit, refitted on the stored purchase
    histories when asked, when the fit is older than ``refit_after_days``, or when it is
    missing; the fit's date is recorded as meta ``fit_as_of``."""
    stored = get_meta(conn, "fit_as_of")
    fit_day = date.fromisoformat(stored[:10]) if stored else None
    fit = None if fit_day is None else predict.load_fits(conn, fit_day)
    if refit or fit is None or fit_day is None or (d1 - fit_day).days > refit_after_days:
        summary = predict.stored_summary(conn, d1)  # predict.refit_and_score, its write aside
        report = predict.fit_summary(summary, d1, predict.recorded_choice(conn))
        predict.store_fits(conn, report)
        predict.score_into_temp(conn, report, d1, summary)
        set_meta(conn, "fit_as_of", d1.isoformat())
        return d1, True
    predict.score_into_temp(conn, fit, d1)
    return fit_day, False


def _keep_start_history(conn: sqlite3.Connection, d0: date) -> None:
    """Record the layers, RFM groups and tags of D0 when D0 has no history (a database shipped
    without its per-date histories, as the demo: about 2 MB a date): the tables still hold D0's,
    so the first refresh gives the transitions (`entered layer "dormant" within 7d`) the date
    before its window, as a refresh from a recompute does."""
    day = d0.isoformat()
    if conn.execute("SELECT 1 FROM layer_history WHERE as_of = ? LIMIT 1", (day,)).fetchone():
        return
    absent, params = history.absent_users(d0)  # who was not there yet has no layer
    conn.execute(
        "INSERT OR REPLACE INTO layer_history(as_of, user_id, layer) "
        f"SELECT :day, user_id, layer FROM features WHERE layer IS NOT NULL"
        f" AND user_id NOT IN ({absent})",
        {**params, "day": day},
    )
    history.record(conn, "features", "user_tags", d0)


def _write_rows(conn: sqlite3.Connection, shift: int) -> None:
    """Write the outputs scored into temp.uo_predict, the touched users' rows of SCRATCH, and
    move the day counts by ``shift`` days, each row rewritten once: a touched user's merged
    row, outputs and day counts in one UPDATE; an untouched buyer's outputs and day counts in
    another (every buyer's outputs change each day: T moves); the other users' day counts in a
    third; stale outputs (no longer a buyer) cleared."""
    d = dialect_of(conn)
    if not d.indexes:
        _rewrite_rows(conn, shift)
        return
    scored = f"temp.{predict.PREDICTIONS_TABLE}"
    columns = [quote(c) for c in predict.OUTPUT_COLUMNS]
    stale = " OR ".join(f"{c} IS NOT NULL" for c in columns)
    conn.execute(
        f"UPDATE features SET {', '.join(f'{c} = NULL' for c in columns)} WHERE ({stale})"
        f" AND user_id NOT IN (SELECT user_id FROM {scored})"
    )
    # SQLite: a row-value SET from a subquery, not UPDATE ... FROM: the planner drove that
    # one by a scan of an index (features_frequency), rewriting the rows in random order (2x
    # the CPU on 1M users); here the buyers are visited in key order. DuckDB has no index to
    # follow: UPDATE ... FROM, one hash join.
    outputs = ", ".join(f"{c} = o.{c}" for c in columns)
    picked = ", ".join(f"o.{c}" for c in columns)
    moved = (
        f"({', '.join(columns)}) = (SELECT {picked} FROM {scored} AS o"
        " WHERE o.user_id = features.user_id)"
    )
    untouched = f"user_id NOT IN (SELECT user_id FROM {TOUCHED})"
    if d.indexes:
        conn.execute(
            f"UPDATE features SET {moved}{', ' + _SHIFTED if shift else ''}"
            f" WHERE user_id IN (SELECT user_id FROM {scored}) AND {untouched}",
            {"shift": shift},
        )
    else:
        conn.execute(
            f"UPDATE features AS f SET {outputs}{', ' + _SHIFTED if shift else ''}"
            f" FROM {scored} AS o WHERE o.user_id = f.user_id AND f.{untouched}",
            {"shift": shift},
        )
    if shift:  # in key order too (NOT INDEXED); not buyers (every buyer is scored: its
        # model_inputs row), so no recency to move
        conn.execute(
            f"UPDATE features{' NOT INDEXED' if d.indexes else ''} SET {_SHIFTED_NOT_BUYERS}"
            f" WHERE user_id NOT IN (SELECT user_id FROM {scored})"
            f" AND user_id NOT IN (SELECT user_id FROM {TOUCHED})",
            {"shift": shift},
        )
    # whole rows (inserted by _recompute_touched, outputs empty): their outputs
    conn.execute(
        f"UPDATE features AS f SET {outputs} FROM {TOUCHED} AS t JOIN {scored} AS o"
        " ON o.user_id = t.user_id WHERE f.user_id = t.user_id AND t.events_from = ''"
    )
    # the others: merged (outputs NULL for a non-buyer, as the stale ones above)
    with_outputs = ", ".join(f"{c} = p.{c}" for c in columns)
    for reread, which in ((True, "t.orders_from = ''"), (False, "t.orders_from <> ''")):
        conn.execute(
            f"UPDATE features AS f SET {_merge_sets(reread)}, {with_outputs}"
            f" FROM {SCRATCH} AS s JOIN {TOUCHED} AS t ON t.user_id = s.user_id"
            f" LEFT JOIN {scored} AS p ON p.user_id = s.user_id"
            f" WHERE f.user_id = s.user_id AND t.events_from <> '' AND {which}",
            {"shift": shift},
        )
    conn.execute(f"DROP TABLE {scored}")
    conn.execute(f"DROP TABLE {SCRATCH}")


def _rewrite_rows(conn: sqlite3.Connection, shift: int) -> None:
    """DuckDB: what _write_rows writes, as one new features table filled by one INSERT …
    SELECT (every row: untouched ones with their day counts moved, merged ones as _merged,
    whole rows as written, every buyer's outputs), swapped in as the recompute swaps its own.
    Chosen by measurement (bench_refresh's 100k users, a day touching 37k, the two plans
    alternated, load 14-17): DuckDB's UPDATE costs per column and row group it touches, and
    the merge sets 28 columns of rows spread over every row group (0.8-1.1 s of CPU for 28k
    rows, then 0.8-0.9 s of COMMIT); the whole refresh took 4.0 / 4.6 s of CPU with the
    UPDATEs, 3.7 / 3.1 s with the table written anew (its INSERT 0.36 s, COMMIT 0.9-1.3 s)."""
    d = dialect_of(conn)
    scored = f"temp.{predict.PREDICTIONS_TABLE}"
    outputs = set(predict.OUTPUT_COLUMNS)
    merged, reread = _merged(False), _merged(True)
    values = []
    for c in FEATURE_COLUMNS:
        kept = f"f.{quote(c)}"
        if c in outputs:  # every buyer's, from the fit; NULL for the others
            values.append(f"p.{quote(c)}")
            continue
        moved = f"{kept} + :shift" if c in DAY_COUNTS else kept
        if c not in merged and c not in reread and moved == kept:
            values.append(kept)
            continue
        values.append(
            f"CASE WHEN t.user_id IS NULL THEN {moved}"
            " WHEN s.user_id IS NULL OR t.events_from = '' THEN "
            + kept  # whole rows: as written
            + f" WHEN t.orders_from = '' THEN {reread.get(c, kept)}"
            f" ELSE {merged.get(c, kept)} END"
        )
    columns = ", ".join(quote(c) for c in FEATURE_COLUMNS)
    conn.execute("DROP TABLE IF EXISTS features_new")
    conn.execute(d.create_table(feature_table_ddl("features_new")))
    conn.execute(
        f"INSERT INTO features_new ({columns}) SELECT {', '.join(values)} FROM features AS f"
        f" LEFT JOIN {TOUCHED} AS t ON t.user_id = f.user_id"
        f" LEFT JOIN {SCRATCH} AS s ON s.user_id = f.user_id"
        f" LEFT JOIN {scored} AS p ON p.user_id = f.user_id ORDER BY f.user_id",
        {"shift": shift},
    )
    conn.execute("DROP TABLE features")
    if d.name == "clickhouse":  # the build database's copy (_all_or_nothing), exchanged later
        conn.execute("RENAME TABLE features_new TO features")
    else:
        conn.execute("ALTER TABLE features_new RENAME TO features")
    conn.execute(f"DROP TABLE {scored}")
    conn.execute(f"DROP TABLE {SCRATCH}")


def _apply_rules(conn: sqlite3.Connection, d1: date) -> None:
    """Layers (with their history) then tags, as the recompute does: tags into a scratch table
    first, so a tag rule reading `has tag` sees the previous tags, as in the recompute; then
    only the layers and tags that moved are written."""
    layers.apply_layers(conn, "features", d1, changed_only=True)
    conn.execute(f"DROP TABLE IF EXISTS {NEW_TAGS}")
    d = dialect_of(conn)
    conn.execute(
        d.create_table(
            USER_TAGS_NEW_DDL.replace("TABLE user_tags_new", f"TEMP TABLE {NEW_TAGS[5:]}")
        )
    )
    tags.apply_tags(conn, "features", NEW_TAGS, d1)
    if d.name == "clickhouse":  # the new table whole, renamed over user_tags at the exchange
        conn.execute(f"RENAME TABLE {NEW_TAGS[5:]} TO user_tags_new")
        history.record(conn, "features", "user_tags_new", d1)
        coverage.record(conn)
        return
    # only the difference is written: most users keep their tags from one day to the next
    same = "n.tag = o.tag AND n.user_id = o.user_id"
    conn.execute(
        f"DELETE FROM user_tags AS o WHERE NOT EXISTS (SELECT 1 FROM {NEW_TAGS} AS n WHERE {same})"
    )
    conn.execute(
        f"INSERT INTO user_tags(user_id, tag) SELECT n.user_id, n.tag FROM {NEW_TAGS} AS n"
        f" WHERE NOT EXISTS (SELECT 1 FROM user_tags AS o WHERE {same})"
    )
    conn.execute(f"DROP TABLE {NEW_TAGS}")
    if d.indexes:
        index_user_tags(conn)
    history.record(conn, "features", "user_tags", d1)
    coverage.record(conn)  # what the data measures, as the recompute records it
