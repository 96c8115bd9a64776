"""What the app's screens read, on DuckDB and chDB as on SQLite (issue 17): the layers report
and transitions, the RFM screen's tables, the campaigns list, audit log, effect report and
power, the tags' value distributions, completion values, the strategies' dry run. Each read
runs on a copy of demo.db and must give what it gives on SQLite (floats to 12 digits: chDB adds
the RFM groups' revenue in its own order). The Dialect pieces they use are checked on each
engine with known answers."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from core.analytics import rfm, rfm_report
from core.audience import segments
from core.audience import strategies as st
from core.audience.campaigns import records as cmp
from core.audience.effect import effect_report, projected_power
from core.errors import CoreError
from core.query import compile_condition, complete
from core.rules import layers, tags
from core.store.copy import copy_database
from core.store.db import open_db, stored_as_of
from core.store.engines import dialect_of, open_database
from core.views import users

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ["duckdb", "chdb"]


def url(engine: str, base: Path) -> str:
    return f"{engine}:///{base}.{engine}"


@pytest.fixture(scope="module", params=ENGINES)
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("reads")
    shutil.copy(ROOT / "demo.db", tmp / "demo.db")  # a copy: opening may upgrade it
    conn = open_db(tmp / "demo.db")
    add_history(conn)
    conn.close()
    copy_database(tmp / "demo.db", url(request.param, tmp / "demo"))
    lite = open_db(tmp / "demo.db", readonly=True)
    other = open_database(url(request.param, tmp / "demo"), readonly=True)
    yield lite, other
    lite.close()
    other.close()


def add_history(conn) -> None:
    """Layer history on two dates: the features' date as the features are, and a week before
    with every user whose id ends in 1 churned (the demo keeps no history)."""
    as_of = stored_as_of(conn)
    conn.execute("DELETE FROM layer_history")
    conn.execute(
        "INSERT INTO layer_history SELECT ?, user_id, layer FROM features WHERE layer IS NOT NULL",
        (as_of.isoformat(),),
    )
    conn.execute(
        "INSERT INTO layer_history SELECT ?, user_id, CASE WHEN user_id LIKE '%1' THEN 'churned' "
        "ELSE layer END FROM features WHERE layer IS NOT NULL",
        ((as_of - timedelta(days=7)).isoformat(),),
    )


def plain(value: object) -> object:
    """A result as comparable data: floats to 12 significant digits, dataclasses as dicts,
    dicts by key."""
    if isinstance(value, float):
        return value if math.isnan(value) or value == 0 else float(f"{value:.12g}")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {k: plain(v) for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def same(pair, read) -> object:
    lite, other = pair
    expected = read(lite)
    assert plain(read(other)) == plain(expected)
    return expected


def test_the_layers_report(pair) -> None:
    report = same(pair, lambda c: layers.mece_report(c, stored_as_of(c)))
    assert report.total == 20_000 and len(report.pyramid) >= 5


@pytest.mark.parametrize("days", [30, 13])
def test_transitions(pair, days: int) -> None:
    """From a date without layer history (computed in TEMP tables on SQLite and DuckDB; on
    chDB one line) to the features' date."""
    lite, other = pair
    as_of = stored_as_of(lite)
    since = as_of - timedelta(days=days)
    expected = layers.transitions(lite, since, as_of)
    assert expected.moved > 1000 and expected.computed == (True, False)
    cell = max((c, k) for k, c in expected.counts.items() if k[0] != k[1])[1]
    ids = layers.transition_users(lite, since, as_of, *cell)
    assert len(ids) == expected.count(*cell)
    if other.engine == "chdb":
        with pytest.raises(CoreError) as err:
            layers.transitions(other, since, as_of)
        assert str(err.value) == (
            f"No layer history on {since}: transitions from or to a date that was not "
            "recomputed do not run on chDB yet (on SQLite and DuckDB they are computed)"
        )
        return
    assert plain(layers.transitions(other, since, as_of)) == plain(expected)
    assert layers.transition_users(other, since, as_of, *cell) == ids
    # the cell as a condition (its ids bound as one JSON text): the same users listed
    for conn in pair:
        moved = layers.transition_condition(conn, since, as_of, *cell)
        assert json.loads(str(moved.params["moved_user_ids"])) == ids
        page = users.page(conn, condition=moved, limit=len(ids) + 5)
        assert [row.user_id for row in page.rows] == ids


