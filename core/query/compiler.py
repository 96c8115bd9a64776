"""Syntax tree -> one SQL boolean over ``features AS f`` with named parameters, plus the
condition as a sentence in Chinese and in English."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from core.errors import QueryError
from core.query import arith, behaviour, sequences
from core.query.ast import (
    And,
    Calc,
    Call,
    Compare,
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
)
from core.query.comparisons import compile_compare
from core.query.context import Ctx, Part, closest, did_you_mean
from core.query.parser import parse
from core.store.engines import dialect_of


@dataclass(frozen=True)
class Compiled:
    """A condition as it crosses layers: the text the operator wrote, one SQL boolean over
    ``features AS f`` whose values are all bound (``params``, names from the compiler), and
    the condition as a sentence. Core's read API takes this value (or None: every user), never
    SQL text; screens keep it and pass it back."""

    text: str
    where: str
    params: dict[str, object]
    human_zh: str
    human_en: str

    def human(self, lang: str) -> str:
        return self.human_zh if lang == "zh" else self.human_en


def compile_condition(
    conn: sqlite3.Connection,
    text: str,
    *,
    as_of: date,
    materialised: bool = True,
    prefix: str = "",
    prepare: bool = True,
) -> Compiled:
    """Parse and compile ``text``; raise QueryError pointing at the mistake.

    ``materialised=False`` computes every behaviour window from the raw events and orders, even
    where ``features`` holds it for this as-of date (for checks and benchmarks). Parameter names
    start with ``prefix`` (``r0_`` gives ``:r0_p0``), so conditions compiled with different
    prefixes can be combined in one statement. ``prepare=False`` leaves out the engine's
    prepare (one statement): for a caller that runs several conditions in one statement and
    compiles one alone again when that statement fails (core.views.profile).
    """
    ctx = Ctx(conn, as_of, materialised=materialised, prefix=prefix)
    part = compile_text(ctx, text)
    if prepare:
        _prepare(conn, part.sql, ctx.params)
    return Compiled(text, part.sql, dict(ctx.params), part.zh, part.en)


def _prepare(conn: sqlite3.Connection, where: str, params: dict[str, object]) -> None:
    """Let SQLite prepare the condition (LIMIT 0 reads nothing): its own limits (parser stack,
    expression depth, number of terms) become a QueryError instead of an error at count time."""
    try:
        conn.execute(f"SELECT 1 FROM features AS f WHERE {where} LIMIT 0", params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return  # a database without features yet: nothing to prepare against
        raise QueryError(
            f"The condition is too complex for {dialect_of(conn).label} ({exc}): fewer nested "
            "parentheses or "
            "terms, or split it into saved segments",
            pos=0,
            expected=["a simpler condition"],
        ) from None


def compile_for_segment(
    conn: sqlite3.Connection, name: str, text: str, *, as_of: date, prefix: str = ""
) -> Compiled:
    """Compile the definition of saved segment ``name`` (so it may not contain itself)."""
    ctx = Ctx(conn, as_of, segments=(name,), prefix=prefix)
    part = compile_text(ctx, text)
    _prepare(conn, part.sql, ctx.params)
    return Compiled(text, part.sql, dict(ctx.params), part.zh, part.en)


def compile_text(ctx: Ctx, text: str) -> Part:
    return compile_node(ctx, parse(text))


def compile_node(ctx: Ctx, node: Node) -> Part:
    if isinstance(node, And | Or):
        return _boolean(ctx, node)
    if isinstance(node, Not) and isinstance(node.item, Not):
        # not not X is X (a user matches or not: no value counts as no on both sides); keeps
        # SQLite's parser stack (about 25 nested NOT ifnull( ) out of a chain of nots
        inner = compile_node(ctx, node.item.item)
        zh, en = _wrap(inner, "atom")
        return Part(inner.sql, f"并非 并非 {zh}", f"not not {en}")
    if isinstance(node, Not):
        inner = compile_node(ctx, node.item)
        zh, en = _wrap(inner, "atom")
        return Part(f"NOT ifnull({inner.sql}, 0)", f"并非 {zh}", f"not {en}")
    if isinstance(node, Compare):
        if isinstance(node.subject, Call):
            return behaviour.compile_call(ctx, node)
        return compile_compare(ctx, node)
    if isinstance(node, Calc):
        return arith.compile_calc(ctx, node)
    if isinstance(node, Sequence):
        return sequences.compile_sequence(ctx, node)
    if isinstance(node, Transition):
        return sequences.compile_transition(ctx, node)
    if isinstance(node, HasTag):
        return behaviour.compile_tag(ctx, node)
    if isinstance(node, InCampaign):
        return behaviour.compile_campaign(ctx, node)
    if isinstance(node, TargetedWithin):
        return behaviour.compile_targeted(ctx, node)
    if isinstance(node, InSegment):
        return _in_segment(ctx, node)
    if isinstance(node, InGlobalControl):
        return behaviour.compile_global_control(ctx, node)
    raise QueryError(f"Cannot compile {type(node).__name__}")  # unreachable: the grammar is closed


def _boolean(ctx: Ctx, node: And | Or) -> Part:
    kind = "and" if isinstance(node, And) else "or"
    parts = [compile_node(ctx, item) for item in node.items]
    sql = f" {kind.upper()} ".join(f"({p.sql})" for p in parts)
    words = [_wrap(p, kind) for p in parts]
    zh_join, en_join = (" 且 ", " and ") if kind == "and" else (" 或 ", " or ")
    return Part(sql, zh_join.join(w[0] for w in words), en_join.join(w[1] for w in words), kind)


def _wrap(part: Part, context: str) -> tuple[str, str]:
    """Parenthesise a sentence that binds more loosely than where it is used."""
    if part.binds == "atom" or part.binds == context:
        return part.zh, part.en
    return f"（{part.zh}）", f"({part.en})"


def _in_segment(ctx: Ctx, node: InSegment) -> Part:
    """A saved segment is expanded inline (its current definition); a snapshot is its frozen
    member list. A segment that refers to itself, directly or not, is an error."""
    name = str(node.name.value)
    row = ctx.conn.execute("SELECT query FROM segments WHERE name = ?", (name,)).fetchone()
    if row is not None:
        return _expand_segment(ctx, node, name, row[0])
    snap = ctx.conn.execute("SELECT id FROM segment_snapshots WHERE name = ?", (name,)).fetchone()
    if snap is not None:
        sql = (
            f"f.user_id IN (SELECT user_id FROM snapshot_members WHERE snapshot_id = "
            f"{ctx.bind(snap[0])})"
        )
        return Part(sql, f"在快照 {name} 中", f"in snapshot {name}")
    known = [
        r[0]
        for r in ctx.conn.execute(
            "SELECT name FROM segments UNION SELECT name FROM segment_snapshots"
        )
    ]
    guess = closest(name, known)
    raise QueryError(
        f'Unknown segment "{name}" at column {node.name.pos + 1}{did_you_mean(guess, chr(34))}',
        pos=node.name.pos,
        expected=["a saved segment or snapshot"],
        suggestion=guess,
    )


def _expand_segment(ctx: Ctx, node: InSegment, name: str, query: str) -> Part:
    pos = node.name.pos
    if name in ctx.segments:
        cycle = " → ".join([*ctx.segments, name])
        raise QueryError(
            f'Segment "{name}" refers to itself ({cycle})',
            pos=pos,
            expected=["a segment that does not contain itself"],
        )
    outer = ctx.segments
    ctx.segments = (*outer, name)
    try:
        inner = compile_text(ctx, query)
    except QueryError as exc:
        msg = (
            str(exc)
            if "refers to itself" in str(exc)
            else (f'Saved segment "{name}" (column {pos + 1}) no longer compiles: {exc}')
        )
        raise QueryError(msg, pos=pos, expected=exc.expected) from None
    finally:
        ctx.segments = outer
    return Part(f"({inner.sql})", f"在分群 {name} 中", f"in segment {name}")
