"""The refresh on DuckDB (issue 17; docs/engines.md): random daily batches (new users, orders
and events of the day, late orders, days with nothing) imported from CSV files into a SQLite
database and into two DuckDB copies of it; after each day one DuckDB copy is refreshed, the
other fully recomputed, the SQLite one refreshed: every column of features, the user tags,
model inputs and the layer, RFM-group and tag histories are identical on the three (model
outputs and fits to a relative 1e-9 across engines, as tests/core/test_duck_recompute.py).
A failure half-way leaves the DuckDB database as it was."""

from __future__ import annotations

import csv
import random
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from test_duck_recompute import TABLES, assert_same_results

from core.analytics.predict import record_choice
from core.errors import DatabaseError
from core.ingest.importer import import_files
from core.pipeline import recompute
from core.refresh import refresh
from core.rules.tags import install_defaults_once
from core.store.copy import copy_database
from core.store.db import open_db
from core.store.duck import open_duckdb
from core.store.schema import EVENT_KINDS, FEATURE_COLUMNS, MODEL_OUTPUT_COLUMNS

D0 = date(2024, 6, 30)
CATEGORIES = ("", "beauty", "books", "shoes")
# what the refresh writes: compared exactly between the refreshed and the recomputed DuckDB
EXACT = [
    f"SELECT {', '.join(FEATURE_COLUMNS)} FROM features ORDER BY user_id",
    *(f"SELECT * FROM {table} ORDER BY ALL" for table in TABLES),
]
# ... on a day the refresh scores with the stored fit (the recompute refits: outputs differ)
NO_OUTPUTS = [
    f"SELECT {', '.join(c for c in FEATURE_COLUMNS if c not in MODEL_OUTPUT_COLUMNS)}"
    " FROM features ORDER BY user_id",
    *EXACT[1:],
]


def _stamp(rng: random.Random, day: date) -> str:
    if rng.random() < 0.2:
        return day.isoformat()  # a date alone: no time of day
    return f"{day.isoformat()} {rng.randrange(24):02d}:{rng.randrange(60):02d}:00"


class Batches:
    """The same CSV files imported into every database, as an operator would."""

    def __init__(self, folder: Path, seed: int) -> None:
        self.folder = folder
        self.rng = random.Random(seed)
        self.n_users = 0
        self.n_orders = 0
        self.n_files = 0

    def _csv(self, header: list[str], rows: list[tuple]) -> Path:
        self.n_files += 1
        path = self.folder / f"f{self.n_files}.csv"
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    def day(self, day: date, *, history: bool = False) -> dict[str, Path]:
        """A day's files: new users, orders and events (the history: 150 days of them)."""
        rng, files = self.rng, {}
        new = 30 if history else rng.choice([0, 0, 1, 3])
        users = [(f"u{self.n_users + i:03d}", f"c{i % 3}", day.isoformat()) for i in range(new)]
        if history:
            users = [(u, c, "2024-01-01") for u, c, _ in users]
        self.n_users += new
        back = 150 if history else 0
        n_orders = rng.randrange(40, 60) if history else rng.choice([0, 2, 5, 8])
        n_events = rng.randrange(60, 80) if history else rng.choice([0, 4, 10])
        orders = []
        for _ in range(n_orders):
            self.n_orders += 1
            when = day - timedelta(days=rng.randrange(back + 1))
            user = f"u{rng.randrange(self.n_users):03d}"
            orders.append((f"o{self.n_orders}", user, rng.randrange(1, 41) / 2, _stamp(rng, when)))
        if not history:  # late orders: dated on or before the features' date
            for _ in range(rng.choice([0, 1, 2])):
                self.n_orders += 1
                when = day - timedelta(days=rng.randrange(1, 100))
                user = f"u{rng.randrange(self.n_users):03d}"
                orders.append(
                    (f"o{self.n_orders}", user, rng.randrange(1, 41) / 2, _stamp(rng, when))
                )
        events = {
            (
                f"u{rng.randrange(self.n_users):03d}",
                rng.choice(EVENT_KINDS),
                f"{(day - timedelta(days=rng.randrange(back + 1))).isoformat()} "
                f"{rng.randrange(24):02d}:00:00",
                rng.choice(CATEGORIES),
            )
            for _ in range(n_events)
        }
        if users:
            files["users"] = self._csv(["user_id", "city", "signup_at"], users)
        if orders:
            files["orders"] = self._csv(["order_id", "user_id", "amount", "created_at"], orders)
        if events:
            files["events"] = self._csv(["user_id", "kind", "created_at", "value"], sorted(events))
        return files


