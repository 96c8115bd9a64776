"""Reading import files (CSV, gzipped CSV, Parquet) into frames of text, and checking values.

Every column is read as text, so ids keep their leading zeros; values are parsed vectorised and
the first bad one becomes an InputError naming the file, the physical line and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, tzinfo
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputError

READ_CHUNK_ROWS = 200_000
_SURROGATE = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8
_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"
_DATE_TIME = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?"
_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)"  # Z, +08, +0800, +08:00
MAX_AMOUNT = 1e12  # the default bound on |amount| (an order, or a line's quantity x unit price)
_FLOAT_ID = r"^(\d+)\.0+$"  # 17850.0 (a Parquet float column) is the id 17850

# --- reading a file into a frame of text -------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What the values of an import must satisfy. Chosen by the caller (core reads no clock and
    no machine setting): ``tz`` is the zone times with an offset are converted to (None: such
    times are refused); ``latest`` the last date accepted (None: no bound); ``max_amount`` the
    bound on |amount|."""

    tz: tzinfo | None = None
    latest: date | None = None
    max_amount: float = MAX_AMOUNT


@dataclass
class Source:
    """One input file: where it is, how to read it, and how to point at a line in it."""

    path: Path
    label: str  # the path as the operator typed it, for messages
    parquet: bool
    gz: bool
    size: int
    mapping: Mapping[str, str]
    renamed: dict[str, str] = field(default_factory=dict)  # target -> the file's own name
    limits: Limits = Limits()
    converted: int = 0  # values with a UTC offset converted to limits.tz

    @classmethod
    def open(
        cls, path: str | Path, mapping: Mapping[str, str], limits: Limits = Limits()
    ) -> Source:
        p, label = Path(path), str(path)
        name = p.name.lower()
        if not (name.endswith((".csv", ".csv.gz", ".parquet"))):
            raise InputError("unknown file type: expected .csv, .csv.gz or .parquet", file=label)
        if not p.is_file():
            raise InputError("no such file", file=label)
        parquet, gz = name.endswith(".parquet"), name.endswith(".gz")
        return cls(p, label, parquet, gz, p.stat().st_size, mapping, limits=limits)

    def display(self, column: str) -> str:
        return self.renamed.get(column, column)

    def error(
        self, message: str, *, row: int | None = None, column: str | None = None
    ) -> InputError:
        """An InputError at data row ``row`` (0-based; None = the header line)."""
        line = 1 if row is None else self.line_of(row)
        return InputError(
            message, file=self.label, line=line, column=column and self.display(column)
        )

    def line_of(self, row: int) -> int | None:
        """Physical line of data row ``row``, header = line 1 (Parquet: as if it were a CSV)."""
        if self.parquet:
            return row + 2
        for record, (start, _) in enumerate(self.records()):  # only on the error path
            if record == row + 1:
                return start
        return None

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(first physical line, fields) of every record, as the csv module reads them; blank
        lines are skipped (as pandas does). Bytes that are not UTF-8 come out as lone surrogates
        (U+DC80..U+DCFF); a field may be of any length. Stops quietly at what it cannot read."""
        opener = gzip.open if self.gz else open
        with opener(self.path, "rb") as raw, _unlimited_fields():
            text = io.TextIOWrapper(raw, "utf-8-sig", errors="surrogateescape", newline="")
            reader, start = csv.reader(text), 1
            try:
                for fields in reader:
                    if fields:
                        yield start, fields
                    start = reader.line_num + 1
            except (csv.Error, OSError, EOFError):
                return


@contextmanager
def _unlimited_fields() -> Iterator[None]:
    """The csv module refuses fields over 128 KiB by default; pandas reads any length."""
    before = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def printable(name: str) -> str:
    """A column name as written, or quoted when it holds a line break or control character
    (messages are one line)."""
    return name if name.isprintable() else repr(name)


def quoted(value: object, limit: int = 60) -> str:
    """A value as messages quote it: repr (so control characters show), cut when long."""
    if value is None:
        return "an empty value"
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def read_source(src: Source, advance: Callable[[int], None]) -> pd.DataFrame:
    """Every column as text ('' for empty), renamed by the mapping; index = data row number."""
    df = _read_parquet(src) if src.parquet else _read_csv(src, advance)
    advance(src.size if src.parquet else 0)
    if df.empty:
        raise src.error("the file has a header but no rows")
    names = [str(c).strip() for c in df.columns]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise src.error(f"two columns are named {name!r} in the header; rename one")
    targets = [src.mapping.get(c, c) for c in names]
    for source, target in zip(names, targets, strict=True):
        if source != target:
            src.renamed[target] = source
        if targets.count(target) > 1:
            raise src.error(f"two columns would be named {target!r}; check --map", column=target)
    df.columns = targets
    return df


def _read_csv(src: Source, advance: Callable[[int], None]) -> pd.DataFrame:
    """Read with header=None so that pandas never takes a longer first row as an index column
    (which shifts every column): the header is the first record and fixes the width; a row
    with more fields is an error."""
    chunks, seen = [], 0
    with open(src.path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if src.gz else raw
        try:
            with pd.read_csv(
                stream,
                header=None,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8-sig",
                chunksize=READ_CHUNK_ROWS,
            ) as reader:
                for chunk in reader:
                    chunks.append(chunk)
                    advance(raw.tell() - seen)
                    seen = raw.tell()
        except UnicodeDecodeError:
            raise _encoding_error(src) from None
        except pd.errors.EmptyDataError:
            raise src.error("the file is empty (no header line)") from None
        except pd.errors.ParserError as exc:
            raise _shape_error(src, exc) from None
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
            raise InputError(f"cannot read the file ({exc})", file=src.label) from None
    advance(src.size - seen)
    df = pd.concat(chunks)
    header = ["" if pd.isna(v) else str(v) for v in df.iloc[0]]
    df = df.iloc[1:].reset_index(drop=True)
    df.columns = range(len(header))
    keep = []
    for i, name in enumerate(header):
        if name.strip() == "" and not (df[i] != "").any():
            continue  # a trailing comma on every line, header included: an empty column
        keep.append(i)
        if name.strip() == "":
            header[i] = f"Unnamed: {i}"
    if len(keep) < len(header):
        df = df[keep]
    df.columns = [header[i] for i in keep]
    return df


def _shape_error(src: Source, exc: Exception) -> InputError:
    """A row with more fields than the header (found again with the csv module, for the exact
    physical line), or another malformation pandas found."""
    width = None
    for start, fields in src.records():
        if width is None:
            width = len(fields)
        elif len(fields) > width:
            extra = fields[width:]
            hint = (
                " (the last one is empty: a trailing comma? remove it, or end the header line "
                "with a comma too)"
                if extra == [""]
                else f"; the first extra value is {quoted(extra[0])}"
            )
            return InputError(
                f"{len(fields)} fields, but the header has {width}{hint}",
                file=src.label,
                line=start,
            )
    if "EOF inside string" in str(exc):  # the open quote swallows the rest: the last record
        starts = [start for start, _ in src.records()]
        return InputError(
            "a quoted field is not closed: it runs to the end of the file",
            file=src.label,
            line=starts[-1] if starts else None,
        )
    found = re.search(r"line (\d+)", str(exc))
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(
        f"not a well-formed CSV file ({message})",
        file=src.label,
        line=int(found.group(1)) if found else None,
    )


def _encoding_error(src: Source) -> InputError:
    """Find the first record that is not UTF-8, and the column it is in."""
    header: list[str] | None = None
    for start, fields in src.records():
        bad = next(((i, v) for i, v in enumerate(fields) if _SURROGATE.search(v)), None)
        if bad is not None:
            pos, value = bad
            surrogate = _SURROGATE.search(value)
            assert surrogate is not None  # found just above
            byte = ord(surrogate.group()) - 0xDC00
            column = header[pos] if header and pos < len(header) else None
            return InputError(
                f"not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8 (a BOM is fine)",
                file=src.label,
                line=start,
                column=column,
            )
        if header is None:
            header = fields
    return InputError("not UTF-8 text; save the file as UTF-8", file=src.label)


def _read_parquet(src: Source) -> pd.DataFrame:
    try:
        df = pd.read_parquet(src.path).reset_index(drop=True)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise InputError(f"not a readable Parquet file ({exc})", file=src.label) from None
    return pd.DataFrame({c: _as_text(src, df[c], str(c)) for c in df.columns}, index=df.index)


def _as_text(src: Source, col: pd.Series, name: str) -> pd.Series:
    """A Parquet column as the text a CSV would hold ('' for missing); zone-aware timestamps
    are converted to ``src.limits.tz`` first."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        if src.limits.tz is None:
            raise src.error(
                f"timestamps with a time zone ({col.dt.tz}), and no time zone to convert them "
                "to was given",
                column=name,
            )
        src.converted += int(col.notna().sum())
        col = col.dt.tz_convert(src.limits.tz).dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(col):
        text = col.dt.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = col.astype(str)
    return text.where(col.notna(), "").astype(str)


