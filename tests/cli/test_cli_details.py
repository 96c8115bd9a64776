"""The CLI as an operator reads it (issue 13, item 12): help texts without reStructuredText
markup, tables lined up by display width (CJK names take two columns), snapshots listed."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from core.audience import campaigns as cmp
from core.audience import segments
from core.store.db import open_db
from tui.cli import COMMANDS, cli, load_all
from tui.cli.common import cells, pad

MARKUP = re.compile(r"``|`[^`\s][^`]*`|:func:|:class:|\*\*[A-Za-z]")


def every_command():
    load_all()

    def walk(cmd: click.Command, path: list[str]):
        yield " ".join(path), cmd
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(click.Context(cmd)):
                yield from walk(
                    cmd.commands.get(name) or cmd.get_command(None, name), [*path, name]
                )

    return list(walk(cli, ["userops"]))


@pytest.mark.parametrize(
    ("path", "cmd"), every_command(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_help_has_no_markup(path, cmd):
    result = CliRunner().invoke(cli, [*path.split()[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert not MARKUP.search(result.output), f"{path} --help:\n{result.output}"


def test_short_helps_in_the_table_have_no_markup():
    assert not [name for name, (_, short) in COMMANDS.items() if MARKUP.search(short)]


def test_pad_counts_display_columns():
    assert cells("双11召回") == 8
    assert pad("双11召回", 10) == "双11召回  "
    assert pad("spring", 10) == "spring    "
    assert pad("双11", 6, ">") == "  双11"
    assert pad("toolong", 3) == "toolong"


@pytest.fixture
def shop(db_path):
    conn = open_db(db_path)
    ids = [f"u{i}" for i in range(6)]
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [(u,) for u in ids])
    conn.executemany(
        "INSERT INTO features(user_id, monetary) VALUES (?, ?)",
        [(u, float(i)) for i, u in enumerate(ids)],
    )
    conn.execute("INSERT INTO meta VALUES ('as_of', '2024-06-30')")
    conn.commit()
    yield conn
    conn.close()


def out(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def column_of(line: str, text: str) -> int:
    """The display column where ``text`` starts in ``line``."""
    return cells(line[: line.index(text)])


def test_campaign_list_lines_up_chinese_names(shop, db_path):
    for name in ("spring", "双11召回"):
        cmp.create_campaign(shop, name, who="t")
    lines = out("campaign", "list", str(db_path)).splitlines()
    assert [column_of(line, "push") for line in lines[1:]] == [column_of(lines[0], "channel")] * 2
    assert len({cells(line) for line in lines}) == 1  # the right-aligned counts end together


def test_segment_list_lines_up_and_shows_snapshots(shop, db_path):
    from datetime import date

    segments.save(shop, "双11召回", "monetary >= 3", as_of=date(2024, 6, 30))
    segments.save(shop, "vip", "monetary >= 5", as_of=date(2024, 6, 30))
    segments.snapshot(shop, "vip", as_of=date(2024, 6, 30), snapshot_name="vip frozen")
    lines = out("segment", "list", str(db_path)).splitlines()
    assert lines[0].startswith("vip ") and lines[1].startswith("双11召回 ")  # by name
    assert column_of(lines[1], "3  monetary") == column_of(lines[0], "1  monetary")
    assert lines[2] == "snapshots (frozen member lists):"
    assert lines[3].split("  ")[0] == "vip frozen"
    assert column_of(lines[3], "1  of vip") == column_of(lines[0], "1  monetary")
    assert lines[3].endswith("1  of vip as of 2024-06-30: monetary >= 5")
    shown = out("segment", "show", str(db_path), "vip frozen").splitlines()
    assert shown[:2] == ["name         vip frozen", "kind         snapshot (a frozen member list)"]
    assert "members      1 users · 16.7% of 6" in shown
