"""``userops segment ...`` end to end on a small database."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from core.store.db import open_db, set_meta
from tui.cli import cli


@pytest.fixture
def db(db_path: Path) -> str:
    conn = open_db(db_path)
    conn.executemany(
        "INSERT INTO features(user_id, city, recency_days) VALUES (?, ?, ?)",
        [("u1", "上海", 40), ("u2", "北京", 5), ("u3", "上海", 10), ("u4", "成都", None)],
    )
    set_meta(conn, "as_of", "2024-06-30")
    conn.close()
    return str(db_path)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_count_prints_users_and_share(db: str) -> None:
    got = run("segment", "count", db, 'city = "上海"')
    assert got.exit_code == 0, got.output
    assert got.output.strip() == "2 users · 50.0% of 4"


def test_query_error_prints_caret_under_the_column(db: str) -> None:
    got = run("segment", "count", db, 'cty = "上海"')
    assert got.exit_code == 2
    lines = got.output.splitlines()
    assert lines[0] == '  cty = "上海"'
    assert lines[1] == "  ^"
    assert "did you mean 'city'?" in lines[2]
    got = run("segment", "count", db, "recency_days > 上海")
    assert got.output.splitlines()[1] == "  " + " " * 15 + "^"


def test_save_list_show_delete(db: str) -> None:
    assert (
        run("segment", "save", db, "沪", 'city = "上海"', "--description", "上海用户").exit_code
        == 0
    )
    assert run("segment", "save", db, "沪", 'city = "上海" and recency_days > 30').exit_code == 0
    listed = run("segment", "list", db)
    assert "沪" in listed.output and "         1" in listed.output
    shown = run("segment", "show", db, "沪")
    assert "城市 为 上海 且 最近消费天数 大于 30" in shown.output
    assert "1 users · 25.0% of 4" in shown.output
    assert "replaced" in shown.output and 'city = "上海"' in shown.output
    bad = run("segment", "save", db, "x", "city = ")
    assert bad.exit_code == 2 and "expected" in bad.output
    assert run("segment", "delete", db, "沪").exit_code == 0
    assert run("segment", "list", db).output.strip() == "no saved segments"
    missing = run("segment", "delete", db, "沪")
    assert missing.exit_code == 2 and "No segment named" in missing.output


def test_snapshot_and_compare(db: str) -> None:
    run("segment", "save", db, "沪", 'city = "上海"')
    snap = run("segment", "snapshot", db, "沪", "--as", "沪0630")
    assert snap.exit_code == 0
    assert snap.output.strip() == "snapshot '沪0630': 2 users as of 2024-06-30"
    cmp = run("segment", "compare", db, "沪", "recency_days < 20")
    assert cmp.exit_code == 0, cmp.output
    assert [line.split()[:3] for line in cmp.output.splitlines()] == [
        ["only", "A", "1"],
        ["both", "1"],
        ["only", "B", "1"],
    ]
    assert run("segment", "count", db, "沪0630").output.strip() == "2 users · 50.0% of 4"
