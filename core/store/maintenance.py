"""Keeping the file sound: SQLite's integrity check, and an online backup (docs/reliability.md,
"Faults")."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
from contextlib import closing, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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


def _backup_temp(src_path: Path, dst: Path, overwrite: bool) -> Path:
    """A backup's checks of its target, then the empty file beside it it is written to (renamed
    into place once checked, so ``dst`` is whole or untouched)."""
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
    return Path(name)


def backup(source: str | Path, target: str | Path, *, overwrite: bool = False) -> int:
    """Copy ``source`` to ``target`` with SQLite's online backup API, in one step: a consistent
    copy of the last committed state, taken under a read transaction (in WAL mode, writers go
    on meanwhile). The copy is written beside ``target``, checked (quick_check) and renamed into
    place, so ``target`` is whole or untouched. Returns the number of pages copied."""
    src_path, dst = Path(source), Path(target)
    temp = _backup_temp(src_path, dst, overwrite)
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


# -- DuckDB (docs/engines.md, "check and backup") ------------------------------------------
#
# DuckDB has no integrity_check: every block it reads is verified against the checksum stored
# with it, so the check reads every column of every table (a hash of each row), and makes in
# the same scan the checks SQLite's integrity_check makes on the data: NOT NULL and the schema's
# CHECK constraints (which DuckDB's tables do not carry); then, unless quick, that no two rows
# share a primary key or a UNIQUE key (SQLite's index contents). Before that: the meta and its
# schema version, and every table and column of the schema there.

_CHECK = re.compile(r"\bCHECK\s*\(", re.I)


def _check_clauses(sql: str) -> list[str]:
    """The expressions of a CREATE TABLE's CHECK constraints (parentheses balanced, quoted text
    skipped)."""
    found = []
    for match in _CHECK.finditer(sql):
        depth, at, quote_char = 1, match.end(), ""
        while at < len(sql) and depth:
            ch = sql[at]
            if quote_char:
                quote_char = "" if ch == quote_char else quote_char
            elif ch in "'\"":
                quote_char = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            at += 1
        found.append(sql[match.end() : at - 1].strip())
    return found


@cache
def schema_checks() -> dict[str, tuple[str, ...]]:
    """Table -> the CHECK expressions of the schema's SQLite DDL (core.store.schema)."""
    from core.store.schema import ensure_schema

    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        ensure_schema(mem)
        rows = mem.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        mem.close()
    return {name: tuple(_check_clauses(sql)) for name, sql in rows if _check_clauses(sql or "")}


def _duck_fault(p: Path, exc: Exception) -> DatabaseError:
    """The one line for a DuckDB file that cannot be opened: locked, or not DuckDB."""
    from core.store.logical import first_line

    text = first_line(exc)
    if "lock" in text.lower():
        return DatabaseError(
            f"{p}: locked by another process (DuckDB lets one process write a file, or several "
            f"read it); try again when it is done ({text})"
        )
    if "permission" in text.lower():
        return DatabaseError(f"{p}: permission denied (the file or its folder) ({text})")
    if "read-only" in text.lower():
        return DatabaseError(f"{p}: read-only (the file or its folder cannot be written) ({text})")
    return DatabaseError(f"{p}: not a DuckDB database ({text})")


def _duck_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise DatabaseError(f"{p}: no such file")
    if p.is_dir():
        raise DatabaseError(f"{p}: is a directory, not a database file")
    return p


def check_duckdb(
    path: str | Path, *, quick: bool = False, config: dict[str, str] | None = None
) -> CheckResult:
    """The DuckDB check (above), read-only. A file that is not DuckDB, or that another process
    writes, raises DatabaseError; a damaged one gives its problems (DuckDB's own lines).
    ``config``: DuckDB settings (a bench's memory_limit and threads)."""
    import duckdb

    p = _duck_path(path)
    label = "DuckDB quick check" if quick else "DuckDB check"
    try:
        conn = duckdb.connect(str(p), read_only=True, config=dict(config or {}))
    except duckdb.Error as exc:
        if "Corrupt" in str(exc):
            return CheckResult(label, [_first(exc)], 0)
        raise _duck_fault(p, exc) from exc
    try:
        size = conn.execute("SELECT total_blocks FROM pragma_database_size()").fetchone()
        blocks = int(size[0]) if size else 0
        problems = _duck_problems(conn, quick)
    finally:
        conn.close()
    return CheckResult(label, problems[:MAX_PROBLEMS], blocks)


def _first(exc: BaseException) -> str:
    from core.store.logical import first_line

    return first_line(exc)


