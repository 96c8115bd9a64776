"""The column registry: every built-in column of ``users`` and of the wide per-user ``features``
table, declared once.

Each :class:`Column` says what the code knows about one column: its SQL type, what it is about
(``kind``), its type in the condition language, its zh/en label (the condition language, the
profile) and short header (tables), whether it is a category, personal data or hot (stored first),
where its value comes from in the recompute, and which behaviour window it materialises. The
schema's column lists and DDL (core.store.schema), the recompute's INSERT (core.analytics.features),
the condition language's fields and windows (core.query.fields, core.query.windows) and the UI's
headers and profile rows (tui) are all derived from :data:`COLUMNS`.

Adding a feature column is one entry here plus, when the recompute fills it, its SQL (``sql``,
over the aliases of the recompute's INSERT: users ``u``, uo_rfm ``o``, uo_ord_win ``w``, uo_night
``n``, uo_ev_last ``e``, uo_ev_win ``k``, uo_cart_agg ``c``, uo_fav ``v``, the predictions ``p``).
A database made before gets the column at its next recompute (the table is rebuilt from
core.store.schema.feature_table_ddl); add a migration there if readers must find it sooner. The
invariants (names unique, hot positions unique, windows and sources consistent) are checked by
tests/core/test_columns.py, which also pins the stored order of the columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# A core.store.engines.Dialect: not imported here (engines -> duck -> schema -> columns)
Dialect = Any

# What a column is about.
KINDS = (
    "attribute",  # a basic attribute of the user (imported; copied into features)
    "rfm",  # RFM inputs, scores, group and cell
    "activity",  # orders over a window
    "behaviour",  # events over a window, last activity, days since the latest event of a kind
    "model",  # outputs of the predictive models (core.analytics.predict)
    "layer",  # the lifecycle layer (core.rules.layers)
)
# Where a features column's value comes from in the recompute.
FILLED_BY = (
    "import",  # only in users: never in features
    "recompute",  # ``sql`` in the INSERT of core.analytics.features
    "rfm",  # core.analytics.rfm.score_plan (NULL for non-buyers and without buyers)
    "predict",  # core.analytics.predict, joined as alias p (``sql``); NULL when not fitted
    "layers",  # core.rules.layers, after the INSERT
)
LANGUAGE_TYPES = ("number", "text", "date")
PROFILE_SECTIONS = ("predictions", "behaviour")

# (behaviour, event kind or None for orders, window); the window is N for "Nd" (the N days
# ending on D), (A, B) for the range -Ad..-Bd (days D-A to D-B, both included: (59, 30) is the
# 30 days before the last 30), None for "up to D"; a "last" window is the latest event of the
# kind, stored as whole days before D.
Window = tuple[str, str | None, int | tuple[int, int] | None]


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # INTEGER | REAL | TEXT
    type: str  # in the condition language: number | text | date
    kind: str  # one of KINDS
    label: tuple[str, str]  # (zh, en): the condition language's and the profile's name
    header: tuple[str, str] | None = None  # (zh, en) in tables and profile rows; None: label
    categorical: bool = False  # few distinct values: values are checked and completed
    personal: bool = False  # per-user text: never listed as values, never typo-checked
    hot: int | None = None  # position among the columns stored first (tested most)
    in_users: bool = False  # a built-in column of ``users``
    in_features: bool = True  # a column of ``features``
    filled_by: str = "recompute"  # one of FILLED_BY
    # the recompute's expression (filled_by recompute or predict); a function of the engine's
    # Dialect where engines spell it differently (sql_of)
    sql: str | Callable[[Dialect], str] = ""
    window: Window | None = None  # the behaviour window this column materialises
    fmt: str = "{}"  # how the profile shows a value
    profile: tuple[str, int] | None = None  # (section, position) of the profile row

    def sql_of(self, dialect: Dialect) -> str:
        """The recompute's expression as ``dialect`` spells it."""
        return self.sql(dialect) if callable(self.sql) else self.sql

    @property
    def label_zh(self) -> str:
        return self.label[0]

    @property
    def label_en(self) -> str:
        return self.label[1]

    @property
    def short(self) -> tuple[str, str]:
        """The (zh, en) header: tables and profile rows."""
        return self.header or self.label


