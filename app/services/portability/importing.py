"""``cairn import FILE``: an organisation's archive onto this instance, in one transaction.

Refused with nothing written when the archive is damaged or of an unknown version, when it was
made for another public origin, when its slug or any public id is taken here, when its audit
chain does not verify, or when its keys do not open with this instance's key passphrase. Local
integer ids are given anew; staff accounts and educators are merged with this instance's by
address (educators by a confirmed one)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    Activity,
    AuditEvent,
    Educator,
    EducatorEmail,
    Image,
    IssuedCredential,
    Issuer,
    IssuerKey,
    ManageLink,
    Membership,
    Module,
    Prompt,
    StaffAccount,
    StatusAllocation,
    StatusList,
    WalletCopy,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid
from app.services.awarding.credit import credit_of_document
from app.services.org import audit
from app.services.org.audit import Actor
from app.services.org.issuers import key_owner
from app.services.portability.archive import ArchiveReader, file_sha256
from keys import EncryptedFileStore, KeyStoreError, SealedKey, encrypted_store_of

_BATCH = 500


@dataclass(frozen=True)
class ImportSummary:
    """What was imported: the organisation, the archive's SHA-256 and each part's count."""

    slug: str
    sha256: str
    counts: dict[str, int]
    educators_merged: int


def at(value: Any) -> datetime | None:
    """An archived timestamp (ISO 8601 with its offset) back as an aware datetime."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a timestamp without its time zone")
    return moment


def must(value: Any) -> datetime:
    """A timestamp that may not be missing."""
    moment = at(value)
    if moment is None:
        raise ValueError("a required timestamp is missing")
    return moment


def unb64(value: str) -> bytes:
    """Standard base64 back to bytes."""
    return base64.b64decode(value, validate=True)


def import_archive(
    path: Path, env: ServiceEnv, *, actor: Actor, expected_sha256: str | None = None
) -> ImportSummary:
    """Import the archive at ``path`` (see the module's docstring for what is refused).

    :raises Invalid: a damaged, unknown or foreign archive, or keys that do not open here.
    :raises Conflict: the slug or a public id is taken on this instance.
    """
    if not path.is_file():
        raise Invalid(f"{path} is not a file")
    digest = file_sha256(path)
    if expected_sha256 is not None and expected_sha256.lower() != digest:
        raise Invalid(f"{path} has SHA-256 {digest}, not the {expected_sha256} expected")
    reader = ArchiveReader(path)
    try:
        reader.verify()
        try:
            return _import(reader, digest, env, actor)
        except IntegrityError as exc:
            raise Conflict(f"the archive collides with this instance's data: {exc.orig}") from None
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
            raise Invalid(f"the archive is malformed: {exc!r}") from None
    finally:
        reader.close()


