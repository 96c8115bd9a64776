"""Segments (用户分群): named conditions in the query language, counted, snapshotted, compared.

A saved segment is dynamic (its query is re-evaluated at each as-of); a snapshot freezes the
members at one as-of in segment_snapshots / snapshot_members. Saving over a name keeps the
previous definition in segment_history.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import date, datetime

from core.errors import CoreError, NotFound
from core.query import Compiled, compile_condition
from core.query.compiler import compile_for_segment
from core.query.context import closest, did_you_mean
from core.store.db import transaction
from core.store.engines import insert_with_id


@dataclass(frozen=True)
class Segment:
    name: str
    query: str
    description: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class HistoryEntry:
    query: str
    description: str
    replaced_at: str


@dataclass(frozen=True)
class Snapshot:
    id: int
    name: str
    segment: str | None
    query: str
    as_of: str
    members: int


def _now() -> str:
    # a record-keeping timestamp, not an input to any result
    return datetime.now().isoformat(sep=" ", timespec="seconds")


def save(
    conn: sqlite3.Connection, name: str, query: str, description: str = "", *, as_of: date
) -> Segment:
    """Validate and store a segment; a query that does not compile raises its QueryError."""
    name = name.strip()
    if not name:
        raise CoreError("A segment needs a name", title="Invalid segment")
    compile_for_segment(conn, name, query, as_of=as_of)
    now = _now()
    with transaction(conn):
        old = _row(conn, name)
        if old is not None:
            insert_with_id(
                conn,
                "segment_history",
                "INSERT INTO segment_history(name, query, description, replaced_at) "
                "VALUES (?, ?, ?, ?)",
                (name, old.query, old.description, now),
            )
        conn.execute(
            "INSERT INTO segments(name, query, description, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET query = excluded.query, "
            "description = excluded.description, updated_at = excluded.updated_at",
            (name, query, description, now, now),
        )
    return get(conn, name)


def _row(conn: sqlite3.Connection, name: str) -> Segment | None:
    row = conn.execute(
        "SELECT name, query, description, created_at, updated_at FROM segments WHERE name = ?",
        (name,),
    ).fetchone()
    return None if row is None else Segment(*row)


def get(conn: sqlite3.Connection, name: str) -> Segment:
    seg = _row(conn, name)
    if seg is None:
        known = [r[0] for r in conn.execute("SELECT name FROM segments")]
        raise NotFound(f'No segment named "{name}"{did_you_mean(closest(name, known), chr(34))}')
    return seg


def history(conn: sqlite3.Connection, name: str) -> list[HistoryEntry]:
    """Earlier definitions of ``name``, newest first."""
    rows = conn.execute(
        "SELECT query, description, replaced_at FROM segment_history WHERE name = ? "
        "ORDER BY id DESC",
        (name,),
    )
    return [HistoryEntry(*r) for r in rows]


def list_segments(conn: sqlite3.Connection, as_of: date) -> list[tuple[Segment, int | None]]:
    """Every saved segment with its current count (None when it no longer compiles)."""
    out: list[tuple[Segment, int | None]] = []
    rows = conn.execute(
        "SELECT name, query, description, created_at, updated_at FROM segments ORDER BY name"
    ).fetchall()
    for row in rows:
        seg = Segment(*row)
        try:
            out.append(
                (seg, count(conn, compile_for_segment(conn, seg.name, seg.query, as_of=as_of)))
            )
        except CoreError:
            out.append((seg, None))
    return out


def delete(conn: sqlite3.Connection, name: str) -> None:
    get(conn, name)
    with transaction(conn):
        conn.execute("DELETE FROM segments WHERE name = ?", (name,))


# The setting (meta key) bounding how long one count may run, in seconds; the CLI applies it
# (`segment count --time-limit`), the app has its cancel key.
TIME_LIMIT_KEY = "query_time_limit_s"
DEFAULT_TIME_LIMIT_S = 60.0


def time_limit(conn: sqlite3.Connection) -> float:
    """The database's setting for query_time_limit_s, else DEFAULT_TIME_LIMIT_S."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (TIME_LIMIT_KEY,)).fetchone()
        return float(row[0]) if row and float(row[0]) > 0 else DEFAULT_TIME_LIMIT_S
    except (sqlite3.Error, ValueError):
        return DEFAULT_TIME_LIMIT_S


def count(conn: sqlite3.Connection, compiled: Compiled, *, limit_s: float | None = None) -> int:
    """How many users match; with ``limit_s``, stop after that many seconds with a CoreError
    saying so (instead of running on)."""
    sql = f"SELECT count(*) FROM features AS f WHERE {compiled.where}"
    if limit_s is None:
        return int(conn.execute(sql, compiled.params).fetchone()[0])
    deadline = time.monotonic() + limit_s
    conn.set_progress_handler(lambda: time.monotonic() > deadline, 20_000)
    try:
        return int(conn.execute(sql, compiled.params).fetchone()[0])
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        raise CoreError(
            f"The count ran longer than the time limit of {limit_s:g} s and was stopped "
            f"(setting {TIME_LIMIT_KEY}, or --time-limit)",
            title="Condition too slow",
        ) from None
    finally:
        conn.set_progress_handler(None, 0)


