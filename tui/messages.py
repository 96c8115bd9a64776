"""Messages that carry worker results back to the screens (posted from threads, handled on the UI).

Each carries the ``token`` of the request that produced it, so a screen drops stale results.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

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
class UsersCounted(Message):
    """A filter condition compiled and counted: the new listing's where clause and size."""

    token: int
    condition: str
    matching: int
    where: str
    params: dict


@dataclass
class FilterInvalid(Message):
    """A filter condition did not compile: where (0-based) and why."""

    token: int
    condition: str
    pos: int
    error: str


@dataclass
class SearchDone(Message):
    token: int
    text: str
    rows: list[UserRow]


@dataclass
class ProfileLoaded(Message):
    profile: UserProfile


@dataclass
class CompletionsFound(Message):
    token: int
    suggestions: tuple  # of tui.widgets.query_input.Suggestion


@dataclass
class PercentilesLoaded(Message):
    user_id: str
    percentiles: dict