def days_before_as_of(stamp: str, dialect: Dialect) -> str:
    """SQL: whole days from the date of ``stamp`` (ISO text) to the as-of date; NULL stays NULL."""
    return dialect.days_before(stamp, ":as_of")


# The 30 days before the last 30 (-59d..-30d): the previous-period windows.
PREVIOUS_30 = (59, 30)


def _last_active(d: Dialect) -> str:
    latest = d.greatest("coalesce(o.last_at, '')", "coalesce(e.last_at, '')")
    return f"nullif({latest}, '')"


def _attribute(name: str, label: tuple[str, str], header: tuple[str, str], **kw) -> Column:
    """A built-in attribute of users, copied into features at recompute (unless in_features=False)."""
    sql = f"u.{name}" if kw.get("in_features", True) else ""
    filled_by = "recompute" if kw.get("in_features", True) else "import"
    kw.setdefault("type", "text")
    return Column(
        name,
        "TEXT",
        kind="attribute",
        label=label,
        header=header,
        in_users=True,
        sql=sql,
        filled_by=filled_by,
        **kw,
    )


def _count(name: str, label: tuple[str, str], window: Window, **kw) -> Column:
    """A count of events in a window, from uo_ev_win (0 for users without any)."""
    return Column(
        name,
        "INTEGER",
        "number",
        "behaviour",
        label,
        sql=f"coalesce(k.{name}, 0)",
        window=window,
        **kw,
    )


def _days_since(kind: str, label: tuple[str, str], *, hot: int, profile: int) -> Column:
    """Days from the latest event of ``kind`` to D (NULL if none): last(kind) as a column."""
    return Column(
        f"days_since_{kind}",
        "INTEGER",
        "number",
        "behaviour",
        label,
        hot=hot,
        sql=lambda d: days_before_as_of(f"e.last_{kind}", d),
        window=("last", kind, None),
        profile=("behaviour", profile),
    )


