"""``userops strategy …`` and ``userops control …``: each command, its JSON and its errors."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from core.store.db import open_db
from tui.cli import cli

USERS = [f"u{i:02d}" for i in range(40)]


@pytest.fixture
def db(db_path, tmp_path):
    conn = open_db(db_path)
    conn.executemany("INSERT INTO users(user_id, phone) VALUES (?, '138')", [(u,) for u in USERS])
    conn.executemany(  # the first 30 users bought in June
        "INSERT INTO orders VALUES (?, ?, 10.0, '2024-06-20')",
        [(f"o{u}", u) for u in USERS[:30]],
    )
    conn.execute("INSERT INTO meta VALUES ('data_latest', '2024-07-02')")
    conn.close()
    out = CliRunner().invoke(cli, ["refresh", str(db_path), "--as-of", "2024-06-30"])
    assert out.exit_code == 0, out.output
    ok(db_path, "strategy", "settings", "--out", str(tmp_path / "files"))
    return db_path


def ok(db, *args: str) -> str:
    got = CliRunner().invoke(cli, [args[0], args[1], str(db), *args[2:]])
    assert got.exit_code == 0, got.output
    return got.output


def bad(db, *args: str) -> str:
    got = CliRunner().invoke(cli, [args[0], args[1], str(db), *args[2:]])
    assert got.exit_code == 2 and "Traceback" not in got.output, got.output
    return got.output


def test_set_show_list_pause_resume_delete(db):
    out = ok(db, "strategy", "set", "buyers", "--when", "orders(30d) >= 1", "--channel", "SMS",
             "--offer", "满100减20", "--holdout", "10", "--cooldown", "14", "--max", "100",
             "--priority", "2", "--schedule", "mon,thu")  # fmt: skip
    assert out == (
        "saved strategy 'buyers': sms: 满100减20, entering, holdout 10 %, priority 2, mon,thu, "
        "active\n"
    )
    shown = json.loads(ok(db, "strategy", "show", "buyers", "--json"))
    assert (shown["cooldown_days"], shown["max_per_run"], shown["schedule"]) == (14, 100, "mon,thu")
    # changing one option keeps the others
    ok(db, "strategy", "set", "buyers", "--offer", "满200减50")
    shown = json.loads(ok(db, "strategy", "show", "buyers", "--json"))
    assert (shown["offer"], shown["condition"], shown["priority"]) == (
        "满200减50",
        "orders(30d) >= 1",
        2,
    )
    text = ok(db, "strategy", "show", "buyers")
    assert "limits    cooldown 14 days, max 100 per run" in text
    assert ok(db, "strategy", "pause", "buyers") == "strategy 'buyers' is paused\n"
    listed = json.loads(ok(db, "strategy", "list", "--json"))
    assert [(s["name"], s["status"], s["runs"]) for s in listed] == [("buyers", "paused", 0)]
    assert ok(db, "strategy", "resume", "buyers") == "strategy 'buyers' is active\n"
    assert ok(db, "strategy", "delete", "buyers") == "deleted strategy 'buyers'\n"
    assert "no strategies yet" in ok(db, "strategy", "list")


def test_errors_are_one_line_and_point_at_the_condition(db):
    out = bad(db, "strategy", "set", "x", "--when", "ordrs(30d) >= 1", "--offer", "y")
    assert out.splitlines() == [
        "  ordrs(30d) >= 1",
        "  ^",
        "userops: Invalid condition: Unknown behaviour 'ordrs' at column 1; did you mean 'orders'?",
    ]
    assert "is new: give its condition with --when" in bad(
        db, "strategy", "set", "x", "--offer", "y"
    )
    assert "unknown weekday 'mo'" in bad(
        db, "strategy", "set", "x", "--when", "orders(30d) >= 1", "--offer", "y", "--schedule", "mo"
    )
    assert "No strategy named 'nope'" in bad(db, "strategy", "show", "nope")
    assert "write K/N" in bad(db, "strategy", "settings", "--cap", "2")


def test_run_dry_run_overlaps_and_the_target_file(db, tmp_path):
    ok(db, "strategy", "set", "buyers", "--when", "orders(30d) >= 1", "--offer", "A", "--holdout", "0",
       "--priority", "1")  # fmt: skip
    ok(db, "strategy", "set", "first10", "--when", 'user_id in ("u00", "u01", "u02", "u31")',
       "--offer", "B", "--holdout", "0", "--every-run")  # fmt: skip
    pairs = json.loads(ok(db, "strategy", "overlaps", "--json"))
    assert pairs == [{"a": "buyers", "b": "first10", "users": 3}]
    dry = json.loads(ok(db, "strategy", "run", "--dry-run", "--json"))
    got = {s["strategy"]: s for s in dry["strategies"]}
    assert (got["buyers"]["targets"], got["first10"]["targets"]) == (30, 1)
    assert got["first10"]["removed"]["priority"] == 3
    assert got["first10"]["offers"][0]["user_ids"] == ["u31"]
    assert dry["overlaps"] == [{"a": "buyers", "b": "first10", "users": 3}]
    text = ok(db, "strategy", "run", "--dry-run")
    assert "  first10: 4 matched; removed: priority 3; 1 targets, 0 control" in text
    assert "    push: B: 1: u31" in text
    ran = ok(db, "strategy", "run")
    assert f"file {tmp_path / 'files' / 'buyers_2024-06-30.csv'}" in ran
    rows = list(csv.reader((tmp_path / "files" / "first10_2024-06-30.csv").open()))
    assert rows == [["user_id", "strategy", "date", "channel", "offer", "variant"],
                    ["u31", "first10", "2024-06-30", "push", "B", ""]]  # fmt: skip
    assert "already ran on 2024-06-30: nobody is added" in ok(db, "strategy", "run")


def test_refresh_runs_the_strategies_unless_told_not_to(db, tmp_path):
    ok(db, "strategy", "set", "all", "--when", "orders(90d) >= 0", "--offer", "A", "--every-run",
       "--holdout", "0")  # fmt: skip
    got = CliRunner().invoke(cli, ["refresh", str(db), "--as-of", "2024-07-01", "--json"])
    data = json.loads(got.output)
    assert data["strategies"]["strategies"][0]["targets"] == 40
    quiet = CliRunner().invoke(
        cli, ["refresh", str(db), "--as-of", "2024-07-02", "--no-strategies", "--json"]
    )
    assert json.loads(quiet.output)["strategies"] is None
    assert not (tmp_path / "files" / "all_2024-07-02.csv").exists()


def test_report_json_shape(db):
    ok(
        db,
        "strategy",
        "set",
        "all",
        "--when",
        "orders(90d) >= 0",
        "--offer",
        "A",
        "--holdout",
        "50",
    )
    ok(db, "strategy", "run")
    rep = json.loads(ok(db, "strategy", "report", "all", "--json"))
    assert rep["strategy"] == "all" and rep["window_days"] == 7
    run = rep["runs"][0]
    assert run["date"] == "2024-06-30" and run["targets"] + run["control"] == 40
    assert set(run) >= {"date", "targets", "control", "offer", "conversion_target",
                        "conversion_control", "uplift", "ci_low", "ci_high", "mde"}  # fmt: skip
    assert run["uplift"] is None and "after the data's as-of date" in run["reason"]
    assert rep["cumulative"]["targets"] == run["targets"]
    text = ok(db, "strategy", "report", "all", "--window", "3")
    assert text.startswith("strategy all: effect as of 2024-06-30, 3-day window")


def test_control_set_and_show(db):
    assert "no global control group" in ok(db, "control", "show")
    out = ok(db, "control", "set", "--global", "25", "--seed", "4")
    assert out.startswith("global control: ") and "of 40 users (25 %, seed 4)" in out
    assert "global control" in ok(db, "control", "show")
    assert "out of range" in bad(db, "control", "set", "--global", "100")
    count = CliRunner().invoke(cli, ["segment", "count", str(db), "in global control"])
    assert count.exit_code == 0 and out.split()[2] in count.output


def test_a_run_with_nobody_new_reads_nobody_new_in_list_and_report(db):
    ok(db, "strategy", "set", "buyers", "--when", "orders(90d) >= 1", "--offer", "A")
    ok(db, "strategy", "run")  # 30 targets as of 2024-06-30
    got = CliRunner().invoke(cli, ["refresh", str(db), "--as-of", "2024-07-01"])
    assert got.exit_code == 0, got.output
    assert "buyers: 30 matched; removed: not entering 30; 0 targets, 0 control" in got.output
    listed = ok(db, "strategy", "list")
    assert "last run 2024-07-01: nobody new; 2 runs;" in listed
    assert json.loads(ok(db, "strategy", "list", "--json"))[0]["last_empty"] is True
    text = ok(db, "strategy", "report", "buyers")
    line = "  2024-07-01  nobody new: everyone who matched had matched at the previous run\n"
    assert line in text
    rep = json.loads(ok(db, "strategy", "report", "buyers", "--json"))
    first = rep["runs"][0]
    assert first["targets"] + first["control"] == 30
    assert [(r["date"], r["empty"], r["targets"], r["control"]) for r in rep["runs"]] == [
        ("2024-06-30", False, first["targets"], first["control"]),
        ("2024-07-01", True, 0, 0),
    ]
    # the empty run adds nobody to the pooled row
    assert (rep["cumulative"]["targets"], rep["cumulative"]["control"]) == (
        first["targets"],
        first["control"],
    )
