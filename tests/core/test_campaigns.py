"""Campaign members: seeded control split, exclusions, marks, undo, lock, audit, export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest

from core.audience import campaigns as cmp
from core.errors import LockedError, NotFound

AS_OF = date(2024, 6, 30)
AT = datetime(2024, 7, 1, 9, 0, 0)


@dataclass
class Cond:
    """Stands in for core.audience.segments.condition_for's Compiled."""

    text: str
    where: str
    params: dict[str, Any] = field(default_factory=dict)


EVERYONE = Cond("everyone", "1 = 1")


def users(conn, n: int, *, city: str = "Shanghai") -> list[str]:
    ids = [f"u{i:05d}" for i in range(n)]
    conn.executemany(
        "INSERT INTO users(user_id, name, city, phone, email) VALUES (?, ?, ?, ?, ?)",
        [(u, f"name {u}", city, f"138{u}", f"{u}@x.cn") for u in ids],
    )
    conn.executemany(
        "INSERT INTO features(user_id, city, monetary) VALUES (?, ?, ?)",
        [(u, city, float(i)) for i, u in enumerate(ids)],
    )
    return ids


def create(conn, name: str = "c1", **kw) -> cmp.Campaign:
    return cmp.create_campaign(conn, name, who="ana", at=AT, **kw)


def add(conn, name: str = "c1", cond: Cond = EVERYONE, **kw) -> cmp.AddReport:
    kw.setdefault("as_of", AS_OF)
    return cmp.add_from_segment(conn, name, cond, who="ana", at=AT, **kw)


def roles(conn, name: str = "c1") -> dict[str, str]:
    return dict(
        conn.execute("SELECT user_id, role FROM campaign_members WHERE campaign = ?", (name,))
    )


# --- records ------------------------------------------------------------------------------


def test_create_get_and_list(conn):
    users(conn, 3)
    create(conn, "spring", channel="SMS", offer="10% off", start=date(2024, 7, 1))
    create(conn, "summer")
    cmp.mark(conn, "spring", ["u00000", "u00001"], who="ana")
    got = cmp.get_campaign(conn, "spring")
    assert (got.channel, got.offer, got.status, got.start_date) == (
        "sms",
        "10% off",
        "draft",
        date(2024, 7, 1),
    )
    listed = {c.name: (t, k) for c, t, k in cmp.list_campaigns(conn)}
    assert listed == {"spring": (2, 0), "summer": (0, 0)}


def test_listed_newest_first_in_data_time(conn):
    create(conn, "old", start=date(2024, 7, 1))
    create(conn, "new", start=date(2024, 7, 5))
    create(conn, "draft")  # no start date yet: planned, listed first
    create(conn, "also-new", start=date(2024, 7, 5))  # the same day: by creation, then name
    create(conn, "older", start=date(2024, 6, 1))
    # all created at one wall-clock time (AT): ordered by it, the list was alphabetical
    names = [c.name for c, _, _ in cmp.list_campaigns(conn)]
    assert names == ["draft", "also-new", "new", "old", "older"]


def test_duplicate_and_unknown_campaign(conn):
    create(conn, "c1")
    with pytest.raises(cmp.CampaignError, match="already exists"):
        create(conn, "c1")
    with pytest.raises(NotFound, match="No campaign named 'nope'.*Known: c1"):
        cmp.get_campaign(conn, "nope")


# --- the control split --------------------------------------------------------------------


def test_split_is_reproducible_for_a_seed_and_differs_across_seeds(conn):
    users(conn, 1000)
    for name in ("a", "b", "c"):
        create(conn, name)
    add(conn, "a", seed=7)
    add(conn, "b", seed=7)
    add(conn, "c", seed=8)
    assert roles(conn, "a") == roles(conn, "b")
    assert roles(conn, "a") != roles(conn, "c")


def test_split_is_close_to_the_requested_share_and_disjoint(conn):
    ids = users(conn, 5000)
    create(conn)
    got = add(conn, holdout_pct=10.0, seed=3)
    assert got.added_control + got.added_targets == 5000
    assert 0.08 <= got.added_control / 5000 <= 0.12
    r = roles(conn)
    assert sorted(r) == ids  # each user exactly once: no one in both groups
    assert cmp.counts(conn, "c1") == (got.added_targets, got.added_control)
    assert sum(1 for v in r.values() if v == "control") == got.added_control


