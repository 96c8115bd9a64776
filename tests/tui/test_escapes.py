"""Terminal escapes in user text never reach the terminal from the app (issue 12, item 7):
names, cities, campaign names are shown with control characters made visible."""

from __future__ import annotations

from tui_helpers import make_app, settle, text_of

from core.store.db import open_db

CLEAR = "\x1b[2J"
TITLE = "\x1b]0;owned\x07"
LINK = "\x1b]8;;file:///etc/passwd\x1b\\x\x1b]8;;\x1b\\"


def _poison(db) -> None:
    conn = open_db(db)
    conn.execute("UPDATE features SET name = ?, city = ? WHERE user_id = 'u001'", (CLEAR, TITLE))
    conn.execute("UPDATE users SET name = ?, city = ? WHERE user_id = 'u001'", (CLEAR, TITLE))
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("UPDATE campaigns SET name = ? WHERE name = 'summer'", (LINK,))
    conn.execute("UPDATE campaign_members SET campaign = ? WHERE campaign = 'summer'", (LINK,))
    conn.close()


async def test_users_table_and_profile_show_escapes_as_text(sample_db):
    _poison(sample_db)
    app = make_app(sample_db)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("UserTable")
        cells = [c.plain for i in range(table.row_count) for c in table.get_row_at(i)]
        assert "\\x1b[2J" in cells and "\\x1b]0;owned\\x07" in cells
        assert not any("\x1b" in c or "\x07" in c for c in cells)
        app.open_profile("u001")
        await settle(app, pilot)
        screen = app.screen
        title = text_of(screen.query_one("#title"))
        assert "\\x1b[2J" in title and "\x1b" not in title
        attrs = text_of(screen.query_one("#section-attributes"))
        assert "\\x1b]0;owned\\x07" in attrs and "\x1b" not in attrs
        segments = text_of(screen.query_one("#section-segments"))
        assert "\\x1b]8;;file:///etc/passwd" in segments and "\x1b" not in segments


async def test_notifications_show_escapes_as_text(sample_db):
    app = make_app(sample_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.notify(f"campaign {TITLE}", title=CLEAR)
        await pilot.pause()
        (note,) = list(app._notifications)
        assert note.message == "campaign \\x1b]0;owned\\x07" and note.title == "\\x1b[2J"
