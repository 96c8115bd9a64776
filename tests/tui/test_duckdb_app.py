"""The app on a DuckDB copy, read-only (docs/engines.md): the users list, the filter, search and
the profile show what they show on SQLite; the tags, segments, models and strategies screens
open without an error; the screens, the refresh and the writes that do not run on DuckDB yet
say so in one line (in Chinese too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from screen_states import BY_NAME, build_small_demo, reach
from test_chinese import screen_text
from tui_helpers import settle

from core.ingest.demo import DEMO_AS_OF
from core.store.copy import copy_database
from tui.app import SCREENS_ON, Settings, UserOpsApp
from tui.widgets import query_runner


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("duckapp")
    # names of one length: the status line (left out of the comparison) then wraps alike
    db = build_small_demo(tmp / "demo.sqlite")
    copy_database(db, f"duckdb:///{tmp / 'demo.duckdb'}")
    return db, tmp / "demo.duckdb"


def app_on(path: Path, engine: str, lang: str = "en") -> tuple[UserOpsApp, list[str]]:
    app = UserOpsApp(Settings(path, DEMO_AS_OF, lang, False, engine=engine))
    said: list[str] = []
    shown = app.notify

    def notify(message: str, *, title: str = "", **options) -> None:
        if options.get("severity") in ("error", "warning"):
            said.append(f"{title}|{message}")
        shown(message, title=title, **options)

    app.notify = notify  # type: ignore[method-assign]
    return app, said


async def shown(path: Path, engine: str, state: str) -> list[str]:
    """The screen's lines in ``state``, but the status line's (it names the file)."""
    app, said = app_on(path, engine)
    async with app.run_test(size=(160, 48)) as pilot:
        await reach(pilot, BY_NAME[state])
        assert said == []
        text = screen_text(app)
    return [line for line in text.splitlines() if path.name not in line]


@pytest.mark.parametrize("state", ["users", "users_filter", "users_search", "profile"])
async def test_what_the_users_screens_show_is_sqlites(pair, state: str) -> None:
    db, duck = pair
    try:
        on_duckdb = await shown(duck, "duckdb", state)
    finally:
        query_runner.ENGINE_OF.clear()
    on_sqlite = await shown(db, "sqlite", state)
    assert on_duckdb == on_sqlite
    assert len(on_sqlite) > 40 and sum(bool(line.strip()) for line in on_sqlite) >= 10


@pytest.mark.parametrize("state", ["tags", "segments", "models", "strategies"])
async def test_these_screens_open_without_an_error(pair, state: str) -> None:
    assert state in SCREENS_ON["duckdb"]
    app, said = app_on(pair[1], "duckdb")
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await reach(pilot, BY_NAME[state])
            assert said == []
            assert type(app.screen).__name__.lower().startswith(state.rstrip("s")[:5])
    finally:
        query_runner.ENGINE_OF.clear()


@pytest.mark.parametrize(
    ("key", "what"), [("L", "Layers"), ("R", "RFM"), ("c", "Campaigns"), ("f5", "Refresh")]
)
async def test_what_does_not_run_on_duckdb_says_so(pair, key: str, what: str) -> None:
    app, said = app_on(pair[1], "duckdb")
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(app, pilot)
            await pilot.press(key)
            await settle(app, pilot)
            assert type(app.screen).__name__ == "UsersScreen"  # nothing else opened
    finally:
        query_runner.ENGINE_OF.clear()
    assert said == [
        f"|{what} does not run on DuckDB yet: use it on the SQLite database and `userops copy` "
        "it to DuckDB again"
    ]


async def test_a_write_says_so_in_chinese(pair) -> None:
    """Saving a segment from the builder: refused by the writer, translated at the boundary."""
    app, said = app_on(pair[1], "duckdb", lang="zh")
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await reach(pilot, BY_NAME["segments_save"])
            await pilot.press(*"vip", "enter")
            await settle(app, pilot)
    finally:
        query_runner.ENGINE_OF.clear()
    assert said == [
        "DuckDB|在 DuckDB 上还不能在应用里保存修改：请在 SQLite 数据库上修改，再用 `userops copy` "
        "复制到 DuckDB（docs/engines.md 说明各引擎支持什么）"
    ]
