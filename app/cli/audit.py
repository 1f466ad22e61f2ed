"""``cairn audit verify``: check the audit log's hash chains and name the first broken link."""

from __future__ import annotations

import click

from app.cli.errors import UsageProblem
from app.cli.operations import instance


@click.group("audit")
def audit_group() -> None:
    """Check the audit log."""


@audit_group.command("verify")
@click.option("--issuer", "slug", help="Only this organisation's chain (its slug).")
def verify_command(slug: str | None) -> int:
    """Verify the audit log's hash chains: one per organisation, and the instance's own.

    Exits 0 when every chain is intact (printing how many events each holds), and 1 naming the
    first broken link of each chain that is not: the event's id and time, and whether it was
    altered, deleted or inserted out of chain.
    """
    from app.services.org import audit, queries

    with instance():
        if slug is not None:
            issuer_id = queries.issuer_id(slug)
            if issuer_id is None:
                raise UsageProblem(f"no organisation {slug!r}")
            reports = [audit.verify_chain(issuer_id)]
        else:
            reports = [audit.verify_chain(chain) for chain in audit.chains()]
        for report in reports:
            if report.broken is None:
                click.echo(f"{report.chain}: {report.events} events, chain intact")
                continue
            link = report.broken
            where = (
                f"event {link.event_id} ({link.created_at.isoformat()})"
                if link.event_id is not None and link.created_at is not None
                else "its end"
            )
            click.echo(f"{report.chain}: chain BROKEN at {where}: {link.reason}")
        return 0 if all(report.intact for report in reports) else 1