def total_users(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM features").fetchone()[0])


def condition_for(
    conn: sqlite3.Connection, name_or_query: str, *, as_of: date, prefix: str = ""
) -> Compiled:
    """A saved segment's condition, a snapshot's frozen list, or else the text as a query.

    Parameter names start with ``prefix`` (see core.query.compile_condition)."""
    try:
        name_or_query.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of an argument: never a name; the parser
        return compile_condition(
            conn, name_or_query, as_of=as_of, prefix=prefix
        )  # says where they are
    seg = _row(conn, name_or_query)
    if seg is not None:
        return compile_for_segment(conn, seg.name, seg.query, as_of=as_of, prefix=prefix)
    snap = conn.execute(
        "SELECT id FROM segment_snapshots WHERE name = ?", (name_or_query,)
    ).fetchone()
    if snap is not None:
        param = f"{prefix}p0"
        return Compiled(
            name_or_query,
            f"f.user_id IN (SELECT user_id FROM snapshot_members WHERE snapshot_id = :{param})",
            {param: snap[0]},
            f"在快照 {name_or_query} 中",
            f"in snapshot {name_or_query}",
        )
    return compile_condition(conn, name_or_query, as_of=as_of, prefix=prefix)


def snapshot(
    conn: sqlite3.Connection, name: str, *, as_of: date, snapshot_name: str | None = None
) -> Snapshot:
    """Freeze the current members of segment ``name`` (or a query) as a static list."""
    compiled = condition_for(conn, name, as_of=as_of)
    snap_name = (snapshot_name or f"{name} @ {as_of.isoformat()}").strip()
    if conn.execute("SELECT 1 FROM segment_snapshots WHERE name = ?", (snap_name,)).fetchone():
        raise CoreError(
            f'A snapshot named "{snap_name}" already exists; choose another name',
            title="Snapshot exists",
        )
    segment = name if _row(conn, name) is not None else None
    with transaction(conn):
        snap_id = insert_with_id(
            conn,
            "segment_snapshots",
            "INSERT INTO segment_snapshots(name, segment, query, as_of, taken_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (snap_name, segment, compiled.text, as_of.isoformat(), _now()),
        )
        params = {**compiled.params, "snapshot_id": snap_id}
        conn.execute(
            "INSERT INTO snapshot_members(snapshot_id, user_id) "
            f"SELECT :snapshot_id, f.user_id FROM features AS f WHERE {compiled.where}",
            params,
        )
        n = conn.execute(
            "SELECT count(*) FROM snapshot_members WHERE snapshot_id = ?", (snap_id,)
        ).fetchone()[0]
    return Snapshot(snap_id, snap_name, segment, compiled.text, as_of.isoformat(), int(n))


_SNAPSHOTS_SQL = (
    "SELECT s.id, s.name, s.segment, s.query, s.as_of, "
    "(SELECT count(*) FROM snapshot_members AS m WHERE m.snapshot_id = s.id) "
    "FROM segment_snapshots AS s"
)


def list_snapshots(conn: sqlite3.Connection) -> list[Snapshot]:
    """Every snapshot with its frozen member count, by name."""
    return [Snapshot(*row) for row in conn.execute(f"{_SNAPSHOTS_SQL} ORDER BY s.name")]


def get_snapshot(conn: sqlite3.Connection, name: str) -> Snapshot | None:
    """The snapshot called ``name``, or None."""
    row = conn.execute(f"{_SNAPSHOTS_SQL} WHERE s.name = ?", (name,)).fetchone()
    return None if row is None else Snapshot(*row)


def compare(conn: sqlite3.Connection, a: str, b: str, *, as_of: date) -> tuple[int, int, int]:
    """(only in A, in both, only in B) for two segments, snapshots or queries."""
    # each side's parameters have their own prefix, so both share one statement
    ca = condition_for(conn, a, as_of=as_of, prefix="a_")
    cb = condition_for(conn, b, as_of=as_of, prefix="b_")
    params = {**ca.params, **cb.params}
    in_a, in_b = f"ifnull(({ca.where}), 0)", f"ifnull(({cb.where}), 0)"
    row = conn.execute(
        f"SELECT ifnull(sum({in_a} AND NOT {in_b}), 0), ifnull(sum({in_a} AND {in_b}), 0), "
        f"ifnull(sum({in_b} AND NOT {in_a}), 0) FROM features AS f",
        params,
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])
