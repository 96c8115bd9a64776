"""``userops demo DB``: build the deterministic demo database (see docs/demo.md)."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import click

from core.audience.strategies import run_strategies
from core.audience.strategies.demo import HISTORY_START, add_response, install_demo_strategies
from core.errors import CoreError
from core.ingest.demo import DEMO_AS_OF, DemoReport, build_demo
from core.pipeline import recompute
from core.refresh import refresh
from core.rules.tags import install_defaults_once
from core.store.copy import copy_database
from core.store.db import transaction
from core.store.engines import Target, not_supported, parse_database
from core.store.sql import quote
from tui.cli import cli
from tui.cli.common import DB_ARGUMENT, command_name, database, fail


@cli.command("demo")
@DB_ARGUMENT
@click.option(
    "--users",
    "n_users",
    type=click.IntRange(min=1),
    default=20000,
    show_default=True,
    help="How many users to generate.",
)
@click.option(
    "--seed",
    type=int,
    default=7,
    show_default=True,
    help="Random seed: the same seed and size give the same data.",
)
@click.option(
    "--force", is_flag=True, help="Overwrite DB (and its -wal/-shm or .wal files) if it exists."
)
def demo(db: str, n_users: int, seed: int, force: bool) -> None:
    """Build a demo database DB: Chinese e-commerce + community users, orders and events.

    DB is a SQLite file or duckdb:///FILE: on DuckDB the same demo is built on SQLite in a
    temporary file beside it and copied (userops copy), so both hold the same rows."""
    try:
        target = parse_database(db)
    except CoreError as exc:
        fail(str(exc))
        return
    if target.engine not in ("sqlite", "duckdb"):
        fail(not_supported(f"`{command_name()}`", target.engine))
    path = Path(target.location)
    if path.is_dir():
        fail(f"{path}: is a directory, not a database file")
    if path.exists() and not force:
        fail(f"{path} already exists; add --force to overwrite it")
    started = time.perf_counter()
    if target.engine == "duckdb":
        report, history = _demo_on_duckdb(target, n_users, seed)
    else:
        _remove(path)
        report, history = _build(path, n_users, seed, compact=True)
    seconds = time.perf_counter() - started
    size_mb = path.stat().st_size / 1_000_000
    click.echo(f"Built {path} in {seconds:.1f} s (seed {report.seed})")
    rows = [
        ("users", f"{report.n_users:,}"),
        ("later", f"{report.n_later_signups:,}"),  # users who sign up after the as-of date
        ("orders", f"{report.n_orders:,}"),
        ("events", f"{report.n_events:,}"),
        ("responses", f"{history.responses:,}"),
        ("runs", f"{history.runs:,}"),
        ("as of", report.as_of.isoformat()),
        ("size", f"{size_mb:.1f} MB"),
    ]
    for label, value in rows:
        click.echo(f"  {label:<7}{value:>12}")


def _build(path: Path, n_users: int, seed: int, *, compact: bool) -> tuple[DemoReport, History]:
    """The demo in the new SQLite file ``path``: the data, the default rules, the month of
    strategies; VACUUMed when ``compact`` (the demo ships as a file)."""
    with database(path, create=True) as conn:
        report = build_demo(conn, n_users=n_users, seed=seed, as_of=DEMO_AS_OF)
        install_defaults_once(conn, as_of=DEMO_AS_OF)
        history = strategy_history(conn, seed=seed)  # ends with everything as of DEMO_AS_OF
        if compact:
            conn.execute("VACUUM")
    return report, history


def _demo_on_duckdb(target: Target, n_users: int, seed: int) -> tuple[DemoReport, History]:
    """The demo built on SQLite in a hidden file beside the DuckDB one, then copied to it
    (core.store.copy: all or nothing, every table and row), the SQLite file removed. One place
    for the demo's data and its month of refreshes (which run on SQLite), and ~7x faster than
    writing its rows into DuckDB one by one (docs/engines.md)."""
    path = Path(target.location)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        fail(f"{path}: no such folder {folder}")
    built = folder / f".{path.name}.demo-{os.getpid()}.db"
    _remove(built)
    try:
        report, history = _build(built, n_users, seed, compact=False)
        try:
            copy_database(Target("sqlite", str(built), str(built)), target, force=True)
        except CoreError as exc:
            fail(str(exc))
    finally:
        _remove(built)
    return report, history


@dataclass(frozen=True)
class History:
    runs: int  # strategy runs stored
    responses: int  # extra orders of treated users


def strategy_history(conn: sqlite3.Connection, *, seed: int) -> History:
    """The demo's month of strategies (core.audience.strategies.demo): compute as of
    HISTORY_START, install the five strategies, then each day of November: refresh to it, run
    the strategies due, add their targets' response (orders of the following days). The
    per-date histories (layers, RFM groups, …) are dropped: about 1.1 MB per date, they would
    take the demo past 20 MB; a date without history is computed when asked (the same answer,
    core.rules.layers), and each later refresh records its own."""
    recompute(conn, HISTORY_START)
    install_demo_strategies(conn)
    runs = responses = 0
    day = HISTORY_START
    while day < DEMO_AS_OF:
        day += timedelta(days=1)
        refresh(conn, day)
        ran = run_strategies(conn, write_files=False)
        runs += sum(1 for r in ran.runs if r.status == "ran")
        with transaction(conn):
            responses += add_response(conn, day, seed=seed)
    with transaction(conn):
        for table in _per_date_histories(conn):
            conn.execute(f"DELETE FROM {quote(table)}")
    return History(runs, responses)


def _per_date_histories(conn: sqlite3.Connection) -> list[str]:
    """Tables named *_history keyed by an as_of date (layer_history, rfm_history, …)."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\\_history' ESCAPE '\\'"
        )
    ]
    return [
        n
        for n in names
        if "as_of" in {c[1] for c in conn.execute(f"PRAGMA table_info({quote(n)})")}
    ]


def _remove(path: Path) -> None:
    """Delete the database and its WAL companions, so a stale -wal is never replayed into it."""
    for suffix in ("", "-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        try:
            companion.unlink(missing_ok=True)
        except OSError as exc:
            fail(f"cannot remove {companion}: {exc.strerror}")
