"""Learning records (CLR 2.0): an educator's credentials exported as one signed ``ClrCredential``,
by the educator from the backpack or by an organisation's staff as a PD transcript.

Each credential goes in exactly as it was signed, with its achievement, and the pathways among
them become associations (a pathway ``isParentOf`` each part, each part ``isChildOf`` it). Who
signs the record: the issuing organisation when every credential in it is that organisation's
(its own statements, repackaged), otherwise this instance (``org/instance.py``), since no single
organisation can vouch for another's credentials.

Only credentials that verify today go in (not revoked, suspended or expired, and signed as Data
Integrity JSON: a VC-JWT cannot sit in a record), so a record never fails for what it holds on
the day it is made. The educator's record may also hold credentials imported into the backpack
from other issuers: those whose last check found them valid, VC 2.0 JSON and not expired (such
a record is signed by the instance). A record is not stored: it is made, signed and downloaded;
a staff export is written in the organisation's audit log.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, Educator, IssuedCredential, Issuer
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound
from app.services.delivery import images
from app.services.learning import educators, imports
from app.services.org import audit, instance, issuers
from app.services.org.audit import Actor
from credentials import (
    VC_V2_CONTEXT,
    CredentialError,
    Profile,
    add_proof,
    bake_clr_png,
    build_clr,
    clr_schema_errors,
    identity_object,
    parse_datetime,
    pathway_associations,
)

#: What a record is called where a wallet shows it.
EDUCATOR_RECORD_NAME = "Professional learning record"


@dataclass(frozen=True)
class Choice:
    """A credential that may go in a record, as the export form lists it: ``key`` is the
    form's value (an issued credential's id, or ``imported-<public id>``)."""

    key: str
    achievement_name: str
    issuer_name: str
    date: datetime
    document: dict[str, Any]
    issued: IssuedCredential | None = None


def _achievement_name(document: dict[str, Any]) -> str:
    subject = document.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    return str(achievement.get("name", "")) if isinstance(achievement, dict) else ""


def _issued_choices(found: Sequence[IssuedCredential], env: ServiceEnv) -> list[Choice]:
    choices = []
    for credential in found:
        if credential.status_at(env.now) != "valid" or not credential.document.startswith("{"):
            continue
        document = json.loads(credential.document)
        choices.append(
            Choice(credential.id, _achievement_name(document), credential.issuer.name,
                   credential.issued_at, document, credential)
        )  # fmt: skip
    return choices


def _imported_choices(educator: Educator, env: ServiceEnv) -> list[Choice]:
    choices = []
    for imported in imports.list_for(educator):
        if not imported.valid or not imported.document.startswith("{"):
            continue
        document = imports.credential_of(imported)
        contexts = document.get("@context")
        if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2_CONTEXT:
            continue  # the CLR schema reads its credentials as VC 2.0
        until = document.get("validUntil")
        try:
            if isinstance(until, str) and parse_datetime(until) < env.now:
                continue
        except CredentialError:
            continue
        choices.append(
            Choice(f"imported-{imported.public_id}", imported.name, imported.issuer_name,
                   imported.imported_at, document)
        )  # fmt: skip
    return choices


def educator_choices(educator: Educator, env: ServiceEnv) -> list[Choice]:
    """The educator's credentials that can go in a record: Cairn's newest first, then the
    imported ones."""
    return _issued_choices(educators.credentials_of(educator), env) + _imported_choices(
        educator, env
    )


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
    return _issued_choices(found, env)


def _chosen(choices: list[Choice], credential_ids: Sequence[str] | None) -> list[Choice]:
    if credential_ids is None:
        chosen = choices
    else:
        wanted = set(credential_ids)
        chosen = [c for c in choices if c.key in wanted]
        if len(chosen) != len(wanted):
            raise Invalid(
                "Some of the chosen credentials cannot go in a record (not yours, or no longer "
                "valid).",
                field="credential",
            )
    if not chosen:
        raise Invalid("Choose at least one valid credential for the record.", field="credential")
    return chosen


def _associations(chosen: list[Choice]) -> list[Any]:
    """Pathway edges among the chosen credentials' achievements, by the ids they are signed with
    (pathways are Cairn's: imported credentials have none)."""
    issued = [(c.issued, c.document) for c in chosen if c.issued is not None]
    signed_id: dict[int, str] = {}
    for credential, document in issued:
        achievement = document.get("credentialSubject", {}).get("achievement", {})
        signed_id[credential.achievement_id] = str(achievement.get("id"))
    public_ids = dict(
        db.session.execute(
            select(Achievement.public_id, Achievement.id).where(Achievement.id.in_(signed_id))
        ).all()
    )
    parents: dict[str, list[str]] = {}
    for credential, _document in issued:
        version = credential.achievement_version
        if not version.pathway_required:
            continue
        members = [public_ids[p] for p in version.pathway_members or [] if p in public_ids]
        parents.setdefault(signed_id[credential.achievement_id], []).extend(
            signed_id[m] for m in members
        )
    return pathway_associations(parents, signed_id.values())


def _sign_record(
    chosen: list[Choice], emails: list[str], *, name: str, partial: bool, env: ServiceEnv
) -> dict[str, Any]:
    documents = [c.document for c in chosen]
    issuers_of = {c.issued.issuer_id if c.issued is not None else None for c in chosen}
    if len(issuers_of) == 1 and chosen[0].issued is not None:
        issuer = chosen[0].issued.issuer
        record, key = issuers.signing_key(issuer, "ed25519", env)
        method = issuers.verification_method(issuer, record, env)
        signer: Profile = issuers.profile(issuer, env)
    else:
        key, method = instance.signing_key(env)
        signer = Profile(id=instance.did(env), name=f"Cairn ({env.did_host})", url=env.base_url)
    try:
        unsigned = build_clr(
            clr_id=f"urn:uuid:{uuid.uuid4()}",
            issuer=signer,
            # The learner named by hashed addresses, salted afresh: the record says no more
            # about them than the credentials inside do.
            subject_identifiers=[identity_object(e, salt=secrets.token_hex(16)) for e in emails],
            embedded=documents,
            associations=_associations(chosen),
            name=name,
            valid_from=env.now,
            partial=partial,
        )
        problems = clr_schema_errors(unsigned)
        if problems:
            # Never hand out a record 1EdTech's schema refuses (an imported credential's shape).
            raise Invalid(
                "The record would not match the CLR 2.0 schema: " + "; ".join(problems[:3]),
                field="credential",
            )
        return add_proof(
            unsigned, signer=key, verification_method=method, created=env.now, loader=env.loader
        )
    except (ValueError, CredentialError) as exc:
        raise Invalid(f"The record could not be made: {getattr(exc, 'message', exc)}") from None


def _emails(chosen: list[Choice]) -> list[str]:
    """The addresses Cairn's chosen credentials were sent to: the record names its learner by
    them (hashed), as the credentials do."""
    return sorted({c.issued.recipient_email for c in chosen if c.issued is not None})


def educator_record(
    educator: Educator, credential_ids: Sequence[str] | None, env: ServiceEnv
) -> dict[str, Any]:
    """A signed record of the educator's chosen credentials (``None``: all that can go in).

    :raises Invalid: when nothing is chosen, or a chosen credential is not theirs or not valid.
    """
    choices = educator_choices(educator, env)
    chosen = _chosen(choices, credential_ids)
    emails = _emails(chosen) or educators.verified_emails(educator)[:1]
    return _sign_record(
        chosen, emails, name=EDUCATOR_RECORD_NAME, partial=len(chosen) < len(choices), env=env
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
        _emails(chosen),
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
        detail={"credentials": [c.key for c in chosen]},
    )
    db.session.commit()
    return record


def baked_png(record: dict[str, Any]) -> bytes:
    """The record baked into a PNG (``clrcredential``), on a picture drawn for it."""
    return bake_clr_png(images.default_badge_png("Learning record"), json.dumps(record))
