"""What layer rules and tag rules share: compiling a rule's condition with its own parameter
names (a prefix per rule, so rules can share one statement), refusing fields a rule may not
use, and joining the caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from datetime import date

from core.errors import QueryError
from core.query import Compiled, compile_condition, parse
from core.query.ast import Field, HasTag
from core.store.db import transaction


def compile_rule(conn: sqlite3.Connection, condition: str, *, as_of: date, prefix: str) -> Compiled:
    """Compile ``condition`` with parameter names :<prefix>pN (values stay bound)."""
    return compile_condition(conn, condition, as_of=as_of, prefix=prefix)


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
