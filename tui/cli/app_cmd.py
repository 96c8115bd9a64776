"""``userops [DB] [--as-of D] [--lang zh|en] [--mask] [--read-only]``: open the terminal app.

The database is checked before Textual starts, so a missing, foreign or non-SQLite file is one
line on stderr and exit code 2. Textual is imported only here, inside the command.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from core.store.db import check_as_of, latest_data_date
from tui.cli import cli
from tui.cli.common import ISO_DATE, database, fail

APP_ENGINES = ("sqlite", "duckdb", "chdb")  # read-only but SQLite; a server: not yet


@cli.command("open")
@click.argument("db", type=click.Path(dir_okay=False), default="demo.db")
@click.option(
    "--as-of",
    "as_of",
    type=ISO_DATE,
    help="As-of date: the features' own (another one is refused).",
)
@click.option(
    "--lang", type=click.Choice(["zh", "en"]), help="Language (default: from the locale)."
)
@click.option(
    "--mask",
    is_flag=True,
    help="Privacy mode: mask personal columns (phone, e-mail, ID, address …).",
)
@click.option(
    "--read-only",
    "read_only",
    is_flag=True,
    help="Open DB read-only: every save is refused; on DuckDB other programs can read it meanwhile.",
)
def open_app(db: str, as_of: date | None, lang: str | None, mask: bool, read_only: bool) -> None:
    """Open the app on DB (default ./demo.db)."""
    from core.store.engines import parse_database
    from tui.i18n import default_lang

    # the app reads SQLite, DuckDB and chDB (docs/engines.md); a ClickHouse server not yet
    with database(db, readonly=True, engines=APP_ENGINES) as conn:
        # the features' own date; another one is refused (core.store.db.check_as_of)
        as_of = check_as_of(conn, as_of) or date.today()  # no stored date: an empty database
        latest = latest_data_date(conn)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # without a terminal the app can neither read keys nor draw (it used to spin until
        # killed): say so at once and point at the scriptable commands
        fail(
            "the app needs a terminal (stdin and stdout are not one); for a list of users "
            f"without it: userops users {db} --format csv"
        )

    from tui.app import Settings, UserOpsApp  # textual loads only when the app really starts

    target = parse_database(db)  # checked by database() above
    settings = Settings(
        Path(target.location),
        as_of,
        lang or default_lang(),
        mask,
        latest,
        engine=target.engine,
        read_only=read_only,
    )
    UserOpsApp(settings).run()
