"""Opening the database: one connection per thread, WAL, foreign keys, explicit transactions."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote as url_quote

from core.errors import CoreError, DatabaseError
from core.store.schema import (
    SCHEMA_VERSION,
    ensure_schema,
    readable_without_upgrade,
    schema_version,
)

T = TypeVar("T")
BUSY_TIMEOUT_MS = 5000
# Pages of 8 KiB, set when a database is created: a full read of the 1M-row features table
# (what most segment counts cost) is 15 % faster than with 4 KiB pages; 16 KiB would be 23 %
# faster but push the shipped demo.db over its 20 MB budget (docs/query-language.md).
PAGE_SIZE = 8192


def open_db(
    path: str | Path, *, create: bool = False, readonly: bool = False
) -> sqlite3.Connection:
    """Open (or, with ``create``, create) a userops database and check its schema.

    The connection is in autocommit mode: group writes with :func:`transaction`. Open one
    connection per thread; never share one across threads.
    Raises DatabaseError with a one-line reason for a missing file, a file that is not SQLite,
    or a SQLite file without our schema.
    """
    p = Path(path)
    if not create and not p.exists():
        raise DatabaseError(f"{p}: no such file")
    if p.is_dir():
        raise DatabaseError(f"{p}: is a directory, not a database file")
    writable = create or _writable(p)
    try:
        if readonly or not writable:
            conn = sqlite3.connect(
                read_only_uri(p), uri=True, isolation_level=None, check_same_thread=False
            )
        else:
            conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        version = schema_version(conn)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(describe_fault(p, exc)) from exc
    except DatabaseError as exc:  # a schema_version that is not a number
        conn.close()
        raise DatabaseError(f"{p}: {exc}") from exc
    if version is None:
        if not create:
            conn.close()
            raise DatabaseError(f"{p}: a SQLite file, but not a userops database (no schema)")
        try:
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only while the file is empty
            conn.execute("PRAGMA journal_mode = WAL")
            ensure_schema(conn)
        except sqlite3.OperationalError as exc:
            conn.close()
            raise DatabaseError(f"{p}: cannot create the schema ({exc})") from exc
    elif version != SCHEMA_VERSION:
        if version < SCHEMA_VERSION and not writable and readable_without_upgrade(version):
            pass  # read-only media: read it as it is (what the upgrade adds is optional)
        elif readonly and writable:  # upgraded once through a writable connection, then read
            conn.close()
            open_db(p).close()
            return open_db(p, readonly=True)
        else:
            try:
                ensure_schema(conn)  # one transaction: upgraded completely or not at all
            except sqlite3.OperationalError as exc:
                conn.close()
                raise DatabaseError(
                    f"{p}: made by an older userops (schema {version}); upgrading it to schema "
                    f"{SCHEMA_VERSION} needs write access ({explain_sqlite_error(exc)})"
                ) from exc
    writable = writable and not readonly
    if writable:
        # read-only media or a locked file: WAL is an optimisation, not a need
        with suppress(sqlite3.OperationalError):
            conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -65536")  # 64 MB page cache
    return conn


def _writable(p: Path) -> bool:
    """Can this process change the file? Its folder must be writable too: SQLite keeps the
    WAL and the shared-memory index beside it. (False on read-only media.)"""
    return os.access(p, os.W_OK) and os.access(p.parent if str(p.parent) else ".", os.W_OK)


def read_only_uri(p: Path) -> str:
    """A read-only open. In a folder we cannot write, SQLite cannot make its WAL index: then
    the file is opened ``immutable`` (nobody can be writing it there), unless a WAL with
    committed pages sits beside it, which only a ``mode=ro`` reader sees."""
    uri = "file:" + url_quote(str(p.resolve())) + "?mode=ro"
    folder = p.parent if str(p.parent) else Path(".")
    wal = Path(f"{p}-wal")
    if not os.access(folder, os.W_OK) and not (wal.exists() and wal.stat().st_size > 0):
        uri += "&immutable=1"
    return uri


def describe_fault(p: Path | str, exc: sqlite3.DatabaseError) -> str:
    """One line saying which fault it is: locked by another process, read-only, not a
    database, damaged, or a disk error."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (
            f"{p}: locked by another process (it is writing, or holds the database "
            f"exclusively); try again when it is done ({text})"
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return f"{p}: read-only (the file or its folder cannot be written) ({text})"
    if "not a database" in text or "file is encrypted" in text:
        return f"{p}: not a SQLite database ({text})"
    if "malformed" in text or "corrupt" in text:
        return f"{p}: the database is damaged ({text}); `userops check` says where"
    if "disk I/O" in text or "full" in text:
        return f"{p}: disk error, e.g. a full disk or a file-size limit ({text})"
    return f"{p}: database error ({text})"


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception (Ctrl-C included).

    Raises DatabaseError when the database is locked by another writer or read-only.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise DatabaseError(explain_sqlite_error(exc)) from exc
    try:
        yield conn
    except sqlite3.OperationalError as exc:
        _rollback(conn)
        if _is_lock_or_readonly(exc):
            raise DatabaseError(explain_sqlite_error(exc)) from exc
        raise
    except BaseException:
        _rollback(conn)
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        _rollback(conn)
        raise DatabaseError(explain_sqlite_error(exc)) from exc


