"""Running strategies for the database's as-of date: select, apply the limits, resolve
priorities, split targets / control / variants, store each run as a dated campaign run and
write its target file. docs/strategies.md, "Running".

Order of selection for each due strategy, highest priority first:
1. matched: users the condition holds for;
2. mode: ``entering`` keeps those who did not match at the strategy's previous run;
3. global control: removed (never targeted);
4. cooldown: removed when selected by this strategy (target or control) within the last
   ``cooldown_days`` days (on a day ≥ as_of − (N − 1));
5. frequency cap: removed when already a *target* K times in the last N days, by any campaign or
   strategy run (the test `targeted within Nd` uses: core.query.behaviour.TARGETED_ON);
6. priority: removed when a higher-priority strategy selected them on this run;
7. the seeded draw (stored per user): control with the holdout share, else a variant;
8. max per run: users in seeded random order, until the targets reach the maximum (control users
   drawn on the way stay, so target and control remain comparable).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from core.audience.campaigns.members import control_draw
from core.audience.campaigns.records import log_json, stamp
from core.audience.global_control import ensure_global_control, get_global_control
from core.audience.strategies import store
from core.audience.strategies.model import Strategy, StrategyError, Variant
from core.errors import DatabaseError
from core.query import compile_condition
from core.query.behaviour import TARGETED_ON
from core.store.db import get_meta, set_meta, stored_as_of, transaction
from core.store.engines import insert_with_id
from core.store.outputs import atomic_output, csv_writer

REMOVED_BY = ("not_entering", "global_control", "cooldown", "frequency_cap", "priority", "max")


@dataclass(frozen=True)
class OfferCount:
    """The targets of one action on one run."""

    channel: str
    offer: str
    variant: str  # "A", "B", … for variants; "" otherwise
    targets: int
    user_ids: tuple[str, ...]  # sorted


@dataclass(frozen=True)
class StrategyRun:
    """One strategy on one date: what ran (or would run) and why not when it did not.

    ``status``: ``ran``; ``dry_run`` (what would run); ``not_due`` (the schedule); ``already_ran``
    (this date has a run: nobody is added); ``paused``.
    """

    strategy: str
    as_of: date
    status: str
    matched: int
    removed: dict[str, int]  # REMOVED_BY -> users removed by that step
    targets: int
    control: int
    offers: tuple[OfferCount, ...]
    campaign: str | None  # the dated campaign run holding targets and control
    file: Path | None  # the target file (None for a dry run; nobody targeted: its header only)
    reason: str = ""


@dataclass(frozen=True)
class Overlap:
    """Users both strategies would want on this date (after mode and global control, before
    the limits and the priority): the MECE check, for strategies."""

    a: str
    b: str
    users: int


@dataclass(frozen=True)
class RunReport:
    as_of: date
    dry_run: bool
    runs: tuple[StrategyRun, ...]
    overlaps: tuple[Overlap, ...]  # pairs of the strategies that run (would run) on this date

    @property
    def targets(self) -> int:
        return sum(r.targets for r in self.runs)

    @property
    def control(self) -> int:
        return sum(r.control for r in self.runs)


@dataclass(frozen=True)
class Preview:
    """A strategy being edited, against the saved active ones, on today's data."""

    matched: int  # the condition holds for
    wanted: int  # after the mode and the global control
    run: StrategyRun  # a dry run among the active strategies (priority applied)
    overlaps: dict[str, int]  # other strategy -> users both want


def run_strategies(
    conn: sqlite3.Connection,
    names: list[str] | None = None,
    *,
    dry_run: bool = False,
    out_dir: Path | None = None,
    force: bool = False,
    write_files: bool = True,
) -> RunReport:
    """Run the active strategies (or ``names``, active or not) that are due on the database's
    as-of date, in one write transaction: all runs of the date or none (kill -9 leaves no
    partial run). A date that already has a run of a strategy adds nobody to it. Target files
    (never the control) are written atomically to ``out_dir`` (default: the stored setting)
    before the commit, one per strategy and date, so a killed run rewritten later gives the same
    files. ``force`` runs named strategies even when not due by their schedule. While another
    process writes, this waits (the busy timeout), then stops with a one-line DatabaseError.
    ``write_files=False`` stores the runs without target files (the demo's history)."""
    as_of = _as_of(conn)
    if dry_run:
        chosen = _chosen(conn, names)
        runs = _select(conn, as_of, chosen, names is not None, force, dry_run=True)
        return RunReport(as_of, True, tuple(r.result for r in runs), _pairs(_running(runs)))
    folder = Path(out_dir) if out_dir is not None else None
    try:
        # target files are written (and synced) beside their names inside the transaction and
        # renamed into place only after the commit: a killed run leaves no file of a run that
        # did not happen; a file lost between commit and rename is rewritten by the next run
        with ExitStack() as files, transaction(conn):
            ensure_global_control(conn)
            chosen = _chosen(conn, names)
            runs = _select(conn, as_of, chosen, names is not None, force, dry_run=False)
            folder = (folder or store.out_dir(conn)) if write_files else None
            results = [_record(conn, as_of, sel, folder, files) for sel in runs]
    except DatabaseError as exc:
        if "locked" in str(exc):
            raise StrategyError(
                "Another run or another write holds the database: no strategy ran. "
                "Try again when it has finished (a second run of the same date adds nobody)."
            ) from exc
        raise
    return RunReport(as_of, False, tuple(results), _pairs(_running(runs)))