def _import(conns, files: dict[str, Path]) -> None:
    if files:
        for conn in conns:
            import_files(conn, **files)


def history_to_d0(folder: Path) -> Batches:
    """``folder/s.db``: 150 days of history to D0, recomputed with MBG/NBD as the recorded
    model (the fits: two models, not four); the batches that come next."""
    batches = Batches(folder, 1)
    lite = open_db(folder / "s.db", create=True)
    _import([lite], batches.day(D0, history=True))
    install_defaults_once(lite, as_of=D0)
    record_choice(lite, "mbgnbd", "the test's choice", "explicit")
    recompute(lite, D0)
    lite.close()
    return batches


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """150 days of history to D0 in SQLite, recomputed, and its DuckDB copy (built once);
    MBG/NBD recorded as the model in use (the fits: two models, not four)."""
    folder = tmp_path_factory.mktemp("duckrefresh")
    batches = history_to_d0(folder)
    copy_database(folder / "s.db", f"duckdb:///{folder / 's.duckdb'}")
    return folder, batches.n_orders


def _copies(start: tuple[Path, int], tmp: Path, seed: int, *names: str) -> Batches:
    folder, n_orders = start
    for name in names:
        source = folder / ("s.db" if name.endswith(".db") else "s.duckdb")
        shutil.copy(source, tmp / name)
    batches = Batches(tmp, seed)
    batches.n_users, batches.n_orders = 30, n_orders
    return batches


# (days forward, refit) per day: 0 is the same date again, with late rows; a week moves every
# window; the last day refits, so its model outputs are compared with the recompute's too
@pytest.mark.parametrize(
    ("seed", "steps"), [(3, ((1, False), (0, True))), (8, ((2, False), (7, True)))]
)
def test_refresh_on_duckdb_is_the_full_recompute_and_sqlites_refresh(
    start: tuple[Path, int], tmp_path: Path, seed: int, steps: tuple[tuple[int, bool], ...]
) -> None:
    batches = _copies(start, tmp_path, seed, "s.db", "refreshed.duckdb", "full.duckdb")
    lite = open_db(tmp_path / "s.db")
    duck, full = (open_duckdb(tmp_path / f"{n}.duckdb") for n in ("refreshed", "full"))
    try:
        day = D0
        for forward, refit in steps:
            day += timedelta(days=forward)
            _import([lite, duck, full], batches.day(day))
            a = refresh(lite, day, refit=refit)
            b = refresh(duck, day, refit=refit)
            assert b.full == "" and (a.touched, a.reread, a.users, a.buyers, a.refitted) == (
                b.touched, b.reread, b.users, b.buyers, refit,
            )  # fmt: skip
            recompute(full, day)
            for query in EXACT if refit else NO_OUTPUTS:
                assert duck.execute(query).fetchall() == full.execute(query).fetchall(), query
            assert_same_results(lite, duck)
    finally:
        for conn in (lite, duck, full):
            conn.close()


def _state(conn) -> dict[str, list[tuple]]:
    out = {q: conn.execute(q).fetchall() for q in EXACT}
    for table in ("meta", "refresh_dirty", "model_fits"):
        out[table] = conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    return out


def test_a_failure_half_way_leaves_the_previous_state(
    start: tuple[Path, int], tmp_path: Path
) -> None:
    batches = _copies(start, tmp_path, 5, "d.duckdb")
    duck = open_duckdb(tmp_path / "d.duckdb")
    day = D0 + timedelta(days=2)
    _import([duck], batches.day(day))
    before = _state(duck)
    assert before["refresh_dirty"]  # the day's late order (seed 5): noted by the import
    real = duck.execute
    seen: list[str] = []

    def failing(sql: str, params=()):
        seen.append(sql)
        if sql.startswith("INSERT INTO user_tags(user_id, tag)"):  # the tags: after features
            raise sqlite3.OperationalError("disk I/O error (injected)")
        return real(sql, params)

    duck.execute = failing  # type: ignore[method-assign]
    with pytest.raises(DatabaseError, match="Refresh failed, previous features kept"):
        refresh(duck, day)
    duck.execute = real  # type: ignore[method-assign]
    assert any(s.startswith("INSERT INTO features_new") for s in seen)  # it got that far
    assert _state(duck) == before
    temp = "SELECT table_name FROM duckdb_tables() WHERE temporary"
    assert duck.execute(temp).fetchall() == []
    duck.close()
    duck = open_duckdb(tmp_path / "d.duckdb")  # and so it stays, reopened
    assert _state(duck) == before
    assert refresh(duck, day).full == ""  # then it runs
    duck.close()
