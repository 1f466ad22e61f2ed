"""``cairn export --issuer SLUG`` and ``cairn import FILE``: move an organisation to another
instance (or keep it as a backup) in one archive."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.operations import instance
from app.services.org.audit import CLI


@click.command("export")
@click.option("--issuer", "slug", required=True, help="The organisation's slug.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (default: cairn-export-SLUG-TIME.zip here); never overwritten.",
)
def export_command(slug: str, output: Path | None) -> int:
    """Write an organisation to one archive: profile, keys (still encrypted), achievements with
    every version and image, module definitions, credentials exactly as signed, status lists
    and allocations, the audit log with its chain, staff and educators' links (see
    docs/operations.md).

    Prints the archive's path and SHA-256; `cairn import --sha256` checks it on arrival.
    """
    from app.services.org import audit, queries
    from app.services.portability import exporting
    from app.wiring import service_env

    with instance():
        env = service_env()
        if output is None:
            output = Path(f"cairn-export-{slug}-{env.now.strftime('%Y%m%dT%H%M%SZ')}.zip")
        issuer_id = queries.issuer_id(slug)
        if issuer_id is not None and not audit.verify_chain(issuer_id).intact:
            click.echo(
                f"cairn: warning: the audit chain of {slug} does not verify "
                "(`cairn audit verify --issuer`); the archive will not import until it does",
                err=True,
            )
        summary = exporting.export_issuer(slug, output, env, actor=CLI)
        for name, count in summary.counts.items():
            click.echo(f"{name}: {count}", err=True)
        click.echo(f"{summary.path}\nsha256 {summary.sha256}")
    return 0


@click.command("import")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sha256", "expected", help="Refuse unless the archive has this SHA-256.")
def import_command(archive: Path, expected: str | None) -> int:
    """Import an organisation from an archive `cairn export` wrote, in one transaction.

    Exits 2 with nothing written when the archive is damaged or altered, of an unknown format
    version, made for another CAIRN_BASE_URL, when its slug or a public id is taken here, or
    when its keys do not open with this instance's CAIRN_KEY_PASSPHRASE.
    """
    from app.services.portability import importing
    from app.wiring import service_env

    with instance():
        summary = importing.import_archive(
            archive, service_env(), actor=CLI, expected_sha256=expected
        )
        for name, count in summary.counts.items():
            click.echo(f"{name}: {count}", err=True)
        click.echo(
            f"imported {summary.slug} (sha256 {summary.sha256}; "
            f"{summary.educators_merged} educator(s) merged with existing accounts)"
        )
    return 0