def test_split_is_stable_when_users_are_added_later(conn):
    users(conn, 2000)
    create(conn, "once")
    create(conn, "twice")
    add(conn, "once", seed=5)
    first = add(conn, "twice", Cond("first half", "f.monetary < :p0", {"p0": 1000}), seed=5)
    second = add(conn, "twice", seed=5)
    assert first.added_targets + first.added_control == 1000
    assert second.excluded_already_in == 1000
    assert roles(conn, "twice") == roles(conn, "once")


def test_holdout_out_of_range(conn):
    create(conn)
    with pytest.raises(cmp.CampaignError, match="Holdout 100"):
        add(conn, holdout_pct=100)


def test_control_draw_depends_only_on_seed_and_user():
    assert cmp.control_draw(1, "u1") == cmp.control_draw(1, "u1")
    assert cmp.control_draw(1, "u1") != cmp.control_draw(2, "u1")
    assert 0 <= cmp.control_draw(0, "x") < 1


# --- exclusions ---------------------------------------------------------------------------


def _earlier_campaign(conn, start: date) -> dict[str, str]:
    create(conn, "earlier", start=start)
    add(conn, "earlier", Cond("first 100", "f.monetary < 100"), holdout_pct=50, seed=1)
    return roles(conn, "earlier")


def test_frequency_cap_excludes_recent_targets_but_not_their_control(conn):
    users(conn, 300)
    earlier = _earlier_campaign(conn, start=date(2024, 6, 24))
    targeted = {u for u, r in earlier.items() if r == "target"}
    assert 20 < len(targeted) < 80
    create(conn, "now")
    got = add(conn, "now", exclude_targeted_within_days=7, holdout_pct=0)
    assert got.excluded_recently_targeted == len(targeted)
    assert got.added_targets == 300 - len(targeted)
    now = roles(conn, "now")
    assert not targeted & set(now)
    assert {u for u, r in earlier.items() if r == "control"} <= set(now)


def test_frequency_cap_window_boundary(conn):
    users(conn, 200)
    earlier = _earlier_campaign(conn, start=date(2024, 6, 24))
    n_targets = sum(1 for r in earlier.values() if r == "target")
    create(conn, "probe")
    # 6 days ending on 06-30 start on 06-25; 7 days start on 06-24 (included)
    assert add(conn, "probe", exclude_targeted_within_days=6).excluded_recently_targeted == 0
    cmp.undo_last(conn, "probe", "ana")
    assert (
        add(conn, "probe", exclude_targeted_within_days=7).excluded_recently_targeted == n_targets
    )


def test_frequency_cap_not_applied_outside_window_or_without_option(conn):
    users(conn, 200)
    _earlier_campaign(conn, start=date(2024, 1, 1))
    create(conn, "a")
    create(conn, "b")
    assert add(conn, "a", exclude_targeted_within_days=30).excluded_recently_targeted == 0
    assert add(conn, "b").excluded_recently_targeted == 0


def test_already_in_excluded_and_counted(conn):
    users(conn, 50)
    create(conn)
    cmp.mark(conn, "c1", ["u00001", "u00002"], who="ana")
    got = add(conn, holdout_pct=0)
    assert (got.candidates, got.excluded_already_in, got.added_targets) == (50, 2, 48)


# --- marks, lock, undo, audit ---------------------------------------------------------------


def test_mark_is_idempotent_and_unmark_removes(conn):
    users(conn, 5)
    create(conn)
    assert cmp.mark(conn, "c1", ["u00001", "u00002"], who="ana").changed == ("u00001", "u00002")
    again = cmp.mark(conn, "c1", ["u00002", "u00003"], who="ana")
    assert (again.changed, again.unchanged) == (("u00003",), ("u00002",))
    assert cmp.counts(conn, "c1") == (3, 0)
    gone = cmp.unmark(conn, "c1", ["u00001", "u00004"], who="ana")
    assert (gone.changed, gone.unchanged) == (("u00001",), ("u00004",))
    assert roles(conn) == {"u00002": "target", "u00003": "target"}


