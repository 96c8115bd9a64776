"""The ``userops`` command line. One module per command (group); each registers itself on ``cli``.

``userops`` with no subcommand runs ``open`` on ./demo.db. Modules here must not import textual
at import time, so scripted commands start fast.
"""

from __future__ import annotations

import importlib

import click
from click_default_group import DefaultGroup


@click.group(cls=DefaultGroup, default="open", default_if_no_args=True)
@click.version_option(package_name="userops")
def cli() -> None:
    """userops: user layers, RFM, tags, segments and campaigns, from a local SQLite database.

    Run ``userops`` to open ./demo.db, ``userops DB`` to open another database.
    """


COMMAND_MODULES = (
    "app_cmd",
    "import_cmd",
    "demo_cmd",
    "analytics_cmd",
    "model_cmd",
    "refresh_cmd",
    "segment_cmd",
    "rules_cmd",
    "campaign_cmd",
    "strategy_cmd",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"tui.cli.{_name}")
