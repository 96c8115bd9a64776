"""``userops recompute``, ``userops rfm`` and ``userops users``: features, RFM groups, export."""

from __future__ import annotations

import json
import math
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date
from typing import IO

import click

from core.analytics import rfm, rfm_report
from core.errors import CoreError
from core.pipeline import RecomputeReport, recompute
from core.rules.tags import install_defaults_once
from core.store.db import get_meta
from core.store.engines import all_or_nothing
from core.store.outputs import csv_writer
from core.store.personal import mask_value, personal_columns
from core.store.schema import FEATURE_COLUMNS
from core.store.sql import quote
from tui.cli import cli
from tui.cli.common import (
    COMPUTE_ENGINES,
    DB_ARGUMENT,
    ISO_DATE,
    READ_ENGINES,
    caret_on_error,
    condition_as_of,
    database,
    fail,
    output_file,
    unfiltered,
)

EXPORT_COLUMNS = list(FEATURE_COLUMNS)  # user_id first, then every feature in schema order


@cli.command("recompute")
@DB_ARGUMENT
@click.option(
    "--as-of", type=ISO_DATE, default=None, help="Date to compute as of (default: stored)."
)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
def recompute_cmd(db: str, as_of: date | None, as_json: bool) -> None:
    """Rebuild every user's features, RFM groups, predictions, layers and tags as of a date.

    The first recompute of a database installs the default layer rules and tags (those its
    fields can express); edit them with userops layer ... and userops tag ....
    """
    with database(db, engines=COMPUTE_ENGINES) as conn:  # in the engine (docs/engines.md)
        installed = False
        if not get_meta(conn, "default_rules_installed"):  # on chDB: exchanged in, as below
            with all_or_nothing(conn, writes=("layer_rules", "tag_rules", "meta")):
                installed = install_defaults_once(conn, as_of=as_of)
        if installed and not as_json:
            click.echo("installed the default layer rules and tags (see `userops layer rules`)")
        report = recompute(conn, as_of)
        if as_json:
            click.echo(json.dumps(recompute_data(report, installed), ensure_ascii=False, indent=2))
        else:
            click.echo(recompute_text(report))


def recompute_data(report: RecomputeReport, installed: bool) -> dict:
    return {
        "as_of": report.as_of.isoformat(),
        "users": report.users,
        "buyers": report.buyers,
        "seconds": round(report.seconds, 3),
        "models": report.models,
        "installed_defaults": bool(installed),
        "not_applicable": [n.as_dict() for n in report.not_applicable],
    }


def recompute_text(report: RecomputeReport) -> str:
    models = "; ".join(f"{name}: {status}" for name, status in report.models.items())
    return "\n".join(
        [
            f"as of   {report.as_of.isoformat()}",
            f"users   {report.users:,}",
            f"buyers  {report.buyers:,}",
            f"time    {report.seconds:.2f} s",
            f"models  {models or 'none fitted'}",
            *_not_applicable_lines(report),
        ]
    )


def _not_applicable_lines(report: RecomputeReport) -> list[str]:
    """The rules and tags this data cannot inform: their counts are not measurements."""
    if not report.not_applicable:
        return []
    lines = [
        "cannot apply to this data (they read what it does not record; counts are not measured):"
    ]
    for n in report.not_applicable:
        lines.append(f"  {n.kind} {n.name}: {'; '.join(n.reasons)}")
    return lines


@cli.command("rfm")
@DB_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="DIM=METHOD",
    help="Store a split and re-score: r=median, f=fixed:3, m=score:4, r=mean.",
)
@click.option("--cells27", is_flag=True, help="Also show the 27 high/mid/low cells.")
def rfm_cmd(db: str, as_json: bool, settings: tuple[str, ...], cells27: bool) -> None:
    """The 8 RFM groups with their shares and means, and current vs suggested thresholds."""
    try:
        wanted = [rfm.parse_threshold(s) for s in settings]
    except CoreError as exc:
        fail(f"{exc.title}: {exc}")
        return
    with database(db, engines=COMPUTE_ENGINES) as conn:
        if wanted:  # on chDB: a build database exchanged in (docs/engines.md)
            with all_or_nothing(conn, writes=("rfm_settings", "features")):
                for t in wanted:
                    rfm.set_threshold(conn, t.dimension, t.method, t.value)
                rfm.apply_rfm(conn, "features")
        data = rfm_data(conn, cells27)
        if as_json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            print_rfm(data)


def rfm_data(conn: sqlite3.Connection, cells27: bool) -> dict[str, object]:
    """Everything ``userops rfm`` shows, as plain JSON-able values."""
    thresholds = rfm.get_thresholds(conn)
    cuts = rfm.cut_values(conn, "features", thresholds)
    two, three = rfm_report.suggest_cuts(conn, k=2), rfm_report.suggest_cuts(conn, k=3)
    data: dict[str, object] = {
        "as_of": get_meta(conn, "features_as_of"),
        "groups": [asdict(row) for row in rfm_report.group_table(conn)],
        "thresholds": {
            dim: {
                "method": t.method,
                "setting": t.describe(),
                "value": cuts[dim],
                "suggested_high_low": two[dim],
                "suggested_high_mid_low": three[dim],
            }
            for dim, t in thresholds.items()
        },
    }
    if cells27:
        data["cells27"] = rfm_report.cell27_table(conn)
    return data


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{x:,.{digits}f}"


