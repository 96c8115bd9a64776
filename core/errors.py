"""Errors that core raises. The UI shows ``title`` and ``str(err)``, never a traceback."""

from __future__ import annotations


class CoreError(Exception):
    """Base of every error the operator should read. ``title`` is a short headline."""

    title = "Error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class DatabaseError(CoreError):
    """The file is missing, not SQLite, has a foreign schema, is locked or read-only."""

    title = "Database problem"


class InputError(CoreError):
    """Bad input file. Message names file, line and column."""

    title = "Import failed"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        where = []
        if file:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if column:
            where.append(f"column {column!r}")
        full = f"{': '.join([', '.join(where)]) + ': ' if where else ''}{message}"
        super().__init__(full)
        self.file, self.line, self.column = file, line, column


class QueryError(CoreError):
    """A condition in the segment language is wrong at ``pos`` (0-based character offset)."""

    title = "Invalid condition"

    def __init__(
        self,
        message: str,
        *,
        pos: int = 0,
        expected: list[str] | None = None,
        suggestion: str | None = None,
    ) -> None:
        super().__init__(message)
        self.pos = pos
        self.expected = expected or []
        self.suggestion = suggestion

    @property
    def column(self) -> int:
        """1-based column, as operators count."""
        return self.pos + 1


class NotFound(CoreError):
    title = "Not found"


class ModelFitError(CoreError):
    """A predictive model could not be fitted (too few repeat buyers, degenerate data)."""

    title = "Model not fitted"


class LockedError(CoreError):
    """A campaign that was sent cannot change its lists until explicitly unlocked."""

    title = "Campaign locked"
