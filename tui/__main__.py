"""Entry point of the ``userops`` command: ``userops [DB]`` opens the app, subcommands script it."""

from __future__ import annotations

import sys

import click

from tui.cli import cli


def main() -> None:
    """Run the CLI; a usage error (a bad date, an unknown option) is one ``userops: …`` line,
    like every other error, instead of click's usage block."""
    try:
        code = cli.main(prog_name="userops", standalone_mode=False)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "userops"
        click.echo(f"userops: {exc.format_message()} (see `{where} --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"userops: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("userops: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
