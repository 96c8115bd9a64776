"""Renderers of the campaign screen (attributes down, no I/O): the add report, the effect report,
and the forms' fields. Names and texts from the database go into ``Text``, never markup."""

from __future__ import annotations

from datetime import date
from typing import overload

from rich.console import Group
from rich.table import Table
from rich.text import Text

from core.audience.campaigns import CHANNELS, AddReport, check_holdout
from core.audience.effect import EffectReport, Uplift
from core.errors import CoreError
from core.views.text import visible
from tui.i18n import Labels
from tui.widgets.dialogs import Field


def add_report_text(campaign: str, report: AddReport, labels: Labels) -> str:
    excluded = report.excluded_already_in + report.excluded_recently_targeted
    return labels.words(
        "added_note", campaign=campaign, n=f"{report.candidates:,}",
        t=f"{report.added_targets:,}", c=f"{report.added_control:,}", x=f"{excluded:,}",
        a=f"{report.excluded_already_in:,}", r=f"{report.excluded_recently_targeted:,}",
    )  # fmt: skip


def _uplift_line(title: str, u: Uplift, percent: bool, labels: Labels) -> Text:
    def show(x: float) -> str:
        return f"{x * 100:+.2f} pp" if percent else f"{x:+,.2f}"

    rel = "" if u.relative is None else f" ({u.relative:+.1%})"
    line = Text(f"{title}: ", style="bold")
    line.append(f"{show(u.absolute)}{rel}, {labels('ci95')} {show(u.low)} … {show(u.high)}")
    line.append(f"\n  {labels('method_word')}: {labels.text(u.method)}", style="dim")
    return line


def effect_view(report: EffectReport, labels: Labels) -> Group:
    head = Text(
        f"{visible(report.campaign)}: {report.start} – {report.end} ({report.window_days} "
        f"{labels('days')}), {labels('as_of')} {report.as_of}"
    )
    if report.observed_end is not None and not report.complete:
        incomplete = labels.words("window_incomplete", day=report.observed_end)
        head.append(f" · {incomplete}", style="yellow")
    table = Table(box=None, padding=(0, 2))
    columns = (
        "",
        labels("count"),
        labels("converted"),
        labels("conversion"),
        labels("revenue_user"),
    )
    for column in columns:
        table.add_column(column, justify="right" if column else "left")
    for name, g in ((labels("target"), report.targets), (labels("control"), report.control)):
        table.add_row(
            name,
            f"{g.users:,}",
            f"{g.converted:,}",
            f"{g.conversion:.1%}",
            f"{g.revenue_per_user:,.2f}",
        )
    parts: list = [head, table]
    if report.reason:
        reason = visible(labels.message(report.reason))
        parts.append(Text(labels.words("not_enough", reason=reason), style="bold yellow"))
    else:
        assert report.conversion is not None and report.revenue_per_user is not None
        conversion, revenue = labels("uplift_conversion"), labels("uplift_revenue")
        parts.append(_uplift_line(conversion, report.conversion, True, labels))
        parts.append(_uplift_line(revenue, report.revenue_per_user, False, labels))
    return Group(*parts)


def create_fields(as_of: date, labels: Labels) -> list[Field]:
    channels = tuple((labels.channel(c), c) for c in CHANNELS)
    return [
        Field("name", labels("f_name")),
        Field("channel", labels("f_channel"), CHANNELS[0], channels),
        Field("offer", labels("f_offer")),
        Field("start", labels.words("f_start", as_of=as_of)),
    ]


def add_fields(segment_names: list[str], labels: Labels) -> list[Field]:
    hint = ", ".join(segment_names[:6]) or labels("none_saved")
    return [
        Field("source", labels.words("f_source", hint=hint)),
        Field("holdout", labels("f_holdout"), "10"),
        Field("within", labels("f_within"), "7"),
        Field("seed", labels("f_seed"), "0"),
    ]


def export_fields(campaign: str, labels: Labels) -> list[Field]:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in campaign)
    return [
        Field("path", labels("f_path"), f"{safe}-targets.csv"),
        Field("columns", labels("f_columns"), "user_id,name,city"),
        Field("contact", labels("f_contact"), False),
    ]


@overload
def whole_number(text: str, what: str, *, empty: int) -> int: ...
@overload
def whole_number(text: str, what: str, *, empty: None = None) -> int | None: ...
def whole_number(text: str, what: str, *, empty: int | None = None) -> int | None:
    """An operator's number from a form; the error says which field is wrong."""
    text = str(text).strip()
    if not text:
        return empty
    try:
        return int(text)
    except ValueError:
        raise CoreError(f"{what}: {text!r} is not a whole number", title="Invalid input") from None


def percent(text: str, what: str) -> float:
    try:
        return float(str(text).strip().rstrip("%") or "0")
    except ValueError:
        raise CoreError(f"{what}: {text!r} is not a number", title="Invalid input") from None


def holdout(text: str, what: str = "Holdout") -> float:
    """The control group's share from a form: a number, 0 up to (not including) 100."""
    pct = percent(text, what)
    check_holdout(pct)
    return pct


def create_checks() -> dict:
    """What the "New campaign" form refuses before it closes (FormModal checks)."""
    return {"start": lambda v: day(v, "Start date")}


def add_checks() -> dict:
    return {
        "holdout": holdout,
        "within": lambda v: whole_number(v, "Exclude targeted within"),
        "seed": lambda v: whole_number(v, "Seed", empty=0),
    }


def day(text: str, what: str) -> date | None:
    """An ISO date from a form, or None when left empty."""
    text = str(text).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CoreError(
            f"{what}: {text!r} is not a date like 2024-07-01", title="Invalid input"
        ) from None