# In this order: users' built-ins (USER_COLUMNS), then the features columns (FEATURE_COLUMNS
# order; the stored row puts the hot ones first, see core.store.schema.feature_table_ddl).
COLUMNS: tuple[Column, ...] = (
    _attribute("user_id", ("用户ID", "user id"), ("用户ID", "ID"), personal=True, hot=0),
    _attribute("name", ("姓名", "name"), ("姓名", "Name"), personal=True),
    _attribute("gender", ("性别", "gender"), ("性别", "Gender"), categorical=True, hot=2),
    _attribute("city", ("城市", "city"), ("城市", "City"), categorical=True, hot=1),
    _attribute("channel", ("渠道", "channel"), ("渠道", "Channel"), categorical=True, hot=3),
    _attribute("device", ("设备", "device"), ("设备", "Device"), categorical=True),
    _attribute(
        "signup_at", ("注册日期", "signup date"), ("注册时间", "Signed up"), type="date", hot=4
    ),
    _attribute("phone", ("手机号", "phone"), ("手机", "Phone"), personal=True, in_features=False),
    _attribute("email", ("邮箱", "email"), ("邮箱", "E-mail"), personal=True, in_features=False),
    # RFM inputs, as of the as-of date; NULL recency for users who never bought
    Column(
        "recency_days",
        "INTEGER",
        "number",
        "rfm",
        ("最近消费天数", "days since last purchase"),
        hot=10,
        sql="o.recency_days",
    ),
    Column(
        "frequency",
        "INTEGER",
        "number",
        "rfm",
        ("消费频次", "purchase count"),
        ("消费频次", "frequency"),
        hot=11,
        sql="coalesce(o.frequency, 0)",
        window=("orders", None, None),  # every order up to D (0 for non-buyers)
    ),
    Column(
        "monetary",
        "REAL",
        "number",
        "rfm",
        ("消费金额", "amount spent"),
        ("消费金额", "Monetary"),
        hot=12,
        sql="coalesce(o.monetary, 0.0)",
        window=("spent", None, None),
    ),
    Column(
        "first_order_at",
        "TEXT",
        "date",
        "rfm",
        ("首次下单日期", "first order date"),
        sql="p.first_order_at",  # with the model inputs (core.analytics.predict.purchase_history)
    ),
    Column(
        "last_order_at",
        "TEXT",
        "date",
        "rfm",
        ("最近下单日期", "last order date"),
        ("最近下单", "Last order"),
        sql="o.last_at",
    ),
    Column(
        "orders_30d",
        "INTEGER",
        "number",
        "activity",
        ("近30天订单数", "orders in 30 days"),
        hot=18,
        sql="coalesce(w.o30, 0)",
        window=("orders", None, 30),
        profile=("behaviour", 10),
    ),
    Column(
        "orders_90d",
        "INTEGER",
        "number",
        "activity",
        ("近90天订单数", "orders in 90 days"),
        hot=19,
        sql="coalesce(w.o90, 0)",
        window=("orders", None, 90),
        profile=("behaviour", 11),
    ),
    Column(
        "spent_30d",
        "REAL",
        "number",
        "activity",
        ("近30天消费金额", "spent in 30 days"),
        sql="coalesce(w.s30, 0.0)",
        window=("spent", None, 30),
    ),
    Column(
        "spent_90d",
        "REAL",
        "number",
        "activity",
        ("近90天消费金额", "spent in 90 days"),
        hot=20,
        sql="coalesce(w.s90, 0.0)",
        window=("spent", None, 90),
        fmt="{:,.2f}",
        profile=("behaviour", 12),
    ),
    # the previous 30 days (-59d..-30d), beside the last 30: "spending doubled", "activity
    # dropped" compare the two (spent(30d) > 2 * spent(-59d..-30d)) without reading raw rows
    Column(
        "orders_prev_30d",
        "INTEGER",
        "number",
        "activity",
        ("上一个30天订单数", "orders in the previous 30 days"),
        hot=28,
        sql="coalesce(w.o_prev30, 0)",
        window=("orders", None, PREVIOUS_30),
    ),
    Column(
        "spent_prev_30d",
        "REAL",
        "number",
        "activity",
        ("上一个30天消费金额", "spent in the previous 30 days"),
        hot=29,
        sql="coalesce(w.s_prev30, 0.0)",
        window=("spent", None, PREVIOUS_30),
    ),
    # event aggregates
    _count(
        "logins_7d",
        ("近7天登录次数", "logins in 7 days"),
        ("count", "login", 7),
        profile=("behaviour", 8),
    ),
    _count(
        "logins_30d",
        ("近30天登录次数", "logins in 30 days"),
        ("count", "login", 30),
        hot=17,
        profile=("behaviour", 9),
    ),
    _count(
        "logins_prev_30d",
        ("上一个30天登录次数", "logins in the previous 30 days"),
        ("count", "login", PREVIOUS_30),
        hot=27,
    ),
    _count("posts_7d", ("近7天发帖数", "posts in 7 days"), ("count", "post", 7)),
    _count("posts_30d", ("近30天发帖数", "posts in 30 days"), ("count", "post", 30)),
    _count("checkins_7d", ("近7天签到次数", "check-ins in 7 days"), ("count", "checkin", 7)),
    _count("checkins_30d", ("近30天签到次数", "check-ins in 30 days"), ("count", "checkin", 30)),
    _count("views_30d", ("近30天浏览次数", "views in 30 days"), ("count", "view", 30)),
    _count("shares_30d", ("近30天分享次数", "shares in 30 days"), ("count", "share", 30)),
    Column(
        "carts_open",  # cart_add events not followed by an order
        "INTEGER",
        "number",
        "behaviour",
        ("未付款加购数", "unpaid cart adds"),
        sql="coalesce(c.open, 0)",
        profile=("behaviour", 13),
    ),
    _count(
        "coupon_uses_90d",  # events of kind coupon_use
        ("近90天用券次数", "coupon uses in 90 days"),
        ("count", "coupon_use", 90),
        profile=("behaviour", 14),
    ),
    Column(
        "night_order_share",  # share of orders placed 22:00-05:59
        "REAL",
        "number",
        "activity",
        ("夜间下单占比", "share of night orders"),
        sql=lambda d: f"{d.real('n.night')} / nullif(n.timed, 0)",
        fmt="{:.0%}",
        profile=("behaviour", 16),
    ),
    Column(
        "favourite_category",  # most frequent event value of view/cart_add in 90 days
        "TEXT",
        "text",
        "behaviour",
        ("偏好品类", "favourite category"),
        categorical=True,
        sql="v.category",
        profile=("behaviour", 15),
    ),
    Column(
        "last_active_at",  # latest order or event
        "TEXT",
        "date",
        "behaviour",
        ("最近活跃日期", "last active date"),
        sql=_last_active,
    ),
    Column(
        "days_since_active",
        "INTEGER",
        "number",
        "behaviour",
        ("未活跃天数", "days since active"),
        hot=15,
        sql=lambda d: days_before_as_of(_last_active(d), d),
        profile=("behaviour", 0),
    ),
    # D - date of the latest event of each standard kind (NULL if none), in EVENT_KINDS order
    _days_since("login", ("未登录天数", "days since last login"), hot=16, profile=1),
    _days_since("view", ("未浏览天数", "days since last view"), hot=21, profile=2),
    _days_since("post", ("未发帖天数", "days since last post"), hot=22, profile=3),
    _days_since("checkin", ("未签到天数", "days since last check-in"), hot=23, profile=4),
    _days_since("cart_add", ("未加购天数", "days since last cart add"), hot=24, profile=5),
    _days_since("share", ("未分享天数", "days since last share"), hot=25, profile=6),
    _days_since("coupon_use", ("未用券天数", "days since last coupon use"), hot=26, profile=7),
    # RFM scores and groups (NULL for users who never bought)
    Column(
        "r_score",
        "INTEGER",
        "number",
        "rfm",
        ("R分", "R score"),
        ("R", "R"),
        hot=7,
        filled_by="rfm",
    ),
    Column(
        "f_score",
        "INTEGER",
        "number",
        "rfm",
        ("F分", "F score"),
        ("F", "F"),
        hot=8,
        filled_by="rfm",
    ),
    Column(
        "m_score",
        "INTEGER",
        "number",
        "rfm",
        ("M分", "M score"),
        ("M", "M"),
        hot=9,
        filled_by="rfm",
    ),
    Column(
        "rfm_group",  # important_value, ... (see core.analytics.rfm.GROUPS)
        "TEXT",
        "text",
        "rfm",
        ("RFM分组", "RFM group"),
        categorical=True,
        hot=5,
        filled_by="rfm",
    ),
    Column(
        "rfm_cell27",  # e.g. 'HML' = R high, F mid, M low
        "TEXT",
        "text",
        "rfm",
        ("RFM 27格", "RFM cell"),
        categorical=True,
        filled_by="rfm",
    ),
    # predictive model outputs (NULL when not fitted or not a buyer)
    Column(
        "p_alive",
        "REAL",
        "number",
        "model",
        ("存活概率", "probability alive"),
        ("仍活跃概率", "chance the customer is still active"),
        hot=13,
        filled_by="predict",
        sql="p.p_alive",
        fmt="{:.0%}",
        profile=("predictions", 0),
    ),
    Column(
        "expected_purchases_30d",
        "REAL",
        "number",
        "model",
        ("预计30天购买次数", "expected purchases in 30 days"),
        ("未来30天预计购买", "expected purchases in 30 days"),
        filled_by="predict",
        sql="p.expected_purchases_30d",
        fmt="{:.2f}",
        profile=("predictions", 1),
    ),
    Column(
        "expected_purchases_90d",
        "REAL",
        "number",
        "model",
        ("预计90天购买次数", "expected purchases in 90 days"),
        ("未来90天预计购买", "expected purchases in 90 days"),
        filled_by="predict",
        sql="p.expected_purchases_90d",
        fmt="{:.2f}",
        profile=("predictions", 2),
    ),
    Column(
        "expected_order_value",
        "REAL",
        "number",
        "model",
        ("预计客单价", "expected order value"),
        filled_by="predict",
        sql="p.expected_order_value",
        fmt="{:,.2f}",
        profile=("predictions", 3),
    ),
    Column(
        "clv",
        "REAL",
        "number",
        "model",
        ("客户终身价值", "customer lifetime value"),
        hot=14,
        filled_by="predict",
        sql="p.clv",
        fmt="{:,.2f}",
        profile=("predictions", 4),
    ),
    # 90 % intervals (parameter uncertainty) of expected 90-day purchases and CLV
    Column(
        "expected_purchases_90d_low",
        "REAL",
        "number",
        "model",
        ("预计90天购买次数下限", "expected purchases in 90 days, low"),
        filled_by="predict",
        sql="p.expected_purchases_90d_low",
        fmt="{:,.2f}",
    ),
    Column(
        "expected_purchases_90d_high",
        "REAL",
        "number",
        "model",
        ("预计90天购买次数上限", "expected purchases in 90 days, high"),
        filled_by="predict",
        sql="p.expected_purchases_90d_high",
        fmt="{:,.2f}",
    ),
    Column(
        "clv_low",
        "REAL",
        "number",
        "model",
        ("客户终身价值下限", "customer lifetime value, low"),
        filled_by="predict",
        sql="p.clv_low",
        fmt="{:,.2f}",
    ),
    Column(
        "clv_high",
        "REAL",
        "number",
        "model",
        ("客户终身价值上限", "customer lifetime value, high"),
        filled_by="predict",
        sql="p.clv_high",
        fmt="{:,.2f}",
    ),
    # lifecycle layer (layer key; 'unclassified' when no rule matched)
    Column(
        "layer",
        "TEXT",
        "text",
        "layer",
        ("用户分层", "layer"),
        ("分层", "Layer"),
        categorical=True,
        hot=6,
        filled_by="layers",
    ),
)

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}

