"""The recompute, RFM re-scoring and the model refit on chDB give what they give on SQLite
(issue 17, item 3; docs/engines.md), all or nothing through a build database exchanged in.

One chDB directory for the module (chDB is slow to start, and runs one directory per process):
the language's small test database with test_duck_recompute's extra rules and its u6 (a sum
whose bits depend on the order it is added in), copied to chDB once. Each test compares every
column of every user's features, the tags, histories, model inputs, fits and meta with SQLite's
(test_duck_recompute.assert_same_results: exact, the model outputs to a relative 1e-9).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_duck_recompute import TABLES, _build_small, _rows, assert_same_results
from test_query_compile import AS_OF

from core.analytics import rfm
from core.errors import DatabaseError
from core.pipeline import recompute
from core.rules import tags
from core.store import clickhouse
from core.store.copy import copy_database
from core.store.db import open_db
from core.store.engines import all_or_nothing, open_database
from tui.cli import cli


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Any]]:
    """The SQLite file, its chDB copy's URL and a connection to it, open for the module (the
    engine stays up between the tests: the CLI's connections share it)."""
    tmp = tmp_path_factory.mktemp("chdb_recompute")
    lite = open_db(tmp / "s.db", create=True)
    _build_small(lite)
    lite.close()
    url = f"chdb:///{tmp / 's.chdb'}"
    copy_database(tmp / "s.db", url)
    ch = open_database(url)
    try:
        yield tmp / "s.db", url, ch
    finally:
        ch.close()


def _state(conn) -> dict[str, list[tuple]]:
    out = {t: _rows(conn, f"SELECT * FROM {t}") for t in ("features", *TABLES, "model_fits")}
    out["meta"] = _rows(conn, "SELECT * FROM meta")
    out["databases"] = _rows(conn, "SELECT name FROM system.databases")
    out["tables"] = _rows(conn, "SELECT name FROM system.tables WHERE database = 'default'")
    return out


def test_recompute_on_chdb_is_the_recompute_on_sqlite(dbs: tuple[Path, str, Any]) -> None:
    path, _, ch = dbs
    lite = open_db(path)
    try:
        a, b = recompute(lite, AS_OF), recompute(ch, AS_OF)
        assert (a.as_of, a.users, a.buyers, a.models, a.not_applicable) == (
            b.as_of,
            b.users,
            b.buyers,
            b.models,
            b.not_applicable,
        )
        assert_same_results(lite, ch)
        # the hand-worked answers (test_duck_recompute's: dormant, active, registered, churned)
        assert ch.execute(
            "SELECT user_id, layer, recency_days, frequency, monetary, orders_90d, carts_open, "
            "logins_30d FROM features ORDER BY user_id"
        ).fetchall() == [
            ("u1", "dormant", 40, 2, 800.0, 1, 0, 0),
            ("u2", "active", 5, 1, 50.0, 1, 1, 3),
            ("u3", "active", 10, 3, 600.0, 3, 1, 2),
            ("u4", "registered", None, 0, 0.0, 0, 0, 0),
            ("u5", "churned", 100, 1, 300.0, 0, 0, 0),
            ("u6", "unclassified", 27, 3, 0.1 + 0.2 + 0.3, 3, 0, 0),
        ]
        # RFM re-scored with another split, all or nothing (exchanged in on chDB)
        for conn in (lite, ch):
            with all_or_nothing(conn, writes=("rfm_settings", "features")):
                rfm.set_threshold(conn, "f", "fixed", 2)
                rfm.apply_rfm(conn, "features")
        assert_same_results(lite, ch)
    finally:
        lite.close()


def _run(*args: str) -> str:
    got = CliRunner().invoke(cli, list(args))
    assert got.exit_code == 0, got.output
    return got.output


def test_the_commands_print_on_chdb_what_they_print_on_sqlite(
    dbs: tuple[Path, str, Any],
) -> None:
    """recompute at another date (two dates of history), rfm --set (re-scores: the groups
    change), model --refit --use, users."""
    path, url, ch = dbs
    earlier = date.fromordinal(AS_OF.toordinal() - 20)
    outputs = {}
    for db in (str(path), url):
        recomputed = _run("recompute", db, "--as-of", earlier.isoformat())
        outputs[db] = [
            "\n".join(line for line in recomputed.splitlines() if not line.startswith("time")),
            _run("rfm", db, "--json"),
            _run("rfm", db, "--set", "f=fixed:3", "--set", "m=fixed:500", "--json"),
            _run("model", db, "--refit", "--use", "bgnbd", "--json"),
            _run("users", db),
        ]
    assert outputs[str(path)] == outputs[url]
    assert outputs[url][1] != outputs[url][2]  # the re-scoring moved buyers between groups
    assert '"setting": "fixed:3"' in outputs[url][2]
    lite = open_db(path)
    try:
        assert_same_results(lite, ch)
    finally:
        lite.close()
    day = earlier.isoformat()  # 2024-06-10: u4 (signed up 06-30, nothing done yet) is not one
    assert ch.execute("SELECT count(*) FROM layer_history WHERE as_of = ?", (day,)).fetchone() == (
        5,
    )


@pytest.mark.parametrize("where", ["build", "exchange"])
def test_a_failure_leaves_the_previous_tables_on_chdb(
    dbs: tuple[Path, str, Any], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A failure half-way through the build (the tags), or after three of the tables were
    exchanged in: the previous tables, fits, histories and meta, and no build database."""
    ch = dbs[2]
    before = _state(ch)  # as the tests before left it (recomputed)
    if where == "build":

        def fail(*args, **kwargs):
            raise clickhouse.ClickHouseError("injected failure")

        monkeypatch.setattr(tags, "apply_tags", fail)
    else:
        exchange, calls = clickhouse._exchange, []

        def fail_third(conn, a, b):
            calls.append(a)
            if len(calls) == 3:
                raise clickhouse.ClickHouseError("injected failure")
            exchange(conn, a, b)

        monkeypatch.setattr(clickhouse, "_exchange", fail_third)
    with pytest.raises(DatabaseError, match="Recompute failed, previous features kept: "):
        recompute(ch, date(2024, 6, 10))
    assert _state(ch) == before
    assert not ch.in_transaction
    if where == "exchange":  # two exchanged in, then back
        assert len(calls) == 5
