"""The home screen: every user, paged by keyset from ``features``, with search, sort and filter.

State lives here (the listing: condition, order, direction; the window's offset) and flows down
into the widgets; every query runs in a thread worker that posts its result back with a token,
and results whose token is no longer current are dropped.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input
from textual.worker import get_current_worker

from core.errors import QueryError
from core.query import Compiled, compile_condition, parse
from core.views import users
from core.views.text import visible
from tui.i18n import Labels
from tui.messages import OverviewLoaded, SearchDone, UsersPageLoaded
from tui.screens import reader
from tui.screens.marking import MarkingScreen
from tui.widgets.filter_bar import FilterBar
from tui.widgets.footer import KeysFooter
from tui.widgets.live_condition import COMPLETE_GROUP, COUNT_GROUP, LiveCondition
from tui.widgets.query_input import QueryInput
from tui.widgets.segment_count import SegmentCount
from tui.widgets.status_line import StatusLine
from tui.widgets.user_table import UserTable

PAGE_SIZE = 200


@dataclass(frozen=True)
class Listing:
    """What the table lists: a compiled condition (None: every user) and an order."""

    condition: Compiled | None = None
    order: str = "user_id"
    descending: bool = False


@dataclass
class Refreshed(Message):
    """The listing read again after a write (UsersScreen.refresh_window)."""

    token: int
    overview: users.Overview
    listing: Listing
    matching: int
    page: users.Page | None  # None: only the overview (a search is shown)
    offset: int


@dataclass(frozen=True)
class Drill:
    """A list opened from another screen (a layer overlap, a tag, an RFM group …): its
    condition, and what it is for the status line ("loyal ∩ buyer")."""

    condition: str
    title: str = ""
    compiled: Compiled | None = None  # built by core (a transitions cell): never recompiled


class UsersScreen(MarkingScreen):
    CSS_PATH = "users.tcss"
    CANCELLABLE = ("page", COUNT_GROUP, COMPLETE_GROUP)
    HELP = """
## Users
All users, one page at a time. **PageDown** at the bottom fetches the next page, **G** jumps to
the last users, **g** back to the first. **Enter** opens the highlighted user's profile.
**space** marks the user as a target of the current campaign (chosen on the campaign screen),
**M** marks every filtered user, **u** undoes the last mark action.
"""
    HELP_ZH = """
