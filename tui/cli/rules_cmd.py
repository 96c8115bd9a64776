"""Layer and tag rules from the command line.

``userops layers DB`` prints the MECE report (alias of ``userops layer report DB``);
``userops layer rules|set|delete|move|defaults|transitions|users`` edit and inspect the rules.
``userops tags DB`` lists the tags with their counts; ``userops tag set|delete|defaults|of``.
Changing a rule re-applies layers and tags to the current features at once (one UPDATE and one
INSERT per tag), so the report, the counts and the app agree without a full recompute.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from datetime import date
from typing import Literal

import click

from core.rules import layers as L
from core.rules import tags as T
from tui.cli import cli
from tui.cli.common import (
    DB_ARGUMENT,
    ISO_DATE,
    READ_ENGINES,
    WRITE_ENGINES,
    caret_on_error,
    cells,
    check_engine,
    condition_as_of,
    database,
    fail,
)

BAR_WIDTH = 30
AS_OF = click.option(
    "--as-of",
    "as_of",
    type=ISO_DATE,
    help="Evaluate relative dates as of this day (default: the date of the current features).",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON only.")


def reapply(conn: sqlite3.Connection) -> None:
    when = T.reapply_rules(conn)
    if when is None:
        click.echo("Features were never computed: run `userops recompute DB` to classify users.")
    else:
        click.echo(f"Re-applied layers and tags to the features as of {when.isoformat()}.")


# ---- layers --------------------------------------------------------------------------------


@cli.command("layers")
@DB_ARGUMENT
@AS_OF
@JSON
@click.option(
    "--transitions",
    "from_as_of",
    type=ISO_DATE,
    metavar="FROM",
    help="Instead of the report, the matrix of moves from this date.",
)
@click.option(
    "--to",
    "to_as_of",
    type=ISO_DATE,
    help="End date of --transitions (default: the date of the current features).",
)
def layers_cmd(
    db: str, as_of: date | None, as_json: bool, from_as_of: date | None, to_as_of: date | None
) -> None:
    """The MECE report of the layer rules: pyramid, overlapping pairs, gap.

    Same as userops layer report; with --transitions, same as userops layer transitions.
    """
    if from_as_of is not None:
        # as `layer transitions`: SQLite and DuckDB (TEMP tables for a date without history)
        check_engine(db, WRITE_ENGINES, "`userops layers --transitions`")
        show_transitions(db, from_as_of, to_as_of or as_of, as_json)
    elif to_as_of is not None:
        fail("--to goes with --transitions FROM")
    else:
        show_report(db, as_of, as_json)


@cli.group("layer")
def layer() -> None:
    """Lifecycle layers (用户分层): ordered rules, first match wins, else 'unclassified'."""


@layer.command("report")
@DB_ARGUMENT
@AS_OF
@JSON
def layer_report(db: str, as_of: date | None, as_json: bool) -> None:
    """Pyramid with counts and shares, overlapping pairs of rules, and the gap."""
    show_report(db, as_of, as_json)


def show_report(db: str, as_of: date | None, as_json: bool) -> None:
    with database(db, engines=READ_ENGINES) as conn:
        report = L.mece_report(conn, condition_as_of(conn, as_of))
    if as_json:
        click.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        click.echo(report_text(report))


def report_json(report: L.MeceReport) -> dict[str, object]:
    return {
        "as_of": report.as_of.isoformat(),
        "total": report.total,
        "pyramid": [asdict(row) for row in report.pyramid],
        "matches": report.matches,
        "overlaps": [asdict(o) for o in report.overlaps],
        "gap": report.gap,
        "catch_all": (
            None
            if report.catch_all is None
            else {"rule": report.catch_all.rule, "count": report.catch_all.count}
        ),
        "is_mece": report.is_mece,
    }


def report_text(report: L.MeceReport) -> str:
    width = max((len(r.key) for r in report.pyramid), default=10)
    lines = [f"Layers as of {report.as_of.isoformat()}: {report.total:,} users (first match wins)"]
    for row in report.pyramid:
        bar = "█" * round(row.share * BAR_WIDTH)
        lines.append(
            f"  {row.key:<{width}}  {pad(row.name_zh, 10)}{row.count:>10,}  {row.share:6.1%}  {bar}"
        )
    return "\n".join(lines + [""] + overlap_lines(report))


def overlap_lines(report: L.MeceReport) -> list[str]:
    lines = ["Overlaps (users matching both rules on their own; the earlier rule wins):"]
    lines += [f"  {o.a} & {o.b}: {o.count:,}" for o in report.overlaps] or ["  none"]
    if report.catch_all is not None:
        for key in report.catch_all.rules:
            lines.append(f"  ({key} matches every user: the catch-all, its overlaps are by design)")
        lines.append(
            f"Only in the catch-all {report.catch_all.rule} (users matching no other rule): "
            f"{report.catch_all.count:,}"
        )
    lines.append(f"Gap (users matching no rule → unclassified): {report.gap:,}")
    return lines


def pad(text: str, width: int) -> str:
    """Left-align in terminal columns: Chinese characters take two."""
    return text + " " * max(width - cells(text), 1)


@layer.command("rules")
@DB_ARGUMENT
@JSON
def layer_rules(db: str, as_json: bool) -> None:
    """The rules in evaluation order."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        rules = L.list_rules(conn)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rules], ensure_ascii=False, indent=2))
        return
    if not rules:
        click.echo("No layer rules: `userops layer defaults DB` installs the lifecycle defaults.")
    width = max((len(r.key) for r in rules), default=0)
    for r in rules:
        rank = "" if r.lifecycle is None else f"  (lifecycle {r.lifecycle:+d})"
        click.echo(
            f"{r.position:>3}. {r.key:<{width}}  {r.name_zh} / {r.name_en}{rank}\n"
            f"       {r.condition}"
        )


