"""Every example in docs/query-language.md compiles and counts on the small database."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from test_query_compile import AS_OF, build_small_db

from core.audience import segments
from core.query import compile_condition

DOC = Path(__file__).resolve().parents[2] / "docs" / "query-language.md"
EXAMPLES = re.findall(r"```segment\n(.*?)\n```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_doc_has_at_least_fifteen_examples() -> None:
    assert len(EXAMPLES) >= 15


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    from core.store.db import open_db

    conn = open_db(tmp_path_factory.mktemp("docs") / "d.db", create=True)
    build_small_db(conn)
    segments.save(conn, "高价值沉默", "m >= 4 and recency_days > 30", as_of=AS_OF)
    return conn


EXPECTED = {  # counts worked out from the small database in test_query_compile
    'rfm = "重要保持客户" and city_tier = "一线" and count(login, 30d) = 0': 1,
    "m >= 4 and recency_days > 30": 1,
    'tag "夜猫子" and has tag "优惠券用户"': 0,
    'in segment "高价值沉默" and in campaign "双11召回"': 1,
}


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_compiles_and_counts(small: sqlite3.Connection, example: str) -> None:
    compiled = compile_condition(small, example, as_of=AS_OF)
    n = segments.count(small, compiled)
    assert 0 <= n <= 5
    assert compiled.human_zh and compiled.human_en
    if example in EXPECTED:
        assert n == EXPECTED[example]
