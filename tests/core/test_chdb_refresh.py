"""The refresh on chDB (issue 17; docs/engines.md): the same random daily batches as
tests/core/test_duck_refresh.py imported into a SQLite database, and each day's rows (the
import's effect: the new users, orders and events, the users its triggers noted in
``refresh_dirty``, the meta it changed) written into its chDB copy, as a loader writing into
ClickHouse would (`userops import` does not run on ClickHouse yet). After each day both are
refreshed: every column of features, the user tags, model inputs, histories, fits and meta are
SQLite's (model outputs and fits to a relative 1e-9, as tests/core/test_duck_recompute.py), and
on the last day chDB's full recompute gives what its refresh gave. A failure half-way (in the
build, or after some tables were exchanged in) leaves the previous state. `model --validate`
prints on chDB what it prints on SQLite.

One chDB directory for the module (chDB is slow to start and runs one directory per process).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_duck_recompute import TABLES, _rows, assert_same_results
from test_duck_refresh import D0, EXACT, Batches, _import, history_to_d0

from core.analytics.validation import validate
from core.errors import DatabaseError
from core.pipeline import recompute
from core.refresh import refresh
from core.rules import tags
from core.store import clickhouse
from core.store.copy import copy_database
from core.store.db import open_db
from core.store.engines import open_database
from tui.cli import cli

MIRRORED = ("users", "orders", "events")
QUERIES = [q.replace(" ORDER BY ALL", "") for q in EXACT]  # _rows sorts: SQLite reads them too


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Batches]]:
    """150 days of history to D0 in SQLite, recomputed (MBG/NBD the recorded model), and its
    chDB copy, open for the module; the batches that come next."""
    folder = tmp_path_factory.mktemp("chdbrefresh")
    batches = history_to_d0(folder)
    shutil.copy(folder / "s.db", folder / "start.db")
    copy_database(folder / "s.db", f"chdb:///{folder / 's.chdb'}")
    lite, ch = open_db(folder / "s.db"), open_database(f"chdb:///{folder / 's.chdb'}")
    n_orders, batches = batches.n_orders, Batches(folder, 3)
    batches.n_users, batches.n_orders = 30, n_orders
    try:
        yield lite, ch, batches
    finally:
        lite.close()
        ch.close()


def _snapshot(lite) -> dict[str, set[tuple]]:
    out = {t: set(lite.execute(f"SELECT * FROM {t}").fetchall()) for t in MIRRORED}
    out["meta"] = set(lite.execute("SELECT key, value FROM meta").fetchall())
    return out


def _insert(ch, table: str, columns: list[str], rows: list[tuple]) -> None:
    if rows:
        marks = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * len(rows))
        values = [v for row in rows for v in row]
        ch.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {marks}", values)


def _day(lite, ch, files: dict[str, Path]) -> None:
    """The day's files imported into SQLite, and what the import wrote there into chDB."""
    before = _snapshot(lite)
    _import([lite], files)
    after = _snapshot(lite)
    for table in MIRRORED:
        columns = [c[1] for c in lite.execute(f"PRAGMA table_info({table})")]
        _insert(ch, table, columns, sorted(after[table] - before[table]))
    dirty = [r for r in lite.execute("SELECT user_id FROM refresh_dirty")]
    _insert(ch, "refresh_dirty", ["user_id"], dirty)
    for key, _ in before["meta"] - after["meta"]:
        ch.execute("DELETE FROM meta WHERE key = ?", (key,))
    _insert(ch, "meta", ["key", "value"], sorted(after["meta"] - before["meta"]))


def test_refresh_on_chdb_is_sqlites_refresh_and_chdbs_recompute(
    dbs: tuple[Any, Any, Batches],
) -> None:
    """A day, then a week (every window moves) refitted; the same date again with late rows
    is the failure test's last refresh."""
    lite, ch, batches = dbs
    full = open_db(_path(lite).replace("s.db", "start.db"))
    try:
        day = D0
        for forward, refit in ((1, False), (7, True)):
            day += timedelta(days=forward)
            files = batches.day(day)
            _day(lite, ch, files)
            _import([full], files)
            a = refresh(lite, day, refit=refit)
            b = refresh(ch, day, refit=refit)
            assert b.full == "" and (a.touched, a.reread, a.users, a.buyers, a.refitted) == (
                b.touched, b.reread, b.users, b.buyers, refit,
            )  # fmt: skip
            assert b.touched > 0
            assert ch.execute("SELECT count(*) FROM refresh_dirty").fetchone() == (0,)
            assert_same_results(lite, ch)
            recompute(full, day)
        # on the refitted day the refresh is the full recompute, outputs too: SQLite's...
        refreshed = {q: _rows(ch, q) for q in QUERIES}
        assert refreshed == {q: _rows(full, q) for q in QUERIES}
        # ... and chDB's own, on the same database
        recompute(ch, day)
        assert {q: _rows(ch, q) for q in QUERIES} == refreshed
        assert_same_results(lite, ch)
    finally:
        full.close()


