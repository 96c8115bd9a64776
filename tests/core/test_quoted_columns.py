"""Property: imported attributes named like SQL or language keywords, or in other scripts, with
spaces or digits, work in conditions, completion, the users list and the campaign export, with
exact counts (identifiers always reach SQL through core.store.sql.quote)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.audience import segments
from core.audience.campaigns import create_campaign, export_targets, mark
from core.ingest.importer import import_files
from core.query import compile_condition, complete
from core.query.fields import ALIASES
from core.query.parser import field_text
from core.store.db import open_db
from core.store.schema import FEATURE_COLUMNS, USER_COLUMNS
from core.views import users

AS_OF = date(2024, 6, 30)
SQL_WORDS = [
    "group",
    "order",
    "select",
    "from",
    "where",
    "table",
    "index",
    "values",
    "limit",
    "having",
    "join",
    "union",
    "case",
    "when",
    "end",
    "default",
    "check",
    "primary",
    "key",
    "references",
    "create",
    "drop",
    "delete",
    "update",
    "insert",
    "into",
    "null",
    "not",
    "and",
    "or",
    "in",
    "is",
    "like",
    "glob",
    "between",
    "exists",
    "distinct",
    "all",
    "as",
    "by",
    "on",
    "set",
    "with",
    "offset",
    "collate",
    "escape",
    "cast",
    "column",
    "transaction",
]
LANGUAGE_WORDS = [
    "tag",
    "segment",
    "campaign",
    "target",
    "control",
    "of",
    "targeted",
    "within",
    "has",
    "empty",
    "contains",
    "startswith",
    "count",
    "orders",
    "spent",
    "last",
]
# other scripts, a space inside a name, a digit first: `1 级`, `a b`
OTHER = st.text(alphabet="用户等级会员积分城市ÄäéßñΩж1 _", min_size=1, max_size=5)
TAKEN = {c.lower() for c in (*FEATURE_COLUMNS, *USER_COLUMNS, *ALIASES)}
NAMES = st.one_of(st.sampled_from(SQL_WORDS), st.sampled_from(LANGUAGE_WORDS), OTHER).filter(
    lambda n: n == n.strip() and n.lower() not in TAKEN
)
VALUES = ("a", "b", "金 卡", "")  # "" is an empty cell: no value


def _write_users(path, names: list[str], rows: list[tuple[str, ...]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["user_id", *names])
        for i, row in enumerate(rows, 1):
            writer.writerow([f"u{i}", *row])


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_keyword_and_non_ascii_columns(tmp_path_factory: pytest.TempPathFactory, data) -> None:
    names = data.draw(st.lists(NAMES, min_size=1, max_size=3, unique_by=str.lower), label="names")
    width = len(names)
    rows = data.draw(
        st.lists(st.tuples(*[st.sampled_from(VALUES)] * width), min_size=1, max_size=6),
        label="rows",
    )
    where = tmp_path_factory.mktemp("quoted")
    _write_users(where / "users.csv", names, rows)
    conn = open_db(where / "q.db", create=True)
    report = import_files(conn, users=where / "users.csv")
    assert report.columns_added == names
    assert report.users_created == len(rows)
    conn.execute("INSERT INTO features(user_id) SELECT user_id FROM users")
    ids = [f"u{i}" for i in range(1, len(rows) + 1)]

    for col, name in enumerate(names):
        field = field_text(name)
        column = [row[col] for row in rows]
        held = Counter(v for v in column if v)

        # conditions: =, != (includes users without a value), is empty
        for value in sorted(held):
            compiled = compile_condition(conn, f"{field} = {_string(value)}", as_of=AS_OF)
            assert segments.count(conn, compiled) == held[value]
            want = [u for u, v in zip(ids, column, strict=True) if v == value]
            page = users.page(conn, condition=compiled, limit=10)
            assert [r.user_id for r in page.rows] == want
            compiled = compile_condition(conn, f"{field} != {_string(value)}", as_of=AS_OF)
            assert segments.count(conn, compiled) == len(rows) - held[value]
        compiled = compile_condition(conn, f"{field} is empty", as_of=AS_OF)
        assert segments.count(conn, compiled) == column.count("")

        # completion: the field as it must be typed, then its values with their counts
        typed = field[: max(1, len(field) - 1)] if len(field) > 1 else ""
        offered = [c.text for c in complete(conn, typed, len(typed)) if c.kind == "field"]
        assert field in offered
        text = f"{field} = "
        values = [(c.label, c.count) for c in complete(conn, text, len(text))]
        assert values == sorted(held.items(), key=lambda kv: (-kv[1], kv[0]))

    # two columns at once
    if width >= 2 and rows[0][0] and rows[0][1]:
        a, b = rows[0][0], rows[0][1]
        condition = (
            f"{field_text(names[0])} = {_string(a)} and {field_text(names[1])} = {_string(b)}"
        )
        compiled = compile_condition(conn, condition, as_of=AS_OF)
        assert segments.count(conn, compiled) == sum(1 for r in rows if r[0] == a and r[1] == b)

    # the campaign export writes every column under its own name
    create_campaign(conn, "c", who="test")
    mark(conn, "c", ids, who="test")
    out = io.StringIO()
    assert export_targets(conn, "c", out, columns=names, who="test") == len(rows)
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["user_id", *names],
        *([u, *row] for u, row in zip(ids, rows, strict=True)),
    ]
    conn.close()
