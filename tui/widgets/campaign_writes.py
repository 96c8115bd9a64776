"""The campaign screen's writes, run in its "write" worker on the worker's own connection.
Each takes the highlighted campaign and the form's values and returns the note to show."""

from __future__ import annotations

import sqlite3
from datetime import date

from core.audience import campaigns as cmp
from core.audience import segments
from core.store.personal import personal_columns
from tui.i18n import Labels
from tui.widgets import campaign_parts as parts


def _create(
    conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str, lab: Labels
) -> str:
    start = parts.day(v["start"], lab("w_start"))
    made = cmp.create_campaign(conn, v["name"], channel=v["channel"], offer=v["offer"],
                               start=start, who=user)  # fmt: skip
    return lab.words("created_note", name=made.name, channel=lab.channel(made.channel))


def _add(conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str, lab: Labels) -> str:
    holdout = parts.holdout(v["holdout"], lab("w_holdout"))
    within = parts.whole_number(v["within"], lab("w_within"))
    seed = parts.whole_number(v["seed"], lab("w_seed"), empty=0)
    compiled = segments.condition_for(conn, v["source"].strip(), as_of=as_of)
    report = cmp.add_from_segment(
        conn, name, compiled, holdout_pct=holdout, seed=seed,
        exclude_targeted_within_days=within, as_of=as_of, who=user, source=v["source"].strip(),
    )  # fmt: skip
    return parts.add_report_text(name, report, lab)


def _undo(conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str, lab: Labels) -> str:
    entry = cmp.undo_last(conn, name, user)
    undone = lab.words("undo_note", campaign=name, action=lab.audit_action(entry.action),
                       n=f"{entry.n_users:,}")  # fmt: skip
    return f"{undone} ({entry.detail})"


def _export(
    conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str, lab: Labels
) -> str:
    columns = [c.strip() for c in v["columns"].split(",") if c.strip()]
    if v["contact"]:
        columns += sorted(c for c in personal_columns(conn) if c not in columns)
    n = cmp.export_targets(conn, name, v["path"].strip(), columns,
                           include_contact=bool(v["contact"]), who=user)  # fmt: skip
    return lab.words("exported_note", campaign=name, n=f"{n:,}", path=v["path"].strip())


def _send(conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str, lab: Labels) -> str:
    sent = cmp.set_status(conn, name, "sent", who=user, as_of=as_of)
    return lab.words("sent_note", campaign=name, day=sent.start_date)


def _unlock(
    conn: sqlite3.Connection, name: str, v: dict, as_of: date, user: str, lab: Labels
) -> str:
    cmp.unlock(conn, name, who=user, reason=v["reason"])
    return lab.words("unlocked_note", campaign=name, reason=v["reason"])


WRITES = {
    "create": _create,
    "add": _add,
    "undo": _undo,
    "export": _export,
    "send": _send,
    "unlock": _unlock,
}