def _import(reader: ArchiveReader, digest: str, env: ServiceEnv, actor: Actor) -> ImportSummary:
    manifest = reader.manifest
    if manifest.get("base_url") != env.base_url:
        raise Invalid(
            f"the archive was made for {manifest.get('base_url')}, and this instance serves "
            f"{env.base_url}: credentials name their issuer, status lists and pages by that "
            "origin, so set CAIRN_BASE_URL to it (the DNS name then moves to this instance)"
        )
    (profile,) = reader.records("issuer.jsonl")
    slug = profile["slug"]
    if slug != manifest.get("issuer"):
        raise Invalid("the archive's manifest and profile name different organisations")
    if db.session.scalar(select(Issuer.id).where(Issuer.slug == slug)) is not None:
        raise Conflict(f"an organisation {slug!r} exists on this instance already")
    _refuse_taken(reader, "achievements.jsonl", "public_id", Achievement.public_id, "achievement")
    _refuse_taken(reader, "modules.jsonl", "public_id", Module.public_id, "module")
    _refuse_taken(reader, "credentials.jsonl", "id", IssuedCredential.id, "credential")
    _check_archived_chain(reader, manifest)
    try:
        store = encrypted_store_of(env.keystore)
    except KeyStoreError as exc:
        raise Invalid(str(exc)) from None
    sealed_keys = _open_keys(reader, store)

    # Everything checked: write, in the command's one transaction.
    images = _images(reader, env)
    issuer = Issuer(
        slug=slug,
        name=profile["name"],
        url=profile["url"],
        email=profile["email"],
        description=profile["description"],
        image_id=images.get(profile["image"]) if profile["image"] else None,
        proof_format=profile["proof_format"],
        created_at=must(profile["created_at"]),
        certificate_template=profile["certificate_template"],
        certificate_colour=profile["certificate_colour"],
        certificate_paper=profile["certificate_paper"],
        signatory_name=profile["signatory_name"],
        signatory_title=profile["signatory_title"],
        signature_image_id=(
            images.get(profile["signature_image"]) if profile["signature_image"] else None
        ),
    )
    db.session.add(issuer)
    db.session.flush()
    for record, _sealed in sealed_keys:
        db.session.add(
            IssuerKey(
                issuer_id=issuer.id,
                kid=record["kid"],
                key_type=record["key_type"],
                algorithm=record["algorithm"],
                public_jwk=record["public_jwk"],
                public_key_multibase=record["public_key_multibase"],
                created_at=must(record["created_at"]),
                retired_at=at(record["retired_at"]),
            )
        )
    staff = _staff(reader, issuer, env)
    versions = _achievements(reader, issuer, images, staff)
    _modules(reader, issuer, versions)
    for record in reader.records("status_lists.jsonl"):
        db.session.add(
            StatusList(
                issuer_id=issuer.id,
                purpose=record["purpose"],
                length=record["length"],
                bits=unb64(record["bits"]),
                version=record["version"],
                document=record["document"],
                signed_at=must(record["signed_at"]),
            )
        )
    db.session.flush()
    _batched(
        StatusAllocation,
        (
            {
                "issuer_id": issuer.id,
                "status_index": r["index"],
                "allocated_at": must(r["allocated_at"]),
            }
            for r in reader.records("status_allocations.jsonl")
        ),
    )
    _credentials(reader, issuer, versions, staff)
    audit.import_chain(issuer.id, _archived_events(reader, staff))
    merged = _educators(reader)
    _batched(
        ManageLink,
        (
            {
                "credential_id": r["credential_id"],
                "token_hash": r["token_hash"],
                "created_at": must(r["created_at"]),
                "expires_at": must(r["expires_at"]),
                "revoked_at": at(r["revoked_at"]),
            }
            for r in reader.records("manage_links.jsonl")
        ),
    )
    _batched(
        WalletCopy,
        (
            {
                "credential_id": r["credential_id"],
                "protocol": r["protocol"],
                "proof_format": r["proof_format"],
                "holder_did": r["holder_did"],
                "document": r["document"],
                "issued_at": must(r["issued_at"]),
            }
            for r in reader.records("wallet_copies.jsonl")
        ),
    )
    counts = {name: reader.count(name) for name in manifest["parts"]}
    audit.record(
        "issuer.import",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="issuer",
        subject_id=issuer.id,
        detail={
            "archive_sha256": digest,
            "exported_at": manifest.get("exported_at"),
            # The chain as it ended on the old instance: its events were linked again here
            # (local ids are hashed), so this is what ties the two chains together.
            "previous_chain_head": manifest.get("audit_head"),
            "counts": counts,
        },
    )
    db.session.flush()
    _write_keys(store, issuer, sealed_keys)
    try:
        db.session.commit()
    except BaseException:
        store.remove_owner(key_owner(issuer), [sealed.kid for _, sealed in sealed_keys])
        raise
    return ImportSummary(slug, digest, counts, merged)


def _refuse_taken(reader: ArchiveReader, part: str, field: str, column: Any, what: str) -> None:
    """Refuse when any archived public id of ``part`` exists here (checked in batches)."""
    batch: list[str] = []

    def check() -> None:
        taken = db.session.scalar(select(column).where(column.in_(batch)).limit(1))
        if taken is not None:
            raise Conflict(f"the {what} {taken} exists on this instance already")
        batch.clear()

    for record in reader.records(part):
        batch.append(record[field])
        if len(batch) >= _BATCH:
            check()
    if batch:
        check()


