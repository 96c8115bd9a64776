"""``userops check DB`` (is the file sound?) and ``userops backup DB FILE`` (a consistent copy,
safe while the app is open)."""

from __future__ import annotations

import click

from core.errors import CoreError
from core.store.engines import not_supported, parse_database
from core.store.maintenance import backup, backup_duckdb, check, check_duckdb
from tui.cli import cli
from tui.cli.common import DB_ARGUMENT, command_name, fail

# the engines check and backup run on (docs/engines.md)
STORE_ENGINES = ("sqlite", "duckdb")

EXIT_DAMAGED = 2


@cli.command("check")
@DB_ARGUMENT
@click.option(
    "--quick",
    is_flag=True,
    help="PRAGMA quick_check: faster, skips the index contents (DuckDB: the keys).",
)
def check_cmd(db: str, quick: bool) -> None:
    """Check the database file page by page (SQLite's integrity check).

    On DuckDB: every block of every table read (DuckDB verifies each block's checksum), the
    meta and schema version, every table and column, NOT NULL, the schema's CHECKs and the
    keys. Exit 0 when sound, 2 when damaged (the problems are printed) or not a database."""
    engine, db = _file_of(db)
    try:
        result = (check_duckdb if engine == "duckdb" else check)(db, quick=quick)
    except CoreError as exc:  # missing, not a database, locked
        fail(str(exc))
        return
    if result.ok:
        unit = "blocks" if engine == "duckdb" else "pages"
        click.echo(f"{db}: ok ({result.pragma}, {result.pages:,} {unit})")
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
    (and checked); an existing FILE is kept unless --force.

    On DuckDB (duckdb:///DB): FILE is a DuckDB file, copied while DB is held read-only (the
    app may read it meanwhile; nobody writes it)."""
    engine, db = _file_of(db)
    try:
        pages = (backup_duckdb if engine == "duckdb" else backup)(db, file, overwrite=force)
    except CoreError as exc:  # a one-line reason
        fail(str(exc))
        return
    unit = "blocks" if engine == "duckdb" else "pages"
    click.echo(f"backed up {db} to {file} ({pages:,} {unit})")


def _file_of(db: str) -> tuple[str, str]:
    """(engine, file) of a database argument these commands run on, else a one-line error."""
    try:
        target = parse_database(db)
    except CoreError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    if target.engine not in STORE_ENGINES:
        fail(not_supported(f"`{command_name()}`", target.engine))
    return target.engine, target.location
