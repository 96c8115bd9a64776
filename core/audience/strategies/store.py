"""Strategies stored: save (validated: the condition compiles), get, list, delete, pause,
resume, and the settings (target-file folder, effect window)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from core.analytics.rfm import GROUPS_BY_KEY
from core.audience.strategies.model import (
    DEFAULT_WINDOW_DAYS,
    Schedule,
    Strategy,
    StrategyError,
    Variant,
    check,
)
from core.errors import NotFound
from core.query import compile_condition
from core.store.db import get_meta, set_meta, stored_as_of, transaction
from core.store.engines import engine_of

_COLUMNS = (
    "name, condition, mode, channel, offer, offers_by, offers, variants, holdout_pct, seed,"
    " cooldown_days, max_per_run, priority, schedule, status, include_contact, created_at,"
    " updated_at"
)


def save(conn: sqlite3.Connection, strategy: Strategy, *, as_of: date | None = None) -> Strategy:
    """Create or replace a strategy; its condition is compiled first (a QueryError with the
    column of the mistake when it does not), its fields checked (StrategyError). Replacing
    keeps its runs and its per-user draws; returns it as stored."""
    strategy = check(strategy)
    compile_condition(conn, strategy.condition, as_of=as_of or _as_of(conn))
    _check_offers(conn, strategy)
    now = _now()
    with transaction(conn):
        old = _find(conn, strategy.name)
        created = old.created_at if old else now
        conn.execute(
            f"INSERT OR REPLACE INTO strategies({_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                strategy.name,
                strategy.condition,
                strategy.mode,
                strategy.channel,
                strategy.offer,
                strategy.offers_by,
                json.dumps(strategy.offers, ensure_ascii=False, sort_keys=True),
                json.dumps([[v.channel, v.offer] for v in strategy.variants], ensure_ascii=False),
                float(strategy.holdout_pct),
                int(strategy.seed),
                int(strategy.cooldown_days),
                strategy.max_per_run,
                int(strategy.priority),
                strategy.schedule.text,
                strategy.status,
                int(strategy.include_contact),
                created,
                now,
            ),
        )
        if old is not None and (old.seed, old.holdout_pct, len(old.arms)) != (
            strategy.seed,
            strategy.holdout_pct,
            len(strategy.arms),
        ):
            # a new split: the stored draws no longer follow it (past runs keep their members)
            conn.execute("DELETE FROM strategy_draws WHERE strategy = ?", (strategy.name,))
    return get(conn, strategy.name)


def get(conn: sqlite3.Connection, name: str) -> Strategy:
    """The strategy named ``name`` (NotFound with the known names when there is none)."""
    found = _find(conn, name)
    if found is None:
        known = [r[0] for r in conn.execute("SELECT name FROM strategies ORDER BY name LIMIT 20")]
        hint = f" Known: {', '.join(known)}." if known else " There are no strategies yet."
        raise NotFound(f"No strategy named {name!r}.{hint}")
    return found


def list_all(conn: sqlite3.Connection) -> list[Strategy]:
    """Every strategy, highest priority first, then by name."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM strategies ORDER BY priority DESC, name")
    return [_strategy(r) for r in rows.fetchall()]


def delete(conn: sqlite3.Connection, name: str) -> None:
    """Delete a strategy and its per-user state. Its past runs stay as campaigns (their
    targets keep counting for the frequency cap and `targeted within`)."""
    with transaction(conn):
        get(conn, name)
        conn.execute("DELETE FROM strategies WHERE name = ?", (name,))
        conn.execute("DELETE FROM strategy_draws WHERE strategy = ?", (name,))
        conn.execute("DELETE FROM strategy_matches WHERE strategy = ?", (name,))
        conn.execute(
            "DELETE FROM strategy_targets WHERE run_id IN"
            " (SELECT id FROM strategy_runs WHERE strategy = ?)",
            (name,),
        )
        conn.execute("DELETE FROM strategy_runs WHERE strategy = ?", (name,))


def pause(conn: sqlite3.Connection, name: str) -> Strategy:
    return _set_status(conn, name, "paused")


