"""Credentials from other issuers in an educator's backpack: verified when imported (this
instance's documents read from the database, anything else through the hostile-URL fetcher),
stored as submitted, and verified again on demand."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select

from app.extensions import db
from app.models import Educator, ImportedCredential, IssuedCredential
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.learning import educators
from app.services.org import audit
from app.services.verification import verifier as verification
from app.services.verification.verifier import Fetcher
from credentials import (
    CHECK_ORDER,
    ISSUER_NOT_CONFIRMED,
    VALID,
    Check,
    VerificationReport,
    detect_image_format,
    subject_matches,
    unbake,
)

#: Imports one educator may keep (each stores a whole credential).
MAX_IMPORTS = 500
#: What a credential whose recipient is none of the educator's addresses is told.
OTHER_RECIPIENT = (
    "It does not name any of your confirmed addresses: it may be someone else's, or awarded "
    "to an address you have not added to your account."
)


def _text_of(data: bytes | str) -> str:
    """The credential text inside what was submitted (the payload of a baked image)."""
    if isinstance(data, str):
        return data.strip()
    if detect_image_format(data) is not None:
        payload = unbake(data)
        if payload is None:  # the verifier already refused such an image
            raise Invalid("This image has no credential baked into it.")
        return payload.text.strip()
    return data.decode("utf-8-sig").strip()


def recipient_check(credential: Mapping[str, Any], addresses: Sequence[str]) -> Check:
    """Whether the credential was awarded to one of ``addresses``. Only a warning when not:
    the credential itself may be perfectly valid, just not (provably) the educator's."""
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    for address in addresses:
        if any(isinstance(s, Mapping) and subject_matches(s, address) for s in subjects):
            return Check(
                "recipient", "pass", f"It was awarded to {address}, one of your addresses."
            )
    return Check("recipient", "warn", OTHER_RECIPIENT, "other_recipient")


def _judged(report: VerificationReport, educator: Educator) -> VerificationReport:
    """The verifier's report with the recipient checked against the educator's addresses."""
    checks = [c for c in report.checks if c.id != "recipient"]
    checks.append(recipient_check(report.credential or {}, educators.verified_emails(educator)))
    checks.sort(key=lambda c: CHECK_ORDER.index(c.id) if c.id in CHECK_ORDER else 99)
    return VerificationReport(report.format, checks, report.credential)


def _stored(report: VerificationReport) -> dict[str, Any]:
    body = report.as_json()
    body.pop("credential")  # the document is stored beside it, as submitted
    return body


def report_of(imported: ImportedCredential) -> VerificationReport:
    """The stored result of the last verification, as a report (for verdicts and check lists)."""
    stored = imported.report or {}
    checks = [
        Check(str(c["id"]), c["status"], str(c.get("message", "")), str(c.get("code", "")))
        for c in stored.get("checks", [])
        if isinstance(c, Mapping) and "id" in c and "status" in c
    ]
    return VerificationReport(str(stored.get("format") or imported.format), checks)


def label(imported: ImportedCredential) -> dict[str, str]:
    """The short verdict shown for an import in the backpack: ``kind`` (``valid``,
    ``not_yours``, ``unconfirmed``, ``invalid``), ``title`` and the ``sentence`` said when it is
    imported or verified again. Only a valid credential awarded to one of the educator's
    addresses is called valid without a qualification."""
    outcome = report_of(imported).outcome
    if outcome == VALID and recipient_matched(imported):
        return {
            "kind": "valid",
            "title": "Valid",
            "sentence": "it is valid and was awarded to you.",
        }
    if outcome == VALID:
        return {
            "kind": "not_yours",
            "title": "Valid, not awarded to you",
            "sentence": "the credential is genuine, but it was not awarded to any of your "
            "confirmed addresses, so it is not shown as yours.",
        }
    if outcome == ISSUER_NOT_CONFIRMED:
        return {
            "kind": "unconfirmed",
            "title": "Issuer not confirmed",
            "sentence": "the signature is genuine, but nothing confirms who issued it.",
        }
    return {
        "kind": "invalid",
        "title": "Not valid",
        "sentence": "it did not pass verification: see the checks below.",
    }


def recipient_matched(imported: ImportedCredential) -> bool:
    """Whether the last verification found one of the educator's addresses in it."""
    check = report_of(imported).check("recipient")
    return check is not None and check.status == "pass"


def _names(credential: Mapping[str, Any]) -> tuple[str, str]:
    subject = credential.get("credentialSubject")
    first = subject[0] if isinstance(subject, list) and subject else subject
    achievement = first.get("achievement") if isinstance(first, Mapping) else None
    name = achievement.get("name") if isinstance(achievement, Mapping) else None
    name = name if isinstance(name, str) and name.strip() else credential.get("name")
    issuer = credential.get("issuer")
    issuer_name = issuer.get("name") or issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return (
        (name.strip() if isinstance(name, str) and name.strip() else "Credential")[:300],
        (issuer_name.strip() if isinstance(issuer_name, str) else "Unknown issuer")[:300],
    )


