"""Strategies on small hand-made data with known answers: modes, holdout, global control,
limits, priority, overlaps, schedule, reruns, a killed run, the target file, the report."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from core.audience import campaigns as cmp
from core.audience import strategies as st
from core.audience.campaigns.members import control_draw
from core.audience.effect import conversion_uplift, minimum_detectable_uplift
from core.audience.global_control import get_global_control, set_global_control
from core.audience.strategies.run import set_frequency_cap
from core.errors import NotFound, QueryError
from core.query import compile_condition
from core.store.db import open_db, set_meta

ROOT = Path(__file__).resolve().parents[2]
MON = date(2024, 7, 1)  # a Monday
IDS = [f"u{i:03d}" for i in range(100)]


@pytest.fixture
def base(conn):
    conn.executemany(
        "INSERT INTO users(user_id, name, phone, email) VALUES (?, ?, ?, ?)",
        [(u, f"name {u}", f"138{u}", f"{u}@x.cn") for u in IDS],
    )
    conn.executemany(
        "INSERT INTO features(user_id, monetary, layer, rfm_group) VALUES (?, 0, ?, ?)",
        [
            (u, "buyer" if i % 2 else "registered", "important_value" if i < 50 else None)
            for i, u in enumerate(IDS)
        ],
    )
    on(conn, MON)
    return conn


def on(conn, day: date) -> None:
    """Move the database's as-of date (as a refresh would)."""
    set_meta(conn, "features_as_of", day.isoformat())
    set_meta(conn, "as_of", day.isoformat())


def matching(conn, ids) -> None:
    """Make exactly ``ids`` match the condition ``monetary = 1``."""
    conn.execute("UPDATE features SET monetary = 0")
    conn.executemany("UPDATE features SET monetary = 1 WHERE user_id = ?", [(u,) for u in ids])


def strategy(conn, name="s", **kw) -> st.Strategy:
    kw.setdefault("offer", "20 off")
    kw.setdefault("holdout_pct", 0)
    return st.save(
        conn, st.Strategy(name=name, condition=kw.pop("condition", "monetary = 1"), **kw)
    )


def run(conn, tmp_path, **kw) -> dict[str, st.StrategyRun]:
    kw.setdefault("out_dir", tmp_path / "out")
    return {r.strategy: r for r in st.run_strategies(conn, **kw).runs}


def members(conn, name: str, day: date, role: str = "target") -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT user_id FROM campaign_members WHERE campaign = ? AND role = ?",
            (f"strategy {name} {day.isoformat()}", role),
        )
    }


# --- modes ----------------------------------------------------------------------------------


def test_entering_targets_only_new_matches_every_run_targets_all(base, tmp_path):
    strategy(base, "enter")
    strategy(base, "every", mode="every_run", priority=-1)
    matching(base, IDS[0:10])
    first = run(base, tmp_path)
    assert first["enter"].targets == 10 and first["every"].targets == 0  # priority took them
    on(base, MON + timedelta(days=1))
    matching(base, IDS[5:15])
    second = run(base, tmp_path)
    assert members(base, "enter", MON + timedelta(days=1)) == set(IDS[10:15])
    assert second["enter"].removed["not_entering"] == 5
    assert members(base, "every", MON + timedelta(days=1)) == set(IDS[5:10])
    assert second["every"].removed["priority"] == 5


def test_entering_counts_from_the_previous_run_not_from_days_without_one(base, tmp_path):
    strategy(base, "enter", schedule=st.Schedule.parse("every:2"))
    matching(base, IDS[0:4])
    run(base, tmp_path)
    on(base, MON + timedelta(days=1))  # not due: its matches are not recorded
    matching(base, IDS[0:6])
    assert run(base, tmp_path)["enter"].status == "not_due"
    on(base, MON + timedelta(days=2))
    matching(base, IDS[2:8])
    run(base, tmp_path)
    assert members(base, "enter", MON + timedelta(days=2)) == set(IDS[4:8])


# --- holdout --------------------------------------------------------------------------------