def overlaps(conn: sqlite3.Connection, names: list[str] | None = None) -> list[Overlap]:
    """Pairwise overlaps of what the strategies (default: the active ones) would want today,
    whether or not they are due: the standing MECE check of the set. A run's (and a dry run's)
    own overlaps, in ``RunReport.overlaps``, are only of the strategies that run that day."""
    as_of = _as_of(conn)
    chosen = _chosen(conn, names)
    runs = [_wanted(conn, as_of, s) for s in chosen]
    return list(_pairs(runs))


def preview(conn: sqlite3.Connection, strategy: Strategy) -> Preview:
    """The live count for an edit form: who ``strategy`` (saved or not) would target today,
    and its overlap with each other active strategy. Writes nothing; a condition that does
    not compile raises its QueryError (with the column)."""
    as_of = _as_of(conn)
    others = [s for s in store.list_all(conn) if s.active and s.name != strategy.name]
    chosen = sorted([strategy, *others], key=_rank)
    runs = _select(conn, as_of, chosen, True, True, dry_run=True, only_due=False)
    mine = next(r for r in runs if r.strategy.name == strategy.name)
    pairs = {o.strategy.name: len(mine.wanted & o.wanted) for o in runs if o is not mine}
    return Preview(len(mine.matched), len(mine.wanted), mine.result, pairs)


# --- selection ------------------------------------------------------------------------------


@dataclass
class _Selection:
    strategy: Strategy
    status: str
    matched: set[str] = field(default_factory=set)
    wanted: set[str] = field(default_factory=set)  # after mode and global control
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REMOVED_BY, 0))
    control: list[str] = field(default_factory=list)
    targets: dict[str, int] = field(default_factory=dict)  # user -> arm index
    arms: list[tuple[str, Variant]] = field(default_factory=list)  # (variant label, action)
    new_draws: dict[str, int] = field(default_factory=dict)
    reason: str = ""
    result: StrategyRun = None  # type: ignore[assignment]  # set by _finish


def _rank(s: Strategy) -> tuple[int, str]:
    return (-s.priority, s.name)


def _chosen(conn: sqlite3.Connection, names: list[str] | None) -> list[Strategy]:
    if names is None:
        return [s for s in store.list_all(conn) if s.active]
    picked = {store.get(conn, n).name: store.get(conn, n) for n in names}
    return sorted(picked.values(), key=_rank)


def _as_of(conn: sqlite3.Connection) -> date:
    found = stored_as_of(conn)
    if found is None or get_meta(conn, "features_as_of") is None:
        raise StrategyError(
            "The features are not computed yet: run `userops refresh DB` first (strategies "
            "run on the database's as-of date)."
        )
    return found


def _last_run(conn: sqlite3.Connection, name: str) -> date | None:
    row = conn.execute(
        "SELECT max(run_date) FROM strategy_runs WHERE strategy = ?", (name,)
    ).fetchone()
    return date.fromisoformat(row[0]) if row[0] else None


def _select(
    conn: sqlite3.Connection,
    as_of: date,
    chosen: list[Strategy],
    named: bool,
    force: bool,
    *,
    dry_run: bool,
    only_due: bool = True,
) -> list[_Selection]:
    taken: set[str] = set()  # users a higher-priority strategy selected on this run
    cap = frequency_cap(conn)
    out = []
    for strategy in chosen:
        sel = _wanted(conn, as_of, strategy)
        last = _last_run(conn, strategy.name)
        if not strategy.active:
            sel.status, sel.reason = "paused", "paused: resume it to run"
        elif last == as_of:
            sel.status, sel.reason = "already_ran", f"already ran on {as_of}: nobody is added"
        elif last is not None and as_of < last:  # runs go forward in data time (entering, cooldown)
            sel.status = "not_due"
            sel.reason = f"last ran on {last}, after {as_of}: a strategy does not run in the past"
        elif only_due and not (force and named) and not strategy.schedule.due(as_of, last):
            sel.status = "not_due"
            sel.reason = f"not due on {as_of} (schedule {strategy.schedule.text})"
        else:
            sel.status = "dry_run" if dry_run else "ran"
            _limit(conn, as_of, sel, taken, cap)
        out.append(sel)
    for sel in out:
        _finish(sel, as_of)
    return out


