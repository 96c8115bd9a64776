"""Campaign records: create, status (draft → sent → closed, unlock), the audit log, the lock.

The audit ``detail`` column holds JSON: the human text and, for undoable actions, the
``[user_id, role]`` pairs touched, so an undo knows exactly what to revert.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core.errors import CoreError, LockedError, NotFound
from core.store.db import stored_as_of, transaction
from core.store.engines import dialect_of, insert_with_id

CHANNELS = ("push", "sms", "coupon", "email")  # suggestions; any non-empty channel is accepted
STATUSES = ("draft", "sent", "closed")


class CampaignError(CoreError):
    title = "Campaign"


@dataclass(frozen=True)
class Campaign:
    name: str
    channel: str
    offer: str
    status: str
    start_date: date | None
    created_at: str

    @property
    def locked(self) -> bool:
        return self.status != "draft"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    who: str
    action: str
    detail: str
    n_users: int


# --- campaign records -------------------------------------------------------------------


def create_campaign(
    conn: sqlite3.Connection,
    name: str,
    *,
    channel: str = "push",
    offer: str = "",
    start: date | None = None,
    who: str,
    at: datetime | None = None,
) -> Campaign:
    name, channel = name.strip(), channel.strip().lower()
    if not name:
        raise CampaignError("A campaign needs a name.")
    if not channel:
        raise CampaignError(
            f"Campaign {name!r}: the channel is empty (e.g. {', '.join(CHANNELS)})."
        )
    with transaction(conn):
        if _find(conn, name) is not None:
            raise CampaignError(f"A campaign named {name!r} already exists.")
        conn.execute(
            "INSERT INTO campaigns(name, channel, offer, status, start_date, created_at)"
            " VALUES (?, ?, ?, 'draft', ?, ?)",
            (name, channel, offer, start.isoformat() if start else None, stamp(at)),
        )
        log_change(conn, name, who, at, "create", f"channel {channel}")
    return get_campaign(conn, name)


def get_campaign(conn: sqlite3.Connection, name: str) -> Campaign:
    found = _find(conn, name)
    if found is None:
        known = [r[0] for r in conn.execute("SELECT name FROM campaigns ORDER BY name LIMIT 20")]
        hint = f" Known: {', '.join(known)}." if known else " There are no campaigns yet."
        raise NotFound(f"No campaign named {name!r}.{hint}")
    return found


def list_campaigns(conn: sqlite3.Connection) -> list[tuple[Campaign, int, int]]:
    """Every campaign, newest first in data time (drafts with no start date first, then by
    start date; the wall-clock creation time only breaks ties: a day's strategy runs are
    created in the same second), with its number of targets and of control users."""
    members = (
        "(SELECT count(*) FROM campaign_members m WHERE m.campaign = c.name AND m.role = '{}')"
    )
    per_role = [dialect_of(conn).empty_is_zero(members.format(r)) for r in ("target", "control")]
    rows = conn.execute(
        "SELECT c.name, c.channel, c.offer, c.status, c.start_date, c.created_at,"
        f" {per_role[0]},"
        f" {per_role[1]}"
        " FROM campaigns c ORDER BY c.start_date DESC NULLS FIRST, c.created_at DESC, c.name"
    ).fetchall()
    return [(_campaign(r[:6]), r[6], r[7]) for r in rows]


def counts(conn: sqlite3.Connection, campaign: str) -> tuple[int, int]:
    """(targets, control) of a campaign."""
    get_campaign(conn, campaign)
    got = dict(
        conn.execute(
            "SELECT role, count(*) FROM campaign_members WHERE campaign = ? GROUP BY role",
            (campaign,),
        ).fetchall()
    )
    return got.get("target", 0), got.get("control", 0)


def set_status(
    conn: sqlite3.Connection,
    campaign: str,
    status: str,
    *,
    who: str,
    as_of: date | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> Campaign:
    """draft → sent (locks the lists; start_date defaults to ``as_of``), sent → closed, and
    sent/closed → draft only with a reason (see :func:`unlock`). Each change is logged."""
    with transaction(conn):
        current = get_campaign(conn, campaign)
        _check_transition(conn, current, status, as_of, reason)
        start = current.start_date or as_of
        conn.execute(
            "UPDATE campaigns SET status = ?, start_date = ? WHERE name = ?",
            (status, start.isoformat() if start else None, campaign),
        )
        action = {"sent": "send", "closed": "close", "draft": "unlock"}[status]
        log_change(conn, campaign, who, at, action, reason or f"{current.status} → {status}")
    return get_campaign(conn, campaign)


def unlock(
    conn: sqlite3.Connection, campaign: str, *, who: str, reason: str, at: datetime | None = None
) -> Campaign:
    """Set a sent or closed campaign back to draft so its lists can change; the reason is logged."""
    return set_status(conn, campaign, "draft", who=who, reason=reason, at=at)


def _check_transition(
    conn: sqlite3.Connection, current: Campaign, status: str, as_of: date | None, reason: str
) -> None:
    name, old = current.name, current.status
    if status not in STATUSES:
        raise CampaignError(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.")
    if status == "draft":
        if old == "draft":
            raise CampaignError(f"Campaign {name!r} is already a draft (not locked).")
        if not reason.strip():
            raise CampaignError(f"Unlocking campaign {name!r} needs a reason (it is logged).")
        return
    allowed = {"sent": "draft", "closed": "sent"}[status]
    if old != allowed:
        raise CampaignError(
            f"Campaign {name!r} is {old}; only a {allowed} campaign can be {status}."
        )
    if status == "sent":
        if current.start_date is None and as_of is None:
            raise CampaignError(f"Campaign {name!r} has no start date: give an as-of date to send.")
        if counts(conn, name)[0] == 0:
            raise CampaignError(f"Campaign {name!r} has no targets to send to.")


# --- audit --------------------------------------------------------------------------------


def audit(conn: sqlite3.Connection, campaign: str, *, limit: int | None = None) -> list[AuditEntry]:
    """The campaign's audit log, oldest first (the last ``limit`` entries when given)."""
    get_campaign(conn, campaign)
    rows = conn.execute(
        # "at" quoted: a keyword to DuckDB (AT TIME ZONE)
        'SELECT id, "at", who, action, detail, n_users FROM campaign_audit WHERE campaign = ?'
        " ORDER BY id DESC" + ("" if limit is None else " LIMIT ?"),  # DuckDB: no LIMIT -1
        (campaign,) if limit is None else (campaign, limit),
    ).fetchall()
    return [AuditEntry(r[0], r[1], r[2], r[3], _detail_text(r[4]), r[5]) for r in reversed(rows)]