def _event(record: dict[str, Any]) -> AuditEvent:
    """An archived event as an unsaved row (for hashing; never added to the session)."""
    return AuditEvent(
        issuer_id=record["issuer_id"],
        actor_id=record["actor_id"],
        actor=record["actor"],
        action=record["action"],
        subject_type=record["subject_type"],
        subject_id=record["subject_id"],
        detail=record["detail"],
        ip_address=record["ip_address"],
        created_at=must(record["created_at"]),
        chain_seq=record["chain_seq"],
        prev_hash=record["prev_hash"],
        hash=record["hash"],
    )


def _check_archived_chain(reader: ArchiveReader, manifest: dict[str, Any]) -> None:
    """The archived events must form the organisation's chain as it was, up to its head."""
    events = (_event(r) for r in reader.records("audit.jsonl"))
    count, seq, last, problem = audit.check_links(events)
    if problem is not None:
        raise Invalid(f"the archive's audit chain does not verify: {problem}")
    head = manifest.get("audit_head")
    if count and (not isinstance(head, dict) or (head.get("seq"), head.get("hash")) != (seq, last)):
        raise Invalid("the archive's audit chain does not end at the head its manifest names")


def _archived_events(reader: ArchiveReader, staff: dict[int, int]) -> Iterator[AuditEvent]:
    for record in reader.records("audit.jsonl"):
        event = _event(record)
        event.actor_id = staff.get(record["actor_id"]) if record["actor_id"] is not None else None
        yield event


def _open_keys(
    reader: ArchiveReader, store: EncryptedFileStore
) -> list[tuple[dict[str, Any], SealedKey]]:
    """Every archived key, opened in memory with this instance's passphrase and compared with
    the public key the organisation publishes; nothing is written."""
    found: list[tuple[dict[str, Any], SealedKey]] = []
    for record in reader.records("keys.jsonl"):
        sealed = SealedKey(
            kid=record["kid"],
            key_type=record["key_type"],
            created=must(record["sealed"]["created"]),
            retired=at(record["sealed"]["retired"]),
            data=record["sealed"]["file"].encode("ascii"),
        )
        try:
            public = store.open_sealed(sealed)
        except KeyStoreError as exc:
            raise Invalid(
                f"key {sealed.kid} does not open here ({exc}): this instance needs the "
                "CAIRN_KEY_PASSPHRASE of the instance that made the archive"
            ) from None
        if public.public_multikey != record["public_key_multibase"]:
            raise Invalid(f"key {sealed.kid} is not the public key the archive publishes")
        found.append((record, sealed))
    if not found:
        raise Invalid("the archive holds no signing keys")
    return found


def _write_keys(
    store: EncryptedFileStore, issuer: Issuer, sealed_keys: list[tuple[dict[str, Any], SealedKey]]
) -> None:
    """Put the key files in place, still encrypted; undo them all if one fails."""
    owner, written = key_owner(issuer), []
    try:
        for _, sealed in sealed_keys:
            store.put_sealed(owner, sealed)
            written.append(sealed.kid)
    except (KeyStoreError, OSError) as exc:
        store.remove_owner(owner, written)
        raise Invalid(f"the keys could not be stored: {exc}") from None


def _images(reader: ArchiveReader, env: ServiceEnv) -> dict[str, int]:
    """Images by SHA-256: this instance's own row when it has the same image already."""
    ids: dict[str, int] = {}
    for record in reader.records("images.jsonl"):
        sha = record["sha256"]
        existing = db.session.scalar(select(Image.id).where(Image.sha256 == sha))
        if existing is None:
            image = Image(
                sha256=sha,
                media_type=record["media_type"],
                data=unb64(record["data"]),
                width=record["width"],
                height=record["height"],
                created_at=must(record["created_at"]),
            )
            db.session.add(image)
            db.session.flush()
            existing = image.id
            db.session.expunge(image)
        ids[sha] = existing
    return ids