def test_holdout_share_is_seeded_stored_and_deterministic(base, tmp_path):
    strategy(base, "h", holdout_pct=30, seed=5)
    matching(base, IDS)
    got = run(base, tmp_path)["h"]
    expected = {u for u in IDS if control_draw(5, f"strategy:h:{u}") < 0.3}
    assert members(base, "h", MON, "control") == expected
    assert (got.control, got.targets) == (len(expected), 100 - len(expected))
    assert 20 <= len(expected) <= 40
    stored = dict(base.execute("SELECT user_id, arm FROM strategy_draws WHERE strategy = 'h'"))
    assert {u for u, arm in stored.items() if arm == -1} == expected
    # a dry run on the same data gives the same split
    on(base, MON + timedelta(days=1))
    strategy(base, "h", holdout_pct=30, seed=5, mode="every_run")
    dry = st.run_strategies(base, dry_run=True).runs[0]
    assert dry.control == len(expected)


def test_variants_split_the_targets_at_random_and_each_gets_its_offer(base, tmp_path):
    strategy(
        base,
        "v",
        holdout_pct=20,
        variants=(st.Variant("push", "A offer"), st.Variant("sms", "B offer")),
    )
    matching(base, IDS)
    got = run(base, tmp_path)["v"]
    arms = {}
    for u in IDS:
        d = control_draw(0, f"strategy:v:{u}")
        arms[u] = -1 if d < 0.2 else min(1, int((d - 0.2) / 0.8 * 2))
    by_offer = {o.offer: set(o.user_ids) for o in got.offers}
    assert by_offer == {
        "A offer": {u for u, a in arms.items() if a == 0},
        "B offer": {u for u, a in arms.items() if a == 1},
    }
    rows = list(csv.DictReader((tmp_path / "out" / "v_2024-07-01.csv").open()))
    assert {r["user_id"]: (r["variant"], r["channel"]) for r in rows} == {
        u: ("AB"[a], ("push", "sms")[a]) for u, a in arms.items() if a >= 0
    }


def test_offers_by_layer_give_each_group_its_offer(base, tmp_path):
    base.execute(
        "INSERT INTO layer_rules(position, key, name_zh, name_en, condition)"
        " VALUES (1, 'buyer', '购买', 'buyer', 'frequency >= 1'),"
        " (2, 'registered', '注册', 'registered', 'frequency = 0')"
    )
    strategy(base, "g", offers_by="layer", offers={"buyer": "VIP coupon"}, offer="welcome pack")
    matching(base, IDS[:4])
    got = run(base, tmp_path)["g"]
    assert {o.offer: o.user_ids for o in got.offers} == {
        "welcome pack": ("u000", "u002"),
        "VIP coupon": ("u001", "u003"),
    }
    with pytest.raises(st.StrategyError, match="unknown group 'vip'"):
        strategy(base, "bad", offers_by="layer", offers={"vip": "x"})


# --- global control -------------------------------------------------------------------------


def test_the_global_draw_is_the_campaigns_draw():
    from core.audience import global_control

    for key in ("u001", "global:u001", "中文", ""):
        assert global_control.control_draw(7, key) == control_draw(7, key)


def test_the_global_control_group_is_never_targeted(base, tmp_path):
    got = set_global_control(base, 25, seed=3)
    held = {u for u in IDS if control_draw(3, f"global:{u}") < 0.25}
    assert got.users == len(held) and got.of_users == 100
    stored = {r[0] for r in base.execute("SELECT user_id FROM global_control")}
    assert stored == held
    # the language knows it
    compiled = compile_condition(base, "in global control", as_of=MON)
    found = {r[0] for r in base.execute(f"SELECT user_id FROM features f WHERE {compiled.where}")}
    assert found == held
    # strategies
    strategy(base, "s", holdout_pct=10, mode="every_run")
    matching(base, IDS)
    first = run(base, tmp_path)["s"]
    assert first.removed["global_control"] == len(held)
    chosen = members(base, "s", MON) | members(base, "s", MON, "control")
    assert chosen == set(IDS) - held
    # campaigns: add leaves them out, mark refuses them
    cmp.create_campaign(base, "c", who="t")
    cond = compile_condition(base, "monetary = 1", as_of=MON)
    added = cmp.add_from_segment(base, "c", cond, holdout_pct=0, as_of=MON, who="t")
    assert added.excluded_global_control == len(held)
    assert added.added_targets == 100 - len(held)
    one = sorted(held)[0]
    cmp.create_campaign(base, "d", who="t")
    with pytest.raises(cmp.CampaignError, match="global control"):
        cmp.mark(base, "d", [one], who="t")
    # a user who arrives later is drawn too
    new = next(f"n{i}" for i in range(1000) if control_draw(3, f"global:n{i}") < 0.25)
    base.execute("INSERT INTO users(user_id) VALUES (?)", (new,))
    base.execute("INSERT INTO features(user_id, monetary) VALUES (?, 1)", (new,))
    cmp.create_campaign(base, "e", who="t")
    later = cmp.add_from_segment(base, "e", cond, holdout_pct=0, as_of=MON, who="t")
    assert later.excluded_global_control == len(held) + 1
    assert get_global_control(base).users == len(held) + 1


