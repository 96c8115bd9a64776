"""Which layer rules and tags cannot apply to this data, and why.

A rule that reads what the data does not measure (core.analytics.coverage: no events of a
kind, an attribute nobody has, orders without a time of day) is decided on zeros and empties,
not on behaviour: the default "active" layer (logins, check-ins, posts) holds nobody on
order-only data, whatever the customers did. The recompute reports these rules and tags so that
a 0 is not read as a measurement; they are still evaluated as written.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from core.analytics.coverage import Coverage, why
from core.errors import QueryError
from core.query import parse
from core.query.ast import Call, Field, Sequence, Value
from core.query.fields import ALIASES
from core.rules.conditions import walk


@dataclass(frozen=True)
class NotApplicable:
    kind: str  # 'layer' | 'tag'
    name: str  # the layer key or the tag name
    condition: str
    reasons: tuple[str, ...]  # e.g. "logins_30d: no login events in the data"

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "condition": self.condition,
            "why": list(self.reasons),
        }


def unmeasured_reads(condition: str, coverage: Coverage) -> tuple[str, ...]:
    """What ``condition`` reads that the data does not measure, each with its reason (in the
    order written, each once); () for a condition that does not parse (reported elsewhere)."""
    try:
        tree = parse(condition)
    except QueryError:
        return ()
    missing = coverage.unmeasured()
    found: dict[str, str] = {}
    for node in walk(tree):
        if isinstance(node, Field):
            name = ALIASES.get(node.name.lower(), node.name.lower())
            if name in missing:
                found.setdefault(name, f"{name}: {why(missing[name])}")
        kinds: list[Value] = []
        if isinstance(node, Call) and node.args and node.args[0].kind == "name":
            kinds = [node.args[0]]
        elif isinstance(node, Sequence):
            kinds = [node.first, node.then]
        for value in kinds:
            kind = str(value.value)
            if coverage.event_kind_missing(kind):
                found.setdefault(kind, f"{kind}: {why(('events', kind))}")
    return tuple(found.values())


def not_applicable(conn: sqlite3.Connection, coverage: Coverage) -> list[NotApplicable]:
    """The layer rules (in evaluation order), then the tags (by name), that read something the
    data does not measure."""
    out = []
    rules = conn.execute("SELECT key, condition FROM layer_rules ORDER BY position").fetchall()
    tags = conn.execute("SELECT name, condition FROM tag_rules ORDER BY name").fetchall()
    for kind, rows in (("layer", rules), ("tag", tags)):
        for name, condition in rows:
            reasons = unmeasured_reads(condition, coverage)
            if reasons:
                out.append(NotApplicable(kind, name, condition, reasons))
    return out


def skipped_defaults(conn: sqlite3.Connection) -> list[NotApplicable]:
    """Default tags the first install left out (a field this data lacks), still not there."""
    import json

    from core.rules.tags import DEFAULT_TAGS, SKIPPED_META
    from core.store.db import get_meta

    try:
        skipped = json.loads(get_meta(conn, SKIPPED_META) or "[]")
    except ValueError:
        return []
    present = {r[0] for r in conn.execute("SELECT name FROM tag_rules")}
    conditions = {t.name: t.condition for t in DEFAULT_TAGS}
    return [
        NotApplicable("tag", name, conditions.get(name, ""), (f"not installed: {reason}",))
        for name, reason in skipped
        if name not in present
    ]


def report(conn: sqlite3.Connection) -> list[NotApplicable]:
    """The default tags not installed, then :func:`not_applicable` for what the last
    recompute measured (none before one)."""
    from core.analytics.coverage import stored

    found = stored(conn)
    measured = not_applicable(conn, found) if found is not None else []
    return [*skipped_defaults(conn), *measured]
