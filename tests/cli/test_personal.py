"""Personal data by kind, not by column name (issue 12, item 8): a flag per user column, set
on import by name or by --personal, masked under --mask, left out of exports unless asked."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.audience import campaigns as cmp
from core.store.db import open_db
from core.store.personal import is_personal_name, personal_columns
from core.views.profile import profile
from core.views.users import masked
from tui.cli import cli

USERS_CSV = (
    "user_id,name,city,mobile,id_card,homeTel,home_address,WeChat,work_email,nickname,hotel\n"
    "u1,Ann,Paris,13812345678,110101199003071234,13900001111,1 Rue X 75001,wx_ann,"
    "ann@x.com,annie,Ritz\n"
)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def db(tmp_path: Path) -> str:
    users = tmp_path / "users.csv"
    users.write_text(USERS_CSV, encoding="utf-8")
    path = str(tmp_path / "p.db")
    result = run("import", path, "--users", str(users), "--personal", "nickname")
    assert result.exit_code == 0, result.output
    conn = open_db(path)
    conn.execute("INSERT INTO features(user_id, name, city) VALUES ('u1', 'Ann', 'Paris')")
    cmp.create_campaign(conn, "c", who="t")
    cmp.mark(conn, "c", ["u1"], who="t")
    conn.close()
    return path


def test_names_that_are_personal():
    for name in ("phone", "Mobile", "tel", "手机", "联系电话", "email", "E-Mail", "邮箱",
                 "id_card", "IDCard", "身份证号", "home_address", "地址", "wechat", "微信号",
                 "passport_no", "birthday"):  # fmt: skip
        assert is_personal_name(name), name
    for name in ("name", "city", "hotel", "channel", "device", "nickname", "telemetry"):
        assert not is_personal_name(name), name


def test_import_flags_columns_by_name_and_by_the_operator(db):
    conn = open_db(db)
    flags = dict(conn.execute("SELECT column_name, personal FROM column_flags"))
    assert personal_columns(conn) == {
        "phone", "email", "mobile", "id_card", "homeTel", "home_address", "WeChat", "work_email",
        "nickname",
    }  # fmt: skip
    assert flags["nickname"] == 1 and flags["hotel"] == 0 and flags["city"] == 0
    conn.close()


def test_unknown_personal_column_is_refused_and_nothing_imported(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text(USERS_CSV, encoding="utf-8")
    path = str(tmp_path / "q.db")
    result = run("import", path, "--users", str(users), "--personal", "nope")
    assert result.exit_code == 2 and "--personal nope: no such user column" in result.output


def test_export_refuses_personal_columns_unless_asked(db, tmp_path):
    out = tmp_path / "t.csv"
    for column in ("mobile", "id_card", "homeTel", "home_address", "WeChat", "nickname"):
        result = run("campaign", "export", db, "c", "-o", str(out), "--columns", column)
        assert result.exit_code == 2, column
        assert f"{column} hold personal data" in result.output
        assert not out.exists()
    cols = "mobile,id_card,work_email,home_address"
    args = ["campaign", "export", db, "c", "-o", str(out), "--columns", cols]
    assert run(*args, "--include-contact").exit_code == 0  # the old flag still works
    (row,) = csv.DictReader(out.open(encoding="utf-8"))
    assert row["mobile"] == "13812345678" and row["id_card"] == "110101199003071234"
    assert run(*args, "--mask").exit_code == 0
    (row,) = csv.DictReader(out.open(encoding="utf-8"))
    assert row == {
        "user_id": "u1",
        "mobile": "138****5678",
        "id_card": "110***********1234",
        "work_email": "a***@x.com",
        "home_address": "1 R******5001",
    }


def test_users_export_leaves_out_or_masks_flagged_columns(db, tmp_path):
    conn = open_db(db)
    conn.execute("UPDATE column_flags SET personal = 1 WHERE column_name = 'city'")
    conn.close()
    out = tmp_path / "u.csv"
    assert run("users", db, "-o", str(out)).exit_code == 0
    (row,) = csv.DictReader(out.open(encoding="utf-8"))
    assert "city" not in row and row["name"] == "Ann"
    assert run("users", db, "-o", str(out), "--mask").exit_code == 0
    (row,) = csv.DictReader(out.open(encoding="utf-8"))
    assert row["city"] == "P**is"
    assert run("users", db, "-o", str(out), "--include-personal").exit_code == 0
    (row,) = csv.DictReader(out.open(encoding="utf-8"))
    assert row["city"] == "Paris"


def test_profile_masks_every_personal_column(db):
    conn = open_db(db)
    p = profile(conn, "u1", as_of=__import__("datetime").date(2024, 6, 30))
    shown = masked(p.attributes, p.personal)
    conn.close()
    assert shown["mobile"] == "138****5678" and shown["homeTel"] == "139****1111"
    assert shown["id_card"] == "110***********1234" and shown["WeChat"] == "w***nn"
    assert shown["nickname"] == "a**ie" and shown["name"] == "Ann" and shown["hotel"] == "Ritz"


def test_schema_2_database_gets_flags_on_upgrade(tmp_path):
    path = tmp_path / "old.db"
    open_db(path, create=True).close()
    raw = sqlite3.connect(path)
    raw.execute("ALTER TABLE users ADD COLUMN mobile TEXT")
    raw.execute("ALTER TABLE users ADD COLUMN shoe_size TEXT")
    raw.execute("DROP TABLE column_flags")
    raw.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    conn = open_db(path)
    flags = dict(conn.execute("SELECT column_name, personal FROM column_flags"))
    assert {c for c, p in flags.items() if p} == {"phone", "email", "mobile"}
    assert flags["shoe_size"] == 0
    conn.close()
