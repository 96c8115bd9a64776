"""UserOpsApp: the Textual application over a userops database (read-only).

The app holds the settings (database path, as-of date, language, privacy mode) and the labels;
screens read them (attributes down). Worker failures from every screen end up in
:meth:`UserOpsApp.report_worker_error`, the one place errors are routed to the operator.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen

from core.errors import CoreError
from core.views.text import visible
from tui.i18n import Labels
from tui.messages import OpenUsers
from tui.providers import UserJumpProvider
from tui.screens.modals import HelpModal, TooSmall
from tui.screens.users import UsersScreen

MIN_WIDTH, MIN_HEIGHT = 60, 16


@dataclass(frozen=True)
class Settings:
    db_path: Path
    as_of: date
    lang: str = "en"
    mask: bool = False


class UserOpsApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "userops"
    COMMANDS = App.COMMANDS | {UserJumpProvider}
    MODES = {"users": UsersScreen}  # a mode (not get_default_screen) so the screen's CSS loads
    DEFAULT_MODE = "users"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave userops"),
        Binding(
            "question_mark",
            "help",
            "Help",
            id="app.help",
            tooltip="Keys of this screen and a short guide",
        ),
        Binding(
            "L",
            "analytics('layers')",
            "Layers",
            id="app.layers",
            tooltip="The layer pyramid, overlaps and gaps of the rules, transitions",
        ),
        Binding(
            "R",
            "analytics('rfm')",
            "RFM",
            id="app.rfm",
            tooltip="The 8 RFM groups, the scatter of buyers and the thresholds",
        ),
        Binding(
            "T",
            "analytics('tags')",
            "Tags",
            id="app.tags",
            tooltip="Tags by dimension with their users and model values",
        ),
        Binding(
            "S",
            "analytics('segments')",
            "Segments",
            id="app.segments",
            tooltip="Build, count, save and compare segments",
        ),
        Binding(
            "P",
            "analytics('models')",
            "Models",
            id="app.models",
            tooltip="Predictive models: fits, the model in use, holdout validation charts",
        ),
        Binding(
            "c",
            "analytics('campaigns')",
            "Campaigns",
            id="app.campaigns",
            tooltip="Campaigns: targets, control group, export, effect",
        ),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.labels = Labels(settings.lang)
        self.current_campaign: str | None = None  # where space marks users (campaign screen)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpModal):
            self.push_screen(HelpModal(self.screen))

    def open_profile(self, user_id: str) -> None:
        from tui.screens.profile import ProfileScreen  # loaded when first opened (see ANALYTICS)

        self.push_screen(ProfileScreen(user_id))

    def back_to_users(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def action_analytics(self, name: str) -> None:
        """Open the layers, RFM or tags screen over the users list (one of them at a time)."""
        self.back_to_users()
        self.push_screen(ANALYTICS[name]())

    @on(OpenUsers)
    def open_users(self, message: OpenUsers) -> None:
        """The users list filtered by the condition a screen asked for (a group it lists)."""
        self.back_to_users()
        users = self.screen
        if isinstance(users, UsersScreen):
            users.filter_by(message.condition)

    def notify(self, message: str, *, title: str = "", **options) -> None:
        """Every notification (widgets' and screens' notify() call this): names, conditions and
        error messages quoting them are user text, shown with control characters visible."""
        super().notify(visible(str(message), keep="\n"), title=visible(str(title)), **options)

    def report_worker_error(self, error: BaseException | None) -> None:
        """The single route from a failed worker to the operator: a notification, no traceback."""
        if isinstance(error, CoreError):
            message, title = self.labels.message(str(error)), self.labels.text(error.title)
            self.notify(message, title=title, severity="error", markup=False, timeout=8)
        elif error is not None:
            message = f"{type(error).__name__}: {error}"
            self.notify(
                message,
                title=self.labels.text("Unexpected error"),
                severity="error",
                markup=False,
                timeout=8,
            )

    def on_resize(self, event: Resize) -> None:
        small = event.size.width < MIN_WIDTH or event.size.height < MIN_HEIGHT
        if small and not isinstance(self.screen, TooSmall):
            self.push_screen(TooSmall(self.labels("too_small")))
        elif not small and isinstance(self.screen, TooSmall):
            self.pop_screen()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in self._commands(screen):  # in the app's language (tui.zh_texts.PHRASES)
            yield command._replace(
                title=self.labels.text(command.title), help=self.labels.text(command.help)
            )

    def _commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from tui.screens.profile import ProfileScreen

        yield from super().get_system_commands(screen)
        if isinstance(screen, UsersScreen):
            for title, help_text, action in USERS_COMMANDS:
                yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))
        if isinstance(screen, ProfileScreen):
            yield SystemCommand("profile: Back", "Back to the users list", self.pop_screen)
        for title, help_text, name in ANALYTICS_COMMANDS:
            yield SystemCommand(title, help_text, partial(self.action_analytics, name))
        for title, help_text, action in getattr(screen, "PALETTE", ()):
            yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))


class LazyScreens(Mapping[str, type[Screen]]):
    """name -> screen class, the screen's module imported when first opened: importing them all
    (plotext charts, the segment builder, campaigns) delays the first screen by ~0.15 s."""

    def __init__(self, where: dict[str, str]) -> None:
        self._where = where  # name -> "module.Class"

    def __getitem__(self, name: str) -> type[Screen]:
        module, _, cls = self._where[name].rpartition(".")
        return getattr(importlib.import_module(module), cls)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


ANALYTICS = LazyScreens(
    {
        "layers": "tui.screens.layers.LayersScreen",
        "rfm": "tui.screens.rfm.RfmScreen",
        "tags": "tui.screens.tags.TagsScreen",
        "segments": "tui.screens.segments.SegmentsScreen",
        "campaigns": "tui.screens.campaigns.CampaignsScreen",
        "models": "tui.screens.models.ModelsScreen",
    }
)
ANALYTICS_COMMANDS = (
    ("layers: Open", "The layer pyramid, MECE report and transitions", "layers"),
    ("rfm: Open", "The 8 RFM groups, scatter of buyers, thresholds", "rfm"),
    ("tags: Open", "Tags by dimension, their users and model values", "tags"),
    ("segment: Open builder", "Build, count, save and compare segments", "segments"),
    ("campaign: Open", "Campaigns: targets, control group, export, effect", "campaigns"),
    ("models: Open", "Predictive models, the one in use, holdout validation", "models"),
    ("campaign: Set current", "Open the campaigns; Enter makes one current", "campaigns"),
)
USERS_COMMANDS = (
    ("users: Search", "Find users by id, name or phone", "search"),
    ("users: Filter", "Filter users with a condition in the segment language", "filter"),
    ("users: Sort by next column", "Sort the table by the next column", "sort_next"),
    ("users: Reverse sort", "Reverse the sort direction", "sort_reverse"),
    ("users: First users", "Jump to the first page", "home"),
    ("users: Last users", "Jump to the last page", "end"),
)