def _detail_text(raw: str) -> str:
    try:
        return str(json.loads(raw).get("text", ""))
    except (ValueError, AttributeError):
        return raw  # written by something else: show as is


def log_change(
    conn: sqlite3.Connection,
    campaign: str,
    who: str,
    at: datetime | None,
    action: str,
    text: str,
    members: Sequence[tuple[str, str]] | None = None,
) -> None:
    detail: dict[str, Any] = {"text": text}
    if members is not None:
        detail["users"] = [list(m) for m in members]
    log_json(conn, campaign, who, at, action, detail, len(members or ()))


def log_json(
    conn: sqlite3.Connection,
    campaign: str,
    who: str,
    at: datetime | None,
    action: str,
    detail: dict[str, Any],
    n_users: int,
) -> None:
    on = data_date(conn)
    insert_with_id(  # "at" quoted: a keyword of DuckDB's (AT TIME ZONE)
        conn,
        "campaign_audit",
        'INSERT INTO campaign_audit(campaign, "at", who, action, detail, n_users, as_of)'
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (campaign, stamp(at), who, action, json.dumps(detail, ensure_ascii=False), n_users, on),
    )


def data_date(conn: sqlite3.Connection, as_of: date | None = None) -> str | None:
    """The data date a campaign change happens on: ``as_of``, else the database's as-of date
    (docs/architecture.md, "One clock"); the wall clock is only the audit's metadata."""
    when = as_of or stored_as_of(conn)
    return when.isoformat() if when else None


# --- helpers ------------------------------------------------------------------------------


def _find(conn: sqlite3.Connection, name: str) -> Campaign | None:
    row = conn.execute(
        "SELECT name, channel, offer, status, start_date, created_at FROM campaigns WHERE name = ?",
        (name,),
    ).fetchone()
    return None if row is None else _campaign(row)


def _campaign(row: Sequence[Any]) -> Campaign:
    start = date.fromisoformat(row[4][:10]) if row[4] else None
    return Campaign(row[0], row[1], row[2], row[3], start, row[5])


def check_unlocked(conn: sqlite3.Connection, campaign: str) -> None:
    current = get_campaign(conn, campaign)
    if current.locked:
        raise LockedError(
            f"Campaign {campaign!r} is {current.status}: its lists are locked. "
            "Unlock it (with a reason) to change them."
        )


def stamp(at: datetime | None) -> str:
    # metadata only (when a change was made), never used to compute a result
    return (at or datetime.now()).isoformat(sep=" ", timespec="seconds")
