"""The app's main screens and dialogs as named states, shared by the language test
(test_chinese.py) and the size snapshots (test_snapshots_sizes.py).

A state is a name and the steps that bring a freshly started app there: keys to press, a
profile to open. Add a screen by adding one ``State`` to ``STATES``; both tests pick it up.
The database is a small demo (``small_demo``): default tags, events of every kind, models
fitted, a campaign with targets, control and a start date, a saved segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from textual.widgets import Input
from tui_helpers import counts_done, settle

DEMO_USERS = 400
DEMO_SEED = 7


@dataclass(frozen=True)
class State:
    name: str
    keys: tuple[str, ...] = ()  # pressed in order, the app settled after each group
    text: str = ""  # then typed (a condition, a search)
    profile: str | None = None  # open this user's profile first
    then: tuple[str, ...] = ()  # a second key group (after the first settled)
    wait: float = 0.0


def typed(text: str) -> tuple[str, ...]:
    """Keys that type ``text`` (space as the key name)."""
    return tuple("space" if ch == " " else ch for ch in text)


STATES: tuple[State, ...] = (
    State("users"),
    State("users_filter", ("f",), "count(login, 30d) >= 1 and device = 'iOS'", wait=0.6),
    State("users_filter_error", ("f",), "citty = 1", wait=0.6),
    State("users_search", ("slash",), "U00001", then=("enter",)),
    State("profile", profile="U000016"),
    State("layers", ("L",)),
    State("rfm", ("R",)),
    State("rfm_form", ("R",), then=("e",)),
    State("rfm_cells", ("R",), then=("v",)),
    State("tags", ("T",)),
    State("segments", ("S",), "rfm_group = 'important_value'", wait=0.6),
    State("segments_save", ("S",), "frequency >= 3", then=("ctrl+s",), wait=0.6),
    State("campaigns", ("c",)),
    State("campaign_effect", ("c",), then=("w", "enter")),
    State("campaign_new", ("c",), then=("n",)),
    State("campaign_add", ("c",), then=("a",)),
    State("campaign_export", ("c",), then=("x",)),
    State("campaign_send", ("c",), then=("ctrl+s",)),
    State("models", ("P",)),
    State("strategies", ("A",), wait=0.6),
    State("help_users", ("question_mark",)),
)
BY_NAME = {s.name: s for s in STATES}
# The main screens, as the size snapshots take them (test_snapshots_sizes.py).
MAIN_SCREENS = ("users", "profile", "layers", "rfm", "rfm_form", "tags", "segments", "campaigns",
                "models")  # fmt: skip


def build_small_demo(path: Path) -> Path:
    """The demo data at DEMO_USERS users, recomputed, with a campaign and a saved segment."""
    from core.audience import campaigns as cmp
    from core.audience import segments
    from core.ingest.demo import DEMO_AS_OF, build_demo
    from core.pipeline import recompute
    from core.rules.tags import install_defaults_once
    from core.store.db import open_db, set_meta

    conn = open_db(path, create=True)
    build_demo(conn, n_users=DEMO_USERS, seed=DEMO_SEED, as_of=DEMO_AS_OF)
    install_defaults_once(conn, as_of=DEMO_AS_OF)
    recompute(conn, DEMO_AS_OF)
    segments.save(conn, "高价值", "rfm_group = 'important_value'", "RFM 重要价值", as_of=DEMO_AS_OF)
    conn.execute("UPDATE segments SET created_at = '2025-11-01', updated_at = '2025-11-01'")
    at = datetime(2025, 11, 1, 10, 0)  # audit times in the snapshots: fixed
    cmp.create_campaign(conn, "双十一", channel="coupon", offer="满200减30",
                        start=date(2025, 11, 1), who="test", at=at)  # fmt: skip
    compiled = segments.condition_for(conn, "frequency >= 2", as_of=DEMO_AS_OF)
    cmp.add_from_segment(conn, "双十一", compiled, holdout_pct=20, seed=1,
                         exclude_targeted_within_days=None, as_of=DEMO_AS_OF, who="test",
                         source="frequency >= 2", at=at)  # fmt: skip
    set_meta(conn, "features_computed_at", "2025-11-30T08:00:00")  # the wall clock, else
    conn.close()
    return path


def demo_app(db: Path, lang: str):
    """The app on the small demo, as of the demo's date."""
    from core.ingest.demo import DEMO_AS_OF
    from tui.app import Settings, UserOpsApp

    return UserOpsApp(Settings(db, DEMO_AS_OF, lang, False))


def still(app) -> None:
    for box in app.screen.query(Input):
        box.cursor_blink = False


async def reach(pilot, state: State) -> None:
    """Bring the app to ``state`` and let it settle (workers done, cursors still)."""
    app = pilot.app
    await settle(app, pilot)
    if state.profile:
        app.open_profile(state.profile)
        await settle(app, pilot)
    for group in (state.keys + typed(state.text), state.then):
        if group:
            await pilot.press(*group)
            await pilot.pause(state.wait)
            await settle(app, pilot)
            await counts_done(app, pilot)
    still(app)