# ---- derived: each list below is a view of COLUMNS, never written by hand ----

# name -> SQL type of the built-in columns of users, and of features, in declaration order.
USER_COLUMNS: dict[str, str] = {c.name: c.sql_type for c in COLUMNS if c.in_users}
FEATURE_COLUMNS: dict[str, str] = {c.name: c.sql_type for c in COLUMNS if c.in_features}
# The columns stored first in each features row, in this order (see feature_table_ddl).
HOT_FEATURE_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in sorted((c for c in COLUMNS if c.hot is not None), key=lambda c: c.hot or 0)
)
# The features columns the predictive models fill (core.analytics.predict).
MODEL_OUTPUT_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.filled_by == "predict")


# features column -> the recompute's SQL for it (model outputs: MODEL_OUTPUT_EXPR).
def select_expr(dialect: Dialect) -> dict[str, str]:
    """features column -> the recompute's SQL for it, as ``dialect`` spells it
    (core.analytics.features)."""
    return {c.name: c.sql_of(dialect) for c in COLUMNS if c.filled_by == "recompute"}


MODEL_OUTPUT_EXPR: dict[str, str] = {
    c.name: str(c.sql) for c in COLUMNS if c.filled_by == "predict"
}
# (behaviour, kind, days) -> the features column holding it (core.query.windows).
MATERIALISED: dict[Window, str] = {
    c.window: c.name for c in COLUMNS if c.window is not None and c.window[0] != "last"
}
# The day counts back from D at which rows enter or leave a stored window (30d: rows older
# than D-29 leave it, 30; the previous 30 days: 30 where rows enter, 60 where they leave): the
# refresh touches users with rows crossing one as D moves (core.refresh.WINDOWS holds them).
WINDOW_EDGES: tuple[int, ...] = tuple(
    sorted(
        {
            edge
            for c in COLUMNS
            if c.window is not None and c.window[0] != "last" and c.window[2] is not None
            for edge in (
                (c.window[2],)
                if isinstance(c.window[2], int)
                else (c.window[2][0] + 1, c.window[2][1])
            )
        }
    )
)
# event kind -> the column holding the days since its latest event, in EVENT_KINDS order.
DAYS_SINCE_LAST: dict[str, str] = {
    str(c.window[1]): c.name for c in COLUMNS if c.window is not None and c.window[0] == "last"
}
DATE_COLUMNS: frozenset[str] = frozenset(c.name for c in COLUMNS if c.type == "date")
CATEGORICAL: frozenset[str] = frozenset(c.name for c in COLUMNS if c.categorical)
PERSONAL: frozenset[str] = frozenset(c.name for c in COLUMNS if c.personal)
# name -> (zh, en): the label, and the short header of tables and profile rows.
LABELS: dict[str, tuple[str, str]] = {c.name: c.label for c in COLUMNS}
HEADERS: dict[str, tuple[str, str]] = {c.name: c.short for c in COLUMNS}


def profile_rows(section: str) -> tuple[Column, ...]:
    """The columns shown in a section of the profile ("predictions", "behaviour"), in order."""
    rows = [c for c in COLUMNS if c.profile is not None and c.profile[0] == section]
    return tuple(sorted(rows, key=lambda c: c.profile[1] if c.profile else 0))
