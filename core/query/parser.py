"""Text -> syntax tree, with lark (LALR) over grammar.lark; lark errors become QueryError."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from core.errors import QueryError
from core.query.ast import (
    And,
    Call,
    Compare,
    Field,
    HasTag,
    InCampaign,
    InGlobalControl,
    InSegment,
    Node,
    Not,
    Or,
    TargetedWithin,
    Value,
)

GRAMMAR = Path(__file__).with_name("grammar.lark")

# How each terminal is named to an operator in "expected ..." messages.
TERMINAL_WORDS = {
    "NAME": "a field",
    "CMP": "a comparison (= != < <= > >=)",
    "STRING": 'a quoted value ("…")',
    "NUMBER": "a number",
    "DATE": "a date (2024-06-01)",
    "REL_DATE": "a relative date (-30d)",
    "DURATION": "a duration (30d)",
    "LPAR": "(",
    "RPAR": ")",
    "COMMA": ",",
    "_AND": "and",
    "_OR": "or",
    "$END": "the end",
}


@cache
def lark_parser() -> Lark:
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )


def parse(text: str) -> Node:
    """Parse a condition; raise QueryError(pos, expected) pointing at the first mistake."""
    if not isinstance(text, str) or not text.strip():
        raise QueryError(
            'The condition is empty: write e.g. city = "上海"', pos=0, expected=["a field"]
        )
    try:
        tree = lark_parser().parse(text)
    except UnexpectedInput as exc:
        raise _query_error(text, exc) from None
    try:
        return _ToAst().transform(tree)
    except VisitError as exc:  # a literal that lexes but is not valid (2024-13-01)
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        raise


def expected_words(terminals: set[str] | frozenset[str]) -> list[str]:
    """Operator words for a set of lark terminal names, in a stable order."""
    words = {TERMINAL_WORDS.get(t, t.strip("_").lower()) for t in terminals}
    return sorted(words)


def _query_error(text: str, exc: UnexpectedInput) -> QueryError:
    if isinstance(exc, UnexpectedEOF):
        pos = len(text.rstrip())
        exp = expected_words(set(exc.expected))
        return QueryError(
            f"The condition ends too early: expected {_or(exp)}", pos=pos, expected=exp
        )
    if isinstance(exc, UnexpectedToken):
        pos = exc.token.start_pos if exc.token.type != "$END" else len(text.rstrip())
        exp = expected_words(exc.accepts or exc.expected)
        found = "the end" if exc.token.type == "$END" else repr(str(exc.token))
        msg = f"Unexpected {found} at column {pos + 1}: expected {_or(exp)}"
        hint = None
        if exc.token.type == "NAME" and 'a quoted value ("…")' in exp:
            hint = f'"{exc.token}"'
            msg += f"; text values are quoted, e.g. {hint}"
        return QueryError(msg, pos=pos, expected=exp, suggestion=hint)
    assert isinstance(exc, UnexpectedCharacters)
    pos = exc.pos_in_stream
    exp = expected_words(exc.allowed or set())
    char = text[pos]
    if char in "\"'":
        return QueryError(
            f"Unterminated quoted value starting at column {pos + 1}",
            pos=pos,
            expected=["a closing quote"],
        )
    hint = None
    word = re.match(r"[^\s()\",']+", text[pos:])
    if word and 'a quoted value ("…")' in exp:
        hint = f'"{word.group(0)}"'
    msg = f"Unexpected {char!r} at column {pos + 1}: expected {_or(exp)}"
    if hint:
        msg += f"; text values are quoted, e.g. {hint}"
    return QueryError(msg, pos=pos, expected=exp, suggestion=hint)


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", r"\1", body, flags=re.S)


def _value(tok: Token) -> Value:
    raw, pos = str(tok), tok.start_pos
    if tok.type == "STRING":
        return Value("string", raw, _unquote(raw), pos)
    if tok.type == "NUMBER":
        num = float(raw) if "." in raw else int(raw)
        return Value("number", raw, num, pos)
    if tok.type == "DATE":
        try:
            return Value("date", raw, date.fromisoformat(raw), pos)
        except ValueError:
            raise QueryError(
                f"{raw} is not a valid date (column {pos + 1})",
                pos=pos,
                expected=["a date (2024-06-01)"],
            ) from None
    if tok.type in ("REL_DATE", "DURATION"):
        kind = "reldate" if tok.type == "REL_DATE" else "duration"
        return Value(kind, raw, (int(raw.strip("-")[:-1]), raw[-1].lower()), pos)
    return Value("name", raw, raw, pos)


@v_args(meta=True)
class _ToAst(Transformer):
    """Tree -> dataclasses. Children keep their tokens so every node knows its position."""

    def disjunction(self, meta, items):
        return Or(tuple(items), meta.start_pos)

    def conjunction(self, meta, items):
        return And(tuple(items), meta.start_pos)

    def negation(self, meta, items):
        return Not(items[1], meta.start_pos)

    def field(self, meta, items):
        return Field(str(items[0]), items[0].start_pos)

    def call(self, meta, items):
        name, *args = items
        return Call(str(name).lower(), tuple(_value(a) for a in args), name.start_pos)

    def value(self, meta, items):
        return _value(items[0])

    def compare(self, meta, items):
        subject, op, val = items
        norm = {"==": "=", "<>": "!="}.get(str(op), str(op))
        return Compare(subject, norm, (val,), meta.start_pos, op.start_pos)

    def in_list(self, meta, items):
        subject, op, *vals = items
        return Compare(subject, "in", tuple(vals), meta.start_pos, op.start_pos)

    def not_in_list(self, meta, items):
        subject, op, _in, *vals = items
        return Compare(subject, "not in", tuple(vals), meta.start_pos, op.start_pos)

    def between(self, meta, items):
        subject, op, low, high = items
        return Compare(subject, "between", (low, high), meta.start_pos, op.start_pos)

    def contains(self, meta, items):
        return Compare(items[0], "contains", (items[2],), meta.start_pos, items[1].start_pos)

    def startswith(self, meta, items):
        return Compare(items[0], "startswith", (items[2],), meta.start_pos, items[1].start_pos)

    def is_empty(self, meta, items):
        return Compare(items[0], "is empty", (), meta.start_pos, items[1].start_pos)

    def is_not_empty(self, meta, items):
        return Compare(items[0], "is not empty", (), meta.start_pos, items[1].start_pos)

    def tag_term(self, meta, items):
        return HasTag(items[-1], meta.start_pos)

    def in_segment(self, meta, items):
        return InSegment(_value(items[-1]), meta.start_pos)

    def in_campaign(self, meta, items):
        return InCampaign(_value(items[-1]), None, meta.start_pos)

    def target_of_campaign(self, meta, items):
        return InCampaign(_value(items[-1]), "target", meta.start_pos)

    def control_of_campaign(self, meta, items):
        return InCampaign(_value(items[-1]), "control", meta.start_pos)

    def targeted_within(self, meta, items):
        return TargetedWithin(_value(items[-1]), meta.start_pos)

    def in_global_control(self, meta, items):
        return InGlobalControl(meta.start_pos)
