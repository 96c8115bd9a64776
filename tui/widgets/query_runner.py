"""Cancelling a slow query: which connection each worker opened, and how to stop it.

A thread worker cannot be stopped from outside, but the SQLite statement it runs can:
``Connection.interrupt()`` makes the running statement raise ``OperationalError("interrupted")``
in the worker. :data:`RUNNING` remembers the connection each worker opened (under a lock, since
workers register from their threads and the UI cancels from its own); :func:`cancel` cancels the
worker and interrupts its connection. The screen then treats the error as a cancellation.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from textual.worker import Worker, WorkerState, get_current_worker

from core.errors import CoreError
from core.store.db import open_db
from core.store.engines import ENGINES, Target, not_supported, open_database

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
# (tui.app.UserOpsApp sets it from Settings.engine): readers open them on it, writers refuse.
ENGINE_OF: dict[str, str] = {}


def engine_of(path: str | Path) -> str:
    return ENGINE_OF.get(str(path), "sqlite")


# DuckDB file -> a connection kept open while the app runs: DuckDB keeps one database instance
# per file while a connection to it is open, so each worker's connection reuses it and its
# buffer pool (opened alone, a 1M-user file takes ~0.1 s and its first reads are cold)
KEPT: dict[str, object] = {}
_KEPT_LOCK = threading.Lock()


def release() -> None:
    """Close the connections kept open (the app leaving)."""
    with _KEPT_LOCK:
        for conn in KEPT.values():
            conn.close()  # type: ignore[attr-defined]
        KEPT.clear()


def open_for_reading(path: str | Path):
    """A read-only connection to the app's database, on its engine."""
    engine = engine_of(path)
    if engine == "duckdb":
        from core.store import duck

        with _KEPT_LOCK:
            if str(path) not in KEPT:
                KEPT[str(path)] = duck.open_duckdb(path, readonly=True)
        return duck.open_duckdb(path, readonly=True)
    if engine != "sqlite":  # chDB: a directory (core.store.clickhouse)
        return open_database(Target(engine, str(path), str(path)), readonly=True)
    return open_db(path, readonly=True)


def refuse_writes(path: str | Path) -> None:
    """The app writes only to SQLite for now: a CoreError saying so on another engine."""
    engine = engine_of(path)
    if engine != "sqlite":
        raise CoreError(not_supported("Saving changes in the app", engine), title=ENGINES[engine])


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
