"""Engines from the command line: ``userops copy``, the read commands on DuckDB and on ClickHouse
(chDB), and one line for a bad URL or a command that does not run on an engine yet
(docs/engines.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from core.store.db import open_db, set_meta
from tui.cli import cli
from tui.zh_texts import core_message


@pytest.fixture
def db(db_path: Path) -> str:
    conn = open_db(db_path)
    conn.executemany(
        "INSERT INTO users(user_id, city) VALUES (?, ?)", [("u1", "上海"), ("u2", "x")]
    )
    conn.executemany(
        "INSERT INTO features(user_id, city, recency_days) VALUES (?, ?, ?)",
        [("u1", "上海", 40), ("u2", "北京", 5), ("u3", "上海", 10), ("u4", "成都", None)],
    )
    set_meta(conn, "as_of", "2024-06-30")
    conn.close()
    return str(db_path)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


ENGINES = [("duckdb", "DuckDB"), ("chdb", "chDB")]


@pytest.mark.parametrize(("engine", "label"), ENGINES, ids=[e for e, _ in ENGINES])
def test_copy_prints_rows_per_table_and_counts_match(
    engine: str, label: str, db: str, tmp_path: Path
) -> None:
    url = f"{engine}:///{tmp_path / ('c.' + engine)}"
    got = run("copy", db, url)
    assert got.exit_code == 0, got.output
    lines = got.output.splitlines()
    assert lines[0].startswith(f"copied {db} (SQLite) to {url} ({label}): 29 tables, ")
    rows = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert rows["features"] == "4" and rows["users"] == "2" and rows["orders"] == "0"
    assert len(rows) == 29
    counted = run("segment", "count", url, 'city = "上海"')
    assert counted.exit_code == 0, counted.output
    assert counted.output.strip() == "2 users · 50.0% of 4"
    again = run("copy", db, url)
    assert again.exit_code == 2
    assert again.output.strip() == f"userops: {url}: exists; pass --force to replace it"
    assert run("copy", db, url, "--force").exit_code == 0
    back = run("copy", url, f"sqlite:///{tmp_path / 'back.db'}")
    assert back.exit_code == 0, back.output
    assert run("segment", "count", str(tmp_path / "back.db"), 'city = "上海"').output == (
        counted.output
    )


@pytest.mark.parametrize(("engine", "label"), ENGINES, ids=[e for e, _ in ENGINES])
def test_a_command_not_on_the_engine_yet_says_so_in_one_line(
    engine: str, label: str, db: str, tmp_path: Path
) -> None:
    url = f"{engine}:///{tmp_path / ('c.' + engine)}"
    assert run("copy", db, url).exit_code == 0
    # the app opens a chDB directory now (read-only, as DuckDB): past the engine, the terminal
    opened = run("open", url)
    assert opened.exit_code == 2
    assert opened.output.startswith("userops: the app needs a terminal")
    commands = []
    if engine != "duckdb":  # all these run on DuckDB (tests/cli/test_duck_writes_cli.py,
        # test_duck_refresh_cli.py, test_duck_store_cli.py); refresh and model --validate on
        # chDB too (tests/core/test_chdb_refresh.py)
        commands += [
            (["segment", "save", url, "x", "frequency > 1"], "userops segment save"),
            (["tags", url], "userops tags"),
            (["demo", url], "userops demo"),
            (["check", url], "userops check"),
            (["backup", url, str(tmp_path / "b")], "userops backup"),
            (["layers", url, "--transitions", "2024-06-01"], "userops layers --transitions"),
        ]
    for args, command in commands:
        got = run(*args)
        assert got.exit_code == 2, args
        assert got.output == (
            f"userops: `{command}` does not run on {label} yet: run it on the SQLite database "
            f"and `userops copy` it to {label} again (docs/engines.md says what runs where)\n"
        )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgres://u@h/db", "unknown engine 'postgres'"),
        ("duckdb://rel.duckdb", "takes three slashes"),
        ("chdb://rel.chdb", "takes three slashes"),
    ],
)
def test_bad_urls_are_one_line(url: str, says: str) -> None:
    for args in (["segment", "count", url, "frequency > 1"], ["recompute", url], ["demo", url]):
        got = run(*args)
        assert got.exit_code == 2
        assert got.output.startswith(f"userops: {url}: ") and says in got.output
        assert got.output.count("\n") == 1


def test_a_clickhouse_server_is_reached_or_named_in_one_line() -> None:
    """No server answers on port 1: the read command says so in one line; a command that does
    not run on ClickHouse yet says that without trying to connect."""
    url = "clickhouse://ops@127.0.0.1:1/shop"
    got = run("segment", "count", url, "frequency > 1")
    assert got.exit_code == 2
    assert (
        got.output.startswith(f"userops: {url}: cannot connect (") and got.output.count("\n") == 1
    )
    got = run("recompute", "clickhouse://ops@db1:8123/shop")
    assert got.exit_code == 2 and "`userops recompute` does not run on ClickHouse yet" in got.output


def test_a_missing_duckdb_file(tmp_path: Path) -> None:
    got = run("segment", "count", f"duckdb:///{tmp_path / 'no.duckdb'}", "frequency > 1")
    assert got.exit_code == 2
    assert got.output == f"userops: {tmp_path / 'no.duckdb'}: no such file\n"


def test_a_plain_path_to_a_duckdb_file_says_how_to_name_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain path is read as SQLite: a DuckDB file given so is one line saying what it is and
    the URL that opens it (not SQLite's "file is not a database"), from every command
    (core.store.engines.parse_database); another foreign file keeps SQLite's line."""
    from core.store.duck import open_duckdb

    open_duckdb(tmp_path / "x.duckdb", create=True).close()
    monkeypatch.chdir(tmp_path)
    said = "userops: x.duckdb: a DuckDB file, not a SQLite file: name it duckdb:///x.duckdb\n"
    for args in (["check", "x.duckdb"], ["users", "x.duckdb"], ["x.duckdb"]):
        got = run(*args)
        assert (got.exit_code, got.output) == (2, said), args
    assert core_message(said[9:-1]) == (  # the app's Chinese (tui.zh_texts)
        "x.duckdb：是 DuckDB 文件，不是 SQLite 文件：请写作 `duckdb:///x.duckdb`"
    )
    absolute = tmp_path / "x.duckdb"
    assert run("check", str(absolute)).output.endswith(f"name it duckdb:///{absolute}\n")
    assert str(absolute).startswith("/")  # so the URL has its four slashes
    (tmp_path / "notes.txt").write_text("hello, not a database")
    got = run("check", "notes.txt")
    assert got.output == "userops: notes.txt: not a SQLite database (file is not a database)\n"