def test_unknown_user_writes_nothing(conn):
    users(conn, 3)
    create(conn)
    with pytest.raises(NotFound, match="zz1, zz2"):
        cmp.mark(conn, "c1", ["u00001", "zz1", "zz2"], who="ana")
    assert roles(conn) == {}
    assert [e.action for e in cmp.audit(conn, "c1")] == ["create"]


def test_control_group_users_cannot_be_marked_or_unmarked(conn):
    users(conn, 100)
    create(conn)
    add(conn, holdout_pct=50, seed=2)
    control = next(u for u, r in roles(conn).items() if r == "control")
    for action in (cmp.mark, cmp.unmark):
        with pytest.raises(cmp.CampaignError, match="control group"):
            action(conn, "c1", [control], who="ana")
    assert roles(conn)[control] == "control"


def test_send_locks_and_unlock_is_logged(conn):
    users(conn, 5)
    create(conn)
    with pytest.raises(cmp.CampaignError, match="no targets"):
        cmp.set_status(conn, "c1", "sent", who="ana", as_of=AS_OF)
    cmp.mark(conn, "c1", ["u00001"], who="ana")
    sent = cmp.set_status(conn, "c1", "sent", who="bo", as_of=AS_OF)
    assert (sent.status, sent.start_date, sent.locked) == ("sent", AS_OF, True)
    for change in (
        lambda: cmp.mark(conn, "c1", ["u00002"], who="ana"),
        lambda: cmp.unmark(conn, "c1", ["u00001"], who="ana"),
        lambda: add(conn),
        lambda: cmp.undo_last(conn, "c1", "ana"),
    ):
        with pytest.raises(LockedError, match="locked"):
            change()
    with pytest.raises(cmp.CampaignError, match="needs a reason"):
        cmp.unlock(conn, "c1", who="bo", reason=" ")
    assert cmp.unlock(conn, "c1", who="bo", reason="wrong list").status == "draft"
    cmp.mark(conn, "c1", ["u00002"], who="ana")
    last = cmp.audit(conn, "c1")[-2]
    assert (last.who, last.action, last.detail) == ("bo", "unlock", "wrong list")


def test_send_keeps_a_given_start_date_and_close(conn):
    users(conn, 2)
    create(conn, start=date(2024, 7, 5))
    cmp.mark(conn, "c1", ["u00000"], who="ana")
    assert cmp.set_status(conn, "c1", "sent", who="a", as_of=AS_OF).start_date == date(2024, 7, 5)
    assert cmp.set_status(conn, "c1", "closed", who="a").status == "closed"
    with pytest.raises(cmp.CampaignError, match="only a sent campaign can be closed"):
        cmp.set_status(conn, "c1", "closed", who="a")


def test_undo_steps_back_through_marks_unmarks_and_adds(conn):
    users(conn, 40)
    create(conn)
    add(conn, "c1", Cond("u<10", "f.monetary < 10"), holdout_pct=30)
    cmp.mark(conn, "c1", ["u00020", "u00021"], who="ana")
    cmp.unmark(conn, "c1", ["u00020"], who="ana")
    after_add = roles(conn)
    assert cmp.undo_last(conn, "c1", "ana").action == "unmark"
    assert set(roles(conn)) == set(after_add) | {"u00020"}
    assert cmp.undo_last(conn, "c1", "ana").action == "mark"
    assert "u00020" not in roles(conn) and "u00021" not in roles(conn)
    undone = cmp.undo_last(conn, "c1", "ana")
    assert (undone.action, undone.n_users) == ("add", 10)
    assert roles(conn) == {}
    with pytest.raises(NotFound, match="nothing to undo"):
        cmp.undo_last(conn, "c1", "ana")


def test_audit_records_who_what_and_how_many(conn):
    users(conn, 20)
    create(conn)
    add(conn, "c1", Cond("rich", "f.monetary >= :p0", {"p0": 15}), holdout_pct=0, source="rich")
    cmp.mark(conn, "c1", ["u00001"], who="bo", source="space", at=datetime(2024, 7, 2, 8))
    log = cmp.audit(conn, "c1")
    assert [(e.action, e.who, e.n_users) for e in log] == [
        ("create", "ana", 0),
        ("add", "ana", 5),
        ("mark", "bo", 1),
    ]
    assert log[1].detail.startswith("segment 'rich', holdout 0%, seed 0")
    assert (log[2].detail, log[2].at) == ("space", "2024-07-02 08:00:00")
    assert [e.action for e in cmp.audit(conn, "c1", limit=1)] == ["mark"]


