"""Reference lists behind the demo database (core.ingest.demo): names, cities, channels, categories.

Weights are rough shares of a real Chinese consumer user base, not exact statistics.
"""

from __future__ import annotations

from datetime import date

import numpy as np

# The 60 commonest surnames, in order, with pinyin (for emails and English names).
SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
)
SURNAME_PINYIN = tuple(
    [
        "wang",
        "li",
        "zhang",
        "liu",
        "chen",
        "yang",
        "huang",
        "zhao",
        "wu",
        "zhou",
        "xu",
        "sun",
        "ma",
        "zhu",
        "hu",
        "guo",
        "he",
        "gao",
        "lin",
        "luo",
        "zheng",
        "liang",
        "xie",
        "song",
        "tang",
        "xu",
        "han",
        "feng",
        "deng",
        "cao",
        "peng",
        "zeng",
        "xiao",
        "tian",
        "dong",
        "yuan",
        "pan",
        "yu",
        "jiang",
        "cai",
        "yu",
        "du",
        "ye",
        "cheng",
        "su",
        "wei",
        "lv",
        "ding",
        "ren",
        "shen",
        "yao",
        "lu",
        "jiang",
        "cui",
        "zhong",
        "tan",
        "lu",
        "wang",
        "fan",
        "jin",
    ]
)
SURNAME_WEIGHTS = tuple(1.0 / (rank + 3) for rank in range(len(SURNAMES)))  # Zipf-like

GIVEN_FEMALE = tuple("婷静敏丽娜芳燕霞秀玲慧欣怡雪琳颖晶佳梦瑶婉悦萱涵诗雨晨思妍蕾倩")
GIVEN_MALE = tuple("伟强磊军洋勇杰涛明超辉刚鹏浩宇轩博文俊峰建华志鑫凯睿哲航晨")
ENGLISH_FEMALE = ("Amy", "Lily", "Coco", "Vivian", "Grace", "Cindy")
ENGLISH_MALE = ("Kevin", "Jason", "Eric", "Leo", "Tony", "Frank")

# (city, tier, share of users). Tiers: 一线, 新一线, 二线, 三线及以下.
CITIES: tuple[tuple[str, str, float], ...] = (
    ("上海", "一线", 5.0),
    ("北京", "一线", 4.6),
    ("深圳", "一线", 4.0),
    ("广州", "一线", 3.6),
    ("成都", "新一线", 3.6),
    ("杭州", "新一线", 3.4),
    ("重庆", "新一线", 3.0),
    ("武汉", "新一线", 2.8),
    ("西安", "新一线", 2.4),
    ("苏州", "新一线", 2.4),
    ("南京", "新一线", 2.4),
    ("天津", "新一线", 2.0),
    ("长沙", "新一线", 2.0),
    ("郑州", "新一线", 1.8),
    ("东莞", "新一线", 1.5),
    ("青岛", "新一线", 1.5),
    ("宁波", "新一线", 1.4),
    ("合肥", "新一线", 1.4),
    ("厦门", "二线", 1.5),
    ("福州", "二线", 1.4),
    ("济南", "二线", 1.4),
    ("昆明", "二线", 1.4),
    ("沈阳", "二线", 1.3),
    ("无锡", "二线", 1.3),
    ("大连", "二线", 1.2),
    ("哈尔滨", "二线", 1.2),
    ("南宁", "二线", 1.1),
    ("贵阳", "二线", 1.1),
    ("南昌", "二线", 1.0),
    ("太原", "二线", 1.0),
    ("石家庄", "二线", 1.0),
    ("温州", "二线", 1.0),
    ("长春", "二线", 0.9),
    ("珠海", "二线", 0.8),
    ("洛阳", "三线及以下", 1.2),
    ("赣州", "三线及以下", 1.1),
    ("绵阳", "三线及以下", 1.0),
    ("桂林", "三线及以下", 1.0),
    ("芜湖", "三线及以下", 1.0),
    ("襄阳", "三线及以下", 1.0),
    ("宜昌", "三线及以下", 0.9),
    ("岳阳", "三线及以下", 0.9),
    ("柳州", "三线及以下", 0.9),
    ("九江", "三线及以下", 0.8),
    ("遵义", "三线及以下", 0.8),
    ("湛江", "三线及以下", 0.8),
    ("常德", "三线及以下", 0.8),
    ("曲靖", "三线及以下", 0.7),
    ("商丘", "三线及以下", 0.7),
    ("汕头", "三线及以下", 0.7),
    ("南充", "三线及以下", 0.7),
    ("阜阳", "三线及以下", 0.7),
)
CITY_TIERS = ("一线", "新一线", "二线", "三线及以下")

# (channel, share of signups)
CHANNELS: tuple[tuple[str, float], ...] = (
    ("应用商店", 24.0),
    ("小程序", 22.0),
    ("抖音", 18.0),
    ("微信社群", 12.0),
    ("小红书", 12.0),
    ("线下门店", 6.0),
    ("好友推荐", 6.0),
)
DEVICES = ("iOS", "Android", "小程序", "Web")
# probabilities of each device (in DEVICES order) given the signup channel
DEVICE_BY_CHANNEL: dict[str, tuple[float, float, float, float]] = {
    "应用商店": (0.45, 0.55, 0.0, 0.0),
    "小程序": (0.05, 0.05, 0.9, 0.0),
    "抖音": (0.4, 0.5, 0.05, 0.05),
    "微信社群": (0.1, 0.1, 0.8, 0.0),
    "小红书": (0.55, 0.35, 0.05, 0.05),
    "线下门店": (0.2, 0.25, 0.5, 0.05),
    "好友推荐": (0.3, 0.3, 0.3, 0.1),
}

