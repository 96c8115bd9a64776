"""The syntax tree of a condition: frozen dataclasses, each remembering where it starts (pos)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Value:
    """A literal: kind is 'string', 'number', 'date', 'reldate', 'duration' or 'name'."""

    kind: str
    raw: str
    value: object
    pos: int


@dataclass(frozen=True)
class Field:
    name: str
    pos: int


@dataclass(frozen=True)
class Filter:
    """A filter on the rows a behaviour counts: ``value = "美妆"``, ``amount >= 200``.
    op is one of = != < <= > >= in."""

    field: str
    op: str
    values: tuple[Value, ...]
    pos: int


@dataclass(frozen=True)
class Call:
    """A behaviour window such as count(login, 30d), spent(-59d..-30d) or
    count(view, 30d, value = "美妆"). A range window is a Value of kind 'range' whose value is
    (start, end), each a 'reldate' or 'date' Value."""

    name: str
    args: tuple[Value, ...]
    pos: int
    filter: Filter | None = None


@dataclass(frozen=True)
class Arith:
    """left op right with op one of + - * /; operands are fields, behaviours, numbers or Arith."""

    op: str
    left: Expr
    right: Expr
    pos: int


Expr = Union[Field, Call, Value, Arith]  # noqa: UP007


@dataclass(frozen=True)
class Compare:
    """subject op values. op is one of = != < <= > >= in, not in, between, contains,
    startswith, is empty, is not empty."""

    subject: Field | Call | Arith
    op: str
    values: tuple[Value, ...]
    pos: int
    op_pos: int


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Not:
    item: Node
    pos: int


@dataclass(frozen=True)
class HasTag:
    tag: Value
    pos: int


@dataclass(frozen=True)
class InSegment:
    name: Value
    pos: int


@dataclass(frozen=True)
class InCampaign:
    """Membership of a campaign; role None means any role (target or control)."""

    name: Value
    role: str | None
    pos: int


@dataclass(frozen=True)
class TargetedWithin:
    duration: Value
    pos: int


@dataclass(frozen=True)
class Calc:
    """An arithmetic comparison: ``monetary / frequency >= 400``, ``spent(30d) > 2 * spent(…)``.
    right holds one expression for = != < <= > >=, the literal values for in / between."""

    left: Expr
    op: str
    right: tuple[Expr, ...]
    pos: int
    op_pos: int


@dataclass(frozen=True)
class Sequence:
    """did first [in window] then [no] then within N: first/then are event kinds or 'order'."""

    first: Value
    window: Value | None
    negated: bool
    then: Value
    within: Value
    pos: int


@dataclass(frozen=True)
class Transition:
    """entered|left layer|rfm|tag "name" within N."""

    direction: str  # 'entered' | 'left'
    what: str  # 'layer' | 'rfm' | 'tag'
    name: Value
    within: Value
    pos: int


@dataclass(frozen=True)
class InGlobalControl:
    """Membership of the global control group (core.audience.global_control)."""

    pos: int


Node = Union[  # noqa: UP007
    Compare,
    Calc,
    And,
    Or,
    Not,
    HasTag,
    InSegment,
    InCampaign,
    TargetedWithin,
    Sequence,
    Transition,
    InGlobalControl,
]
