"""Strategies stored: save (validated: the condition compiles), get, list, delete, pause,
resume, and the settings (target-file folder, effect window)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from core.audience.strategies.model import Strategy


def save(conn: sqlite3.Connection, strategy: Strategy, *, as_of: date | None = None) -> Strategy:
    """Create or replace a strategy; its condition is compiled first (a QueryError with the
    column of the mistake when it does not), its fields checked (StrategyError). Replacing
    keeps its runs and its per-user draws; returns it as stored."""
    raise NotImplementedError


def get(conn: sqlite3.Connection, name: str) -> Strategy:
    """The strategy named ``name`` (NotFound with the known names when there is none)."""
    raise NotImplementedError


def list_all(conn: sqlite3.Connection) -> list[Strategy]:
    """Every strategy, highest priority first, then by name."""
    raise NotImplementedError


def delete(conn: sqlite3.Connection, name: str) -> None:
    """Delete a strategy and its per-user state. Its past runs stay as campaigns (their
    targets keep counting for the frequency cap and `targeted within`)."""
    raise NotImplementedError


def pause(conn: sqlite3.Connection, name: str) -> Strategy:
    raise NotImplementedError


def resume(conn: sqlite3.Connection, name: str) -> Strategy:
    raise NotImplementedError


def out_dir(conn: sqlite3.Connection) -> Path:
    """Where run target files go: the stored setting, else ``<db name>-targets`` beside the
    database file."""
    raise NotImplementedError


def set_out_dir(conn: sqlite3.Connection, path: str | Path) -> Path:
    raise NotImplementedError


def window_days(conn: sqlite3.Connection) -> int:
    """The effect window after each run, in days (setting; default 7)."""
    raise NotImplementedError


def set_window_days(conn: sqlite3.Connection, days: int) -> int:
    raise NotImplementedError
