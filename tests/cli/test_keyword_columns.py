"""Extra user columns named like SQL keywords, in Chinese, or with a space, end to end through the
CLI: import, conditions, completion, the users export, the profile and the campaign export."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.query import complete
from core.store.db import open_db
from core.views.profile import profile
from tui.cli import cli

USERS = (
    "user_id,group,order,select,from,用户等级,a b\n"
    "u1,a,1,x,北京,金,q\n"
    "u2,b,2,x,上海,银,q\n"
    "u3,a,3,y,北京,金,r\n"
    "u4,c,1,,上海,铜,\n"
)
ORDERS = (
    "order_id,user_id,amount,created_at\n"
    "o1,u1,10,2024-06-01\n"
    "o2,u2,20,2024-06-10\n"
    "o3,u3,30,2024-06-20\n"
)


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def db(tmp_path: Path) -> str:
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    path = str(tmp_path / "kw.db")
    got = run(
        "import", path, "--users", tmp_path / "users.csv", "--orders", tmp_path / "orders.csv"
    )
    assert got.exit_code == 0, got.output
    assert "new user attributes: group, order, select, from, 用户等级, a b" in got.output
    got = run("recompute", path)
    assert got.exit_code == 0, got.output
    return path


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('group = "a"', "2 users · 50.0% of 4"),
        ('order = "1"', "2 users · 50.0% of 4"),
        ('select = "x"', "2 users · 50.0% of 4"),
        ('from = "上海"', "2 users · 50.0% of 4"),
        ('用户等级 = "金"', "2 users · 50.0% of 4"),
        ('`a b` = "q"', "2 users · 50.0% of 4"),
        ('`group` in ("b", "c")', "2 users · 50.0% of 4"),
        ('group != "a" and 用户等级 = "铜"', "1 users · 25.0% of 4"),
        ("`a b` is empty", "1 users · 25.0% of 4"),
        ('select contains "y"', "1 users · 25.0% of 4"),
        ("order >= 2", "2 users · 50.0% of 4"),
    ],
)
def test_segment_count(db: str, condition: str, expected: str) -> None:
    got = run("segment", "count", db, condition)
    assert got.exit_code == 0, got.output
    assert got.output.strip() == expected


def test_a_typo_in_a_keyword_column_value_is_caught(db: str) -> None:
    got = run("segment", "count", db, 'group = "aa"')
    assert got.exit_code == 2
    assert 'No user has group "aa"' in got.output


def test_completion_offers_the_fields_and_their_values(db: str) -> None:
    conn = open_db(db)
    fields = {c.text for c in complete(conn, "", 0) if c.kind == "field"}
    assert {"group", "order", "select", "from", "用户等级", "`a b`"} <= fields
    assert [(c.text, c.count) for c in complete(conn, 'group = "', 9)] == [
        ('"a"', 2),
        ('"b"', 1),
        ('"c"', 1),
    ]
    text = '用户等级 = "'
    assert [(c.text, c.count) for c in complete(conn, text, len(text))] == [
        ('"金"', 2),
        ('"铜"', 1),
        ('"银"', 1),
    ]
    text = "`a b` in ("
    assert [(c.text, c.count) for c in complete(conn, text, len(text))] == [('"q"', 2), ('"r"', 1)]
    assert [c.text for c in complete(conn, "`a", 2)] == ["`a b`"]
    ops = [c.text for c in complete(conn, "`a b` ", 6)]
    assert ops[:2] == ["=", "!="]


def test_users_export_selects_by_keyword_columns(db: str) -> None:
    got = run("users", db, 'group = "a" and `a b` = "q"', "--format", "csv")
    assert got.exit_code == 0, got.output
    rows = list(csv.DictReader(io.StringIO(got.output)))
    assert [r["user_id"] for r in rows] == ["u1"]
    got = run("users", db, "from = '北京'", "--format", "json")
    assert [r["user_id"] for r in json.loads(got.output)] == ["u1", "u3"]


def test_profile_shows_the_keyword_attributes(db: str) -> None:
    conn = open_db(db)
    p = profile(conn, "u3", date(2024, 6, 30))
    extra = {k: p.attributes[k] for k in ("group", "order", "select", "from", "用户等级", "a b")}
    assert extra == {
        "group": "a",
        "order": "3",
        "select": "y",
        "from": "北京",
        "用户等级": "金",
        "a b": "r",
    }


def test_campaign_export_of_keyword_columns(db: str, tmp_path: Path) -> None:
    assert run("campaign", "create", db, "kw").exit_code == 0
    got = run("campaign", "add", db, "kw", "--segment", 'group = "a"', "--holdout", "0")
    assert got.exit_code == 0, got.output
    out = tmp_path / "kw.csv"
    columns = "group,order,select,from,用户等级,a b,frequency"
    got = run("campaign", "export", db, "kw", "-o", out, "--columns", columns)
    assert got.exit_code == 0, got.output
    assert out.read_text(encoding="utf-8").splitlines() == [
        "user_id,group,order,select,from,用户等级,a b,frequency",
        "u1,a,1,x,北京,金,q,1",
        "u3,a,3,y,北京,金,r,1",
    ]
