"""``userops copy SRC DST``: a whole database from one engine to another (core.store.copy)."""

from __future__ import annotations

import time

import click

from core.errors import CoreError
from core.store.copy import copy_database
from core.store.engines import parse_database
from tui.cli import cli
from tui.cli.common import fail, pad


@cli.command("copy")
@click.argument("src")
@click.argument("dst")
@click.option("--force", is_flag=True, help="Replace DST if it exists.")
def copy_cmd(src: str, dst: str, force: bool) -> None:
    """Copy the whole database SRC to DST, between engines (SQLite, DuckDB, chDB): every table
    and row.

    SRC and DST are paths (SQLite) or URLs: sqlite:///FILE, duckdb:///FILE, chdb:///DIR
    (relative), duckdb:////dir/FILE (absolute); a ClickHouse server (clickhouse://…) as SRC.
    DST appears only when complete; an existing DST is kept unless --force. See
    docs/engines.md."""
    started = time.perf_counter()
    try:
        result = copy_database(src, dst, force=force)
        if result.destination.engine == "sqlite":
            _install_refresh_triggers(result.destination.location)
    except CoreError as exc:
        fail(str(exc))
        return
    seconds = time.perf_counter() - started
    click.echo(
        f"copied {src} ({result.source.label}) to {dst} ({result.destination.label}): "
        f"{len(result.rows)} tables, {result.total:,} rows, schema {result.schema_version}, "
        f"in {seconds:.1f} s"
    )
    width = max(len(name) for name in result.rows)
    for name, n in result.rows.items():
        click.echo(f"  {pad(name, width)}  {n:>12,}")


def _install_refresh_triggers(path: str) -> None:
    """A SQLite copy keeps refresh_dirty as the recompute's triggers do (core.pipeline):
    DuckDB has no triggers, so they are made again here for the features' date."""
    from core.pipeline import install_dirty_triggers
    from core.store.db import features_as_of, get_meta, open_db, transaction

    conn = open_db(parse_database(path).location)
    try:
        if get_meta(conn, "features_as_of"):
            when = features_as_of(conn)
            assert when is not None
            with transaction(conn):
                install_dirty_triggers(conn, when)
    finally:
        conn.close()
