"""Personal data by kind: which user columns hold phone numbers, e-mail or postal addresses, ID
numbers, messenger accounts. Such a column is masked under ``--mask`` and left out of exports
unless asked for (docs/reliability.md, "Personal data").

A column is personal when the ``column_flags`` table says so (set on import by the column's name,
or by the operator with ``userops import --personal COL``) or when its name says so: the name
rule also covers a database opened read-only before its upgrade added the table.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from typing import Any

from core.errors import CoreError

# Whole words of a column name (split at _ - . space and case changes), lower-cased.
PERSONAL_WORDS = frozenset(
    {
        "phone", "phones", "mobile", "cellphone", "tel", "telephone", "msisdn", "fax",
        "email", "mail", "emails",
        "address", "addr", "street", "postcode", "zipcode", "zip",
        "wechat", "weixin", "wxid", "qq", "whatsapp", "telegram",
        "idcard", "passport", "ssn", "nric", "iban",
        "birthday", "birthdate", "dob",
    }
)  # fmt: skip
# Two neighbouring words: id_card, id_no, e_mail, national_id …
PERSONAL_PAIRS = frozenset(
    {
        ("id", "card"), ("id", "no"), ("id", "number"), ("id", "num"), ("national", "id"),
        ("e", "mail"), ("post", "code"), ("zip", "code"), ("birth", "date"),
        ("open", "id"), ("union", "id"), ("card", "no"), ("bank", "card"),
    }
)  # fmt: skip
# Chinese names, found anywhere in the column name (家庭地址, 联系电话, 手机号码 …).
PERSONAL_CJK = ("手机", "电话", "座机", "邮箱", "邮件", "身份证", "证件", "护照", "地址", "住址",
                "微信", "联系方式", "银行卡", "生日", "出生日期")  # fmt: skip

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def is_personal_name(column: str) -> bool:
    """Does the column's name say it holds personal data? Case-insensitive, whole words or
    parts of the name: ``phone``, ``Mobile``, ``home_address``, ``ID-Card``, ``eMail``, ``手机号``."""
    if any(word in column for word in PERSONAL_CJK):
        return True
    words = [w.lower() for w in _WORD.findall(column)]
    if any(w in PERSONAL_WORDS for w in words):
        return True
    pairs = list(zip(words, words[1:], strict=False))  # WeChat, IDCard, E_Mail: two words, one
    return any(pair in PERSONAL_PAIRS or "".join(pair) in PERSONAL_WORDS for pair in pairs)


def _has_flags_table(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'column_flags'"
    ).fetchone()
    return row is not None


def flag_columns(
    conn: sqlite3.Connection, columns: Iterable[str], *, personal: Iterable[str] = ()
) -> None:
    """Record a flag for each of ``columns`` not flagged yet (by its name), and mark every one
    of ``personal`` as personal (the operator's word wins). Runs in the caller's transaction;
    a ``personal`` column that is not among ``columns`` is an error."""
    columns = list(columns)
    unknown = [c for c in personal if c not in columns]
    if unknown:
        raise CoreError(
            f"--personal {', '.join(unknown)}: no such user column. Known: {', '.join(columns)}.",
            title="Unknown column",
        )
    conn.executemany(
        "INSERT OR IGNORE INTO column_flags(column_name, personal) VALUES (?, ?)",
        [(c, int(is_personal_name(c))) for c in columns],
    )
    conn.executemany(
        "UPDATE column_flags SET personal = 1 WHERE column_name = ?", [(c,) for c in personal]
    )


def personal_columns(conn: sqlite3.Connection) -> frozenset[str]:
    """Names of the personal columns of ``users``: flagged, or personal by name."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(users)")]
    flagged: set[str] = set()
    if _has_flags_table(conn):
        flagged = {
            c for (c,) in conn.execute("SELECT column_name FROM column_flags WHERE personal")
        }
    return frozenset(c for c in columns if c in flagged or is_personal_name(c))


def mask_phone(phone: str | None) -> str | None:
    """138****1234: keep the first 3 and last 4 digits of a mobile number, hide the rest."""
    if not phone:
        return phone
    if len(phone) <= 4:
        return "*" * len(phone)
    if len(phone) < 8:
        return phone[0] + "*" * (len(phone) - 3) + phone[-2:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_email(email: str | None) -> str | None:
    """a***@x.com: the first letter of the local part, the domain kept."""
    if not email:
        return email
    local, at, domain = email.partition("@")
    return (local[:1] + "***" + at + domain) if at else local[:1] + "***"


def mask_value(value: Any) -> Any:
    """Any personal value masked: an e-mail address as by mask_email, anything else (phone, ID
    number, address, account) as by mask_phone: a few characters at each end kept."""
    if value is None or value == "":
        return value
    text = str(value)
    return mask_email(text) if "@" in text else mask_phone(text)