def _duck_problems(conn: Any, quick: bool) -> list[str]:
    import duckdb

    from core.store.logical import logical_tables
    from core.store.schema import SCHEMA_VERSION

    def rows(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    problems: list[str] = []
    present = {
        name: [
            c
            for (c,) in rows(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "AND table_schema = 'main' ORDER BY ordinal_position",
                (name,),
            )
        ]
        for (name,) in rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "ORDER BY table_name"
        )
    }
    if "meta" not in present:
        return ["no meta table: not a userops database"]
    try:
        found = rows("SELECT value FROM meta WHERE key = 'schema_version'")
    except duckdb.Error as exc:
        return [f"meta: {_first(exc)}"]
    version = str(found[0][0]) if found else None
    if version is None:
        problems.append("meta.schema_version is missing")
    elif not version.isdigit():
        problems.append(f"meta.schema_version is {version!r}, not a number")
    elif int(version) > SCHEMA_VERSION:
        problems.append(
            f"meta.schema_version is {version}: newer than this userops understands "
            f"({SCHEMA_VERSION})"
        )
    current = version is not None and version.isdigit() and int(version) == SCHEMA_VERSION
    tables = {t.name: t for t in logical_tables()} if current else {}
    for name, shape in tables.items():  # an older schema is upgraded when opened: not checked
        if name not in present:
            problems.append(f"table {name} is missing")
            continue
        for col in shape.columns:
            if col.name not in present[name]:
                problems.append(f"column {name}.{col.name} is missing")
    checks = schema_checks()
    for name, columns in present.items():
        table = tables.get(name)
        if not columns:
            continue
        exprs = [f"hash({', '.join(quote(c) for c in columns)})"]
        tests: list[tuple[str, str]] = []
        if table is not None:
            tests += [
                (f"NULL value in {name}.{c.name}", f"{quote(c.name)} IS NULL")
                for c in table.columns
                if c.not_null and c.name in columns
            ]
            tests += [
                (f"CHECK constraint failed in {name}: {e}", f"NOT ({e})")
                for e in checks.get(name, ())
            ]
        exprs += [f"count(*) FILTER (WHERE {cond})" for _, cond in tests]
        try:
            (counts,) = rows(
                f"SELECT count(*), sum({exprs[0]}), {', '.join(exprs[1:]) or '0'} "
                f"FROM {quote(name)}"
            )
        except duckdb.Error as exc:  # a block whose checksum is wrong, a read error
            problems.append(f"table {name}: {_first(exc)}")
            continue
        for (line, _), n in zip(tests, counts[2:], strict=False):
            if n:
                problems.append(f"{line} ({n:,} rows)")
        if quick or table is None:
            continue
        for key in (table.primary_key, *table.unique):
            if not key or any(c not in columns for c in key):
                continue
            cols = ", ".join(quote(c) for c in key)
            try:
                (dups,) = rows(
                    f"SELECT count(*) FROM (SELECT 1 FROM {quote(name)} GROUP BY {cols} "
                    "HAVING count(*) > 1)"
                )[0]
            except duckdb.Error as exc:
                problems.append(f"table {name}: {_first(exc)}")
                break
            if dups:
                problems.append(
                    f"{dups:,} keys of {name} ({', '.join(key)}) are on more than one row"
                )
    return problems


def backup_duckdb(
    source: str | Path,
    target: str | Path,
    *,
    overwrite: bool = False,
    config: dict[str, str] | None = None,
    rewrite: bool = False,
) -> int:
    """A consistent copy of the DuckDB file ``source`` in ``target`` (a DuckDB file, opened as
    any other), beside it first and renamed into place once checked (the quick check), so
    ``target`` is whole or untouched. The source is held read-only throughout (DuckDB's shared
    lock: no process can write it meanwhile; readers, the app, go on): a checkpointed file (no
    ``.wal``) is copied as it is, byte for byte. A write-ahead log left by a process that did
    not close the file is folded in first by a checkpoint when nobody has it open; when others
    read it meanwhile, the file is rewritten from what DuckDB reads (COPY FROM DATABASE: the log
    folded in; ``rewrite`` takes that way for any file: the bench's comparison). ``config``:
    DuckDB settings (a bench's memory_limit and threads). Returns the copy's blocks."""
    import duckdb

    src_path, dst = _duck_path(source), Path(target)
    temp = _backup_temp(src_path, dst, overwrite)
    if Path(f"{src_path}.wal").exists() and not rewrite:
        # a log a writer left: folded in by a checkpoint when nobody has the file open (what
        # any writer's close does: the same contents), so the byte copy below applies
        with suppress(duckdb.Error):
            writer = duckdb.connect(str(src_path), config=dict(config or {}))
            try:
                writer.execute("CHECKPOINT")
            finally:
                writer.close()
    try:
        holder = duckdb.connect(
            config=dict(config or {})
        )  # in memory; the source attached read-only holds its lock
        try:
            holder.execute(f"ATTACH {_literal(src_path)} AS src (READ_ONLY)")
        except duckdb.Error as exc:
            holder.close()
            if "Corrupt" in str(exc):
                raise DatabaseError(
                    f"{src_path}: the database is damaged ({_first(exc)}); `userops check` says where"
                ) from exc
            raise _duck_fault(src_path, exc) from exc
        try:
            if rewrite or Path(f"{src_path}.wal").exists():
                temp.unlink()
                holder.execute(f"ATTACH {_literal(temp)} AS dst")
                holder.execute("COPY FROM DATABASE src TO dst")
                holder.execute("DETACH dst")
            else:
                shutil.copyfile(src_path, temp)
        except duckdb.Error as exc:
            raise DatabaseError(f"{src_path}: cannot copy it ({_first(exc)})") from exc
        finally:
            holder.close()
        result = check_duckdb(temp, quick=True, config=config)
        if not result.ok:
            verdict = "; ".join(result.problems[:5])
            raise DatabaseError(f"{src_path}: the copy is not sound ({verdict}): run userops check")
        os.replace(temp, dst)
    except OSError as exc:
        raise DatabaseError(f"cannot write {dst}: {exc.strerror or exc}") from exc
    finally:
        for leftover in (temp, Path(f"{temp}.wal")):
            with suppress(OSError):
                leftover.unlink()
    return result.pages


def _literal(path: Path) -> str:
    """A path as a SQL string literal (ATTACH takes no bound parameter)."""
    return "'" + str(path).replace("'", "''") + "'"
