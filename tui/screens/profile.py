"""Everything about one user: attributes, layer and its rules, RFM standing, tags with their
reasons, predictions, behaviour, memberships, the timeline and a sparkline of monthly activity.

One column at 80×24 (scrolls), two or three at wider terminals.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Sparkline, Static

from core.views import profile as core_profile
from tui.messages import PercentilesLoaded, ProfileLoaded
from tui.screens import reader
from tui.screens.marking import MarkingScreen
from tui.widgets import user_profile as render
from tui.widgets.footer import KeysFooter
from tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from rich.console import RenderableType

WIDE, MEDIUM = 150, 100  # columns of terminal for three and two columns of sections


class ProfileScreen(MarkingScreen):
    CSS_PATH = "profile.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (MEDIUM, "-medium"), (WIDE, "-wide")]
    HELP = """
## User profile
Everything about one user. Scroll with the arrow keys or PageUp/PageDown; **Escape** goes back.
**space** marks or unmarks the user as a target of the current campaign, **u** undoes.
"""
    HELP_ZH = """
## 用户画像
一个用户的全部信息。用方向键或 PageUp/PageDown 滚动；**Escape** 返回。
**space** 标记或取消标记该用户为当前活动的目标，**u** 撤销。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding(
            "escape", "app.pop_screen", "Back", id="profile.back", tooltip="Back to the users list"
        ),
        Binding(
            "pagedown",
            "page_down",
            "Scroll",
            show=False,
            id="profile.page_down",
            tooltip="Scroll down one screenful",
        ),
        Binding(
            "pageup",
            "page_up",
            "Scroll up",
            show=False,
            id="profile.page_up",
            tooltip="Scroll up one screenful",
        ),
    ]

    def __init__(self, user_id: str) -> None:
        super().__init__()
        self.user_id = user_id
        self.profile: core_profile.UserProfile | None = None

    def compose(self) -> ComposeResult:
        labels = self.app.labels
        yield Static(labels("loading"), id="title", markup=False)
        with VerticalScroll(id="sections"):
            for key in render.SECTIONS:
                section = Static("", id=f"section-{key}", classes="section", markup=False)
                section.border_title = labels(key)
                yield section
            with Vertical(id="section-activity", classes="section") as box:
                box.border_title = labels("activity")
                yield Sparkline([], id="sparkline")
                yield Static("", id="months", markup=False)
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#sections").focus()
        self.query_one(StatusLine).text = f"{self.app.labels('profile')} · {self.user_id}"
        self.load_profile()
        self.refresh_marks()

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def load_profile(self) -> None:
        settings = self.app.settings
        with reader(settings.db_path) as conn:
            found = core_profile.profile(conn, self.user_id, settings.as_of, with_percentiles=False)
        self.post_message(ProfileLoaded(found))

    @work(thread=True, exclusive=True, group="percentiles", exit_on_error=False)
    def load_percentiles(self, features: dict) -> None:
        """Where the user stands among all buyers: counted after the rest is on screen."""
        with reader(self.app.settings.db_path) as conn:
            shares = core_profile.rfm_percentiles(conn, features)
        self.post_message(PercentilesLoaded(self.user_id, shares))

    @on(PercentilesLoaded)
    def _percentiles(self, message: PercentilesLoaded) -> None:
        if self.profile is not None and message.user_id == self.user_id:
            self.profile = replace(self.profile, rfm_percentiles=message.percentiles)
            section = self.query_one("#section-rfm", Static)
            section.update(render.rfm(self.profile, self.app.labels))

    @on(ProfileLoaded)
    def _loaded(self, message: ProfileLoaded) -> None:
        p, labels, mask = message.profile, self.app.labels, self.app.settings.mask
        self.profile = p
        self.query_one("#title", Static).update(render.title(p, labels))
        content: dict[str, RenderableType] = {
            "attributes": render.attributes(p, labels, mask),
            "layer_rule": render.layer(p, labels),
            "rfm": render.rfm(p, labels),
            "predictions": render.predictions(p, labels),
            "behaviour": render.behaviour(p, labels),
            "tag_dims": render.tags(p, labels),
            "segments": render.memberships(p, labels),
            "timeline": render.timeline(p, labels),
        }
        for key, renderable in content.items():
            self.query_one(f"#section-{key}", Static).update(renderable)
        months = p.monthly_activity
        self.query_one(Sparkline).data = [n for _, n in months]
        if months:
            total = sum(n for _, n in months)
            text = f"{months[0][0]} … {months[-1][0]} · max {max(n for _, n in months)} · Σ {total}"
            self.query_one("#months", Static).update(text)
        self.load_percentiles(p.features)  # the rest is on screen; the standing follows

    def refresh_data(self) -> None:
        self.load_profile()
        self.refresh_marks()

    def action_page_down(self) -> None:
        self.query_one("#sections", VerticalScroll).scroll_page_down()

    def action_page_up(self) -> None:
        self.query_one("#sections", VerticalScroll).scroll_page_up()

    # ---------------------------------------------------------------- marking (MarkingScreen)

    def shown_user_ids(self) -> list[str]:
        return [self.user_id]

    def highlighted_user_id(self) -> str | None:
        return self.user_id

    def marks_changed(self) -> None:
        text = f"{self.app.labels('profile')} · {self.user_id}"
        role = self.marking.roles().get(self.user_id)
        if self.marking.name is not None:
            mark = {"target": "● ", "control": "○ "}.get(role or "", "")
            text += f" · {mark}{self.marking_status()}"
        self.query_one(StatusLine).text = text
