"""The app's saves on a DuckDB copy of the 60-user sample (docs/engines.md): a segment saved,
a campaign created, targets added from a segment (the holdout draws what it draws on SQLite:
tests/tui/test_campaign_screen.py), undone, a user marked by key, undone, all the filtered
users marked: the rows stored and what the screens show; a tag rule edit is saved and
re-applied; a file another program has open is read-only, said in one line at start and by a
save (which writes nothing); one another program writes is one line before the app starts.
Conditions are set in their fields, not typed key by key (Pilot's keys are the slow part)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import build_sample_db
from test_segment_builder import fill_form
from tui_helpers import AS_OF, app_on, settle

from core.rules import tags
from core.store.copy import copy_database
from core.store.duck import open_duckdb
from core.store.engines import Target, open_database
from tui.app import Settings, UserOpsApp
from tui.cli import cli
from tui.cli.common import REFRESH_ENGINES
from tui.widgets import query_runner
from tui.zh_texts import core_message

SIZE = (120, 40)


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("duckwrites")
    db = build_sample_db(tmp / "sample.db")
    copy_database(db, f"duckdb:///{tmp / 'sample.duckdb'}")
    return {"sqlite": db, "duckdb": tmp / "sample.duckdb"}


@pytest.fixture
def dbs(master: dict[str, Path], tmp_path: Path):
    """Fresh copies of the two databases for one test (the app writes to them)."""
    copies = {}
    for engine, path in master.items():
        copies[engine] = tmp_path / path.name
        shutil.copy(path, copies[engine])
    yield copies
    query_runner.ENGINE_OF.clear()


def rows(path: Path, engine: str, sql: str) -> list[tuple]:
    """Rows of the database as stored (the app closed: a connection of its own)."""
    conn = open_database(Target(engine, str(path), str(path)), readonly=True)
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


STORED = {  # what the flow writes, without the clock's timestamps
    "segments": "SELECT name, query, description FROM segments ORDER BY name",
    "campaigns": "SELECT name, channel, offer, start_date, status FROM campaigns ORDER BY name",
    "members": "SELECT user_id, role FROM campaign_members WHERE campaign = 'spring' ORDER BY 1",
    "audit": "SELECT campaign, action, n_users, detail FROM campaign_audit ORDER BY id",
}


async def segment_campaign_marks(path: Path, engine: str) -> dict[str, object]:
    """Save a segment, create a campaign, add from a segment with a holdout, undo, mark one
    user by key, undo, mark all the filtered users: what the screens show on the way."""
    app, said = app_on(path, engine)
    seen: dict[str, object] = {"said": said}
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.action_analytics("segments")
        await settle(app, pilot)
        app.screen.editor.input.value = 'tag "big_spender"'
        await pilot.pause(0.3)  # the live count's debounce
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await fill_form(app, pilot, name="big", description="spent over 1000")
        saved = app.screen.query_one("#saved")
        seen["saved"] = sorted(
            (saved.get_row_at(i)[1].plain, saved.get_row_at(i)[2].plain)
            for i in range(saved.row_count)
        )
        app.action_analytics("campaigns")
        await settle(app, pilot)
        screen = app.screen
        await pilot.press("n")
        await settle(app, pilot)
        await fill_form(app, pilot, name="spring", offer="20% off", start="2024-06-01")
        await pilot.press("a")
        await settle(app, pilot)
        await fill_form(app, pilot, source="sh_buyers", holdout="10", within="", seed="0")
        table = screen.query_one("#campaigns")
        seen["added"] = [c.plain.strip() for c in table.get_row("spring")]
        seen["targets"] = screen.query_one("#targets").row_count
        await pilot.press("u")
        await settle(app, pilot)
        seen["undone"] = [c.plain.strip() for c in table.get_row("spring")][4:6]
        await pilot.press("enter")  # spring is the current campaign: space marks users
        await settle(app, pilot)
        app.back_to_users()
        await settle(app, pilot)
        await pilot.press("down", "space")  # u002
        await settle(app, pilot)
        seen["marked"] = app.screen.query_one("StatusLine").text
        await pilot.press("u")
        await settle(app, pilot)
        app.screen.filter_by("city = '上海'")
        await pilot.pause(0.3)
        await settle(app, pilot)
        await pilot.press("M", "y")  # filter_by leaves the focus on the table
        await settle(app, pilot)
        users = app.screen.query_one("UserTable")
        seen["marks"] = [users.get_row_at(i)[0].plain for i in range(users.row_count)]
    for name, sql in STORED.items():
        seen[name] = rows(path, engine, sql)
    return seen


async def test_segment_campaign_and_marks(dbs) -> None:
    path = dbs["duckdb"]
    seen = await segment_campaign_marks(path, "duckdb")
    assert seen["said"] == []
    assert seen["saved"] == [("big", "31"), ("sh_buyers", "10")]
    assert seen["added"] == ["spring", "push", "draft", "2024-06-01", "7", "3"]  # as on SQLite
    assert seen["targets"] == 7 and seen["undone"] == ["0", "0"]
    assert "spring: 1 target · 0 control" in seen["marked"]  # type: ignore[operator]
    assert seen["marks"] == ["●"] * 10
    assert seen["segments"] == [
        ("big", 'tag "big_spender"', "spent over 1000"),
        ("sh_buyers", "city = '上海'", ""),
    ]
    assert seen["campaigns"] == [
        ("spring", "push", "20% off", "2024-06-01", "draft"),
        ("summer", "push", "", None, "draft"),
    ]
    shanghai = rows(path, "duckdb", "SELECT user_id FROM users WHERE city = '上海' ORDER BY 1")
    assert seen["members"] == [(u, "target") for (u,) in shanghai] and len(shanghai) == 10
    assert [(a[1], a[2]) for a in seen["audit"] if a[0] == "spring"] == [  # type: ignore[union-attr]
        ("create", 0), ("add", 10), ("undo", 10), ("mark", 1), ("undo", 1), ("add", 10),
    ]  # fmt: skip


async def test_a_tag_edit_is_saved_and_reapplied(dbs) -> None:
    path = dbs["duckdb"]
    app, said = app_on(path, "duckdb")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("T")
        await settle(app, pilot)
        table = app.screen.query_one("#tags")
        table.move_cursor(row=table.get_row_index("big_spender"))
        await pilot.press("e")
        await settle(app, pilot)
        app.screen.query_one("#tag-condition").input.value = "monetary > 2000"
        await pilot.pause(0.3)
        await settle(app, pilot)
        app.screen.query_one("#tag-name").value = "very_big"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        shown = dict(app.screen.holders)
    assert said == []
    holders = rows(path, "duckdb", "SELECT count(*) FROM features WHERE monetary > 2000")[0][0]
    assert holders == 15 and shown["very_big"] == holders
    conn = open_duckdb(path, readonly=True)
    try:
        saved = {t.name: t for t in tags.list_tags(conn)}
        counts = {t.name: n for t, n in tags.tag_counts(conn)}
    finally:
        conn.close()
    assert "big_spender" not in saved and saved["very_big"].condition == "monetary > 2000"
    assert counts["very_big"] == holders


def hold(path: Path, *, readonly: bool) -> subprocess.Popen:
    """Another program with the DuckDB file open (read-only or writing) until stdin closes."""
    code = (
        "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'ro'); "
        "print('open', flush=True); sys.stdin.read()"
    )
    args = [sys.executable, "-c", code, str(path), "ro" if readonly else "rw"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "open\n"
    return proc


def release(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(10)


async def count_then_save_vip(app, pilot) -> int:
    """On the segments screen: ``frequency >= 3`` counted (reading works), then saved as
    "vip"; the count."""
    await settle(app, pilot)
    app.action_analytics("segments")
    await settle(app, pilot)
    app.screen.editor.input.value = "frequency >= 3"
    await pilot.pause(0.3)
    await settle(app, pilot)
    count = app.screen.editor.counter.matching
    await pilot.press("ctrl+s")
    await settle(app, pilot)
    await fill_form(app, pilot, name="vip")
    return count


async def test_a_file_another_program_has_open_is_read_only_in_one_line(dbs) -> None:
    path = dbs["duckdb"]
    before = rows(path, "duckdb", STORED["segments"])
    reader = hold(path, readonly=True)
    try:
        app, said = app_on(path, "duckdb")
        async with app.run_test(size=SIZE) as pilot:
            count = await count_then_save_vip(app, pilot)
    finally:
        release(reader)
    line = (
        f"{path}: opened read-only, the app cannot save changes to it: another program has it "
        "open (DuckDB lets one process write a file, or several read it); close that program, "
        f'then open the app again (IO Error: Could not set lock on file "{path}": Conflicting '
        f"lock is held in "
    )
    assert len(said) == 2 and "\n" not in "".join(said)
    assert said[0].startswith(f"|{line}") and said[0].endswith(f"(PID {reader.pid}))")
    assert said[1] == "Database problem" + said[0]  # the save: the same line, nothing written
    assert count == 42 and rows(path, "duckdb", STORED["segments"]) == before
    assert core_message(said[0][1:]).startswith(  # the same line in Chinese (the app's zh)
        f"{path}：以只读方式打开，应用无法保存修改：另一个程序打开着它（DuckDB 允许一个进程写入文件，"
        "或多个进程读取）；请关闭那个程序，再重新打开应用（IO Error: Could not set lock"
    )
    writer = hold(path, readonly=False)
    try:
        got = CliRunner().invoke(cli, ["open", f"duckdb:///{path}"])
    finally:
        release(writer)
    assert got.exit_code == 2 and got.output.count("\n") == 1
    assert got.output.startswith(f"userops: {path}: locked by another process (DuckDB lets one")


def test_the_app_leaving_closes_its_kept_connection_after_the_last_worker(dbs) -> None:
    """Workers read on cursors of the kept connection (query_runner.kept_cursor): the app
    leaving while one still reads interrupts nothing finished, and its close closes the kept
    connection (DuckDB refuses to close a connection whose cursor runs a statement)."""
    path = dbs["duckdb"]
    query_runner.ENGINE_OF[str(path)] = "duckdb"
    first, second = query_runner.open_for_reading(path), query_runner.open_for_reading(path)
    assert not first.readonly  # the kept connection is writable: nobody else has the file
    query_runner.release()  # the app leaving while two workers read
    assert first.execute("SELECT count(*) FROM features").fetchone() == (60,)
    first.close()
    assert second.execute("SELECT count(*) FROM users").fetchone() == (60,)
    second.close()  # the last: the kept (writable) instance goes with it, so a read-only
    open_duckdb(path, readonly=True).close()  # open in this process is not refused


READ_ONLY_SAVE = "Database problem|The database is read-only: cannot save changes."


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
async def test_the_app_opened_read_only_refuses_every_save_and_lets_others_read(
    dbs, engine: str
) -> None:
    """``userops DB --read-only``: reading works, a save is the one read-only line (the same
    on both engines) and writes nothing; on DuckDB the file is held read-only, so another
    program opens it meanwhile (the writable app locks it: the test above)."""
    path = dbs[engine]
    before = rows(path, engine, STORED["segments"])
    app, said = app_on(path, engine, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        count = await count_then_save_vip(app, pilot)
        if engine == "duckdb":
            release(hold(path, readonly=True))  # raises if the file were locked
    assert count == 42
    assert said == [READ_ONLY_SAVE]  # nothing said at the start: read-only was asked for
    assert rows(path, engine, STORED["segments"]) == before
    assert core_message(said[0].split("|")[1]) == "数据库只读：无法保存修改。"  # the app's zh


def test_the_status_line_offers_f5_only_where_it_runs(dbs) -> None:
    later = AS_OF.replace(day=31, month=7)
    hint = {"en": "F5 refreshes", "zh": "按 F5 刷新"}
    for engine in ("sqlite", "duckdb"):
        for lang, data_to in (("en", "data to"), ("zh", "数据至")):
            settings = Settings(dbs[engine], AS_OF, lang, False, later, engine=engine)
            label = UserOpsApp(settings).as_of_label()
            offered = f": {hint[lang]}" if engine in REFRESH_ENGINES else ""
            assert label.endswith(f" {AS_OF} ({data_to} {later}{offered})"), label
            settings = replace(settings, read_only=True)  # F5 would be refused: not offered
            label = UserOpsApp(settings).as_of_label()
            assert label.endswith(f" {AS_OF} ({data_to} {later})"), label
