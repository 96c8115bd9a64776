"""``userops campaign …``: create, fill, mark, lock, export and measure campaigns (DB first, then name)."""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import date
from typing import TYPE_CHECKING

import click

from core.audience import campaigns as cmp
from core.store.db import check_as_of
from tui.cli import cli
from tui.cli.common import (
    DB_ARGUMENT,
    ISO_DATE,
    WRITE_ENGINES,
    cells,
    database,
    fail,
    pad,
    real_user,
)

if TYPE_CHECKING:  # the effect module loads scipy: only the report command pays for it
    from core.audience.effect import EffectReport, Uplift

NAME_ARGUMENT = click.argument("name")
AS_OF_OPTION = click.option(
    "--as-of", type=ISO_DATE, default=None, help="As-of date (default: the database's)."
)


def _who() -> str:
    return real_user()


def _as_of(conn: sqlite3.Connection, given: date | None) -> date:
    found = check_as_of(conn, given)  # the data's date: conditions, caps and sends agree on it
    if found is None:
        fail("the database has no as-of date: pass --as-of YYYY-MM-DD")
        raise AssertionError  # unreachable
    return found


@cli.group()
def campaign() -> None:
    """Campaigns: targets, a seeded control group, export, and the effect report."""


@campaign.command("create")
@DB_ARGUMENT
@NAME_ARGUMENT
@click.option("--channel", default="push", show_default=True, help="push, sms, coupon, email, …")
@click.option("--offer", default="", help="The offer text.")
@click.option("--start", type=ISO_DATE, default=None, help="Start date (default: as-of at send).")
def create_cmd(db: str, name: str, channel: str, offer: str, start: date | None) -> None:
    """Create a draft campaign."""
    with database(db, engines=WRITE_ENGINES) as conn:
        made = cmp.create_campaign(
            conn, name, channel=channel, offer=offer, start=start, who=_who()
        )
        click.echo(f"created campaign {made.name} ({made.channel}, draft)")


