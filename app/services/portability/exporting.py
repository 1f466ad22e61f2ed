"""``cairn export --issuer SLUG``: everything an organisation needs on another instance, in one
archive, streamed a row at a time (keys as their encrypted files, credentials as signed)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select, union

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    AuditEvent,
    Educator,
    EducatorEmail,
    Image,
    IssuedCredential,
    Issuer,
    ManageLink,
    Membership,
    Module,
    StaffAccount,
    StatusAllocation,
    StatusList,
    WalletCopy,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid
from app.services.org import audit
from app.services.org.audit import Actor
from app.services.org.issuers import get_by_slug, key_owner
from app.services.portability.archive import ArchiveWriter, file_sha256
from keys import KeyStoreError, encrypted_store_of

_BATCH = 500


def when(value: datetime | None) -> str | None:
    """A timestamp as ISO 8601 (UTC), or ``None``."""
    return value.isoformat() if value is not None else None


def b64(data: bytes) -> str:
    """Bytes as standard base64."""
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class ExportSummary:
    """What was written: the archive, its SHA-256 and each part's record count."""

    path: Path
    sha256: str
    counts: dict[str, int]


def _stream(query: Select[Any]) -> Any:
    """Rows of ``query`` fetched in batches (a server-side cursor on PostgreSQL)."""
    return db.session.scalars(query.execution_options(yield_per=_BATCH))