# --- limits ---------------------------------------------------------------------------------


def test_cooldown_keeps_a_user_out_for_n_days(base, tmp_path):
    strategy(base, "c", mode="every_run", cooldown_days=3)
    matching(base, IDS[:5])
    counts = []
    for k in range(5):
        on(base, MON + timedelta(days=k))
        got = run(base, tmp_path)["c"]
        counts.append((got.targets, got.removed["cooldown"]))
    # targeted on day 0; days 1 and 2 are within 3 days; day 3 again; day 4 cooled down
    assert counts == [(5, 0), (0, 5), (0, 5), (5, 0), (0, 5)]


def test_the_frequency_cap_counts_campaigns_and_strategies_together(base, tmp_path):
    cmp.create_campaign(base, "spring", who="t", start=MON)
    cmp.mark(base, "spring", IDS[:3], who="t")
    cmp.set_status(base, "spring", "sent", who="t")
    set_frequency_cap(base, 2, 7)
    strategy(
        base,
        "a",
        mode="every_run",
        priority=1,
        condition='monetary = 1 and user_id in ("u000", "u001")',
    )
    strategy(base, "b", mode="every_run")
    matching(base, IDS[:6])
    on(base, MON + timedelta(days=1))
    got = run(base, tmp_path)
    # u000, u001: campaign + strategy a = 2; b may not take u002 again? it has 1: allowed
    assert members(base, "a", MON + timedelta(days=1)) == {"u000", "u001"}
    assert members(base, "b", MON + timedelta(days=1)) == {"u002", "u003", "u004", "u005"}
    on(base, MON + timedelta(days=2))
    got = run(base, tmp_path)
    assert got["a"].removed["frequency_cap"] == 2  # twice in 7 days already
    assert got["b"].removed["frequency_cap"] == 2 + 1  # u000, u001 and u002 (campaign + b)
    assert members(base, "b", MON + timedelta(days=2)) == {"u003", "u004", "u005"}
    # the same test as `targeted within 7d`: users targeted at least once
    compiled = compile_condition(base, "targeted within 7d", as_of=MON + timedelta(days=2))
    n = base.execute(
        f"SELECT count(*) FROM features f WHERE {compiled.where}", compiled.params
    ).fetchone()[0]
    assert n == 6


def test_max_per_run_keeps_a_seeded_prefix_with_its_control(base, tmp_path):
    strategy(base, "m", max_per_run=10, holdout_pct=50, seed=1)
    matching(base, IDS)
    got = run(base, tmp_path)["m"]
    order = sorted(IDS, key=lambda u: (control_draw(1, f"order:m:{MON}:{u}"), u))
    kept, n_t = [], 0
    for u in order:
        if n_t == 10:
            break
        kept.append(u)
        n_t += control_draw(1, f"strategy:m:{u}") >= 0.5
    assert got.targets == 10
    assert members(base, "m", MON) | members(base, "m", MON, "control") == set(kept)
    assert got.removed["max"] == 100 - len(kept)


# --- priority and overlaps -----------------------------------------------------------------


def test_priority_and_overlaps(base, tmp_path):
    base.execute("UPDATE features SET monetary = CAST(substr(user_id, 2) AS INTEGER)")
    strategy(base, "low", condition="monetary >= 40", priority=1)
    strategy(base, "high", condition="monetary < 60", priority=2)
    strategy(base, "none", condition="monetary >= 99", priority=0)
    pairs = {(o.a, o.b): o.users for o in st.overlaps(base)}
    assert pairs == {("high", "low"): 20, ("high", "none"): 0, ("low", "none"): 1}
    got = run(base, tmp_path)
    assert (got["high"].targets, got["low"].targets, got["none"].targets) == (60, 40, 0)
    assert got["low"].removed["priority"] == 20
    assert got["none"].removed["priority"] == 1
    preview = st.preview(
        base, st.Strategy("new", "monetary >= 50", offer="x", priority=3, holdout_pct=0)
    )
    assert (preview.matched, preview.run.targets) == (50, 50)
    assert preview.overlaps == {"high": 0, "low": 0, "none": 0}  # entering: ran today already


