"""The global control group: a fixed, seeded share of all users that no strategy and no campaign
ever targets, to measure the programme as a whole (docs/strategies.md, "Global control").

A user is in it when ``control_draw(seed, "global:" + user_id) < pct / 100``: the same users for
the same seed whatever the order they arrive in, and raising the share only adds users. The
members are stored in ``global_control`` (the condition language's ``in global control`` reads
it); users who arrive later are drawn by :func:`ensure_global_control`, which strategy runs,
campaign adds and marks call first.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

from core.errors import CoreError
from core.store.db import get_meta, set_meta, transaction


class GlobalControlError(CoreError):
    title = "Global control"


@dataclass(frozen=True)
class GlobalControl:
    pct: float
    seed: int
    users: int  # members now
    of_users: int  # users drawn


def set_global_control(conn: sqlite3.Connection, pct: float, *, seed: int = 0) -> GlobalControl:
    """Set the share (0 turns it off) and seed, and draw every user again (one transaction)."""
    if not 0 <= pct < 100:
        raise GlobalControlError(
            f"Global control {pct}% is out of range: use 0 up to (not including) 100."
        )
    with transaction(conn):
        set_meta(conn, "global_control_pct", repr(float(pct)))
        set_meta(conn, "global_control_seed", str(int(seed)))
        conn.execute("DELETE FROM global_control")
        _draw(conn, float(pct), int(seed))
    return get_global_control(conn)


def get_global_control(conn: sqlite3.Connection) -> GlobalControl:
    """The current setting and size (pct 0 when none is set)."""
    pct, seed = _setting(conn)
    users = conn.execute("SELECT count(*) FROM global_control").fetchone()[0]
    drawn = int(get_meta(conn, "global_control_drawn") or 0)
    return GlobalControl(pct, seed, users, drawn)


def ensure_global_control(conn: sqlite3.Connection) -> None:
    """Draw the users who arrived since the last draw (no-op when nothing changed). Call
    inside the caller's write transaction."""
    pct, seed = _setting(conn)
    if pct <= 0:
        return
    n_users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
    if str(n_users) != get_meta(conn, "global_control_drawn"):
        _draw(conn, pct, seed)


def in_global_control(conn: sqlite3.Connection, user_ids: list[str]) -> set[str]:
    """Which of ``user_ids`` are in the global control group."""
    found: set[str] = set()
    for i in range(0, len(user_ids), 500):
        chunk = user_ids[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(
            r[0]
            for r in conn.execute(
                f"SELECT user_id FROM global_control WHERE user_id IN ({marks})", chunk
            )
        )
    return found


def control_draw(seed: int, key: str) -> float:
    """A number in [0, 1) fixed by (seed, key): the campaigns' draw
    (core.audience.campaigns.members.control_draw, the same formula, tested equal), here so the
    campaigns can use this module without an import cycle."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _setting(conn: sqlite3.Connection) -> tuple[float, int]:
    return (
        float(get_meta(conn, "global_control_pct") or 0.0),
        int(get_meta(conn, "global_control_seed") or 0),
    )


def _draw(conn: sqlite3.Connection, pct: float, seed: int) -> None:
    # the draw is a pure function of (seed, user id): drawing everyone again is idempotent
    ids = [r[0] for r in conn.execute("SELECT user_id FROM users")]
    members = [(u,) for u in ids if control_draw(seed, f"global:{u}") < pct / 100]
    conn.executemany("INSERT OR IGNORE INTO global_control(user_id) VALUES (?)", members)
    set_meta(conn, "global_control_drawn", str(len(ids)))