@layer.command("set")
@DB_ARGUMENT
@click.argument("key")
@click.argument("condition")
@click.option("--zh", "name_zh", required=True, help="Chinese name, e.g. 忠诚用户.")
@click.option("--en", "name_en", required=True, help="English name, e.g. loyal.")
@click.option("--position", type=int, help="1-based place in the order (default: keep, or last).")
@click.option(
    "--rank",
    "rank",
    metavar="N|none",
    help="Rank in the lifecycle, the pyramid's order (not the priority): 1, 2, … climbing, "
    "-1, -2, … sliding down (dormant, churned); none to unplace. Default: keep.",
)
@AS_OF
def layer_set(
    db: str,
    key: str,
    condition: str,
    name_zh: str,
    name_en: str,
    position: int | None,
    rank: str | None,
    as_of: date | None,
) -> None:
    """Add or replace the rule KEY. A condition that does not compile is rejected, not stored."""
    lifecycle: int | None | Literal["keep"] = L.KEEP if rank is None else parse_rank(rank)
    with database(db, engines=WRITE_ENGINES) as conn:
        when = condition_as_of(conn, as_of)
        with caret_on_error(condition):
            L.set_rule(
                conn,
                key,
                name_zh,
                name_en,
                condition,
                position=position,
                lifecycle=lifecycle,
                as_of=when,
            )
        click.echo(f"Layer {key!r} saved.")
        reapply(conn)


def parse_rank(text: str) -> int | None:
    if text.strip().lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        fail(f"--rank {text!r}: give a whole number (1, 2, … or -1, -2, …) or none")
        raise  # fail() exits; for the type checker


@layer.command("delete")
@DB_ARGUMENT
@click.argument("key")
def layer_delete(db: str, key: str) -> None:
    """Delete the rule KEY."""
    with database(db, engines=WRITE_ENGINES) as conn:
        L.delete_rule(conn, key)
        click.echo(f"Layer {key!r} deleted.")
        reapply(conn)


@layer.command("move")
@DB_ARGUMENT
@click.argument("key")
@click.argument("position", type=int)
def layer_move(db: str, key: str, position: int) -> None:
    """Move the rule KEY to POSITION (1 = evaluated first)."""
    with database(db, engines=WRITE_ENGINES) as conn:
        L.move_rule(conn, key, position)
        click.echo(f"Layer {key!r} moved to position {position}.")
        reapply(conn)


@layer.command("defaults")
@DB_ARGUMENT
def layer_defaults(db: str) -> None:
    """Install the default lifecycle rules (only when there are no rules yet)."""
    with database(db, engines=WRITE_ENGINES) as conn:
        n = L.install_default_rules(conn)
        if n == 0:
            click.echo("Layer rules exist already; nothing installed.")
            return
        click.echo(f"Installed {n} default layer rules.")
        reapply(conn)


@layer.command("transitions")
@DB_ARGUMENT
@click.argument("from_as_of", metavar="FROM", type=ISO_DATE)
@click.option("--to", "to_as_of", type=ISO_DATE, help="Default: the date of the current features.")
@JSON
def layer_transitions(db: str, from_as_of: date, to_as_of: date | None, as_json: bool) -> None:
    """How many users moved from each layer on FROM to each layer on --to."""
    show_transitions(db, from_as_of, to_as_of, as_json)


