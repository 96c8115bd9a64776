"""The screens' footer: Textual's, recomposed only when what it shows changes.

Textual's Footer rebuilds all its keys on every bindings signal (each focus change, each
``refresh_bindings``), ~40 ms of styling per rebuild even when the keys are the same: the app
spent a third of a campaign session's CPU there. This one compares what it would show with what
it shows and skips the rebuild when they are equal.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    _shown: tuple | None = None

    def _keys(self) -> tuple:
        """What compose() would draw from the active bindings: each shown key's text and state."""
        app = self.app
        return (
            app.app_focus,
            self.compact,
            self.show_command_palette,
            tuple(
                (b.key, app.get_key_display(b), b.description, b.action, enabled, tooltip, b.group)
                for key, (_, b, enabled, tooltip) in self.screen.active_bindings.items()
                if b.show or key == app.COMMAND_PALETTE_BINDING
            ),
        )

    def shows(self, action: str) -> bool:
        """Does the footer show the key of ``action`` now?"""
        return self._shown is not None and any(key[3] == action for key in self._shown[3])

    def compose(self):
        if self._bindings_ready:
            self._shown = self._keys()
        yield from super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        showing = self.is_attached and screen is self.screen and self._bindings_ready
        if showing and self._keys() == self._shown:
            return
        super().bindings_changed(screen)
