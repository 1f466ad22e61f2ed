"""Learning records (CLR 2.0): an educator's credentials exported as one signed ``ClrCredential``,
by the educator from the backpack or by an organisation's staff as a PD transcript.

Each credential goes in exactly as it was signed, with its achievement, and the pathways among
them become associations (a pathway ``isParentOf`` each part, each part ``isChildOf`` it). Who
signs the record: the issuing organisation when every credential in it is that organisation's
(its own statements, repackaged), otherwise this instance (``org/instance.py``), since no single
organisation can vouch for another's credentials.

Only credentials that verify today go in (not revoked, suspended or expired, and signed as Data
Integrity JSON: a VC-JWT cannot sit in a record), so a record never fails for what it holds on
the day it is made. A record is not stored: it is made, signed and downloaded; a staff export
is written in the organisation's audit log.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, Educator, IssuedCredential, Issuer
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound
from app.services.delivery import images
from app.services.learning import educators
from app.services.org import audit, instance, issuers
from app.services.org.audit import Actor
from credentials import (
    CredentialError,
    Profile,
    add_proof,
    bake_clr_png,
    build_clr,
    identity_object,
    pathway_associations,
)

#: What a record is called where a wallet shows it.
EDUCATOR_RECORD_NAME = "Professional learning record"


@dataclass(frozen=True)
class Choice:
    """A credential that may go in a record, as the export form lists it."""

    credential: IssuedCredential
    achievement_name: str
    issuer_name: str


def _exportable(found: Sequence[IssuedCredential], env: ServiceEnv) -> list[Choice]:
    choices = []
    for credential in found:
        if credential.status_at(env.now) != "valid" or not credential.document.startswith("{"):
            continue
        document = json.loads(credential.document)
        achievement = document.get("credentialSubject", {}).get("achievement", {})
        choices.append(Choice(credential, str(achievement.get("name", "")), credential.issuer.name))
    return choices


def educator_choices(educator: Educator, env: ServiceEnv) -> list[Choice]:
    """The educator's credentials that can go in a record, newest first."""
    return _exportable(educators.credentials_of(educator), env)


def _addresses(email: str) -> list[str]:
    # Like pathways: every confirmed address of the educator who has this one counts.
    educator = educators.find_by_email(email)
    found = educators.verified_emails(educator) if educator is not None else []
    return list(dict.fromkeys([email, *found])) if email in found else [email]


def staff_choices(issuer: Issuer, email: str, env: ServiceEnv) -> list[Choice]:
    """This organisation's credentials of the educator at ``email`` that can go in a record.

    :raises Invalid: when ``email`` is not an address.
    """
    address = check_email(email)
    found = db.session.scalars(
        select(IssuedCredential)
        .where(
            IssuedCredential.issuer_id == issuer.id,
            IssuedCredential.recipient_email.in_(_addresses(address)),
        )
        .order_by(IssuedCredential.issued_at.desc())
    ).all()
    return _exportable(found, env)


def _chosen(choices: list[Choice], credential_ids: Sequence[str] | None) -> list[Choice]:
    if credential_ids is None:
        chosen = choices
    else:
        wanted = set(credential_ids)
        chosen = [c for c in choices if c.credential.id in wanted]
        if len(chosen) != len(wanted):
            raise Invalid(
                "Some of the chosen credentials cannot go in a record (not yours, or no longer "
                "valid).",
                field="credential",
            )
    if not chosen:
        raise Invalid("Choose at least one valid credential for the record.", field="credential")
    return chosen


def _associations(chosen: list[Choice], documents: list[dict[str, Any]]) -> list[Any]:
    """Pathway edges among the chosen credentials' achievements, by the ids they are signed with."""
    signed_id: dict[int, str] = {}
    for choice, document in zip(chosen, documents, strict=True):
        achievement = document.get("credentialSubject", {}).get("achievement", {})
        signed_id[choice.credential.achievement_id] = str(achievement.get("id"))
    public_ids = dict(
        db.session.execute(
            select(Achievement.public_id, Achievement.id).where(Achievement.id.in_(signed_id))
        ).all()
    )
    parents: dict[str, list[str]] = {}
    for choice in chosen:
        version = choice.credential.achievement_version
        if not version.pathway_required:
            continue
        members = [public_ids[p] for p in version.pathway_members or [] if p in public_ids]
        parents.setdefault(signed_id[choice.credential.achievement_id], []).extend(
            signed_id[m] for m in members
        )
    return pathway_associations(parents, signed_id.values())


def _sign_record(
    chosen: list[Choice], *, name: str, partial: bool, env: ServiceEnv
) -> dict[str, Any]:
    documents = [json.loads(c.credential.document) for c in chosen]
    issuer_ids = {c.credential.issuer_id for c in chosen}
    if len(issuer_ids) == 1:
        issuer = chosen[0].credential.issuer
        record, key = issuers.signing_key(issuer, "ed25519", env)
        method = issuers.verification_method(issuer, record, env)
        signer: Profile = issuers.profile(issuer, env)
    else:
        key, method = instance.signing_key(env)
        signer = Profile(id=instance.did(env), name=f"Cairn ({env.did_host})", url=env.base_url)
    emails = sorted({c.credential.recipient_email for c in chosen})
    try:
        unsigned = build_clr(
            clr_id=f"urn:uuid:{uuid.uuid4()}",
            issuer=signer,
            # The learner named by hashed addresses, salted afresh: the record says no more
            # about them than the credentials inside do.
            subject_identifiers=[identity_object(e, salt=secrets.token_hex(16)) for e in emails],
            embedded=documents,
            associations=_associations(chosen, documents),
            name=name,
            valid_from=env.now,
            partial=partial,
        )
        return add_proof(
            unsigned, signer=key, verification_method=method, created=env.now, loader=env.loader
        )
    except (ValueError, CredentialError) as exc:
        raise Invalid(f"The record could not be made: {getattr(exc, 'message', exc)}") from None


def educator_record(
    educator: Educator, credential_ids: Sequence[str] | None, env: ServiceEnv
) -> dict[str, Any]:
    """A signed record of the educator's chosen credentials (``None``: all that can go in).

    :raises Invalid: when nothing is chosen, or a chosen credential is not theirs or not valid.
    """
    choices = educator_choices(educator, env)
    chosen = _chosen(choices, credential_ids)
    return _sign_record(
        chosen, name=EDUCATOR_RECORD_NAME, partial=len(chosen) < len(choices), env=env
    )


def staff_record(
    issuer: Issuer,
    email: str,
    credential_ids: Sequence[str] | None,
    *,
    actor: Actor,
    env: ServiceEnv,
) -> dict[str, Any]:
    """A PD transcript: the organisation's chosen credentials of one educator, signed by it.

    :raises Invalid: when the address is bad or nothing valid is chosen.
    :raises NotFound: when the organisation has awarded nothing that can go in a record to them.
    """
    choices = staff_choices(issuer, email, env)
    if not choices:
        raise NotFound("This organisation has no valid credentials of that educator.")
    chosen = _chosen(choices, credential_ids)
    record = _sign_record(
        chosen,
        name=f"Professional learning transcript from {issuer.name}",
        partial=len(chosen) < len(choices),
        env=env,
    )
    audit.record(
        "record.exported",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="record",
        subject_id=record["id"],
        detail={"credentials": [c.credential.id for c in chosen]},
    )
    db.session.commit()
    return record


def baked_png(record: dict[str, Any]) -> bytes:
    """The record baked into a PNG (``clrcredential``), on a picture drawn for it."""
    return bake_clr_png(images.default_badge_png("Learning record"), json.dumps(record))
