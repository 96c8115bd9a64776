"""``userops layers/layer`` and ``userops tags/tag`` on a tiny database with known answers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.rules import layers as L
from core.rules import tags as T
from core.store.db import open_db, set_meta
from tui.cli import cli

AS_OF = date(2024, 6, 30)


@pytest.fixture
def db(db_path: Path) -> str:
    """Rules a (frequency >= 5), b (frequency >= 1); users u1 freq 6, u2 freq 2, u3 freq 0.

    First match: u1 a, u2 b, u3 unclassified; a and b overlap on u1; the gap is u3.
    """
    conn = open_db(db_path)
    for user_id, freq, p_alive in (("u1", 6, 0.9), ("u2", 2, 0.2), ("u3", 0, None)):
        conn.execute("INSERT INTO users(user_id) VALUES (?)", (user_id,))
        conn.execute(
            "INSERT INTO features(user_id, frequency, p_alive) VALUES (?, ?, ?)",
            (user_id, freq, p_alive),
        )
    L.set_rule(conn, "a", "甲层", "A", "frequency >= 5", as_of=AS_OF)
    L.set_rule(conn, "b", "乙层", "B", "frequency >= 1", as_of=AS_OF)
    set_meta(conn, "features_as_of", AS_OF.isoformat())
    conn.close()
    return str(db_path)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def query(db: str, sql: str) -> list[tuple]:
    conn = open_db(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_layers_report_text(db):
    result = run("layers", db)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Layers as of 2024-06-30: 3 users (first match wins)"
    assert lines[1].split()[:4] == ["a", "甲层", "1", "33.3%"]
    assert "  a & b: 1" in lines
    assert "Gap (users matching no rule → unclassified): 1" in lines


def test_layers_report_json(db):
    result = run("layer", "report", db, "--json")
    data = json.loads(result.output)
    assert [(p["key"], p["count"]) for p in data["pyramid"]] == [
        ("a", 1),
        ("b", 1),
        ("unclassified", 1),
    ]
    assert data["overlaps"] == [{"a": "a", "b": "b", "count": 1}]
    assert data["gap"] == 1 and data["is_mece"] is False and data["matches"] == {"a": 1, "b": 2}
    assert data["catch_all"] is None


def test_layers_json_reports_the_catch_all_and_its_users(db):
    conn = open_db(db)
    L.set_rule(conn, "everyone", "其他", "rest", "user_id is not empty", as_of=AS_OF)
    conn.close()
    data = json.loads(run("layers", db, "--json").output)
    assert data["catch_all"] == {"rule": "everyone", "count": 1}  # u3: no other rule
    assert data["gap"] == 0 and data["is_mece"] is False
    assert data["overlaps"] == [{"a": "a", "b": "b", "count": 1}]  # not the catch-all pairs
    text = run("layers", db).output.splitlines()
    assert "Only in the catch-all everyone (users matching no other rule): 1" in text
    assert "  a & everyone: 1" not in text
    assert run("layer", "users", db, "--catch-all").output == "u3\n"
    assert json.loads(run("layers", db, "--json").output)["catch_all"]["rule"] == "everyone"


def test_invalid_rule_is_rejected_with_a_caret(db):
    result = run("layer", "set", db, "c", "frequency >> 2", "--zh", "丙", "--en", "C")
    assert result.exit_code == 2
    assert "Invalid condition" in result.stderr
    assert result.stderr.startswith("  frequency >> 2\n" + " " * 13 + "^\n")  # under the 2nd '>'
    assert query(db, "SELECT key FROM layer_rules ORDER BY position") == [("a",), ("b",)]


def test_set_rule_reapplies_to_features(db):
    result = run(
        "layer", "set", db, "zero", "frequency = 0", "--zh", "零", "--en", "zero", "--position", "1"
    )
    assert result.exit_code == 0, result.output
    assert "Re-applied layers and tags to the features as of 2024-06-30." in result.output
    assert dict(query(db, "SELECT user_id, layer FROM features")) == {
        "u1": "a",
        "u2": "b",
        "u3": "zero",
    }
    rules = json.loads(run("layer", "rules", db, "--json").output)
    assert [(r["position"], r["key"]) for r in rules] == [(1, "zero"), (2, "a"), (3, "b")]


def test_move_and_delete(db):
    assert run("layer", "move", db, "b", "1").exit_code == 0
    assert dict(query(db, "SELECT user_id, layer FROM features"))["u1"] == "b"
    assert run("layer", "delete", db, "b").exit_code == 0
    assert query(db, "SELECT key FROM layer_rules") == [("a",)]
    missing = run("layer", "delete", db, "b")
    assert missing.exit_code == 2 and "no layer 'b'" in missing.stderr


def test_users_behind_overlap_and_gap(db):
    assert run("layer", "users", db, "--overlap", "a", "b").output == "u1\n"
    assert run("layer", "users", db, "--gap").output == "u3\n"
    assert run("layer", "users", db).exit_code == 2


def test_transitions_matrix_from_history(db):
    conn = open_db(db)
    conn.executemany(
        "INSERT INTO layer_history VALUES (?, ?, ?)",
        [
            ("2024-05-31", "u1", "b"),
            ("2024-05-31", "u2", "b"),
            ("2024-06-30", "u1", "a"),
            ("2024-06-30", "u2", "b"),
            ("2024-06-30", "u3", "b"),
        ],
    )
    conn.close()
    result = run("layers", db, "--transitions", "2024-05-31", "--to", "2024-06-30", "--json")
    data = json.loads(result.output)
    assert data["moved"] == 2
    assert data["cells"] == [
        {"from": "(none)", "to": "b", "count": 1},
        {"from": "b", "to": "a", "count": 1},
        {"from": "b", "to": "b", "count": 1},
    ]
    text = run("layer", "transitions", db, "2024-05-31").output.splitlines()
    assert text[0] == "Layer transitions 2024-05-31 → 2024-06-30 (2 users changed layer)"
    assert text[1].split() == ["from", "\\", "to", "a", "b", "(none)"]
    assert text[3].split() == ["b", "1", "1", "0"]


def test_to_needs_transitions(db):
    assert run("layers", db, "--to", "2024-06-30").exit_code == 2


def test_tags_set_list_delete(db):
    result = run(
        "tag",
        "set",
        db,
        "流失预警",
        "p_alive < 0.3",
        "--dimension",
        "predictive",
        "--description",
        "churn warning",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(run("tags", db, "--json").output)
    assert rows == [
        {
            "name": "流失预警",
            "dimension": "predictive",
            "condition": "p_alive < 0.3",
            "description": "churn warning",
            "count": 1,
        }
    ]
    assert "流失预警" in run("tag", "of", db, "u2").output
    bad = run("tag", "set", db, "x", 'p_alive < "低" 或', "--dimension", "predictive")
    assert bad.exit_code == 2
    assert bad.stderr.startswith('  p_alive < "低" 或\n' + " " * 17 + "^\n")  # 低 takes 2 cells
    assert "Invalid condition" in bad.stderr
    assert run("tag", "delete", db, "流失预警").exit_code == 0
    assert query(db, "SELECT count(*) FROM user_tags") == [(0,)]


def test_tag_defaults_skip_city_tier(db):
    result = run("tag", "defaults", db)
    assert result.exit_code == 0, result.output
    assert f"Installed {len(T.DEFAULT_TAGS) - 1} default tags." in result.output
    assert "skipped 一线城市" in result.output
    assert "Tags exist already" in run("tag", "defaults", db).output


def test_layer_defaults_only_on_empty_rules(db):
    assert "Layer rules exist already" in run("layer", "defaults", db).output
    for key in ("a", "b"):
        run("layer", "delete", db, key)
    result = run("layer", "defaults", db)
    assert "Installed 7 default layer rules." in result.output
    assert dict(query(db, "SELECT user_id, layer FROM features"))["u3"] == "registered"


def test_layer_set_takes_a_lifecycle_rank(db):
    result = run(
        "layer", "set", db, "a", "frequency >= 5", "--zh", "甲层", "--en", "A", "--rank", "-1"
    )
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT key, position, lifecycle FROM layer_rules ORDER BY position") == [
        ("a", 1, -1),
        ("b", 2, None),
    ]
    rules = json.loads(run("layer", "rules", db, "--json").output)
    assert [(r["key"], r["lifecycle"]) for r in rules] == [("a", -1), ("b", None)]
    assert "  1. a  甲层 / A  (lifecycle -1)" in run("layer", "rules", db).output
    run("layer", "set", db, "a", "frequency >= 6", "--zh", "甲层", "--en", "A")  # keeps it
    assert query(db, "SELECT lifecycle FROM layer_rules WHERE key = 'a'") == [(-1,)]
    run("layer", "set", db, "a", "frequency >= 6", "--zh", "甲层", "--en", "A", "--rank", "none")
    assert query(db, "SELECT lifecycle FROM layer_rules WHERE key = 'a'") == [(None,)]
    bad = run("layer", "set", db, "a", "frequency >= 6", "--zh", "甲", "--en", "A", "--rank", "up")
    assert bad.exit_code == 2 and "--rank 'up'" in bad.stderr
    zero = run("layer", "set", db, "a", "frequency >= 6", "--zh", "甲", "--en", "A", "--rank", "0")
    assert zero.exit_code != 0 and "lifecycle rank 0" in zero.stderr
