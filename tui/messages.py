"""Messages that carry worker results back to the screens (posted from threads, handled on the UI),
and the requests screens make of the app.

A result carries the ``token`` of the request that produced it, so a screen drops stale results.
(The live condition's own messages are ``tui.widgets.live_condition.LiveCondition.Counted`` …)
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from core.query import Compiled
from core.views.profile import UserProfile
from core.views.users import Overview, Page, UserRow


@dataclass
class OverviewLoaded(Message):
    overview: Overview


@dataclass
class UsersPageLoaded(Message):
    token: int
    page: Page
    offset: int  # 0-based position of the first row among all matching users; -1: from the end
    cursor_at_end: bool = False


@dataclass
class SearchDone(Message):
    token: int
    text: str
    rows: list[UserRow]


@dataclass
class ProfileLoaded(Message):
    profile: UserProfile


@dataclass
class PercentilesLoaded(Message):
    user_id: str
    percentiles: dict


@dataclass
class OpenUsers(Message):
    """A screen asks the app for the users list filtered by ``condition`` (the language, as an
    operator would type it): how the analytics screens list a group. The app handles it: the
    list opens as a screen of its own over the asking one (Escape goes back to it), its status
    line saying ``title`` (what the list is, in the app's language: "loyal ∩ buyer").
    ``compiled``: a condition core built that the language cannot say (a transitions cell's
    users); ``condition`` is then its text, never compiled again."""

    condition: str
    title: str = ""
    compiled: Compiled | None = None


@dataclass
class DataWritten(Message):
    """A write made in the app committed (thresholds, rules, marks, campaigns, segments …):
    posted by the screen that wrote, handled by the app, which reloads every open screen."""

    what: str = ""


@dataclass
class Reload(Message, bubble=False):
    """The app asks one screen to read the database again: after a write in the app, or
    (``external``) after another process changed it (SQLite's data_version moved)."""

    external: bool = False
    what: str = ""  # the app's write (DataWritten.what); "" for another program's change