def _already_in_backpack(
    educator: Educator, credential: Mapping[str, Any], env: ServiceEnv
) -> bool:
    """Whether it is one of this instance's credentials the backpack already lists."""
    identifier = credential.get("id")
    if not isinstance(identifier, str):
        return False
    prefix = f"{env.base_url}/credentials/"
    if not identifier.startswith(prefix) or urlsplit(identifier).query:
        return False
    found = db.session.get(IssuedCredential, identifier[len(prefix) :])
    return found is not None and educators.owns(educator, found)


def import_credential(
    educator: Educator, data: bytes | str, *, env: ServiceEnv, fallback: Fetcher | None
) -> ImportedCredential:
    """Verify a credential (JSON, JWT, or a baked PNG/SVG) and keep it in the backpack with the
    result, valid or not. Committed.

    :raises ServiceError: when the input holds no Open Badges credential (nothing is stored).
    :raises Conflict: when it is already in the backpack, or the backpack is full.
    """
    report = verification.verify(data, env=env, fallback=fallback)
    parse = report.check("parse")
    if parse is None or parse.status == "fail" or report.credential is None:
        raise Invalid(parse.message if parse else "Nothing to import.", "file")
    kind = report.check("type")
    if kind is not None and kind.status == "fail":
        raise Invalid(f"This is not an Open Badges credential. {kind.message}", "file")
    document = _text_of(data)
    if _already_in_backpack(educator, report.credential, env):
        raise Conflict("This credential is already in your backpack.", "file")
    mine = select(ImportedCredential.id).where(ImportedCredential.educator_id == educator.id)
    if db.session.scalar(mine.where(ImportedCredential.document == document)) is not None:
        raise Conflict("You have already imported this credential.", "file")
    count = db.session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    if count >= MAX_IMPORTS:
        raise Conflict(f"Your backpack holds at most {MAX_IMPORTS} imported credentials.", "file")
    imported = _new_import(educator, report, document, env)
    db.session.commit()
    return imported


def _new_import(
    educator: Educator, report: VerificationReport, document: str, env: ServiceEnv
) -> ImportedCredential:
    """An import of a verified document, added with its audit event (not committed)."""
    judged = _judged(report, educator)
    name, issuer_name = _names(report.credential or {})
    imported = ImportedCredential(
        public_id=str(uuid.uuid4()),
        educator_id=educator.id,
        name=name,
        issuer_name=issuer_name,
        format=report.format[:16],
        document=document,
        valid=judged.valid,
        report=_stored(judged),
        show_on_profile=False,
        imported_at=env.now,
        verified_at=env.now,
    )
    db.session.add(imported)
    audit.record(
        "educator.import",
        actor=educators.actor(educator),
        now=env.now,
        subject_type="educator",
        subject_id=educator.id,
        detail={"import": imported.public_id, "valid": imported.valid},
    )
    return imported


def identity_of(credential: Mapping[str, Any]) -> tuple[str, str] | None:
    """What makes two credentials the same for the OB 3.0 API's upsert: the issuer's ``id``
    and the credential's ``id``, percent-decoded and trimmed (the spec's equality rule)."""
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    identifier = credential.get("id")
    if not isinstance(issuer_id, str) or not isinstance(identifier, str):
        return None
    return unquote(issuer_id).strip(), unquote(identifier).strip()


def _valid_from(credential: Mapping[str, Any]) -> str:
    value = credential.get("validFrom") or credential.get("issuanceDate")
    return value if isinstance(value, str) else ""


def upsert(
    educator: Educator, data: bytes | str, *, env: ServiceEnv, fallback: Fetcher | None
) -> tuple[ImportedCredential | IssuedCredential, bool]:
    """Keep a credential an application pushed through the OB 3.0 API: verified first, as an
    import is, and refused unless it verifies; the same credential (``identity_of``) already
    in the backpack is replaced when this one's ``validFrom`` is not older. Returns what holds
    it and whether it was created. Committed.

    :raises Invalid: when it is not an Open Badges credential, or does not verify.
    :raises Conflict: when the backpack is full.
    """
    report = verification.verify(data, env=env, fallback=fallback)
    parse = report.check("parse")
    if parse is None or parse.status == "fail" or report.credential is None:
        raise Invalid(parse.message if parse else "No credential was sent.", "credential")
    kind = report.check("type")
    if kind is not None and kind.status == "fail":
        raise Invalid(f"This is not an Open Badges credential. {kind.message}", "credential")
    if report.outcome not in (VALID, ISSUER_NOT_CONFIRMED):
        failed = next((c for c in report.checks if c.status == "fail"), None)
        reason = f" {failed.message}" if failed else ""
        raise Invalid(f"The credential did not pass verification.{reason}", "credential")
    identity = identity_of(report.credential)
    if identity is None:
        raise Invalid("The credential needs an id and an issuer id.", "credential")
    if _already_in_backpack(educator, report.credential, env):
        found = db.session.get(IssuedCredential, str(report.credential["id"]).rsplit("/", 1)[-1])
        if found is not None:
            return found, False
    document = _text_of(data)
    for existing in list_for(educator):
        stored = credential_of(existing)
        if identity_of(stored) != identity:
            continue
        if _valid_from(report.credential) >= _valid_from(stored):
            judged = _judged(report, educator)
            existing.document = document
            existing.format = report.format[:16]
            existing.name, existing.issuer_name = _names(report.credential)
            existing.valid = judged.valid
            existing.report = _stored(judged)
            existing.verified_at = env.now
            audit.record(
                "educator.import_replace",
                actor=educators.actor(educator),
                now=env.now,
                subject_type="educator",
                subject_id=educator.id,
                detail={"import": existing.public_id, "via": "ob_api"},
            )
            db.session.commit()
        return existing, False
    mine = select(ImportedCredential.id).where(ImportedCredential.educator_id == educator.id)
    count = db.session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    if count >= MAX_IMPORTS:
        raise Conflict(f"Your backpack holds at most {MAX_IMPORTS} imported credentials.")
    imported = _new_import(educator, report, document, env)
    db.session.commit()
    return imported, True