def test_transitions_between_recomputed_dates_on_every_engine(pair) -> None:
    """Both dates in layer_history (add_history): read from it on every engine, chDB too.
    Who moved: the users whose id ends in 1 and are not churned now, all from churned."""
    lite, other = pair
    as_of = stored_as_of(lite)
    week = as_of - timedelta(days=7)
    moved = lite.execute(
        "SELECT layer, count(*) FROM features WHERE user_id LIKE '%1' AND layer != 'churned' "
        "GROUP BY layer ORDER BY 2 DESC"
    ).fetchall()
    assert sum(n for _, n in moved) > 1000
    for conn in pair:
        got = layers.transitions(conn, week, as_of)
        assert got.computed == (False, False)
        assert got.moved == sum(n for _, n in moved)
        assert {after: got.count("churned", after) for after, _ in moved} == dict(moved)
        ids = layers.transition_users(conn, week, as_of, "churned", moved[0][0])
        assert len(ids) == moved[0][1] and all(i.endswith("1") for i in ids)
    same(pair, lambda c: layers.transitions(c, week, as_of))


def test_the_rfm_screen(pair) -> None:
    same(pair, rfm_report.group_table)
    same(pair, rfm.get_thresholds)
    same(pair, rfm_report.suggest_cuts)
    same(pair, lambda c: rfm_report.cut_lines(c, rfm.get_thresholds(c)))
    sample = same(pair, rfm_report.buyer_sample)
    assert len(sample) == 2000
    same(pair, rfm_report.cell27_table)
    trial = {"r": rfm.Threshold("r", "fixed", 45.0), "m": rfm.Threshold("m", "score", 4.0)}
    for dim, t in trial.items():
        same(pair, lambda c, dim=dim, t=t: rfm_report.preview_groups(c, {dim: t}))
        same(
            pair, lambda c, dim=dim, t=t: rfm_report.cut_lines(c, {**rfm.get_thresholds(c), dim: t})
        )


def test_the_campaigns_screen(pair) -> None:
    found = same(pair, cmp.list_campaigns)
    assert len(found) > 10
    assert any(t == 0 for _, t, _ in found)  # a campaign without targets: 0, not NULL
    as_of = stored_as_of(pair[0])
    for campaign, _, _ in found[:4]:
        name = campaign.name
        same(pair, lambda c, n=name: cmp.audit(c, n, limit=200))
        same(pair, lambda c, n=name: cmp.counts(c, n))
        same(pair, lambda c, n=name: projected_power(c, n))
        same(pair, lambda c, n=name: effect_report(c, n, window_days=14, as_of=as_of))

        def targets(c, n=name):
            compiled = compile_condition(c, f'target of campaign "{n}"', as_of=as_of)
            return users.page(c, condition=compiled, limit=20).rows

        same(pair, targets)


@pytest.mark.parametrize("field", tags.MODEL_FIELDS)
def test_a_model_outputs_distribution(pair, field: str) -> None:
    got = same(pair, lambda c: tags.value_distribution(c, field))
    assert sum(got.counts) + got.missing == 20_000


@pytest.mark.parametrize(
    "text", ["count(", "city = ", "tag ", "target of campaign ", "entered layer "]
)
def test_completion_values(pair, text: str) -> None:
    got = same(pair, lambda c: complete(c, text, len(text)))
    assert got


def test_segments_and_the_strategies_dry_run(pair) -> None:
    as_of = stored_as_of(pair[0])
    same(pair, lambda c: segments.list_segments(c, as_of))
    same(pair, st.summaries)
    same(pair, lambda c: st.run_strategies(c, dry_run=True))