def test_preview_before_any_run_counts_overlaps(base):
    base.execute("UPDATE features SET monetary = CAST(substr(user_id, 2) AS INTEGER)")
    strategy(base, "high", condition="monetary < 60", priority=2)
    preview = st.preview(base, st.Strategy("new", "monetary >= 50", offer="x", holdout_pct=0))
    assert preview.overlaps == {"high": 10}
    assert (preview.matched, preview.wanted, preview.run.targets) == (50, 50, 40)
    assert preview.run.removed["priority"] == 10
    with pytest.raises(QueryError) as err:
        st.preview(base, st.Strategy("new", "monetary >= ", offer="x"))
    assert err.value.pos == 11


# --- schedule -------------------------------------------------------------------------------


def test_schedule_parsing_and_due_dates():
    assert st.Schedule.parse("mon,thu").weekdays == (0, 3)
    assert st.Schedule.parse("every:3").text == "every:3"
    assert st.Schedule.parse("").text == "daily"
    with pytest.raises(st.StrategyError, match="unknown weekday 'mo'"):
        st.Schedule.parse("mo,thu")
    with pytest.raises(st.StrategyError, match="every:N"):
        st.Schedule.parse("every:0")
    week = [MON + timedelta(days=k) for k in range(7)]
    assert [st.Schedule.parse("mon,thu").due(d, None) for d in week] == [
        True, False, False, True, False, False, False,
    ]  # fmt: skip
    every = st.Schedule.parse("every:3")
    assert every.due(MON, None) and not every.due(MON + timedelta(2), MON)
    assert every.due(MON + timedelta(3), MON) and every.due(MON + timedelta(5), MON)


def test_runs_follow_the_schedule_in_data_time(base, tmp_path):
    strategy(base, "wk", mode="every_run", schedule=st.Schedule.parse("mon,thu"))
    strategy(base, "e3", mode="every_run", schedule=st.Schedule.parse("every:3"), priority=-1)
    matching(base, IDS[:2])
    ran = {"wk": [], "e3": []}
    for k in range(8):
        on(base, MON + timedelta(days=k))
        for name, r in run(base, tmp_path).items():
            if r.status == "ran":
                ran[name].append(k)
    assert ran == {"wk": [0, 3, 7], "e3": [0, 3, 6]}  # Mon, Thu, Mon; every third day


def test_a_strategy_does_not_run_in_the_past_even_when_forced(base, tmp_path):
    strategy(base, "s", mode="every_run")
    matching(base, IDS[:2])
    on(base, MON + timedelta(days=3))
    assert run(base, tmp_path)["s"].status == "ran"
    on(base, MON)  # the features moved back (a refresh to an earlier date)
    for kw in ({}, {"names": ["s"], "force": True}):
        back = run(base, tmp_path, **kw)["s"]
        assert (back.status, back.targets) == ("not_due", 0)
        assert back.reason == (
            f"last ran on {MON + timedelta(days=3)}, after {MON}: a strategy does not run in the past"
        )
    assert base.execute("SELECT count(*) FROM strategy_runs").fetchone() == (1,)


# --- reruns, concurrency, a killed run ------------------------------------------------------

STATE = [
    "SELECT * FROM campaigns ORDER BY name",
    "SELECT * FROM campaign_members ORDER BY campaign, user_id",
    "SELECT id, strategy, run_date, matched, targets, control FROM strategy_runs ORDER BY id",
    "SELECT * FROM strategy_targets ORDER BY 1, 2",
    "SELECT * FROM strategy_draws ORDER BY 1, 2",
    "SELECT * FROM strategy_matches ORDER BY 1, 2",
]


def test_running_the_same_date_again_adds_nobody(base, tmp_path):
    strategy(base, "s", mode="every_run", holdout_pct=20)
    matching(base, IDS[:30])
    run(base, tmp_path)
    before = [base.execute(q).fetchall() for q in STATE]
    again = run(base, tmp_path)["s"]
    assert (again.status, again.targets, again.control) == ("already_ran", 0, 0)
    assert [base.execute(q).fetchall() for q in STATE] == before


