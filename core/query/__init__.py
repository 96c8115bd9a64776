"""The condition language shared by segments, layer rules and tags.

``parse(text) -> Node``, ``compile_condition(conn, text, *, as_of) -> Compiled`` and
``complete(conn, text, cursor) -> list[Completion]`` (``partial_word(text, cursor)``: the word a
completion replaces); see docs/query-language.md.
"""

from core.query.ast import Node
from core.query.compiler import Compiled, compile_condition
from core.query.parser import parse

__all__ = [
    "Compiled",
    "Completion",
    "Node",
    "compile_condition",
    "complete",
    "parse",
    "partial_word",
]


def __getattr__(name: str):  # completion is loaded on first use (it is not needed by counts)
    if name in ("complete", "Completion", "partial_word"):
        from core.query import completion

        return getattr(completion, name)
    raise AttributeError(name)