@pytest.mark.parametrize("engine", ["sqlite", *ENGINES])
def test_the_dialect_pieces_the_reads_use(engine: str, tmp_path: Path) -> None:
    """Known answers: the integer part toward zero (DuckDB's CAST rounds), the smaller of two,
    a JSON list of texts as rows, a sum of nothing is 0.0 (SQLite's total), sqlite3's
    ``:name`` markers on every engine (not inside quoted text)."""
    db = tmp_path / "t.db"
    open_db(db, create=True).close()
    conn = open_db(db) if engine == "sqlite" else None
    if conn is None:
        copy_database(db, url(engine, tmp_path / "t"))
        conn = open_database(url(engine, tmp_path / "t"), readonly=True)
    d = dialect_of(conn)
    try:
        row = conn.execute(
            f"SELECT {d.int_part(':a')}, {d.int_part(':b')}, {d.least(':c', ':d')}, "
            f"{d.int_part('(:e - :f) / :g')}, ':a'",
            {"a": 2.7, "b": -2.7, "c": 9, "d": 4, "e": 10.0, "f": 1.0, "g": 4.0},
        ).fetchone()
        assert list(row) == [2, -2, 4, 2, ":a"]
        ids = json.dumps(["U1", 'a "quoted" one', "汉字"])
        rows = conn.execute(d.json_texts(d.param("ids")), {"ids": ids}).fetchall()
        assert sorted(r[0] for r in rows) == sorted(json.loads(ids))
        empty = conn.execute(
            f"SELECT {d.total('monetary', 'user_id')} FROM features WHERE frequency > 0"
        ).fetchone()[0]
        assert empty in (0.0, None)  # SQLite and chDB 0.0; DuckDB sums in order: NULL
        if engine != "duckdb":
            assert empty == 0.0
    finally:
        conn.close()


def test_a_campaign_audit_reads_its_at_column(pair) -> None:
    """``at`` is a keyword to DuckDB: the audit log's times come through on every engine."""
    found = cmp.list_campaigns(pair[0])
    name = found[0][0].name
    entries = same(pair, lambda c: cmp.audit(c, name))
    assert entries and all(e.at.startswith("20") for e in entries)


def test_a_copy_stores_events_by_kind_and_time(pair) -> None:
    """The language's windows read a kind's recent events: the copy writes them in the order
    of SQLite's index events_kind_time (kind, time, user), so DuckDB's zone maps skip the row
    groups of other kinds and older times. chDB sorts by its own key."""
    lite, other = pair
    rows = [tuple(r) for r in other.execute("SELECT kind, created_at, user_id FROM events")]
    assert len(rows) == lite.execute("SELECT count(*) FROM events").fetchone()[0] > 50_000
    if other.engine == "duckdb":
        assert rows == sorted(rows)
        assert rows != sorted(rows, key=lambda r: (r[2], r[0], r[1]))  # not by user


def test_the_profile_is_sqlites(pair) -> None:
    """The profile (its rules and segments tested in one statement, each timeline and its
    months read in one) is the same on each engine, user by user: the first users, the
    busiest, and one whose events share a time (U018729: cart_add and login at 23:01:00, in
    SQLite's order, kind then value)."""
    from core.views import profile

    lite, _ = pair
    as_of = stored_as_of(lite)
    busiest = [
        r[0]
        for r in lite.execute(
            "SELECT user_id FROM events GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 3"
        )
    ]
    first = [r[0] for r in lite.execute("SELECT user_id FROM features ORDER BY user_id LIMIT 3")]
    for user_id in [*first, *busiest, "U018729"]:
        found = same(pair, lambda c, u=user_id: profile.profile(c, u, as_of))
        assert found.user_id == user_id and found.monthly_activity
    tie = profile.profile(lite, "U018729", as_of).events
    assert ("cart_add", "2025-11-27 23:01:00", "护肤") in tie
    at = tie.index(("cart_add", "2025-11-27 23:01:00", "护肤"))
    assert tie[at + 1] == ("login", "2025-11-27 23:01:00", None)
