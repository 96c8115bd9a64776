"""Cancelling a slow query: which connection each worker opened, and how to stop it.

A thread worker cannot be stopped from outside, but the SQLite statement it runs can:
``Connection.interrupt()`` makes the running statement raise ``OperationalError("interrupted")``
in the worker. :data:`RUNNING` remembers the connection each worker opened (under a lock, since
workers register from their threads and the UI cancels from its own); :func:`cancel` cancels the
worker and interrupts its connection. The screen then treats the error as a cancellation.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from textual.worker import Worker, WorkerState, get_current_worker

from core.errors import CoreError, DatabaseError
from core.store.db import open_db
from core.store.engines import ENGINES, Target, not_supported, open_database
from core.store.logical import first_line

PROGRESS_STEPS = 1_000_000  # SQLite VM steps between two looks at the worker's cancelled flag
# Called with every connection a worker opens (tests make queries slow deterministically here).
CONNECTION_HOOKS: list[Callable[[sqlite3.Connection], None]] = []


class RunningQueries:
    """worker → the connection it is querying on; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_worker: dict[Worker, sqlite3.Connection] = {}

    @contextmanager
    def track(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """Register ``conn`` for the current worker while the block runs (no-op outside one)."""
        try:
            worker = get_current_worker()
        except Exception:  # not in a worker (e.g. a core call from a test): nothing to cancel
            yield conn
            return
        for hook in CONNECTION_HOOKS:
            hook(conn)
        # The safety net behind interrupt(): a statement that starts after the worker was
        # cancelled (e.g. superseded by a newer exclusive worker) stops at the next check.
        conn.set_progress_handler(lambda: worker.is_cancelled, PROGRESS_STEPS)
        with self._lock:
            self._by_worker[worker] = conn
        try:
            yield conn
        finally:
            with (
                self._lock
            ):  # unregistered before the caller closes it: never interrupt a closed one
                self._by_worker.pop(worker, None)
            conn.set_progress_handler(None, 0)

    def interrupt(self, worker: Worker) -> bool:
        with self._lock:
            conn = self._by_worker.get(worker)
            if conn is not None:
                conn.interrupt()
        return conn is not None


RUNNING = RunningQueries()


# database file -> its engine, for the files the app opened on another engine than SQLite
# (tui.app.UserOpsApp sets it from Settings.engine): readers and writers open them on it.
ENGINE_OF: dict[str, str] = {}


def engine_of(path: str | Path) -> str:
    return ENGINE_OF.get(str(path), "sqlite")


# DuckDB file -> the connection the app keeps open while it runs: DuckDB keeps one database
# instance per file while a connection to it is open, so each worker's connection reuses it and
# its buffer pool (opened alone, a 1M-user file takes ~0.1 s and its first reads are cold). It is
# writable when it can be: a process holds a DuckDB file either writable or read-only, not both,
# so the saves write through the same instance as the reads (writing).
KEPT: dict[str, object] = {}
# DuckDB file -> why the app holds it read-only (another process has it open, it cannot be
# written): the one line its saves say (refuse_writes)
READ_ONLY: dict[str, str] = {}
# database files the app was asked to open read-only (``userops DB --read-only``): nothing is
# written, every save says READ_ONLY_SAVE; a DuckDB file is held read-only, so other processes
# can read it meanwhile (DuckDB lets several processes read a file, or one write it)
OPENED_READ_ONLY: set[str] = set()
READ_ONLY_SAVE = "The database is read-only: cannot save changes."  # core.store.db's own line
_KEPT_LOCK = threading.Lock()
# DuckDB file -> held by the app's write worker while it writes: one write at a time, as SQLite's
# BEGIN IMMEDIATE makes them (DuckDB would run two at once and fail one on a conflict)
_WRITING: dict[str, threading.Lock] = {}


# DuckDB file -> the workers' cursors open on its kept connection (kept_cursor), and the kept
# connections released while some were open: the last cursor to close closes it (DuckDB closes
# a connection's cursors with it, and refuses to while one runs a statement)
_CURSORS: dict[str, set[object]] = {}
_LEAVING: dict[str, object] = {}


def release() -> None:
    """Close the connections kept open (the app leaving); one whose cursors a worker still
    uses has their statements interrupted and is closed by the last of them."""
    with _KEPT_LOCK:
        for key, conn in KEPT.items():
            running = _CURSORS.get(key)
            if running:
                for cursor in running:
                    cursor.interrupt()  # type: ignore[attr-defined]
                _LEAVING[key] = conn
            else:
                conn.close()  # type: ignore[attr-defined]
        KEPT.clear()
        READ_ONLY.clear()
        OPENED_READ_ONLY.clear()


def keep_duckdb(path: str | Path):
    """The app's connection to the DuckDB file ``path``, opened once while the app runs:
    writable, else (another process has the file open, or it cannot be written) read-only, with
    the reason in :data:`READ_ONLY`. A file it cannot read either raises its one-line
    DatabaseError (e.g. another process writes it)."""
    from core.store import duck

    key = str(path)
    with _KEPT_LOCK:
        kept = KEPT.get(key)
        if kept is None and key in OPENED_READ_ONLY:
            kept = duck.open_duckdb(path, readonly=True)
            READ_ONLY[key] = READ_ONLY_SAVE
            KEPT[key] = kept
        elif kept is None:
            try:
                kept = duck.open_duckdb(path)
            except DatabaseError as exc:
                kept = duck.open_duckdb(path, readonly=True)  # its own line if not readable
                READ_ONLY[key] = _read_only_line(key, exc)
            KEPT[key] = kept
        return kept


def _read_only_line(path: str, exc: DatabaseError) -> str:
    detail = first_line(exc.__cause__) if exc.__cause__ is not None else str(exc)
    held = re.match(r".*?\(PID \d+\)", detail)  # DuckDB goes on with advice for its own CLI
    detail = held.group(0) if held else detail
    if "locked by another process" in str(exc):
        return (
            f"{path}: opened read-only, the app cannot save changes to it: another program has "
            f"it open (DuckDB lets one process write a file, or several read it); close that "
            f"program, then open the app again ({detail})"
        )
    return f"{path}: opened read-only, the app cannot save changes to it ({detail})"


@cache
def _kept_cursor_class() -> type:
    """The class of a worker's connection to the kept DuckDB instance (:func:`kept_cursor`),
    made when first needed: core.store.duck loads only for a DuckDB database."""
    from core.store.duck import DuckDBConnection

    class KeptCursor(DuckDBConnection):
        def close(self) -> None:
            with _KEPT_LOCK:  # DuckDB's cursors are kept by the kept connection: one call at once
                super().close()
                running = _CURSORS.get(self.path, set())
                running.discard(self)
                leaving = _LEAVING.get(self.path)
                if leaving is not None and not running:
                    del _LEAVING[self.path]
                    leaving.close()  # type: ignore[attr-defined]

    return KeptCursor


def kept_cursor(kept):
    """A connection of its own to the kept DuckDB instance, for one worker: DuckDB's
    ``cursor()``, which shares the instance, its catalog and its buffer pool, and skips what
    ``duckdb.connect`` and core.store.duck.open_duckdb do again for each connection (the
    instance cache's lookup, the schema's version read: 3 statements), which cost a worker
    5-160 ms in the app at 1M users (docs/engines.md, "The app on DuckDB"). Made under the
    lock: DuckDB refuses two calls at once on one connection, the kept one included."""
    import duckdb

    with _KEPT_LOCK:
        try:
            raw = kept.raw.cursor()
        except duckdb.Error as exc:
            raise DatabaseError(f"{kept.path}: {first_line(exc)}") from exc
        conn = _kept_cursor_class()(raw, kept.path, kept.readonly)
        _CURSORS.setdefault(kept.path, set()).add(conn)
    try:
        raw.execute("SET enable_progress_bar = false")  # per connection: it would draw on screen
    except duckdb.Error as exc:
        conn.close()
        raise DatabaseError(f"{kept.path}: {first_line(exc)}") from exc
    return conn


def read_only_reason(path: str | Path) -> str | None:
    """Why the app cannot save to the DuckDB file ``path`` it keeps open (None: it can)."""
    return READ_ONLY.get(str(path))


def open_for_reading(path: str | Path):
    """A read-only connection to the app's database, on its engine (on DuckDB one of the kept
    instance: writable if that is, the readers only read)."""
    engine = engine_of(path)
    if engine == "duckdb":
        return kept_cursor(keep_duckdb(path))
    if engine != "sqlite":  # chDB: a directory (core.store.clickhouse)
        return open_database(Target(engine, str(path), str(path)), readonly=True)
    return open_db(path, readonly=True)


def refuse_writes(path: str | Path) -> None:
    """A CoreError saying in one line why the app cannot save to ``path``: its engine is not
    one the writes run on (tui.cli.common.WRITE_ENGINES, the CLI's gate too: chDB), or the app
    holds the DuckDB file read-only."""
    from tui.cli.common import WRITE_ENGINES

    if str(path) in OPENED_READ_ONLY:
        raise DatabaseError(READ_ONLY_SAVE)
    engine = engine_of(path)
    if engine not in WRITE_ENGINES:
        raise CoreError(not_supported("Saving changes in the app", engine), title=ENGINES[engine])
    if engine == "duckdb":
        keep_duckdb(path)
        reason = read_only_reason(path)
        if reason is not None:
            raise DatabaseError(reason)


@contextmanager
def writing(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A writable connection for one write worker (never shared across threads), or the one
    line of :func:`refuse_writes`. On DuckDB a connection of the kept instance, one write at a
    time; on SQLite its own connection (BEGIN IMMEDIATE serialises the writes)."""
    refuse_writes(path)
    if engine_of(path) != "duckdb":
        conn = open_db(path)
        try:
            yield conn
        finally:
            conn.close()
        return
    with _KEPT_LOCK:
        lock = _WRITING.setdefault(str(path), threading.Lock())
    with lock:
        conn = kept_cursor(keep_duckdb(path))
        try:
            yield conn
        finally:
            conn.close()


@contextmanager
def refreshing(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A writable connection for the refresh's worker (F5): where the saves run, the writers'
    (:func:`writing`); on chDB, where the refresh runs but the saves do not yet, a connection
    of its own (core.refresh writes there all or nothing, through a build database)."""
    engine = engine_of(path)
    if engine != "chdb":
        with writing(path) as conn:
            yield conn
        return
    conn = open_database(Target(engine, str(path), str(path)))
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def reader(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection for one worker thread (never shared across threads).

    While the block runs the connection is known to :data:`RUNNING`, so the cancel key can
    interrupt the statement it runs.
    """
    conn = open_for_reading(path)
    try:
        with RUNNING.track(conn):
            yield conn
    finally:
        conn.close()


ACTIVE = (WorkerState.PENDING, WorkerState.RUNNING)


def running(workers: list[Worker], groups: tuple[str, ...]) -> list[Worker]:
    """The workers of ``groups`` that have not finished yet."""
    return [w for w in workers if w.group in groups and w.state in ACTIVE and not w.is_cancelled]


def cancel(workers: list[Worker]) -> int:
    """Cancel each worker and interrupt the statement it runs; how many were stopped."""
    for worker in workers:
        worker.cancel()
        RUNNING.interrupt(worker)
    return len(workers)


def was_interrupted(error: BaseException | None) -> bool:
    """An error caused by ``Connection.interrupt()`` (core may wrap it in a CoreError)."""
    for _ in range(8):  # a short chain: the error, its cause, perhaps a wrapper
        if error is None:
            return False
        if isinstance(error, sqlite3.OperationalError) and "interrupted" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False
