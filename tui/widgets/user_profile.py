"""Sections of the user profile, rendered from a ``UserProfile`` (attributes down, no I/O).

Every value from the database goes into rich ``Text``/``Table`` cells, never into markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from core.analytics.coverage import EVENT_COLUMNS
from core.store import columns
from core.views.profile import UserProfile
from core.views.text import visible, visible_value
from core.views.users import masked
from tui.i18n import Labels

# The profile's sections, in the order the screen and `userops user` show them.
SECTIONS = (
    "attributes",
    "layer_rule",
    "rfm",
    "predictions",
    "behaviour",
    "tag_dims",
    "segments",
    "timeline",
)

# (column, label key, format) of the predictions section: the model columns, in the order and
# with the header and format the column registry gives them (core.store.columns).
PREDICTIONS = tuple((c.name, c.name, c.fmt) for c in columns.profile_rows("predictions"))

# What the user did, newest signals first: the behavioural tag dimension's inputs, named as the
# condition language names them (so what is read here can be typed in a filter). Which columns,
# in which order: Column.profile in the registry.
BEHAVIOUR = tuple(c.name for c in columns.profile_rows("behaviour"))
ALL_EVENT_KINDS = frozenset(k for kinds in EVENT_COLUMNS.values() for k in kinds)
BEHAVIOUR_FORMAT = {c.name: c.fmt for c in columns.profile_rows("behaviour") if c.fmt != "{}"}


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _text(value: Any) -> Text:
    return Text(visible_value(value))


def title(p: UserProfile, labels: Labels) -> Text:
    name = p.attributes.get("name") or ""
    line = Text(f"{visible(name)}  ", style="bold")
    line.append(f"{visible(p.user_id)} · {labels.layer(p.layer)}")
    group = p.features.get("rfm_group")
    if group:
        line.append(f" · {labels.group(group)}")
    return line


def attributes(p: UserProfile, labels: Labels, mask: bool) -> Table:
    """Every attribute but those nobody in this data has (named once, on the last line)."""
    grid = _grid()
    shown = masked(p.attributes, p.personal) if mask else p.attributes
    absent = [k for k in shown if p.unmeasured.get(k, ("",))[0] == "attribute"]
    for key, value in shown.items():
        if key not in absent:
            grid.add_row(Text(visible(labels.column(key))), _text(value))
    if absent:
        names = ", ".join(labels.column(k) for k in absent)
        grid.add_row(Text(labels("not_in_data"), style="dim"), Text(names, style="dim"))
    return grid


def _rule_line(check, labels: Labels, mark: str, unmeasured: bool = False) -> Text:
    name = check.name_zh if labels.lang == "zh" else check.name_en
    line = Text(f"{mark} {visible(name)}: ")
    line.append(visible(check.condition), style="italic")
    if check.error:
        line.append(f"  ({visible(check.error)})", style="red")
    if unmeasured:  # decided on what this data does not record
        line.append(f"  ({labels('rule_unmeasured')})", style="dim")
    return line


def layer(p: UserProfile, labels: Labels) -> Group:
    lines = [Text(labels.layer(p.layer), style="bold")]
    if p.layer_rule is not None:
        lines.append(_rule_line(p.layer_rule, labels, "✓"))
    if p.rules_not_met:
        lines.append(Text(labels("not_met"), style="dim"))
        lines += [
            _rule_line(c, labels, "✗" if c.met is False else "?", c.key in p.rules_unmeasured)
            for c in p.rules_not_met
        ]
    return Group(*lines)


def rfm(p: UserProfile, labels: Labels) -> Table | Text:
    f = p.features
    if not f.get("frequency"):
        return Text(labels("not_buyer"))
    grid = _grid()
    group = f.get("rfm_group")
    grid.add_row(Text(labels("rfm_group")), Text(f"{labels.group(group)} ({group or ''})"))
    rows = (
        ("r", "recency", f"{f.get('recency_days')} {labels('days')}", f.get("r_score")),
        ("f", "frequency", str(f.get("frequency")), f.get("f_score")),
        ("m", "monetary", f"{f.get('monetary') or 0:,.2f}", f.get("m_score")),
    )
    for dim, label, value, score in rows:
        share = p.rfm_percentiles.get(dim)
        where = "" if share is None else f" · {labels('beats')} {share:.0%}"
        grid.add_row(Text(f"{dim.upper()} {labels(label)}"), Text(f"{value} · {score}/5{where}"))
    return grid


def tags(p: UserProfile, labels: Labels) -> Table:
    grid = _grid()
    for dimension, infos in p.tags.items():
        for i, info in enumerate(infos):
            why = Text(visible(info.condition), style="italic")
            for fieldname, value in info.model_values.items():
                why.append(f"  {fieldname} = {value if value is None else round(value, 3)}")
            head = Text(labels(dimension) if i == 0 else "")
            grid.add_row(head, Text.assemble(Text(visible(info.name), style="bold"), "  ", why))
    if not grid.rows:
        grid.add_row(Text(labels("none")), Text(""))
    return grid


MODEL_NAMES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "mbgnbd": "MBG/NBD"}
# the 90 % interval columns shown after a value (parameter uncertainty)
INTERVALS = {
    "expected_purchases_90d": ("expected_purchases_90d_low", "expected_purchases_90d_high"),
    "clv": ("clv_low", "clv_high"),
}


def chance_alive(value: float, note: str | None, labels: Labels) -> str:
    """P(alive) in words that match the maths: never a flat "100 %" (a percentage that rounds
    to 100 says "over 99 %"); for a single purchase day, the model has nothing on the buyer's
    rhythm yet, and BG/NBD's 1 for them means "not estimated", not "certainly active"."""
    if note == "one_purchase" and value >= 0.995:
        return labels("alive_unknown")
    shown = labels("over_99") if value >= 0.995 else f"{value:.0%}"
    if note:
        shown += f" ({labels(note)})"
    return shown