def _wanted(conn: sqlite3.Connection, as_of: date, strategy: Strategy) -> _Selection:
    compiled = compile_condition(conn, strategy.condition, as_of=as_of)
    matched = {
        r[0]
        for r in conn.execute(
            f"SELECT f.user_id FROM features AS f WHERE ({compiled.where})", compiled.params
        )
    }
    sel = _Selection(strategy, "", matched)
    wanted = matched
    if strategy.mode == "entering":
        last = _last_run(conn, strategy.name)
        if last is not None:
            before = {
                r[0]
                for r in conn.execute(
                    "SELECT user_id FROM strategy_matches WHERE strategy = ? AND last_matched = ?",
                    (strategy.name, last.isoformat()),
                )
            }
            wanted = matched - before
            sel.removed["not_entering"] = len(matched) - len(wanted)
    setting = get_global_control(conn)
    if setting.pct > 0:
        share = setting.pct / 100
        held = {u for u in wanted if control_draw(setting.seed, f"global:{u}") < share}
        sel.removed["global_control"] = len(held)
        wanted = wanted - held
    sel.wanted = set(wanted)
    return sel


def _limit(
    conn: sqlite3.Connection,
    as_of: date,
    sel: _Selection,
    taken: set[str],
    cap: tuple[int, int] | None,
) -> None:
    s = sel.strategy
    users = set(sel.wanted)
    if s.cooldown_days > 0:
        since = (as_of - timedelta(days=s.cooldown_days - 1)).isoformat()
        cooled = {
            r[0]
            for r in conn.execute(
                "SELECT m.user_id FROM strategy_runs AS r"
                " JOIN campaign_members AS m ON m.campaign = r.campaign"
                " WHERE r.strategy = ? AND r.run_date >= ?",
                (s.name, since),
            )
        }
        sel.removed["cooldown"] = len(users & cooled)
        users -= cooled
    if cap is not None:
        times, days = cap
        since = (as_of - timedelta(days=days - 1)).isoformat()
        capped = {
            r[0]
            for r in conn.execute(
                "SELECT m.user_id FROM campaign_members AS m"
                " JOIN campaigns AS c ON c.name = m.campaign"
                f" WHERE m.role = 'target' AND {TARGETED_ON} >= ?"
                " GROUP BY m.user_id HAVING count(*) >= ?",
                (since, times),
            )
        }
        sel.removed["frequency_cap"] = len(users & capped)
        users -= capped
    sel.removed["priority"] = len(users & taken)
    users -= taken
    draws = _draws(conn, s, users)
    sel.arms = _arms(s)
    groups = _groups(conn, s, users)
    order = sorted(users, key=lambda u: (control_draw(s.seed, f"order:{s.name}:{as_of}:{u}"), u))
    n_targets = 0
    kept = 0
    for uid in order:
        if s.max_per_run is not None and n_targets >= s.max_per_run:
            break
        kept += 1
        arm, fresh = draws[uid]
        if fresh:
            sel.new_draws[uid] = arm
        if arm < 0:
            sel.control.append(uid)
        else:
            sel.targets[uid] = _arm_index(s, sel.arms, arm, groups.get(uid))
            n_targets += 1
    sel.removed["max"] = len(order) - kept
    taken.update(order[:kept])


def _draws(
    conn: sqlite3.Connection, s: Strategy, users: Iterable[str]
) -> dict[str, tuple[int, bool]]:
    """Each user's arm for this strategy: the stored draw, else a new seeded one (fresh)."""
    stored = dict(
        conn.execute("SELECT user_id, arm FROM strategy_draws WHERE strategy = ?", (s.name,))
    )
    share, n_arms = s.holdout_pct / 100, len(s.arms)
    out: dict[str, tuple[int, bool]] = {}
    for uid in users:
        if uid in stored:
            out[uid] = (int(stored[uid]), False)
            continue
        d = control_draw(s.seed, f"strategy:{s.name}:{uid}")
        arm = -1 if d < share else min(n_arms - 1, int((d - share) / (1 - share) * n_arms))
        out[uid] = (arm, True)
    return out


