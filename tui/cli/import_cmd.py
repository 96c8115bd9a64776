"""``userops import DB --users F --orders F --events F``: load operators' files into the store."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import click

from core.ingest.importer import RETURN_POLICIES, ImportReport, import_files
from tui.cli import cli
from tui.cli.common import DB_ARGUMENT, database, fail

FILE = click.Path(dir_okay=False)  # existence is checked by core, with the other input errors


def _pairs(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """Turn repeated SOURCE=TARGET options into a dict, rejecting malformed or repeated ones."""
    pairs: dict[str, str] = {}
    for value in values:
        source, sep, target = value.partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target:
            raise click.BadParameter(f"{value!r} is not SOURCE=TARGET", ctx, param)
        if source in pairs:
            raise click.BadParameter(f"{source!r} is given twice", ctx, param)
        pairs[source] = target
    return pairs


@cli.command("import")
@DB_ARGUMENT
@click.option("--users", type=FILE, help="Users file (.csv, .csv.gz, .parquet).")
@click.option("--orders", type=FILE, help="Orders or order-lines file.")
@click.option("--events", type=FILE, help="Events file.")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    callback=_pairs,
    metavar="SOURCE=TARGET",
    help="Rename a column of the files, e.g. --map CustomerID=user_id (repeatable).",
)
@click.option(
    "--user-column",
    "user_columns",
    multiple=True,
    callback=_pairs,
    metavar="SOURCE=ATTRIBUTE",
    help="Keep a column of the orders file as a user attribute, e.g. Country=country.",
)
@click.option(
    "--cancelled-prefix",
    metavar="PREFIX",
    help="Order ids starting with PREFIX are cancellations (e.g. C). Default: none.",
)
@click.option(
    "--returns",
    type=click.Choice(RETURN_POLICIES),
    default="skip",
    show_default=True,
    help="skip: drop cancellations and negative-quantity lines; net: keep them as negative orders.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_cmd(
    db: str,
    users: str | None,
    orders: str | None,
    events: str | None,
    mapping: dict[str, str],
    user_columns: dict[str, str],
    cancelled_prefix: str | None,
    returns: str,
    as_json: bool,
) -> None:
    """Import users, orders and events into DB (created if missing); all or nothing.

    Bad input stops the import, leaves DB as it was, and exits with code 2.
    See docs/import.md.
    """
    if not (users or orders or events):
        fail("give at least one of --users, --orders, --events")
    new_file = not Path(db).exists()
    try:
        with database(db, create=True) as conn, _progress_bar() as progress:
            report = import_files(
                conn,
                users=users,
                orders=orders,
                events=events,
                mapping=mapping,
                cancelled_prefix=cancelled_prefix,
                returns=returns,
                user_columns=user_columns,
                progress=progress,
            )
    except SystemExit as exc:
        if new_file and exc.code:  # a failed first import leaves no empty database behind
            for suffix in ("", "-wal", "-shm"):
                Path(db + suffix).unlink(missing_ok=True)
        raise
    if as_json:
        data = asdict(report)
        data["as_of"] = report.as_of.isoformat() if report.as_of else None
        data["features_as_of"] = (
            report.features_as_of.isoformat() if report.features_as_of else None
        )
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(
            describe(report, db, users=bool(users), orders=bool(orders), events=bool(events))
        )


def describe(report: ImportReport, db: str, *, users: bool, orders: bool, events: bool) -> str:
    """The report in a few aligned lines, only for the files that were given."""
    as_of = report.as_of.isoformat() if report.as_of else "none (no orders or events yet)"
    lines = [f"Imported into {db}; latest date in the data {as_of}"]
    computed = report.features_as_of
    if computed is not None and report.as_of is not None and report.as_of != computed:
        lines.append(
            f"  features stay as of {computed.isoformat()}: "
            f"`userops refresh {db}` brings them to {as_of}"
        )
    lines.append(
        f"  users    {report.users_created:>10,} created  {report.users_updated:>10,} updated"
    )
    if orders:
        lines.append(
            f"  orders   {report.orders_inserted:>10,} inserted {report.orders_updated:>10,} updated"
        )
    if events:
        lines.append(
            f"  events   {report.events_inserted:>10,} inserted {report.events_ignored:>10,} "
            "already there"
        )
    for reason, n in report.skipped.items():
        lines.append(f"  skipped  {n:>10,} {reason}")
    if report.columns_added:
        lines.append(f"  new user attributes: {', '.join(report.columns_added)}")
    return "\n".join(lines)


@contextmanager
def _progress_bar() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr, only when a person is watching (stderr is a terminal)."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Importing", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
