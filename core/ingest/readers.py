"""Reading import files (CSV, gzipped CSV, Parquet) into frames of text, and checking values.

Every column is read as text, so ids keep their leading zeros; values are parsed vectorised and
the first bad one becomes an InputError naming the file, the physical line and the column.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from core.errors import InputError

READ_CHUNK_ROWS = 200_000
_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"
_FLOAT_ID = r"^(\d+)\.0+$"  # 17850.0 (a Parquet float column) is the id 17850

# --- reading a file into a frame of text -------------------------------------------------------


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

    @classmethod
    def open(cls, path: str | Path, mapping: Mapping[str, str]) -> Source:
        p, label = Path(path), str(path)
        name = p.name.lower()
        if not (name.endswith((".csv", ".csv.gz", ".parquet"))):
            raise InputError("unknown file type: expected .csv, .csv.gz or .parquet", file=label)
        if not p.is_file():
            raise InputError("no such file", file=label)
        return cls(
            p, label, name.endswith(".parquet"), name.endswith(".gz"), p.stat().st_size, mapping
        )

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
        with self._text() as f:  # only on the error path, so a slow exact scan is fine
            reader, record, start = csv.reader(f), -1, 1
            for fields in reader:
                if fields:  # pandas skips blank lines, so they are not records
                    if record == row:
                        return start
                    record += 1
                start = reader.line_num + 1
        return None

    def _text(self) -> IO[str]:
        opener = gzip.open if self.gz else open
        return opener(self.path, "rt", encoding="utf-8-sig", errors="replace", newline="")


def read_source(src: Source, advance: Callable[[int], None]) -> pd.DataFrame:
    """Every column as text ('' for empty), renamed by the mapping; index = data row number."""
    df = _read_parquet(src) if src.parquet else _read_csv(src, advance)
    advance(src.size if src.parquet else 0)
    if df.empty:
        raise src.error("the file has a header but no rows")
    names = [str(c).strip() for c in df.columns]
    targets = [src.mapping.get(c, c) for c in names]
    for source, target in zip(names, targets, strict=True):
        if source != target:
            src.renamed[target] = source
        if targets.count(target) > 1:
            raise src.error(f"two columns would be named {target!r}; check --map", column=target)
    df.columns = targets
    return df


def _read_csv(src: Source, advance: Callable[[int], None]) -> pd.DataFrame:
    chunks, seen = [], 0
    with open(src.path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if src.gz else raw
        try:
            with pd.read_csv(
                stream,
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
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
            raise InputError(
                f"not a well-formed CSV file ({str(exc).strip()})", file=src.label, line=line
            ) from None
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
            raise InputError(f"cannot read the file ({exc})", file=src.label) from None
    advance(src.size - seen)
    return pd.concat(chunks) if chunks else pd.DataFrame()


def _encoding_error(src: Source) -> InputError:
    """Find the first line that is not UTF-8, and the column it is in."""
    opener = gzip.open if src.gz else open
    header: list[str] | None = None
    with opener(src.path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                fields = next(csv.reader([raw.decode("utf-8", "replace")]), [])
                pos = next((i for i, v in enumerate(fields) if "\ufffd" in v), None)
                column = header[pos] if header and pos is not None and pos < len(header) else None
                return InputError(
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8 "
                    "(a BOM is fine)",
                    file=src.label,
                    line=number,
                    column=column,
                )
            if header is None:
                header = next(csv.reader([text]), [])
    return InputError("not UTF-8 text; save the file as UTF-8", file=src.label)


def _read_parquet(src: Source) -> pd.DataFrame:
    try:
        df = pd.read_parquet(src.path).reset_index(drop=True)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise InputError(f"not a readable Parquet file ({exc})", file=src.label) from None
    return pd.DataFrame({c: _as_text(df[c]) for c in df.columns}, index=df.index)


def _as_text(col: pd.Series) -> pd.Series:
    """A Parquet column as the text a CSV would hold ('' for missing)."""
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
            found = ", ".join(src.display(c) for c in df.columns)
            hint = " (or quantity and unit_price for order lines)" if col == "amount" else ""
            raise src.error(f"required column is missing{hint}; columns found: {found}", column=col)


def clean_ids(src: Source, df: pd.DataFrame, col: str) -> pd.Series:
    return df[col].str.strip().str.replace(_FLOAT_ID, r"\1", regex=True)


def parse_dates(src: Source, df: pd.DataFrame, col: str, *, optional: bool = False) -> pd.Series:
    """ISO dates or datetimes, normalised to 'YYYY-MM-DD HH:MM:SS' (empty stays empty if optional)."""
    s = df[col].str.strip()
    time = s.str.slice(11)
    time = time.where(time.str.len() == 8, (time + ":00").where(time.str.len() == 5, "00:00:00"))
    full = s.str.slice(0, 10) + " " + time
    parsed = pd.to_datetime(full, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    bad = ~s.str.fullmatch(_DATE) | parsed.isna()
    if optional:
        bad &= s != ""
        full = blank_to_none(full.where(s != "", ""))
    if bad.any():
        idx = bad.idxmax()
        raise src.error(
            f"{s[idx]!r} is not a date (expected 2024-06-01, 2024-06-01 08:26:00 or "
            "2024-06-01T08:26:00)",
            row=idx,
            column=col,
        )
    return full


def parse_numbers(src: Source, df: pd.DataFrame, col: str) -> pd.Series:
    s = df[col].str.strip()
    values = pd.to_numeric(s, errors="coerce").astype("float64")
    bad = ~np.isfinite(values)
    if bad.any():
        idx = bad.idxmax()
        raise src.error(f"{s[idx]!r} is not a number", row=idx, column=col)
    return values


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
            f"{key} {distinct.at[idx, key]!r} appears twice with different {col}: "
            f"{distinct.at[first, col]!r} on line {src.line_of(first)}, "
            f"{distinct.at[idx, col]!r} here",
            row=idx,
            column=col,
        )
    return identical