def predictions(p: UserProfile, labels: Labels) -> Table | Text:
    grid = _grid()
    for column, label, fmt in PREDICTIONS:
        value = p.features.get(column)
        if value is None and column == "p_alive" and p.prediction_note == "one_purchase":
            # not estimated (BG/NBD assumes a one-time buyer alive): said, not left out
            grid.add_row(Text(labels(label)), Text(labels("alive_unknown")))
            continue
        if value is None:
            continue
        if column == "p_alive":
            shown = chance_alive(value, p.prediction_note, labels)
        else:
            shown = fmt.format(value)
            low, high = (p.features.get(c) for c in INTERVALS.get(column, ("", "")))
            if low is not None and high is not None:
                shown += f" ({fmt.format(low)}–{fmt.format(high)})"
        grid.add_row(Text(labels(label)), Text(shown))
    if grid.rows and p.prediction_model:
        name = MODEL_NAMES.get(p.prediction_model, p.prediction_model)
        grid.add_row(Text(labels("model")), Text(f"{name} · {labels('interval_note')}"))
    return grid if grid.rows else Text(labels("no_model"))


def behaviour(p: UserProfile, labels: Labels) -> Table | Text:
    """The behaviour columns the user has a value for (a kind never seen has no 'days since');
    those this data does not measure are named as such, grouped by reason, never shown as 0."""
    grid = _grid()
    missing: dict[tuple[str, str], list[str]] = {}  # reason -> the columns it leaves out
    for column in BEHAVIOUR:
        value = p.features.get(column)
        if column in p.unmeasured:  # e.g. no such events in this data: not a 0
            missing.setdefault(p.unmeasured[column], []).append(labels.field(column))
        elif value is not None:
            shown = BEHAVIOUR_FORMAT.get(column, "{}").format(value)
            grid.add_row(Text(labels.field(column)), Text(shown))
    kinds = {k for why, what in missing for k in what.split("/") if why == "events"}
    lines = [
        f"{', '.join(names)}: {unmeasured_why(reason, labels)}"
        for reason, names in missing.items()
        if not (kinds >= ALL_EVENT_KINDS and reason[0] == "events")
    ]
    if kinds >= ALL_EVENT_KINDS:  # order-only data: one short line for everything from events
        lines.insert(0, labels("no_events_at_all"))
    for line in lines:
        grid.add_row(Text(labels("not_measured"), style="dim"), Text(line, style="dim"))
    return grid if grid.rows else Text(labels("none"))


def unmeasured_why(reason: tuple[str, str], labels: Labels) -> str:
    """Why a column is not measured, in the UI's language."""
    kind, what = reason
    if kind == "events":
        return labels("no_events").format(kinds=" / ".join(what.split("/")))
    if kind == "attribute":
        return labels("no_attribute").format(column=labels.column(what))
    return labels("no_time_of_day")


def _table(heading: str) -> Table:
    table = Table(heading, "", "", box=None, padding=(0, 1), show_edge=False)
    table.columns[0].no_wrap = True
    return table


def timeline(p: UserProfile, labels: Labels) -> Group:
    orders = _table(labels("orders"))
    for order_id, at, amount in p.orders:
        orders.add_row(Text(at[:16]), Text(f"{amount:,.2f}", justify="right"), _text(order_id))
    events = _table(labels("events"))
    for kind, at, value in p.events:
        events.add_row(Text(at[:16]), Text(labels.kind(kind)), _text(value))
    return Group(orders, Text(""), events)


def memberships(p: UserProfile, labels: Labels) -> Table:
    grid = _grid()
    grid.add_row(Text(labels("segments")), Text(visible(", ".join(p.segments)) or labels("none")))
    if not p.campaigns:
        grid.add_row(Text(labels("campaigns")), Text(labels("none")))
    for i, (campaign, role, added_at) in enumerate(p.campaigns):
        head = Text(labels("campaigns") if i == 0 else "")
        grid.add_row(head, Text(f"{visible(campaign)} · {labels(role)} · {added_at[:10]}"))
    return grid
