"""``cairn tokens create``: make an API token for an issuer and print it (alone) on stdout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import click

from app.cli.errors import UsageProblem
from app.cli.operations import instance
from app.models import API_SCOPES
from app.services.org.audit import CLI

_DAYS = re.compile(r"(\d{1,4})d")


def parse_expiry(value: str | None, now: datetime) -> datetime | None:
    """``--expires``: ``never`` (or nothing), a number of days (``90d``), a date (valid through
    that whole day, UTC) or an ISO 8601 time."""
    if value is None or value == "never":
        return None
    days = _DAYS.fullmatch(value)
    if days:
        return now + timedelta(days=int(days.group(1)))
    try:
        if len(value) == 10:
            return datetime.combine(datetime.fromisoformat(value).date(), time(23, 59, 59), UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageProblem(
            f"--expires {value!r}: give a date (2027-06-30), a number of days (90d) or never"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group("tokens")
def tokens_group() -> None:
    """API token commands."""


@tokens_group.command("create")
@click.option("--issuer", "slug", required=True, help="The organisation's slug.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(API_SCOPES),
    help="A scope (repeat for several).",
)
@click.option("--name", default="Command line token", show_default=True)
@click.option("--expires", default=None, help="A date, a number of days (90d) or never.")
@click.option(
    "--staff",
    "staff_email",
    default=None,
    help="The staff member the token acts for (default: the organisation's only owner).",
)
def tokens_create_command(
    slug: str, scopes: tuple[str, ...], name: str, expires: str | None, staff_email: str | None
) -> int:
    """Make an API token; print it alone on stdout (it is never shown again)."""
    from app.services.org import issuers, staff, tokens
    from app.wiring import service_env

    with instance():
        env = service_env()
        issuer = issuers.get_by_slug(slug)
        if staff_email is not None:
            creator = staff.get_by_email(staff_email)
        else:
            owners = [account for account, role in staff.members(issuer) if role == "owner"]
            if len(owners) != 1:
                raise UsageProblem(
                    f"{slug} has {len(owners)} owners: name the one the token acts for with --staff"
                )
            creator = owners[0]
        made = tokens.create(
            issuer,
            creator=creator,
            name=name,
            scopes=scopes,
            expires_at=parse_expiry(expires, env.now),
            actor=CLI,
            env=env,
        )
        click.echo(made.secret)
        click.echo(
            f"token {made.token.public_id} for {creator.email}: {', '.join(made.token.scopes)}",
            err=True,
        )
    return 0