def export_issuer(slug: str, output: Path, env: ServiceEnv, *, actor: Actor) -> ExportSummary:
    """Write the organisation ``slug`` to ``output`` (replacing nothing: the file must not
    exist).

    :raises NotFound: when there is no such organisation.
    :raises Invalid: when the output exists, or the keys cannot be carried sealed.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        # One snapshot for every part (credentials, allocations, lists and the audit chain as
        # of one moment, whatever is awarded meanwhile): end the caller's reads, then read in
        # a REPEATABLE READ transaction. (SQLite: export while nobody writes; see the docs.)
        db.session.rollback()
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    issuer = get_by_slug(slug)
    if output.exists():
        raise Invalid(f"{output} exists already; choose another --output")
    if not output.parent.is_dir():
        raise Invalid(f"{output.parent} is not a directory")
    try:
        store = encrypted_store_of(env.keystore)
    except KeyStoreError as exc:
        raise Invalid(str(exc)) from None
    writer = ArchiveWriter(output, env.now)
    try:
        head = _write_parts(writer, issuer, store, env)
        writer.finish(
            {
                "exported_at": env.now.isoformat(),
                "base_url": env.base_url,
                "issuer": issuer.slug,
                # The last archived event: the chain as the archive holds it.
                "audit_head": head,
            }
        )
    except BaseException:
        writer.abandon()
        raise
    counts = {name: part["records"] for name, part in writer.parts.items()}
    digest = file_sha256(output)
    issuer_id = issuer.id
    db.session.rollback()  # the snapshot ends; the event below is written as any other
    issuer = db.session.get(Issuer, issuer_id) or issuer
    # Reading is not a change, but an archive holds recipients' details and staff password
    # hashes: who took one, and which, belongs in the organisation's trail (after the archive's
    # own head, so the archive stays a consistent snapshot).
    audit.record(
        "issuer.export",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="issuer",
        subject_id=issuer.id,
        detail={"archive_sha256": digest, "counts": counts},
    )
    db.session.commit()
    return ExportSummary(output, digest, counts)


def _write_parts(
    writer: ArchiveWriter, issuer: Issuer, store: Any, env: ServiceEnv
) -> dict[str, Any] | None:
    """Write every part; return the audit chain's last archived link (``seq`` and ``hash``)."""
    versions = (
        select(AchievementVersion).join(Achievement).where(Achievement.issuer_id == issuer.id)
    )
    with writer.part("issuer.jsonl") as part:
        part.write(
            {
                "id": issuer.id,
                "slug": issuer.slug,
                "name": issuer.name,
                "url": issuer.url,
                "email": issuer.email,
                "description": issuer.description,
                "image": issuer.image.sha256 if issuer.image else None,
                "proof_format": issuer.proof_format,
                "created_at": when(issuer.created_at),
                "certificate_template": issuer.certificate_template,
                "certificate_colour": issuer.certificate_colour,
                "certificate_paper": issuer.certificate_paper,
                "signatory_name": issuer.signatory_name,
                "signatory_title": issuer.signatory_title,
                "signature_image": issuer.signature_image.sha256
                if issuer.signature_image
                else None,
            }
        )
    image_ids = {issuer.image_id, issuer.signature_image_id}
    image_ids |= set(db.session.scalars(versions.with_only_columns(AchievementVersion.image_id)))
    with writer.part("images.jsonl") as part:
        for image_id in sorted(i for i in image_ids if i is not None):
            image = db.session.get(Image, image_id)
            if image is None:
                continue
            part.write(
                {
                    "sha256": image.sha256,
                    "media_type": image.media_type,
                    "width": image.width,
                    "height": image.height,
                    "created_at": when(image.created_at),
                    "data": b64(image.data),
                }
            )
            db.session.expunge(image)  # one image's bytes at a time
    with writer.part("keys.jsonl") as part:
        for key in sorted(issuer.keys, key=lambda k: (k.created_at, k.id)):
            try:
                sealed = store.sealed(key_owner(issuer), key.kid)
            except KeyStoreError as exc:
                raise Invalid(f"key {key.kid}: {exc}") from None
            part.write(
                {
                    "kid": key.kid,
                    "key_type": key.key_type,
                    "algorithm": key.algorithm,
                    "public_jwk": key.public_jwk,
                    "public_key_multibase": key.public_key_multibase,
                    "created_at": when(key.created_at),
                    "retired_at": when(key.retired_at),
                    "sealed": {
                        "created": when(sealed.created),
                        "retired": when(sealed.retired),
                        # The key file as stored: encrypted, never opened here.
                        "file": sealed.data.decode("ascii"),
                    },
                }
            )
    _write_staff(writer, issuer)
    with writer.part("achievements.jsonl") as part:
        for achievement in _stream(
            select(Achievement).where(Achievement.issuer_id == issuer.id).order_by(Achievement.id)
        ):
            part.write(
                {
                    "public_id": achievement.public_id,
                    "current_version": achievement.current_version,
                    "created_at": when(achievement.created_at),
                    "archived_at": when(achievement.archived_at),
                    "versions": [_version(v) for v in achievement.versions],
                }
            )
    with writer.part("modules.jsonl") as part:
        for module in _stream(
            select(Module).where(Module.issuer_id == issuer.id).order_by(Module.id)
        ):
            part.write(_module(module))
    with writer.part("status_lists.jsonl") as part:
        for row in _stream(
            select(StatusList).where(StatusList.issuer_id == issuer.id).order_by(StatusList.id)
        ):
            part.write(
                {
                    "purpose": row.purpose,
                    "length": row.length,
                    "bits": b64(row.bits),
                    "version": row.version,
                    # As signed and served: same bytes, same ETag on the new instance.
                    "document": row.document,
                    "signed_at": when(row.signed_at),
                }
            )
    with writer.part("status_allocations.jsonl") as part:
        rows = db.session.execute(
            select(StatusAllocation.status_index, StatusAllocation.allocated_at)
            .where(StatusAllocation.issuer_id == issuer.id)
            .order_by(StatusAllocation.status_index)
            .execution_options(yield_per=_BATCH * 10)
        )
        for index, allocated_at in rows:
            part.write({"index": index, "allocated_at": when(allocated_at)})
    _write_credentials(writer, issuer)
    head: dict[str, Any] | None = None
    with writer.part("audit.jsonl") as part:
        for event in _stream(
            select(AuditEvent)
            .where(AuditEvent.issuer_id == issuer.id)
            .order_by(AuditEvent.chain_seq.is_not(None), AuditEvent.chain_seq, AuditEvent.id)
        ):
            part.write(
                {
                    "issuer_id": event.issuer_id,
                    "actor_id": event.actor_id,
                    "actor": event.actor,
                    "action": event.action,
                    "subject_type": event.subject_type,
                    "subject_id": event.subject_id,
                    "detail": event.detail,
                    "ip_address": event.ip_address,
                    "created_at": when(event.created_at),
                    "chain_seq": event.chain_seq,
                    "prev_hash": event.prev_hash,
                    "hash": event.hash,
                }
            )
            head = {"seq": event.chain_seq, "hash": event.hash}
    _write_educators(writer, issuer)
    return head