def test_a_second_run_while_another_writes_stops_with_a_clear_message(base, db_path, tmp_path):
    strategy(base, "s")
    matching(base, IDS[:3])
    other = open_db(db_path)
    other.execute("PRAGMA busy_timeout = 0")
    base.execute("PRAGMA busy_timeout = 50")
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(st.StrategyError, match="Another run or another write holds"):
            run(base, tmp_path)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert base.execute("SELECT count(*) FROM strategy_runs").fetchone() == (0,)
    assert run(base, tmp_path)["s"].targets == 3  # and then it runs


KILLED_CHILD = """
import sys, time
from pathlib import Path
from core.audience.strategies import run
from core.store.db import open_db

original = run._write_targets

def stalled(*args, **kwargs):
    original(*args, **kwargs)
    print("half-way", flush=True)
    time.sleep(60)

run._write_targets = stalled
run.run_strategies(open_db(sys.argv[1]), out_dir=Path(sys.argv[2]))
"""


def test_a_killed_run_leaves_no_partial_run_and_no_file(base, db_path, tmp_path):
    strategy(base, "first", priority=2)
    strategy(base, "second", priority=1, condition="monetary = 0")
    matching(base, IDS[:10])
    before = [base.execute(q).fetchall() for q in STATE]
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(db_path), str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "half-way"  # the first run is written, not committed
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    base.close()
    reopened = open_db(db_path)
    try:
        assert [reopened.execute(q).fetchall() for q in STATE] == before
        assert not (out / "first_2024-07-01.csv").exists()
        got = {r.strategy: r for r in st.run_strategies(reopened, out_dir=out).runs}
        assert (got["first"].targets, got["second"].targets) == (10, 90)
        assert (out / "first_2024-07-01.csv").exists()
    finally:
        reopened.close()


# --- the target file ------------------------------------------------------------------------


def test_the_target_file_holds_the_targets_only_and_no_formulas(base, tmp_path):
    strategy(base, "f", offer='=HYPERLINK("http://x")', holdout_pct=50, channel="SMS")
    matching(base, IDS[:20])
    got = run(base, tmp_path)["f"]
    path = tmp_path / "out" / "f_2024-07-01.csv"
    assert got.file == path
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["user_id", "strategy", "date", "channel", "offer", "variant"]
    assert [r[0] for r in rows[1:]] == sorted(members(base, "f", MON))
    assert not {r[0] for r in rows[1:]} & members(base, "f", MON, "control")
    assert rows[1][1:] == ["f", "2024-07-01", "sms", '\'=HYPERLINK("http://x")', ""]
    # contact details only when the strategy asks for them
    strategy(
        base,
        "c",
        include_contact=True,
        priority=-1,
        condition='monetary = 0 and user_id in ("u020", "u021")',
    )
    run(base, tmp_path, names=["c"])
    rows = list(csv.reader((tmp_path / "out" / "c_2024-07-01.csv").open(encoding="utf-8")))
    assert rows[0][-2:] == ["phone", "email"]
    assert rows[1] == ["u020", "c", "2024-07-01", "push", "20 off", "", "138u020", "u020@x.cn"]


def test_a_missing_file_of_a_run_is_written_again(base, tmp_path):
    strategy(base, "s")
    matching(base, IDS[:3])
    run(base, tmp_path)
    path = tmp_path / "out" / "s_2024-07-01.csv"
    first = path.read_text(encoding="utf-8")
    path.unlink()
    assert run(base, tmp_path)["s"].status == "already_ran"
    assert path.read_text(encoding="utf-8") == first


# --- store ----------------------------------------------------------------------------------


