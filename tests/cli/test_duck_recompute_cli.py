"""``userops recompute``, ``rfm`` and ``model`` on DuckDB print what they print on SQLite, and
leave the same users behind (docs/engines.md): a demo of 600 users and its DuckDB copy, the
same commands in the same order on each, then every user exported from each."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from core.ingest.demo import DEMO_AS_OF, build_demo
from core.store.db import open_db
from tui.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    tmp = tmp_path_factory.mktemp("duckrc")
    lite = str(tmp / "d.db")
    conn = open_db(lite, create=True)  # the demo's data (its strategy history left out: faster)
    build_demo(conn, n_users=600, seed=5, as_of=DEMO_AS_OF)
    conn.close()
    duck = f"duckdb:///{tmp / 'd.duckdb'}"
    assert run("copy", lite, duck).exit_code == 0
    return lite, duck


def without_time(output: str) -> str:
    """The recompute's report but its ``time`` line (seconds differ run to run)."""
    return "\n".join(line for line in output.splitlines() if not line.startswith("time "))


# in this order on each engine: each changes what the next ones read
STEPS = [
    ["recompute", "DB", "--as-of", "2025-11-20"],
    ["recompute", "DB"],
    ["rfm", "DB", "--cells27"],
    ["rfm", "DB", "--json"],
    ["rfm", "DB", "--set", "r=median", "--set", "m=score:4"],
    ["model", "DB"],
    ["model", "DB", "--json", "--use", "bgnbd"],
    ["model", "DB", "--as-of", "2025-10-31"],  # another date: fitted and shown, not stored
    ["users", "DB", "--format", "json"],  # every user, every column, after all of the above
    ["layers", "DB"],
]


def test_the_recompute_and_rfm_and_model_print_the_same_on_duckdb(
    pair: tuple[str, str],
) -> None:
    lite, duck = pair
    for args in STEPS:
        on_sqlite = run(*[lite if a == "DB" else a for a in args])
        on_duckdb = run(*[duck if a == "DB" else a for a in args])
        assert on_sqlite.exit_code == 0, (args, on_sqlite.output)
        assert on_duckdb.exit_code == 0, (args, on_duckdb.output)
        if args[0] == "recompute":
            assert without_time(on_duckdb.output) == without_time(on_sqlite.output)
        else:
            assert on_duckdb.output == on_sqlite.output, args
        assert len(on_sqlite.output) > 40
