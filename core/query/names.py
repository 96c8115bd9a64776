"""Values checked against the data: categories, layers, RFM groups, tags, segments, campaigns.

Policy for free categories (city, channel, import columns): a value no user has is an error only
when a close match exists (a typo: "上每" -> "上海", or the same letters in another case: "ios" ->
"iOS", which SQL's = would silently count 0); otherwise it is allowed and simply counts 0.
Closed sets defined in the database (layers, RFM groups, tags, segments, campaigns) reject any
unknown name.
"""

from __future__ import annotations

from core.errors import QueryError
from core.query.ast import Value
from core.query.context import Ctx, closest, did_you_mean, table_exists
from core.query.fields import FieldDef
from core.store.sql import quote

DISTINCT_LIMIT = 5000


def known_value(ctx: Ctx, fd: FieldDef, v: Value) -> str:
    """The stored value for a categorical text value (layer/RFM names become their keys)."""
    text = str(v.value)
    if fd.column == "layer":
        return _closed_set(ctx, v, "layer", layer_names(ctx))
    if fd.column == "rfm_group":
        return _closed_set(ctx, v, "RFM group", rfm_names())
    table = "features" if fd.source == "features" else "users"
    col = quote(fd.column)  # whitelisted by fields.lookup
    key = f"{table}.{fd.column}"
    if key not in ctx.seen:
        ctx.seen[key] = [
            str(r[0])
            for r in ctx.conn.execute(
                f"SELECT DISTINCT {col} FROM {table} WHERE {col} IS NOT NULL LIMIT {DISTINCT_LIMIT}"
            )
        ]
    seen = ctx.seen[key]
    if text in seen:
        return text
    if (
        len(seen) >= DISTINCT_LIMIT
        and ctx.conn.execute(f"SELECT 1 FROM {table} WHERE {col} = ? LIMIT 1", (text,)).fetchone()
    ):  # more values than were read: ask the column itself
        return text
    guess = near_value(text, seen)
    if guess is not None:
        raise QueryError(
            f'No user has {fd.written} "{text}" (column {v.pos + 1}){did_you_mean(guess, chr(34))}',
            pos=v.pos,
            expected=[f"a {fd.written} in the data"],
            suggestion=guess,
        )
    return text


def near_value(text: str, seen: list[str]) -> str | None:
    """The value a typo meant: one that differs only in case ("ios" -> "iOS"), else the
    nearest by difflib, comparing case-folded ("andriod" -> "Android")."""
    folded = text.casefold()
    by_fold: dict[str, str] = {}
    for value in seen:
        by_fold.setdefault(value.casefold(), value)
    if folded in by_fold:
        return by_fold[folded]
    guess = closest(folded, list(by_fold))
    return by_fold[guess] if guess is not None else None


def _closed_set(ctx: Ctx, v: Value, what: str, mapping: dict[str, str]) -> str:
    """mapping: every accepted spelling (key, zh name, en name, lower-cased) -> stored key."""
    text = str(v.value)
    if not mapping:
        return text
    key = mapping.get(text) or mapping.get(text.lower())
    if key is not None:
        return key
    guess = closest(text, list(mapping))
    raise QueryError(
        f'Unknown {what} "{text}" at column {v.pos + 1}{did_you_mean(guess, chr(34))}',
        pos=v.pos,
        expected=[f"a {what}"],
        suggestion=guess,
    )


def layer_names(ctx: Ctx) -> dict[str, str]:
    out: dict[str, str] = {}
    if table_exists(ctx.conn, "layer_rules"):
        for key, zh, en in ctx.conn.execute("SELECT key, name_zh, name_en FROM layer_rules"):
            out.update({key: key, zh: key, en: key, en.lower(): key})
    for (key,) in ctx.conn.execute(
        "SELECT DISTINCT layer FROM features WHERE layer IS NOT NULL LIMIT 100"
    ):
        out.setdefault(key, key)
    if out:
        out.setdefault("unclassified", "unclassified")
    return out


def value_label(ctx: Ctx, column: str, key: str, typed: str) -> tuple[str, str]:
    """How the sentence shows a stored layer or RFM-group key: its operator label (zh, en),
    e.g. important_value -> (重要价值客户, important value); other values as typed."""
    if column == "rfm_group":
        from core.analytics.rfm import GROUPS_BY_KEY, NON_BUYER_EN, NON_BUYER_KEY, NON_BUYER_ZH

        if key == NON_BUYER_KEY:
            return NON_BUYER_ZH, NON_BUYER_EN
        g = GROUPS_BY_KEY.get(key)
        return (g.name_zh, g.name_en) if g else (typed, typed)
    if column == "layer" and table_exists(ctx.conn, "layer_rules"):
        row = ctx.conn.execute(
            "SELECT name_zh, name_en FROM layer_rules WHERE key = ?", (key,)
        ).fetchone()
        if row:
            return str(row[0]), str(row[1])
    return typed, typed


def rfm_names() -> dict[str, str]:
    """RFM group spellings (key, zh and en names) from core.analytics.rfm.GROUPS, the one place they live."""
    from core.analytics.rfm import GROUPS

    out: dict[str, str] = {}
    for g in GROUPS:
        for spelling in (g.key, g.name_zh, g.name_en):
            out[spelling] = g.key
            out[spelling.lower()] = g.key
    return out


def check_tag(ctx: Ctx, v: Value) -> str:
    text = str(v.value)
    rules = [r[0] for r in ctx.conn.execute("SELECT name FROM tag_rules")]
    if (
        text in rules
        or ctx.conn.execute("SELECT 1 FROM user_tags WHERE tag = ? LIMIT 1", (text,)).fetchone()
    ):
        return text
    guess = closest(text, rules)
    raise QueryError(
        f'Unknown tag "{text}" at column {v.pos + 1}{did_you_mean(guess, chr(34))}',
        pos=v.pos,
        expected=["a tag name"],
        suggestion=guess,
    )


def check_campaign(ctx: Ctx, v: Value) -> str:
    text = str(v.value)
    known = [r[0] for r in ctx.conn.execute("SELECT name FROM campaigns")]
    if text in known:
        return text
    guess = closest(text, known)
    raise QueryError(
        f'Unknown campaign "{text}" at column {v.pos + 1}{did_you_mean(guess, chr(34))}',
        pos=v.pos,
        expected=["a campaign name"],
        suggestion=guess,
    )