def test_save_checks_pause_resume_delete(base, tmp_path):
    with pytest.raises(QueryError) as err:
        strategy(base, "bad", condition="monetry = 1")
    assert err.value.pos == 0 and "monetary" in str(err.value)
    with pytest.raises(st.StrategyError, match="Holdout 100"):
        strategy(base, "bad", holdout_pct=100)
    with pytest.raises(st.StrategyError, match="two or more"):
        strategy(base, "bad", variants=(st.Variant("push", "x"),))
    strategy(base, "s")
    assert st.pause(base, "s").status == "paused"
    matching(base, IDS[:3])
    assert run(base, tmp_path) == {}  # paused strategies do not run
    assert run(base, tmp_path, names=["s"])["s"].status == "paused"
    assert st.resume(base, "s").status == "active"
    assert run(base, tmp_path)["s"].targets == 3
    st.delete(base, "s")
    with pytest.raises(NotFound, match="No strategy named 's'"):
        st.get(base, "s")
    # its run stays a campaign: it still counts for `targeted within`
    assert cmp.counts(base, "strategy s 2024-07-01") == (3, 0)


# --- report ---------------------------------------------------------------------------------


def order(conn, user: str, day: date, amount: float, n: int = 0) -> None:
    conn.execute(
        "INSERT INTO orders(order_id, user_id, amount, created_at) VALUES (?, ?, ?, ?)",
        (f"o-{user}-{day}-{n}", user, amount, f"{day.isoformat()} 10:00:00"),
    )