# --- export -------------------------------------------------------------------------------


def _read(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_export_targets_only_with_columns(conn, tmp_path):
    users(conn, 60)
    create(conn)
    add(conn, holdout_pct=50, seed=4)
    r = roles(conn)
    targets = sorted(u for u, role in r.items() if role == "target")
    out = tmp_path / "t.csv"
    n = cmp.export_targets(conn, "c1", out, ["city", "user_id", "monetary"], who="ana")
    rows = _read(out)
    assert n == len(targets) == len(rows)
    assert list(rows[0]) == ["user_id", "city", "monetary"]
    assert [row["user_id"] for row in rows] == targets
    assert rows[0]["city"] == "Shanghai"
    assert float(rows[0]["monetary"]) == float(int(targets[0][1:]))
    last = cmp.audit(conn, "c1")[-1]
    assert (last.action, last.n_users) == ("export", n)


def test_export_contact_only_when_asked(conn):
    users(conn, 3)
    create(conn)
    cmp.mark(conn, "c1", ["u00001"], who="ana")
    with pytest.raises(cmp.CampaignError, match="phone.*--include-contact"):
        cmp.export_targets(conn, "c1", io.StringIO(), ["phone"])
    buf = io.StringIO()
    cmp.export_targets(conn, "c1", buf, ["phone", "email"], include_contact=True)
    assert buf.getvalue().splitlines() == ["user_id,phone,email", "u00001,138u00001,u00001@x.cn"]
    plain = io.StringIO()
    cmp.export_targets(conn, "c1", plain)
    assert plain.getvalue().splitlines() == ["user_id", "u00001"]


def test_export_unknown_column(conn):
    create(conn)
    with pytest.raises(cmp.CampaignError, match="Unknown export column.*nope"):
        cmp.export_targets(conn, "c1", io.StringIO(), ["nope"])


# --- data dates ---------------------------------------------------------------------------


def _count(conn, text: str, as_of: date) -> int:
    from core.query import compile_condition

    c = compile_condition(conn, text, as_of=as_of)
    return conn.execute(f"SELECT count(*) FROM features AS f WHERE {c.where}", c.params).fetchone()[
        0
    ]


def test_members_and_audit_carry_the_data_date_not_the_wall_clock(conn):
    users(conn, 20)
    conn.execute("INSERT INTO meta VALUES ('as_of', '2024-06-30')")
    create(conn, "c1")
    add(conn, "c1", Cond("first 5", "f.monetary < 5"), holdout_pct=0)
    cmp.mark(conn, "c1", ["u00010"], who="ana", at=AT)  # no as_of: the database's date
    got = set(conn.execute("SELECT added_on, substr(added_at, 1, 10) FROM campaign_members"))
    assert got == {("2024-06-30", "2024-07-01")}  # data date; the wall clock AT as metadata
    audit = set(conn.execute("SELECT as_of, who FROM campaign_audit"))
    assert audit == {("2024-06-30", "ana")}


@pytest.mark.parametrize(("start", "days"), [(date(2024, 6, 24), 7), (date(2024, 6, 24), 6)])
def test_targeted_within_equals_the_cap_exclusions(conn, start, days):
    users(conn, 300)
    _earlier_campaign(conn, start=start)
    # a campaign without a start date: targeted on the data date its users were added
    create(conn, "unsent")
    add(
        conn, "unsent", Cond("last 50", "f.monetary >= 250"), holdout_pct=0, as_of=date(2024, 6, 26)
    )
    within = _count(conn, f"targeted within {days}d", AS_OF)
    create(conn, "now")
    got = add(conn, "now", exclude_targeted_within_days=days, holdout_pct=0)
    assert got.excluded_recently_targeted == within
    assert within == (50 + sum(r == "target" for r in roles(conn, "earlier").values())) * (
        days == 7
    ) + 50 * (days == 6)
