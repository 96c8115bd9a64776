"""``userops user DB ID [--json]``: one user's profile, as the profile screen shows it.

The profile comes from core.views.profile (one read, the percentiles included) and is drawn by
the profile screen's own section renderers (tui.widgets.user_profile: rich only, no textual),
so the two never disagree. ``--json`` writes the same profile as data.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict
from datetime import date
from typing import Any

import click

from tui.cli import cli
from tui.cli.common import (
    DB_ARGUMENT,
    ISO_DATE,
    READ_ENGINES,
    condition_as_of,
    database,
    unfiltered,
)

BARS = " ▁▂▃▄▅▆▇█"


@cli.command("user")
@DB_ARGUMENT
@click.argument("user_id")
@click.option("--as-of", "as_of", type=ISO_DATE, help="As-of date (default: the features').")
@click.option("--json", "as_json", is_flag=True, help="The profile as JSON.")
@click.option(
    "--lang", type=click.Choice(["zh", "en"]), help="Language (default: from the locale)."
)
@click.option("--mask", is_flag=True, help="Mask personal columns (phone, e-mail, ID …).")
def user_cmd(
    db: str, user_id: str, as_of: date | None, as_json: bool, lang: str | None, mask: bool
) -> None:
    """One user's profile: layer and its rules, RFM standing, predictions, tags, timeline."""
    from core.views import profile as core_profile
    from core.views.users import layer_rules

    with database(db, readonly=True, engines=READ_ENGINES) as conn:
        day = condition_as_of(conn, as_of)
        found = core_profile.profile(conn, user_id, day)
        names = {key: (zh, en) for key, zh, en, _ in layer_rules(conn)}
    if as_json:
        click.echo(json.dumps(profile_data(found, day, mask), ensure_ascii=False, indent=2))
        return
    from tui.i18n import Labels, default_lang

    show(found, Labels(lang or default_lang(), names), mask)


def profile_data(p: Any, as_of: date, mask: bool) -> dict[str, Any]:
    """The profile as JSON-able data: sets become sorted lists, NaN and infinities null."""
    from core.views.users import masked

    data = asdict(p)
    data["personal"] = sorted(p.personal)
    if mask:
        data["attributes"] = masked(p.attributes, p.personal)
    data["as_of"] = as_of.isoformat()
    return _finite(data)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(value)
    return value


def show(p: Any, labels: Any, mask: bool) -> None:
    """The profile screen's sections, one after another, on standard output."""
    from rich.console import Console
    from rich.text import Text

    from tui.widgets import user_profile as render

    content = {
        "attributes": render.attributes(p, labels, mask),
        "layer_rule": render.layer(p, labels),
        "rfm": render.rfm(p, labels),
        "predictions": render.predictions(p, labels),
        "behaviour": render.behaviour(p, labels),
        "tag_dims": render.tags(p, labels),
        "segments": render.memberships(p, labels),
        "timeline": render.timeline(p, labels),
    }
    # rich's own styles are escape codes; every database value in the renderers is visible()
    console = Console(file=unfiltered(sys.stdout), highlight=False, markup=False, emoji=False)
    console.print(render.title(p, labels))
    for key in render.SECTIONS:
        console.print()
        console.print(Text(labels(key), style="bold underline"))
        console.print(content[key])
    months = p.monthly_activity
    if months:
        console.print()
        console.print(Text(labels("activity"), style="bold underline"))
        console.print(Text(sparkline([n for _, n in months])))
        total = sum(n for _, n in months)
        top = max(n for _, n in months)
        console.print(Text(f"{months[0][0]} … {months[-1][0]} · max {top} · Σ {total}"))


def sparkline(values: list[int]) -> str:
    """One block character per value, scaled to the largest (a blank for 0)."""
    top = max(values, default=0)
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[0] if v <= 0 else BARS[max(1, round(v / top * 8))] for v in values)
