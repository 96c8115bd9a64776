"""Random and adversarial text: it compiles or raises QueryError, never anything else; the SQL
text holds no user value; counting never changes the database."""

from __future__ import annotations

import hashlib
import re
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_query_compile import AS_OF, build_small_db

from core.errors import QueryError
from core.query import compile_condition
from core.store.schema import FEATURE_COLUMNS, user_attribute_columns

INJECTIONS = [
    "x'; DROP TABLE users; --",
    '\\" OR 1=1 --',
    "' OR '1'='1",
    '上海"; DELETE FROM features; --',
    "%' UNION SELECT sqlite_version() --",
    "user_id) OR (1=1",
    "1; ATTACH DATABASE 'x' AS y",
]
PIECES = [
    "city",
    "recency_days",
    "r",
    "layer",
    "rfm",
    "tag",
    "in segment",
    "count(login, 30d)",
    "last(cart_add)",
    "=",
    "!=",
    ">",
    "in (",
    ")",
    "(",
    "and",
    "or",
    "not",
    "between",
    "contains",
    "is empty",
    '"上海"',
    "5",
    "-30d",
    "2024-06-01",
    ",",
    "user_id) OR (1=1",
    ";",
    "--",
    "'",
    '"',
    "\\",
    "targeted within 7d",
    "spent(90d)",
    "DROP TABLE users",
]
SQL_WORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "like",
    "escape",
    "between",
    "group",
    "by",
    "having",
    "count",
    "sum",
    "max",
    "ifnull",
    "cast",
    "as",
    "real",
    "f",
    "users",
    "events",
    "orders",
    "user_tags",
    "campaign_members",
    "snapshot_members",
    "user_id",
    "kind",
    "created_at",
    "amount",
    "tag",
    "campaign",
    "role",
    "added_at",
    "snapshot_id",
    "0",
    # targeted within: campaign_members m JOIN campaigns c, on the data date (TARGETED_ON)
    "join",
    "on",
    "coalesce",
    "campaigns",
    "name",
    "start_date",
    "added_on",
    "m",
    "c",
}


def quoted(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


texts = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(PIECES), max_size=8).map(" ".join),
    st.tuples(
        st.sampled_from(
            ["city =", "name contains", "tag", "in segment", "layer =", "city_tier in ("]
        ),
        st.sampled_from(INJECTIONS) | st.text(max_size=15),
    ).map(lambda t: f"{t[0]} {quoted(t[1])}{')' if t[0].endswith('(') else ''}"),
    st.sampled_from(INJECTIONS).map(lambda s: f"{s} = 1"),
)


def checksum(conn: sqlite3.Connection) -> str:
    h = hashlib.sha256()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1"):
        for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
            h.update(repr(row).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    from core.store.db import open_db

    conn = open_db(tmp_path_factory.mktemp("prop") / "p.db", create=True)
    build_small_db(conn)
    return conn


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts)
def test_compiles_or_query_error_and_sql_is_clean(small: sqlite3.Connection, text: str) -> None:
    before = checksum(small)
    try:
        compiled = compile_condition(small, text, as_of=AS_OF)
    except QueryError:
        assert checksum(small) == before
        return
    allowed = SQL_WORDS | set(FEATURE_COLUMNS) | set(user_attribute_columns(small))
    assert "'" not in compiled.where and '"' not in compiled.where and ";" not in compiled.where
    for word in re.findall(r"(?<!:)\b\w+\b", compiled.where):
        assert word.lower() in allowed or re.fullmatch(r"p\d+", word), word
    small.execute(f"SELECT count(*) FROM features AS f WHERE {compiled.where}", compiled.params)
    assert checksum(small) == before


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_strings_stay_parameters(small: sqlite3.Connection, value: str) -> None:
    compiled = compile_condition(small, f"name = {quoted(value)}", as_of=AS_OF)
    assert value not in compiled.where
    assert compiled.params == {"p0": value}
    with pytest.raises(QueryError):
        compile_condition(small, f"{value} = 1", as_of=AS_OF)
