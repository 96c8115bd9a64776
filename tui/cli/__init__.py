"""The ``userops`` command line. One module per command (group); each registers itself on ``cli``.

``userops`` with no subcommand runs ``open`` on ./demo.db; ``userops DB`` opens DB. Commands load
lazily: ``COMMANDS`` names the module of each one, and only the module of the command being run
is imported (``userops segment count`` never loads pandas or scipy). ``--help`` lists every command
from the short helps in ``COMMANDS`` without importing any module; tests/cli/test_lazy_cli.py
checks the table against the real modules. Modules here must not import textual at import time.
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

import click

# name -> (module under tui.cli, the command's short help as click makes it with no width limit).
# Add a command: register it with @cli.command in its module, then add its line here (the test
# fails until the table matches the modules).
COMMANDS: dict[str, tuple[str, str]] = {
    "open": ("app_cmd", "Open the app on DB (default ./demo.db)."),
    "backup": (
        "store_cmd",
        "Copy DB to FILE with SQLite's online backup: a consistent copy of the last committed "
        "state, safe while the app or another command is using DB.",
    ),
    "check": ("store_cmd", "Check the database file page by page (SQLite's integrity check)."),
    "campaign": (
        "campaign_cmd",
        "Campaigns: targets, a seeded control group, export, and the effect report.",
    ),
    "copy": (
        "copy_cmd",
        "Copy the whole database SRC to DST, between engines (SQLite, DuckDB, chDB): every "
        "table and row.",
    ),
    "control": (
        "strategy_cmd",
        "The global control group: a fixed, seeded share of users nothing ever targets.",
    ),
    "demo": (
        "demo_cmd",
        "Build a demo database DB: Chinese e-commerce + community users, orders and events.",
    ),
    "import": (
        "import_cmd",
        "Import users, orders and events into DB (created if missing); all or nothing.",
    ),
    "layer": (
        "rules_cmd",
        "Lifecycle layers (用户分层): ordered rules, first match wins, else 'unclassified'.",
    ),
    "layers": ("rules_cmd", "The MECE report of the layer rules: pyramid, overlapping pairs, gap."),
    "model": ("model_cmd", "Show the predictive models of the database's as-of date."),
    "recompute": (
        "analytics_cmd",
        "Rebuild every user's features, RFM groups, predictions, layers and tags as of a date.",
    ),
    "refresh": (
        "refresh_cmd",
        "Bring every user's features, RFM group, predictions, layer and tags to a date.",
    ),
    "rfm": (
        "analytics_cmd",
        "The 8 RFM groups with their shares and means, and current vs suggested thresholds.",
    ),
    "segment": (
        "segment_cmd",
        "Segments (用户分群): named conditions in the query language (docs/query-language.md).",
    ),
    "tag": (
        "rules_cmd",
        "Rule tags (标签体系) in four dimensions: basic, behavioural, result, predictive.",
    ),
    "tags": (
        "rules_cmd",
        "The rule tags with dimension, condition and how many users hold each (same as tag list).",
    ),
    "user": (
        "user_cmd",
        "One user's profile: layer and its rules, RFM standing, predictions, tags, timeline.",
    ),
    "strategy": (
        "strategy_cmd",
        "Strategies: IF a condition THEN an action, run on every refresh, with a control group.",
    ),
    "users": (
        "analytics_cmd",
        "Export every user (or those matching QUERY) with all features, streaming.",
    ),
}


class LazyDefaultGroup(click.Group):
    """A group whose subcommands are imported on first use, with a default command.

    The default: no arguments at all, or a first argument that names no command (``userops
    demo.db --mask``), run ``default`` with the arguments as given. This replaces
    click_default_group's DefaultGroup, whose lookup reads the eager ``self.commands`` registry
    and so would send every not-yet-imported command to the default.
    """

    def __init__(self, *args: object, default: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.default = default
        self.ignore_unknown_options = True  # `userops --mask` reaches the default command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"tui.cli.{COMMANDS[cmd_name][0]}")
        return self.commands.get(cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args:
            args = [self.default]
        return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.list_commands(ctx):
            # `userops DB` opens DB; `userops word DB` with no file named `word` is a mistyped
            # command, which should be said as such (not "unexpected extra argument")
            first, rest = args[0], args[1:]
            if rest and not rest[0].startswith("-") and not Path(first).exists():
                close = difflib.get_close_matches(first, self.list_commands(ctx), n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise click.UsageError(f"No such command '{first}'.{hint}", ctx)
            args = [self.default, *args]
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Every command with its short help, the default first and marked ``*``, importing none."""
        names = [self.default] + [n for n in self.list_commands(ctx) if n != self.default]
        limit = formatter.width - 6 - max(len(n) for n in names)  # as click.Group computes it
        rows = []
        for name in names:
            # not imported yet: a bare Command shortens the stored help the way the real one would
            cmd = self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
            rows.append(
                (name + ("*" if name == self.default else ""), cmd.get_short_help_str(limit))
            )
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyDefaultGroup, default="open")
@click.version_option(package_name="userops")
def cli() -> None:
    """userops: user layers, RFM, tags, segments and campaigns, from a local SQLite database.

    Run userops to open ./demo.db, userops DB to open another database.
    """
    from tui.cli.common import show_visibly  # user text reaches the terminal as text

    show_visibly()


def load_all() -> None:
    """Import every command module (tests, shell completion of nested commands need them all)."""
    for module in sorted({module for module, _ in COMMANDS.values()}):
        importlib.import_module(f"tui.cli.{module}")