def blank_to_none(s: pd.Series) -> pd.Series:
    """Empty text becomes None (SQL NULL) in an object column, ready for sqlite3."""
    return s.astype(object).where(s != "", None)


# --- checking values (vectorised; an error names the first bad line) -----------------------------


def require_columns(src: Source, df: pd.DataFrame, columns: list[str]) -> None:
    for col in columns:
        if col not in df.columns:
            found = ", ".join(printable(src.display(c)) for c in df.columns)
            hint = " (or quantity and unit_price for order lines)" if col == "amount" else ""
            raise src.error(f"required column is missing{hint}; columns found: {found}", column=col)


def clean_ids(src: Source, df: pd.DataFrame, col: str) -> pd.Series:
    return df[col].str.strip().str.replace(_FLOAT_ID, r"\1", regex=True)


def parse_dates(src: Source, df: pd.DataFrame, col: str, *, optional: bool = False) -> pd.Series:
    """ISO dates or datetimes, normalised to 'YYYY-MM-DD HH:MM:SS' (empty stays empty if optional).

    A time with a UTC offset (``Z``, ``+08``, ``+0800``, ``+08:00``) is converted to the zone of
    ``src.limits.tz`` (refused when there is none); a date after ``src.limits.latest`` is an error.
    """
    given = df[col].str.strip()
    s = _to_zone(src, given, col)
    time = s.str.slice(11)
    time = time.where(time.str.len() == 8, (time + ":00").where(time.str.len() == 5, "00:00:00"))
    full = s.str.slice(0, 10) + " " + time
    parsed = pd.to_datetime(full, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    bad = ~s.str.fullmatch(_DATE) | parsed.isna()
    if optional:
        bad &= s != ""
    if bad.any():
        idx = bad.idxmax()
        raise src.error(
            f"{quoted(given.at[idx])} is not a date (expected 2024-06-01, 2024-06-01 08:26:00, "
            "2024-06-01T08:26:00 or with an offset, 2024-06-01T08:26:00+08:00)",
            row=idx,
            column=col,
        )
    latest = src.limits.latest
    if latest is not None:
        late = full.str.slice(0, 10) > latest.isoformat()
        if optional:
            late &= s != ""
        if late.any():
            idx = late.idxmax()
            raise src.error(
                f"{quoted(given.at[idx])} is after {latest.isoformat()}, the latest date "
                "accepted (one year after today unless set with --latest-date); a date this "
                "far ahead is usually a placeholder: pass --allow-future-dates if it is meant",
                row=idx,
                column=col,
            )
    if optional:
        full = blank_to_none(full.where(s != "", ""))
    return full


def _to_zone(src: Source, s: pd.Series, col: str) -> pd.Series:
    """Values with a UTC offset, converted to the import's zone and written without it."""
    aware = s.str.fullmatch(_DATE_TIME + _OFFSET)
    if not aware.any():
        return s
    tz = src.limits.tz
    if tz is None:
        idx = aware.idxmax()
        raise src.error(
            f"{quoted(s.at[idx])} has a UTC offset, and no time zone to convert it to was given",
            row=idx,
            column=col,
        )
    text = s[aware].str.replace(r"([+-]\d{2})$", r"\1:00", regex=True)
    moment = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    local = moment.dt.tz_convert(tz).dt.strftime("%Y-%m-%d %H:%M:%S")
    src.converted += int(moment.notna().sum())
    # an offset that does not parse keeps its text, which the date check then refuses
    return s.where(~aware, local.where(moment.notna(), s[aware]).reindex(s.index))


def parse_numbers(src: Source, df: pd.DataFrame, col: str) -> pd.Series:
    s = df[col].str.strip()
    values = pd.to_numeric(s, errors="coerce").astype("float64")
    bad = ~np.isfinite(values)
    if bad.any():
        idx = bad.idxmax()
        raise src.error(f"{quoted(s.at[idx])} is not a number", row=idx, column=col)
    return values


def check_amounts(src: Source, amounts: pd.Series, col: str, what: Callable[[int], str]) -> None:
    """Every amount finite and within ±``src.limits.max_amount``; ``what(row)`` describes it."""
    bound = src.limits.max_amount
    bad = ~(amounts.abs() <= bound)  # NaN and inf compare False
    if bad.any():
        idx = bad.idxmax()
        raise src.error(
            f"{what(idx)} is beyond ±{bound:g}, the largest amount accepted (--max-amount)",
            row=idx,
            column=col,
        )


def check_conflicts(src: Source, df: pd.DataFrame, key: str, cols: list[str]) -> pd.Series:
    """Raise on one key with two different values; return the mask of identical repeats."""
    if not df[key].duplicated().any():  # the usual case, and much cheaper than the full check
        return pd.Series(False, index=df.index)
    identical = df.duplicated(subset=[key, *cols])
    distinct = df[~identical]
    again = distinct[key].duplicated()
    if again.any():
        idx = again.idxmax()
        first = distinct.index[(distinct[key] == distinct.at[idx, key]).to_numpy()][0]
        col = next(c for c in cols if distinct.at[first, c] != distinct.at[idx, c])
        raise src.error(
            f"{key} {quoted(distinct.at[idx, key])} appears twice with different {col}: "
            f"{quoted(distinct.at[first, col])} on line {src.line_of(first)}, "
            f"{quoted(distinct.at[idx, col])} here",
            row=idx,
            column=col,
        )
    return identical
