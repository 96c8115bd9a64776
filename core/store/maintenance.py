"""Keeping the file sound: SQLite's integrity check, and an online backup (docs/reliability.md,
"Faults")."""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path

from core.errors import DatabaseError
from core.store.db import BUSY_TIMEOUT_MS, describe_fault, read_only_uri
from core.store.sql import quote

MAX_PROBLEMS = 100  # integrity_check stops listing after this many


@dataclass(frozen=True)
class CheckResult:
    pragma: str  # integrity_check or quick_check
    problems: list[str]  # SQLite's own lines; empty when sound
    pages: int

    @property
    def ok(self) -> bool:
        return not self.problems


def _open_read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise DatabaseError(f"{path}: no such file")
    if path.is_dir():
        raise DatabaseError(f"{path}: is a directory, not a database file")
    conn = sqlite3.connect(read_only_uri(path), uri=True, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


_NULL_LINE = re.compile(r"NULL value in ([^.]+)\.(.+)")


def _real_problems(conn: sqlite3.Connection, rows: list[str]) -> list[str]:
    """SQLite's lines, less the false ones: quick_check in SQLite 3.40 reports "NULL value in
    T.C" for WITHOUT ROWID tables whose key is not in column order (user_tags) when there is
    none; such a line is kept only when a NULL is really there."""
    if rows == ["ok"]:
        return []
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    kept, checked = [], {}
    for line in rows:
        found = _NULL_LINE.fullmatch(line)
        if found and found.group(1) in tables:
            table, column = found.groups()
            if (table, column) not in checked:
                sql = f"SELECT count(*) FROM {quote(table)} WHERE {quote(column)} IS NULL"
                checked[table, column] = conn.execute(sql).fetchone()[0] > 0
            if not checked[table, column]:
                continue
        kept.append(line)
    return kept


def check(path: str | Path, *, quick: bool = False) -> CheckResult:
    """Run ``PRAGMA integrity_check`` (or ``quick_check``) on the file, read-only. A file that
    is not a database at all, or whose first page is damaged, raises DatabaseError."""
    p = Path(path)
    pragma = "quick_check" if quick else "integrity_check"
    try:
        with closing(_open_read_only(p)) as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            rows = _real_problems(
                conn, [r[0] for r in conn.execute(f"PRAGMA {pragma}({MAX_PROBLEMS})")]
            )
    except sqlite3.DatabaseError as exc:
        if "malformed" in str(exc) or "corrupt" in str(exc):
            return CheckResult(pragma, [str(exc)], 0)
        raise DatabaseError(describe_fault(p, exc)) from exc
    return CheckResult(pragma, [] if rows == ["ok"] else rows, pages)


def backup(source: str | Path, target: str | Path, *, overwrite: bool = False) -> int:
    """Copy ``source`` to ``target`` with SQLite's online backup API, in one step: a consistent
    copy of the last committed state, taken under a read transaction (in WAL mode, writers go
    on meanwhile). The copy is written beside ``target``, checked (quick_check) and renamed into
    place, so ``target`` is whole or untouched. Returns the number of pages copied."""
    src_path, dst = Path(source), Path(target)
    if dst.exists() and not overwrite:
        raise DatabaseError(f"{dst}: exists already; pass --force to replace it")
    if dst.resolve() == src_path.resolve():
        raise DatabaseError(f"{dst}: is the database itself")
    folder = dst.parent if str(dst.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{dst.name}.", suffix=".part")
    except OSError as exc:
        raise DatabaseError(f"cannot write {dst}: {exc.strerror}") from exc
    os.close(fd)
    temp = Path(name)
    try:
        with closing(_open_read_only(src_path)) as src, closing(sqlite3.connect(temp)) as out:
            src.backup(out, pages=-1)
            pages = out.execute("PRAGMA page_count").fetchone()[0]
            problems = _real_problems(out, [r[0] for r in out.execute("PRAGMA quick_check(5)")])
            verdict = "; ".join(problems) or "ok"
        if verdict != "ok":
            raise DatabaseError(f"{src_path}: the copy is not sound ({verdict}): run userops check")
        os.replace(temp, dst)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(describe_fault(src_path, exc)) from exc
    except OSError as exc:
        raise DatabaseError(f"cannot write {dst}: {exc.strerror or exc}") from exc
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with suppress(OSError):
                Path(f"{temp}{suffix}").unlink()
    return pages
