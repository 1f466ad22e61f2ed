"""The ``cairn`` command line: key generation, signing, verifying and baking from a shell."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from app.cli.errors import UsageProblem

#: Commands that need no server or database, importable without the Flask application.
_LIBRARY_COMMANDS = {
    "sign": "sign_command",
    "verify": "verify_command",
    "bake": "bake_command",
    "unbake": "unbake_command",
}


class _Cli(click.Group):
    """The top-level group, importing a command's module only when the command is used: the
    library-level commands (``cairn sign --batch`` above all) then start in a fraction of the
    time the application's modules take to import."""

    _loaded = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name in _LIBRARY_COMMANDS:
                from app.cli import credentials

                self.add_command(getattr(credentials, _LIBRARY_COMMANDS[cmd_name]))
            else:
                self.load_all()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load_all()
        return super().list_commands(ctx)

    def load_all(self) -> None:
        """Register every command (for ``--help`` and the application's commands)."""
        if self._loaded:
            return
        self._loaded = True
        from app.cli.audit import audit_group
        from app.cli.credentials import bake_command, sign_command, unbake_command, verify_command
        from app.cli.keys import keys_group
        from app.cli.operations import COMMANDS
        from app.cli.portability import export_command, import_command
        from app.cli.statements import statement_command
        from app.cli.tokens import tokens_group

        for command in (keys_group, audit_group, sign_command, verify_command, bake_command):
            self.add_command(command)
        self.add_command(unbake_command)
        for command in COMMANDS:
            self.add_command(command)
        for command in (tokens_group, statement_command, export_command, import_command):
            self.add_command(command)


@click.group(
    cls=_Cli,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Cairn: issue and verify Open Badges 3.0 credentials.",
)
@click.version_option(package_name="cairn-badges", prog_name="cairn")
def cli() -> None:
    """Top-level command group."""


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
