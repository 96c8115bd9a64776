"""User-supplied text as it is shown: control characters made visible, so that a name, a city
or a campaign name can never clear the screen, retitle the window or emit a hyperlink.

The one function both the CLI and the app render user text through (docs/reliability.md,
"Outputs"). Markup is a separate matter: the app and the CLI print user text with markup off.
"""

from __future__ import annotations

import re

# C0 controls (ESC, BEL, CR, backspace …), DEL, C1 controls (U+009B is CSI on some terminals),
# and the bidirectional overrides and isolates that reorder what follows them on screen.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    # C0 as \x1b (what operators read in a log); the rest as \u009b, which JSON also reads
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"


def visible(text: str, *, keep: str = "") -> str:
    """``text`` with every control character written out: ESC becomes the four characters
    ``\\x1b``, CSI (U+009B) ``\\u009b``, a right-to-left override ``\\u202e``. Characters in
    ``keep`` (e.g. a newline in multi-line output) stay as they are."""
    if not _CONTROL.search(text):
        return text
    if not keep:
        return _CONTROL.sub(_shown, text)
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else _shown(m), text)


def visible_value(value: object) -> str:
    """Any cell value as visible text ('' for None)."""
    return "" if value is None else visible(str(value))