def reader_path(conn: sqlite3.Connection) -> str | None:
    """The file a second connection can read alongside ``conn`` while it writes: a database
    file in WAL mode (readers there never wait for the writer); None otherwise (in memory,
    or a rollback journal, where a reader could block on the writer's lock)."""
    path = next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")
    if not path or conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return None
    return path


@contextmanager
def beside(
    conn: sqlite3.Connection, work: Callable[..., T], *args: Any, worth_it: bool = True
) -> Iterator[Callable[[], T]]:
    """Run ``work(reader, *args)`` on the other core while the caller goes on with ``conn``;
    yields a function that waits for and returns its result.

    ``reader`` is a read-only connection in a process of its own: threads of one process do
    not overlap SQLite work here (two scans on two threads took 2.4x one scan; on two
    processes, 1x), so this is a spawned process, worth its ~1 s start only for large data
    (``worth_it``). It sees the last committed state: ``work`` must read only tables the
    caller has not changed in its open transaction, and it and its result must pickle. Where
    no second reader is possible (reader_path) or not worth it, ``work`` runs on ``conn``
    itself when the result is asked for. Leaving the block early (an error, Ctrl-C) stops the
    process.
    """
    path = reader_path(conn) if worth_it else None
    if path is None:
        yield lambda: work(conn, *args)
        return
    context = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded parent
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_work_on_reader, args=(send, path, work, args), name="userops-beside", daemon=True
    )
    process.start()
    send.close()  # the child holds its own copy

    def result() -> T:
        try:
            ok, value = receive.recv()
        except EOFError:
            raise DatabaseError("The second reader stopped without an answer.") from None
        if not ok:
            raise DatabaseError(f"Database error in the second reader: {value}")
        return value

    try:
        yield result
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        receive.close()


def _work_on_reader(send: Any, path: str, work: Callable[..., Any], args: tuple) -> None:
    """The body of beside()'s process: one answer, (True, result) or (False, the error)."""
    try:
        conn = open_db(path, readonly=True)
        try:
            outcome = (True, work(conn, *args))
        finally:
            conn.close()
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the parent handles it
        return
    except Exception as exc:  # reported by the parent, in its own words
        outcome = (False, f"{type(exc).__name__}: {exc}")
    send.send(outcome)
    send.close()


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back (e.g. after SQLITE_FULL); a second ROLLBACK would raise
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _is_lock_or_readonly(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return any(word in text for word in ("locked", "busy", "readonly", "read-only"))


def explain_sqlite_error(exc: sqlite3.OperationalError) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return "The database is locked by another program; try again in a moment."
    if "readonly" in text or "read-only" in text:
        return "The database is read-only: cannot save changes."
    return f"Database error: {text}"


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def stored_as_of(conn: sqlite3.Connection) -> date | None:
    """The database's as-of date, "today" for the data and the single default of every command
    and screen: the date the features were computed for; before the first recompute, the
    date set by the demo or by the first import (docs/architecture.md, "One clock")."""
    value = get_meta(conn, "features_as_of") or get_meta(conn, "as_of")
    return date.fromisoformat(value[:10]) if value else None


def latest_data_date(conn: sqlite3.Connection) -> date | None:
    """The date of the latest order or event any import brought (meta ``data_latest``, kept by
    the importer and the demo), else the stored as-of date. Imports move this, never the
    as-of date: ``userops refresh`` brings the features up to it."""
    value = get_meta(conn, "data_latest")
    if value:
        return date.fromisoformat(value[:10])
    return stored_as_of(conn)


def features_as_of(conn: sqlite3.Connection) -> date | None:
    """The date conditions are evaluated at: the one the features were computed for, else the
    stored as-of date (no recompute yet), else None."""
    value = get_meta(conn, "features_as_of")
    return date.fromisoformat(value[:10]) if value else stored_as_of(conn)


def check_as_of(conn: sqlite3.Connection, given: date | None) -> date | None:
    """The date a command reads the stored features at: ``given`` when it is the features' own
    date (or none was given), else a CoreError. Stored columns (RFM, layers, tags, windows,
    predictions) describe one date only; mixing them with windows of another date would give
    two answers to one question, so another date must first be computed (refresh/recompute)."""
    computed = get_meta(conn, "features_as_of")
    if given is None or computed is None or given.isoformat() == computed[:10]:
        return given or features_as_of(conn)
    raise CoreError(
        f"The features are computed as of {computed[:10]}, not {given.isoformat()}: run "
        f"`userops refresh DB --as-of {given.isoformat()}` first (or drop --as-of).",
        title="Another as-of date",
    )


def data_version(conn: sqlite3.Connection) -> int:
    """SQLite's ``PRAGMA data_version``: it changes when another connection (another process, or
    another connection of this one) commits to the database; cheap enough to poll on a timer.
    Only meaningful on a connection kept open between two calls."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
