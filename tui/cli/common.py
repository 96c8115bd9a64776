"""Shared CLI plumbing: opening the database with a one-line error, exit codes, output."""

from __future__ import annotations

import sqlite3
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click

from core.errors import CoreError, QueryError
from core.store.db import check_as_of, open_db

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print a one-line error to stderr and exit (never a traceback)."""
    click.echo(f"userops: {message}", err=True)
    sys.exit(code)


@contextmanager
def database(
    path: str | Path, *, create: bool = False, readonly: bool = False
) -> Iterator[sqlite3.Connection]:
    """Open the database for a command; any CoreError becomes a one-line error and exit 2."""
    try:
        conn = open_db(path, create=create, readonly=readonly)
    except CoreError as exc:
        fail(str(exc))
        raise  # unreachable; keeps type checkers happy
    try:
        yield conn
    except CoreError as exc:
        fail(f"{exc.title}: {exc}")
    except sqlite3.OperationalError as exc:
        fail(f"database error: {exc}")
    finally:
        conn.close()


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


@contextmanager
def caret_on_error(text: str) -> Iterator[None]:
    """Inside ``database(...)``: a QueryError shows the condition with a caret under its column."""
    try:
        yield
    except QueryError as err:
        click.echo(f"  {text}", err=True)
        click.echo("  " + " " * cells(text[: err.pos]) + "^", err=True)
        fail(f"{err.title}: {err}")
