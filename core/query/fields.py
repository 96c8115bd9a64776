"""The field whitelist: every name an operator may write, its SQL, type and zh/en label.

Identifiers come only from core.store.schema (FEATURE_COLUMNS, user_attribute_columns); labels,
kinds and flags of the built-in columns come from the registry, core.store.columns.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from core.store import columns
from core.store.schema import FEATURE_COLUMNS, user_attribute_columns

# name -> (zh, en): every built-in column's label (core.store.columns), the alias rfm, and the
# extra attributes of the demo's users (core.ingest.demo). Other columns are labelled with their
# own name.
LABELS: dict[str, tuple[str, str]] = {
    **columns.LABELS,
    "rfm": columns.LABELS["rfm_group"],
    "city_tier": ("城市等级", "city tier"),
    "member": ("会员", "member"),
}

ALIASES = {"r": "r_score", "f": "f_score", "m": "m_score", "rfm": "rfm_group"}

DATE_COLUMNS = columns.DATE_COLUMNS
# Text columns with few distinct values: values are checked against the data and completed.
CATEGORICAL = columns.CATEGORICAL

# Per-user text that is not a category: never listed as values, never typo-checked.
PERSONAL = columns.PERSONAL


@dataclass(frozen=True)
class FieldDef:
    """A field: ``column`` is a whitelisted identifier, in ``features`` or (source 'users') in
    ``users``. type is 'number', 'text' or 'date'; ``written`` is the name the operator typed."""

    written: str
    column: str
    type: str
    source: str
    categorical: bool
    label_zh: str
    label_en: str


def _label(name: str) -> tuple[str, str]:
    return LABELS.get(name, (name, name))


def field_names(conn: sqlite3.Connection) -> list[str]:
    """Every name an operator may write: feature columns, aliases, user attributes."""
    names = list(FEATURE_COLUMNS) + list(ALIASES)
    names += [c for c in user_attribute_columns(conn) if c not in FEATURE_COLUMNS]
    return names


def lookup(conn: sqlite3.Connection, written: str) -> FieldDef | None:
    """The definition of a field as written (case-insensitive), or None when unknown."""
    name = written.lower()
    column = ALIASES.get(name, name)
    zh, en = _label(name if name in LABELS else column)
    if column in FEATURE_COLUMNS:
        declared = columns.BY_NAME[column]
        return FieldDef(name, column, declared.type, "features", declared.categorical, zh, en)
    for col in user_attribute_columns(conn):
        if col.lower() == name:
            # import columns are text; treated as categories (value checks, completion)
            zh, en = _label(col)
            return FieldDef(col, col, "text", "users", col not in PERSONAL, zh, en)
    return None
