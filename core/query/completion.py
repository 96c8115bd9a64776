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
from core.query.parser import field_name, field_text, lark_parser
from core.store.engines import dialect_of
from core.store.sql import quote

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
    "first(",
    "did",
    "entered layer",
    "left layer",
    "entered rfm",
    "left rfm",
    "entered tag",
    "left tag",
]
SUBJECT_OPS = {"CMP", "IN", "NOT", "BETWEEN", "CONTAINS", "STARTSWITH", "IS"}
FIELD_TOKENS = {"NAME", "QNAME"}  # group, `a b`
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
KIND_CALLS = {"count", "first", "last"}
# value = … lists the values of the latest this many events of the kind (an index range)
VALUE_SAMPLE = 100_000
WINDOW_WORDS = ["7d", "30d", "90d", "-59d..-30d"]


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
    word = partial.lstrip("\"'`").lower()
    return [c for c in found if c.text.lstrip("\"'`").lower().startswith(word)]


def partial_word(text: str, cursor: int) -> str:
    """The word a completion replaces: an unclosed "quoted value" (with its opening quote), an
    unclosed `backquoted field (with its backquote), or the letters just before the cursor.
    Editors replace text[cursor - len(word):cursor]."""
    before = text[: max(0, min(cursor, len(text)))]
    quotes = [m.start() for m in re.finditer(r'(?<!\\)"', before)]
    if len(quotes) % 2 == 1:
        return before[quotes[-1] :]
    outside = _STRINGS.sub("", before)  # a backquote inside a quoted value is text
    if outside.count("`") % 2 == 1:
        return before[before.rindex("`") :]
    return re.search(r"\w*$", before).group(0)  # type: ignore[union-attr]


def _accepts(prefix: str) -> set[str]:
    interactive = lark_parser().parse_interactive(prefix)
    interactive.exhaust_lexer()
    return set(interactive.accepts())


def _candidates(conn: sqlite3.Connection, accepts: set[str], tokens: list) -> list[Completion]:
    kinds = [t.type for t in tokens]
    call = _open_call(tokens)
    if "STRING" in accepts and len(kinds) >= 2 and kinds[-2] in ("ENTERED", "LEFT"):
        return _history_names(conn, kinds[-1])
    if "STRING" in accepts and call is not None and call[2] is not None:
        return _event_values(conn, call[1]) if call[2] == "value" else []
    if kinds[-1:] in (["ADD"], ["MUL"]):
        numbers = [c for c in _fields(conn) if _is_number(conn, c.text)]
        return numbers + [Completion(k, "keyword", k) for k in ("count(", "orders(", "spent(")]
    if "STRING" in accepts and tokens:
        values = _values_after(conn, tokens)
        # after and / or / not / "(" a value could start a calculation, but a field is meant
        if values or kinds[-1] not in ("_AND", "_OR", "NOT", "LPAR"):
            return values
    if kinds[-1:] in (["DID"], ["THEN"], ["NO"]):
        return _event_kinds(conn, with_order=True)
    if call is not None:
        name, kind, _prop = call
        if kinds[-1] == "LPAR" and name in KIND_CALLS:
            return _event_kinds(conn, with_order=name != "count")
        if kinds[-1] in ("LPAR", "COMMA") and "NAME" in accepts:
            prop = "value =" if name == "count" else "amount >="
            return [Completion(w, "keyword", w) for w in [*WINDOW_WORDS, prop]]
        return []
    if kinds[-1:] == ["CMP"]:
        return []  # numbers and dates are typed, not listed
    if kinds[-1:] == ["RPAR"] and "CMP" in accepts:
        closed = _open_call(tokens[:-1])
        if closed is not None:
            kind = "date" if closed[0] in ("first", "last") else "number"
            return [Completion(op, "operator", f"{closed[0]}(…) {op}") for op in OPERATORS[kind]]
    if "CMP" in accepts and tokens and tokens[-1].type in FIELD_TOKENS:
        fd = lookup(conn, field_name(tokens[-1]))
        return _operators(fd) if fd else []
    if "NAME" in accepts:
        return _fields(conn) + [Completion(k, "keyword", k) for k in TERM_KEYWORDS]
    return [Completion(k, "keyword", k) for k in ("and", "or") if f"_{k.upper()}" in accepts]


def _open_call(tokens: list) -> tuple[str, str | None, str | None] | None:
    """(behaviour, its event kind, the filter property being written) when the cursor is inside
    an unclosed count(…) / first(…) / …, else None."""
    depth = 0
    for i in range(len(tokens) - 1, 0, -1):
        t = tokens[i].type
        if t == "RPAR":
            depth += 1
        elif t == "LPAR":
            if depth == 0:
                if tokens[i - 1].type == "IN":  # value in ( … inside the call
                    continue
                if tokens[i - 1].type != "NAME":
                    return None
                name = str(tokens[i - 1]).lower()
                args = tokens[i + 1 :]
                kind = str(args[0]) if args and args[0].type == "NAME" else None
                prop = None
                names = [a for a in args[1:] if a.type == "NAME"]
                if names:
                    prop = str(names[-1]).lower()
                return name, kind, prop
            depth -= 1
    return None


