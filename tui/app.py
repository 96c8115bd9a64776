"""UserOpsApp: the Textual application over a userops database.

The app holds the settings (database path, as-of date, language, privacy mode) and the labels;
screens read them (attributes down). Worker failures from every screen end up in
:meth:`UserOpsApp.report_worker_error`, the one place errors are routed to the operator.
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen

from core.errors import CoreError
from core.store.db import data_version, open_db
from core.store.engines import ENGINES
from core.views.text import visible
from tui.cli.common import REFRESH_ENGINES
from tui.i18n import Labels
from tui.messages import DataWritten, OpenUsers, Reload
from tui.providers import UserJumpProvider
from tui.screens.modals import HelpModal, TooSmall
from tui.screens.users import Drill, UsersScreen
from tui.widgets import query_runner

if TYPE_CHECKING:
    from core.refresh import RefreshReport

MIN_WIDTH, MIN_HEIGHT = 60, 16
WRITE_GROUPS = ("write", "rfm.write", "campaigns.add")  # the worker groups of the app's writes


@dataclass(frozen=True)
class Settings:
    db_path: Path
    as_of: date  # the date the figures describe: the features' own (docs/architecture.md)
    lang: str = "en"
    mask: bool = False
    latest: date | None = None  # the latest date in the data (imports move it, not as_of)
    engine: str = "sqlite"  # the database's engine (core.store.engines): duckdb, chdb read-only
    read_only: bool = False  # userops DB --read-only: nothing is written, every save refused


# The screens the app opens on each engine other than SQLite (docs/engines.md); the others say
# in one line that they do not run there yet. The saves run on tui.cli.common.WRITE_ENGINES
# (tui.widgets.writes), the refresh (F5) on REFRESH_ENGINES: the CLI's gates.
READ_SCREENS = ("layers", "rfm", "tags", "segments", "campaigns", "models", "strategies")
SCREENS_ON = {"duckdb": READ_SCREENS, "chdb": READ_SCREENS}


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
        Binding(
            "A",
            "analytics('strategies')",
            "Strategies",
            id="app.strategies",
            tooltip="Strategies: IF-THEN rules run on every refresh, with a control group",
        ),
        Binding(
            "f5",
            "refresh_data",
            "Refresh",
            id="app.refresh",
            tooltip="Refresh the figures to the latest date in the data (userops refresh)",
            show=False,  # in the help, the palette and the status line's hint; the footer is full
        ),
    ]

    WATCH_INTERVAL = 1.0  # seconds between two looks at the database's data_version

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        if settings.engine != "sqlite":  # readers open it on its engine, writers refuse
            query_runner.ENGINE_OF[str(settings.db_path)] = settings.engine
        if settings.read_only:  # every save refused (query_runner.refuse_writes)
            query_runner.OPENED_READ_ONLY.add(str(settings.db_path))
        self.labels = Labels(settings.lang)
        self.current_campaign: str | None = None  # where space marks users (campaign screen)
        self._watch: sqlite3.Connection | None = None  # kept open: data_version is per connection
        self._seen_version = 0
        self._unannounced: int | None = None  # a new version looked at once, not yet announced

    # ---------------------------------------------------------------- freshness

    def on_mount(self) -> None:
        """Watch the database for commits of other processes (the CLI, a second app): only the
        pragma runs on the UI thread, on a timer; the screens reload in their own workers.
        (DuckDB: nothing to watch; while the app reads the file, no other process can write it.)"""
        if self.settings.engine == "duckdb":
            self.keep_duckdb()
        if self.settings.engine != "sqlite":
            return
        try:
            self._watch = open_db(self.settings.db_path, readonly=True)
            self._seen_version = data_version(self._watch)
        except (CoreError, sqlite3.Error):
            self._watch = None  # the screens report an unreadable database themselves
            return
        self.set_interval(self.WATCH_INTERVAL, self.watch_database, name="watch-database")

    @work(thread=True, group="open", exit_on_error=False)
    def keep_duckdb(self) -> None:
        """Open the DuckDB connection the app keeps (query_runner.keep_duckdb), writable when it
        can be; when another process has the file open it is read-only, and the app says so
        once, in one line (its saves say it again)."""
        path = self.settings.db_path
        try:
            query_runner.keep_duckdb(path)
        except CoreError:
            return  # a file it cannot read: the screens say so themselves
        reason = query_runner.read_only_reason(path)
        if reason is not None and not self.settings.read_only:  # asked for: nothing to say
            message = self.labels.message(reason)
            self.call_from_thread(
                self.notify, message, severity="warning", markup=False, timeout=12
            )

    def on_unmount(self) -> None:
        query_runner.release()  # DuckDB's kept connection (query_runner.KEPT)
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def watch_database(self) -> None:
        """A commit not announced by one of the app's own writes (DataWritten) is another
        program's: seen on two looks in a row with no write of the app running in between
        (an own write posts DataWritten within milliseconds of its commit)."""
        version = self._current_version()
        if version is None or version == self._seen_version:
            self._unannounced = None
            return
        if any(w.group in WRITE_GROUPS and not w.is_finished for w in self.workers):
            return  # the app is writing: its DataWritten follows
        if self._unannounced != version:
            self._unannounced = version  # looked once; an own write is announced by the next
            return
        self._seen_version, self._unannounced = version, None
        self.reload_screens(external=True)

    def _current_version(self) -> int | None:
        if self._watch is None:
            return None
        try:
            return data_version(self._watch)
        except sqlite3.Error:
            return None  # busy or gone for a moment: the next tick looks again

    @on(DataWritten)
    def _written(self, message: DataWritten) -> None:
        """The app's own write: every open screen reloads now, and the watcher takes the new
        version as seen (the write is not reported a second time as another program's)."""
        version = self._current_version()
        if version is not None:
            self._seen_version = version
        self._unannounced = None
        self.reload_screens(external=False, what=message.what)

    def reload_screens(self, *, external: bool, what: str = "") -> None:
        for screen in self.screen_stack:
            screen.post_message(Reload(external, what))

    def as_of_label(self) -> str:
        """ "as of D" for every status line, with the latest data date when it is later."""
        lab, settings = self.labels, self.settings
        text = f"{lab('as_of')} {settings.as_of}"
        if settings.latest is not None and settings.latest > settings.as_of:
            # F5 offered only where it runs (the refresh's gate), and not on a file opened
            # read-only (--read-only: the refresh is a save, refused)
            runs = settings.engine in REFRESH_ENGINES and not settings.read_only
            hint = f": {lab('refresh_hint')}" if runs else ""
            text += f" ({lab('data_to')} {settings.latest}{hint})"
        return text

    def action_refresh_data(self, ask: bool = False) -> None:
        """Refresh to the latest date in the data, or (``ask``) to a date typed in a form."""
        from tui.screens.refresh import RefreshModal  # core.refresh loads when first used
        from tui.widgets.dialogs import Field, FormModal

        if self.not_on_engine(self.labels.text("Refresh"), REFRESH_ENGINES):
            return
        if not ask:
            self.push_screen(RefreshModal(None), self._refreshed)
            return
        latest = self.settings.latest or self.settings.as_of
        fields = [Field("as_of", self.labels("refresh_to"), latest.isoformat())]

        def a_date(text: str) -> date:
            try:
                return date.fromisoformat(text.strip())
            except ValueError:
                raise CoreError(f"Not a date like 2025-12-01: {text}") from None

        def chosen(values: dict | None) -> None:
            if values is not None:  # the form refused anything but a date (it stays open)
                self.push_screen(RefreshModal(a_date(values["as_of"])), self._refreshed)

        lab = self.labels
        title = lab.text("data: Refresh to a date…")
        form = FormModal(title, fields, lab("app_refresh_ok"), lab("cancel"), {"as_of": a_date})
        self.push_screen(form, chosen)

    def _refreshed(self, report: RefreshReport | None) -> None:
        """New figures: every open screen reloads (a fresh copy of the top one, the users)."""
        if report is None:
            return
        latest = max(self.settings.latest or report.as_of, report.as_of)
        self.settings = replace(self.settings, as_of=report.as_of, latest=latest)
        lab, n = self.labels, f"{report.touched:,}"
        if report.full:
            said = lab.words("refreshed_full", d=report.as_of, why=lab.message(report.full), n=n)
        else:
            said = lab.words("refreshed_incremental", d=report.as_of, n=n)
        self.notify(said, markup=False)
        from tui.screens.profile import ProfileScreen

        stack = self.screen_stack
        base = stack[0] if stack else None
        if isinstance(base, UsersScreen):
            base.load_overview()
        top = self.screen
        if isinstance(top, ProfileScreen):
            self.pop_screen()
            self.push_screen(ProfileScreen(top.user_id))
        elif ANALYTICS.name_of(top) is not None:
            self.pop_screen()
            self.push_screen(type(top)())

    def action_command_palette(self) -> None:
        """Textual's palette, its prompt in the app's language (its entries are: _commands)."""
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            prompt = self.labels.text("Search for commands…")
            self.push_screen(CommandPalette(placeholder=prompt, id="--command-palette"))

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
        if name not in SCREENS_ON.get(self.settings.engine, ANALYTICS):
            keys = [b for b in self.BINDINGS if isinstance(b, Binding)]
            title = next(b.description for b in keys if b.action == f"analytics('{name}')")
            self.not_on_engine(self.labels.text(title))
            return
        self.back_to_users()
        self.push_screen(ANALYTICS[name]())

    def not_on_engine(self, what: str, engines: tuple[str, ...] = ("sqlite",)) -> bool:
        """On an engine not in ``engines`` (those ``what`` runs on), say in one line that
        ``what`` does not run there yet and return True; False where it runs."""
        engine = self.settings.engine
        if engine in engines:
            return False
        self.notify(
            self.labels.words("not_on_engine", what=what, engine=ENGINES[engine]),
            severity="warning",
            markup=False,
            timeout=8,
        )
        return True

    @on(OpenUsers)
    def open_users(self, message: OpenUsers) -> None:
        """The users filtered by the condition a screen asked for (a group it lists), as a list
        of their own over that screen: Escape leaves it, back where the operator came from."""
        drill = Drill(message.condition, message.title, message.compiled)
        self.push_screen(UsersScreen(drill=drill))

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
        if self.settings.engine not in REFRESH_ENGINES:  # not offered where it cannot run
            yield from self._screen_commands(screen)
            return
        yield SystemCommand(
            "data: Refresh to the latest date",
            "Bring the figures to the latest date in the data (F5)",
            self.action_refresh_data,
        )
        yield SystemCommand(
            "data: Refresh to a date…",
            "Bring the figures to a date you type",
            partial(self.action_refresh_data, True),
        )
        yield from self._screen_commands(screen)

    def _screen_commands(self, screen: Screen) -> Iterable[SystemCommand]:
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

    def name_of(self, screen: Screen) -> str | None:
        """The name of an open analytics screen (by its class's path: imports nothing)."""
        where = f"{type(screen).__module__}.{type(screen).__qualname__}"
        return next((name for name, path in self._where.items() if path == where), None)


ANALYTICS = LazyScreens(
    {
        "layers": "tui.screens.layers.LayersScreen",
        "rfm": "tui.screens.rfm.RfmScreen",
        "tags": "tui.screens.tags.TagsScreen",
        "segments": "tui.screens.segments.SegmentsScreen",
        "campaigns": "tui.screens.campaigns.CampaignsScreen",
        "models": "tui.screens.models.ModelsScreen",
        "strategies": "tui.screens.strategies.StrategiesScreen",
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
    ("strategy: Open", "Strategies: runs, control group, uplift, dry run", "strategies"),
)
USERS_COMMANDS = (
    ("users: Search", "Find users by id, name or phone", "search"),
    ("users: Filter", "Filter users with a condition in the segment language", "filter"),
    ("users: Sort by next column", "Sort the table by the next column", "sort_next"),
    ("users: Reverse sort", "Reverse the sort direction", "sort_reverse"),
    ("users: First users", "Jump to the first page", "home"),
    ("users: Last users", "Jump to the last page", "end"),
)
