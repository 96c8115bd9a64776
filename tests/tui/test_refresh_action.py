"""F5 in the app: the refresh runs in a worker behind a progress bar, then the status line and
the open screen show the new date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from core.pipeline import recompute
from core.rules.tags import install_defaults_once
from core.store.db import open_db, set_meta
from tui.app import Settings, UserOpsApp
from tui.widgets.status_line import StatusLine


def _db(tmp_path: Path) -> Path:
    path = tmp_path / "walk.db"
    conn = open_db(path, create=True)
    conn.executemany("INSERT INTO users(user_id, name) VALUES (?, ?)", [("a", "[red]"), ("b", "b")])
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [
            ("o1", "a", 10.0, "2024-06-01"),
            ("o2", "b", 5.0, "2024-06-30"),
            ("o3", "a", 2.0, "2024-07-02"),
        ],
    )
    install_defaults_once(conn, as_of=date(2024, 6, 30))
    recompute(conn, date(2024, 6, 30))
    set_meta(conn, "data_latest", "2024-07-02")
    conn.close()
    return path


async def test_f5_refreshes_to_the_latest_date_and_reloads(tmp_path: Path) -> None:
    path = _db(tmp_path)
    settings = Settings(path, date(2024, 6, 30), "en", False, date(2024, 7, 2))
    app = UserOpsApp(settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = app.screen.query_one(StatusLine).text
        assert "as of 2024-06-30 (data to 2024-07-02: F5 refreshes)" in status
        await pilot.press("f5")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.settings.as_of == date(2024, 7, 2)
        status = app.screen.query_one(StatusLine).text
        assert "as of 2024-07-02" in status and "data to" not in status
    conn = open_db(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'features_as_of'").fetchone() == (
        "2024-07-02",
    )
    assert conn.execute("SELECT frequency FROM features WHERE user_id = 'a'").fetchone() == (2,)
    conn.close()


async def test_the_refresh_is_said_in_chinese(tmp_path: Path) -> None:
    path = _db(tmp_path)
    settings = Settings(path, date(2024, 6, 30), "zh", False, date(2024, 7, 2))
    app = UserOpsApp(settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("f5")
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
        said = [str(n.message) for n in app._notifications]
    assert said == ["截至 2024-07-02（增量刷新：重算了 1 位用户）"]  # a: a new order; b untouched
