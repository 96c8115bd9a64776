"""``userops strategy …`` (IF-THEN rules run on every refresh, with a control group and an
effect report) and ``userops control …`` (the global control group). docs/strategies.md."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from core.audience import strategies as st
from core.audience.global_control import get_global_control, set_global_control
from core.audience.strategies.run import frequency_cap, set_frequency_cap
from core.errors import NotFound
from tui.cli import cli
from tui.cli.common import DB_ARGUMENT, WRITE_ENGINES, caret_on_error, database, fail

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@cli.group("strategy")
def strategy() -> None:
    """Strategies: IF a condition THEN an action, run on every refresh, with a control group."""


@strategy.command("set")
@DB_ARGUMENT
@click.argument("name")
@click.option("--when", "condition", default=None, help="Trigger condition (the query language).")
@click.option("--every-run", is_flag=True, default=None, help="Target all who match on each run.")
@click.option(
    "--entering", is_flag=True, default=None, help="Only users who newly match (default)."
)
@click.option("--channel", default=None, help="push, sms, coupon, email, …")
@click.option("--offer", default=None, help="The offer text (default for groups not in --offers).")
@click.option("--offers-by", type=click.Choice(["layer", "rfm"]), default=None)
@click.option(
    "--offers",
    "offers_file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="CSV of group,offer (layer keys or RFM group keys).",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="CHANNEL:OFFER",
    help="An action to split targets over at random (give 2 or more).",
)
@click.option("--holdout", type=float, default=None, metavar="PCT", help="Control share (10).")
@click.option("--seed", type=int, default=None, help="Seed of the control and variant draws.")
@click.option("--cooldown", type=click.IntRange(min=0), default=None, metavar="DAYS")
@click.option("--max", "max_per_run", type=click.IntRange(min=0), default=None, metavar="N")
@click.option("--priority", type=int, default=None, metavar="P", help="Higher takes shared users.")
@click.option("--schedule", default=None, help="daily, weekdays (mon,thu) or every:N.")
@click.option("--include-contact", is_flag=True, default=None, help="Phone and e-mail in files.")
def set_cmd(db: str, name: str, **opts: Any) -> None:
    """Create strategy NAME, or change the options given of an existing one."""
    with database(db, engines=WRITE_ENGINES) as conn, caret_on_error(opts["condition"] or ""):
        try:
            old: st.Strategy | None = st.get(conn, name)
        except NotFound:
            old = None
        if old is None and not opts["condition"]:
            fail(f"strategy {name!r} is new: give its condition with --when")
        base = old or st.Strategy(name=name, condition="")
        changes = _changes(opts)
        saved = st.save(conn, replace(base, **changes))
        click.echo(f"{'changed' if old else 'saved'} strategy {saved.name!r}: {_line(saved)}")


def _changes(opts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    simple = {
        "condition": "condition",
        "channel": "channel",
        "offer": "offer",
        "holdout": "holdout_pct",
        "seed": "seed",
        "cooldown": "cooldown_days",
        "priority": "priority",
        "include_contact": "include_contact",
    }
    for opt, attr in simple.items():
        if opts[opt] is not None:
            out[attr] = opts[opt]
    if opts["every_run"] and opts["entering"]:
        fail("--every-run and --entering exclude each other")
    if opts["every_run"]:
        out["mode"] = "every_run"
    if opts["entering"]:
        out["mode"] = "entering"
    if opts["max_per_run"] is not None:
        out["max_per_run"] = opts["max_per_run"] or None  # 0: no maximum
    if opts["schedule"] is not None:
        out["schedule"] = st.Schedule.parse(opts["schedule"])
    if opts["variants"]:
        out["variants"] = tuple(st.Variant.parse(v) for v in opts["variants"])
        out["offers_by"], out["offers"] = None, {}
    if opts["offers_by"] is not None or opts["offers_file"] is not None:
        if opts["offers_by"] is None or opts["offers_file"] is None:
            fail("--offers-by and --offers go together (a CSV of group,offer)")
        out["offers_by"] = opts["offers_by"]
        out["offers"] = _read_offers(Path(opts["offers_file"]))
        out.setdefault("variants", ())
    return out


def _read_offers(path: Path) -> dict[str, str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")
    if rows and rows[0] and rows[0][0].strip().lower() in ("group", "layer", "rfm", "rfm_group"):
        rows = rows[1:]
    offers: dict[str, str] = {}
    for i, row in enumerate(rows, start=2):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            fail(f"{path}, line {i}: write group,offer")
        offers[row[0].strip()] = row[1].strip()
    if not offers:
        fail(f"{path}: no group,offer lines")
    return offers


@strategy.command("list")
@DB_ARGUMENT
@JSON_OPTION
def list_cmd(db: str, as_json: bool) -> None:
    """The strategies with status, last run, targets, control and the latest uplift."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        rows = st.summaries(conn)
    if as_json:
        click.echo(json.dumps([_summary_json(r) for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no strategies yet: `userops strategy set DB NAME --when COND --offer TEXT`")
        return
    for r in rows:
        s = r.strategy
        last = r.last_run.isoformat() if r.last_run else "never run"
        up = (
            f"latest {_pct_ci(r.latest)}"
            if r.latest
            else f"cumulative {_pct_ci(r.cumulative)}"
            if r.cumulative
            else "uplift n/a"
        )
        sizes = (
            "nobody new"  # it ran: the date counts, but there is no group to read
            if r.last_empty
            else f"{r.last_targets} targets, {r.last_control} control"
        )
        click.echo(
            f"{s.name}  [{s.status}, priority {s.priority}, {s.schedule.text}]  last run {last}: "
            f"{sizes}; {r.runs} runs; {up}"
        )


@strategy.command("show")
@DB_ARGUMENT
@click.argument("name")
@JSON_OPTION
def show_cmd(db: str, name: str, as_json: bool) -> None:
    """A strategy's definition."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        s = st.get(conn, name)
    if as_json:
        click.echo(json.dumps(_strategy_json(s), indent=2, ensure_ascii=False))
        return
    click.echo(f"strategy  {s.name}  ({s.status})")
    click.echo(f"when      {s.condition}  [{s.mode.replace('_', ' ')}]")
    if s.variants:
        for i, v in enumerate(s.variants):
            click.echo(f"variant   {chr(65 + i)}: {v.channel}: {v.offer}")
    else:
        click.echo(f"action    {s.channel}: {s.offer}")
        for group, offer in sorted(s.offers.items()):
            click.echo(f"  {s.offers_by} {group}: {offer}")
    click.echo(f"holdout   {s.holdout_pct:g} % (seed {s.seed})")
    limits = [f"cooldown {s.cooldown_days} days" if s.cooldown_days else "no cooldown"]
    limits.append(f"max {s.max_per_run} per run" if s.max_per_run else "no maximum per run")
    click.echo(f"limits    {', '.join(limits)}")
    click.echo(f"priority  {s.priority}")
    click.echo(f"schedule  {s.schedule.text}")
    click.echo(f"contact   {'phone and e-mail in the target files' if s.include_contact else 'no'}")


def _status_cmd(verb: str, fn: Any, help_text: str) -> None:
    @strategy.command(verb, help=help_text)
    @DB_ARGUMENT
    @click.argument("name")
    def cmd(db: str, name: str) -> None:
        with database(db, engines=WRITE_ENGINES) as conn:
            s = fn(conn, name)
        click.echo(f"strategy {s.name!r} is {s.status}")


_status_cmd("pause", st.pause, "Pause a strategy: runs skip it until resumed.")
_status_cmd("resume", st.resume, "Resume a paused strategy.")


@strategy.command("delete")
@DB_ARGUMENT
@click.argument("name")
def delete_cmd(db: str, name: str) -> None:
    """Delete a strategy (its past runs stay as campaigns for the caps and reports)."""
    with database(db, engines=WRITE_ENGINES) as conn:
        st.delete(conn, name)
    click.echo(f"deleted strategy {name!r}")


@strategy.command("run")
@DB_ARGUMENT
@click.argument("names", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Show who would be targeted; change nothing.")
@click.option("--force", is_flag=True, help="Run the named strategies even when not due.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the target files (default: the setting).",
)
@JSON_OPTION
def run_cmd(
    db: str, names: tuple[str, ...], dry_run: bool, force: bool, out_dir: str | None, as_json: bool
) -> None:
    """Run the active strategies (or NAMES) due on the database's as-of date."""
    with database(db, readonly=dry_run, engines=WRITE_ENGINES) as conn:
        report = st.run_strategies(
            conn,
            list(names) or None,
            dry_run=dry_run,
            out_dir=Path(out_dir) if out_dir else None,
            force=force,
        )
    if as_json:
        click.echo(json.dumps(run_json(report), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(run_lines(report, detail=dry_run)))


def run_json(r: st.RunReport) -> dict[str, Any]:
    return {
        "as_of": r.as_of.isoformat(),
        "dry_run": r.dry_run,
        "strategies": [
            {
                "strategy": x.strategy,
                "status": x.status,
                "reason": x.reason or None,
                "matched": x.matched,
                "removed": x.removed,
                "targets": x.targets,
                "control": x.control,
                "offers": [
                    {
                        "channel": o.channel,
                        "offer": o.offer,
                        "variant": o.variant or None,
                        "targets": o.targets,
                        **({"user_ids": list(o.user_ids)} if r.dry_run else {}),
                    }
                    for o in x.offers
                ],
                "campaign": x.campaign,
                "file": str(x.file) if x.file else None,
            }
            for x in r.runs
        ],
        "overlaps": [{"a": o.a, "b": o.b, "users": o.users} for o in r.overlaps],
    }


def run_lines(r: st.RunReport, *, detail: bool = False) -> list[str]:
    head = "dry run" if r.dry_run else "run"
    lines = [f"strategies {head} as of {r.as_of.isoformat()}"]
    if not r.runs:
        lines.append("  no active strategies")
    for x in r.runs:
        if x.status in ("not_due", "already_ran", "paused"):
            lines.append(f"  {x.strategy}: {x.reason}")
            continue
        removed = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in x.removed.items() if v)
        lines.append(
            f"  {x.strategy}: {x.matched} matched; removed: {removed or 'none'}; "
            f"{x.targets} targets, {x.control} control"
        )
        for o in x.offers:
            label = f"variant {o.variant} " if o.variant else ""
            ids = ""
            if detail and o.user_ids:
                shown = ", ".join(o.user_ids[:10])
                ids = f": {shown}" + (
                    f" (and {len(o.user_ids) - 10} more)" if len(o.user_ids) > 10 else ""
                )
            lines.append(f"    {label}{o.channel}: {o.offer}: {o.targets}{ids}")
        if x.file:
            lines.append(f"    file {x.file}")
    shared = [o for o in r.overlaps if o.users]
    if shared:
        lines.append("overlaps (users both would want; the higher priority takes them):")
        lines.extend(f"  {o.a} & {o.b}: {o.users}" for o in shared)
    return lines


@strategy.command("overlaps")
@DB_ARGUMENT
@click.argument("names", nargs=-1)
@JSON_OPTION
def overlaps_cmd(db: str, names: tuple[str, ...], as_json: bool) -> None:
    """How many users each pair of strategies would both want today (before anything runs)."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        pairs = st.overlaps(conn, list(names) or None)
    if as_json:
        click.echo(
            json.dumps(
                [{"a": o.a, "b": o.b, "users": o.users} for o in pairs],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if not pairs:
        click.echo("fewer than two strategies: no pairs")
    for o in pairs:
        click.echo(f"{o.a} & {o.b}: {o.users}")


@strategy.command("report")
@DB_ARGUMENT
@click.argument("name")
@click.option(
    "--window",
    type=click.IntRange(min=1),
    default=None,
    metavar="DAYS",
    help="Days after each run (default: the setting).",
)
@JSON_OPTION
def report_cmd(db: str, name: str, window: int | None, as_json: bool) -> None:
    """The effect of a strategy: per run and cumulative, targets vs control, with intervals."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        rep = st.report(conn, name, window_days=window)
    if as_json:
        click.echo(json.dumps(report_json(rep), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(report_lines(rep)))


def _run_json(e: st.RunEffect) -> dict[str, Any]:
    c = e.conversion
    rev = e.revenue_per_user
    return {
        **({"date": e.date.isoformat()} if e.date else {}),
        "targets": e.targets.users,
        "control": e.control.users,
        "offer": e.offer,
        "conversion_target": e.targets.conversion,
        "conversion_control": e.control.conversion,
        "uplift": c.absolute if c else None,
        "ci_low": c.low if c else None,
        "ci_high": c.high if c else None,
        "mde": e.mde,
        "revenue_per_user_target": e.targets.revenue_per_user,
        "revenue_per_user_control": e.control.revenue_per_user,
        "revenue_uplift": rev.absolute if rev else None,
        "revenue_ci_low": rev.low if rev else None,
        "revenue_ci_high": rev.high if rev else None,
        "complete": e.complete,
        "reason": e.reason or None,
        "empty": e.empty,
    }


def report_json(r: st.StrategyReport) -> dict[str, Any]:
    return {
        "strategy": r.strategy,
        "as_of": r.as_of.isoformat(),
        "window_days": r.window_days,
        "runs": [_run_json(e) for e in r.runs],
        "cumulative": _run_json(r.cumulative),
        "variants": [
            {
                "variant": v.variant,
                "channel": v.channel,
                "offer": v.offer,
                "targets": v.targets.users,
                "conversion_target": v.targets.conversion,
                "uplift": v.conversion.absolute if v.conversion else None,
                "ci_low": v.conversion.low if v.conversion else None,
                "ci_high": v.conversion.high if v.conversion else None,
            }
            for v in r.variants
        ],
        "warning": r.warning or None,
        "methods": {
            "conversion": r.conversion_method,
            "revenue_per_user": r.revenue_method,
            "mde": r.mde_method,
        },
    }


def _pct_ci(u: Any) -> str:
    return f"uplift {u.absolute * 100:+.1f} pts [{u.low * 100:+.1f}, {u.high * 100:+.1f}]"


def _effect_line(label: str, e: st.RunEffect) -> str:
    if e.empty:  # it ran and selected nobody: no groups, no reading
        return f"{label}  {e.reason}"
    sizes = f"{e.targets.users} targets / {e.control.users} control"
    conv = f"conversion {e.targets.conversion * 100:.1f} % vs {e.control.conversion * 100:.1f} %"
    mde = f"MDE {e.mde * 100:.1f} pts" if e.mde is not None else "MDE n/a"
    stat = _pct_ci(e.conversion) if e.conversion else f"n/a ({e.reason})"
    rev = ""
    if e.revenue_per_user:
        u = e.revenue_per_user
        rev = f"; revenue/user {u.absolute:+.2f} [{u.low:+.2f}, {u.high:+.2f}]"
    part = "" if e.complete or e.conversion is None else " (window not over)"
    return f"{label}  {sizes}  {conv}  {stat}{rev}  {mde}{part}"


def report_lines(r: st.StrategyReport) -> list[str]:
    lines = [
        f"strategy {r.strategy}: effect as of {r.as_of.isoformat()}, "
        f"{r.window_days}-day window from the day after each run"
    ]
    if not r.runs:
        lines.append("  no runs yet")
    for e in r.runs:
        lines.append(_effect_line(f"  {e.date.isoformat() if e.date else ''}", e))
    lines.append(_effect_line("  cumulative", r.cumulative))
    for v in r.variants:
        stat = _pct_ci(v.conversion) if v.conversion else "n/a"
        lines.append(
            f"  variant {v.variant} ({v.channel}: {v.offer}): {v.targets.users} targets, "
            f"conversion {v.targets.conversion * 100:.1f} %, vs control {stat}"
        )
    if r.warning:
        lines.append(f"warning: {r.warning}")
    lines.append(f"conversion: {r.conversion_method}")
    lines.append(f"revenue per user: {r.revenue_method}")
    lines.append(f"MDE: {r.mde_method}")
    return lines


@strategy.command("settings")
@DB_ARGUMENT
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder the target files are written to.",
)
@click.option(
    "--window",
    type=click.IntRange(min=1),
    default=None,
    metavar="DAYS",
    help="Effect window after each run.",
)
@click.option(
    "--cap",
    default=None,
    metavar="K/N",
    help="Global frequency cap: at most K targetings in N days (strategies and campaigns).",
)
@click.option("--no-cap", is_flag=True, help="Remove the frequency cap.")
def settings_cmd(
    db: str, out_dir: str | None, window: int | None, cap: str | None, no_cap: bool
) -> None:
    """Show or change the target-file folder, the effect window and the frequency cap."""
    with database(db, engines=WRITE_ENGINES) as conn:
        if out_dir is not None:
            st.set_out_dir(conn, out_dir)
        if window is not None:
            st.set_window_days(conn, window)
        if cap is not None and no_cap:
            fail("--cap and --no-cap exclude each other")
        if cap is not None:
            times, sep, days = cap.partition("/")
            if not sep or not times.strip().isdigit() or not days.strip().isdigit():
                fail(f"--cap {cap!r}: write K/N, e.g. 2/7 (at most 2 targetings in 7 days)")
            set_frequency_cap(conn, int(times), int(days))
        if no_cap:
            set_frequency_cap(conn, None)
        found = frequency_cap(conn)
        click.echo(f"target files   {st.out_dir(conn)}")
        click.echo(f"effect window  {st.window_days(conn)} days")
        click.echo("frequency cap  " + (f"{found[0]} in {found[1]} days" if found else "none"))


@cli.group("control")
def control() -> None:
    """The global control group: a fixed, seeded share of users nothing ever targets."""


@control.command("set")
@DB_ARGUMENT
@click.option(
    "--global",
    "pct",
    type=float,
    required=True,
    metavar="PCT",
    help="Share of all users (0 turns it off).",
)
@click.option("--seed", type=int, default=0, show_default=True)
def control_set_cmd(db: str, pct: float, seed: int) -> None:
    """Set the global control group's share and seed (every user is drawn again)."""
    with database(db, engines=WRITE_ENGINES) as conn:
        got = set_global_control(conn, pct, seed=seed)
    click.echo(
        f"global control: {got.users:,} of {got.of_users:,} users ({got.pct:g} %, seed {got.seed})"
    )


@control.command("show")
@DB_ARGUMENT
def control_show_cmd(db: str) -> None:
    """The global control group's share, seed and size."""
    with database(db, readonly=True, engines=WRITE_ENGINES) as conn:
        got = get_global_control(conn)
    if got.pct <= 0:
        click.echo("no global control group (`userops control set DB --global PCT`)")
        return
    click.echo(
        f"global control: {got.users:,} of {got.of_users:,} users ({got.pct:g} %, seed {got.seed})"
    )


def _line(s: st.Strategy) -> str:
    return (
        f"{s.action_text}, {s.mode.replace('_', ' ')}, holdout {s.holdout_pct:g} %, "
        f"priority {s.priority}, {s.schedule.text}, {s.status}"
    )


def _strategy_json(s: st.Strategy) -> dict[str, Any]:
    return {
        "name": s.name,
        "condition": s.condition,
        "mode": s.mode,
        "channel": s.channel,
        "offer": s.offer,
        "offers_by": s.offers_by,
        "offers": s.offers,
        "variants": [{"channel": v.channel, "offer": v.offer} for v in s.variants],
        "holdout_pct": s.holdout_pct,
        "seed": s.seed,
        "cooldown_days": s.cooldown_days,
        "max_per_run": s.max_per_run,
        "priority": s.priority,
        "schedule": s.schedule.text,
        "status": s.status,
        "include_contact": s.include_contact,
    }


def _summary_json(r: st.StrategySummary) -> dict[str, Any]:
    u = r.latest
    return {
        **_strategy_json(r.strategy),
        "last_run": r.last_run.isoformat() if r.last_run else None,
        "runs": r.runs,
        "last_targets": r.last_targets,
        "last_control": r.last_control,
        "last_empty": r.last_empty,
        "latest_uplift": u.absolute if u else None,
        "latest_ci_low": u.low if u else None,
        "latest_ci_high": u.high if u else None,
        "cumulative_uplift": r.cumulative.absolute if r.cumulative else None,
        "cumulative_ci_low": r.cumulative.low if r.cumulative else None,
        "cumulative_ci_high": r.cumulative.high if r.cumulative else None,
    }
