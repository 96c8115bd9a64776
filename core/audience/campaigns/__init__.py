"""Campaigns: targets and a seeded control group, frequency cap, marks, undo, audit, lock, export.

Members are keyed by user id (never by row position) with a role, ``target`` or ``control``.
``start_date`` is set at create (``start=``) or, failing that, to the as-of date on send; a sent
(or closed) campaign's lists are locked until :func:`unlock`. See docs/campaigns.md.
"""

from core.audience.campaigns.export import CONTACT_COLUMNS, export_targets, exportable_columns
from core.audience.campaigns.members import (
    AddReport,
    Condition,
    MarkResult,
    add_from_segment,
    check_holdout,
    control_draw,
    mark,
    undo_last,
    unmark,
)
from core.audience.campaigns.records import (
    CHANNELS,
    STATUSES,
    AuditEntry,
    Campaign,
    CampaignError,
    audit,
    counts,
    create_campaign,
    get_campaign,
    list_campaigns,
    set_status,
    unlock,
)

__all__ = [
    "CHANNELS",
    "CONTACT_COLUMNS",
    "STATUSES",
    "AddReport",
    "AuditEntry",
    "Campaign",
    "CampaignError",
    "Condition",
    "MarkResult",
    "add_from_segment",
    "check_holdout",
    "audit",
    "control_draw",
    "counts",
    "create_campaign",
    "export_targets",
    "exportable_columns",
    "get_campaign",
    "list_campaigns",
    "mark",
    "set_status",
    "undo_last",
    "unlock",
    "unmark",
]
