"""``userops check DB`` (is the file sound?) and ``userops backup DB FILE`` (a consistent copy,
safe while the app is open)."""

from __future__ import annotations

import click

from core.errors import CoreError
from core.store.maintenance import backup, check
from tui.cli import cli
from tui.cli.common import DB_ARGUMENT, fail, sqlite_path

EXIT_DAMAGED = 2


@cli.command("check")
@DB_ARGUMENT
@click.option("--quick", is_flag=True, help="PRAGMA quick_check: faster, skips the index contents.")
def check_cmd(db: str, quick: bool) -> None:
    """Check the database file page by page (SQLite's integrity check).

    Exit 0 when sound, 2 when damaged (the problems are printed) or not a database."""
    db = sqlite_path(db)
    try:
        result = check(db, quick=quick)
    except CoreError as exc:  # missing, not a database, locked
        fail(str(exc))
        return
    if result.ok:
        click.echo(f"{db}: ok ({result.pragma}, {result.pages:,} pages)")
        return
    click.echo(f"{db}: damaged ({result.pragma} found {len(result.problems)} problem(s)):")
    for line in result.problems:
        click.echo(f"  {line}")
    raise SystemExit(EXIT_DAMAGED)


@cli.command("backup")
@DB_ARGUMENT
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup_cmd(db: str, file: str, force: bool) -> None:
    """Copy DB to FILE with SQLite's online backup: a consistent copy of the last committed
    state, safe while the app or another command is using DB. FILE appears only when complete
    (and checked); an existing FILE is kept unless --force."""
    db = sqlite_path(db)
    try:
        pages = backup(db, file, overwrite=force)
    except CoreError as exc:  # a one-line reason
        fail(str(exc))
        return
    click.echo(f"backed up {db} to {file} ({pages:,} pages)")
