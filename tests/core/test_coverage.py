"""Order-only data (as the UCI import): what it does not measure is said, not counted as 0
(issue 13, item 10). Three customers, orders with a time of day and a country, no events."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.analytics import coverage
from core.ingest.importer import import_files
from core.pipeline import recompute
from core.rules.applicability import unmeasured_reads
from core.rules.tags import install_defaults_once
from core.views.profile import profile
from core.views.users import overview, page

AS_OF = date(2011, 12, 9)
ORDERS = (
    "InvoiceNo,CustomerID,InvoiceDate,Amount,Country\n"
    "1,12347,2011-06-01 10:00:00,100,Iceland\n"
    "2,12347,2011-12-07 15:52:00,50,Iceland\n"
    "3,12348,2011-09-25 13:13:00,80,Finland\n"
    "4,12349,2011-11-21 09:51:00,120,Italy\n"
)


@pytest.fixture
def retail(conn, tmp_path: Path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    import_files(
        conn,
        orders=path,
        mapping={
            "InvoiceNo": "order_id",
            "CustomerID": "user_id",
            "InvoiceDate": "created_at",
            "Amount": "amount",
        },
        user_columns={"Country": "country"},
    )
    install_defaults_once(conn, as_of=AS_OF)
    return conn


def test_measure_order_only_data(retail):
    found = coverage.measure(retail)
    assert found.event_kinds == frozenset() and found.timed_orders
    assert found.empty_attributes == {
        "name", "gender", "city", "channel", "device", "signup_at", "phone", "email"
    }  # fmt: skip
    missing = found.unmeasured()
    assert missing["logins_30d"] == ("events", "login")
    assert missing["carts_open"] == ("events", "cart_add")
    assert missing["favourite_category"] == ("events", "view/cart_add")
    assert missing["device"] == ("attribute", "device")
    assert "night_order_share" not in missing and "orders_30d" not in missing


def test_dates_only_leave_the_night_share_unmeasured(conn, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("user_id,amount,created_at\n1,5,1997-01-01\n1,6,1997-02-01\n")
    import_files(conn, orders=path)
    assert coverage.measure(conn).unmeasured()["night_order_share"] == ("time", "")


def test_unmeasured_reads_of_a_condition(retail):
    found = coverage.measure(retail)
    assert unmeasured_reads("frequency >= 5 and recency_days <= 60", found) == ()
    assert unmeasured_reads('count(login, 30d) >= 2 or Device = "iOS"', found) == (
        "login: no login events in the data",
        "device: no user has a device",
    )
    assert unmeasured_reads("did cart_add then no order within 1d", found) == (
        "cart_add: no cart_add events in the data",
    )


def test_recompute_says_which_rules_and_tags_cannot_apply(retail):
    report = recompute(retail, AS_OF)
    said = [(n.kind, n.name, n.reasons) for n in report.not_applicable]
    assert said == [
        ("tag", "一线城市", ("not installed: Unknown field 'city_tier' at column 1; did you mean 'city'?",)),
        ("layer", "new", ("signup_at: no user has a signup date",)),
        (
            "layer",
            "active",
            (
                "logins_30d: no login events in the data",
                "checkins_30d: no checkin events in the data",
                "posts_30d: no post events in the data",
            ),
        ),
        ("tag", "iOS用户", ("device: no user has a device",)),
        ("tag", "优惠券用户", ("coupon_uses_90d: no coupon_use events in the data",)),
        ("tag", "偏好美妆", ("favourite_category: no view or cart_add events in the data",)),
        ("tag", "加购未付", ("carts_open: no cart_add events in the data",)),
        ("tag", "社区活跃", ("posts_30d: no post events in the data",)),
    ]  # fmt: skip


def test_profile_and_list_know_what_the_data_lacks(retail):
    recompute(retail, AS_OF)
    p = profile(retail, "12347", AS_OF)
    assert p.unmeasured["logins_30d"] == ("events", "login")
    assert p.rules_unmeasured == {"new", "active"}
    assert p.attributes["country"] == "Iceland"
    view = overview(retail)
    assert view.hidden_columns == {"name", "city"} and view.extra_columns == ("country",)
    rows = page(retail).rows
    assert [(r.user_id, r.extra) for r in rows] == [
        ("12347", (("country", "Iceland"),)),
        ("12348", (("country", "Finland"),)),
        ("12349", (("country", "Italy"),)),
    ]


def test_demo_like_data_measures_everything(conn):
    conn.execute("INSERT INTO users(user_id, name, city) VALUES ('u1', 'Ann', '上海')")
    conn.execute("INSERT INTO orders VALUES ('o1', 'u1', 10, '2024-06-01 23:00:00')")
    conn.execute(
        "INSERT INTO events(user_id, kind, created_at) VALUES ('u1', 'login', '2024-06-02')"
    )
    found = coverage.measure(conn)
    assert "logins_30d" not in found.unmeasured() and "name" not in found.unmeasured()
    assert found.unmeasured()["posts_30d"] == ("events", "post")
