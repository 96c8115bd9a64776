"""Table headers and profile rows come from the column registry (core.store.columns), with the
words they had when tui kept its own copies."""

from __future__ import annotations

from core.store.columns import HEADERS
from core.views.users import LIST_COLUMNS
from tui.i18n import WORDS, Labels
from tui.widgets import user_profile


def test_a_column_header_lives_in_the_registry_only() -> None:
    assert not set(HEADERS) & set(WORDS)


def test_users_table_headers() -> None:
    en, zh = Labels("en"), Labels("zh")
    assert [en(c) for c in LIST_COLUMNS] == [
        "ID", "Name", "Layer", "RFM group", "R", "F", "M", "Monetary", "Last order", "City",
    ]  # fmt: skip
    assert [zh(c) for c in LIST_COLUMNS] == [
        "用户ID", "姓名", "分层", "RFM分组", "R", "F", "M", "消费金额", "最近下单", "城市",
    ]  # fmt: skip
    attributes = ("gender", "channel", "device", "signup_at", "phone", "email")
    assert [en(c) for c in attributes] == [
        "Gender", "Channel", "Device", "Signed up", "Phone", "E-mail",
    ]  # fmt: skip
    assert [zh(c) for c in attributes] == ["性别", "渠道", "设备", "注册时间", "手机", "邮箱"]
    assert en("frequency") == "frequency" and zh("frequency") == "消费频次"  # the RFM rows
    assert en("tags") == "Tags" and en("城市等级") == "城市等级"  # words; unknown: as written


def test_an_imported_attribute_is_shown_by_its_own_name() -> None:
    # "group" is also a word of the UI (客户群, the RFM screen's column): not for a column
    for lang in ("zh", "en"):
        assert Labels(lang).column("group") == "group"
        assert Labels(lang).column("用户等级") == "用户等级"
    assert Labels("zh").column("signup_at") == "注册时间"
    assert Labels("en").column("email") == "E-mail"


def test_profile_prediction_rows() -> None:
    en, zh = Labels("en"), Labels("zh")
    rows = [(column, en(key), zh(key), fmt) for column, key, fmt in user_profile.PREDICTIONS]
    assert rows == [
        ("p_alive", "chance the customer is still active", "仍活跃概率", "{:.0%}"),
        ("expected_purchases_30d", "expected purchases in 30 days", "未来30天预计购买", "{:.2f}"),
        ("expected_purchases_90d", "expected purchases in 90 days", "未来90天预计购买", "{:.2f}"),
        ("expected_order_value", "expected order value", "预计客单价", "{:,.2f}"),
        ("clv", "customer lifetime value", "客户终身价值", "{:,.2f}"),
    ]


def test_profile_behaviour_rows() -> None:
    assert user_profile.BEHAVIOUR == (
        "days_since_active",
        "days_since_login",
        "days_since_view",
        "days_since_post",
        "days_since_checkin",
        "days_since_cart_add",
        "days_since_share",
        "days_since_coupon_use",
        "logins_7d",
        "logins_30d",
        "orders_30d",
        "orders_90d",
        "spent_90d",
        "carts_open",
        "coupon_uses_90d",
        "favourite_category",
        "night_order_share",
    )
    assert user_profile.BEHAVIOUR_FORMAT == {"spent_90d": "{:,.2f}", "night_order_share": "{:.0%}"}
    assert Labels("zh").field("carts_open") == "未付款加购数"
    assert Labels("en").field("days_since_login") == "days since last login"


def test_profile_attributes_name_imported_columns_as_imported() -> None:
    from rich.console import Console

    from core.views.profile import UserProfile

    p = UserProfile(
        user_id="u1",
        attributes={"user_id": "u1", "city": "上海", "group": "a", "a b": "q"},
        features={},
        layer=None,
        layer_rule=None,
        rules_not_met=[],
        rfm_percentiles={},
        tags={},
        orders=[],
        events=[],
        monthly_activity=[],
        segments=[],
        campaigns=[],
    )
    console = Console(width=40, record=True)
    console.print(user_profile.attributes(p, Labels("zh"), mask=False))
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert lines == ["用户ID u1", "城市   上海", "group  a", "a b    q"]