def _arms(s: Strategy) -> list[tuple[str, Variant]]:
    if s.variants:
        return [(chr(ord("A") + i), v) for i, v in enumerate(s.variants)]
    return [("", Variant(s.channel, s.offer))]


def _arm_index(s: Strategy, arms: list[tuple[str, Variant]], drawn: int, group: str | None) -> int:
    if s.variants:
        return drawn
    action = s.offer_for(0, group)
    for i, (_, v) in enumerate(arms):
        if v == action:
            return i
    arms.append(("", action))
    return len(arms) - 1


def _groups(conn: sqlite3.Connection, s: Strategy, users: set[str]) -> dict[str, str | None]:
    if not s.offers_by or not users:
        return {}
    column = "layer" if s.offers_by == "layer" else "rfm_group"
    return {
        r[0]: r[1] for r in conn.execute(f"SELECT user_id, {column} FROM features") if r[0] in users
    }


def _finish(sel: _Selection, as_of: date) -> None:
    offers = []
    for i, (label, action) in enumerate(sel.arms):
        ids = tuple(sorted(u for u, a in sel.targets.items() if a == i))
        if ids or sel.strategy.variants:
            offers.append(OfferCount(action.channel, action.offer, label, len(ids), ids))
    sel.result = StrategyRun(
        strategy=sel.strategy.name,
        as_of=as_of,
        status=sel.status,
        matched=len(sel.matched),
        removed=dict(sel.removed),
        targets=len(sel.targets),
        control=len(sel.control),
        offers=tuple(offers),
        campaign=None,
        file=None,
        reason=sel.reason,
    )


def _running(runs: list[_Selection]) -> list[_Selection]:
    """The selections that run (or would run) on this date: not paused, due, not already run."""
    return [r for r in runs if r.status in ("ran", "dry_run")]


def _pairs(runs: list[_Selection]) -> tuple[Overlap, ...]:
    out = []
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            out.append(Overlap(a.strategy.name, b.strategy.name, len(a.wanted & b.wanted)))
    return tuple(out)


# --- recording ------------------------------------------------------------------------------


def campaign_name(strategy: str, on: date) -> str:
    """The dated campaign a run of ``strategy`` on ``on`` is stored as."""
    return f"strategy {strategy} {on.isoformat()}"


def _record(
    conn: sqlite3.Connection, as_of: date, sel: _Selection, folder: Path | None, files: ExitStack
) -> StrategyRun:
    s = sel.strategy
    if s.mode == "entering" and sel.status == "ran":
        # only the set of this run is needed: "entering" compares with the previous run
        conn.execute("DELETE FROM strategy_matches WHERE strategy = ?", (s.name,))
        conn.executemany(
            "INSERT INTO strategy_matches(strategy, user_id, last_matched) VALUES (?, ?, ?)",
            [(s.name, u, as_of.isoformat()) for u in sorted(sel.matched)],
        )
    if sel.status == "already_ran" and folder is not None:
        _rewrite_if_missing(conn, s, as_of, files)
    if sel.status != "ran":
        return sel.result
    name = campaign_name(s.name, as_of)
    if conn.execute("SELECT 1 FROM campaigns WHERE name = ?", (name,)).fetchone():
        raise StrategyError(
            f"A campaign named {name!r} already exists: rename it to run {s.name!r}."
        )
    now, day = stamp(None), as_of.isoformat()
    first = s.arms[0]
    conn.execute(
        "INSERT INTO campaigns(name, channel, offer, status, start_date, created_at)"
        " VALUES (?, ?, ?, 'sent', ?, ?)",
        (name, first.channel, s.action_text, day, now),
    )
    members = [(u, "target") for u in sorted(sel.targets)] + [
        (u, "control") for u in sorted(sel.control)
    ]
    conn.executemany(
        "INSERT INTO campaign_members(campaign, user_id, role, added_at, source, added_on)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(name, u, role, now, "", day) for u, role in members],  # the campaign names it
    )
    # stored: the control users and the variant draws (a user without a row, in a strategy
    # without variants, drew its one action): the same draw, whatever the run
    conn.executemany(
        "INSERT OR REPLACE INTO strategy_draws(strategy, user_id, arm) VALUES (?, ?, ?)",
        [(s.name, u, a) for u, a in sorted(sel.new_draws.items()) if a != 0 or s.variants],
    )
    path = folder / target_file_name(s.name, as_of) if folder is not None else None
    arms = [[label, v.channel, v.offer] for label, v in sel.arms]
    run_id = insert_with_id(
        conn,
        "strategy_runs",
        "INSERT INTO strategy_runs(strategy, run_date, campaign, matched, removed, targets,"
        " control, arms, file, ran_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            s.name,
            day,
            name,
            len(sel.matched),
            json.dumps(sel.removed),
            len(sel.targets),
            len(sel.control),
            json.dumps(arms, ensure_ascii=False),
            str(path) if path else None,
            now,
        ),
    )
    conn.executemany(
        "INSERT INTO strategy_targets(run_id, user_id, arm) VALUES (?, ?, ?)",
        [(run_id, u, a) for u, a in sorted(sel.targets.items())],
    )
    detail = {
        "text": f"strategy {s.name} on {day}: {len(sel.targets)} targets, "
        f"{len(sel.control)} control, holdout {s.holdout_pct}%, seed {s.seed}",
        "removed": sel.removed,
    }
    log_json(conn, name, _who(), None, "strategy run", detail, len(members))
    if path is not None:
        rows = [(uid, *sel.arms[arm]) for uid, arm in sorted(sel.targets.items())]
        _write_targets(conn, s, as_of, rows, path, files)
    r = sel.result
    return StrategyRun(
        r.strategy,
        r.as_of,
        r.status,
        r.matched,
        r.removed,
        r.targets,
        r.control,
        r.offers,
        name,
        path,
        r.reason,
    )


