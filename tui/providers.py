"""Command-palette providers. Titles follow ``area: verb``; no provider touches the database."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.command import Hit, Hits, Provider

if TYPE_CHECKING:
    from tui.app import UserOpsApp


class UserJumpProvider(Provider):
    """'users: Open profile of <id>': type an id in the palette to open that user's profile."""

    async def search(self, query: str) -> Hits:
        user_id = query.strip()
        if not user_id or " " in user_id:
            return
        labels = cast("UserOpsApp", self.app).labels
        title = f"{labels.text('users: Open profile of')} {user_id}"
        yield Hit(
            0.5,
            Text(title),  # the id is the operator's text, shown literally
            partial(cast("UserOpsApp", self.app).open_profile, user_id),
            text=title,
            help=labels.text("Open the profile of the user with this id"),
        )
