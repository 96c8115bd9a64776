"""Shared CLI plumbing: opening the database with a one-line error, exit codes, output."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click

from core.db import open_db
from core.errors import CoreError

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
