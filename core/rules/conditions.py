"""What layer rules and tag rules share: compiling a rule's condition with its own parameter
names, refusing fields a rule may not use, and joining the caller's transaction."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from datetime import date

from core.errors import QueryError
from core.query import compile_condition, parse
from core.query.ast import Field, HasTag
from core.store.db import transaction

_PARAM = re.compile(r":(p\d+)\b")


@dataclass(frozen=True)
class RuleSql:
    """A compiled condition whose parameters carry a per-rule prefix, so rules can share a query."""

    where: str
    params: dict[str, object]


def compile_rule(conn: sqlite3.Connection, condition: str, *, as_of: date, prefix: str) -> RuleSql:
    """Compile ``condition`` and rename its parameters :pN to :<prefix>pN (values stay bound)."""
    compiled = compile_condition(conn, condition, as_of=as_of)
    params: Mapping[str, object] = compiled.params
    where = _PARAM.sub(lambda m: f":{prefix}{m.group(1)}", compiled.where)
    return RuleSql(where, {f"{prefix}{k.lstrip(':')}": v for k, v in params.items()})


def forbid(condition: str, *, field: str, tags: bool, why: str) -> None:
    """Raise a positioned QueryError when ``condition`` uses ``field`` (or, with ``tags``, a tag)."""
    for node in walk(parse(condition)):
        if isinstance(node, Field) and node.name.lower() == field:
            raise QueryError(f"`{field}` cannot be used here: {why}", pos=node.pos)
        if tags and isinstance(node, HasTag):
            raise QueryError(f"tags cannot be used here: {why}", pos=node.pos)


def walk(node: object) -> Iterator[object]:
    yield node
    if is_dataclass(node):
        for part in fields(node):
            value = getattr(node, part.name)
            for child in value if isinstance(value, tuple) else (value,):
                if is_dataclass(child):
                    yield from walk(child)


@contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[None]:
    """Join the caller's transaction (the recompute's), else open one."""
    if conn.in_transaction:
        yield
    else:
        with transaction(conn):
            yield
