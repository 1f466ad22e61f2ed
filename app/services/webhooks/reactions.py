"""What each domain event becomes for webhook receivers: the event type and its ``data``,
queued for the issuer's subscribed endpoints (connected in :mod:`app.services.subscriptions`).

The data says what happened to which credential or job, and where to read more: the
credential's id and public URL, the achievement's id, the issuer's slug, the status. It
carries no recipient name or email address: a receiver that needs them reads the credential
through the issuer API with a token allowed to (``credentials:read``), so webhooks never widen
who sees personal data, and a misdirected or logged delivery leaks none.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import Achievement, BulkJob, IssuedCredential, Issuer
from app.services._core import events
from app.services._core.env import ServiceEnv
from app.services.awarding import issuing
from app.services.webhooks import deliveries


def _moment(value: Any) -> str | None:
    return deliveries.utc_iso(value) if value is not None else None


def credential_data(credential: IssuedCredential, env: ServiceEnv) -> dict[str, Any]:
    """What a credential event says about the credential."""
    issuer = db.session.get(Issuer, credential.issuer_id)
    achievement = db.session.get(Achievement, credential.achievement_id)
    return {
        "id": credential.id,
        "url": issuing.credential_url(credential.id, env),
        "issuer": issuer.slug if issuer is not None else None,
        "achievement": {
            "id": achievement.public_id if achievement is not None else None,
            "name": credential.achievement_version.name,
        },
        "status": credential.status_at(env.now),
        "issued_at": _moment(credential.issued_at),
        "valid_until": _moment(credential.valid_until),
        "claimed": credential.claimed_at is not None,
        "replaced_by": credential.replaced_by_id,
        "bulk_job": credential.bulk_job_id,
    }


def job_data(job: BulkJob, env: ServiceEnv) -> dict[str, Any]:
    """What ``job.finished`` says about a bulk job (its rows are read through the API)."""
    issuer = db.session.get(Issuer, job.issuer_id)
    achievement = db.session.get(Achievement, job.achievement_id)
    return {
        "id": job.id,
        "url": f"{env.base_url}/api/v1/jobs/{job.id}",
        "issuer": issuer.slug if issuer is not None else None,
        "achievement": {"id": achievement.public_id if achievement is not None else None},
        "state": job.state,
        "total_rows": job.total_rows,
        "issued": job.issued_rows,
        "skipped": job.skipped_rows,
        "failed": job.failed_rows,
        "finished_at": _moment(job.finished_at),
    }


def _credential(kind: str, credential: IssuedCredential, env: ServiceEnv) -> None:
    deliveries.queue(credential.issuer_id, kind, lambda: credential_data(credential, env), env)


def on_credential_stored(event: events.CredentialStored) -> None:
    """``credential.issued``."""
    _credential("credential.issued", event.credential, event.env)


def on_credential_claimed(event: events.CredentialClaimed) -> None:
    """``credential.claimed``."""
    _credential("credential.claimed", event.credential, event.env)


def on_credential_revoked(event: events.CredentialRevoked) -> None:
    """``credential.revoked``."""
    _credential("credential.revoked", event.credential, event.env)


def on_credential_suspended(event: events.CredentialSuspended) -> None:
    """``credential.suspended``."""
    _credential("credential.suspended", event.credential, event.env)


def on_credential_unsuspended(event: events.CredentialUnsuspended) -> None:
    """``credential.unsuspended``."""
    _credential("credential.unsuspended", event.credential, event.env)


def on_job_finished(event: events.JobFinished) -> None:
    """``job.finished``."""
    job, env = event.job, event.env
    deliveries.queue(job.issuer_id, "job.finished", lambda: job_data(job, env), env)
