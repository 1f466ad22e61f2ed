"""The checks of one credential's content: context, type, JSON Schema, terms, JWT claims, dates
and recipient. Each returns a :class:`Check`; none raises for bad input."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from credentials import schema
from credentials.dates import format_datetime, parse_datetime
from credentials.errors import CredentialError, MalformedCredential
from credentials.identity import subject_matches
from credentials.jsonld import DocumentLoader, canonize
from credentials.proofs import data_integrity
from credentials.proofs import jwt as vc_jwt
from credentials.verify.report import FAIL, PASS, WARN, Check
from credentials.vocab import (
    ACHIEVEMENT_CREDENTIAL,
    ENDORSEMENT_CREDENTIAL,
    OB_CONTEXT,
    OB_CONTEXTS_ACCEPTED,
    OPEN_BADGE_CREDENTIAL,
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    VERIFIABLE_CREDENTIAL,
)


def types_of(value: Any) -> list[str]:
    kinds = value if isinstance(value, list) else [value]
    return [k for k in kinds if isinstance(k, str)]


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, Mapping) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def vc_version(credential: Mapping[str, Any]) -> str:
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    return "1.1" if first == VC_V1_CONTEXT else "2.0"


def check_context(credential: Mapping[str, Any], loader: DocumentLoader) -> Check:
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or len(contexts) < 2:
        return Check("context", FAIL, "@context must list the VC and Open Badges contexts.")
    unknown = [c for c in contexts if isinstance(c, str) and not loader.knows(c)]
    if unknown:
        return Check(
            "context",
            FAIL,
            "The credential uses a JSON-LD context Cairn does not know: " + ", ".join(unknown),
            "unknown_context",
        )
    first, second = contexts[0], contexts[1]
    if first not in (VC_V2_CONTEXT, VC_V1_CONTEXT):
        return Check("context", FAIL, f"The first @context must be {VC_V2_CONTEXT}.")
    if second not in OB_CONTEXTS_ACCEPTED:
        return Check("context", FAIL, f"The second @context must be {OB_CONTEXT}.")
    notes = []
    if first == VC_V1_CONTEXT:
        notes.append("uses the older VC 1.1 data model")
    if second != OB_CONTEXT:
        notes.append(f"uses the older Open Badges context {second.rsplit('/', 1)[-1]}")
    if notes:
        return Check("context", WARN, "The credential " + " and ".join(notes) + ".")
    return Check("context", PASS, "Uses the VC 2.0 and Open Badges 3.0 contexts.")


def check_type(credential: Mapping[str, Any]) -> Check:
    kinds = types_of(credential.get("type"))
    if VERIFIABLE_CREDENTIAL not in kinds:
        return Check("type", FAIL, "The type must include VerifiableCredential.")
    if OPEN_BADGE_CREDENTIAL in kinds or ACHIEVEMENT_CREDENTIAL in kinds:
        return Check("type", PASS, "It is an Open Badges achievement credential.")
    if ENDORSEMENT_CREDENTIAL in kinds:
        return Check("type", PASS, "It is an Open Badges endorsement credential.")
    return Check(
        "type",
        FAIL,
        "The type must include OpenBadgeCredential, AchievementCredential "
        "or EndorsementCredential.",
    )


def check_schema(credential: dict[str, Any]) -> Check:
    try:
        judged = schema.judge_schema(credential, vc_version=vc_version(credential))
    except CredentialError as exc:
        return Check("schema", FAIL, exc.message)
    if judged.strict:
        return Check("schema", PASS, "Matches the Open Badges 3.0 JSON Schema.")
    if judged.conforms:
        # As 1EdTech's validator does when its tolerant JSON-LD schema passes: the proof is over
        # the linked data, and these forms denote the same linked data as the strict ones.
        return Check(
            "schema",
            WARN,
            "Uses the compact JSON-LD form: "
            + ", ".join(judged.compact_forms)
            + ". JSON-LD allows it and it means the same; the strict Open Badges 3.0 JSON "
            "Schema asks for the expanded form.",
            "compact_form",
        )
    errors = judged.structural_errors
    shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
    return Check("schema", FAIL, f"Does not match the OB 3.0 JSON Schema: {shown}")


def check_terms(credential: dict[str, Any], loader: DocumentLoader) -> tuple[Check, str | None]:
    try:
        canonical = canonize(data_integrity.unsecured(credential), loader)
    except CredentialError as exc:
        return Check("terms", FAIL, exc.message, exc.code), None
    return Check(
        "terms", PASS, "Every property is defined by the credential's contexts."
    ), canonical


def check_jwt_claims(token: vc_jwt.DecodedJwt) -> Check:
    problems = vc_jwt.claim_problems(token)
    if token.extra_header_names:
        problems.append("unexpected JOSE header members: " + ", ".join(token.extra_header_names))
    if problems:
        return Check(
            "jwt_claims",
            FAIL,
            "The JWT claims disagree with the credential: " + "; ".join(problems),
        )
    return Check("jwt_claims", PASS, "The JWT claims match the credential.")


def check_dates(credential: Mapping[str, Any], now: datetime) -> list[Check]:
    v1 = vc_version(credential) == "1.1"
    start_name, end_name = ("issuanceDate", "expirationDate") if v1 else ("validFrom", "validUntil")
    checks = []
    try:
        start = parse_datetime(credential.get(start_name), start_name)
    except MalformedCredential as exc:
        checks.append(Check("valid_from", FAIL, exc.message))
    else:
        if start > now:
            checks.append(
                Check(
                    "valid_from",
                    FAIL,
                    f"Not valid yet: it takes effect on {format_datetime(start)}.",
                    "not_yet_valid",
                    at=start,
                )
            )
        else:
            checks.append(
                Check("valid_from", PASS, f"Valid from {format_datetime(start)}.", at=start)
            )
    if credential.get(end_name) is None:
        checks.append(Check("valid_until", PASS, "It does not expire."))
        return checks
    try:
        end = parse_datetime(credential.get(end_name), end_name)
    except MalformedCredential as exc:
        checks.append(Check("valid_until", FAIL, exc.message))
        return checks
    if end < now:
        checks.append(
            Check("valid_until", FAIL, f"Expired on {format_datetime(end)}.", "expired", at=end)
        )
    else:
        checks.append(Check("valid_until", PASS, f"Valid until {format_datetime(end)}.", at=end))
    return checks


def check_recipient(credential: Mapping[str, Any], recipient: str) -> Check:
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    if any(isinstance(s, Mapping) and subject_matches(s, recipient) for s in subjects):
        return Check("recipient", PASS, f"The credential was awarded to {recipient}.")
    return Check(
        "recipient", FAIL, f"The credential was not awarded to {recipient}.", "wrong_recipient"
    )