@campaign.command("add")
@DB_ARGUMENT
@NAME_ARGUMENT
@click.option("--segment", "segment", required=True, help="A saved segment's name or a query.")
@click.option("--holdout", type=float, default=10.0, show_default=True, help="Control group, %.")
@click.option(
    "--exclude-targeted-within",
    "within",
    type=click.IntRange(min=1),
    default=None,
    help="Skip users targeted by any campaign in the last DAYS days.",
    metavar="DAYS",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the control split.")
@AS_OF_OPTION
def add_cmd(
    db: str,
    name: str,
    segment: str,
    holdout: float,
    within: int | None,
    seed: int,
    as_of: date | None,
) -> None:
    """Add a segment's members: targets, and a seeded control group."""
    from core.audience.segments import condition_for  # the segment engine is only needed here

    with database(db, engines=WRITE_ENGINES) as conn:
        day = _as_of(conn, as_of)
        compiled = condition_for(conn, segment, as_of=day)
        got = cmp.add_from_segment(
            conn,
            name,
            compiled,
            holdout_pct=holdout,
            seed=seed,
            exclude_targeted_within_days=within,
            as_of=day,
            who=_who(),
            source=segment,
        )
        click.echo(
            f"added {got.added_targets} targets and {got.added_control} control "
            f"({got.candidates} in the segment; excluded: {got.excluded_already_in} already in, "
            f"{got.excluded_recently_targeted} recently targeted"
            + (
                f", {got.excluded_global_control} in the global control group"
                if got.excluded_global_control
                else ""
            )
            + ")"
        )
        from core.audience.effect import projected_power
        from tui.i18n import Labels
        from tui.widgets.power_text import power_text

        click.echo(power_text(projected_power(conn, name), Labels("en")))


@campaign.command("mark")
@DB_ARGUMENT
@NAME_ARGUMENT
@click.argument("user_ids", nargs=-1, required=True)
def mark_cmd(db: str, name: str, user_ids: tuple[str, ...]) -> None:
    """Mark users as targets."""
    with database(db, engines=WRITE_ENGINES) as conn:
        got = cmp.mark(conn, name, user_ids, who=_who(), source="cli")
        click.echo(f"marked {len(got.changed)} ({len(got.unchanged)} already marked)")
        _echo_counts(conn, name)


@campaign.command("unmark")
@DB_ARGUMENT
@NAME_ARGUMENT
@click.argument("user_ids", nargs=-1, required=True)
def unmark_cmd(db: str, name: str, user_ids: tuple[str, ...]) -> None:
    """Remove target marks."""
    with database(db, engines=WRITE_ENGINES) as conn:
        got = cmp.unmark(conn, name, user_ids, who=_who(), source="cli")
        click.echo(f"unmarked {len(got.changed)} ({len(got.unchanged)} were not marked)")
        _echo_counts(conn, name)


@campaign.command("undo")
@DB_ARGUMENT
@NAME_ARGUMENT
def undo_cmd(db: str, name: str) -> None:
    """Undo the last add/mark/unmark (repeat to go further back)."""
    with database(db, engines=WRITE_ENGINES) as conn:
        entry = cmp.undo_last(conn, name, _who())
        click.echo(f"undid {entry.action} #{entry.id} ({entry.n_users} users: {entry.detail})")
        _echo_counts(conn, name)


def _echo_counts(conn: sqlite3.Connection, name: str) -> None:
    targets, control = cmp.counts(conn, name)
    click.echo(f"{name}: {targets} targets, {control} control")


@campaign.command("list")
@DB_ARGUMENT
def list_cmd(db: str) -> None:
    """Every campaign with its status and counts."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        rows = cmp.list_campaigns(conn)
    if not rows:
        click.echo("no campaigns")
        return
    width = max(cells(c.name) for c, _, _ in rows)
    click.echo(
        f"{pad('name', width)}  {'channel':<8} {'status':<6} {'start':<10} {'targets':>8} {'control':>8}"
    )
    for c, targets, control in rows:
        start = c.start_date.isoformat() if c.start_date else "-"
        click.echo(
            f"{pad(c.name, width)}  {pad(c.channel, 8)} {c.status:<6} {start:<10} {targets:>8} {control:>8}"
        )


@campaign.command("show")
@DB_ARGUMENT
@NAME_ARGUMENT
@click.option(
    "--last", type=click.IntRange(min=0), default=5, show_default=True, help="Audit lines to show."
)
def show_cmd(db: str, name: str, last: int) -> None:
    """Status, counts and the last audit lines of a campaign."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        c = cmp.get_campaign(conn, name)
        targets, control = cmp.counts(conn, name)
        entries = cmp.audit(conn, name, limit=last)
    click.echo(f"campaign  {c.name}")
    click.echo(f"channel   {c.channel}")
    click.echo(f"offer     {c.offer or '-'}")
    click.echo(f"status    {c.status}{' (locked)' if c.locked else ''}")
    click.echo(f"start     {c.start_date or '-'}")
    click.echo(f"targets   {targets}")
    click.echo(f"control   {control}")
    if entries:
        click.echo("recent changes:")
        _echo_audit(entries)


@campaign.command("audit")
@DB_ARGUMENT
@NAME_ARGUMENT
def audit_cmd(db: str, name: str) -> None:
    """The campaign's audit log: who changed what, when."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        _echo_audit(cmp.audit(conn, name))


def _echo_audit(entries: list[cmp.AuditEntry]) -> None:
    who_w = max(cells(e.who) for e in entries)
    for e in entries:
        click.echo(f"{e.at}  {pad(e.who, who_w)}  {e.action:<7} {e.n_users:>7}  {e.detail}")


@campaign.command("export")
@DB_ARGUMENT
@NAME_ARGUMENT
@click.option("-o", "--output", required=True, help="CSV file to write ('-' for stdout).")
@click.option("--columns", default="user_id", show_default=True, help="Comma-separated columns.")
@click.option(
    "--include-personal",
    "--include-contact",
    "include_contact",
    is_flag=True,
    help="Allow personal columns (phone, e-mail, ID, address … by name or --personal flag).",
)
@click.option("--mask", is_flag=True, help="Allow personal columns, written masked (138****1234).")
@click.option("--raw", is_flag=True, help="Write cells as they are (no ' before =, +, -, @).")
def export_cmd(
    db: str, name: str, output: str, columns: str, include_contact: bool, mask: bool, raw: bool
) -> None:
    """Write the targets (never the control group) to CSV.

    Cells a spreadsheet would run as formulas get a leading ' unless --raw. The file appears
    only once the export is in the audit log."""
    with database(db, engines=WRITE_ENGINES) as conn:
        dest = sys.stdout if output == "-" else output
        n = cmp.export_targets(
            conn,
            name,
            dest,
            columns.split(","),
            include_contact=include_contact,
            who=_who(),
            raw=raw,
            mask=mask,
        )
    if output != "-":
        click.echo(f"exported {n} targets to {output}")


@campaign.command("send")
@DB_ARGUMENT
@NAME_ARGUMENT
@AS_OF_OPTION
def send_cmd(db: str, name: str, as_of: date | None) -> None:
    """Mark the campaign sent: its lists are locked; the start date defaults to the as-of date."""
    with database(db, engines=WRITE_ENGINES) as conn:
        c = cmp.set_status(conn, name, "sent", who=_who(), as_of=_as_of(conn, as_of))
        click.echo(f"campaign {c.name} sent, start date {c.start_date}; lists locked")


@campaign.command("close")
@DB_ARGUMENT
@NAME_ARGUMENT
def close_cmd(db: str, name: str) -> None:
    """Close a sent campaign."""
    with database(db, engines=WRITE_ENGINES) as conn:
        c = cmp.set_status(conn, name, "closed", who=_who())
        click.echo(f"campaign {c.name} closed")


@campaign.command("unlock")
@DB_ARGUMENT
@NAME_ARGUMENT
@click.option("--reason", required=True, help="Why the lists must change (logged).")
def unlock_cmd(db: str, name: str, reason: str) -> None:
    """Set a sent campaign back to draft so its lists can change; logged with the reason."""
    with database(db, engines=WRITE_ENGINES) as conn:
        c = cmp.unlock(conn, name, who=_who(), reason=reason)
        click.echo(f"campaign {c.name} unlocked (draft)")


@campaign.command("report")
@DB_ARGUMENT
@NAME_ARGUMENT
@click.option(
    "--window",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Days from the start date.",
)
@AS_OF_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def report_cmd(db: str, name: str, window: int, as_of: date | None, as_json: bool) -> None:
    """Effect report: conversion and revenue per user of targets vs control, with 95% intervals."""
    from core.audience.effect import effect_report

    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        report = effect_report(conn, name, window_days=window, as_of=as_of)
    if as_json:
        click.echo(json.dumps(_report_dict(report), ensure_ascii=False, indent=2))
    else:
        _echo_report(report)


def _report_dict(r: EffectReport) -> dict[str, object]:
    def group(g: object) -> dict[str, object]:
        assert isinstance(g, type(r.targets))
        return {
            "users": g.users,
            "converted": g.converted,
            "orders": g.orders,
            "revenue": g.revenue,
            "conversion": g.conversion,
            "revenue_per_user": g.revenue_per_user,
        }

    def uplift(u: Uplift | None) -> dict[str, object] | None:
        return (
            None
            if u is None
            else {
                "absolute": u.absolute,
                "relative": u.relative,
                "ci95": [u.low, u.high],
                "method": u.method,
            }
        )

    return {
        "campaign": r.campaign,
        "start": r.start.isoformat(),
        "end": r.end.isoformat(),
        "window_days": r.window_days,
        "as_of": r.as_of.isoformat(),
        "observed_end": r.observed_end.isoformat() if r.observed_end else None,
        "complete": r.complete,
        "enough_data": r.enough_data,
        "reason": r.reason,
        "targets": group(r.targets),
        "control": group(r.control),
        "conversion_uplift": uplift(r.conversion),
        "revenue_per_user_uplift": uplift(r.revenue_per_user),
    }


def _echo_report(r: EffectReport) -> None:
    click.echo(f"campaign {r.campaign}: window {r.start} … {r.end} ({r.window_days} days)")
    if r.observed_end is not None and not r.complete:
        days = (r.observed_end - r.start).days + 1
        click.echo(f"window incomplete: {days} of {r.window_days} days observed (as of {r.as_of})")
    click.echo(f"{'':<10}{'users':>8}{'converted':>11}{'conversion':>12}{'revenue/user':>14}")
    for label, g in (("targets", r.targets), ("control", r.control)):
        click.echo(
            f"{label:<10}{g.users:>8}{g.converted:>11}{g.conversion:>12.2%}{g.revenue_per_user:>14.2f}"
        )
    if not r.enough_data:
        click.echo(f"not enough data: {r.reason}")
        return
    assert r.conversion is not None and r.revenue_per_user is not None
    _echo_uplift("conversion", r.conversion, percent=True)
    _echo_uplift("revenue/user", r.revenue_per_user, percent=False)


def _echo_uplift(label: str, u: Uplift, *, percent: bool) -> None:
    fmt = "{:+.2%}" if percent else "{:+.2f}"
    rel = "n/a" if u.relative is None else f"{u.relative:+.1%}"
    click.echo(
        f"uplift {label}: {fmt.format(u.absolute)} (relative {rel}), 95% CI "
        f"[{fmt.format(u.low)}, {fmt.format(u.high)}] — {u.method}"
    )
