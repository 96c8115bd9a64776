"""Campaign members keyed by user id: add from a segment with a seeded control group and a
frequency cap, mark / unmark targets, undo the last change. Each change is one transaction
together with its audit row."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from core.audience.campaigns.records import (
    AuditEntry,
    CampaignError,
    check_unlocked,
    data_date,
    log_change,
    log_json,
    stamp,
)
from core.audience.global_control import ensure_global_control
from core.errors import NotFound
from core.query.behaviour import TARGETED_ON
from core.store.db import transaction

_CHUNK = 500  # user ids per IN (...) list, well under SQLite's variable limit


class Condition(Protocol):
    """What core.audience.segments.condition_for returns: a WHERE over ``features AS f``, named params."""

    @property
    def text(self) -> str: ...
    @property
    def where(self) -> str: ...
    @property
    def params(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AddReport:
    candidates: int
    added_targets: int
    added_control: int
    excluded_already_in: int
    excluded_recently_targeted: int
    excluded_global_control: int = 0  # never targeted: the global control group


@dataclass(frozen=True)
class MarkResult:
    changed: tuple[str, ...]  # users whose membership changed
    unchanged: tuple[str, ...]  # already marked (mark) or not marked (unmark)


# --- members ----------------------------------------------------------------------------


def control_draw(seed: int, user_id: str) -> float:
    """A number in [0, 1) fixed by (seed, user_id): the same user always lands in the same group,
    whatever the order of the users or who else is added."""
    digest = hashlib.sha256(f"{seed}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def check_holdout(holdout_pct: float) -> None:
    """Refuse a control-group share outside 0 ≤ pct < 100 (forms check it before submitting)."""
    if not 0 <= holdout_pct < 100:
        raise CampaignError(
            f"Holdout {holdout_pct}% is out of range: use 0 up to (not including) 100."
        )


def add_from_segment(
    conn: sqlite3.Connection,
    campaign: str,
    compiled: Condition,
    *,
    holdout_pct: float = 10.0,
    seed: int = 0,
    exclude_targeted_within_days: int | None = None,
    as_of: date,
    who: str,
    source: str = "",
    at: datetime | None = None,
) -> AddReport:
    """Add the members of a condition: a seeded ``holdout_pct`` % become control, the rest targets.

    Excluded: users in the global control group (core.audience.global_control), users
    already in this campaign, and (frequency cap) users who are a *target* of any
    other campaign targeted on a day ≥ as_of − (N − 1), i.e. in the N calendar days ending on the
    as-of date or later. A campaign is "targeted on" its start date, else the day the user was added.
    """
    check_holdout(holdout_pct)
    if exclude_targeted_within_days is not None and exclude_targeted_within_days < 1:
        raise CampaignError("--exclude-targeted-within must be at least 1 day.")
    with transaction(conn):
        check_unlocked(conn, campaign)
        held = _global_control(conn)
        rows = _candidates(conn, campaign, compiled, as_of, exclude_targeted_within_days)
        n_held = sum(1 for uid, _, _ in rows if uid in held)
        rows = [r for r in rows if r[0] not in held]
        fresh = [uid for uid, already, recent in rows if not already and not recent]
        members = [
            (uid, "control" if control_draw(seed, uid) < holdout_pct / 100 else "target")
            for uid in fresh
        ]
        _insert(conn, campaign, members, at, source or compiled.text, as_of)
        text = f"segment {source or compiled.text!r}, holdout {holdout_pct}%, seed {seed}"
        if exclude_targeted_within_days:
            text += f", excluding targeted within {exclude_targeted_within_days} days of {as_of}"
        log_change(conn, campaign, who, at, "add", text, members)
    n_control = sum(1 for _, role in members if role == "control")
    return AddReport(
        candidates=len(rows) + n_held,
        added_targets=len(members) - n_control,
        added_control=n_control,
        excluded_already_in=sum(1 for _, already, _ in rows if already),
        excluded_recently_targeted=sum(1 for _, already, recent in rows if recent and not already),
        excluded_global_control=n_held,
    )


def _global_control(conn: sqlite3.Connection) -> set[str]:
    """The global control group, brought up to date with new users first (inside the caller's
    transaction): no campaign ever targets it."""
    ensure_global_control(conn)
    return {r[0] for r in conn.execute("SELECT user_id FROM global_control")}


def _candidates(
    conn: sqlite3.Connection,
    campaign: str,
    compiled: Condition,
    as_of: date,
    within_days: int | None,
) -> list[tuple[str, int, int]]:
    since = (as_of - timedelta(days=within_days - 1)).isoformat() if within_days else None
    # the same test as `targeted within Nd` (core.query.behaviour.TARGETED_ON): one answer
    sql = (
        "SELECT f.user_id,"
        " EXISTS (SELECT 1 FROM campaign_members m"
        "         WHERE m.campaign = :_cmp_name AND m.user_id = f.user_id),"
        " :_cmp_since IS NOT NULL AND EXISTS (SELECT 1 FROM campaign_members m"
        "         JOIN campaigns c ON c.name = m.campaign"
        "         WHERE m.user_id = f.user_id AND m.role = 'target' AND m.campaign <> :_cmp_name"
        f"           AND {TARGETED_ON} >= :_cmp_since)"
        f" FROM features AS f WHERE ({compiled.where}) ORDER BY f.user_id"
    )
    params = {**compiled.params, "_cmp_name": campaign, "_cmp_since": since}
    return [(r[0], r[1], r[2]) for r in conn.execute(sql, params)]


def mark(
    conn: sqlite3.Connection,
    campaign: str,
    user_ids: Iterable[str],
    *,
    who: str,
    source: str = "key",
    at: datetime | None = None,
    as_of: date | None = None,
) -> MarkResult:
    """Make users targets (idempotent). Unknown ids or control-group users: nothing is written.
    They are added on ``as_of``, by default the database's as-of date (the data's "today")."""
    ids = _unique(user_ids)
    with transaction(conn):
        check_unlocked(conn, campaign)
        _check_known(conn, ids)
        roles = _roles(conn, campaign, ids)
        _refuse_control(campaign, roles, "mark")
        _refuse_global_control(conn, campaign, ids)
        new = [(uid, "target") for uid in ids if uid not in roles]
        _insert(conn, campaign, new, at, source, as_of)
        if new:
            log_change(conn, campaign, who, at, "mark", source, new)
    return MarkResult(tuple(u for u, _ in new), tuple(u for u in ids if u in roles))


def unmark(
    conn: sqlite3.Connection,
    campaign: str,
    user_ids: Iterable[str],
    *,
    who: str,
    source: str = "key",
    at: datetime | None = None,
) -> MarkResult:
    """Remove target marks (idempotent). The control group is not touched: asking for it is an error."""
    ids = _unique(user_ids)
    with transaction(conn):
        check_unlocked(conn, campaign)
        _check_known(conn, ids)
        roles = _roles(conn, campaign, ids)
        _refuse_control(campaign, roles, "unmark")
        gone = [(uid, "target") for uid in ids if uid in roles]
        _delete(conn, campaign, gone)
        if gone:
            log_change(conn, campaign, who, at, "unmark", source, gone)
    return MarkResult(tuple(u for u, _ in gone), tuple(u for u in ids if u not in roles))


def undo_last(
    conn: sqlite3.Connection, campaign: str, who: str, *, at: datetime | None = None
) -> AuditEntry:
    """Revert the latest add/mark/unmark not yet undone (repeat to step further back).
    Returns the audit entry that was undone."""
    with transaction(conn):
        check_unlocked(conn, campaign)
        entry, members = _last_undoable(conn, campaign)
        if entry.action == "unmark":
            _insert(conn, campaign, members, at, "undo")
        else:
            _delete(conn, campaign, members)
        detail = {"text": f"undo {entry.action} #{entry.id}", "undoes": entry.id, "users": members}
        log_json(conn, campaign, who, at, "undo", detail, len(members))
    return entry


def _last_undoable(
    conn: sqlite3.Connection, campaign: str
) -> tuple[AuditEntry, list[tuple[str, str]]]:
    undone = {
        json.loads(d).get("undoes")
        for (d,) in conn.execute(
            "SELECT detail FROM campaign_audit WHERE campaign = ? AND action = 'undo'", (campaign,)
        )
    }
    rows = conn.execute(
        'SELECT id, "at", who, action, detail, n_users FROM campaign_audit'
        " WHERE campaign = ? AND action IN ('add', 'mark', 'unmark') ORDER BY id DESC",
        (campaign,),
    )
    for row in rows:
        if row[0] not in undone:
            detail = json.loads(row[4])
            entry = AuditEntry(row[0], row[1], row[2], row[3], detail.get("text", ""), row[5])
            return entry, [(uid, role) for uid, role in detail.get("users", [])]
    raise NotFound(f"Campaign {campaign!r}: nothing to undo.")


def _unique(user_ids: Iterable[str]) -> list[str]:
    ids = list(dict.fromkeys(str(u).strip() for u in user_ids if str(u).strip()))
    if not ids:
        raise CampaignError("No user ids given.")
    return ids


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _check_known(conn: sqlite3.Connection, ids: Sequence[str]) -> None:
    known: set[str] = set()
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        known.update(
            r[0]
            for r in conn.execute(f"SELECT user_id FROM users WHERE user_id IN ({marks})", chunk)
        )
    unknown = [u for u in ids if u not in known]
    if unknown:
        shown = ", ".join(unknown[:20]) + (
            f" (and {len(unknown) - 20} more)" if len(unknown) > 20 else ""
        )
        raise NotFound(f"Unknown user id(s): {shown}. Nothing was changed.")


def _roles(conn: sqlite3.Connection, campaign: str, ids: Sequence[str]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        roles.update(
            conn.execute(
                "SELECT user_id, role FROM campaign_members"
                f" WHERE campaign = ? AND user_id IN ({marks})",
                (campaign, *chunk),
            ).fetchall()
        )
    return roles


def _refuse_control(campaign: str, roles: dict[str, str], verb: str) -> None:
    control = sorted(u for u, role in roles.items() if role == "control")
    if control:
        raise CampaignError(
            f"Cannot {verb} {', '.join(control[:20])} in campaign {campaign!r}: in the control "
            "group, which must stay untouched to measure the effect. Nothing was changed."
        )


def _refuse_global_control(conn: sqlite3.Connection, campaign: str, ids: Sequence[str]) -> None:
    held = _global_control(conn)
    mine = [u for u in ids if u in held]
    if mine:
        raise CampaignError(
            f"Cannot mark {', '.join(mine[:20])} in campaign {campaign!r}: in the global control "
            "group, which no campaign or strategy targets. Nothing was changed."
        )


def _insert(
    conn: sqlite3.Connection,
    campaign: str,
    members: Sequence[tuple[str, str]],
    at: datetime | None,
    source: str,
    as_of: date | None = None,
) -> None:
    added_at, added_on = stamp(at), data_date(conn, as_of)
    conn.executemany(
        "INSERT OR IGNORE INTO campaign_members"
        "(campaign, user_id, role, added_at, source, added_on) VALUES (?, ?, ?, ?, ?, ?)",
        [(campaign, uid, role, added_at, source, added_on) for uid, role in members],
    )


def _delete(conn: sqlite3.Connection, campaign: str, members: Sequence[tuple[str, str]]) -> None:
    conn.executemany(
        "DELETE FROM campaign_members WHERE campaign = ? AND user_id = ? AND role = ?",
        [(campaign, uid, role) for uid, role in members],
    )
