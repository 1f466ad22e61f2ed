"""Who reacts to which domain event: the one place the domains' reactions are connected
(registered by ``app.wiring`` when the application is built).

- :class:`~app.services._core.events.IssuerCreated` → its status lists are created.
- :class:`~app.services._core.events.CredentialStored` → the award email is queued with it.
- :class:`~app.services._core.events.CredentialsAwarded` → pathways award what they complete.
- :class:`~app.services._core.events.SubmissionDecided` → the module enrolment follows.
- :class:`~app.services._core.events.CredentialStored`, ``CredentialClaimed``,
  ``CredentialRevoked``, ``CredentialSuspended``, ``CredentialUnsuspended`` and ``JobFinished``
  → webhook deliveries are queued for the issuer's subscribed endpoints.
"""

from __future__ import annotations

from app.services._core import events
from app.services.awarding import status_lists
from app.services.delivery import notices
from app.services.learning import completion, pathways
from app.services.webhooks import reactions


def register() -> None:
    """Subscribe every handler (idempotent: building a second application adds none twice)."""
    events.subscribe(events.IssuerCreated, status_lists.on_issuer_created)
    events.subscribe(events.CredentialStored, notices.on_credential_stored)
    events.subscribe(events.CredentialsAwarded, pathways.on_credentials_awarded)
    events.subscribe(events.SubmissionDecided, completion.on_submission_decided)
    events.subscribe(events.CredentialStored, reactions.on_credential_stored)
    events.subscribe(events.CredentialClaimed, reactions.on_credential_claimed)
    events.subscribe(events.CredentialRevoked, reactions.on_credential_revoked)
    events.subscribe(events.CredentialSuspended, reactions.on_credential_suspended)
    events.subscribe(events.CredentialUnsuspended, reactions.on_credential_unsuspended)
    events.subscribe(events.JobFinished, reactions.on_job_finished)
