"""A small, deterministic userops database for the screen tests, written straight into the tables.

60 users: CJK names, a user literally named ``[red]``, buyers and non-buyers (NULL RFM scores),
layer rules, tag rules and tags, orders, events, a saved segment and a campaign.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from core.store.db import open_db, set_meta, transaction
from core.store.schema import FEATURE_COLUMNS

AS_OF = date(2024, 6, 30)
N_USERS = 60
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军"]
CITIES = ["上海", "北京", "广州", "深圳", "成都", "杭州"]
GROUPS = ["important_value", "important_development", "important_retention", "general_value"]
LAYER_RULES = [
    (1, "buyer", "购买用户", "buyer", "orders_30d > 0"),
    (2, "active", "活跃用户", "active", "logins_30d >= 10"),
    (3, "churned", "流失用户", "churned", "recency_days > 60"),
    (4, "registered", "注册用户", "registered", "logins_30d >= 0"),
]
TAG_RULES = [
    ("night_buyer", "behavioural", "night_order_share > 0.5", "buys at night"),
    ("big_spender", "result", "monetary > 1000", "spent over 1000"),
    ("churn_risk", "predictive", "p_alive < 0.3", "likely gone"),
    ("shanghai", "basic", "city = '上海'", "lives in Shanghai"),
]


def user_name(i: int) -> str:
    if i == 7:
        return "[red]"
    return SURNAMES[i % 10] + GIVEN[(i // 10) % 10]


def feature_row(i: int, rng: random.Random) -> dict:
    buyer = i % 5 != 0  # every fifth user never bought: NULL recency and scores
    orders = rng.randint(1, 9) if buyer else 0
    monetary = round(rng.uniform(20, 3000), 2) if buyer else 0.0
    recency = rng.randint(0, 200) if buyer else None
    logins = rng.randint(0, 20)
    if buyer and recency <= 29:
        layer = "buyer"
    elif logins >= 10:
        layer = "active"
    elif buyer and recency > 60:
        layer = "churned"
    else:
        layer = "registered"
    return {
        "user_id": f"u{i:03d}",
        "name": user_name(i),
        "gender": "F" if i % 2 else "M",
        "city": CITIES[i % len(CITIES)],
        "channel": "wechat",
        "device": "ios" if i % 3 else "android",
        "signup_at": (AS_OF - timedelta(days=300 + i)).isoformat(),
        "recency_days": recency,
        "frequency": orders,
        "monetary": monetary,
        "last_order_at": (AS_OF - timedelta(days=recency)).isoformat() if buyer else None,
        "orders_30d": 1 if buyer and recency <= 29 else 0,
        "logins_30d": logins,
        "days_since_login": None if logins == 0 else i % 9,
        "night_order_share": 0.6 if i % 4 == 0 else 0.1,
        "r_score": (5 - recency // 41) if buyer else None,
        "f_score": min(5, orders // 2 + 1) if buyer else None,
        "m_score": min(5, int(monetary // 600) + 1) if buyer else None,
        "rfm_group": GROUPS[i % len(GROUPS)] if buyer else None,
        "p_alive": round(rng.random(), 3) if buyer else None,
        "clv": round(monetary * 0.4, 2) if buyer else None,
        "layer": layer,
    }


def build_sample_db(path: Path) -> Path:
    conn = open_db(path, create=True)
    rng = random.Random(7)
    with transaction(conn):
        conn.executemany(
            "INSERT INTO layer_rules(position, key, name_zh, name_en, condition) VALUES (?,?,?,?,?)",
            LAYER_RULES,
        )
        conn.executemany("INSERT INTO tag_rules VALUES (?,?,?,?)", TAG_RULES)
        for i in range(1, N_USERS + 1):
            _insert_user(conn, i, rng)
        conn.execute(
            "INSERT INTO segments VALUES ('sh_buyers', 'city = ''上海''', '', '2024-06-01', '2024-06-01')"
        )
        conn.execute("INSERT INTO campaigns(name, created_at) VALUES ('summer', '2024-06-01')")
        conn.execute(
            "INSERT INTO campaign_members VALUES ('summer', 'u001', 'target', '2024-06-02', 'manual', '2024-06-02')"
        )
        set_meta(conn, "as_of", AS_OF.isoformat())
        set_meta(conn, "features_as_of", AS_OF.isoformat())
        set_meta(conn, "features_computed_at", "2024-07-01 08:00:00")
    conn.close()
    return path


def _insert_user(conn, i: int, rng: random.Random) -> None:
    f = feature_row(i, rng)
    phone, email = f"138{i:08d}", f"user{i}@example.com"
    conn.execute(
        "INSERT INTO users VALUES (?,?,?,?,?,?,?,?,?)",
        (
            f["user_id"],
            f["name"],
            f["gender"],
            f["city"],
            f["channel"],
            f["device"],
            f["signup_at"],
            phone,
            email,
        ),
    )
    cols = [c for c in FEATURE_COLUMNS if c in f]
    conn.execute(
        f"INSERT INTO features({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [f[c] for c in cols],
    )
    for n in range(f["frequency"]):
        day = AS_OF - timedelta(days=(f["recency_days"] or 0) + 30 * n)
        conn.execute(
            "INSERT INTO orders VALUES (?,?,?,?)",
            (
                f"o{i:03d}-{n}",
                f["user_id"],
                round(f["monetary"] / f["frequency"], 2),
                f"{day} 10:00:00",
            ),
        )
    for n in range(3):
        day = AS_OF - timedelta(days=7 * n + i % 5)
        conn.execute(
            "INSERT INTO events(user_id, kind, created_at, value) VALUES (?,?,?,?)",
            (f["user_id"], "login", f"{day} 09:00:00", None),
        )
    tags = [t for t, test in _TAG_TESTS.items() if test(f)]
    conn.executemany("INSERT INTO user_tags VALUES (?,?)", [(f["user_id"], t) for t in tags])


_TAG_TESTS = {
    "night_buyer": lambda f: f["frequency"] > 0 and f["night_order_share"] > 0.5,
    "big_spender": lambda f: f["monetary"] > 1000,
    "churn_risk": lambda f: f["p_alive"] is not None and f["p_alive"] < 0.3,
    "shanghai": lambda f: f["city"] == "上海",
}


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    return build_sample_db(tmp_path / "sample.db")
