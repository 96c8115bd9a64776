"""How long do light commands and the app take to start, against a bare ``python -c pass``?

Run: .venv/bin/python bench/bench_startup.py [--runs 10] [--db demo.db]

Each figure is the wall time of a new process (spawn to exit), best and median of ``--runs``,
in seconds and as a ratio to the median of ``python -c pass`` measured in the same run:
  --version                 userops --version
  segment count             userops segment count DB 'city = "上海"'
  campaign mark             userops campaign mark COPY bench U000001 (a copy of DB with a campaign)
  users --format csv        userops users DB 'user_id = "U000001"' --format csv (one row: start-up)
  layers                    userops layers DB
  app first screen          spawn to the Users screen holding its first page: the `open` command's
                            own steps (database check, as-of) then UserOpsApp headless with
                            Textual's App.run_test at 160x48; the child says "ready" when the
                            table has rows, and the time is taken when the parent reads it.
Commands run as ``python -m tui …`` (what the ``userops`` script runs) in ``--tree`` (default:
this checkout), which comes first on their path: to measure an older commit, unpack it with
``git archive COMMIT | tar -x -C DIR`` and pass ``--tree DIR`` (same venv, same demo.db).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

APP_PROBE = """
import asyncio, sys
from pathlib import Path
from datetime import date

from core.store.db import stored_as_of
from tui.cli.common import database

db = sys.argv[1]
with database(db, readonly=True) as conn:
    as_of = stored_as_of(conn) or date.today()
from tui.app import Settings, UserOpsApp

async def main():
    app = UserOpsApp(Settings(Path(db), as_of, "zh", False))
    async with app.run_test(size=(160, 48)) as pilot:
        while True:
            try:
                if app.screen.query_one("UserTable").row_count > 0:
                    break
            except Exception:
                pass
            await pilot.pause(0.002)
        print("ready", flush=True)
        sys.stdout.close()  # the parent stops its clock here, not at the app's shutdown

asyncio.run(main())
"""


def pythonpath(tree: Path) -> str:
    """The tree first, then any PYTHONPATH given (e.g. a dependency an older tree needs)."""
    return os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH", "")) if p)


def wall(argv: list[str], tree: Path, until_line: bool = False) -> float:
    env = {**os.environ, "PYTHONPATH": pythonpath(tree)}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    if until_line:
        line = proc.stdout.readline()
        seconds = time.perf_counter() - start
        proc.communicate()
        if line.strip() != b"ready":
            raise SystemExit(f"app probe failed: {proc.stderr}")
        return seconds
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.decode()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--db", default=str(ROOT / "demo.db"))
    parser.add_argument("--tree", default=str(ROOT), help="the source tree to measure")
    args = parser.parse_args()
    tree = Path(args.tree).resolve()
    args.db = str(Path(args.db).resolve())
    py = sys.executable
    userops = [py, "-m", "tui"]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        shutil.copy(args.db, copy)
        subprocess.run(
            [*userops, "campaign", "create", str(copy), "bench"],
            check=True,
            cwd=tree,
            env={**os.environ, "PYTHONPATH": pythonpath(tree)},
            stdout=subprocess.DEVNULL,
        )
        cases = {
            "python -c pass": ([py, "-c", "pass"], False),
            "--version": ([*userops, "--version"], False),
            "segment count": ([*userops, "segment", "count", args.db, 'city = "上海"'], False),
            "campaign mark": ([*userops, "campaign", "mark", str(copy), "bench", "U000001"], False),
            "users --format csv": (
                [*userops, "users", args.db, 'user_id = "U000001"', "--format", "csv"],
                False,
            ),
            "layers": ([*userops, "layers", args.db], False),
            "app first screen": ([py, "-c", APP_PROBE, args.db], True),
        }
        for argv, until_line in cases.values():  # warm the page cache and .pyc files once
            wall(argv, tree, until_line)
        times = {n: [wall(a, tree, u) for _ in range(args.runs)] for n, (a, u) in cases.items()}
    base = statistics.median(times["python -c pass"])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{Path(args.db).name}, {args.runs} runs each, code from {tree}; load average {load}")
    print(f"{'':<20} {'best s':>7} {'median s':>9} {'× pass':>7}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<20} {min(ts):7.3f} {med:9.3f} {med / base:7.1f}")


if __name__ == "__main__":
    main()
