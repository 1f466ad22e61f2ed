"""``/api/v1/issuers/<slug>/credentials`` (list with filters, read), ``/api/v1/credentials/<id>/…``
(revoke, suspend, unsuspend) and the report: the queries and revocation services the workspace
uses."""

from __future__ import annotations

from typing import Any

from app.api.core import (
    PAGE_HEADERS,
    actor,
    bp,
    current_issuer,
    idempotent,
    page,
    requires,
)
from app.api.schemas import (
    CredentialDetailOut,
    CredentialListArgs,
    CredentialOut,
    CredentialPage,
    ReportOut,
)
from app.models import IssuedCredential
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid
from app.services.awarding import issuing, queries, revocation
from app.services.awarding.issuing import award_input
from app.services.org import achievements
from app.wiring import service_env
from schemas.awards import ApiReplaceSchema
from schemas.credential_status import StatusChangeSchema

#: Counting stops here: the exact count of every match of a large issuer (a million
#: credentials) costs more than the page, and the ``Link`` header says where the next page is.
COUNT_UP_TO = 10_000


def credential_json(
    credential: IssuedCredential,
    env: ServiceEnv | None = None,
    *,
    achievement_id: str | None = None,
) -> dict[str, Any]:
    """A credential as the API lists it, its status as at ``env.now``. ``env``: the request's
    own, when it has one (each ``service_env()`` reads the settings again); ``achievement_id``:
    the achievement's public id, when the caller knows it (see :func:`app.api.awards.award`)."""
    env = env or service_env()
    version = credential.achievement_version
    return {
        "id": credential.id,
        "url": issuing.credential_url(credential.id, env),
        "status": credential.status_at(env.now),
        "achievement": achievement_id or version.achievement.public_id,
        "achievement_version": version.version,
        "recipient": {"email": credential.recipient_email, "name": credential.recipient_name},
        "issued_at": credential.issued_at,
        "valid_from": credential.valid_from,
        "valid_until": credential.valid_until,
        "revoked_at": credential.revoked_at,
        "suspended_at": credential.suspended_at,
        "claimed_at": credential.claimed_at,
        "replaced_by": credential.replaced_by_id,
        "job": credential.bulk_job_id,
        "proof_format": credential.proof_format,
    }


def credential_detail(credential: IssuedCredential) -> dict[str, Any]:
    """A credential with its signed document and the internal notes."""
    return {
        **credential_json(credential),
        "document": credential.document,
        "revocation_reason": credential.revocation_reason,
        "suspension_reason": credential.suspension_reason,
    }


@bp.route("/issuers/<slug>/credentials", methods=["GET"])
@requires("credentials:read")
@bp.arguments(CredentialListArgs, location="query", as_kwargs=True)
@bp.response(200, CredentialPage, headers=PAGE_HEADERS)
def list_credentials(slug: str, limit: int, offset: int, **filters: Any) -> Any:
    """The organisation's credentials, newest first, filtered by achievement, recipient
    (`recipient`: an exact address; `q`: part of an address or name, or a whole address, which
    finds that recipient's credentials only), status, when issued, and `updated_since` (to keep
    a copy in step). `total` counts up to 10,000 matches; past that `total_capped` is true and
    `total` is a lower bound: follow the `Link` header's `next` to the end."""
    issuer = current_issuer()
    achievement_ids = None
    if filters.get("achievement"):
        achievement_ids = (achievements.get(issuer, filters["achievement"]).id,)
    recipient = None
    if filters.get("recipient"):
        try:
            recipient = check_email(filters["recipient"])
        except Invalid as error:
            raise Invalid(error.message, "recipient") from None
    wanted = queries.Search(
        text=filters.get("q") or "",
        achievement_ids=achievement_ids,
        status=filters.get("status"),
        recipient_email=recipient,
        issued_from=filters.get("issued_from"),
        issued_before=filters.get("issued_before"),
        updated_since=filters.get("updated_since"),
    )
    env = service_env()
    found = queries.search(
        issuer,
        wanted,
        env.now,
        page=1,
        page_size=limit,
        offset=offset,
        count_up_to=COUNT_UP_TO,
    )
    total, capped = found.total, found.capped
    if capped and found.credentials:
        # The page itself may say more than the capped count: how many there are at least
        # (rows follow it), or exactly (it is the last).
        seen = offset + len(found.credentials)
        total, capped = (max(total, seen), True) if found.older else (seen, False)
    items = [credential_json(c, env) for c in found.credentials]
    return page(items, total, limit, offset, more=found.older, total_capped=capped)


