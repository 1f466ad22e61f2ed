"""The ``cairn`` command line: key generation, signing, verifying and baking from a shell."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from app.cli.audit import audit_group
from app.cli.credentials import bake_command, sign_command, unbake_command, verify_command
from app.cli.errors import UsageProblem
from app.cli.keys import keys_group
from app.cli.operations import COMMANDS
from app.cli.statements import statement_command
from app.cli.tokens import tokens_group


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Cairn: issue and verify Open Badges 3.0 credentials.",
)
@click.version_option(package_name="cairn-badges", prog_name="cairn")
def cli() -> None:
    """Top-level command group."""


cli.add_command(keys_group)
cli.add_command(audit_group)
cli.add_command(sign_command)
cli.add_command(verify_command)
cli.add_command(bake_command)
cli.add_command(unbake_command)
for _command in COMMANDS:
    cli.add_command(_command)
cli.add_command(tokens_group)
cli.add_command(statement_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; bad input prints one line on stderr and exits 2, never a traceback."""
    try:
        status = cli.main(
            args=list(argv) if argv is not None else None, prog_name="cairn", standalone_mode=False
        )
    except click.exceptions.Abort:
        click.echo("cairn: aborted", err=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"cairn: {exc.format_message()}", err=True)
        return exc.exit_code
    except UsageProblem as exc:
        click.echo(f"cairn: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        return 130
    # Commands return their exit status; click returns it here in non-standalone mode.
    return status if isinstance(status, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
