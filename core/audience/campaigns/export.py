"""Export a campaign's targets (never the control group) to CSV for the sending system."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from core.audience.campaigns.records import CampaignError, get_campaign, log_json
from core.store.db import transaction
from core.store.outputs import atomic_output, csv_writer
from core.store.personal import mask_value, personal_columns
from core.store.schema import FEATURE_COLUMNS, user_attribute_columns
from core.store.sql import quote

CONTACT_COLUMNS = ("phone", "email")  # the built-in personal columns; any other may be flagged


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
    raw: bool = False,
    mask: bool = False,
) -> int:
    """Write the targets (never the control group) as CSV, one row per user, ``user_id`` first.
    Returns the number of users written; the export is logged.

    Personal columns (core.store.personal: phone, e-mail, ID numbers, addresses … by name or
    flag) are refused unless ``include_contact``, or written masked with ``mask``.
    Cells a spreadsheet would run as formulas get a leading ``'`` unless ``raw``
    (core.store.outputs). A path is written to a temporary file beside it and renamed into
    place only once the audit entry is committed: when the log cannot be written (locked,
    read-only), no file is left behind and the error says why."""
    get_campaign(conn, campaign)
    personal = personal_columns(conn)
    cols = _export_columns(conn, columns, include_contact or mask, personal)
    users = set(user_attribute_columns(conn))
    select = ", ".join(f"{'u' if c in users else 'f'}.{quote(c)}" for c in cols)
    rows = conn.execute(
        f"SELECT {select} FROM campaign_members m JOIN users u ON u.user_id = m.user_id"
        " LEFT JOIN features f ON f.user_id = m.user_id"
        " WHERE m.campaign = ? AND m.role = 'target' ORDER BY m.user_id",
        (campaign,),
    )
    target = getattr(path_or_file, "name", path_or_file)
    detail = {"text": f"{target}: {', '.join(cols)}"}
    if not isinstance(path_or_file, str | Path):
        n = _write_rows(path_or_file, cols, _masked(rows, cols, personal, mask), raw)
        with transaction(conn):
            log_json(conn, campaign, who, at, "export", detail, n)
        return n
    with atomic_output(path_or_file) as out:
        n = _write_rows(out.file, cols, _masked(rows, cols, personal, mask), raw)
        out.finish()  # every byte on disk before the export is logged
        with transaction(conn):
            log_json(conn, campaign, who, at, "export", detail, n)
    # renamed into place by atomic_output, after the commit
    return n


def _masked(
    rows: Iterable[tuple], cols: list[str], personal: frozenset[str], mask: bool
) -> Iterator[tuple]:
    at = [i for i, c in enumerate(cols) if c in personal] if mask else []
    for row in rows:
        if at:
            row = tuple(mask_value(v) if i in at else v for i, v in enumerate(row))
        yield row


def _export_columns(
    conn: sqlite3.Connection,
    columns: Sequence[str],
    include_contact: bool,
    personal: frozenset[str] = frozenset(CONTACT_COLUMNS),
) -> list[str]:
    allowed = exportable_columns(conn)
    wanted = ["user_id"] + [c.strip() for c in columns if c.strip() and c.strip() != "user_id"]
    unknown = [c for c in wanted if c not in allowed]
    if unknown:
        raise CampaignError(
            f"Unknown export column(s): {', '.join(unknown)}. Known: {', '.join(allowed)}."
        )
    contact = [c for c in wanted if c in personal]
    if contact and not include_contact:
        raise CampaignError(
            f"{', '.join(contact)} hold personal data: ask for them explicitly "
            "(--include-personal, also --include-contact; or --mask to write them masked)."
        )
    return list(dict.fromkeys(wanted))


def _write_rows(out: IO[str], cols: list[str], rows: Iterable[tuple], raw: bool) -> int:
    writer = csv_writer(out, raw=raw)
    writer.writerow(cols)
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n
