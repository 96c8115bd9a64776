"""Entry point of the ``userops`` command: ``userops [DB]`` opens the app, subcommands script it."""

from __future__ import annotations

from tui.cli import cli


def main() -> None:
    cli(prog_name="userops")


if __name__ == "__main__":
    main()
