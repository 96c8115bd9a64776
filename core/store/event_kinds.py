"""Event kinds by label, zh and en: the one table every sentence, column and screen reads.
The English label is the kind as an operator types it in a condition (count(cart_add, 30d)).

A kind stored in the data but not listed here (an imported ``refund``) is shown as written.
"""

from __future__ import annotations

KIND_LABELS: dict[str, tuple[str, str]] = {  # kind: (zh, en)
    "login": ("登录", "login"),
    "view": ("浏览", "view"),
    "post": ("发帖", "post"),
    "checkin": ("签到", "checkin"),
    "cart_add": ("加购", "cart_add"),
    "share": ("分享", "share"),
    "coupon_use": ("用券", "coupon_use"),
    "order": ("下单", "order"),
}


def kind_label(kind: str) -> tuple[str, str]:
    """(zh, en) of an event kind; an unknown kind is its own label in both."""
    return KIND_LABELS.get(kind, (kind, kind))
