"""Completion while typing: what may come at the cursor, filtered by the partial word there.

A completion's ``text`` replaces the partial word under the cursor (the letters before it, or an
unclosed quoted value including its opening quote).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from lark.exceptions import LarkError

from core.query.fields import FieldDef, field_names, lookup
from core.query.parser import lark_parser

VALUE_LIMIT = 20
OPERATORS = {
    "number": [
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "between",
        "in",
        "not in",
        "is empty",
        "is not empty",
    ],
    "date": ["=", "<", "<=", ">", ">=", "between", "is empty", "is not empty"],
    "text": ["=", "!=", "in", "not in", "contains", "startswith", "is empty", "is not empty"],
}
TERM_KEYWORDS = [
    "not",
    "tag",
    "has tag",
    "in segment",
    "in campaign",
    "target of campaign",
    "targeted within",
    "in global control",
    "count(",
    "orders(",
    "spent(",
    "last(",
]
SUBJECT_OPS = {"CMP", "IN", "NOT", "BETWEEN", "CONTAINS", "STARTSWITH", "IS"}


@dataclass(frozen=True)
class Completion:
    text: str
    kind: str  # 'field' | 'operator' | 'value' | 'keyword'
    label: str
    count: int | None = None


def complete(conn: sqlite3.Connection, text: str, cursor: int) -> list[Completion]:
    """Candidates at ``cursor`` in ``text``; [] where nothing fits (e.g. after a syntax error)."""
    before = text[: max(0, min(cursor, len(text)))]
    partial = partial_word(text, cursor)
    prefix = before[: len(before) - len(partial)]
    try:
        accepts = _accepts(prefix)
        tokens = list(lark_parser().lex(prefix))
    except LarkError:
        return []
    found = _candidates(conn, accepts, tokens)
    word = partial.lstrip("\"'").lower()
    return [c for c in found if c.text.lstrip("\"'").lower().startswith(word)]


def partial_word(text: str, cursor: int) -> str:
    """The word a completion replaces: an unclosed "quoted value" (with its opening quote), or
    the letters just before the cursor. Editors replace text[cursor - len(word):cursor]."""
    before = text[: max(0, min(cursor, len(text)))]
    quotes = [m.start() for m in re.finditer(r'(?<!\\)"', before)]
    if len(quotes) % 2 == 1:
        return before[quotes[-1] :]
    return re.search(r"\w*$", before).group(0)  # type: ignore[union-attr]


def _accepts(prefix: str) -> set[str]:
    interactive = lark_parser().parse_interactive(prefix)
    interactive.exhaust_lexer()
    return set(interactive.accepts())


def _candidates(conn: sqlite3.Connection, accepts: set[str], tokens: list) -> list[Completion]:
    if "STRING" in accepts and tokens:
        return _values_after(conn, tokens)
    if "CMP" in accepts and tokens and tokens[-1].type == "NAME":
        fd = lookup(conn, str(tokens[-1]))
        return _operators(fd) if fd else []
    if "NAME" in accepts:
        return _fields(conn) + [Completion(k, "keyword", k) for k in TERM_KEYWORDS]
    return [Completion(k, "keyword", k) for k in ("and", "or") if f"_{k.upper()}" in accepts]


def _fields(conn: sqlite3.Connection) -> list[Completion]:
    out = []
    for name in field_names(conn):
        fd = lookup(conn, name)
        if fd is not None:
            out.append(Completion(name, "field", f"{fd.label_zh} · {fd.label_en}"))
    return out


def _operators(fd: FieldDef) -> list[Completion]:
    return [Completion(op, "operator", f"{fd.written} {op}") for op in OPERATORS[fd.type]]


def _values_after(conn: sqlite3.Connection, tokens: list) -> list[Completion]:
    """Quoted values for the subject before the operator (or after tag / segment / campaign)."""
    kinds = [t.type for t in tokens]
    if "TAG" in kinds[-1:]:
        return _listed(conn, "SELECT tag, count(*) FROM user_tags GROUP BY tag ORDER BY 2 DESC, 1")
    if kinds[-2:] == ["IN", "SEGMENT"]:
        return _listed(
            conn,
            "SELECT name, NULL FROM segments UNION ALL SELECT name, NULL FROM segment_snapshots",
        )
    if kinds[-1:] == ["CAMPAIGN"]:
        return _listed(conn, "SELECT name, NULL FROM campaigns ORDER BY created_at DESC")
    for i in range(len(tokens) - 2, -1, -1):
        if tokens[i].type == "NAME" and kinds[i + 1] in SUBJECT_OPS:
            fd = lookup(conn, str(tokens[i]))
            if fd is not None and fd.categorical:
                return _category_values(conn, fd)
            return []
    return []


def _category_values(conn: sqlite3.Connection, fd: FieldDef) -> list[Completion]:
    table = "features" if fd.source == "features" else "users"
    col = fd.column  # whitelisted by fields.lookup
    return _listed(
        conn,
        f"SELECT {col}, count(*) FROM {table} WHERE {col} IS NOT NULL AND {col} != '' "
        f"GROUP BY {col} ORDER BY 2 DESC, 1 LIMIT {VALUE_LIMIT}",  # ties: by value
    )


def _listed(conn: sqlite3.Connection, sql: str) -> list[Completion]:
    out = []
    for value, n in conn.execute(sql):
        quoted = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(Completion(quoted, "value", str(value), n))
    return out
