"""Compilation state shared by the compiler modules: bound parameters, dates, suggestions."""

from __future__ import annotations

import difflib
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from core.errors import QueryError
from core.query.ast import Value
from core.store.engines import Dialect, dialect_of


@dataclass(frozen=True)
class Part:
    """A compiled piece: SQL boolean, its zh/en sentence, and how tightly it binds
    ('atom', 'and', 'or') so sentences get parentheses only where needed."""

    sql: str
    zh: str
    en: str
    binds: str = "atom"


@dataclass
class Ctx:
    conn: sqlite3.Connection
    as_of: date
    params: dict[str, object] = field(default_factory=dict)
    segments: tuple[str, ...] = ()  # saved segments being expanded, to catch recursion
    # read behaviour windows from the columns the recompute stored (core/query/windows.py)
    materialised: bool = True
    features_as_of: str | None = None  # meta features_as_of, read once per compilation
    # starts every parameter name (``r0_`` gives :r0_p0, :r0_p1 …), so conditions compiled with
    # different prefixes can share one statement: names are unique by construction
    prefix: str = ""

    # the engine's spelling of parameters and of the few functions that differ (core.store.engines)
    dialect: Dialect = field(init=False)

    def __post_init__(self) -> None:
        if self.prefix and not self.prefix.isidentifier():
            raise ValueError(f"parameter prefix {self.prefix!r} is not a name")
        self.dialect = dialect_of(self.conn)

    # distinct values of a categorical column, read once per compilation (a 1,000-value in list
    # checks each value against one read, not 1,000)
    seen: dict[str, list[str]] = field(default_factory=dict)

    def bind(self, value: object) -> str:
        """A new named parameter for ``value``; the SQL text only ever holds its name."""
        name = f"{self.prefix}p{len(self.params)}"
        self.params[name] = value
        return self.dialect.param(name)

    def day(self, d: date) -> str:
        return self.bind(d.isoformat())

    def window_start(self, duration: Value) -> date:
        """First day of the window 'Nd' ending on as_of, both ends included (30d: D-29 .. D)."""
        return shift_back(self.as_of, duration) + timedelta(days=1)

    def point(self, v: Value) -> date:
        """A range end: a date, or a relative date counted back from as_of (-30d: D-30)."""
        return v.value if v.kind == "date" else shift_back(self.as_of, v)  # type: ignore[return-value]

    def window_range(self, window: Value | None) -> tuple[date | None, date]:
        """First and last day (both included) of a window: Nd ends on as_of; A..B is the range
        of days A to B, its end cut at as_of (nothing after D is known). None: no start."""
        if window is None:
            return None, self.as_of
        if window.kind != "range":
            return self.window_start(window), self.as_of
        start_v, end_v = cast(tuple[Any, Any], window.value)
        start, end = self.point(start_v), self.point(end_v)
        if start > end:
            raise QueryError(
                f"The range {window.raw} at column {window.pos + 1} ends before it starts",
                pos=window.pos,
                expected=["a range from the earlier day to the later (-59d..-30d)"],
            )
        return start, min(end, self.as_of)

    def end(self) -> str:
        """Bound parameter for the exclusive end of as_of: everything before D + 1 day counts."""
        return self.day(self.as_of + timedelta(days=1))


def shift_back(d: date, amount: Value) -> date:
    """d minus a duration like 30d, 2w, 6m (calendar months) or 1y."""
    n, unit = cast("tuple[int, str]", amount.value)  # reldate/duration: (n, unit)
    if unit == "d":
        return d - timedelta(days=n)
    if unit == "w":
        return d - timedelta(weeks=n)
    months = n * (12 if unit == "y" else 1)
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    if y < 1:
        raise QueryError(f"{amount.raw} reaches before year 1", pos=amount.pos)
    last_day = (date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m + 1, min(d.day, last_day))


def closest(word: str, candidates: list[str], cutoff: float = 0.5) -> str | None:
    """The nearest candidate for a typo (difflib), or None."""
    got = difflib.get_close_matches(word, [c for c in candidates if c], n=1, cutoff=cutoff)
    return got[0] if got else None


def did_you_mean(guess: str | None, quote: str = "'") -> str:
    return f"; did you mean {quote}{guess}{quote}?" if guess else ""


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None