def _run(*args: str) -> str:
    got = CliRunner().invoke(cli, list(args))
    assert got.exit_code == 0, got.output
    return got.output


def test_model_validate_on_chdb_prints_what_sqlite_prints(dbs: tuple[Any, Any, Batches]) -> None:
    """The holdout aggregated by ClickHouse (core.analytics.validation): the same figures,
    text and JSON, and the same model recorded (meta: exchanged in)."""
    lite, ch, _ = dbs
    outputs = {}
    for conn, db in ((lite, _path(lite)), (ch, f"chdb:///{ch.path}")):
        outputs[db] = [
            _run("model", db, "--validate", "--calibration-end", "2024-05-01"),
            _run("model", db, "--validate", "--calibration-end", "2024-04-01", "--holdout-end",
                 "2024-06-20", "--json"),
            validate(conn, date(2024, 3, 15), date(2024, 7, 4)).as_json(),
        ]  # fmt: skip
    (a, b) = outputs.values()
    assert a == b
    assert '"actual_repeat_purchases": ' in b[1] and "Calibration: orders up to 2024-05-01" in b[0]
    assert_same_results(lite, ch)


def _path(lite) -> str:
    return next(r[2] for r in lite.execute("PRAGMA database_list") if r[1] == "main")


def _state(ch) -> dict[str, list[tuple]]:
    out = {t: _rows(ch, f"SELECT * FROM {t}") for t in ("features", *TABLES, "model_fits")}
    for table in ("meta", "refresh_dirty"):
        out[table] = _rows(ch, f"SELECT * FROM {table}")
    out["databases"] = _rows(ch, "SELECT name FROM system.databases")
    out["tables"] = _rows(ch, "SELECT name FROM system.tables WHERE database = 'default'")
    return out


def test_a_failure_half_way_leaves_the_previous_state_on_chdb(
    dbs: tuple[Any, Any, Batches], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same date again, with late rows: the tags failing (after the features were
    rewritten in the build), then the fourth exchange failing: each time the previous
    features, tags, histories, fits, meta and dirty users, and no build database; then the
    refresh runs (`userops refresh`), and gives SQLite's, saying what SQLite's says."""
    lite, ch, batches = dbs
    (as_of,) = ch.execute("SELECT value FROM meta WHERE key = 'features_as_of'").fetchone()
    day = date.fromisoformat(as_of)
    _day(lite, ch, batches.day(day))
    before = _state(ch)
    assert before["refresh_dirty"]  # the day's rows are dated on the features' date

    def fail(*args, **kwargs):
        raise clickhouse.ClickHouseError("injected failure")

    with monkeypatch.context() as patch:
        patch.setattr(tags, "apply_tags", fail)
        with pytest.raises(DatabaseError, match="Refresh failed, previous features kept: inj"):
            refresh(ch, day)
    assert _state(ch) == before
    exchange, calls = clickhouse._exchange, []

    def fail_fourth(conn, a, b):
        calls.append(a)
        if len(calls) == 4:
            raise clickhouse.ClickHouseError("injected failure")
        exchange(conn, a, b)

    with monkeypatch.context() as patch:
        patch.setattr(clickhouse, "_exchange", fail_fourth)
        with pytest.raises(DatabaseError, match="Refresh failed, previous features kept: inj"):
            refresh(ch, day)
    assert len(calls) == 7  # three exchanged in, then back
    assert _state(ch) == before
    said = [  # the command, on both: the same lines but the time
        [
            line
            for line in _run("refresh", db, "--as-of", str(day)).splitlines()
            if "time" not in line
        ]
        for db in (_path(lite), f"chdb:///{ch.path}")
    ]
    assert said[0] == said[1] and said[1][0] == f"as of    {day} → {day}  (incremental)"
    assert_same_results(lite, ch)
