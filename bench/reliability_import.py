"""The long profile of the importer's reliability suite: the same checks as
tests/core/test_import_fuzz.py and tests/core/test_import_faults.py, many more times, with the
figures (tried / held) that docs/reliability.md quotes.

    .venv/bin/python bench/reliability_import.py [--malformed 2000] [--valid 500] [--kills 30]
    .venv/bin/python bench/reliability_import.py --baseline   # malformed files only, without the
                                                              # options older versions lack

Each malformed file has one defect at a known line and column; it holds when the import exits
with code 2 and one line naming file, line and column, and the database is byte-for-byte as it
was (or not created). A kill holds when the database passes SQLite's integrity check and holds
either its rows from before or every row of the import. A full disk holds like a malformed file.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "core")]

import import_cases  # noqa: E402
import test_import_faults as faults  # noqa: E402
import test_import_fuzz as fuzz  # noqa: E402

from core.ingest.importer import import_files  # noqa: E402
from core.store.db import open_db  # noqa: E402


def malformed(n: int, root: Path, baseline: bool) -> None:
    base = root / "base.db"
    (root / "u.csv").write_text(fuzz.BASE_USERS)
    (root / "o.csv").write_text(fuzz.BASE_ORDERS)
    conn = open_db(base, create=True)
    import_files(conn, users=root / "u.csv", orders=root / "o.csv")
    conn.close()
    if baseline:  # versions before the --tz option refused offsets: generate none in valid rows
        import_cases.DATES[:] = [d for d in import_cases.DATES if d[-1].isdigit() and "+" not in d]
    tried, held, failures = Counter(), Counter(), []
    for seed in range(n):
        case = import_cases.malformed(seed)
        tried[case.defect] += 1
        work = root / f"m{seed}"
        work.mkdir()
        try:
            fuzz.check_malformed(seed, work, base, () if baseline else fuzz.OPTIONS)
            held[case.defect] += 1
        except Exception as exc:  # a failed check, or a crash of the check itself
            failures.append((seed, case.kind, case.defect, str(exc).splitlines()[0][:160]))
        shutil.rmtree(work)
    print(f"malformed files: {sum(held.values())} of {sum(tried.values())} held")
    for defect in sorted(tried):
        print(f"  {defect:<16} {held[defect]:>5} / {tried[defect]}")
    for failure in failures[:15]:
        print("  failed:", *failure)


def valid(n: int, root: Path) -> None:
    os.environ["USEROPS_FUZZ_EXAMPLES"] = str(n)
    import importlib

    module = importlib.reload(fuzz)
    work = root / "valid"
    work.mkdir()
    start = time.perf_counter()
    try:
        module.test_valid_files_are_stored_as_written(work)
        print(f"valid files (hypothesis): {n} of {n} held ({time.perf_counter() - start:.0f} s)")
    except Exception as exc:
        print(f"valid files (hypothesis): FAILED: {str(exc)[:300]}")
    start = time.perf_counter()
    try:
        module.test_mutated_bytes_import_or_fail_cleanly(_Temp(root), root / "base.db")
        print(f"hostile bytes (hypothesis): {n} of {n} held ({time.perf_counter() - start:.0f} s)")
    except Exception as exc:
        print(f"hostile bytes (hypothesis): FAILED: {str(exc)[:300]}")


class _Temp:
    """What the hostile-bytes test asks of pytest's tmp_path_factory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=name, dir=self.root))


def kills(n: int, root: Path) -> None:
    (root / "faults").mkdir()
    base, big, before, after = faults.prepare(root / "faults")
    rng = random.Random(12)
    outcome = Counter()
    db = root / "timed.db"
    db.write_bytes(base.read_bytes())
    start = time.perf_counter()
    faults.child("import", str(db), "--orders", str(big)).communicate()
    whole = time.perf_counter() - start  # kills land from start-up to the commit
    for i in range(n):
        db = root / f"k{i}.db"
        db.write_bytes(base.read_bytes())
        proc = faults.child("import", str(db), "--orders", str(big))
        time.sleep(rng.uniform(0.0, whole))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        got = faults.state(db)
        ok = got["integrity"] == [("ok",)] and got["foreign_keys"] == []
        outcome["before" if got == before else "after" if got == after else "PARTIAL"] += 1
        outcome["integrity ok"] += ok
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    print(
        f"kill -9 at random moments within one import's {whole:.1f} s: {n} tried; integrity ok {outcome['integrity ok']}; "
        f"state from before {outcome['before']}, complete import {outcome['after']}, "
        f"partial {outcome['PARTIAL']}"
    )
    rooms = [0, 4096, 64 * 1024, 256 * 1024, 1024 * 1024, 2 * 1024 * 1024]
    held = 0
    for room in rooms:
        db = root / "full.db"
        db.write_bytes(base.read_bytes())
        limit = db.stat().st_size + room
        proc = faults.child(str(limit), "import", str(db), "--orders", str(big),
                            prelude=faults.FULL_DISK)  # fmt: skip
        _, err = proc.communicate(timeout=300)
        same = db.read_bytes() == base.read_bytes() and faults.state(db) == before
        if proc.returncode == 2 and err.count("\n") == 1 and same:
            held += 1
        else:
            print(f"  full disk, room {room}: exit {proc.returncode}, {err[-200:]!r}, same {same}")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    print(f"full disk (RLIMIT_FSIZE, {len(rooms)} limits from +0 to +2 MiB): {held} held")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--malformed", type=int, default=2000)
    parser.add_argument("--valid", type=int, default=500)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        malformed(args.malformed, root, args.baseline)
        if not args.baseline:
            valid(args.valid, root)
            kills(args.kills, root)
        print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