@bp.route("/issuers/<slug>/credentials/<credential_id>", methods=["GET"])
@requires("credentials:read")
@bp.response(200, CredentialDetailOut)
def read_credential(slug: str, credential_id: str) -> Any:
    """One credential, with its signed document."""
    return credential_detail(issuing.get_credential(current_issuer(), credential_id))


def _change(credential_id: str, data: dict[str, Any], action: str) -> dict[str, Any]:
    credential = issuing.get_credential(current_issuer(), credential_id)
    env = service_env()
    reason = data["reason"]
    if action == "unsuspend":
        revocation.unsuspend(credential, reason, actor=actor(), env=env)
    else:
        revocation.internal_note(reason)
        purpose: Any = "revocation" if action == "revoke" else "suspension"
        public = (
            revocation.public_reason(purpose, data["public_reason"], data["public_other"])
            if data["public_reason"]
            else None
        )
        operation = revocation.revoke if action == "revoke" else revocation.suspend
        operation(credential, reason, actor=actor(), env=env, public=public)
    return credential_json(credential)


@bp.route("/credentials/<credential_id>/revoke", methods=["POST"])
@requires("credentials:revoke")
@bp.arguments(StatusChangeSchema)
@bp.response(200, CredentialOut)
def revoke_credential(data: dict[str, Any], credential_id: str) -> Any:
    """Revoke a credential for good. `reason` is the internal note (staff and the audit log);
    `public_reason` (optional) is one of `issued_in_error`, `requirements`, `replaced`, `other`
    (then `public_other` holds the words). A revoked credential is 409."""
    return _change(credential_id, data, "revoke")


@bp.route("/credentials/<credential_id>/suspend", methods=["POST"])
@requires("credentials:revoke")
@bp.arguments(StatusChangeSchema)
@bp.response(200, CredentialOut)
def suspend_credential(data: dict[str, Any], credential_id: str) -> Any:
    """Suspend a credential until the suspension is lifted (`reason` required)."""
    return _change(credential_id, data, "suspend")


@bp.route("/credentials/<credential_id>/unsuspend", methods=["POST"])
@requires("credentials:revoke")
@bp.arguments(StatusChangeSchema)
@bp.response(200, CredentialOut)
def unsuspend_credential(data: dict[str, Any], credential_id: str) -> Any:
    """Lift a credential's suspension (`reason` required)."""
    return _change(credential_id, data, "unsuspend")


@bp.route("/credentials/<credential_id>/replace", methods=["POST"])
@requires("credentials:revoke", also=("awards:write",))
@idempotent
@bp.arguments(ApiReplaceSchema)
@bp.response(201, CredentialOut)
def replace_credential(data: dict[str, Any], credential_id: str) -> Any:
    """Issue a corrected credential (the achievement's current version, the original award
    date) and revoke this one, pointing at the correction; the answer is the new credential.
    A revoked credential is 409."""
    credential = issuing.get_credential(current_issuer(), credential_id)
    replacement = revocation.replace(
        credential, award_input(data["award"]), data["reason"], actor=actor(), env=service_env()
    )
    return credential_json(replacement), 201


@bp.route("/issuers/<slug>/reports/awards", methods=["GET"])
@requires("credentials:read")
@bp.response(200, ReportOut)
def awards_report(slug: str) -> Any:
    """Credentials per achievement by status (archived achievements too), and the totals."""
    rows = queries.report(current_issuer(), service_env().now)
    items = [
        {
            "achievement": row["achievement"].public_id,
            "name": row["version"].name,
            "counts": {name: int(row[name]) for name in queries.COUNTS},
        }
        for row in rows
    ]
    return {"items": items, "totals": queries.totals(rows)}