def _staff(reader: ArchiveReader, issuer: Issuer, env: ServiceEnv) -> dict[int, int]:
    """Archived account ids to this instance's: an account with the same address is the same
    person; members without one get an account (their password as it was); accounts the
    records merely name, and that this instance lacks, are not created (their events keep the
    address as the actor)."""
    ids: dict[int, int] = {}
    for record in reader.records("staff.jsonl"):
        email = record["email"]
        account = db.session.scalar(select(StaffAccount).where(StaffAccount.email == email))
        if account is None and record["role"] is None:
            continue
        if account is None:
            account = StaffAccount(
                email=email,
                name=record["name"],
                password_hash=record["password_hash"],
                is_admin=False,
                is_active=record["is_active"],
                created_at=must(record["created_at"]),
            )
            db.session.add(account)
            db.session.flush()
        if record["role"] is not None:
            db.session.add(
                Membership(
                    staff_id=account.id,
                    issuer_id=issuer.id,
                    role=record["role"],
                    created_at=must(record["member_since"]),
                )
            )
        ids[record["ref"]] = account.id
    return ids


def _achievements(
    reader: ArchiveReader, issuer: Issuer, images: dict[str, int], staff: dict[int, int]
) -> dict[tuple[str, int], tuple[int, int]]:
    """Achievements with all their versions; returns ``(public id, version)`` → ``(achievement
    id, version id)`` here."""
    ids: dict[tuple[str, int], tuple[int, int]] = {}
    for record in reader.records("achievements.jsonl"):
        achievement = Achievement(
            public_id=record["public_id"],
            issuer_id=issuer.id,
            current_version=record["current_version"],
            created_at=must(record["created_at"]),
            archived_at=at(record["archived_at"]),
        )
        db.session.add(achievement)
        db.session.flush()
        for item in record["versions"]:
            version = AchievementVersion(
                achievement_id=achievement.id,
                version=item["version"],
                name=item["name"],
                description=item["description"],
                criteria_markdown=item["criteria_markdown"],
                criteria_url=item["criteria_url"],
                learning_outcomes=item["learning_outcomes"],
                alignments=item["alignments"],
                achievement_type=item["achievement_type"],
                tags=item["tags"],
                credits_available=item["credits_available"],
                credit_unit=item["credit_unit"],
                default_validity_days=item["default_validity_days"],
                image_id=images.get(item["image"]) if item["image"] else None,
                rubric=item["rubric"],
                accepts_submissions=item["accepts_submissions"],
                pathway_required=item["pathway_required"],
                pathway_members=item["pathway_members"],
                pathway_award_mode=item["pathway_award_mode"],
                created_at=must(item["created_at"]),
                created_by_id=staff.get(item["created_by"]) if item["created_by"] else None,
            )
            db.session.add(version)
            db.session.flush()
            ids[(record["public_id"], item["version"])] = (achievement.id, version.id)
    return ids


def _modules(
    reader: ArchiveReader, issuer: Issuer, versions: dict[tuple[str, int], tuple[int, int]]
) -> None:
    """Module definitions with their activities and prompts (no enrolments or answers)."""
    achievement_ids = {public_id: ids[0] for (public_id, _), ids in versions.items()}
    for record in reader.records("modules.jsonl"):
        module = Module(
            public_id=record["public_id"],
            issuer_id=issuer.id,
            achievement_id=achievement_ids[record["achievement"]],
            title=record["title"],
            summary=record["summary"],
            learning_outcomes=record["learning_outcomes"],
            enrolment_mode=record["enrolment_mode"],
            requires_partner=record["requires_partner"],
            award_mode=record["award_mode"],
            published=record["published"],
            created_at=must(record["created_at"]),
            updated_at=must(record["updated_at"]),
        )
        db.session.add(module)
        db.session.flush()
        for item in record["activities"]:
            activity = Activity(
                module_id=module.id,
                position=item["position"],
                title=item["title"],
                directions=item["directions"],
                resources=item["resources"],
            )
            db.session.add(activity)
            db.session.flush()
            for prompt in item["prompts"]:
                db.session.add(
                    Prompt(
                        activity_id=activity.id, position=prompt["position"], text=prompt["text"]
                    )
                )
        db.session.flush()


