"""Renderers of the Strategies screen (attributes down, no I/O): the list's cells, a sparkline
of the runs, the report's rows, the dry run and the live preview as text. Names, offers and
conditions from the database go into ``Text``, never markup."""

from __future__ import annotations

from rich.text import Text

from core.audience import strategies as st
from core.audience.effect import Uplift
from core.views.text import visible
from tui.i18n import Labels

BARS = "▁▂▃▄▅▆▇█"


GAP = " "  # a run that selected nobody: no reading, not a zero


def sparkline(values: list[float | None], empty: list[bool] | None = None) -> str:
    """One character per value, scaled between the smallest and largest; ``·`` for no value,
    a gap for a run that selected nobody (``empty``: left out of the scale)."""
    gaps = empty or [False] * len(values)
    known = [v for v, e in zip(values, gaps, strict=True) if v is not None and not e]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v, e in zip(values, gaps, strict=True):
        if e:
            out.append(GAP)
        elif v is None:
            out.append("·")
        elif span == 0:
            out.append(BARS[len(BARS) // 2])
        else:
            out.append(BARS[round((v - low) / span * (len(BARS) - 1))])
    return "".join(out)


def points(x: float) -> str:
    """An absolute conversion uplift in percentage points, signed."""
    return f"{x * 100:+.1f}"


def uplift_ci(u: Uplift | None) -> str:
    """``+3.2 [+0.4, +6.0]`` (points), or empty without enough data."""
    if u is None:
        return ""
    return f"{points(u.absolute)} [{points(u.low)}, {points(u.high)}]"


def status_word(s: st.Strategy, labels: Labels) -> str:
    return labels("st_active") if s.active else labels("st_paused")


def summary_cells(r: st.StrategySummary, labels: Labels) -> tuple[Text, ...]:
    """One row of the strategies list."""
    s = r.strategy
    series = [p.uplift for p in r.series]
    empty = [p.empty for p in r.series]
    if not any(v is not None for v in series):  # nothing measured yet: the targets' trend
        series = [float(p.targets) for p in r.series]
    nobody = Text(labels("st_nobody_new"), style="dim", justify="right")
    return (
        Text(visible(s.name)),
        Text(status_word(s, labels), style="" if s.active else "yellow"),
        Text(labels.schedule(s.schedule)),
        Text(str(r.last_run or "")),
        nobody if r.last_empty else Text(f"{r.last_targets:,}", justify="right"),
        Text("" if r.last_empty else f"{r.last_control:,}", justify="right"),
        Text(uplift_ci(r.latest), justify="right"),
        Text(sparkline(series, empty)[-24:]),
        Text(uplift_ci(r.cumulative), justify="right"),
    )


SUMMARY_COLUMNS = (
    "st_strategy",
    "status",
    "st_schedule",
    "st_last_run",
    "st_targets",
    "st_control",
    "st_uplift",
    "st_trend",
    "st_cum_uplift",
)
# Under WIDE_COLUMNS of screen width the list keeps what tells strategies apart (the schedule,
# the trend and the cumulative uplift are in the report under it), with a shorter header.
NARROW_SUMMARY_COLUMNS = (
    "st_strategy",
    "status",
    "st_last_run",
    "st_targets",
    "st_control",
    "st_uplift",
)
NARROW_HEADERS = {"st_uplift": "st_uplift_short"}
WIDE_COLUMNS = 120


def summary_columns(width: int) -> tuple[str, ...]:
    """The list's columns for a screen ``width`` columns wide."""
    return SUMMARY_COLUMNS if width >= WIDE_COLUMNS else NARROW_SUMMARY_COLUMNS


REPORT_COLUMNS = (
    "st_date",
    "st_targets",
    "st_control",
    "st_conv_t",
    "st_conv_c",
    "st_uplift_ci",
    "st_mde",
    "st_offer",
)
# Narrow, the report keeps the sizes, conversions and uplift (the small-holdout warning under it
# says when the MDE is too large; variants are listed there too); an open window is marked "*".
NARROW_REPORT_COLUMNS = REPORT_COLUMNS[:6]
NARROW_HEADERS["st_uplift_ci"] = "st_uplift_short"


def report_columns(width: int) -> tuple[str, ...]:
    """The report's columns for a screen ``width`` columns wide."""
    return REPORT_COLUMNS if width >= WIDE_COLUMNS else NARROW_REPORT_COLUMNS


def effect_cells(e: st.RunEffect, labels: Labels, *, narrow: bool = False) -> tuple[Text, ...]:
    """One row of the report: a run (its date) or the cumulative row."""
    when = str(e.date) if e.date is not None else labels("st_cumulative")
    if e.empty:  # it ran and selected nobody: no groups to read
        blank = Text("")
        nobody = Text(labels("st_nobody_new"), style="dim", justify="right")
        return (Text(when), blank, blank, blank, blank, nobody, blank, Text(visible(e.offer)))
    stat = uplift_ci(e.conversion) or "n/a"
    if e.conversion is not None and not e.complete:
        stat += " *" if narrow else f" ({labels('st_open')})"
    mde = f"{e.mde * 100:.1f}" if e.mde is not None else ""
    return (
        Text(when, style="" if e.date is not None else "bold"),
        Text(f"{e.targets.users:,}", justify="right"),
        Text(f"{e.control.users:,}", justify="right"),
        Text(f"{e.targets.conversion:.1%}", justify="right"),
        Text(f"{e.control.conversion:.1%}", justify="right"),
        Text(stat, justify="right"),
        Text(mde, justify="right"),
        Text(visible(e.offer)),
    )


def report_note(r: st.StrategyReport, labels: Labels, *, narrow: bool = False) -> Text:
    """Under the report: the small-holdout warning first, why there is no uplift, the window,
    the variants, the methods."""
    out = Text()
    shown = [*r.runs, r.cumulative]
    if narrow and any(e.conversion is not None and not e.complete for e in shown):
        out.append(f"* {labels('st_open')}\n", style="dim")
    if r.warning:
        out.append(
            f"{labels('st_warning')}: {visible(labels.message(r.warning))}\n", style="yellow"
        )
    reasons = []
    if r.runs and r.cumulative.conversion is None and r.cumulative.reason:
        reasons.append((labels("st_cumulative"), r.cumulative.reason))
    last = r.runs[-1] if r.runs else None
    new = last is not None and last.conversion is None and last.reason
    if last is not None and new and (not reasons or reasons[0][1] != last.reason):
        reasons.append((str(last.date), last.reason))
    if last is not None and last.empty:  # the reason is not an n/a: nobody to measure
        reasons = [(w, y) for w, y in reasons if y != last.reason]
        out.append(f"{last.date}: {visible(labels.message(last.reason))}\n", style="dim")
    for where, why in reasons:
        out.append(f"{where} n/a: {visible(labels.message(why))}\n", style="dim")
    out.append(labels("st_window").format(n=r.window_days))
    out.append(f" · {labels('as_of')} {r.as_of}")
    if not r.runs:
        out.append(f" · {labels('st_no_runs')}")
    for v in r.variants:
        out.append(
            f"\n{labels('st_variant')} {v.variant} ({visible(v.channel)}: {visible(v.offer)}): "
            f"{v.targets.users:,} {labels('st_targets_word')}, {v.targets.conversion:.1%}  "
            f"{uplift_ci(v.conversion)}"
        )
    methods = f"{labels.text(r.conversion_method)}; MDE: {labels.text(r.mde_method)}"
    out.append(f"\n{labels('st_method')}: {methods}", style="dim")
    return out


def removed_text(removed: dict[str, int], labels: Labels) -> str:
    shown = [f"{labels('rm_' + k)} {v:,}" for k, v in removed.items() if v]
    return ", ".join(shown) or labels("st_none")


def dry_run_text(r: st.RunReport, labels: Labels) -> Text:
    """A dry run: per strategy its matches, what each limit removed, targets and control, the
    offers with their counts, then the overlaps."""
    out = Text(labels("st_dry_title").format(d=r.as_of), style="bold")
    if not r.runs:
        out.append(f"\n  {labels('st_nothing')}")
    for x in r.runs:
        out.append(f"\n{visible(x.strategy)}", style="bold")
        if x.status in ("not_due", "already_ran", "paused"):
            out.append(f": {visible(labels.message(x.reason))}", style="dim")
            continue
        out.append(
            f": {labels('st_matched')} {x.matched:,} · {labels('st_removed')}: "
            f"{removed_text(x.removed, labels)} · {x.targets:,} {labels('st_targets_word')}, "
            f"{x.control:,} {labels('control')}"
        )
        for o in x.offers:
            label = f"{labels('st_variant')} {o.variant} " if o.variant else ""
            out.append(f"\n    {label}{visible(o.channel)}: {visible(o.offer)}: {o.targets:,}")
    shared = [o for o in r.overlaps if o.users]
    if shared:
        out.append(f"\n{labels('st_overlap_pairs')}:")
        for pair in shared:
            out.append(f"\n  {visible(pair.a)} & {visible(pair.b)}: {pair.users:,}")
    return out


def preview_text(p: st.Preview, labels: Labels) -> Text:
    """The form's live count: who would be targeted today, what the limits removed, overlaps."""
    run = p.run
    out = Text(
        labels("st_preview").format(
            matched=p.matched, wanted=p.wanted, targets=run.targets, control=run.control
        )
    )
    out.append(f"\n{labels('st_removed')}: {removed_text(run.removed, labels)}")
    if p.overlaps:
        pairs = ", ".join(f"{visible(k)} {v:,}" for k, v in sorted(p.overlaps.items()))
        out.append(f"\n{labels('st_overlaps')}: {pairs}")
    else:
        out.append(f"\n{labels('st_overlaps')}: {labels('st_no_overlaps')}")
    return out