def _is_number(conn: sqlite3.Connection, name: str) -> bool:
    fd = lookup(conn, name)
    return fd is not None and fd.type == "number" and fd.source == "features"


def _event_kinds(conn: sqlite3.Connection, *, with_order: bool) -> list[Completion]:
    """Every event kind in the data (a skip-scan of the kind index: one seek per kind), plus the
    standard ones, and order where it fits."""
    from core.store.schema import EVENT_KINDS

    seeks = (
        "WITH RECURSIVE k(kind) AS (SELECT min(kind) FROM events UNION ALL "
        "SELECT (SELECT min(kind) FROM events WHERE kind > k.kind) FROM k "
        "WHERE k.kind IS NOT NULL) SELECT kind FROM k WHERE kind IS NOT NULL"
    )
    scan = "SELECT DISTINCT kind FROM events WHERE kind IS NOT NULL"  # no kind index to seek
    rows = conn.execute(seeks if dialect_of(conn).seeks else scan).fetchall()
    kinds = list(EVENT_KINDS) + sorted({r[0] for r in rows} - set(EVENT_KINDS))
    out = [Completion(k, "value", k) for k in kinds]
    if with_order:
        out.append(Completion("order", "value", "order · 订单"))
    return out


def _event_values(conn: sqlite3.Connection, kind: str | None) -> list[Completion]:
    """value = …: the values of the latest events of that kind, most frequent first."""
    if kind is None:
        return []
    return _listed(
        conn,
        f"SELECT value, count(*) FROM (SELECT value FROM events WHERE kind = ? "
        f"ORDER BY created_at DESC LIMIT {VALUE_SAMPLE}) WHERE value != '' "
        f"GROUP BY value ORDER BY 2 DESC, 1 LIMIT {VALUE_LIMIT}",
        (kind,),
    )


def _history_names(conn: sqlite3.Connection, what: str) -> list[Completion]:
    """Names after entered/left layer|rfm|tag, with how many users are in each now."""
    if what == "TAG":
        return _listed(conn, "SELECT tag, count(*) FROM user_tags GROUP BY tag ORDER BY 2 DESC, 1")
    if what == "LAYER":
        members = dialect_of(conn).empty_is_zero(
            "(SELECT count(*) FROM features WHERE layer = r.key)"
        )
        return _listed(
            conn, f"SELECT r.name_zh, {members} FROM layer_rules AS r ORDER BY r.position"
        )
    from core.analytics.rfm import GROUPS

    counts = dict(
        conn.execute("SELECT rfm_group, count(*) FROM features GROUP BY rfm_group").fetchall()
    )
    out = []
    for g in GROUPS:
        quoted = '"' + g.name_zh + '"'
        out.append(Completion(quoted, "value", f"{g.name_zh} · {g.name_en}", counts.get(g.key, 0)))
    return out


def _fields(conn: sqlite3.Connection) -> list[Completion]:
    out = []
    for name in field_names(conn):
        fd = lookup(conn, name)
        if fd is not None:
            out.append(Completion(field_text(name), "field", f"{fd.label_zh} · {fd.label_en}"))
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
        # newest first; of one moment, by name (as the campaigns list: the same on every engine)
        return _listed(conn, "SELECT name, NULL FROM campaigns ORDER BY created_at DESC, name")
    for i in range(len(tokens) - 1, -1, -1):
        if kinds[i] in ("_AND", "_OR"):  # the subject belongs to an earlier comparison
            return []
        if i == len(tokens) - 1:
            continue
        if tokens[i].type in FIELD_TOKENS and kinds[i + 1] in SUBJECT_OPS:
            fd = lookup(conn, field_name(tokens[i]))
            if fd is not None and fd.categorical:
                return _category_values(conn, fd)
            return []
    return []


def _category_values(conn: sqlite3.Connection, fd: FieldDef) -> list[Completion]:
    table = "features" if fd.source == "features" else "users"
    col = quote(fd.column)  # whitelisted by fields.lookup
    return _listed(
        conn,
        f"SELECT {col}, count(*) FROM {table} WHERE {col} IS NOT NULL AND {col} != '' "
        f"GROUP BY {col} ORDER BY 2 DESC, 1 LIMIT {VALUE_LIMIT}",  # ties: by value
    )


def _listed(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> list[Completion]:
    out = []
    for value, n in conn.execute(sql, params):
        quoted = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(Completion(quoted, "value", str(value), n))
    return out
