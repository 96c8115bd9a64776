"""Text -> syntax tree, with lark (LALR) over grammar.lark; lark errors become QueryError."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import cast

from lark import Lark, Token, Transformer, Tree, v_args
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
    Arith,
    Calc,
    Call,
    Compare,
    Field,
    Filter,
    HasTag,
    InCampaign,
    InGlobalControl,
    InSegment,
    Node,
    Not,
    Or,
    Sequence,
    TargetedWithin,
    Transition,
    Value,
)

GRAMMAR = Path(__file__).with_name("grammar.lark")

# How each terminal is named to an operator in "expected ..." messages.
TERMINAL_WORDS = {
    "NAME": "a field",
    "QNAME": "a field",
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
    "ADD": "+ or -",
    "MUL": "* or /",
    "__ANON_0": "..",
    "$END": "the end",
}

# Bounds that keep every condition a quick, working query (docs/query-language.md, "Limits").
MAX_LENGTH = 50_000  # characters of condition text
MAX_DEPTH = 24  # levels of the syntax tree: not, and/or in parentheses, arithmetic (SQLite's
# parser stack holds about 25 nested parentheses)
MAX_TERMS = 500  # comparisons, tags, memberships, sequences in one condition
MAX_VALUES = 1_000  # values in one in (…) list
MAX_DIGITS = 30  # digits of a number
MAX_INT = 2**63 - 1  # SQLite's integers
MAX_WINDOW_DAYS = 36_600  # a window or relative date of at most 100 years
_DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 31, "y": 366}


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
    _check_text(text)
    try:
        tree = lark_parser().parse(text)
    except UnexpectedInput as exc:
        raise _query_error(text, exc) from None
    _check_size(tree)
    try:
        return _ToAst().transform(tree)
    except VisitError as exc:  # a literal that lexes but is not valid (2024-13-01)
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        raise


def field_name(token: Token) -> str:
    """The field a NAME or QNAME token names (`a b` -> a b)."""
    text = str(token)
    return text[1:-1] if token.type == "QNAME" else text


@cache
def _keywords() -> frozenset[str]:
    """The language's words (and, in, tag, ...): a field named so is written between backquotes."""
    return frozenset(
        t.pattern.value.lower()
        for t in lark_parser().terminals
        if t.pattern.type == "str" and t.pattern.value.isalpha()
    )


def field_text(name: str) -> str:
    """How a field is written in a condition: as is, or between backquotes when it is not a plain
    word (``a b``, ``1st``) or is one of the language's words (``tag``)."""
    if re.fullmatch(r"(?!\d)\w+", name) and name.lower() not in _keywords():
        return name
    return f"`{name}`"


def _check_text(text: str) -> None:
    """Text that is not text (undecodable bytes of a command-line argument) or too long."""
    bad = re.search(r"[\ud800-\udfff]", text)
    if bad:
        pos = bad.start()
        raise QueryError(
            f"The condition holds bytes that are not valid UTF-8 at column {pos + 1}",
            pos=pos,
            expected=["text in UTF-8"],
        )
    if len(text) > MAX_LENGTH:
        raise QueryError(
            f"The condition is longer than {MAX_LENGTH:,} characters (column {MAX_LENGTH + 1}): "
            "save a snapshot or a tag for long lists",
            pos=MAX_LENGTH,
            expected=["a shorter condition"],
        )


_TERMS = {
    "compare",
    "in_list",
    "not_in_list",
    "between",
    "contains",
    "startswith",
    "is_empty",
    "is_not_empty",
    "tag_term",
    "in_segment",
    "in_campaign",
    "target_of_campaign",
    "control_of_campaign",
    "targeted_within",
    "sequence",
    "transition",
}


def _first_pos(tree: Tree) -> int:
    for tok in tree.scan_values(lambda t: isinstance(t, Token)):
        return tok.start_pos
    return 0


