"""The importer under generated input (issue 12's standing suite).

- 200 malformed files, each with one defect at a known line and column (tests/core/import_cases.py):
  exit code 2, one line naming file, line and column, the database byte-for-byte unchanged (or
  not created). ``USEROPS_FUZZ_CASES=N`` runs N instead (bench/reliability_import.py).
- hypothesis over valid files (quoting, line endings, BOM, gzip, offsets): what is stored is
  what a plain-Python reading of the same rows says.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_cases import LATEST, OPTION, csv_line, malformed

from core.ingest.importer import import_files
from core.store.db import open_db
from tui.cli import cli

CASES = int(os.environ.get("USEROPS_FUZZ_CASES", "200"))
BASE_USERS = "user_id,name,city\n1,Ann,Shanghai\n2,Bob,Chengdu\n"
BASE_ORDERS = "order_id,user_id,amount,created_at\no1,1,10.5,2024-06-01\no2,2,3,2024-06-02\n"


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """A database with rows, closed (no -wal): the bytes every failed import must leave."""
    root = tmp_path_factory.mktemp("base")
    (root / "u.csv").write_text(BASE_USERS)
    (root / "o.csv").write_text(BASE_ORDERS)
    path = root / "base.db"
    conn = open_db(path, create=True)
    import_files(conn, users=root / "u.csv", orders=root / "o.csv")
    conn.close()
    return path


OPTIONS = ("--latest-date", LATEST, "--tz", "UTC")


def run_import(db: Path, option: str, path: Path, options: tuple[str, ...] = OPTIONS):
    return CliRunner().invoke(cli, ["import", str(db), option, str(path), *options])


def check_malformed(
    seed: int, tmp_path: Path, base_db: Path, options: tuple[str, ...] = OPTIONS
) -> None:
    case = malformed(seed)
    path = tmp_path / f"case{seed}.csv{'.gz' if case.gz else ''}"
    path.write_bytes(case.data)
    db = tmp_path / f"case{seed}.db"
    existing = seed % 2 == 0
    if existing:
        shutil.copy(base_db, db)
    before = db.read_bytes() if existing else None
    result = run_import(db, OPTION[case.kind], path, options)
    where = f"{path}, line {case.line}" + (f", column {case.column!r}" if case.column else "")
    context = f"seed {seed} ({case.kind}, {case.defect}): {result.output[:300]!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), context
    assert result.exit_code == 2, context
    assert result.output.startswith(f"userops: Import failed: {where}: "), context
    assert result.output.count("\n") == 1 and result.output.endswith("\n"), context
    assert "dtype" not in result.output and len(result.output) < 600, context
    assert case.quoted is None or case.quoted in result.output, context
    if existing:
        assert db.read_bytes() == before, context
    leftovers = {p.name for p in tmp_path.glob(f"case{seed}.db*")}
    assert leftovers == ({db.name} if existing else set()), context


@pytest.mark.parametrize("chunk", range(4))
def test_malformed_files_are_refused_cleanly(chunk, tmp_path, base_db):
    for seed in range(chunk, CASES, 4):
        check_malformed(seed, tmp_path, base_db)


def test_every_defect_is_generated():
    from import_cases import MUTATIONS

    seen = {(c.kind, c.defect) for c in map(malformed, range(CASES))}
    assert seen == {(k, d) for k, ds in MUTATIONS.items() for d in ds}


# --- valid files ---------------------------------------------------------------------------------

TEXT = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00\ufeff"), max_size=8
)
IDS = st.text("0123456789abcXYZ用户_-", min_size=1, max_size=6)
WHEN = st.datetimes(datetime(2000, 1, 1), datetime(2029, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
FORMS = st.sampled_from(["date", "space", "T", "minutes", "Z", "+08:00", "-0530"])


def written(when: datetime, form: str) -> tuple[str, str]:
    """(as written in the file, as stored: UTC wall time 'YYYY-MM-DD HH:MM:SS')."""
    if form == "date":
        return when.strftime("%Y-%m-%d"), when.strftime("%Y-%m-%d 00:00:00")
    if form == "minutes":
        return when.strftime("%Y-%m-%d %H:%M"), when.strftime("%Y-%m-%d %H:%M:00")
    if form in ("space", "T"):
        sep = " " if form == "space" else "T"
        return when.strftime(f"%Y-%m-%d{sep}%H:%M:%S"), when.strftime("%Y-%m-%d %H:%M:%S")
    offset = {"Z": "Z", "+08:00": "+08:00", "-0530": "-05:30"}[form]
    aware = datetime.fromisoformat(
        when.strftime("%Y-%m-%dT%H:%M:%S") + offset.replace("Z", "+00:00")
    )
    text = when.strftime("%Y-%m-%dT%H:%M:%S") + {"-05:30": "-0530"}.get(offset, offset)
    return text, aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@st.composite
def shop(draw):
    user_ids = draw(st.lists(IDS, min_size=1, max_size=12, unique=True))
    users = [(u, draw(TEXT), draw(TEXT)) for u in user_ids]
    orders = []
    for i in range(draw(st.integers(0, 15))):
        cents = draw(st.integers(-(10**8), 10**8))
        text, stored = written(draw(WHEN), draw(FORMS))
        orders.append((f"o{i}", draw(st.sampled_from(user_ids)), f"{cents / 100}", text, stored))
    return users, orders


def to_csv(header, rows, ending, quote_all) -> str:
    return "".join(csv_line(list(r), ending, quote_all) for r in [header, *rows])


@settings(max_examples=int(os.environ.get("USEROPS_FUZZ_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(
    data=shop(),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    quote_all=st.booleans(),
    bom=st.booleans(),
    gz=st.booleans(),
)
def test_valid_files_are_stored_as_written(tmp_path, data, ending, quote_all, bom, gz):
    users, orders = data
    u_text = to_csv(["user_id", "name", "city"], users, ending, quote_all)
    o_text = to_csv(
        ["order_id", "user_id", "amount", "created_at"], [o[:4] for o in orders], ending, quote_all
    )
    files = {}
    for name, text in (("u", u_text), ("o", o_text)):
        raw = (("\ufeff" if bom else "") + text).encode()
        path = tmp_path / f"{name}.csv{'.gz' if gz else ''}"
        path.write_bytes(gzip.compress(raw) if gz else raw)
        files[name] = path
    db = tmp_path / "v.db"
    db.unlink(missing_ok=True)
    conn = open_db(db, create=True)
    try:
        import_files(conn, users=files["u"], orders=files["o"] if orders else None, tz=UTC)
        got_users = sorted(conn.execute("SELECT user_id, name, city FROM users"))
        got_orders = sorted(
            conn.execute("SELECT order_id, user_id, amount, created_at FROM orders")
        )
    finally:
        conn.close()

    def stored(v: str) -> str | None:
        return v.strip() or None

    assert got_users == sorted((u, stored(n), stored(c)) for u, n, c in users)
    assert got_orders == sorted((o, u, float(a), s) for o, u, a, _, s in orders)


def test_valid_file_with_crlf_inside_quotes_and_every_offset_form(tmp_path):
    """The examples hypothesis found worth keeping, as a fixed case."""
    text = 'user_id,name,city\r"007","a\r\nb",\r008," =x ","上,海"\r'
    path = tmp_path / "u.csv"
    path.write_text(text, newline="")
    conn = open_db(tmp_path / "x.db", create=True)
    import_files(conn, users=path)
    assert sorted(conn.execute("SELECT user_id, name, city FROM users")) == [
        ("007", "a\r\nb", None),
        ("008", "=x", "上,海"),
    ]
    conn.close()


# --- hostile bytes: a valid file with random bytes inserted, deleted or replaced ----------------

MUTATION = st.tuples(
    st.sampled_from(["insert", "delete", "replace"]),
    st.floats(0, 1),  # where, as a share of the file's length
    st.binary(min_size=1, max_size=4)
    | st.sampled_from([b",", b'"', b"\r", b"\n", b"\xff", b"\x00", b"+08:00", b"e999", b"9" * 9]),
)


@settings(max_examples=int(os.environ.get("USEROPS_FUZZ_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(
    seed=st.integers(0, 10**6),
    mutations=st.lists(MUTATION, min_size=1, max_size=4),
    existing=st.booleans(),
)
def test_mutated_bytes_import_or_fail_cleanly(tmp_path_factory, base_db, seed, mutations, existing):
    import random

    from import_cases import HEADERS, render, valid_rows

    rng = random.Random(seed)
    kind = rng.choice(["users", "orders", "events"])
    text, _ = render(HEADERS[kind], valid_rows(rng, kind, rng.randint(1, 8)), "\n")
    data = bytearray(text.encode())
    for how, at, piece in mutations:
        i = int(at * len(data))
        if how == "insert":
            data[i:i] = piece
        elif how == "delete":
            del data[i : i + len(piece)]
        else:
            data[i : i + len(piece)] = piece
    tmp = tmp_path_factory.mktemp("hostile")
    path = tmp / "f.csv"
    path.write_bytes(bytes(data))
    db = tmp / "f.db"
    if existing:
        shutil.copy(base_db, db)
    before = db.read_bytes() if existing else None
    result = run_import(db, OPTION[kind], path)
    context = f"{bytes(data)[:300]!r}: {result.output[:300]!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), context
    if result.exit_code == 0:
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM orders WHERE abs(amount) > 1e12").fetchone() == (
            0,
        )
        conn.close()
        return
    assert result.exit_code == 2, context
    assert result.output.startswith(f"userops: Import failed: {path}, line "), context
    assert result.output.count("\n") == 1 and "dtype" not in result.output, context
    if existing:
        assert db.read_bytes() == before, context
    else:
        assert not db.exists(), context