def resume(conn: sqlite3.Connection, name: str) -> Strategy:
    return _set_status(conn, name, "active")


def out_dir(conn: sqlite3.Connection) -> Path:
    """Where run target files go: the stored setting, else ``<db name>-targets`` beside the
    database file."""
    stored = get_meta(conn, "strategy_out_dir")
    if stored:
        return Path(stored)
    if engine_of(conn) == "duckdb":  # its adapter knows its file (DuckDB names it by its stem)
        db = Path(conn.path).resolve()  # type: ignore[attr-defined]
        return db.with_name(f"{db.stem}-targets")
    row = conn.execute("SELECT file FROM pragma_database_list WHERE name = 'main'").fetchone()
    db = Path(row[0]) if row and row[0] else Path("userops.db").resolve()
    return db.with_name(f"{db.stem}-targets")


def set_out_dir(conn: sqlite3.Connection, path: str | Path) -> Path:
    folder = Path(path).expanduser()
    if not str(path).strip():
        raise StrategyError("The target-file folder is empty.")
    if folder.exists() and not folder.is_dir():
        raise StrategyError(f"{folder} is a file, not a folder: target files need a folder.")
    with transaction(conn):
        set_meta(conn, "strategy_out_dir", str(folder.resolve()))
    return out_dir(conn)


def window_days(conn: sqlite3.Connection) -> int:
    """The effect window after each run, in days (setting; default 7)."""
    stored = get_meta(conn, "strategy_window_days")
    return int(stored) if stored else DEFAULT_WINDOW_DAYS


def set_window_days(conn: sqlite3.Connection, days: int) -> int:
    if days < 1:
        raise StrategyError(f"The effect window must be at least 1 day (got {days}).")
    with transaction(conn):
        set_meta(conn, "strategy_window_days", str(int(days)))
    return window_days(conn)


# --- helpers ------------------------------------------------------------------------------


def _as_of(conn: sqlite3.Connection) -> date:
    found = stored_as_of(conn)
    if found is None:
        raise StrategyError("The database has no as-of date yet: import data and refresh first.")
    return found


def _check_offers(conn: sqlite3.Connection, strategy: Strategy) -> None:
    if strategy.offers_by == "rfm":
        known = set(GROUPS_BY_KEY)
    elif strategy.offers_by == "layer":
        known = {r[0] for r in conn.execute("SELECT key FROM layer_rules")} | {"unclassified"}
    else:
        return
    bad = sorted(set(strategy.offers) - known)
    if bad:
        raise StrategyError(
            f"Offers by {strategy.offers_by}: unknown group {bad[0]!r}; known: "
            f"{', '.join(sorted(known))}."
        )


def _set_status(conn: sqlite3.Connection, name: str, status: str) -> Strategy:
    with transaction(conn):
        get(conn, name)
        conn.execute(
            "UPDATE strategies SET status = ?, updated_at = ? WHERE name = ?",
            (status, _now(), name),
        )
    return get(conn, name)


def _find(conn: sqlite3.Connection, name: str) -> Strategy | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM strategies WHERE name = ?", (name,)).fetchone()
    return None if row is None else _strategy(row)


def _strategy(row: Sequence[Any]) -> Strategy:
    return Strategy(
        name=row[0],
        condition=row[1],
        mode=row[2],
        channel=row[3],
        offer=row[4],
        offers_by=row[5],
        offers=dict(json.loads(row[6] or "{}")),
        variants=tuple(Variant(c, o) for c, o in json.loads(row[7] or "[]")),
        holdout_pct=float(row[8]),
        seed=int(row[9]),
        cooldown_days=int(row[10]),
        max_per_run=row[11],
        priority=int(row[12]),
        schedule=Schedule.parse(row[13]),
        status=row[14],
        include_contact=bool(row[15]),
        created_at=row[16],
        updated_at=row[17],
    )


def _now() -> str:
    # a record-keeping timestamp, not an input to any result
    return datetime.now().isoformat(sep=" ", timespec="seconds")
