"""Shared fixtures. Tests that write use a fresh database under tmp_path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.store.db import open_db


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of a new, empty userops database (schema created)."""
    path = tmp_path / "test.db"
    open_db(path, create=True).close()
    return path


@pytest.fixture
def conn(db_path: Path) -> sqlite3.Connection:
    c = open_db(db_path)
    yield c
    c.close()
