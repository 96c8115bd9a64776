"""The writes on DuckDB (issue 17; docs/engines.md): segment save/delete/snapshot, campaigns
(create, add, mark, unmark, undo, export, send, unlock, close, audit), the global control group,
strategies (set, run, pause, resume, delete), layer rules and tags — the same commands, run on a
small demo's SQLite file and on its DuckDB copy, print the same (wall-clock stamps aside) and
leave the same rows in every table; `import` too. Each command is also checked for its own
answer on DuckDB where a number says it worked."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.ingest.demo import DEMO_AS_OF, build_demo
from core.store.copy import copy_database
from core.store.db import open_db
from core.store.duck import open_duckdb
from tui.cli import cli

# The commands, DB where the database goes; each runs on both engines in this order.
SCRIPT: list[list[str]] = [
    ["segment", "save", "DB", "vip", "monetary > 500", "--description", "big spenders"],
    ["segment", "save", "DB", "vip", "monetary > 600"],  # the old definition to the history
    ["segment", "save", "DB", "near", "recency_days <= 30"],
    ["segment", "list", "DB"],
    ["segment", "show", "DB", "vip"],
    ["segment", "snapshot", "DB", "vip", "--as", "vip_frozen"],
    ["segment", "compare", "DB", "vip_frozen", "near"],
    ["segment", "count", "DB", "vip_frozen"],
    ["segment", "delete", "DB", "near"],
    ["segment", "list", "DB"],
    ["tag", "set", "DB", "大户", "monetary > 400", "--dimension", "result"],
    ["tag", "set", "DB", "大户", "monetary > 450", "--dimension", "result"],  # replaced
    ["tags", "DB"],
    ["tag", "of", "DB", "U000001"],
    ["segment", "count", "DB", 'has tag "大户"'],
    ["tag", "delete", "DB", "大户"],
    ["layer", "set", "DB", "whales", "monetary > 800", "--zh", "鲸鱼", "--en", "Whales"],
    ["layer", "move", "DB", "whales", "1"],
    ["layer", "rules", "DB"],
    ["layers", "DB"],
    ["layer", "delete", "DB", "whales"],
    ["campaign", "create", "DB", "c1", "--channel", "sms", "--offer", "10 off"],
    ["campaign", "add", "DB", "c1", "--segment", "vip", "--holdout", "20", "--seed", "3"],
    ["campaign", "mark", "DB", "c1", "U000001", "U000002"],
    ["campaign", "unmark", "DB", "c1", "U000002"],
    ["campaign", "undo", "DB", "c1"],
    ["campaign", "show", "DB", "c1"],
    ["campaign", "list", "DB"],
    ["campaign", "export", "DB", "c1", "-o", "-"],
    ["campaign", "send", "DB", "c1"],
    ["campaign", "report", "DB", "c1"],
    ["campaign", "unlock", "DB", "c1", "--reason", "one more"],
    ["campaign", "send", "DB", "c1"],
    ["campaign", "close", "DB", "c1"],
    ["campaign", "audit", "DB", "c1"],
    ["control", "set", "DB", "--global", "5", "--seed", "1"],
    ["control", "show", "DB"],
    ["strategy", "set", "DB", "winback", "--when", "recency_days > 60 and frequency >= 1"]
    + ["--channel", "push", "--offer", "come back", "--holdout", "20", "--seed", "2"],
    ["strategy", "list", "DB"],
    ["strategy", "show", "DB", "winback"],
    ["strategy", "run", "DB", "winback", "--dry-run"],
    RUN := ["strategy", "run", "DB", "winback"],
    ["strategy", "report", "DB", "winback"],
    ["strategy", "pause", "DB", "winback"],
    ["strategy", "resume", "DB", "winback"],
    ["strategy", "delete", "DB", "winback"],
]
# wall-clock stamps (metadata, never a result) in what the commands print
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
# wall-clock columns (metadata), left out when the tables are compared
WALL = {"created_at", "updated_at", "replaced_at", "taken_at", "added_at", "at", "ran_at"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    conn = open_db(folder / "demo.db", create=True)
    build_demo(conn, n_users=200, seed=3, as_of=DEMO_AS_OF)
    conn.close()
    CliRunner().invoke(cli, ["recompute", str(folder / "demo.db")])
    return folder / "demo.db"


def run_script(db: str) -> list[tuple[list[str], int, str]]:
    out = []
    for command in SCRIPT:
        args = [db if a == "DB" else a for a in command]
        got = CliRunner().invoke(cli, args)
        text = STAMP.sub("<stamp>", got.output.replace(db, "DB"))
        out.append((command, got.exit_code, text))
    return out


def tables(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        out = {}
        for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")') if r[1] not in WALL]
            listed = ", ".join(f'"{c}"' for c in cols)
            rows = conn.execute(f'SELECT {listed} FROM "{t}"').fetchall()
            if t == "meta":
                rows = [r for r in rows if r[0] != "features_computed_at"]
            out[t] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def test_the_writes_on_duckdb_are_the_writes_on_sqlite(demo: Path, tmp_path: Path) -> None:
    lite = tmp_path / "d.db"
    shutil.copy(demo, lite)
    duck = tmp_path / "d.duckdb"
    copy_database(demo, f"duckdb:///{duck}")
    on_sqlite = run_script(str(lite))
    on_duckdb = run_script(f"duckdb:///{duck}")
    for (command, code, text), (_, duck_code, duck_text) in zip(on_sqlite, on_duckdb, strict=True):
        assert (command, duck_code, duck_text) == (command, code, text)
        assert code == 0, (command, text)
    # every table the same, row for row (DuckDB's copied back to SQLite to be read alike)
    back = tmp_path / "back.db"
    copy_database(f"duckdb:///{duck}", back)
    assert tables(back) == tables(lite)
    # and what was written is there: the answers of some of them, on DuckDB
    assert on_duckdb[0][2] == "saved segment 'vip'\n"
    assert "33 targets, 8 control" in on_duckdb[SCRIPT.index(RUN)][2]
    conn = open_db(back)
    try:
        history = conn.execute("SELECT id, name, query FROM segment_history").fetchall()
        assert history == [(1, "vip", "monetary > 500")]
        assert conn.execute("SELECT name, segment FROM segment_snapshots").fetchall() == [
            ("vip_frozen", "vip")
        ]
        members = conn.execute("SELECT count(*) FROM snapshot_members").fetchone()[0]
        vip = conn.execute("SELECT count(*) FROM features WHERE monetary > 600").fetchone()[0]
        assert members == vip > 0
        audit = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM campaign_audit WHERE campaign = 'c1' ORDER BY id"
            )
        ]
        assert audit[:5] == ["create", "add", "mark", "unmark", "undo"]
        assert audit[-2:] == ["send", "close"]
        assert conn.execute("SELECT status FROM campaigns WHERE name = 'c1'").fetchone() == (
            "closed",
        )
        assert conn.execute("SELECT count(*) FROM tag_rules WHERE name = '大户'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM strategies").fetchone() == (0,)  # deleted
        run = "SELECT role, count(*) FROM campaign_members WHERE campaign = ? GROUP BY 1 ORDER BY 1"
        assert conn.execute(run, ("strategy winback 2025-11-30",)).fetchall() == [
            ("control", 8),
            ("target", 33),
        ]  # its run stays as a campaign
        assert conn.execute("SELECT count(*) FROM global_control").fetchone()[0] > 0
    finally:
        conn.close()


def test_import_on_duckdb_from_the_cli(tmp_path: Path) -> None:
    users = tmp_path / "u.csv"
    users.write_text("user_id,name,city,会员\n1,Ann,上海,gold\n2,Bob,,\n")
    orders = tmp_path / "o.csv"
    orders.write_text("order_id,user_id,amount,created_at\no1,1,10,2024-06-01\no2,3,5,2024-06-02\n")
    url = f"duckdb:///{tmp_path / 'new.duckdb'}"
    got = CliRunner().invoke(cli, ["import", url, "--users", str(users), "--orders", str(orders)])
    assert got.exit_code == 0, got.output
    assert got.output.splitlines() == [
        f"Imported into {url}; latest date in the data 2024-06-02",
        "  users             3 created           0 updated",
        "  orders            2 inserted          0 updated",
        "  new user attributes: 会员",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,user_id,amount,created_at\no3,1,x,2024-06-01\n")
    failed = f"duckdb:///{tmp_path / 'other.duckdb'}"
    got = CliRunner().invoke(cli, ["import", failed, "--orders", str(bad)])
    assert got.exit_code == 2
    assert got.output.strip().endswith(f"{bad}, line 2, column 'amount': 'x' is not a number")
    assert not (tmp_path / "other.duckdb").exists()  # a failed first import leaves no file
    again = CliRunner().invoke(cli, ["import", url, "--orders", str(bad)])
    assert again.exit_code == 2
    conn = open_duckdb(tmp_path / "new.duckdb", readonly=True)
    try:
        assert conn.execute(
            'SELECT user_id, name, city, "会员" FROM users ORDER BY 1'
        ).fetchall() == [
            ("1", "Ann", "上海", "gold"),
            ("2", "Bob", None, None),
            ("3", None, None, None),
        ]
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2,)  # the bad one: none
    finally:
        conn.close()