def list_for(educator: Educator) -> list[ImportedCredential]:
    """The educator's imported credentials, newest first."""
    return list(
        db.session.scalars(
            select(ImportedCredential)
            .where(ImportedCredential.educator_id == educator.id)
            .order_by(ImportedCredential.imported_at.desc(), ImportedCredential.id.desc())
        )
    )


def get(educator: Educator, public_id: str) -> ImportedCredential:
    """One of the educator's imports.

    :raises NotFound: when it does not exist or is someone else's (the two look the same).
    """
    found = db.session.scalar(
        select(ImportedCredential).where(ImportedCredential.public_id == public_id)
    )
    if found is None or found.educator_id != educator.id:
        raise NotFound("There is no such imported credential in your backpack.")
    return found


def reverify(
    educator: Educator, imported: ImportedCredential, *, env: ServiceEnv, fallback: Fetcher | None
) -> ImportedCredential:
    """Verify a stored import again now (it may have been revoked, or expired, since), and
    stop showing it on the profile if it no longer qualifies. Committed.

    :raises NotFound: when it is not the educator's.
    """
    if imported.educator_id != educator.id:
        raise NotFound("There is no such imported credential in your backpack.")
    judged = _judged(verification.verify(imported.document, env=env, fallback=fallback), educator)
    imported.valid = judged.valid
    imported.report = _stored(judged)
    imported.verified_at = env.now
    if not (imported.valid and recipient_matched(imported)):
        imported.show_on_profile = False
    db.session.commit()
    return imported


def set_show_on_profile(educator: Educator, imported: ImportedCredential, show: bool) -> bool:
    """List an import on the educator's public profile page (only a valid one awarded to one
    of their addresses), or stop listing it. Returns whether anything changed.

    :raises NotFound: when it is not the educator's.
    :raises Conflict: when it does not qualify.
    """
    if imported.educator_id != educator.id:
        raise NotFound("There is no such imported credential in your backpack.")
    if show and not (imported.valid and recipient_matched(imported)):
        raise Conflict(
            "Only a valid credential awarded to one of your confirmed addresses can be shown "
            "on your profile.",
            "show_on_profile",
        )
    if bool(imported.show_on_profile) == show:
        return False
    imported.show_on_profile = show
    db.session.commit()
    return True


def delete(educator: Educator, imported: ImportedCredential, env: ServiceEnv) -> None:
    """Remove an import from the backpack. Committed.

    :raises NotFound: when it is not the educator's.
    """
    if imported.educator_id != educator.id:
        raise NotFound("There is no such imported credential in your backpack.")
    audit.record(
        "educator.import_delete",
        actor=educators.actor(educator),
        now=env.now,
        subject_type="educator",
        subject_id=educator.id,
        detail={"import": imported.public_id},
    )
    db.session.delete(imported)
    db.session.commit()


def credential_of(imported: ImportedCredential) -> dict[str, Any]:
    """The stored credential as data (the payload of a JWT), or ``{}`` if it cannot be read."""
    return verification.stored_payload(imported.document)


def credential_link(imported: ImportedCredential) -> str | None:
    """The credential's own https URL (its ``id``), when it has one."""
    identifier = credential_of(imported).get("id")
    if isinstance(identifier, str) and identifier.startswith("https://"):
        return identifier
    return None


def shown_on_profile(educator: Educator) -> list[ImportedCredential]:
    """The imports the educator's profile page lists: chosen, valid when last verified, and
    awarded to one of the addresses the educator has confirmed now."""
    addresses = educators.verified_emails(educator)
    return [
        i
        for i in list_for(educator)
        if i.show_on_profile
        and i.valid
        and recipient_check(credential_of(i), addresses).status == "pass"
    ]
