"""``userops import DB --users F --orders F --events F``: load operators' files into the store."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from core.errors import CoreError
from core.ingest.importer import MAX_AMOUNT, RETURN_POLICIES, ImportReport, import_files
from core.store.engines import parse_database
from tui.cli import cli
from tui.cli.common import (
    DB_ARGUMENT,
    IMPORT_ENGINES,
    ISO_DATE,
    REFRESH_ENGINES,
    database,
    fail,
    sqlite_path,
)

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


def _zone(ctx: click.Context, param: click.Parameter, value: str | None) -> tzinfo:
    """--tz NAME (an IANA zone such as Asia/Shanghai, or UTC); default the machine's zone."""
    if value is None:
        return local_zone()
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{value!r} is not a time zone name (e.g. Asia/Shanghai, Europe/Paris, UTC)", ctx, param
        ) from None


def local_zone() -> tzinfo:
    """The machine's zone: $TZ, else what /etc/localtime links to, else today's fixed offset."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    link = Path("/etc/localtime")
    if link.is_symlink():
        target = str(link.resolve())
        candidates.append(target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "")
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")


def one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


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
@click.option(
    "--tz",
    "tz",
    callback=_zone,
    metavar="ZONE",
    help="Times with a UTC offset are converted to ZONE (e.g. Asia/Shanghai); times without one "
    "are taken as already in it. Default: the machine's time zone.",
)
@click.option(
    "--latest-date",
    type=ISO_DATE,
    help="A later date in the files is an error. Default: one year after today.",
)
@click.option(
    "--allow-future-dates", is_flag=True, help="Accept dates of any year (no --latest-date)."
)
@click.option(
    "--max-amount",
    type=click.FloatRange(min=0, min_open=True, max=1e300),
    metavar="N",
    default=MAX_AMOUNT,
    show_default=True,
    help="The largest |amount| accepted (an order, or a line's quantity x unit price).",
)
@click.option(
    "--personal",
    multiple=True,
    metavar="COLUMN",
    help="A user column holding personal data (masked, kept out of exports); repeatable. "
    "phone, mobile, email, id_card, address, wechat, 手机, 邮箱, 身份证, 地址 … are by name.",
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
    tz: tzinfo,
    latest_date: date | None,
    allow_future_dates: bool,
    max_amount: float,
    personal: tuple[str, ...],
    as_json: bool,
) -> None:
    """Import users, orders and events into DB (created if missing); all or nothing.

    Bad input stops the import, leaves DB as it was, and exits with code 2.
    See docs/import.md.
    """
    if not (users or orders or events):
        fail("give at least one of --users, --orders, --events")
    if allow_future_dates and latest_date is not None:
        fail("give --latest-date or --allow-future-dates, not both")
    if allow_future_dates:
        latest_date = None
    elif latest_date is None:  # a sanity bound only: today decides no result
        latest_date = one_year_after(date.today())
    try:
        target = parse_database(db)
    except CoreError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    if target.engine != "duckdb":  # SQLite: the file (messages name it as they always did)
        db = sqlite_path(db)
    path = target.location
    new_file = not Path(path).exists()
    ok = False
    try:
        with (
            database(db, create=True, engines=IMPORT_ENGINES) as conn,
            _progress_bar() as progress,
        ):
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
                tz=tz,
                latest_date=latest_date,
                max_amount=max_amount,
                personal=personal,
            )
        ok = True
    finally:
        if new_file and not ok:  # a failed first import leaves no empty database behind
            for suffix in ("", "-wal", "-shm", "-journal", ".wal"):
                Path(path + suffix).unlink(missing_ok=True)
    if as_json:
        data = asdict(report)
        data["as_of"] = report.as_of.isoformat() if report.as_of else None
        data["features_as_of"] = (
            report.features_as_of.isoformat() if report.features_as_of else None
        )
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(
            describe(
                report,
                db,
                users=bool(users),
                orders=bool(orders),
                events=bool(events),
                engine=target.engine,
            )
        )


def describe(
    report: ImportReport,
    db: str,
    *,
    users: bool,
    orders: bool,
    events: bool,
    engine: str = "sqlite",
) -> str:
    """The report in a few aligned lines, only for the files that were given."""
    as_of = report.as_of.isoformat() if report.as_of else "none (no orders or events yet)"
    lines = [f"Imported into {db}; latest date in the data {as_of}"]
    computed = report.features_as_of
    if computed is not None and report.as_of is not None and report.as_of != computed:
        # where the refresh does not run, the recompute brings the features to a date
        bring = (
            f"`userops refresh {db}`"
            if engine in REFRESH_ENGINES
            else f"`userops recompute {db} --as-of {as_of}`"
        )
        lines.append(
            f"  features stay as of {computed.isoformat()}: {bring} brings them to {as_of}"
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
    if report.times_converted:
        lines.append(
            f"  times    {report.times_converted:>10,} with a UTC offset, converted to "
            f"{report.time_zone}"
        )
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
