"""Shared CLI plumbing: opening the database with a one-line error, exit codes, output."""

from __future__ import annotations

import os
import pwd
import sqlite3
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO

import click

from core.errors import CoreError, QueryError
from core.store.db import check_as_of, describe_fault
from core.store.engines import not_supported, open_database, parse_database
from core.store.outputs import atomic_output
from core.views.text import visible

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print a one-line error to stderr and exit (never a traceback)."""
    click.echo(f"userops: {message}", err=True)
    sys.exit(code)


@contextmanager
def database(
    path: str | Path,
    *,
    create: bool = False,
    readonly: bool = False,
    engines: tuple[str, ...] = ("sqlite",),
) -> Iterator[sqlite3.Connection]:
    """Open the database for a command; any CoreError becomes a one-line error and exit 2.

    ``path`` is a path or an engine URL (core.store.engines); ``engines`` are those the command
    runs on: another one is a one-line "does not run on … yet"."""
    try:
        target = parse_database(path)
        if target.engine not in engines:
            fail(not_supported(f"`{command_name()}`", target.engine))
        conn = open_database(target, create=create, readonly=readonly)
    except CoreError as exc:
        fail(str(exc))
        raise  # unreachable; keeps type checkers happy
    try:
        yield conn
    except CoreError as exc:
        fail(f"{exc.title}: {exc}")
    except sqlite3.OperationalError as exc:
        fail(f"database error: {exc}")
    except sqlite3.DatabaseError as exc:  # damaged inside, found half-way through a command
        fail(describe_fault(path, exc))
    finally:
        conn.close()


# the engines the read commands run on: segment count, users, user, layers (docs/engines.md)
READ_ENGINES = ("sqlite", "duckdb", "chdb", "clickhouse")
# ... and those recompute, rfm and model run on, computing in the engine
COMPUTE_ENGINES = ("sqlite", "duckdb", "chdb")
# ... `model --validate` (its holdout's aggregates in the engine)
VALIDATE_ENGINES = ("sqlite", "duckdb", "chdb")
# ... `import` (staged and merged in the engine's SQL, one transaction)
IMPORT_ENGINES = ("sqlite", "duckdb")
# ... the writes: segments, campaigns, control, strategies, layer and tag rules (the app's saves too)
WRITE_ENGINES = ("sqlite", "duckdb")
# ... and `refresh` (the app's F5 too: one gate for both), computed in the engine
REFRESH_ENGINES = ("sqlite", "duckdb", "chdb")


def sqlite_path(db: str, *, what: str | None = None) -> str:
    """For a command that handles the database's file itself (demo, import, check, backup):
    the SQLite file a database argument names, else a one-line error (a bad URL, another
    engine) naming ``what`` (default: the command)."""
    try:
        target = parse_database(db)
    except CoreError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    if target.engine != "sqlite":
        fail(not_supported(what or f"`{command_name()}`", target.engine))
    return target.location


def check_engine(db: str, engines: tuple[str, ...], what: str) -> None:
    """A one-line error naming ``what`` (e.g. an option of a command) when the database
    argument's engine is not one of ``engines`` (a bad URL: its own line)."""
    try:
        target = parse_database(db)
    except CoreError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    if target.engine not in engines:
        fail(not_supported(what, target.engine))


def command_name() -> str:
    """The running command as typed, e.g. ``userops segment count``."""
    names = []
    ctx = click.get_current_context(silent=True)
    while ctx is not None and ctx.parent is not None:  # the root is `userops` however invoked
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["userops", *reversed(names)])


class IsoDate(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date like 2024-06-01", param, ctx)


ISO_DATE = IsoDate()

DB_ARGUMENT = click.argument("db", type=click.Path(dir_okay=False))


def condition_as_of(conn: sqlite3.Connection, given: date | None = None) -> date:
    """The as-of date a condition is compiled at: the features' own date (an option naming
    another date is refused: core.store.db.check_as_of), else the stored one; a database with
    none of them is a one-line error."""
    when = check_as_of(conn, given)
    if when is None:
        fail("no as-of date stored in the database; pass --as-of YYYY-MM-DD")
        raise AssertionError  # unreachable: fail() exits
    return when


def cells(text: str) -> int:
    """Terminal columns of ``text``: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` filled with spaces to ``width`` terminal columns (CJK characters take two, as
    :func:`cells` counts them), left-aligned or right-aligned (``align=">"``): the one way the
    CLI's tables line up names like 双11召回 with ASCII ones."""
    fill = " " * max(width - cells(text), 0)
    return fill + text if align == ">" else text + fill


@contextmanager
def caret_on_error(text: str) -> Iterator[None]:
    """Inside ``database(...)``: a QueryError shows the condition with a caret under its column."""
    try:
        yield
    except QueryError as err:
        click.echo(f"  {text}", err=True)
        click.echo("  " + " " * cells(text[: err.pos]) + "^", err=True)
        fail(f"{err.title}: {err}")


@contextmanager
def output_file(path: str) -> Iterator[IO[str]]:
    """Standard output for ``-``; else ``path`` written whole or not at all (a temporary file
    beside it, renamed when the command succeeds). Inside ``database(...)``, a failed write (full
    disk, read-only directory) is a one-line error and leaves no file."""
    if path == "-":
        yield sys.stdout
        return
    with atomic_output(path, newline=None) as out:
        yield out.file


def real_user() -> str:
    """The audit log's "who": the account the process runs as (its real uid), never $USER or
    $LOGNAME, which anyone can set. A uid without a passwd entry (containers) is logged as
    ``uid 1234``."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class VisibleStream:
    """A text stream that writes control characters visibly (core.views.text.visible), newlines
    and tabs kept: everything the CLI prints to the terminal goes through it, so an imported
    name holding an escape sequence is shown as ``\x1b[2J``, never run by the terminal. JSON
    stays JSON (json.dumps escapes C0 itself; the rest is written as ``\u009b``)."""

    def __init__(self, stream: IO[str]) -> None:
        self.unfiltered = stream

    def write(self, text: str) -> int:
        shown = visible(text, keep="\n\t")
        try:
            self.unfiltered.write(shown)
        except UnicodeEncodeError:  # a terminal that cannot show CJK (LANG=C): \u escapes
            encoding = getattr(self.unfiltered, "encoding", None) or "ascii"
            self.unfiltered.write(shown.encode(encoding, "backslashreplace").decode(encoding))
        return len(text)

    def __getattr__(self, name: str):  # isatty, flush, encoding, fileno … of the real stream
        if name == "buffer":  # click would write bytes past the filter through it
            raise AttributeError(name)
        return getattr(self.unfiltered, name)


def show_visibly() -> None:
    """Route standard output and error through VisibleStream (once; idempotent)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, VisibleStream):
            setattr(sys, name, VisibleStream(stream))


def unfiltered(stream: IO[str]) -> IO[str]:
    """The real stream under a VisibleStream: for rich, whose own styles are escape codes (its
    tables hold no user text)."""
    return getattr(stream, "unfiltered", stream)
