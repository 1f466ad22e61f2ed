"""Verify an Open Badges 3.0 credential and report each check in plain language.

https://www.imsglobal.org/spec/ob/v3p0/#verification-and-validation

Input may be a parsed JSON object, JSON text, a compact JWS, a baked PNG or SVG, or bytes of
unknown kind. The result is a list of named checks, each ``pass``, ``fail``, ``warn`` or
``skip``. Verification never raises on bad input: every problem becomes a failed check.

A verdict has three outcomes (``VerificationReport.outcome``): ``valid`` when no check fails, a
proof was checked and the signing key is tied to the issuer; ``issuer_not_confirmed`` when the
signature is genuine and nothing else fails but nothing ties the key to the issuer the credential
names (a key given only in a URL fragment whose document could not be fetched, a JWK carried in
the JWT header); ``not_valid`` otherwise. Only the first is ``valid``. A status list that
cannot be fetched or verified is a failure, never "not revoked"; with ``fetch=None`` (offline)
status is reported as skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from credentials import baking, schema, status
from credentials.dates import format_datetime, parse_datetime
from credentials.did import Fetcher, VerificationMethod, resolve_verification_method
from credentials.errors import CredentialError, MalformedCredential
from credentials.identity import subject_matches
from credentials.jsonld import DocumentLoader, canonize
from credentials.proofs import data_integrity
from credentials.proofs import jwt as vc_jwt
from credentials.vocab import (
    ACHIEVEMENT_CREDENTIAL,
    ASSERTION_METHOD,
    BITSTRING_STATUS_LIST_CREDENTIAL,
    BITSTRING_STATUS_LIST_ENTRY,
    ENDORSEMENT_CREDENTIAL,
    OB_CONTEXT,
    OB_CONTEXTS_ACCEPTED,
    OPEN_BADGE_CREDENTIAL,
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    VERIFIABLE_CREDENTIAL,
)

Status = Literal["pass", "fail", "warn", "skip"]
Outcome = Literal["valid", "issuer_not_confirmed", "not_valid"]
VALID: Outcome = "valid"
ISSUER_NOT_CONFIRMED: Outcome = "issuer_not_confirmed"
NOT_VALID: Outcome = "not_valid"
#: The check codes that mean "nothing ties the signing key to the named issuer".
UNCONFIRMED_ISSUER_CODES = frozenset({"key_unconfirmed"})
PASS: Status = "pass"  # noqa: S105 - a check outcome, not a password
FAIL: Status = "fail"
WARN: Status = "warn"
SKIP: Status = "skip"

#: Inputs larger than this are refused before any parsing.
MAX_INPUT_BYTES = 10 * 1024 * 1024
#: Endorsements are credentials inside credentials; bound how deep and how many we follow.
MAX_ENDORSEMENT_DEPTH = 2
MAX_ENDORSEMENTS = 25

#: Registered JWT claims (RFC 7519 §4.1) that may sit beside a VC 2.0 credential in a JWT payload.
_JWT_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})

#: The order checks are reported in.
CHECK_ORDER = (
    "parse",
    "context",
    "type",
    "schema",
    "terms",
    "proof",
    "issuer_key",
    "jwt_claims",
    "valid_from",
    "valid_until",
    "status",
    "recipient",
    "endorsements",
)


@dataclass(frozen=True)
class Check:
    """One named verification check.

    ``code`` is a short machine-readable reason for the outcome (``revoked``, ``suspended``,
    ``expired``, ``not_yet_valid``, ``unsigned``, ``status_unavailable``…) or empty.
    """

    id: str
    status: Status
    message: str
    code: str = ""

    def as_json(self) -> dict[str, str]:
        """``{"id", "status", "message"}`` (plus ``code`` when set)."""
        out = {"id": self.id, "status": self.status, "message": self.message}
        if self.code:
            out["code"] = self.code
        return out


@dataclass
class VerificationReport:
    """The outcome of verifying one input."""

    format: str
    checks: list[Check] = field(default_factory=list)
    credential: dict[str, Any] | None = None

    @property
    def outcome(self) -> Outcome:
        """``valid``, ``issuer_not_confirmed`` or ``not_valid`` (see the module docstring)."""
        if (
            not self.checks
            or any(c.status == FAIL for c in self.checks)
            or not any(c.id == "proof" and c.status == PASS for c in self.checks)
        ):
            return NOT_VALID
        if any(c.code in UNCONFIRMED_ISSUER_CODES for c in self.checks):
            return ISSUER_NOT_CONFIRMED
        return VALID

    @property
    def valid(self) -> bool:
        """True only for the ``valid`` outcome: nothing failed, a proof was checked, and the
        signing key is tied to the issuer."""
        return self.outcome == VALID

    @property
    def signature_genuine(self) -> bool:
        """True when a proof verified, whatever else the report says."""
        return any(c.id == "proof" and c.status == PASS for c in self.checks)

    def check(self, check_id: str) -> Check | None:
        """The check with this id, if it ran."""
        return next((c for c in self.checks if c.id == check_id), None)

    def has_code(self, code: str) -> bool:
        """Whether any check reported ``code`` (e.g. ``revoked``)."""
        return any(c.code == code for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        """The ``cairn verify --json`` shape."""
        return {
            "valid": self.valid,
            "outcome": self.outcome,
            "format": self.format,
            "checks": [c.as_json() for c in self.checks],
            "credential": self.credential,
        }


@dataclass
class _Context:
    loader: DocumentLoader
    now: datetime
    fetch: Fetcher | None
    depth: int = 0


def verify_credential(
    data: bytes | str | Mapping[str, Any],
    *,
    loader: DocumentLoader,
    now: datetime,
    fetch: Fetcher | None = None,
    recipient: str | None = None,
) -> VerificationReport:
    """Verify a credential given as JSON, JWS, a baked image, or bytes of unknown kind.

    :param loader: the offline JSON-LD document loader.
    :param now: the time to judge validity at (timezone-aware).
    :param fetch: HTTP fetcher for status lists and did:web / controller documents;
        ``None`` verifies offline (status is then skipped, never assumed "not revoked").
    :param recipient: an email address or id the credential should be about (optional).
    :returns: the report; never raises for bad input.
    """
    ctx = _Context(loader, now, fetch)
    try:
        return _verify(data, ctx, recipient)
    except RecursionError:
        return _failed_parse("unknown", "The input is nested too deeply to process.")


def _failed_parse(fmt: str, message: str, code: str = "unreadable") -> VerificationReport:
    return VerificationReport(fmt, [Check("parse", FAIL, message, code)])


def _verify(data: Any, ctx: _Context, recipient: str | None) -> VerificationReport:
    parsed = _parse(data)
    if isinstance(parsed, VerificationReport):
        return parsed
    fmt, credential, token = parsed
    report = VerificationReport(fmt, [Check("parse", PASS, _describe_format(fmt))], credential)
    report.checks.extend(_check_credential(credential, token, ctx))
    if recipient is not None:
        report.checks.append(_check_recipient(credential, recipient))
    else:
        report.checks.append(Check("recipient", SKIP, "No recipient was given to compare."))
    report.checks.sort(key=lambda c: CHECK_ORDER.index(c.id) if c.id in CHECK_ORDER else 99)
    return report


# ---------------------------------------------------------------------------- parsing


def _describe_format(fmt: str) -> str:
    return {
        "json": "Read a JSON credential.",
        "jwt": "Read a VC-JWT credential.",
        "png/json": "Read the credential baked into a PNG image.",
        "png/jwt": "Read the VC-JWT baked into a PNG image.",
        "svg/json": "Read the credential baked into an SVG image.",
        "svg/jwt": "Read the VC-JWT baked into an SVG image.",
    }.get(fmt, "Read the credential.")


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


_Parsed = tuple[str, dict[str, Any], vc_jwt.DecodedJwt | None] | VerificationReport


def _parse(data: Any) -> _Parsed:
    """Turn any supported input into ``(format, credential, decoded JWT or None)``."""
    if isinstance(data, Mapping):
        return "json", dict(data), None
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes | bytearray):
        return _failed_parse("unknown", "The input is not JSON, a JWT, or a baked image.")
    raw = bytes(data)
    if len(raw) > MAX_INPUT_BYTES:
        return _failed_parse(
            "unknown",
            f"The input is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB.",
            "too_large",
        )
    image_format = baking.detect_image_format(raw)
    if image_format is not None:
        return _parse_image(raw, image_format)
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return _failed_parse("unknown", "The input is not text, a PNG or an SVG image.")
    return _parse_text(text, "")


def _parse_image(raw: bytes, image_format: str) -> _Parsed:
    try:
        payload = baking.unbake(raw)
    except CredentialError as exc:
        return _failed_parse(
            image_format, f"The {image_format.upper()} image is unusable: {exc.message}"
        )
    if payload is None:
        return _failed_parse(
            image_format,
            f"This {image_format.upper()} image has no credential baked into it.",
            "not_baked",
        )
    if payload.ob_version == "2.0":
        return _failed_parse(
            "ob2",
            "This is an Open Badges 2.0 badge image. Cairn verifies Open Badges 3.0 credentials; "
            "check OB 2.0 badges with an OB 2.0 validator.",
            "ob2",
        )
    return _parse_text(payload.text, image_format + "/")


def _parse_text(text: str, prefix: str) -> _Parsed:
    if text.startswith("{"):
        try:
            value = _strict_json(text)
        except (ValueError, RecursionError) as exc:
            return _failed_parse(prefix + "json", f"The JSON is malformed: {exc}")
        if not isinstance(value, dict):
            return _failed_parse(prefix + "json", "The JSON is not an object.")
        return prefix + "json", value, None
    if vc_jwt.looks_like_jws(text):
        try:
            decoded = vc_jwt.decode_jwt(text)
        except CredentialError as exc:
            return _failed_parse(prefix + "jwt", f"The JWT is unusable: {exc.message}")
        return prefix + "jwt", dict(decoded.credential), decoded
    return _failed_parse("unknown", "The input is not JSON, a JWT, or a baked PNG/SVG image.")


# ---------------------------------------------------------------------------- checks


def _types(value: Any) -> list[str]:
    kinds = value if isinstance(value, list) else [value]
    return [k for k in kinds if isinstance(k, str)]


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, Mapping) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def _vc_version(credential: Mapping[str, Any]) -> str:
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    return "1.1" if first == VC_V1_CONTEXT else "2.0"


def _check_credential(
    credential: dict[str, Any], token: vc_jwt.DecodedJwt | None, ctx: _Context
) -> list[Check]:
    checks = [_check_context(credential, ctx.loader), _check_type(credential)]
    checks.append(_check_schema(credential))
    linked_data = credential
    if token is not None and not token.uses_vc_claim:
        # A VC 2.0 JWT carries its JOSE claims (iss, jti, nbf…) beside the credential's own
        # properties; they are not JSON-LD terms, so they are left out of the terms check.
        linked_data = {k: v for k, v in credential.items() if k not in _JWT_CLAIMS}
    terms, canonical = _check_terms(linked_data, ctx.loader)
    checks.append(terms)
    proof_check, method, proof_label = _check_proofs(credential, token, canonical, ctx)
    checks.append(proof_check)
    checks.append(_check_issuer_key(credential, method, proof_check, proof_label))
    if token is not None:
        checks.append(_check_jwt_claims(token))
    checks.extend(_check_dates(credential, ctx.now))
    checks.append(_check_status(credential, ctx))
    checks.append(_check_endorsements(credential, ctx))
    return checks


def _check_context(credential: Mapping[str, Any], loader: DocumentLoader) -> Check:
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


def _check_type(credential: Mapping[str, Any]) -> Check:
    kinds = _types(credential.get("type"))
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


def _check_schema(credential: dict[str, Any]) -> Check:
    try:
        judged = schema.judge_schema(credential, vc_version=_vc_version(credential))
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


def _check_terms(credential: dict[str, Any], loader: DocumentLoader) -> tuple[Check, str | None]:
    try:
        canonical = canonize(data_integrity.unsecured(credential), loader)
    except CredentialError as exc:
        return Check("terms", FAIL, exc.message, exc.code), None
    return Check(
        "terms", PASS, "Every property is defined by the credential's contexts."
    ), canonical


def _check_proofs(
    credential: dict[str, Any],
    token: vc_jwt.DecodedJwt | None,
    canonical: str | None,
    ctx: _Context,
) -> tuple[Check, VerificationMethod | None, str]:
    problems: list[str] = []
    if token is not None:
        method, problem = _verify_jwt(token, ctx)
        if method is not None:
            return (
                Check("proof", PASS, f"The {token.header.get('alg')} JWT signature is valid."),
                method,
                "jwt",
            )
        problems.append(problem)
    proofs = data_integrity.proofs_of(credential)
    if not proofs and token is None:
        return (
            Check("proof", FAIL, "The credential is not signed: it has no proof.", "unsigned"),
            None,
            "",
        )
    for proof in proofs:
        method, problem = _verify_data_integrity(credential, proof, canonical, ctx)
        if method is not None:
            suite = proof.get("cryptosuite") or proof.get("type")
            note = "" if suite != "eddsa-2022" else " (deprecated cryptosuite eddsa-2022)"
            return (
                Check("proof", PASS, f"The {suite} signature is valid{note}."),
                method,
                str(suite),
            )
        problems.append(problem)
    return Check("proof", FAIL, "No valid proof: " + "; ".join(problems), "invalid_proof"), None, ""


def _verify_data_integrity(
    credential: dict[str, Any], proof: Any, canonical: str | None, ctx: _Context
) -> tuple[VerificationMethod | None, str]:
    try:
        data_integrity.check_proof_shape(proof)
        if proof["proofPurpose"] != ASSERTION_METHOD:
            return None, f"proof purpose is {proof['proofPurpose']!r}, not assertionMethod"
        method = resolve_verification_method(proof["verificationMethod"], fetch=ctx.fetch)
        if canonical is None:
            return None, "the credential could not be canonicalised"
        data_integrity.verify_proof(
            credential,
            proof,
            public_key=method.public_key,
            loader=ctx.loader,
            canonical_document=canonical,
        )
    except CredentialError as exc:
        label = (
            proof.get("cryptosuite") or proof.get("type") if isinstance(proof, dict) else "proof"
        )
        return None, f"{label}: {exc.message}"
    return method, ""


def _verify_jwt(token: vc_jwt.DecodedJwt, ctx: _Context) -> tuple[VerificationMethod | None, str]:
    try:
        embedded = vc_jwt.public_key_from_header(token)
        if embedded is not None:
            method = VerificationMethod(
                "jwk",
                "",
                embedded,
                binding_confirmed=False,
                note="the key is embedded in the JWT header",
            )
        else:
            method = resolve_verification_method(token.header.get("kid"), fetch=ctx.fetch)
        vc_jwt.verify_jwt_signature(token, method.public_key)
    except CredentialError as exc:
        return None, f"JWT: {exc.message}"
    return method, ""


def _check_issuer_key(
    credential: Mapping[str, Any], method: VerificationMethod | None, proof: Check, label: str
) -> Check:
    if method is None:
        return Check(
            "issuer_key",
            SKIP if proof.code == "unsigned" else FAIL,
            "No verified proof, so the signing key could not be tied to the issuer.",
        )
    issuer = _issuer_id(credential)
    if issuer is None:
        return Check("issuer_key", FAIL, "The credential does not name its issuer.")
    if label == "jwt" and method.id == "jwk":
        return Check(
            "issuer_key",
            WARN,
            f"The signature is genuine, but the JWT carries its own public key and nothing "
            f"confirms that this key belongs to {issuer}.",
            "key_unconfirmed",
        )
    if method.controller != issuer:
        return Check(
            "issuer_key",
            FAIL,
            f"The signing key belongs to {method.controller}, not to the issuer {issuer}.",
            "wrong_key",
        )
    if not method.binding_confirmed:
        return Check(
            "issuer_key",
            WARN,
            f"The signature is genuine, but nothing confirms that its key belongs to {issuer}: "
            f"{method.note}.",
            "key_unconfirmed",
        )
    return Check("issuer_key", PASS, f"The signing key is published by the issuer {issuer}.")


def _check_jwt_claims(token: vc_jwt.DecodedJwt) -> Check:
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


def _check_dates(credential: Mapping[str, Any], now: datetime) -> list[Check]:
    v1 = _vc_version(credential) == "1.1"
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
                )
            )
        else:
            checks.append(Check("valid_from", PASS, f"Valid from {format_datetime(start)}."))
    if credential.get(end_name) is None:
        checks.append(Check("valid_until", PASS, "It does not expire."))
        return checks
    try:
        end = parse_datetime(credential.get(end_name), end_name)
    except MalformedCredential as exc:
        checks.append(Check("valid_until", FAIL, exc.message))
        return checks
    if end < now:
        checks.append(Check("valid_until", FAIL, f"Expired on {format_datetime(end)}.", "expired"))
    else:
        checks.append(Check("valid_until", PASS, f"Valid until {format_datetime(end)}."))
    return checks


def _check_recipient(credential: Mapping[str, Any], recipient: str) -> Check:
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    if any(isinstance(s, Mapping) and subject_matches(s, recipient) for s in subjects):
        return Check("recipient", PASS, f"The credential was awarded to {recipient}.")
    return Check(
        "recipient", FAIL, f"The credential was not awarded to {recipient}.", "wrong_recipient"
    )


# ---------------------------------------------------------------------------- status


def _check_status(credential: Mapping[str, Any], ctx: _Context) -> Check:
    entries = credential.get("credentialStatus")
    if entries is None:
        return Check("status", PASS, "The issuer publishes no revocation status for it.")
    entries = entries if isinstance(entries, list) else [entries]
    if ctx.fetch is None:
        return Check("status", SKIP, "Revocation status was not checked (offline).", "offline")
    results = [_status_of(entry, credential, ctx) for entry in entries]
    for result in results:
        if result.status == FAIL:
            return result
    return (
        results[0] if len(results) == 1 else Check("status", PASS, "Neither revoked nor suspended.")
    )


def _status_of(entry: Any, credential: Mapping[str, Any], ctx: _Context) -> Check:
    unavailable = (
        "Revocation status could not be checked, so it cannot be confirmed as not revoked: "
    )
    if not isinstance(entry, Mapping):
        return Check(
            "status", FAIL, unavailable + "credentialStatus is malformed.", "status_unavailable"
        )
    kind = entry.get("type")
    if kind == BITSTRING_STATUS_LIST_ENTRY:
        url = entry.get("statusListCredential")
        # Which URLs may be fetched (https only, public addresses…) is the fetcher's policy:
        # a refused URL comes back as an error and the status as unavailable.
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return Check(
                "status",
                FAIL,
                unavailable + "the status list URL is not a web address.",
                "status_unavailable",
            )
        try:
            list_credential = _fetch_status_list(url, credential, ctx)
            is_set = status.read_status(dict(entry), list_credential, require_matching_id=False)
        except CredentialError as exc:
            return Check("status", FAIL, unavailable + exc.message, "status_unavailable")
        purpose = entry.get("statusPurpose")
        # A set bit is believed even from a list whose id differs from its URL (the issuer
        # signed it; at worst this under-trusts). A clear bit is only believed from the list
        # that says it lives at that URL: otherwise another of the issuer's lists could have
        # been served in its place to hide a revocation.
        if is_set and purpose == "suspension":
            return Check("status", FAIL, "The issuer has suspended this credential.", "suspended")
        if is_set:
            return Check("status", FAIL, "The issuer has revoked this credential.", "revoked")
        if list_credential.get("id") != url:
            return Check(
                "status",
                FAIL,
                unavailable + "the status list served there names a different URL as its id.",
                "status_unavailable",
            )
        word = "suspended" if purpose == "suspension" else "revoked"
        return Check("status", PASS, f"Not {word} (checked the issuer's signed status list).")
    if kind == "1EdTechRevocationList":
        return _revocation_list_status(entry, credential, ctx, unavailable)
    return Check(
        "status", FAIL, unavailable + f"unsupported status type {kind!r}.", "status_unavailable"
    )


def _fetch_json(url: str, ctx: _Context) -> Any:
    if ctx.fetch is None:
        raise MalformedCredential(f"{url} was not fetched (offline)")
    try:
        body = ctx.fetch(url)
    except Exception as exc:  # the fetcher's errors all mean "unreachable"
        raise MalformedCredential(f"{url} could not be fetched ({exc})") from None
    if len(body) > MAX_INPUT_BYTES:
        raise MalformedCredential(f"{url} is too large")
    try:
        text = body.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise MalformedCredential(f"{url} is not text") from None
    if vc_jwt.looks_like_jws(text):
        return text
    try:
        return _strict_json(text)
    except (ValueError, RecursionError):
        raise MalformedCredential(f"{url} did not return JSON") from None


def _fetch_status_list(url: str, credential: Mapping[str, Any], ctx: _Context) -> dict[str, Any]:
    """Fetch a status list credential and verify it before trusting a single bit of it."""
    fetched = _fetch_json(url, ctx)
    nested = _Context(ctx.loader, ctx.now, ctx.fetch, ctx.depth + 1)
    token = vc_jwt.decode_jwt(fetched) if isinstance(fetched, str) else None
    list_credential = dict(token.credential) if token else fetched
    if not isinstance(list_credential, dict):
        raise MalformedCredential("the status list is not a JSON object")
    if BITSTRING_STATUS_LIST_CREDENTIAL not in _types(list_credential.get("type")):
        raise MalformedCredential("the status list is not a BitstringStatusListCredential")
    _, canonical = _check_terms(list_credential, ctx.loader)
    proof, method, label = _check_proofs(list_credential, token, canonical, nested)
    if proof.status != PASS:
        raise MalformedCredential(f"the status list's signature is not valid ({proof.message})")
    key = _check_issuer_key(list_credential, method, proof, label)
    if key.status == FAIL:
        raise MalformedCredential(f"the status list is not signed by its issuer ({key.message})")
    if _issuer_id(list_credential) != _issuer_id(credential):
        raise MalformedCredential("the status list was issued by someone other than the issuer")
    for date_check in _check_dates(list_credential, ctx.now):
        if date_check.status == FAIL:
            raise MalformedCredential(f"the status list is not current ({date_check.message})")
    return list_credential


def _revocation_list_status(
    entry: Mapping[str, Any], credential: Mapping[str, Any], ctx: _Context, unavailable: str
) -> Check:
    url = entry.get("id")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return Check(
            "status",
            FAIL,
            unavailable + "the revocation list URL is not a web address.",
            "status_unavailable",
        )
    try:
        revocations = _fetch_json(url, ctx)
    except CredentialError as exc:
        return Check("status", FAIL, unavailable + exc.message, "status_unavailable")
    listed = revocations.get("revokedCredential") if isinstance(revocations, dict) else None
    if not isinstance(listed, list):
        return Check(
            "status", FAIL, unavailable + "the revocation list is malformed.", "status_unavailable"
        )
    for item in listed:
        matches = isinstance(item, Mapping) and item.get("id") == credential.get("id")
        if matches and item.get("revoked", True) is not False:
            reason = item.get("revocationReason")
            suffix = f" Reason: {reason}" if isinstance(reason, str) and reason else ""
            return Check(
                "status", FAIL, "The issuer has revoked this credential." + suffix, "revoked"
            )
    return Check("status", PASS, "Not revoked (checked the issuer's revocation list).")


# ---------------------------------------------------------------------------- endorsements


def _endorsements(value: Any) -> Iterator[tuple[str, Any]]:
    """Every ``endorsement`` and ``endorsementJwt`` value in the document (not inside them:
    an endorsement's own endorsements are checked when it is)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("endorsement", "endorsementJwt"):
                for one in item if isinstance(item, list) else [item]:
                    yield key, one
            elif key not in ("proof", "@context"):
                yield from _endorsements(item)
    elif isinstance(value, list):
        for item in value:
            yield from _endorsements(item)


def _check_endorsements(credential: Mapping[str, Any], ctx: _Context) -> Check:
    found = _unique(list(_endorsements(credential)))
    if not found:
        return Check("endorsements", SKIP, "There are no endorsements to check.")
    if ctx.depth >= MAX_ENDORSEMENT_DEPTH:
        return Check("endorsements", SKIP, "Endorsements nested this deep are not checked.")
    if len(found) > MAX_ENDORSEMENTS:
        return Check(
            "endorsements",
            WARN,
            f"There are {len(found)} endorsements; only credentials "
            f"with at most {MAX_ENDORSEMENTS} are checked.",
        )
    nested = _Context(ctx.loader, ctx.now, ctx.fetch, ctx.depth + 1)
    problems = []
    for _, endorsement in found:
        parsed = _parse(endorsement if isinstance(endorsement, Mapping) else str(endorsement))
        if isinstance(parsed, VerificationReport):
            problems.append(parsed.checks[0].message)
            continue
        _, body, token = parsed
        failures = [c for c in _check_credential(body, token, nested) if c.status == FAIL]
        if failures:
            name = body.get("name") or body.get("id") or "an endorsement"
            problems.append(f"{name}: " + "; ".join(f.message for f in failures[:3]))
    if problems:
        return Check(
            "endorsements",
            WARN,
            f"{len(problems)} of {len(found)} endorsements did not verify: " + " | ".join(problems),
        )
    return Check("endorsements", PASS, f"All {len(found)} endorsements verify.")


def _unique(items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    seen: list[Any] = []
    out = []
    for key, item in items:
        if any(item is s for s in seen):
            continue
        seen.append(item)
        out.append((key, item))
    return out


__all__ = [
    "CHECK_ORDER",
    "FAIL",
    "ISSUER_NOT_CONFIRMED",
    "NOT_VALID",
    "PASS",
    "SKIP",
    "UNCONFIRMED_ISSUER_CODES",
    "VALID",
    "WARN",
    "Check",
    "Outcome",
    "VerificationReport",
    "verify_credential",
]
