"""``cairn statement``: an educator's renewal statement for a period, signed by the organisation,
printed as JSON (the signed CLR 2.0 credential) and, with ``--pdf``, written as a PDF; the same
service as the workspace's, audited as the command line's."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from marshmallow import ValidationError

from app.cli.errors import UsageProblem
from app.cli.operations import instance
from app.services.org.audit import CLI
from schemas.errors import flat_errors
from schemas.statements import StatementSchema

if TYPE_CHECKING:
    from app.models import CreditRule


@click.command("statement")
@click.option("--issuer", "slug", required=True, help="The organisation's slug.")
@click.option("--educator", "email", required=True, help="The educator's email address.")
@click.option("--from", "start", required=True, help="The period's first day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="The period's last day, YYYY-MM-DD.")
@click.option(
    "--rule",
    help="The credit rules to count by, by name or id (needed when the organisation has several).",
)
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write the statement as a PDF here.")  # fmt: skip
def statement_command(
    slug: str, email: str, start: str, end: str, rule: str | None, pdf_path: str | None
) -> int:
    """Print an educator's signed renewal statement for a period as JSON."""
    try:
        period = StatementSchema().load({"from": start, "to": end})
    except ValidationError as invalid:
        problems = flat_errors(invalid, depth=1, first=True)
        raise UsageProblem(" ".join(problems.values())) from None
    if pdf_path and not Path(pdf_path).resolve().parent.is_dir():
        # Said before anything is made: a statement kept without its PDF would be half done.
        raise UsageProblem(f"cannot write {pdf_path}: no such directory")
    with instance():
        from app.services.learning import credit_rules, statements
        from app.services.learning.statement_pdf import statement_pdf
        from app.services.org import issuers
        from app.wiring import service_env

        issuer = issuers.get_by_slug(slug)
        chosen = _rule(credit_rules.list_for(issuer), rule, issuer.name)
        env = service_env()
        made = statements.create(
            issuer, email, period["start"], period["end"], rule=chosen, made_by="cli",
            actor=CLI, env=env,
        )  # fmt: skip
        if pdf_path:
            try:
                Path(pdf_path).write_bytes(statement_pdf(statements.view(made, env)))
            except OSError as exc:
                raise UsageProblem(f"cannot write {pdf_path}: {exc.strerror}") from None
        click.echo(statements.document_text(made))
    return 0


def _rule(rules: list[CreditRule], wanted: str | None, issuer_name: str) -> CreditRule | None:
    """The organisation's rules named by ``--rule`` (name or id), or its only ones, or none."""
    if wanted:
        for rule in rules:
            if wanted in (rule.public_id, rule.name):
                return rule
        raise UsageProblem(f"{issuer_name} has no credit rules named {wanted!r}")
    if len(rules) > 1:
        names = ", ".join(repr(r.name) for r in rules)
        raise UsageProblem(
            f"{issuer_name} has several credit rules; choose one with --rule: {names}"
        )
    return rules[0] if rules else None
