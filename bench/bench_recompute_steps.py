"""Benchmark: every step of the recompute on SQLite and on DuckDB, side by side in one run
(issue 17: where the time goes, and how much of it is the model fits, the same Python on both).

    .venv/bin/python bench/bench_recompute_steps.py --users 1000000
    .venv/bin/python bench/bench_recompute_steps.py --sqlite X.db --duckdb X.duckdb

The databases are bench_refresh.py's cache (``bench/bench_refresh_<N>_mbgnbd.db``) and its
DuckDB copy (``.duckdb``), or the files given; each is copied (the recompute writes), run once
as of its own date, fingerprinted (bench_engines.FINGERPRINT) and deleted before the next one is
copied, so that one copy at a time is on disk. DuckDB with ``memory_limit`` (3 GB) and 2
threads. Each step is a function of core wrapped by a timer (``STEPS``): its wall seconds and
CPU seconds *excluding* the steps inside it. CPU is the process's (every thread's: DuckDB's
workers, and on DuckDB the fits' thread while it overlaps) for the caller's steps; for the
fits it is their thread's own (``time.thread_time``): on DuckDB they run on a thread beside the
event passes, on SQLite in a second process beside its passes, whose figures come back with
its result. ``--serial-fits`` runs DuckDB's fits when their result is asked for, not on a
thread: every CPU second then belongs to one step (the totals are not the real run's).
The load average is printed before and after each engine.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

HERE = Path(__file__).resolve().parent


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Steps:
    """Wall and CPU seconds per (where, step), each step's own (children subtracted)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[float]] = {}
        self.order: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.local = threading.local()

    def add(self, where: str, label: str, wall: float, cpu: float, n: int = 1) -> None:
        with self.lock:
            key = (where, label)
            if key not in self.rows:
                self.rows[key] = [0.0, 0.0, 0]
                self.order.append(key)
            row = self.rows[key]
            row[0] += wall
            row[1] += cpu
            row[2] += n

    def wrap(self, label: str | Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
        steps = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = steps.local.__dict__.setdefault("stack", [])
            on_main = threading.current_thread() is threading.main_thread()
            where = "main" if on_main else "fits"
            clock = process_cpu if on_main else time.thread_time
            name = label(*args, **kwargs) if callable(label) else label
            frame = [0.0, 0.0]  # the children's wall and CPU
            stack.append(frame)
            wall0, cpu0 = time.perf_counter(), clock()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - wall0, clock() - cpu0
                stack.pop()
                if stack:
                    stack[-1][0] += wall
                    stack[-1][1] += cpu
                steps.add(where, name, wall - frame[0], cpu - frame[1])

        return timed


_ORIGINALS: list[tuple[Any, Any, Any]] = []


def replace(obj: Any, attr: Any, value: Any) -> None:
    """Set ``obj.attr`` (or ``obj[attr]`` of a dict), the original kept for _uninstall."""
    if isinstance(obj, dict):
        _ORIGINALS.append((obj, attr, obj[attr]))
        obj[attr] = value
    else:
        _ORIGINALS.append((obj, attr, getattr(obj, attr)))
        setattr(obj, attr, value)


def patch(obj: Any, attr: str, label: str | Callable[..., str], steps: Steps) -> None:
    replace(obj, attr, steps.wrap(label, getattr(obj, attr)))


def _script_label(conn: Any, script: tuple[str, ...], *args: Any, **kwargs: Any) -> str:
    table = re.search(r"CREATE TEMP TABLE (\w+)", script[0])
    return f"pass {table.group(1) if table else '?'}"


def install_fit_steps(steps: Steps) -> None:
    """The fits' steps (the same Python on both engines)."""
    from core.analytics import models, predict

    patch(predict, "read_frame", "summary read (one row per buyer)", steps)
    patch(predict, "summary_frame", "summary frame (pandas)", steps)
    patch(predict, "history_of", "fits: the rest (frames)", steps)
    patch(predict, "fit_summary", "fits: arrays, choice", steps)
    for name in list(models.FITTERS):
        replace(models.FITTERS, name, steps.wrap(f"fit {name}", models.FITTERS[name]))
    patch(models, "fit_gamma_gamma", "fit gamma_gamma", steps)
    patch(predict, "predictions", "predictions (outputs)", steps)
    patch(predict, "_intervals", "predictions: intervals", steps)
    patch(predict, "model_input_columns", "model inputs (frame)", steps)


def install_steps(steps: Steps, serial_fits: bool) -> None:
    from core import pipeline
    from core.analytics import coverage, features, predict, rfm
    from core.rules import history, layers, tags

    install_fit_steps(steps)
    patch(pipeline, "compute_features", "features: INSERT … SELECT (+ its DDL)", steps)
    patch(features, "compute_rfm_inputs", "RFM pass: the rest", steps)
    patch(features, "_run_script", _script_label, steps)
    patch(features, "_cut_clauses", "latest row time (the as-of cut)", steps)
    patch(features, "_drop_scratch", "scratch tables dropped", steps)
    patch(rfm, "score_plan", "RFM boundaries (buyers' R, F, M)", steps)
    patch(predict, "store_fits", "fits stored", steps)
    patch(predict, "_write_temp", "predictions written (uo_predict)", steps)
    patch(predict, "write_model_inputs", "model_inputs written", steps)
    patch(layers, "apply_layers", "layers + layer_history", steps)
    patch(tags, "apply_tags", "tags", steps)
    patch(history, "record", "rfm_history + tag_history", steps)
    patch(coverage, "record", "coverage (meta)", steps)
    patch(pipeline, "_swap", "swap (DROP, RENAME, indexes, meta)", steps)
    patch(pipeline, "_install", "SQLite: TEMP results copied in", steps)
    patch(pipeline, "_watch_inputs", "SQLite: inputs watched", steps)
    patch(pipeline, "_inputs", "SQLite: inputs compared", steps)
    _time_commit(pipeline, steps)
    _time_waits(features, steps, serial_fits)
    # SQLite's second process: its own figures come back with its result
    global _IN_PARENT
    _IN_PARENT = predict.purchase_history
    replace(predict, "purchase_history", child_purchase_history)


_IN_PARENT: Callable[..., Any] | None = None  # the real purchase_history, in the parent


def _time_commit(pipeline: Any, steps: Steps) -> None:
    original = pipeline.transaction

    @contextmanager
    def timed(conn: Any):
        cm = original(conn)
        value = steps.wrap("BEGIN", cm.__enter__)()
        try:
            yield value
        except BaseException:
            if not cm.__exit__(*sys.exc_info()):
                raise
        else:
            steps.wrap("COMMIT", cm.__exit__)(None, None, None)

    replace(pipeline, "transaction", timed)


def _time_waits(features: Any, steps: Steps, serial_fits: bool) -> None:
    """The wait for the fits' result (and on SQLite the child's figures merged in)."""
    beside, fits_beside = features.beside, features._fits_beside

    def merged(result: Callable[[], Any]) -> Callable[[], Any]:
        def wait() -> Any:
            report, out = result()
            for where, label, wall, cpu, n in out.attrs.pop("bench_steps", ()):
                steps.add(where, label, wall, cpu, n)
            return report, out

        return steps.wrap("waiting for the fits", wait)

    @contextmanager
    def timed_beside(*args: Any, **kwargs: Any):
        with beside(*args, **kwargs) as result:
            yield merged(result)

    @contextmanager
    def timed_fits(conn: Any, as_of: Any, fit: bool):
        if serial_fits:
            from core.analytics import predict

            summary = predict.summary_frame(
                predict.read_frame(
                    conn,
                    features._engine_summary_sql(features.dialect_of(conn)),
                    features._bounds(as_of),
                )
            )
            choice = predict.recorded_choice(conn) if fit else None
            yield merged(lambda: predict.history_of(summary, as_of, choice, fit=fit))
            return
        with fits_beside(conn, as_of, fit) as result:
            yield merged(result)

    replace(features, "beside", timed_beside)
    replace(features, "_fits_beside", timed_fits)


def child_purchase_history(conn: Any, as_of: Any, fit: bool) -> Any:
    """predict.purchase_history in SQLite's second process, its steps timed there and handed
    back in the result's frame (``attrs``)."""
    from core.analytics import predict

    if _IN_PARENT is not None:  # no second process (small data): already timed here
        return _IN_PARENT(conn, as_of, fit)
    steps = Steps()
    original = predict.purchase_history
    install_fit_steps(steps)
    patch(predict, "summarise", "summary: the rest", steps)
    wall0, cpu0 = time.perf_counter(), process_cpu()
    report, out = original(conn, as_of, fit)
    rows = [("child", label, *row) for (_, label), row in steps.rows.items()]
    total = sum(r[2] for r in rows), sum(r[3] for r in rows)
    wall, cpu = time.perf_counter() - wall0, process_cpu() - cpu0
    rows.append(("child", "second process: the rest", wall - total[0], cpu - total[1], 1))
    out.attrs["bench_steps"] = rows
    return report, out


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def run_one(label: str, conn: Any, steps: Steps) -> tuple[float, float, Any]:
    from bench_engines import fingerprint
    from bench_refresh import cpu

    from core.pipeline import recompute
    from core.store.db import stored_as_of

    as_of = stored_as_of(conn)
    print(f"  {label}: recompute as of {as_of} ({load()})", flush=True)
    wall0, cpu0 = time.perf_counter(), cpu()
    report = recompute(conn, as_of)
    wall, spent = time.perf_counter() - wall0, cpu() - cpu0
    print(
        f"  {label}: {wall:.1f} s wall, {spent:.1f} s CPU; {report.users:,} users, "
        f"{report.buyers:,} buyers; models "
        f"{', '.join(f'{m} {s[:12]}' for m, s in report.models.items())} ({load()})",
        flush=True,
    )
    return wall, spent, fingerprint(conn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--sqlite", type=Path, help="the SQLite database (copied)")
    parser.add_argument("--duckdb", type=Path, help="its DuckDB copy (copied)")
    parser.add_argument("--engines", default="sqlite,duckdb", help="which, in this order")
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--serial-fits", action="store_true", help="DuckDB's fits not beside")
    parser.add_argument("--in-place", action="store_true", help="recompute the files given")
    args = parser.parse_args()

    from bench_engines import _close

    from core.store.db import open_db
    from core.store.duck import open_duckdb

    cached = HERE / f"bench_refresh_{args.users}_mbgnbd.db"
    sources = {
        "sqlite": args.sqlite or cached,
        "duckdb": args.duckdb or cached.with_suffix(".duckdb"),
    }
    results: dict[str, tuple[float, float, Steps, Any]] = {}
    print(
        f"recompute steps; DuckDB memory_limit {args.memory_limit}, {args.threads} threads"
        f"{', fits serial' if args.serial_fits else ''}; cores {os.cpu_count()}; {load()}"
    )
    for engine in args.engines.split(","):
        source = sources[engine]
        path = source if args.in_place else HERE / f"steps_work{source.suffix}"
        if not args.in_place:
            started = time.perf_counter()
            shutil.copy(source, path)
            print(f"{engine}: {source} copied in {time.perf_counter() - started:.1f} s", flush=True)
        steps = Steps()
        install_steps(steps, args.serial_fits and engine == "duckdb")
        try:
            if engine == "sqlite":
                conn = open_db(path)
            else:
                conn = open_duckdb(path)
                conn.raw.execute(f"SET memory_limit = '{args.memory_limit}'")
                conn.raw.execute(f"SET threads = {args.threads}")
            wall, spent, fp = run_one(engine, conn, steps)
            conn.close()
        finally:
            _uninstall()
            if not args.in_place:
                for leftover in (
                    path,
                    Path(f"{path}-wal"),
                    Path(f"{path}-shm"),
                    Path(f"{path}.wal"),
                ):
                    leftover.unlink(missing_ok=True)
        results[engine] = (wall, spent, steps, fp)
    print_table(results)
    if len(results) == 2:
        (wa, ca, _, fa), (wb, cb, _, fb) = results["sqlite"], results["duckdb"]
        same = all(_close(x, y) for x, y in zip(fa, fb, strict=True))
        print(f"DuckDB / SQLite speed: {wa / wb:.2f}x wall, {ca / cb:.2f}x CPU")
        print("results: " + ("same" if same else "DIFFERENT"))


def _uninstall() -> None:
    """Back to the unwrapped functions (each engine's run wraps them afresh)."""
    while _ORIGINALS:
        obj, attr, original = _ORIGINALS.pop()
        if isinstance(obj, dict):
            obj[attr] = original
        else:
            setattr(obj, attr, original)


def print_table(results: dict[str, tuple[float, float, Steps, Any]]) -> None:
    keys: list[tuple[str, str]] = []
    for _, _, steps, _ in results.values():
        keys += [k for k in steps.order if k not in keys]
    engines = list(results)
    head = "".join(f" {e + ' wall':>12} {e + ' CPU':>11}" for e in engines)
    print(f"\n  {'step (its own time, steps inside it excluded)':<48} {'where':<6}{head}")
    for key in keys:
        cells = ""
        for e in engines:
            row = results[e][2].rows.get(key)
            cells += f" {row[0]:11.2f}s {row[1]:10.2f}s" if row else f" {'':>12} {'':>11}"
        print(f"  {key[1][:48]:<48} {key[0]:<6}{cells}")
    rest = ""
    for wall, spent, steps, _ in results.values():
        main = [row for (where, _), row in steps.rows.items() if where == "main"]
        rest += f" {wall - sum(r[0] for r in main):11.2f}s {spent - sum(r[1] for r in main):10.2f}s"
    print(f"  {'not in a step (main) / fits elsewhere (CPU)':<48} {'':<6}{rest}")
    totals = "".join(f" {r[0]:11.2f}s {r[1]:10.2f}s" for r in results.values())
    print(f"  {'the whole recompute (CPU: + waited-for children)':<48} {'':<6}{totals}")
    for e in engines:
        steps = results[e][2]
        fits = [
            (w, c)
            for (where, label), (w, c, _) in steps.rows.items()
            if where != "main"
            and label != "summary read (one row per buyer)"
            and not label.startswith("summary")
        ]
        print(
            f"  {e}: fits + predictions (Python, off the caller's thread): "
            f"{sum(w for w, _ in fits):.2f} s wall, {sum(c for _, c in fits):.2f} s CPU"
        )


if __name__ == "__main__":
    main()
