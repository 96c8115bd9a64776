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
class Call:
    """A behaviour window such as count(login, 30d) or spent(90d)."""

    name: str
    args: tuple[Value, ...]
    pos: int


@dataclass(frozen=True)
class Compare:
    """subject op values. op is one of = != < <= > >= in, not in, between, contains,
    startswith, is empty, is not empty."""

    subject: Field | Call
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
class InGlobalControl:
    """Membership of the global control group (core.audience.global_control)."""

    pos: int


Node = Union[Compare, And, Or, Not, HasTag, InSegment, InCampaign, TargetedWithin, InGlobalControl]  # noqa: UP007