def _credentials(
    reader: ArchiveReader,
    issuer: Issuer,
    versions: dict[tuple[str, int], tuple[int, int]],
    staff: dict[int, int],
) -> None:
    """The credentials, stored exactly as signed; replacements linked once all are in."""
    replaced: list[tuple[str, str]] = []

    def rows() -> Iterator[dict[str, Any]]:
        for r in reader.records("credentials.jsonl"):
            achievement_id, version_id = versions[(r["achievement"], r["version"])]
            if r["replaced_by_id"]:
                replaced.append((r["id"], r["replaced_by_id"]))
            credit, unit = credit_of_document(r["document"])
            yield {
                "id": r["id"],
                "issuer_id": issuer.id,
                "achievement_id": achievement_id,
                "achievement_version_id": version_id,
                "recipient_email": r["recipient_email"],
                "recipient_name": r["recipient_name"],
                "document": r["document"],
                "proof_format": r["proof_format"],
                "issued_at": must(r["issued_at"]),
                "valid_from": must(r["valid_from"]),
                "valid_until": at(r["valid_until"]),
                "status_index": r["status_index"],
                "revoked_at": at(r["revoked_at"]),
                "revocation_reason": r["revocation_reason"],
                "revocation_public_reason": r["revocation_public_reason"],
                "suspended_at": at(r["suspended_at"]),
                "suspension_reason": r["suspension_reason"],
                "suspension_public_reason": r["suspension_public_reason"],
                "replaced_by_id": None,
                "awarded_by_id": staff.get(r["awarded_by"]) if r["awarded_by"] else None,
                "bulk_job_id": None,
                "is_private": r["is_private"],
                "show_on_profile": r["show_on_profile"],
                "expiry_notice_sent_at": at(r["expiry_notice_sent_at"]),
                "claimed_at": at(r["claimed_at"]),
                # Read from the document as signed, as an award stores it.
                "credit": credit,
                "credit_unit": unit,
            }

    _batched(IssuedCredential, rows())
    for old, new in replaced:
        db.session.execute(
            update(IssuedCredential).where(IssuedCredential.id == old).values(replaced_by_id=new)
        )


def _educators(reader: ArchiveReader) -> int:
    """Educators merged by a confirmed address: one with a confirmed address this instance
    knows confirmed is that educator (their other addresses added when free); otherwise a new
    educator (their public profile's name kept when free). Returns how many were merged."""
    merged = 0
    for record in reader.records("educators.jsonl"):
        addresses = record["emails"]
        confirmed = [a["email"] for a in addresses if a["verified_at"]]
        existing = db.session.scalar(
            select(EducatorEmail.educator_id).where(
                EducatorEmail.email.in_(confirmed), EducatorEmail.verified_at.is_not(None)
            )
        )
        if existing is None:
            slug = record["profile_slug"]
            if db.session.scalar(select(Educator.id).where(Educator.profile_slug == slug)):
                slug = _free_profile_slug(slug)
            educator = Educator(
                name=record["name"],
                credential_name=record["credential_name"],
                profile_slug=slug,
                profile_public=record["profile_public"],
                bio=record["bio"],
                primary_email=record["primary_email"],
                created_at=must(record["created_at"]),
                last_login_at=at(record["last_login_at"]),
            )
            db.session.add(educator)
            db.session.flush()
            educator_id = educator.id
        else:
            educator_id = existing
            merged += 1
        for address in addresses:
            taken = db.session.scalar(
                select(EducatorEmail.id).where(EducatorEmail.email == address["email"])
            )
            if taken is None:
                db.session.add(
                    EducatorEmail(
                        educator_id=educator_id,
                        email=address["email"],
                        verified_at=at(address["verified_at"]),
                        created_at=must(address["created_at"]),
                    )
                )
        db.session.flush()
    return merged


def _free_profile_slug(slug: str) -> str:
    for number in range(2, 10_000):
        candidate = f"{slug[:58]}-{number}"
        if db.session.scalar(select(Educator.id).where(Educator.profile_slug == candidate)) is None:
            return candidate
    raise Conflict(f"no free profile name like {slug!r}")


def _batched(model: Any, rows: Iterator[dict[str, Any]]) -> None:
    """Insert rows in batches of a few hundred (memory stays flat however many)."""
    pending: list[dict[str, Any]] = []
    for row in rows:
        pending.append(row)
        if len(pending) >= _BATCH:
            db.session.execute(insert(model), pending)
            pending.clear()
    if pending:
        db.session.execute(insert(model), pending)