def _check_size(tree: Tree) -> None:
    """Depth, number of terms and list lengths, walked without recursion (a 10,000-deep tree
    must give a message, not a RecursionError)."""
    terms = 0
    stack: list[tuple[Tree, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            pos = _first_pos(node)
            raise QueryError(
                f"The condition nests more than {MAX_DEPTH} levels deep at column {pos + 1}",
                pos=pos,
                expected=["fewer nested not / parentheses"],
            )
        rule = str(node.data)
        if rule in _TERMS:
            terms += 1
            if terms > MAX_TERMS:
                pos = _first_pos(node)
                raise QueryError(
                    f"The condition has more than {MAX_TERMS} terms (column {pos + 1}): "
                    "save a snapshot or a tag for long lists",
                    pos=pos,
                    expected=["fewer terms"],
                )
        values = [c for c in node.children if isinstance(c, Tree) and c.data == "value"]
        if len(values) > MAX_VALUES:
            pos = _first_pos(values[MAX_VALUES])
            raise QueryError(
                f"A list holds more than {MAX_VALUES:,} values (column {pos + 1}): save a "
                "snapshot or a tag for long lists",
                pos=pos,
                expected=[")"],
            )
        # reversed: popped in text order, so an error points at the first term beyond a limit
        stack.extend((c, depth + 1) for c in reversed(node.children) if isinstance(c, Tree))


def expected_words(terminals: set[str] | frozenset[str]) -> list[str]:
    """Operator words for a set of lark terminal names, in a stable order."""
    words = {TERMINAL_WORDS.get(t, t.strip("_").lower()) for t in terminals}
    return sorted(words)


_KIND_BEFORE = re.compile(r"(\b(did|then|no)|\b(count|first|last)\s*\()\s*$", re.I)
KIND_WORD = "an event kind (login, view, cart_add, …) or order"


def _name_word(text: str, pos: int, exp: list[str]) -> list[str]:
    """After did / then / no / count( a name is an event kind, not a field."""
    if "a field" in exp and _KIND_BEFORE.search(text[:pos]):
        return sorted(KIND_WORD if w == "a field" else w for w in exp)
    return exp


def _query_error(text: str, exc: UnexpectedInput) -> QueryError:
    err = _query_error_raw(text, exc)
    words = _name_word(text, err.pos or 0, list(err.expected or []))
    if words != list(err.expected or []):
        msg = str(err).replace("a field", KIND_WORD)
        return QueryError(msg, pos=err.pos, expected=words, suggestion=err.suggestion)
    return err


def _query_error_raw(text: str, exc: UnexpectedInput) -> QueryError:
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
    pos = cast(int, exc.pos_in_stream)  # lark declares it None on the base class
    exp = expected_words(exc.allowed or set())
    char = text[pos]
    if char in "\"'":
        return QueryError(
            f"Unterminated quoted value starting at column {pos + 1}",
            pos=pos,
            expected=["a closing quote"],
        )
    if char == "`":
        return QueryError(
            f"Unterminated backquoted field name starting at column {pos + 1}",
            pos=pos,
            expected=["a closing backquote"],
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
    raw, pos = str(tok), cast(int, tok.start_pos)  # set on every parsed token
    if tok.type == "STRING":
        return Value("string", raw, _unquote(raw), pos)
    if tok.type == "NUMBER":
        return Value("number", raw, _number(raw, pos), pos)
    if tok.type == "DATE":
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
        if day is None or not 1000 <= day.year <= 9998:
            raise QueryError(
                f"{raw} is not a valid date (column {pos + 1})",
                pos=pos,
                expected=["a date (2024-06-01)"],
            )
        return Value("date", raw, day, pos)
    if tok.type in ("REL_DATE", "DURATION"):
        kind = "reldate" if tok.type == "REL_DATE" else "duration"
        digits, unit = raw.strip("-")[:-1], raw[-1].lower()
        if len(digits) > 6 or int(digits) * _DAYS_PER_UNIT[unit] > MAX_WINDOW_DAYS:
            raise QueryError(
                f"{raw} at column {pos + 1} reaches more than 100 years back",
                pos=pos,
                expected=["a duration of at most 100 years (36600d)"],
            )
        return Value(kind, raw, (int(digits), unit), pos)
    return Value("name", raw, raw, pos)


def _number(raw: str, pos: int) -> int | float:
    if len(raw.strip("-").replace(".", "")) > MAX_DIGITS:
        raise QueryError(
            f"The number at column {pos + 1} has more than {MAX_DIGITS} digits",
            pos=pos,
            expected=["a number"],
        )
    num = float(raw) if "." in raw else int(raw)
    if isinstance(num, int) and abs(num) > MAX_INT:
        num = float(num)  # beyond SQLite's integers: compared as a real, like any large amount
    return num


def _is_simple(x: object) -> bool:
    return isinstance(x, Field | Call)


def _comparison(left, op: str, values: tuple, pos: int, op_pos: int) -> Compare | Calc:
    """A field or behaviour against literal values keeps the Compare of the first edition;
    anything with arithmetic (or a literal on the left) is a Calc."""
    if _is_simple(left) and all(isinstance(v, Value) for v in values):
        return Compare(left, op, values, pos, op_pos)
    if op in ("=", "!=") and isinstance(left, Field) and isinstance(values[0], Field):
        # city = 上海: almost always a text value without quotes (two fields: a - b = 0)
        word = values[0]
        hint = f'"{word.name}"'
        raise QueryError(
            f"Unexpected {word.name!r} at column {word.pos + 1}: expected a quoted value "
            f'("…") or a number; text values are quoted, e.g. {hint}',
            pos=word.pos,
            expected=['a quoted value ("…")', "a number"],
            suggestion=hint,
        )
    return Calc(left, op, values, pos, op_pos)


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
        return Field(field_name(items[0]), items[0].start_pos)

    def call(self, meta, items):
        name, *args = items
        filters = [a for a in args if isinstance(a, Filter)]
        if len(filters) > 1 or (filters and args[-1] is not filters[0]):
            bad = filters[-1] if len(filters) > 1 else filters[0]
            raise QueryError(
                f"{name}(…) takes one filter, last (column {bad.pos + 1})",
                pos=bad.pos,
                expected=[")"],
            )
        values = tuple(a if isinstance(a, Value) else _value(a) for a in args if a not in filters)
        return Call(str(name).lower(), values, name.start_pos, filters[0] if filters else None)

    def range(self, meta, items):
        start, end = (_value(t) for t in items)
        return Value("range", f"{start.raw}..{end.raw}", (start, end), start.pos)

    def prop_compare(self, meta, items):
        name, op, val = items
        norm = {"==": "=", "<>": "!="}.get(str(op), str(op))
        return Filter(str(name).lower(), norm, (val,), name.start_pos)

    def prop_in(self, meta, items):
        name, _in, *vals = items
        return Filter(str(name).lower(), "in", tuple(vals), name.start_pos)

    def value(self, meta, items):
        return _value(items[0])

    def arith(self, meta, items):
        left, op, right = items
        return Arith(str(op), left, right, meta.start_pos)

    def compare(self, meta, items):
        subject, op, val = items
        norm = {"==": "=", "<>": "!="}.get(str(op), str(op))
        return _comparison(subject, norm, (val,), meta.start_pos, op.start_pos)

    def in_list(self, meta, items):
        subject, op, *vals = items
        return _comparison(subject, "in", tuple(vals), meta.start_pos, op.start_pos)

    def not_in_list(self, meta, items):
        subject, op, _in, *vals = items
        return _comparison(subject, "not in", tuple(vals), meta.start_pos, op.start_pos)

    def between(self, meta, items):
        subject, op, low, high = items
        return _comparison(subject, "between", (low, high), meta.start_pos, op.start_pos)

    def contains(self, meta, items):
        return _comparison(items[0], "contains", (items[2],), meta.start_pos, items[1].start_pos)

    def startswith(self, meta, items):
        return _comparison(items[0], "startswith", (items[2],), meta.start_pos, items[1].start_pos)

    def is_empty(self, meta, items):
        return _comparison(items[0], "is empty", (), meta.start_pos, items[1].start_pos)

    def is_not_empty(self, meta, items):
        return _comparison(items[0], "is not empty", (), meta.start_pos, items[1].start_pos)

    def sequence(self, meta, items):
        names = [t for t in items if isinstance(t, Token) and t.type == "NAME"]
        negated = any(isinstance(t, Token) and t.type == "NO" for t in items)
        durations = [t for t in items if isinstance(t, Value) or t.type == "DURATION"]
        within = _value(durations[-1])
        window = None
        if len(durations) == 2:
            window = durations[0] if isinstance(durations[0], Value) else _value(durations[0])
        first, then = (_value(t) for t in names)
        return Sequence(first, window, negated, then, within, meta.start_pos)

    def transition(self, meta, items):
        direction, what, name, _within, duration = items
        return Transition(
            str(direction).lower(),
            str(what).lower(),
            _value(name),
            _value(duration),
            meta.start_pos,
        )

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