def print_rfm(data: dict) -> None:
    from rich.console import Console  # only this command pays for rich
    from rich.table import Table

    console = Console(
        file=unfiltered(sys.stdout), width=None if sys.stdout.isatty() else 180, highlight=False
    )
    table = Table(title=f"RFM groups as of {data['as_of'] or '(features not computed)'}")
    for name in (
        "key",
        "中文",
        "English",
        "count",
        "of buyers",
        "of revenue",
        "mean R (days)",
        "mean F",
        "mean M",
        "action",
    ):
        table.add_column(
            name, justify="right" if name.startswith(("count", "of", "mean")) else "left"
        )
    for g in data["groups"]:
        table.add_row(
            g["key"],
            g["name_zh"],
            g["name_en"],
            f"{g['count']:,}",
            _pct(g["share_of_buyers"]),
            _pct(g["share_of_revenue"]),
            _num(g["mean_recency"]),
            _num(g["mean_frequency"], 2),
            _num(g["mean_monetary"], 2),
            g["action"],
            end_section=g["key"] == "general_winback",
        )
    console.print(table, markup=False)
    console.print(threshold_table(data["thresholds"]), markup=False)
    if "cells27" in data:
        cells = "  ".join(f"{cell} {n:,}" for cell, n in data["cells27"].items())
        console.print(f"27 cells (R F M; H = score 4-5, M = 3, L = 1-2): {cells}", markup=False)


def threshold_table(thresholds: dict):
    from rich.table import Table

    table = Table(title="thresholds: current vs suggested (Jenks natural breaks)")
    for name in (
        "dim",
        "rule",
        "setting",
        "current cut",
        "suggested (2 clusters)",
        "suggested (3 clusters)",
    ):
        table.add_column(name)
    rules = {
        "r": "high when recency_days <= cut",
        "f": "high when frequency >= cut",
        "m": "high when monetary >= cut",
    }
    for dim, t in thresholds.items():
        rule = f"high when {dim}_score >= cut" if t["method"] == "score" else rules[dim]
        table.add_row(
            dim.upper(),
            rule,
            t["setting"],
            _num(t["value"], 2),
            ", ".join(_num(v, 2) for v in t["suggested_high_low"]),
            ", ".join(_num(v, 2) for v in t["suggested_high_mid_low"]),
        )
    return table


@cli.command("users")
@DB_ARGUMENT
@click.argument("query", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "-o",
    "--output",
    default="-",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File to write (default: standard output); written whole or not at all.",
)
@click.option("--raw", is_flag=True, help="CSV: write cells as they are (no ' before =, +, -, @).")
@click.option("--mask", is_flag=True, help="Write personal columns masked (138****1234).")
@click.option(
    "--include-personal",
    "--include-contact",
    "include_personal",
    is_flag=True,
    help="Write personal columns as they are (left out by default).",
)
def users_cmd(
    db: str,
    query: str | None,
    fmt: str,
    output: str,
    raw: bool,
    mask: bool,
    include_personal: bool,
) -> None:
    """Export every user (or those matching QUERY) with all features, streaming.

    CSV cells that a spreadsheet would run as formulas get a leading ' unless --raw. Columns
    flagged personal (userops import --personal COL) are left out unless --include-personal,
    or written masked with --mask."""
    with database(db, readonly=True, engines=READ_ENGINES) as conn, caret_on_error(query or ""):
        personal = personal_columns(conn) & set(EXPORT_COLUMNS)
        columns = [c for c in EXPORT_COLUMNS if c not in personal or include_personal or mask]
        hide = personal if mask and not include_personal else frozenset()
        cursor = select_users(conn, query, columns)
        rows = (_masked(row, columns, hide) for row in cursor) if hide else cursor
        with output_file(output) as out:
            if fmt == "csv":
                write_csv(rows, out, raw=raw, columns=columns)
            else:
                write_json(rows, out, columns=columns)


def _masked(row: tuple, columns: list[str], hide: frozenset[str]) -> tuple:
    return tuple(mask_value(v) if c in hide else v for c, v in zip(columns, row, strict=True))


def select_users(
    conn: sqlite3.Connection, query: str | None, columns: list[str] = EXPORT_COLUMNS
) -> sqlite3.Cursor:
    where, params = "1", {}
    if query:
        from core.query import compile_condition

        compiled = compile_condition(conn, query, as_of=condition_as_of(conn))
        where, params = compiled.where, compiled.params
    cols = ", ".join(f"f.{quote(c)}" for c in columns)
    return conn.execute(
        f"SELECT {cols} FROM features AS f WHERE {where} ORDER BY f.user_id", params
    )


def write_csv(
    cursor: Iterable[tuple], out: IO[str], *, raw: bool = False, columns: list[str] = EXPORT_COLUMNS
) -> None:
    writer = csv_writer(out, raw=raw, lineterminator="\n")
    writer.writerow(columns)
    for row in cursor:  # one row at a time: the export never holds every user in memory
        writer.writerow(_tidy(row))


def _tidy(row: tuple) -> tuple:
    """Floats without float noise, never losing a small value: from 1 up, 6 decimals (a sum of
    amounts reads 556.35, not 556.3499999999999); below 1, 6 significant digits, so a
    probability of 3.2e-08 stays 3.2e-08 instead of becoming 0.0."""
    return tuple(_tidy_float(v) if isinstance(v, float) else v for v in row)


def _tidy_float(v: float) -> float:
    if not math.isfinite(v) or abs(v) >= 1:
        return round(v, 6) if math.isfinite(v) else v
    return float(f"{v:.6g}")


def write_json(
    cursor: Iterable[tuple], out: IO[str], *, columns: list[str] = EXPORT_COLUMNS
) -> None:
    out.write("[")
    for i, row in enumerate(cursor):
        out.write(",\n" if i else "\n")
        record = dict(zip(columns, _tidy(row), strict=True))
        for key, value in record.items():  # JSON has no Infinity or NaN: they are null
            if isinstance(value, float) and not math.isfinite(value):
                record[key] = None
        out.write(json.dumps(record, ensure_ascii=False, allow_nan=False))
    out.write("\n]\n")
