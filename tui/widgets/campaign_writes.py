"""The campaign screen's writes, run in its "write" worker on the worker's own connection.
Each takes the highlighted campaign and the form's values and returns the note to show."""

from __future__ import annotations

import sqlite3
from datetime import date

from core.audience import campaigns as cmp
from core.audience import segments
from core.store.personal import personal_columns
from tui.widgets import campaign_parts as parts


def _create(conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str) -> str:
    start = parts.day(v["start"], "Start date")
    made = cmp.create_campaign(conn, v["name"], channel=v["channel"], offer=v["offer"],
                               start=start, who=user)  # fmt: skip
    return f"created {made.name} ({made.channel})"


def _add(conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str) -> str:
    holdout = parts.holdout(v["holdout"])
    within = parts.whole_number(v["within"], "Exclude targeted within")
    seed = parts.whole_number(v["seed"], "Seed", empty=0)
    compiled = segments.condition_for(conn, v["source"].strip(), as_of=as_of)
    report = cmp.add_from_segment(
        conn, name, compiled, holdout_pct=holdout, seed=seed,
        exclude_targeted_within_days=within, as_of=as_of, who=user, source=v["source"].strip(),
    )  # fmt: skip
    return parts.add_report_text(name, report)


def _undo(conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str) -> str:
    entry = cmp.undo_last(conn, name, user)
    return f"{name}: undid {entry.action} of {entry.n_users:,} users ({entry.detail})"


def _export(conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str) -> str:
    columns = [c.strip() for c in v["columns"].split(",") if c.strip()]
    if v["contact"]:
        columns += sorted(c for c in personal_columns(conn) if c not in columns)
    n = cmp.export_targets(conn, name, v["path"].strip(), columns,
                           include_contact=bool(v["contact"]), who=user)  # fmt: skip
    return f"{name}: {n:,} targets written to {v['path'].strip()}"


def _send(conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str) -> str:
    sent = cmp.set_status(conn, name, "sent", who=user, as_of=as_of)
    return f"{name} sent, start date {sent.start_date}: its lists are locked"


def _unlock(conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str) -> str:
    cmp.unlock(conn, name, who=user, reason=v["reason"])
    return f"{name} unlocked: {v['reason']}"


WRITES = {
    "create": _create,
    "add": _add,
    "undo": _undo,
    "export": _export,
    "send": _send,
    "unlock": _unlock,
}
