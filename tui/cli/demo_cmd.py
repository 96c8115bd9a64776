"""``userops demo DB``: build the deterministic demo database (see docs/demo.md)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from core.ingest.demo import DEMO_AS_OF, build_demo
from core.pipeline import recompute
from core.rules.tags import install_defaults_once
from tui.cli import cli
from tui.cli.common import DB_ARGUMENT, database, fail


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
@click.option("--force", is_flag=True, help="Overwrite DB (and its -wal/-shm files) if it exists.")
def demo(db: str, n_users: int, seed: int, force: bool) -> None:
    """Build a demo database DB: Chinese e-commerce + community users, orders and events."""
    path = Path(db)
    if path.exists() and not force:
        fail(f"{path} already exists; add --force to overwrite it")
    _remove(path)
    started = time.perf_counter()
    with database(path, create=True) as conn:
        report = build_demo(conn, n_users=n_users, seed=seed, as_of=DEMO_AS_OF)
        install_defaults_once(conn, as_of=DEMO_AS_OF)
        recompute(conn, DEMO_AS_OF)  # ship features, RFM, models, layers and tags computed
        conn.execute("VACUUM")  # the demo ships as a file: keep it compact
    seconds = time.perf_counter() - started
    size_mb = path.stat().st_size / 1_000_000
    click.echo(f"Built {path} in {seconds:.1f} s (seed {report.seed})")
    rows = [
        ("users", f"{report.n_users:,}"),
        ("orders", f"{report.n_orders:,}"),
        ("events", f"{report.n_events:,}"),
        ("as of", report.as_of.isoformat()),
        ("size", f"{size_mb:.1f} MB"),
    ]
    for label, value in rows:
        click.echo(f"  {label:<7}{value:>12}")


def _remove(path: Path) -> None:
    """Delete the database and its WAL companions, so a stale -wal is never replayed into it."""
    for suffix in ("", "-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        try:
            companion.unlink(missing_ok=True)
        except OSError as exc:
            fail(f"cannot remove {companion}: {exc.strerror}")
