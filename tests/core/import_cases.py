"""Generated import files for the reliability tests: valid files, and malformed ones that know
which line and column their one defect is at (tests/core/test_import_fuzz.py, bench/)."""

from __future__ import annotations

import gzip
import random
import re
from dataclasses import dataclass

LATEST = "2030-12-31"  # the tests pass --latest-date LATEST
HEADERS = {
    "users": ["user_id", "name", "city"],
    "orders": ["order_id", "user_id", "amount", "created_at", "note"],
    "lines": ["order_id", "user_id", "quantity", "unit_price", "created_at"],
    "events": ["user_id", "kind", "created_at", "value"],
}
OPTION = {"users": "--users", "orders": "--orders", "lines": "--orders", "events": "--events"}
TEXTS = ["Ann", "a,b", 'q"uote', "two\nlines", "上海", " spaced ", "", "x\r\ny", "=1+1", "é"]
DATES = ["2024-06-01", "2024-06-01 08:26", "2024-06-01 08:26:00", "2024-06-01T08:26:00",
         "2024-06-01T08:26:00+08:00", "2024-06-01T08:26:00Z"]  # fmt: skip


def _date(rng: random.Random) -> str:
    day = f"20{rng.randint(10, 29)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return rng.choice(DATES).replace("2024-06-01", day)


def valid_rows(rng: random.Random, kind: str, n: int) -> list[list[str]]:
    users = [f"{rng.choice(['', '0', '00'])}{i}{rng.choice(['', 'a', '用户'])}" for i in range(n)]
    rows = []
    for i in range(n):
        uid = users[i] if kind == "users" else rng.choice(users)
        if kind == "users":
            rows.append([uid, rng.choice(TEXTS), rng.choice(TEXTS)])
        elif kind == "orders":
            amount = rng.choice(["12.5", "3", "-4", "1e3", "0.01", " 7 "])
            rows.append([f"o{i}", uid, amount, _date(rng), rng.choice(TEXTS)])
        elif kind == "lines":
            order = f"L{i // 3}"
            rows.append([order, f"u{i // 3}", str(rng.randint(-2, 9)), "2.5", _date(rng)])
        else:
            rows.append([uid, rng.choice(["login", "view", "cart_add"]), _date(rng), "x"])
    return rows


def csv_line(row: list[str], ending: str, quote_all: bool = False) -> str:
    """One record. Python's csv.writer leaves a field with a \\n unquoted when the line ending is
    \\r (the file then has a line break there): quote every field holding a break."""

    def field(v: str) -> str:
        if quote_all or any(c in v for c in ',"\r\n'):
            return '"' + v.replace('"', '""') + '"'
        return v

    return ",".join(map(field, row)) + ending


def render(header: list[str], rows: list[list[str]], ending: str) -> tuple[str, list[int]]:
    """The CSV text, and the physical line each data row starts on (header = line 1)."""
    out, starts, line = [], [], 1
    for i, row in enumerate([header, *rows]):
        text = csv_line(row, ending)
        if i:
            starts.append(line)
        line += len(re.findall(r"\r\n|\r|\n", text))
        out.append(text)
    return "".join(out), starts


@dataclass
class Malformed:
    defect: str
    kind: str
    data: bytes
    gz: bool
    line: int
    column: str | None
    quoted: str | None  # what the message must quote (the value of the named column)


MUTATIONS = {
    "users": ["extra_empty", "extra_value", "two_extra", "empty_user_id", "conflict",
              "not_utf8", "huge_then_bad", "unclosed_quote"],
    "orders": ["extra_empty", "extra_value", "bad_number", "bad_date", "future",
               "beyond_bound", "not_utf8", "huge_then_bad", "bad_offset", "unclosed_quote"],
    "lines": ["overflow", "bad_quantity", "extra_empty", "future"],
    "events": ["extra_value", "empty_kind", "bad_date", "future", "not_utf8"],
}  # fmt: skip


