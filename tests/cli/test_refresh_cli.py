"""``userops refresh``: the first run is the full recompute (said so), the next are incremental."""

from __future__ import annotations

import json

from click.testing import CliRunner

from core.store.db import open_db
from tui.cli import cli


def test_refresh_cli_first_full_then_incremental(db_path) -> None:
    conn = open_db(db_path)
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [("a",), ("b",)])
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [("o1", "a", 10.0, "2024-06-01"), ("o2", "b", 5.0, "2024-06-30")],
    )
    conn.execute("INSERT INTO meta VALUES ('data_latest', '2024-06-30')")
    conn.close()
    runner = CliRunner()
    first = runner.invoke(cli, ["refresh", str(db_path), "--as-of", "2024-06-30"])
    assert first.exit_code == 0, first.output
    assert "full recompute (first computation of the features)" in first.output
    assert "installed the default layer rules" in first.output
    got = runner.invoke(cli, ["refresh", str(db_path), "--as-of", "2024-07-01", "--json"])
    assert got.exit_code == 0, got.output
    data = json.loads(got.output)
    assert (data["from"], data["as_of"], data["full_recompute"]) == (
        "2024-06-30",
        "2024-07-01",
        None,
    )
    assert (data["touched"], data["users"], data["buyers"]) == (1, 2, 2)  # a: 06-01 leaves 30d
    bad = runner.invoke(cli, ["refresh", str(db_path), "--as-of", "2024-13-01"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
