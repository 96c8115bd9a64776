"""The app on a DuckDB copy and on a chDB copy (docs/engines.md): every screen and every
action that only reads shows what it shows on SQLite — the users list, filter, search,
profile, the layers (pyramid, overlaps, transitions, a drill-down), RFM (groups, 27 cells),
tags (a model output's histogram), segments (the count as you type), campaigns (targets, the
effect report), models, strategies (the dry run). F5 refreshes a chDB copy as the CLI's
refresh does; chDB's writes say in one line that they do not run there yet (in Chinese
too); on chDB the transitions from a date that was not recomputed say so in one line too. The
saves on DuckDB: test_duckdb_app_writes.py."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from screen_states import BY_NAME, State, build_small_demo, reach
from test_chinese import screen_text
from textual.worker import WorkerCancelled, WorkerFailed
from tui_helpers import app_on as helpers_app_on
from tui_helpers import settle

from core.ingest.demo import DEMO_AS_OF
from core.store.copy import copy_database
from tui.app import READ_SCREENS, SCREENS_ON
from tui.cli.common import REFRESH_ENGINES, WRITE_ENGINES
from tui.widgets import query_runner

ENGINES = ("duckdb", "chdb")


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("engineapp")
    # names of one length: the status line (left out of the comparison) then wraps alike
    db = build_small_demo(tmp / "demo.sqlite")
    copy_database(db, f"duckdb:///{tmp / 'demo.duckdb'}")
    copy_database(db, f"chdb:///{tmp / 'demo_c.chdb'}")
    return {"sqlite": db, "duckdb": tmp / "demo.duckdb", "chdb": tmp / "demo_c.chdb"}


def app_on(path: Path, engine: str, lang: str = "en"):
    return helpers_app_on(path, engine, lang, DEMO_AS_OF)


# beyond the shared states: actions that only read
ACTIONS = {
    "layers_drill": State("layers_drill", ("L",), then=("enter",)),  # the first MECE row's users
    "tags_model": State("tags_model", ("T",), then=("down",) * 14),  # a model output's histogram
    "strategies_dry_run": State("strategies_dry_run", ("A",), then=("r",), wait=0.6),
}
COMPARED = [
    "users", "users_filter", "users_search", "profile", "layers", "layers_drill", "rfm",
    "rfm_cells", "rfm_form", "tags", "tags_model", "segments", "campaigns", "campaign_effect",
    "models", "strategies", "strategies_dry_run",
]  # fmt: skip
# chDB has no TEMP tables: the transitions from the date 30 days back (no layer history in the
# small demo) say so in one line; the rest of the layers screen is compared by its report
TRANSITIONS_LINE = (
    "Transitions|No layer history on 2025-10-31: transitions from or to a date that was not "
    "recomputed do not run on chDB yet (on SQLite and DuckDB they are computed)"
)


async def steady_text(app, pilot, tries: int = 20) -> str:
    """The screen's text once two reads 0.1 s apart agree: on a loaded machine a count or a
    histogram can still be on its way when the workers first look done."""
    text = screen_text(app)
    for _ in range(tries):
        await pilot.pause(0.1)
        await settle(app, pilot)
        again = screen_text(app)
        if again == text:
            return text
        text = again
    return text


async def shown(path: Path, engine: str, state: State) -> tuple[list[str], list[str], object]:
    """The screen's lines in ``state`` but the status line's (it names the file), what was
    said as a warning or error, and the layers screen's report when it is open."""
    app, said = app_on(path, engine)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await reach(pilot, state)
            text = await steady_text(app, pilot)
            report = getattr(app.screen, "report", None)
    finally:
        query_runner.ENGINE_OF.clear()
    return [line for line in text.splitlines() if path.name not in line], said, report


@pytest.mark.parametrize("name", COMPARED)
async def test_what_the_screens_show_is_sqlites(dbs, name: str) -> None:
    """Each state once on SQLite, then on each engine (one test per state: under xdist a
    per-engine test made each worker reach SQLite's state again)."""
    state = BY_NAME.get(name) or ACTIONS[name]
    on_sqlite, said_lite, expected = await shown(dbs["sqlite"], "sqlite", state)
    assert said_lite == []
    assert len(on_sqlite) > 40 and sum(bool(line.strip()) for line in on_sqlite) >= 10
    for engine in ENGINES:
        on_other, said, report = await shown(dbs[engine], engine, state)
        if engine == "chdb" and name == "layers":
            assert said == [TRANSITIONS_LINE]
            assert report == expected and report is not None
            continue
        transitions = engine == "chdb" and name.startswith("layers")
        assert said == ([TRANSITIONS_LINE] if transitions else []), engine
        assert on_other == on_sqlite, engine