def _version(version: AchievementVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "name": version.name,
        "description": version.description,
        "criteria_markdown": version.criteria_markdown,
        "criteria_url": version.criteria_url,
        "learning_outcomes": version.learning_outcomes,
        "alignments": version.alignments,
        "achievement_type": version.achievement_type,
        "tags": version.tags,
        "credits_available": version.credits_available,
        "credit_unit": version.credit_unit,
        "default_validity_days": version.default_validity_days,
        "image": version.image.sha256 if version.image else None,
        "rubric": version.rubric,
        "accepts_submissions": version.accepts_submissions,
        "pathway_required": version.pathway_required,
        "pathway_members": version.pathway_members,
        "pathway_award_mode": version.pathway_award_mode,
        "created_at": when(version.created_at),
        "created_by": version.created_by_id,
    }


def _module(module: Module) -> dict[str, Any]:
    """A module's definition (what staff wrote), with its activities and prompts in order;
    never an educator's enrolment or answers."""
    achievement = db.session.get(Achievement, module.achievement_id)
    return {
        "public_id": module.public_id,
        "achievement": achievement.public_id if achievement else None,
        "title": module.title,
        "summary": module.summary,
        "learning_outcomes": module.learning_outcomes,
        "enrolment_mode": module.enrolment_mode,
        "requires_partner": module.requires_partner,
        "award_mode": module.award_mode,
        "published": module.published,
        "created_at": when(module.created_at),
        "updated_at": when(module.updated_at),
        "activities": [
            {
                "position": activity.position,
                "title": activity.title,
                "directions": activity.directions,
                "resources": activity.resources,
                "prompts": [
                    {"position": prompt.position, "text": prompt.text}
                    for prompt in activity.prompts
                ],
            }
            for activity in module.activities
        ],
    }


def _write_staff(writer: ArchiveWriter, issuer: Issuer) -> None:
    """Members (with their role and password hash, so they sign in on the new instance as
    before) and every other account the organisation's records name (no role, no password)."""
    named: Any = union(
        select(Membership.staff_id).where(Membership.issuer_id == issuer.id),
        select(AuditEvent.actor_id).where(
            AuditEvent.issuer_id == issuer.id, AuditEvent.actor_id.is_not(None)
        ),
        select(IssuedCredential.awarded_by_id).where(
            IssuedCredential.issuer_id == issuer.id, IssuedCredential.awarded_by_id.is_not(None)
        ),
        select(AchievementVersion.created_by_id)
        .join(Achievement)
        .where(Achievement.issuer_id == issuer.id, AchievementVersion.created_by_id.is_not(None)),
    )
    roles = {
        m.staff_id: m
        for m in db.session.scalars(select(Membership).where(Membership.issuer_id == issuer.id))
    }
    with writer.part("staff.jsonl") as part:
        for account in _stream(
            select(StaffAccount).where(StaffAccount.id.in_(named)).order_by(StaffAccount.id)
        ):
            membership = roles.get(account.id)
            part.write(
                {
                    "ref": account.id,
                    "email": account.email,
                    "name": account.name,
                    "role": membership.role if membership else None,
                    "member_since": when(membership.created_at) if membership else None,
                    "password_hash": account.password_hash if membership else None,
                    "is_active": account.is_active,
                    "created_at": when(account.created_at),
                }
            )


