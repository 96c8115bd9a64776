"""``userops segment ...``: count, save, list, show, delete, snapshot and compare segments."""

from __future__ import annotations

import sqlite3
from datetime import date

import click

from core.audience import segments
from core.errors import NotFound, QueryError
from tui.cli import cli
from tui.cli.common import (
    DB_ARGUMENT,
    ISO_DATE,
    WRITE_ENGINES,
    caret_on_error,
    cells,
    condition_as_of,
    database,
    pad,
)

AS_OF = click.option(
    "--as-of",
    type=ISO_DATE,
    default=None,
    help="As-of date for windows and relative dates (default: the features' as-of date).",
)


def share_line(n: int, total: int) -> str:
    share = 100.0 * n / total if total else 0.0
    return f"{n:,} users · {share:.1f}% of {total:,}"


# the engines ``segment count`` runs on (docs/engines.md)
ENGINES = ("sqlite", "duckdb", "chdb", "clickhouse")


@cli.group("segment")
def segment() -> None:
    """Segments (用户分群): named conditions in the query language (docs/query-language.md)."""


@segment.command("count")
@DB_ARGUMENT
@click.argument("query")
@AS_OF
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.001),
    default=None,
    help="Stop a count running longer than this many seconds (default: the database's "
    "query_time_limit_s setting, else 60).",
)
def count_cmd(db: str, query: str, as_of: date | None, time_limit: float | None) -> None:
    """Count the users matching QUERY (or a saved segment / snapshot name)."""
    with database(db, readonly=True, engines=ENGINES) as conn, caret_on_error(query):
        compiled = segments.condition_for(conn, query, as_of=condition_as_of(conn, as_of))
        limit = time_limit if time_limit is not None else segments.time_limit(conn)
        n = segments.count(conn, compiled, limit_s=limit)
        click.echo(share_line(n, segments.total_users(conn)))


@segment.command("save")
@DB_ARGUMENT
@click.argument("name")
@click.argument("query")
@click.option("--description", default="", help="What the segment is for.")
@AS_OF
def save_cmd(db: str, name: str, query: str, description: str, as_of: date | None) -> None:
    """Save QUERY as segment NAME (an existing definition goes to its history)."""
    with database(db, engines=WRITE_ENGINES) as conn, caret_on_error(query):
        seg = segments.save(conn, name, query, description, as_of=condition_as_of(conn, as_of))
        click.echo(f"saved segment {seg.name!r}")


@segment.command("list")
@DB_ARGUMENT
@AS_OF
def list_cmd(db: str, as_of: date | None) -> None:
    """Saved segments with their current counts, then snapshots with their frozen members."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        rows = segments.list_segments(conn, condition_as_of(conn, as_of))
        snaps = segments.list_snapshots(conn)
        if not rows:
            click.echo("no saved segments")
        width = max(
            (cells(n) for n in [*(s.name for s, _ in rows), *(s.name for s in snaps)]), default=0
        )
        for seg, n in rows:
            shown = "(no longer compiles)" if n is None else f"{n:>10,}"
            click.echo(f"{pad(seg.name, width)}  {shown}  {seg.query}")
        if snaps:
            click.echo("snapshots (frozen member lists):")
        for snap in snaps:
            of = f"of {snap.segment} " if snap.segment else ""
            click.echo(
                f"{pad(snap.name, width)}  {snap.members:>10,}  {of}as of {snap.as_of}: {snap.query}"
            )


@segment.command("show")
@DB_ARGUMENT
@click.argument("name")
@AS_OF
def show_cmd(db: str, name: str, as_of: date | None) -> None:
    """A segment's query, description, sentence, count and history (or a snapshot's)."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        snap = segments.get_snapshot(conn, name)
        if snap is not None and not _is_segment(conn, name):
            _show_snapshot(conn, snap)
            return
        seg = segments.get(conn, name)
        click.echo(f"name         {seg.name}")
        click.echo(f"query        {seg.query}")
        click.echo(f"description  {seg.description}")
        try:
            compiled = segments.condition_for(conn, name, as_of=condition_as_of(conn, as_of))
            click.echo(f"中文         {compiled.human_zh}")
            click.echo(f"english      {compiled.human_en}")
            click.echo(
                f"count        {share_line(segments.count(conn, compiled), segments.total_users(conn))}"
            )
        except QueryError as err:
            click.echo(f"error        {err}")
        for entry in segments.history(conn, name):
            click.echo(f"replaced     {entry.replaced_at}  {entry.query}")


def _is_segment(conn: sqlite3.Connection, name: str) -> bool:
    try:
        segments.get(conn, name)
    except NotFound:
        return False
    return True


def _show_snapshot(conn: sqlite3.Connection, snap: segments.Snapshot) -> None:
    total = segments.total_users(conn)
    click.echo(f"name         {snap.name}")
    click.echo("kind         snapshot (a frozen member list)")
    click.echo(f"segment      {snap.segment or '(a query)'}")
    click.echo(f"query        {snap.query}")
    click.echo(f"as of        {snap.as_of}")
    click.echo(f"members      {share_line(snap.members, total)}")


@segment.command("delete")
@DB_ARGUMENT
@click.argument("name")
def delete_cmd(db: str, name: str) -> None:
    """Delete segment NAME (its history and snapshots are kept)."""
    with database(db, engines=WRITE_ENGINES) as conn:
        segments.delete(conn, name)
        click.echo(f"deleted segment {name!r}")


@segment.command("snapshot")
@DB_ARGUMENT
@click.argument("name")
@click.option("--as", "snapshot_name", default=None, help="Name of the snapshot.")
@AS_OF
def snapshot_cmd(db: str, name: str, snapshot_name: str | None, as_of: date | None) -> None:
    """Freeze the current members of segment NAME as a static list."""
    with database(db, engines=WRITE_ENGINES) as conn, caret_on_error(name):
        snap = segments.snapshot(
            conn, name, as_of=condition_as_of(conn, as_of), snapshot_name=snapshot_name
        )
        click.echo(f"snapshot {snap.name!r}: {snap.members:,} users as of {snap.as_of}")


@segment.command("compare")
@DB_ARGUMENT
@click.argument("a")
@click.argument("b")
@AS_OF
def compare_cmd(db: str, a: str, b: str, as_of: date | None) -> None:
    """How many users are only in A, in both, only in B."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        day = condition_as_of(conn, as_of)
        try:
            only_a, both, only_b = segments.compare(conn, a, b, as_of=day)
        except QueryError:
            with caret_on_error(a if _fails(conn, a, day) else b):  # show it under the bad one
                raise
        click.echo(f"only A  {only_a:>10,}  {a}")
        click.echo(f"both    {both:>10,}")
        click.echo(f"only B  {only_b:>10,}  {b}")


def _fails(conn: sqlite3.Connection, text: str, day: date) -> bool:
    try:
        segments.condition_for(conn, text, as_of=day)
    except QueryError:
        return True
    return False