def malformed(seed: int) -> Malformed:
    """One valid file with exactly one defect, at a known line and column."""
    rng = random.Random(seed)
    kind = rng.choice(list(MUTATIONS))
    defect = rng.choice(MUTATIONS[kind])
    header, n = HEADERS[kind], rng.randint(2, 25)
    rows = valid_rows(rng, kind, n)
    k = rng.randrange(n)
    later = rng.randrange(k + 1, n + 1) if k + 1 <= n else k  # a row after k (maybe new)
    column: str | None = None
    quoted: str | None = None
    raw: dict[int, bytes] = {}  # row -> bytes to put into one of its fields
    col = header.index
    if defect == "extra_empty":
        rows[k].append("")
    elif defect == "extra_value":
        rows[k].append(rng.choice(["x", "1", '"q"', "a b"]))
        quoted = f"the first extra value is {rows[k][-1]!r}"
    elif defect == "two_extra":
        rows[k] += ["", ""]
        quoted = "the first extra value is ''"
    elif defect == "empty_user_id":
        rows[k][0], column = rng.choice(["", "  "]), "user_id"
    elif defect == "conflict":
        rows[k][1:] = ["first", "c"]
        if later == n:
            rows.append([rows[k][0], "second", "c"])
        else:
            rows[later] = [rows[k][0], "second", "c"]
        k, column, quoted = later, "name", "different name: 'first' on line "
    elif defect == "bad_number":
        bad = rng.choice(["abc", "1,5", "nan", "inf", "-inf", "1e400", "", "12€", "0x10"])
        rows[k][col("amount")], column = bad, "amount"
        quoted = f"{bad!r} is not a number"
    elif defect == "bad_date":
        bad = rng.choice(["2024-13-01", "2024-02-30", "01/06/2024", "2024-06-01 25:00", "June",
                          "", "2024-06-01T08:26:00.123", "2024-06-01T08:26:00 +08:00"])  # fmt: skip
        rows[k][col("created_at")], column = bad, "created_at"
        quoted = f"{bad!r} is not a date"
    elif defect == "future":
        rows[k][col("created_at")], column = rng.choice(["2031-01-01", "9999-12-31"]), "created_at"
        quoted = f"{rows[k][col('created_at')]!r} is after {LATEST}"
    elif defect == "beyond_bound":
        rows[k][col("amount")], column = rng.choice(["2e12", "-1e13", "1000000000001"]), "amount"
        quoted = f"{rows[k][col('amount')]!r} is beyond ±1e+12"
    elif defect == "overflow":
        rows[k][2:4], column = [rng.choice(["1e200", "1e155"]), "1e200"], "quantity"
        quoted = f"quantity {rows[k][2]!r} x unit_price '1e200' = inf"
    elif defect == "bad_quantity":
        rows[k][2], column = rng.choice(["two", "", "1.2.3"]), "quantity"
        quoted = f"{rows[k][2]!r} is not a number"
    elif defect == "empty_kind":
        rows[k][1], column = "", "kind"
    elif defect == "bad_offset":
        rows[k][col("created_at")] = rng.choice(["2024-01-02T03:04:05+25:00", "2024-01-02+08:00"])
        column, quoted = "created_at", f"{rows[k][col('created_at')]!r} is not a date"
    elif defect == "not_utf8":
        target = {"users": "name", "orders": "amount", "events": "kind"}[kind]
        rows[k][col(target)] = "@@BAD@@"
        raw[k] = rng.choice([b"\xff", b"\xc3(", b"\xe4\xb8", b"\x80abc"])
        column, quoted = target, f"(byte 0x{raw[k][0]:02x})"
    elif defect == "huge_then_bad":
        text_col = "name" if kind == "users" else "note"
        rows[k][col(text_col)] = "h" * rng.randint(131_073, 200_000)
        if later == n:
            rows.append(list(rows[k]))
            rows[-1][col(text_col)] = "short"
            if kind == "orders":
                rows[-1][0] = "o-last"
        if kind == "users":
            rows[later][0], column = "", "user_id"
        else:
            rows[later][col("amount")], column, quoted = "bad", "amount", "'bad' is not a number"
        k = later
    ending = rng.choice(["\n", "\r\n", "\r"])
    text, starts = render(header, rows, ending)
    if defect == "unclosed_quote":
        starts.append(1 + len(re.findall(r"\r\n|\r|\n", text)))
        text += '"never closed,' + ",".join(header[1:]) + ending
        k = len(starts) - 1
    data = ("\ufeff" * rng.choice([0, 1]) + text).encode()
    if raw:
        data = data.replace(b"@@BAD@@", raw[k] + b"5", 1)
    gz = rng.random() < 0.2
    data = gzip.compress(data) if gz else data
    return Malformed(defect, kind, data, gz, starts[k], column, quoted)
