"""Build unsigned ``OpenBadgeCredential`` and ``EndorsementCredential`` documents.

https://www.imsglobal.org/spec/ob/v3p0/#achievementcredential

The output is shaped for the strict 1EdTech JSON Schema: every ``type`` is an array (except
``IdentityObject`` and ``Image``, which the schema wants as strings), images are objects,
multi-valued properties are arrays, and dates carry an offset. Ids, times and salts come in as
arguments: this module has no clock and no randomness.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from credentials.dates import format_datetime
from credentials.identity import EMAIL_ADDRESS, identity_object
from credentials.types import (
    Achievement,
    Alignment,
    Evidence,
    Image,
    Profile,
    Recipient,
    Result,
    ResultDescription,
)
from credentials.vocab import (
    ACHIEVEMENT_CREDENTIAL_SCHEMA,
    ACHIEVEMENT_TYPES,
    ENDORSEMENT_CREDENTIAL,
    ENDORSEMENT_CREDENTIAL_SCHEMA,
    EXTENSION_TYPES,
    JSON_SCHEMA_VALIDATOR_TYPE,
    OB_CONTEXT,
    OB_EXTENSIONS_CONTEXT,
    OPEN_BADGE_CREDENTIAL,
    VC_V2_CONTEXT,
    VERIFIABLE_CREDENTIAL,
)

JSON = dict[str, Any]


def _compact(obj: Mapping[str, Any]) -> JSON:
    """Drop ``None`` values and empty lists: absent is clearer than null in JSON-LD."""
    return {k: v for k, v in obj.items() if v is not None and v != []}


def image_json(image: Image | None) -> JSON | None:
    """An ``Image`` object (``type`` a string, as the schema requires)."""
    if image is None:
        return None
    return _compact({"id": image.id, "type": "Image", "caption": image.caption})


def profile_json(profile: Profile) -> JSON:
    """An embedded ``Profile`` (issuer, creator or endorser)."""
    return _compact(
        {
            "id": profile.id,
            "type": ["Profile"],
            "name": profile.name,
            "url": profile.url,
            "email": profile.email,
            "phone": profile.phone,
            "description": profile.description,
            "image": image_json(profile.image),
        }
    )


def alignment_json(alignment: Alignment) -> JSON:
    """An ``Alignment`` object."""
    return _compact(
        {
            "type": ["Alignment"],
            "targetName": alignment.target_name,
            "targetUrl": alignment.target_url,
            "targetDescription": alignment.target_description,
            "targetFramework": alignment.target_framework,
            "targetCode": alignment.target_code,
            "targetType": alignment.target_type,
        }
    )


def result_description_json(description: ResultDescription) -> JSON:
    """A ``ResultDescription`` object."""
    return _compact(
        {
            "id": description.id,
            "type": ["ResultDescription"],
            "name": description.name,
            "resultType": description.result_type,
            "allowedValue": list(description.allowed_value),
            "requiredValue": description.required_value,
            "valueMin": description.value_min,
            "valueMax": description.value_max,
            "rubricCriterionLevel": [
                _compact(
                    {
                        "id": level.id,
                        "type": ["RubricCriterionLevel"],
                        "name": level.name,
                        "description": level.description,
                        "level": level.level,
                        "points": level.points,
                    }
                )
                for level in description.rubric_levels
            ],
        }
    )


def achievement_json(achievement: Achievement) -> JSON:
    """An ``Achievement`` object.

    :raises ValueError: for an achievementType outside the OB 3.0 list (``ext:`` is allowed)
        or criteria with neither an id nor a narrative.
    """
    kind = achievement.achievement_type
    if kind is not None and kind not in ACHIEVEMENT_TYPES and not kind.startswith("ext:"):
        raise ValueError(f"unknown achievementType {kind!r}")
    if not achievement.criteria_id and not achievement.criteria_narrative:
        raise ValueError("an achievement needs criteria: a narrative, a URL, or both")
    return _compact(
        {
            "id": achievement.id,
            "type": ["Achievement"],
            "achievementType": kind,
            "name": achievement.name,
            "description": achievement.description,
            "criteria": _compact(
                {"id": achievement.criteria_id, "narrative": achievement.criteria_narrative}
            ),
            "image": image_json(achievement.image),
            "alignment": [alignment_json(a) for a in achievement.alignments],
            "tag": list(achievement.tags),
            "creditsAvailable": achievement.credits_available,
            "resultDescription": [
                result_description_json(r) for r in achievement.result_descriptions
            ],
            "creator": profile_json(achievement.creator) if achievement.creator else None,
            "version": achievement.version,
            "inLanguage": achievement.in_language,
            "fieldOfStudy": achievement.field_of_study,
            "specialization": achievement.specialization,
            "humanCode": achievement.human_code,
        }
    )


def evidence_json(evidence: Evidence) -> JSON:
    """An ``Evidence`` object.

    :raises ValueError: for evidence with neither a URL nor a narrative/name.
    """
    if not (evidence.id or evidence.narrative or evidence.name):
        raise ValueError("evidence needs a URL, a narrative or a name")
    return _compact(
        {
            "id": evidence.id,
            "type": ["Evidence"],
            "name": evidence.name,
            "narrative": evidence.narrative,
            "description": evidence.description,
            "genre": evidence.genre,
            "audience": evidence.audience,
        }
    )


def result_json(result: Result) -> JSON:
    """A ``Result`` object."""
    return _compact(
        {
            "type": ["Result"],
            "value": result.value,
            "status": result.status,
            "resultDescription": result.result_description,
            "achievedLevel": result.achieved_level,
        }
    )


def recipient_json(recipient: Recipient) -> tuple[str | None, list[JSON]]:
    """The subject ``id`` and ``identifier`` list for a recipient.

    :raises ValueError: when the recipient has neither an id nor an email.
    """
    identifiers: list[JSON] = []
    if recipient.email:
        identifiers.append(
            identity_object(recipient.email, identity_type=EMAIL_ADDRESS, salt=recipient.salt)
        )
    if recipient.name:
        identifiers.append(
            identity_object(recipient.name, identity_type="name", salt=None, hashed=False)
        )
    identifiers.extend(dict(extra) for extra in recipient.extra_identifiers)
    if not recipient.id and not recipient.email and not recipient.extra_identifiers:
        raise ValueError("a recipient needs an id or an email address")
    return recipient.id, identifiers


def contexts_for(document: Mapping[str, Any]) -> list[str]:
    """``[VC v2, OB 3.0.3]``, plus ``extensions.json`` when a 1EdTech extension type is used."""
    contexts = [VC_V2_CONTEXT, OB_CONTEXT]
    if _uses_extension_type(document):
        contexts.append(OB_EXTENSIONS_CONTEXT)
    return contexts


def _uses_extension_type(value: Any) -> bool:
    # A loop over a stack of the objects and arrays left to look at, not a recursion through
    # generators: it runs on every credential built (a bulk job builds thousands).
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            kind = item.get("type")
            for k in kind if isinstance(kind, list) else (kind,):
                if isinstance(k, str) and k in EXTENSION_TYPES:
                    return True
            stack.extend(
                v for k, v in item.items() if k != "@context" and isinstance(v, (dict, list))
            )
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return False


def build_credential(
    *,
    credential_id: str,
    issuer: Profile,
    achievement: Achievement,
    recipient: Recipient,
    valid_from: datetime,
    valid_until: datetime | None = None,
    awarded_date: datetime | None = None,
    name: str | None = None,
    description: str | None = None,
    image: Image | None = None,
    narrative: str | None = None,
    evidence: Sequence[Evidence] = (),
    results: Sequence[Result] = (),
    credits_earned: float | None = None,
    activity_start: datetime | None = None,
    activity_end: datetime | None = None,
    credential_status: Mapping[str, Any] | None = None,
    endorsements: Iterable[Mapping[str, Any]] = (),
    with_credential_schema: bool = True,
) -> JSON:
    """Build an unsigned ``OpenBadgeCredential``.

    :param credential_id: the credential's ``id``: its public URL or a ``urn:uuid:``.
    :param valid_from: when it takes effect (normally the issue time; never in the future).
    :param awarded_date: when it was first awarded (kept when a credential is re-issued).
    :param credential_status: e.g. a ``BitstringStatusListEntry`` (see ``credentials.status``).
    :param with_credential_schema: list the canonical OB 3.0 JSON Schema in ``credentialSchema``.
    :returns: the credential as a JSON-ready dict.
    :raises ValueError: for inconsistent input (no recipient, validUntil before validFrom, …).
    """
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("validUntil must be after validFrom")
    subject_id, identifiers = recipient_json(recipient)
    subject = _compact(
        {
            "id": subject_id,
            "type": ["AchievementSubject"],
            "identifier": identifiers,
            "achievement": achievement_json(achievement),
            "narrative": narrative,
            "result": [result_json(r) for r in results],
            "creditsEarned": credits_earned,
            "activityStartDate": format_datetime(activity_start) if activity_start else None,
            "activityEndDate": format_datetime(activity_end) if activity_end else None,
        }
    )
    body = _compact(
        {
            "id": credential_id,
            "type": [VERIFIABLE_CREDENTIAL, OPEN_BADGE_CREDENTIAL],
            "name": name or achievement.name,
            "description": description,
            "image": image_json(image),
            "issuer": profile_json(issuer),
            "validFrom": format_datetime(valid_from),
            "validUntil": format_datetime(valid_until) if valid_until else None,
            "awardedDate": format_datetime(awarded_date) if awarded_date else None,
            "credentialSubject": subject,
            "evidence": [evidence_json(e) for e in evidence],
            "endorsement": [dict(e) for e in endorsements],
            "credentialStatus": dict(credential_status) if credential_status else None,
            "credentialSchema": (
                [{"id": ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": JSON_SCHEMA_VALIDATOR_TYPE}]
                if with_credential_schema
                else None
            ),
        }
    )
    return {"@context": contexts_for(body), **body}


def build_endorsement(
    *,
    credential_id: str,
    issuer: Profile,
    endorsed_id: str,
    name: str,
    valid_from: datetime,
    comment: str | None = None,
    valid_until: datetime | None = None,
    with_credential_schema: bool = True,
) -> JSON:
    """Build an unsigned ``EndorsementCredential`` about a profile, achievement or credential.

    :param endorsed_id: the ``id`` of the thing endorsed.
    :param name: required for endorsements by the OB 3.0 schema.
    :raises ValueError: when validUntil is not after validFrom.
    """
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("validUntil must be after validFrom")
    body = _compact(
        {
            "id": credential_id,
            "type": [VERIFIABLE_CREDENTIAL, ENDORSEMENT_CREDENTIAL],
            "name": name,
            "issuer": profile_json(issuer),
            "validFrom": format_datetime(valid_from),
            "validUntil": format_datetime(valid_until) if valid_until else None,
            "credentialSubject": _compact(
                {"id": endorsed_id, "type": ["EndorsementSubject"], "endorsementComment": comment}
            ),
            "credentialSchema": (
                [{"id": ENDORSEMENT_CREDENTIAL_SCHEMA, "type": JSON_SCHEMA_VALIDATOR_TYPE}]
                if with_credential_schema
                else None
            ),
        }
    )
    return {"@context": contexts_for(body), **body}