def target_file_name(strategy: str, on: date) -> str:
    return f"{strategy}_{on.isoformat()}.csv"


def _rewrite_if_missing(
    conn: sqlite3.Connection, s: Strategy, as_of: date, files: ExitStack
) -> None:
    """The target file of the run of ``as_of`` again, from the stored targets, when it is not
    where the run wrote it (lost between the commit and the rename, or deleted)."""
    row = conn.execute(
        "SELECT id, arms, file FROM strategy_runs WHERE strategy = ? AND run_date = ?",
        (s.name, as_of.isoformat()),
    ).fetchone()
    if row is None or not row[2] or Path(row[2]).exists():
        return
    arms = [(label, Variant(channel, offer)) for label, channel, offer in json.loads(row[1])]
    rows = [
        (uid, *arms[arm])
        for uid, arm in conn.execute(
            "SELECT user_id, arm FROM strategy_targets WHERE run_id = ? ORDER BY user_id", (row[0],)
        )
    ]
    _write_targets(conn, s, as_of, rows, Path(row[2]), files)


def _write_targets(
    conn: sqlite3.Connection,
    s: Strategy,
    as_of: date,
    rows: list[tuple[str, str, Variant]],
    path: Path,
    files: ExitStack,
) -> None:
    """The run's targets (never the control), one row each (user, variant label, action),
    written whole or not at all (renamed into place when ``files`` closes)."""
    contact = s.include_contact
    info: dict[str, tuple[str, str]] = {}
    if contact:
        wanted = {r[0] for r in rows}
        info = {
            r[0]: (r[1], r[2])
            for r in conn.execute("SELECT user_id, phone, email FROM users")
            if r[0] in wanted
        }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StrategyError(
            f"Cannot create the target-file folder {path.parent}: {exc.strerror}."
        ) from exc
    header = ["user_id", "strategy", "date", "channel", "offer", "variant"]
    if contact:
        header += ["phone", "email"]
    out = files.enter_context(atomic_output(path))
    writer = csv_writer(out.file)
    writer.writerow(header)
    for uid, label, action in rows:
        row = [uid, s.name, as_of.isoformat(), action.channel, action.offer, label]
        if contact:
            row += list(info.get(uid, ("", "")))
        writer.writerow(row)
    out.finish()  # synced now: a full disk stops the run before its commit


def _who() -> str:
    # metadata only: who ran it
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --- the global frequency cap ----------------------------------------------------------------


def frequency_cap(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """(K, N): no user is targeted more than K times in N days by all strategies and campaigns
    together (meta ``frequency_cap`` "K/N"); None when no cap is set."""
    value = get_meta(conn, "frequency_cap")
    if not value:
        return None
    times, days = value.split("/")
    return int(times), int(days)


def set_frequency_cap(conn: sqlite3.Connection, times: int | None, days: int | None = None) -> None:
    """Set the cap (``times`` None clears it)."""
    if times is not None and (times < 1 or days is None or days < 1):
        raise StrategyError("The frequency cap is K times in N days, both at least 1 (e.g. 2/7).")
    with transaction(conn):
        if times is None:
            conn.execute("DELETE FROM meta WHERE key = 'frequency_cap'")
        else:
            set_meta(conn, "frequency_cap", f"{times}/{days}")
