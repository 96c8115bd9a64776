"""What a campaign's groups can show, in words: shared by the app (marking, the campaign
screen) and ``userops campaign add``; no textual import, so the CLI stays light."""

from __future__ import annotations

from core.audience.effect import MIN_GROUP_USERS, Power
from tui.i18n import Labels


def power_text(power: Power, labels: Labels) -> str:
    """The groups' sizes, the minimum detectable uplift and a warning, one or two lines."""
    base = "–" if power.base_rate is None else f"{power.base_rate:.1%}"
    if power.base_of == "all" and power.base_rate is not None:
        base += labels("power_base_all")
    mde = (
        "–" if power.mde is None else "∞" if power.mde == float("inf") else f"{power.mde * 100:.1f}"
    )
    line = labels("power_line").format(
        control=power.n_control, target=power.n_target, base=base, mde=mde
    )
    if power.warning == "control_small":
        return f"{line}\n{labels('power_control_small').format(n=MIN_GROUP_USERS)}"
    if power.warning == "mde_large":
        rel = "–" if power.relative is None else f"{power.relative:+.0%}"
        return f"{line}\n{labels('power_mde_large').format(mde=mde, rel=rel)}"
    if power.warning == "no_base_rate":
        return f"{line}\n{labels('power_no_base')}"
    return line