def test_report_numbers_on_hand_made_orders(base, tmp_path):
    strategy(base, "r", holdout_pct=50, seed=2)
    matching(base, IDS)
    run(base, tmp_path)
    targets = sorted(members(base, "r", MON))
    control = sorted(members(base, "r", MON, "control"))
    n_t, n_c = len(targets), len(control)
    # half of the targets (rounded down) and a quarter of the control order once, 10.0 each,
    # the day after the run; an order on the run day itself is outside the window
    for u in targets[: n_t // 2]:
        order(base, u, MON + timedelta(days=1), 10.0)
    for u in control[: n_c // 4]:
        order(base, u, MON + timedelta(days=2), 10.0)
    order(base, control[-1], MON, 99.0)
    on(base, MON + timedelta(days=7))
    rep = st.report(base, "r")
    first = rep.runs[0]
    assert (first.targets.users, first.control.users) == (n_t, n_c)
    assert (first.targets.converted, first.control.converted) == (n_t // 2, n_c // 4)
    want = conversion_uplift(n_t // 2, n_t, n_c // 4, n_c)
    assert first.conversion.absolute == pytest.approx(n_t // 2 / n_t - n_c // 4 / n_c)
    assert (first.conversion.low, first.conversion.high) == pytest.approx((want.low, want.high))
    pooled = (n_t // 2 + n_c // 4) / (n_t + n_c)
    assert first.mde == pytest.approx(minimum_detectable_uplift(n_t, n_c, pooled))
    assert first.complete and first.revenue_per_user.absolute == pytest.approx(
        10.0 * (n_t // 2) / n_t - 10.0 * (n_c // 4) / n_c
    )
    assert rep.cumulative.conversion.absolute == pytest.approx(first.conversion.absolute)
    assert rep.warning == ""  # MDE 27 points < twice the control's 25 %
    assert "Newcombe" in rep.conversion_method and "power 0.8" in rep.mde_method


def test_report_pools_runs_and_warns_when_the_holdout_is_too_small(base, tmp_path):
    strategy(base, "tiny", holdout_pct=5, mode="every_run")
    matching(base, IDS)
    for k in range(2):
        on(base, MON + timedelta(days=k))
        run(base, tmp_path)
    rep = st.report(base, "tiny")
    per_run = [(r.targets.users, r.control.users) for r in rep.runs]
    n_c = len(members(base, "tiny", MON, "control"))
    assert per_run == [(100 - n_c, n_c), (100 - n_c, n_c)]
    assert (rep.cumulative.targets.users, rep.cumulative.control.users) == (
        2 * (100 - n_c),
        2 * n_c,
    )
    assert rep.warning.startswith(f"the holdout is too small to measure: {2 * n_c} control users")
    summary = {s.strategy.name: s for s in st.summaries(base)}["tiny"]
    assert (summary.runs, summary.last_run, summary.last_control) == (2, MON + timedelta(1), n_c)
    assert [p.targets for p in summary.series] == [100 - n_c, 100 - n_c]


# --- empty runs and the overlaps of a run (issue 16 follow-up) -------------------------------


def test_a_run_that_selects_nobody_still_ran_and_reads_nobody_new(base, tmp_path):
    from core.audience.strategies.report import NOBODY_MATCHED, NOBODY_NEW, NOBODY_SELECTED

    strategy(base, "r", holdout_pct=50, seed=2)  # entering
    strategy(base, "none", condition="monetary = 2", priority=-1)  # matches nobody
    strategy(base, "cool", mode="every_run", priority=-2, condition="layer = 'buyer'")
    matching(base, IDS)
    run(base, tmp_path)
    targets = sorted(members(base, "r", MON))
    control = sorted(members(base, "r", MON, "control"))
    n_t, n_c = len(targets), len(control)
    for u in targets[: n_t // 2]:
        order(base, u, MON + timedelta(days=1), 10.0)
    for u in control[: n_c // 4]:
        order(base, u, MON + timedelta(days=2), 10.0)
    on(base, MON + timedelta(days=1))
    second = run(base, tmp_path)  # everyone matched yesterday: r has nobody new
    assert (second["r"].status, second["r"].targets, second["r"].control) == ("ran", 0, 0)
    assert second["r"].removed["not_entering"] == 100
    assert second["cool"].targets == 50  # yesterday r (higher priority) took all of them
    # it ran: the date counts (running again adds nobody, the last run moves)
    assert run(base, tmp_path)["r"].status == "already_ran"
    on(base, MON + timedelta(days=8))
    rep = st.report(base, "r")
    first, empty = rep.runs
    assert not first.empty and first.conversion is not None
    assert (empty.date, empty.empty, empty.reason) == (MON + timedelta(days=1), True, NOBODY_NEW)
    assert (empty.conversion, empty.revenue_per_user, empty.mde) == (None, None, None)
    assert (empty.targets.users, empty.control.users) == (0, 0)
    # the cumulative row is the first run's alone: nothing pooled from the empty one
    c = rep.cumulative
    assert (c.targets.users, c.control.users) == (n_t, n_c)
    assert (c.targets.converted, c.control.converted) == (n_t // 2, n_c // 4)
    assert c.conversion.absolute == pytest.approx(first.conversion.absolute)
    assert (c.conversion.low, c.conversion.high) == (first.conversion.low, first.conversion.high)
    assert c.mde == first.mde and c.complete and c.reason == ""
    assert rep.warning == ""
    by_name = {s.strategy.name: s for s in st.summaries(base)}
    r = by_name["r"]
    assert (r.runs, r.last_run, r.last_empty, r.last_reason) == (
        2,
        MON + timedelta(days=1),
        True,
        NOBODY_NEW,
    )
    assert [p.empty for p in r.series] == [False, True]
    assert r.latest.absolute == pytest.approx(first.conversion.absolute)  # not the empty run
    # nobody matched at all / the limits removed everyone: said so too
    none = st.report(base, "none")
    assert [(x.empty, x.reason) for x in none.runs] == [(True, NOBODY_MATCHED)] * 2
    assert none.cumulative.reason == NOBODY_MATCHED and none.cumulative.conversion is None
    cool = st.report(base, "cool").runs
    assert [x.empty for x in cool] == [True, False] and cool[0].reason == NOBODY_SELECTED


def test_a_dry_runs_overlaps_are_of_the_strategies_due_that_day(base, tmp_path):
    strategy(base, "daily", priority=2)
    strategy(base, "monthu", schedule=st.Schedule.parse("mon,thu"), priority=1)
    strategy(base, "paused", priority=0)
    st.pause(base, "paused")
    matching(base, IDS[:10])
    tue = MON + timedelta(days=1)
    on(base, tue)
    # the standing check: every pair of active strategies, due or not
    assert [(o.a, o.b, o.users) for o in st.overlaps(base)] == [("daily", "monthu", 10)]
    dry = st.run_strategies(base, dry_run=True)
    assert {r.strategy: r.status for r in dry.runs} == {"daily": "dry_run", "monthu": "not_due"}
    assert dry.overlaps == ()  # monthu does not run on a Tuesday: no overlap of this run
    real = st.run_strategies(base, out_dir=tmp_path / "out")
    assert real.overlaps == ()
    on(base, MON + timedelta(days=3))  # Thursday: both run
    matching(base, IDS[10:20])
    dry = st.run_strategies(base, dry_run=True)
    assert [(o.a, o.b, o.users) for o in dry.overlaps] == [("daily", "monthu", 10)]
    assert {r.strategy: r.targets for r in dry.runs} == {"daily": 10, "monthu": 0}
