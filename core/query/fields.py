"""The field whitelist: every name an operator may write, its SQL, type and zh/en label.

Identifiers come only from core.store.schema (FEATURE_COLUMNS, user_attribute_columns); this module is
the one place that labels them for humans.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from core.store.schema import FEATURE_COLUMNS, user_attribute_columns

# name -> (zh, en). Columns missing here are labelled with their own name.
LABELS: dict[str, tuple[str, str]] = {
    "user_id": ("用户ID", "user id"),
    "name": ("姓名", "name"),
    "gender": ("性别", "gender"),
    "city": ("城市", "city"),
    "channel": ("渠道", "channel"),
    "device": ("设备", "device"),
    "signup_at": ("注册日期", "signup date"),
    "phone": ("手机号", "phone"),
    "email": ("邮箱", "email"),
    "recency_days": ("最近消费天数", "days since last purchase"),
    "frequency": ("消费频次", "purchase count"),
    "monetary": ("消费金额", "amount spent"),
    "first_order_at": ("首次下单日期", "first order date"),
    "last_order_at": ("最近下单日期", "last order date"),
    "orders_30d": ("近30天订单数", "orders in 30 days"),
    "orders_90d": ("近90天订单数", "orders in 90 days"),
    "spent_30d": ("近30天消费金额", "spent in 30 days"),
    "spent_90d": ("近90天消费金额", "spent in 90 days"),
    "logins_7d": ("近7天登录次数", "logins in 7 days"),
    "logins_30d": ("近30天登录次数", "logins in 30 days"),
    "posts_7d": ("近7天发帖数", "posts in 7 days"),
    "posts_30d": ("近30天发帖数", "posts in 30 days"),
    "checkins_7d": ("近7天签到次数", "check-ins in 7 days"),
    "checkins_30d": ("近30天签到次数", "check-ins in 30 days"),
    "views_30d": ("近30天浏览次数", "views in 30 days"),
    "shares_30d": ("近30天分享次数", "shares in 30 days"),
    "carts_open": ("未付款加购数", "unpaid cart adds"),
    "coupon_uses_90d": ("近90天用券次数", "coupon uses in 90 days"),
    "night_order_share": ("夜间下单占比", "share of night orders"),
    "favourite_category": ("偏好品类", "favourite category"),
    "last_active_at": ("最近活跃日期", "last active date"),
    "days_since_active": ("未活跃天数", "days since active"),
    "days_since_login": ("未登录天数", "days since last login"),
    "days_since_view": ("未浏览天数", "days since last view"),
    "days_since_post": ("未发帖天数", "days since last post"),
    "days_since_checkin": ("未签到天数", "days since last check-in"),
    "days_since_cart_add": ("未加购天数", "days since last cart add"),
    "days_since_share": ("未分享天数", "days since last share"),
    "days_since_coupon_use": ("未用券天数", "days since last coupon use"),
    "r_score": ("R分", "R score"),
    "f_score": ("F分", "F score"),
    "m_score": ("M分", "M score"),
    "rfm_group": ("RFM分组", "RFM group"),
    "rfm_cell27": ("RFM 27格", "RFM cell"),
    "p_alive": ("存活概率", "probability alive"),
    "expected_purchases_30d": ("预计30天购买次数", "expected purchases in 30 days"),
    "expected_purchases_90d": ("预计90天购买次数", "expected purchases in 90 days"),
    "expected_order_value": ("预计客单价", "expected order value"),
    "clv": ("客户终身价值", "customer lifetime value"),
    "expected_purchases_90d_low": ("预计90天购买次数下限", "expected purchases in 90 days, low"),
    "expected_purchases_90d_high": ("预计90天购买次数上限", "expected purchases in 90 days, high"),
    "clv_low": ("客户终身价值下限", "customer lifetime value, low"),
    "clv_high": ("客户终身价值上限", "customer lifetime value, high"),
    "layer": ("用户分层", "layer"),
    "rfm": ("RFM分组", "RFM group"),
    "city_tier": ("城市等级", "city tier"),
    "member": ("会员", "member"),
}

ALIASES = {"r": "r_score", "f": "f_score", "m": "m_score", "rfm": "rfm_group"}

DATE_COLUMNS = {"signup_at", "first_order_at", "last_order_at", "last_active_at"}
# Text columns with few distinct values: values are checked against the data and completed.
CATEGORICAL = {
    "gender",
    "city",
    "channel",
    "device",
    "layer",
    "rfm_group",
    "rfm_cell27",
    "favourite_category",
}

# Per-user text that is not a category: never listed as values, never typo-checked.
PERSONAL = {"user_id", "name", "phone", "email"}


@dataclass(frozen=True)
class FieldDef:
    """A field: ``column`` is a whitelisted identifier, in ``features`` or (source 'users') in
    ``users``. type is 'number', 'text' or 'date'; ``written`` is the name the operator typed."""

    written: str
    column: str
    type: str
    source: str
    categorical: bool
    label_zh: str
    label_en: str


def _type_of(column: str, sql_type: str) -> str:
    if column in DATE_COLUMNS:
        return "date"
    return "number" if sql_type in ("INTEGER", "REAL") else "text"


def _label(name: str) -> tuple[str, str]:
    return LABELS.get(name, (name, name))


def field_names(conn: sqlite3.Connection) -> list[str]:
    """Every name an operator may write: feature columns, aliases, user attributes."""
    names = list(FEATURE_COLUMNS) + list(ALIASES)
    names += [c for c in user_attribute_columns(conn) if c not in FEATURE_COLUMNS]
    return names


def lookup(conn: sqlite3.Connection, written: str) -> FieldDef | None:
    """The definition of a field as written (case-insensitive), or None when unknown."""
    name = written.lower()
    column = ALIASES.get(name, name)
    zh, en = _label(name if name in LABELS else column)
    if column in FEATURE_COLUMNS:
        kind = _type_of(column, FEATURE_COLUMNS[column])
        cat = column in CATEGORICAL
        return FieldDef(name, column, kind, "features", cat, zh, en)
    for col in user_attribute_columns(conn):
        if col.lower() == name:
            # import columns are text; treated as categories (value checks, completion)
            zh, en = _label(col)
            return FieldDef(col, col, "text", "users", col not in PERSONAL, zh, en)
    return None