CATEGORIES = ("美妆", "护肤", "个护", "母婴", "食品", "服饰", "数码", "家居")
CATEGORY_WEIGHTS = (20.0, 18.0, 10.0, 10.0, 14.0, 14.0, 8.0, 6.0)

PHONE_PREFIXES = (
    "138",
    "139",
    "137",
    "136",
    "135",
    "158",
    "159",
    "188",
    "186",
    "187",
    "189",
    "177",
    "180",
    "181",
    "133",
    "153",
    "199",
    "150",
    "151",
    "152",
)
# (domain, share); None = no email given
EMAIL_DOMAINS: tuple[tuple[str | None, float], ...] = (
    ("qq.com", 45.0),
    ("163.com", 18.0),
    ("126.com", 8.0),
    ("gmail.com", 5.0),
    ("outlook.com", 4.0),
    ("foxmail.com", 4.0),
    (None, 16.0),
)

# Orders per hour of day: a late-morning bump and the evening peak after work.
HOUR_WEIGHTS = (
    2.0,
    1.2,
    0.6,
    0.3,
    0.2,
    0.3,
    0.8,
    2.0,
    3.0,
    4.0,
    5.0,
    5.0,
    5.5,
    5.0,
    4.0,
    4.0,
    4.0,
    4.0,
    4.5,
    6.0,
    8.0,
    9.0,
    8.0,
    4.5,
)

# 春节 (Spring Festival) day by year; orders rise in the three weeks before it.
SPRING_FESTIVAL = {
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
}


# --- the users' basic attributes ---------------------------------------------------------------------

GENDERS = ("女", "男", "未知")
GENDER_SHARES = (0.62, 0.35, 0.03)  # a beauty-led shop: mostly women


def basic_attributes(rng: np.random.Generator, n: int, engaged: np.ndarray) -> list[tuple]:
    """Per user: (name, gender, city, channel, device, phone, email, city_tier, member).

    ``engaged`` users (the community-active ones) join the community group more often.
    """
    gender = rng.choice(3, size=n, p=_norm(GENDER_SHARES))
    surname = rng.choice(len(SURNAMES), size=n, p=_norm(SURNAME_WEIGHTS))
    names = _names(rng, gender, surname)
    city = rng.choice(len(CITIES), size=n, p=_norm([c[2] for c in CITIES]))
    channel = rng.choice(len(CHANNELS), size=n, p=_norm([c[1] for c in CHANNELS]))
    device = _devices(rng, channel)
    in_group_channel = np.array([c[0] == "微信社群" for c in CHANNELS])[channel]
    member = rng.random(n) < np.where(engaged, 0.6, np.where(in_group_channel, 0.8, 0.15))
    phones = _phones(rng, n)
    emails = _emails(rng, surname)
    return [
        (
            names[i],
            GENDERS[gender[i]],
            CITIES[city[i]][0],
            CHANNELS[channel[i]][0],
            device[i],
            phones[i],
            emails[i],
            CITIES[city[i]][1],
            "1" if member[i] else "0",
        )
        for i in range(n)
    ]


def _norm(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _names(rng: np.random.Generator, gender: np.ndarray, surname: np.ndarray) -> list[str]:
    """Surname + one or two given-name characters; a few go by an English name."""
    n = len(gender)
    female = gender != 1  # 未知 draws from the female pools too
    c1, c2, eng = (rng.random(n) for _ in range(3))
    two_chars = rng.random(n) < 0.7
    english = rng.random(n) < 0.03
    names = []
    for i in range(n):
        pool = GIVEN_FEMALE if female[i] else GIVEN_MALE
        if english[i]:
            first = ENGLISH_FEMALE if female[i] else ENGLISH_MALE
            pinyin = SURNAME_PINYIN[surname[i]].title()
            names.append(f"{first[int(eng[i] * len(first))]} {pinyin}")
        else:
            given = pool[int(c1[i] * len(pool))]
            if two_chars[i]:
                given += pool[int(c2[i] * len(pool))]
            names.append(SURNAMES[surname[i]] + given)
    return names


def _devices(rng: np.random.Generator, channel: np.ndarray) -> list[str]:
    """Mini-program and WeChat-group users mostly use the mini-program; others iOS/Android."""
    probs = np.array([DEVICE_BY_CHANNEL[c[0]] for c in CHANNELS])[channel]
    cum = probs.cumsum(axis=1)
    pick = (rng.random((len(channel), 1)) > cum).sum(axis=1)
    return [DEVICES[k] for k in np.minimum(pick, len(DEVICES) - 1)]


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    prefix = rng.choice(np.array(PHONE_PREFIXES), size=n)
    rest = rng.integers(0, 100_000_000, n)
    return [f"{p}{r:08d}" for p, r in zip(prefix.tolist(), rest.tolist(), strict=True)]


def _emails(rng: np.random.Generator, surname: np.ndarray) -> list[str | None]:
    n = len(surname)
    kind = rng.choice(len(EMAIL_DOMAINS), size=n, p=_norm([d[1] for d in EMAIL_DOMAINS]))
    qq = rng.integers(10_000, 3_000_000_000, n)
    num = rng.integers(1, 9999, n)
    out: list[str | None] = []
    for i in range(n):
        domain = EMAIL_DOMAINS[kind[i]][0]
        if domain is None:
            out.append(None)  # not everyone leaves an email
        elif domain == "qq.com":
            out.append(f"{qq[i]}@qq.com")
        else:
            out.append(f"{SURNAME_PINYIN[surname[i]]}{num[i]}@{domain}")
    return out