def show_transitions(db: str, from_as_of: date, to_as_of: date | None, as_json: bool) -> None:
    with database(db, engines=WRITE_ENGINES) as conn:
        result = L.transitions(conn, from_as_of, condition_as_of(conn, to_as_of))
    if as_json:
        cells = [{"from": a, "to": b, "count": c} for (a, b), c in sorted(result.counts.items())]
        click.echo(
            json.dumps(
                {
                    "from": result.from_as_of.isoformat(),
                    "to": result.to_as_of.isoformat(),
                    "layers": result.layers,
                    "moved": result.moved,
                    "cells": cells,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        click.echo(transitions_text(result))


def transitions_text(result: L.Transitions) -> str:
    keys = result.layers
    width = max([len(k) for k in keys] + [len(str(c)) for c in result.counts.values()] + [8])
    corner = "from \\ to"
    head = f"{corner:<{width}}  " + "  ".join(f"{k:>{width}}" for k in keys)
    lines = [
        f"Layer transitions {result.from_as_of.isoformat()} → {result.to_as_of.isoformat()}"
        f" ({result.moved:,} users changed layer)",
        head,
    ]
    for a in keys:
        cells = "  ".join(f"{result.count(a, b):>{width},}" for b in keys)
        lines.append(f"{a:<{width}}  {cells}")
    for when, computed in zip((result.from_as_of, result.to_as_of), result.computed, strict=True):
        if computed:
            lines.append(f"({when.isoformat()}: no stored layers; computed with today's rules)")
    return "\n".join(lines)


@layer.command("users")
@DB_ARGUMENT
@click.option("--overlap", nargs=2, metavar="A B", help="Users matching both rules A and B.")
@click.option("--gap", is_flag=True, help="Users matching no rule.")
@click.option(
    "--catch-all", "catch_all", is_flag=True, help="Users matching no rule except a catch-all."
)
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@AS_OF
def layer_users(
    db: str,
    overlap: tuple[str, str] | None,
    gap: bool,
    catch_all: bool,
    limit: int,
    as_of: date | None,
) -> None:
    """List the ids of the users behind an overlap, the gap or the catch-all of the report."""
    if bool(overlap) + gap + catch_all != 1:
        fail("give exactly one of --overlap A B, --gap or --catch-all")
    with database(db, readonly=True, engines=READ_ENGINES) as conn:
        when = condition_as_of(conn, as_of)
        if gap:
            ids = L.users_in_gap(conn, when, limit)
        elif catch_all:
            ids = L.users_only_in_catch_all(conn, when, limit)
        else:
            assert overlap is not None  # exactly one of the two was given
            ids = L.users_in_overlap(conn, overlap[0], overlap[1], when, limit)
    click.echo("\n".join(ids) if ids else "No users.")


# ---- tags ----------------------------------------------------------------------------------


@cli.command("tags")
@DB_ARGUMENT
@JSON
def tags_cmd(db: str, as_json: bool) -> None:
    """The rule tags with dimension, condition and how many users hold each (same as tag list)."""
    show_tags(db, as_json)


@cli.group("tag")
def tag() -> None:
    """Rule tags (标签体系) in four dimensions: basic, behavioural, result, predictive."""


@tag.command("list")
@DB_ARGUMENT
@JSON
def tag_list(db: str, as_json: bool) -> None:
    """The rule tags with dimension, condition and count."""
    show_tags(db, as_json)


def show_tags(db: str, as_json: bool) -> None:
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        counts = T.tag_counts(conn)
    if as_json:
        rows = [{**asdict(t), "count": n} for t, n in counts]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not counts:
        click.echo("No tags: `userops tag defaults DB` installs the demo's tags.")
    for t, n in counts:
        click.echo(f"{T.DIMENSION_NAMES[t.dimension][0]}  {pad(t.name, 12)}{n:>8,}  {t.condition}")


@tag.command("set")
@DB_ARGUMENT
@click.argument("name")
@click.argument("condition")
@click.option("--dimension", type=click.Choice(T.DIMENSIONS), required=True)
@click.option("--description", default="", help="What the tag means, in words.")
@AS_OF
def tag_set(
    db: str, name: str, condition: str, dimension: str, description: str, as_of: date | None
) -> None:
    """Add or replace the tag NAME. A condition that does not compile is rejected, not stored."""
    with database(db, engines=WRITE_ENGINES) as conn:
        when = condition_as_of(conn, as_of)
        with caret_on_error(condition):
            T.set_tag(conn, name, dimension, condition, description, as_of=when)
        click.echo(f"Tag {name!r} saved.")
        reapply(conn)


@tag.command("delete")
@DB_ARGUMENT
@click.argument("name")
def tag_delete(db: str, name: str) -> None:
    """Delete the tag NAME (and remove it from every user)."""
    with database(db, engines=WRITE_ENGINES) as conn:
        T.delete_tag(conn, name)
    click.echo(f"Tag {name!r} deleted.")


@tag.command("defaults")
@DB_ARGUMENT
def tag_defaults(db: str) -> None:
    """Install the demo's tags (only when there are no tags yet; skips what the DB cannot express)."""
    with database(db, engines=WRITE_ENGINES) as conn:
        result = T.install_default_tags(conn)
        if not result.installed and not result.skipped:
            click.echo("Tags exist already; nothing installed.")
            return
        click.echo(f"Installed {len(result.installed)} default tags.")
        for name, why in result.skipped:
            click.echo(f"  skipped {name}: {why}")
        reapply(conn)


@tag.command("of")
@DB_ARGUMENT
@click.argument("user_id")
def tag_of(db: str, user_id: str) -> None:
    """The tags a user holds."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        held = T.tags_of(conn, user_id)
    for t in held:
        click.echo(f"{T.DIMENSION_NAMES[t.dimension][0]}  {t.name}  ({t.description})")
    if not held:
        click.echo(f"User {user_id!r} holds no tags.")