def _write_credentials(writer: ArchiveWriter, issuer: Issuer) -> None:
    query = (
        select(IssuedCredential, Achievement.public_id, AchievementVersion.version)
        .join(Achievement, Achievement.id == IssuedCredential.achievement_id)
        .join(AchievementVersion, AchievementVersion.id == IssuedCredential.achievement_version_id)
        .where(IssuedCredential.issuer_id == issuer.id)
        .order_by(IssuedCredential.issued_at, IssuedCredential.id)
        .execution_options(yield_per=_BATCH)
    )
    with writer.part("credentials.jsonl") as part:
        for credential, achievement, version in db.session.execute(query):
            part.write(
                {
                    "id": credential.id,
                    "achievement": achievement,
                    "version": version,
                    "recipient_email": credential.recipient_email,
                    "recipient_name": credential.recipient_name,
                    # Exactly as signed: the stored text, byte for byte.
                    "document": credential.document,
                    "proof_format": credential.proof_format,
                    "issued_at": when(credential.issued_at),
                    "valid_from": when(credential.valid_from),
                    "valid_until": when(credential.valid_until),
                    "status_index": credential.status_index,
                    "revoked_at": when(credential.revoked_at),
                    "revocation_reason": credential.revocation_reason,
                    "revocation_public_reason": credential.revocation_public_reason,
                    "suspended_at": when(credential.suspended_at),
                    "suspension_reason": credential.suspension_reason,
                    "suspension_public_reason": credential.suspension_public_reason,
                    "replaced_by_id": credential.replaced_by_id,
                    "awarded_by": credential.awarded_by_id,
                    "is_private": credential.is_private,
                    "show_on_profile": credential.show_on_profile,
                    "expiry_notice_sent_at": when(credential.expiry_notice_sent_at),
                    "claimed_at": when(credential.claimed_at),
                }
            )
            db.session.expunge(credential)
    ours = select(IssuedCredential.id).where(IssuedCredential.issuer_id == issuer.id)
    with writer.part("manage_links.jsonl") as part:
        for link in _stream(
            select(ManageLink).where(ManageLink.credential_id.in_(ours)).order_by(ManageLink.id)
        ):
            part.write(
                {
                    "credential_id": link.credential_id,
                    # Only the hash: the links in recipients' mail keep working, and the
                    # archive gives no one a working link.
                    "token_hash": link.token_hash,
                    "created_at": when(link.created_at),
                    "expires_at": when(link.expires_at),
                    "revoked_at": when(link.revoked_at),
                }
            )
    with writer.part("wallet_copies.jsonl") as part:
        for copy in _stream(
            select(WalletCopy).where(WalletCopy.credential_id.in_(ours)).order_by(WalletCopy.id)
        ):
            part.write(
                {
                    "credential_id": copy.credential_id,
                    "protocol": copy.protocol,
                    "proof_format": copy.proof_format,
                    "holder_did": copy.holder_did,
                    "document": copy.document,
                    "issued_at": when(copy.issued_at),
                }
            )
            db.session.expunge(copy)


def _write_educators(writer: ArchiveWriter, issuer: Issuer) -> None:
    """The educators who hold the organisation's credentials: those with a confirmed address
    it awarded to (a credential is theirs by that address), with all their addresses."""
    recipients = select(IssuedCredential.recipient_email).where(
        IssuedCredential.issuer_id == issuer.id
    )
    holders = select(EducatorEmail.educator_id).where(
        EducatorEmail.verified_at.is_not(None), EducatorEmail.email.in_(recipients)
    )
    with writer.part("educators.jsonl") as part:
        for educator in _stream(
            select(Educator).where(Educator.id.in_(holders)).order_by(Educator.id)
        ):
            part.write(
                {
                    "ref": educator.id,
                    "name": educator.name,
                    "credential_name": educator.credential_name,
                    "profile_slug": educator.profile_slug,
                    "profile_public": educator.profile_public,
                    "bio": educator.bio,
                    "primary_email": educator.primary_email,
                    "created_at": when(educator.created_at),
                    "last_login_at": when(educator.last_login_at),
                    "emails": [
                        {
                            "email": address.email,
                            "verified_at": when(address.verified_at),
                            "created_at": when(address.created_at),
                        }
                        for address in educator.emails
                    ],
                }
            )