def test_open_read_only_reaches_the_app(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``userops DB --read-only`` opens the app with its saves refused (what the app then does:
    tests/tui/test_duckdb_app_writes.py); without the flag the app may save."""
    import types

    from tui.app import UserOpsApp
    from tui.cli import app_cmd

    seen = []
    monkeypatch.setattr(UserOpsApp, "run", lambda self: seen.append(self.settings.read_only))
    terminal = types.SimpleNamespace(isatty=lambda: True)
    monkeypatch.setattr(app_cmd, "sys", types.SimpleNamespace(stdin=terminal, stdout=terminal))
    assert run(db, "--read-only").exit_code == 0
    assert run("open", db).exit_code == 0
    assert seen == [True, False]


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=[e for e, _ in ENGINES])
def demo_pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A copy of demo.db (opening may upgrade it) and its copy on DuckDB, on chDB."""
    import shutil

    tmp = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "demo.db", tmp / "demo.db")
    url = f"{request.param}:///{tmp / ('demo.' + request.param)}"
    assert run("copy", str(tmp / "demo.db"), url).exit_code == 0
    return str(tmp / "demo.db"), url


# the read commands that run on DuckDB and ClickHouse (docs/engines.md), each printing what SQLite
# prints
READS = [
    ["users", "DB"],
    ["users", "DB", 'layer = "buyer" and count(login, 30d) >= 1', "--format", "json"],
    ["users", "DB", "did view in 30d then cart_add within 1d", "--mask"],
    ["user", "DB", "U000042"],
    ["user", "DB", "U000042", "--json", "--lang", "en"],
    ["user", "DB", "U019999", "--json"],
    ["user", "DB", "NOPE"],
    ["layers", "DB"],
    ["layers", "DB", "--json"],
    ["layer", "report", "DB", "--json"],
    ["layer", "users", "DB", "--overlap", "buyer", "active"],  # the demo's 9
    ["layer", "users", "DB", "--overlap", "loyal", "buyer", "--limit", "20"],
    ["layer", "users", "DB", "--catch-all", "--limit", "20"],
    ["segment", "count", "DB", 'rfm = "重要保持客户" and spent(-59d..-30d) > 100'],
    ["segment", "count", "DB", "spent(30d) > 2 * spent(-59d..-30d)"],  # windows without rows
    ["users", "DB", 'city contains "上" and frequency / recency_days > 0.1', "--format", "json"],
]


@pytest.mark.parametrize("args", READS, ids=[" ".join(a) for a in READS])
def test_read_commands_print_the_same(demo_pair: tuple[str, str], args: list) -> None:
    lite, other = demo_pair
    on_sqlite = run(*[lite if a == "DB" else a for a in args])
    on_other = run(*[other if a == "DB" else a for a in args])
    assert (on_other.exit_code, on_other.output) == (on_sqlite.exit_code, on_sqlite.output)
    assert len(on_sqlite.output) > 10