## 用户列表
全部用户，一次一页。在底部按 **PageDown** 加载下一页，**G** 跳到最后面的用户，**g** 回到最前面。
**Enter** 打开高亮用户的画像。**space** 把该用户标记为当前活动（在活动页选择）的目标，
**M** 标记全部筛选出的用户，**u** 撤销上一次标记。
"""  # HELP in Chinese: change both
    BINDINGS = [
        Binding(
            "slash",
            "search",
            "Search",
            id="users.search",
            tooltip="Find users by id, name or phone",
        ),
        Binding(
            "f",
            "filter",
            "Filter",
            id="users.filter",
            tooltip="Filter with a condition, e.g. city = '上海' and r_score >= 4",
        ),
        Binding("s", "sort_next", "Sort", id="users.sort", tooltip="Sort by the next column"),
        Binding(
            "r", "sort_reverse", "Reverse", id="users.reverse", tooltip="Reverse the sort direction"
        ),
        Binding("g", "home", "First", id="users.home", tooltip="Jump to the first users"),
        Binding("G", "end", "Last", id="users.end", tooltip="Jump to the last users"),
        Binding(
            "M",
            "mark_filtered",
            "Mark all",
            id="users.mark_all",
            tooltip="Mark every filtered user as a target of the current campaign",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="users.back",
            tooltip="Leave the search, then clear the filter (a list opened from a screen: back)",
        ),
    ]

    def __init__(self, drill: Drill | None = None) -> None:
        super().__init__()
        self.drill = drill  # None: the home list of every user
        self.listing = Listing()
        self.token = 0  # the latest page/search request; older results are stale
        self.condition = ""  # the last valid filter text
        self.matching: int | None = None  # users matching the listing
        self.all_users: int | None = None
        self.window_start = 0
        self.searching: str | None = None
        self.rows: list[users.UserRow] = []  # the window the table shows
        self.overview: users.Overview | None = None

    @property
    def labels(self) -> Labels:
        return self.app.labels

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self.labels("search_hint"), id="search")
        yield FilterBar(placeholder=self.labels("filter_hint"), id="filter")
        yield UserTable(id="users")
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.table.set_columns(self.labels, "user_id", False)
        self.table.focus()
        self.load_overview()
        if self.drill is not None and self.drill.compiled is not None:
            self.listing = Listing(condition=self.drill.compiled)  # counted and listed at once
            self.refresh_data()
        elif self.drill is not None:
            self.filter_by(self.drill.condition)  # counted, then listed (LiveCondition.Counted)

    @property
    def table(self) -> UserTable:
        return self.query_one(UserTable)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    # ---------------------------------------------------------------- workers (threads)

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def load_overview(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            overview = users.overview(conn)
        self.post_message(OverviewLoaded(overview))
        parse("city = 'x'")  # builds the grammar once here, not on the first profile or filter

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def refresh_window(
        self, token: int, listing: Listing, first: users.UserRow | None, offset: int
    ) -> None:
        """The same window read again after a write: the overview, the condition compiled and
        counted anew, the rows from the one before ``first`` (the window's first row, at
        ``offset``; the window stays where it was, so the rows under the cursor stay)."""
        settings = self.app.settings
        with reader(settings.db_path) as conn:
            overview = users.overview(conn)
            condition = listing.condition
            if condition is not None and not self.is_frozen(condition):
                # compiled anew: a segment it names may have changed; one that no longer
                # compiles keeps its last compiled form
                with suppress(QueryError):
                    condition = compile_condition(conn, condition.text, as_of=settings.as_of)
            listing = replace(listing, condition=condition)
            kw: dict[str, Any] = dict(
                condition=condition, order=listing.order, descending=listing.descending
            )
            matching = users.count(conn, condition)
            prior = None
            if first is not None and offset > 0:  # at the top: the first page, new rows too
                before = users.page_before(conn, before=first.key(listing.order), limit=1, **kw)
                prior = before.rows[-1].key(listing.order) if before.rows else None
            page = users.page(conn, after=prior, limit=PAGE_SIZE, **kw)
            offset = min(offset, max(0, matching - len(page.rows))) if prior is not None else 0
        if not get_current_worker().is_cancelled:
            self.post_message(Refreshed(token, overview, listing, matching, page, offset))

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def fetch_page(self, token: int, listing: Listing, how: str, key, offset: int) -> None:
        kw: dict[str, Any] = dict(
            condition=listing.condition,
            order=listing.order,
            descending=listing.descending,
            limit=PAGE_SIZE,
        )
        with reader(self.app.settings.db_path) as conn:
            if how == "next":
                page = users.page(conn, after=key, **kw)
            elif how == "previous":
                page = users.page_before(conn, before=key, **kw)
            elif how == "end":
                page = users.last_page(conn, **kw)
            else:
                page = users.page(conn, **kw)
        if not get_current_worker().is_cancelled:
            at_end = how in ("previous", "end")
            self.post_message(UsersPageLoaded(token, page, offset, cursor_at_end=at_end))

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def run_search(self, token: int, text: str) -> None:
        with reader(self.app.settings.db_path) as conn:
            rows = users.search(conn, text, limit=PAGE_SIZE)
        if not get_current_worker().is_cancelled:
            self.post_message(SearchDone(token, text, rows))

    # ---------------------------------------------------------------- results (UI thread)

    @on(OverviewLoaded)
    def _overview(self, message: OverviewLoaded) -> None:
        self._take_overview(message.overview)
        if self.drill is None:
            self.matching = self.all_users
            self.reload("first")
        else:  # the drilled list's rows come with its condition's count (_counted)
            self.refresh_status()

    def _take_overview(self, overview: users.Overview) -> None:
        self.overview = overview
        self.app.labels.layer_names = overview.layer_names
        self.table.hidden = overview.hidden_columns
        self.table.extra = overview.extra_columns
        self.all_users = overview.users
        self.query_one(SegmentCount).total = self.all_users

    def refresh_data(self) -> None:
        """After a write (in the app or by another process): the overview, the count and the
        rows of the same window read again; a search runs again."""
        self.token += 1
        if self.searching is not None:
            self.load_overview_only()
            self.run_search(self.token, self.searching)
            return
        first = self.rows[0] if self.rows else None
        self.refresh_window(self.token, self.listing, first, self.window_start)

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def load_overview_only(self) -> None:
        with reader(self.app.settings.db_path) as conn:
            overview = users.overview(conn)
        self.post_message(Refreshed(-1, overview, self.listing, self.matching or 0, None, 0))

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        self._take_overview(message.overview)
        if message.page is None:  # the overview only (a search is shown)
            self.refresh_status()
            return
        if message.token != self.token:
            return  # the operator paged, sorted or filtered since
        now, then = self.listing.condition, message.listing.condition
        if (now is None) != (then is None) or (now and then and now.text != then.text):
            return  # filtered differently since
        self.listing, self.matching = message.listing, message.matching
        self.filter_bar.counter.matching = message.matching
        keep = self.table.highlighted_user()
        row = self.table.cursor_row
        self._page(UsersPageLoaded(message.token, message.page, message.offset))
        ids = self.table.shown_user_ids()
        if ids:
            target = ids.index(keep) if keep in ids else min(row, len(ids) - 1)
            self.table.move_cursor(row=target, animate=False)

    def reload(self, how: str, key=None, offset: int = 0) -> None:
        self.token += 1
        self.fetch_page(self.token, self.listing, how, key, offset)

    @on(UsersPageLoaded)
    def _page(self, message: UsersPageLoaded) -> None:
        if message.token != self.token:
            return  # a newer request superseded this one
        page = message.page
        self.window_start = message.offset
        if message.offset < 0:  # counted back from the end
            self.window_start = max(0, (self.matching or 0) - len(page.rows))
        self.rows = page.rows
        self.table.has_more, self.table.has_previous = page.has_more, page.has_previous
        self.table.show_rows(page.rows, self.labels, cursor_at_end=message.cursor_at_end)
        self.refresh_status()
        self.refresh_marks()

    @on(SearchDone)
    def _searched(self, message: SearchDone) -> None:
        if message.token != self.token:
            return
        self.searching = message.text
        self.window_start = 0
        self.rows = message.rows
        self.table.has_more = self.table.has_previous = False
        self.table.show_rows(message.rows, self.labels)
        self.table.focus()
        self.refresh_status()
        self.refresh_marks()

    @on(LiveCondition.Counted)
    def _counted(self, message: LiveCondition.Counted) -> None:
        # the filter bar drops stale counts: this is the current condition
        self.condition, self.matching = message.condition.text, message.matching
        self.listing = replace(self.listing, condition=message.condition)
        self.searching = None
        self.reload("first")

    @on(LiveCondition.Cleared)
    def _cleared(self) -> None:
        """The filter bar was emptied: every user again (not "The condition is empty")."""
        if self.listing.condition is None:
            return  # nothing was filtered (or Escape cleared it already)
        self.condition, self.matching = "", self.all_users
        self.listing = replace(self.listing, condition=None)
        self.searching = None
        self.reload("first")

    # the table keeps the last valid result when the condition is invalid (LiveCondition.Invalid)

    @on(QueryInput.Accepted)
    def _filter_done(self) -> None:
        self.table.focus()

    def action_filter(self) -> None:
        self.filter_bar.reveal(self.table.take_typeahead())

    def filter_by(self, condition: str) -> None:
        """List the users matching ``condition`` (the language), as if typed in the filter bar."""
        self.action_filter()
        self.filter_bar.set_condition(condition)  # counts and lists as if typed
        self.table.focus()

    def query_cancelled(self) -> None:
        self.query_one(SegmentCount).pending = False  # the last count and rows stay

    def refresh_status(self) -> None:
        lab, ov = self.labels, self.overview
        settings = self.app.settings
        parts = []
        rows = self.table.row_count
        what = self.what_is_listed()
        if self.searching is not None:
            parts.append(f"{lab('search_results')} “{self.searching}”: {rows} {lab('matches')}")
        elif what:  # "loyal ∩ buyer · 1,455 users · showing 1–200"
            parts += [what, f"{self.matching or 0:,} {lab('users')}"]
            if rows:
                parts.append(
                    f"{lab('showing')} {self.window_start + 1:,}–{self.window_start + rows:,}"
                )
        elif rows:
            window = f"{self.window_start + 1:,}–{self.window_start + rows:,}"
            parts.append(f"{lab('showing')} {window} {lab('of')} {self.matching or 0:,}")
        if ov is not None and ov.signed_up_later and ov.features_as_of:
            # after a refresh back to an earlier date: the users who did not exist yet
            n, day = f"{ov.signed_up_later:,}", ov.features_as_of[:10]
            parts.append(lab.words("signed_up_later", n=n, day=day))
        parts += [Path(settings.db_path).name, self.app.as_of_label()]
        if ov is not None and ov.features_computed_at:
            parts.append(f"{lab('computed')} {ov.features_computed_at[:16]}")
            if ov.features_stale:
                parts.insert(1, lab("stale"))  # early: a narrow terminal cuts the line's end
        elif ov is not None:
            parts.append(lab("not_computed"))
        if self.all_users is not None and not what:
            parts.append(f"{self.all_users:,} {lab('users')}")
        if self.marking.name is not None:
            parts.insert(1, self.marking_status())  # targets stay in view while marking
        self.query_one(StatusLine).text = " · ".join(parts)

    def is_frozen(self, condition: Compiled) -> bool:
        """Is ``condition`` the list core built for this drill-down (not in the language)?"""
        return self.drill is not None and condition is self.drill.compiled

    def what_is_listed(self) -> str:
        """The list in words: the title of a drill-down, else the filter's sentence; '' for
        every user."""
        condition = self.listing.condition
        drill = self.drill
        if drill is not None and (condition is None or condition.text == drill.condition.strip()):
            return drill.title or visible(drill.condition)
        if condition is None:
            return ""
        return visible(condition.human(self.labels.lang))

    # ---------------------------------------------------------------- table events

    @on(UserTable.NeedMore)
    def _more(self, message: UserTable.NeedMore) -> None:
        if not self.rows or self.searching is not None:
            return
        order = self.listing.order
        if message.direction == "next":
            after = self.rows[-1].key(order)
            self.reload("next", after, self.window_start + len(self.rows))
        else:
            self.reload("previous", self.rows[0].key(order), max(0, self.window_start - PAGE_SIZE))

    @on(DataTable.HeaderSelected)
    def _header(self, message: DataTable.HeaderSelected) -> None:
        column = message.column_key.value
        if column not in users.SORT_COLUMNS:
            return  # tags are not a column of features
        descending = not self.listing.descending if column == self.listing.order else False
        self.sort_by(column, descending)

    @on(DataTable.RowSelected)
    def _open(self, message: DataTable.RowSelected) -> None:
        from tui.screens.profile import ProfileScreen

        self.app.push_screen(ProfileScreen(str(message.row_key.value)))  # keys are user ids

    # ---------------------------------------------------------------- actions

    def sort_by(self, column: str, descending: bool) -> None:
        self.listing = replace(self.listing, order=column, descending=descending)
        self.table.set_columns(self.labels, column, descending)
        self.searching = None
        self.reload("first")

    def action_sort_next(self) -> None:
        columns = users.LIST_COLUMNS
        nxt = columns[(columns.index(self.listing.order) + 1) % len(columns)]
        self.sort_by(nxt, False)

    def action_sort_reverse(self) -> None:
        self.sort_by(self.listing.order, not self.listing.descending)

    def action_home(self) -> None:
        self.searching = None
        self.reload("first")

    def action_end(self) -> None:
        self.searching = None
        self.reload("end", offset=-1)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("-shown")
        self.set_focus(box)  # at once: keys typed in the same burst as `/` belong to the box
        box.insert_text_at_cursor(self.table.take_typeahead())

    @on(Input.Submitted, "#search")
    def _search(self, message: Input.Submitted) -> None:
        message.stop()
        if not message.value.strip():
            self.action_back()
            return
        self.token += 1
        self.run_search(self.token, message.value)

    def action_back(self) -> None:
        """One step back: out of the search box or the filter bar, then out of the search
        results, then (a list opened from a screen) back to that screen, else the filter off."""
        search = self.query_one("#search", Input)
        if search.has_focus or self.filter_bar.has_focus_within:
            self.table.focus()
            search.remove_class("-shown")
            return
        if self.searching is not None:
            self.searching = None
            search.value = ""
            search.remove_class("-shown")
            self.reload("first")
        elif self.drill is not None:
            self.app.pop_screen()
        elif self.listing.condition is not None or self.filter_bar.has_class("-shown"):
            self.filter_bar.conceal()
            self._cleared()

    # ---------------------------------------------------------------- marking (MarkingScreen)

    def on_screen_resume(self) -> None:
        self.refresh_marks()  # the current campaign may have changed on the campaign screen

    def shown_user_ids(self) -> list[str]:
        return self.table.shown_user_ids()

    def highlighted_user_id(self) -> str | None:
        return self.table.highlighted_user()

    def marks_changed(self) -> None:
        m, table = self.marking, self.table
        if table.mark_column != (m.name is not None):
            table.mark_column = m.name is not None
            row = table.cursor_row
            table.show_rows(self.rows, self.labels)
            table.move_cursor(row=row, animate=False)
        table.show_marks(m.roles())
        self.refresh_status()

    def action_mark_filtered(self) -> None:
        if self.searching is not None:
            self.notify(self.labels("leave_search"), markup=False)
            return
        condition = self.listing.condition
        if condition is not None and self.is_frozen(condition):
            self.confirm_mark_all(condition, self.matching or 0)  # the drilled list, as built
        else:
            self.confirm_mark_all(self.condition, self.matching or 0)
