"""Core's messages in Chinese (tui.zh_texts.core_message): each pattern against the message core
really raises, so a change of wording in core shows here instead of silently falling back to
English. Exact translations on the sample database."""

from __future__ import annotations

import pytest
from tui_helpers import AS_OF

from core.errors import QueryError
from core.query.compiler import compile_condition
from core.store.db import open_db
from tui.zh_texts import core_message

CASES = [
    ("citty = 1", "未知字段 'citty'（第 1 列）；是否想输入 'city'？"),
    ("", '条件为空：例如写 city = "上海"'),
    ("city = '上海", "第 8 列开始的引号没有闭合"),
    ("count(logn, 30d) > 1", "未知事件类型 'logn'（第 7 列）；是否想输入 'login'？"),
    ('tag "nigt_buyer"', '未知标签 "nigt_buyer"（第 5 列）；是否想输入 "night_buyer"？'),
    ("signup_at > 2024-13-01", "2024-13-01 不是有效日期（第 13 列）"),
]


@pytest.mark.parametrize(("condition", "zh"), CASES)
def test_query_errors_in_chinese(sample_db, condition, zh):
    conn = open_db(sample_db)
    try:
        with pytest.raises(QueryError) as err:
            compile_condition(conn, condition, as_of=AS_OF)
    finally:
        conn.close()
    assert core_message(str(err.value)) == zh


def test_an_unknown_message_stays_as_it_is():
    assert core_message("something new happened") == "something new happened"
    assert core_message("citty: did you mean 'city'?") == "citty: did you mean 'city'?"


def test_model_and_effect_reasons():
    from core.analytics.predict import BG_ONLY_EXPLICIT

    why = f"lowest BIC on the whole history (no holdout validation recorded); {BG_ONLY_EXPLICIT}"
    assert core_message(why) == (
        "全部历史上BIC最低（尚无验证期记录）；自动选择不考虑 BG/NBD：它把每个只买过一次的买家都判为"
        "确定存活（可用 --use bgnbd 指定）"
    )
    small = "the target group has 12 users and the control group has 3 users; each group needs at least 30"
    assert core_message(small) == "目标组 12 人，对照组 3 人；每组至少需要 30 人"