def test_every_screen_opens_on_both() -> None:
    assert set(READ_SCREENS) == {"layers", "rfm", "tags", "segments", "campaigns", "models",
                                 "strategies"}  # fmt: skip
    assert SCREENS_ON["duckdb"] == SCREENS_ON["chdb"] == READ_SCREENS


def test_the_refresh_runs_on_both() -> None:
    assert {"sqlite", *ENGINES} <= set(REFRESH_ENGINES)  # F5 too: one gate


async def test_f5_refreshes_a_chdb_copy(dbs, tmp_path: Path) -> None:
    """F5 on a chDB copy (the app's saves do not run there; its refresh does, all or nothing:
    tests/core/test_chdb_refresh.py): to the latest date in the data, what the CLI's refresh
    gives on the SQLite file, said as on SQLite; the status line moves to it."""
    from core.refresh import refresh
    from core.store.db import open_db
    from core.store.engines import open_database

    lite_path = tmp_path / "f5.sqlite"
    lite_path.write_bytes(dbs["sqlite"].read_bytes())
    copy_database(lite_path, f"chdb:///{tmp_path / 'f5.chdb'}")
    app, said = app_on(tmp_path / "f5.chdb", "chdb")
    shown: list[str] = []  # every notification (on a loaded machine one can expire unread)
    notify = app.notify

    def noted(message: str, **options) -> None:
        shown.append(str(message))
        notify(message, **options)

    app.notify = noted  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(app, pilot)
            await pilot.press("f5")
            for _ in range(200):  # the refresh's worker, then the screens reload
                await pilot.pause(0.1)
                with contextlib.suppress(WorkerCancelled, WorkerFailed):  # a reload's
                    await app.workers.wait_for_complete()
                if app.settings.as_of != DEMO_AS_OF:
                    break
            await settle(app, pilot)
            assert app.settings.as_of > DEMO_AS_OF
            assert f"as of {app.settings.as_of}" in screen_text(app)
    finally:
        query_runner.ENGINE_OF.clear()
    assert said == []
    lite = open_db(lite_path)
    ch = open_database(f"chdb:///{tmp_path / 'f5.chdb'}")
    try:
        report = refresh(lite)
        assert report.full == "" and report.as_of == app.settings.as_of
        assert shown == [f"as of {report.as_of} (incremental; {report.touched:,} users recomputed)"]
        query = "SELECT user_id, layer, rfm_group, recency_days, p_alive FROM features"
        assert sorted(ch.execute(query).fetchall()) == sorted(lite.execute(query).fetchall())
    finally:
        lite.close()
        ch.close()


@pytest.mark.parametrize("engine", [e for e in ENGINES if e not in WRITE_ENGINES])  # chDB
async def test_a_write_says_so_in_chinese(dbs, engine: str) -> None:
    """Saving a segment from the builder: refused by the writer, translated at the boundary."""
    app, said = app_on(dbs[engine], engine, lang="zh")
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await reach(pilot, BY_NAME["segments_save"])
            await pilot.press(*"vip", "enter")
            await settle(app, pilot)
    finally:
        query_runner.ENGINE_OF.clear()
    label = {"duckdb": "DuckDB", "chdb": "chDB"}[engine]
    assert said == [
        f"{label}|在 {label} 上还不能在应用里保存修改：请在 SQLite 数据库上修改，再用 `userops "
        f"copy` 复制到 {label}（docs/engines.md 说明各引擎支持什么）"
    ]


async def test_the_transitions_line_in_chinese(dbs) -> None:
    app, said = app_on(dbs["chdb"], "chdb", lang="zh")
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await reach(pilot, BY_NAME["layers"])
    finally:
        query_runner.ENGINE_OF.clear()
    assert said == [
        "分层迁移|2025-10-31 没有分层历史：在 chDB 上还不能看未重算日期的分层迁移"
        "（SQLite 和 DuckDB 上会现算）"
    ]
