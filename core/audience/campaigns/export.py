"""Export a campaign's targets (never the control group) to CSV for the sending system."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

from core.audience.campaigns.records import CampaignError, get_campaign, log_json
from core.store.db import transaction
from core.store.schema import FEATURE_COLUMNS, user_attribute_columns
from core.store.sql import quote

CONTACT_COLUMNS = ("phone", "email")


def exportable_columns(conn: sqlite3.Connection) -> list[str]:
    """Columns an export may ask for: the users' attributes, then the features."""
    users = user_attribute_columns(conn)
    return users + [c for c in FEATURE_COLUMNS if c not in users]


def export_targets(
    conn: sqlite3.Connection,
    campaign: str,
    path_or_file: str | Path | IO[str],
    columns: Sequence[str] = ("user_id",),
    *,
    include_contact: bool = False,
    who: str = "",
    at: datetime | None = None,
) -> int:
    """Write the targets (never the control group) as CSV, one row per user, ``user_id`` first.
    Returns the number of users written; the export is logged."""
    get_campaign(conn, campaign)
    cols = _export_columns(conn, columns, include_contact)
    users = set(user_attribute_columns(conn))
    select = ", ".join(f"{'u' if c in users else 'f'}.{quote(c)}" for c in cols)
    rows = conn.execute(
        f"SELECT {select} FROM campaign_members m JOIN users u ON u.user_id = m.user_id"
        " LEFT JOIN features f ON f.user_id = m.user_id"
        " WHERE m.campaign = ? AND m.role = 'target' ORDER BY m.user_id",
        (campaign,),
    )
    with _open_for_csv(path_or_file) as out:
        writer = csv.writer(out)
        writer.writerow(cols)
        n = 0
        for row in rows:
            writer.writerow(row)
            n += 1
    target = getattr(path_or_file, "name", path_or_file)
    with transaction(conn):
        detail = {"text": f"{target}: {', '.join(cols)}"}
        log_json(conn, campaign, who, at, "export", detail, n)
    return n


def _export_columns(
    conn: sqlite3.Connection, columns: Sequence[str], include_contact: bool
) -> list[str]:
    allowed = exportable_columns(conn)
    wanted = ["user_id"] + [c.strip() for c in columns if c.strip() and c.strip() != "user_id"]
    unknown = [c for c in wanted if c not in allowed]
    if unknown:
        raise CampaignError(
            f"Unknown export column(s): {', '.join(unknown)}. Known: {', '.join(allowed)}."
        )
    contact = [c for c in wanted if c in CONTACT_COLUMNS]
    if contact and not include_contact:
        raise CampaignError(
            f"{', '.join(contact)} are contact details: ask for them explicitly (--include-contact)."
        )
    return list(dict.fromkeys(wanted))


@contextmanager
def _open_for_csv(path_or_file: str | Path | IO[str]) -> Iterator[IO[str]]:
    if not isinstance(path_or_file, str | Path):
        yield path_or_file
        return
    try:
        with open(path_or_file, "w", newline="", encoding="utf-8") as out:
            yield out
    except OSError as exc:
        raise CampaignError(f"Cannot write {path_or_file}: {exc.strerror}.") from exc
