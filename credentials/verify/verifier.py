"""The verifier's entry point: parse the input, run every check, and order the report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from credentials.did import Fetcher
from credentials.jsonld import DocumentLoader
from credentials.proofs import jwt as vc_jwt
from credentials.verify.checks import (
    check_context,
    check_dates,
    check_jwt_claims,
    check_recipient,
    check_schema,
    check_terms,
    check_type,
)
from credentials.verify.endorsements import check_endorsements
from credentials.verify.parsing import describe_format, parse
from credentials.verify.proof_checks import check_issuer_key, check_proofs
from credentials.verify.report import (
    CHECK_ORDER,
    PASS,
    SKIP,
    Check,
    Context,
    VerificationReport,
    failed_parse,
    fetch_once,
)
from credentials.verify.status_checks import check_status

#: Registered JWT claims (RFC 7519 §4.1) that may sit beside a VC 2.0 credential in a JWT payload.
_JWT_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})


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
    ctx = Context(loader, now, fetch_once(fetch))
    try:
        return _verify(data, ctx, recipient)
    except RecursionError:
        return failed_parse("unknown", "The input is nested too deeply to process.")


def _verify(data: Any, ctx: Context, recipient: str | None) -> VerificationReport:
    parsed = parse(data)
    if isinstance(parsed, VerificationReport):
        return parsed
    fmt, credential, token = parsed
    report = VerificationReport(fmt, [Check("parse", PASS, describe_format(fmt))], credential)
    report.checks.extend(check_credential(credential, token, ctx))
    if recipient is not None:
        report.checks.append(check_recipient(credential, recipient))
    else:
        report.checks.append(Check("recipient", SKIP, "No recipient was given to compare."))
    report.checks.sort(key=lambda c: CHECK_ORDER.index(c.id) if c.id in CHECK_ORDER else 99)
    return report


def check_credential(
    credential: dict[str, Any], token: vc_jwt.DecodedJwt | None, ctx: Context
) -> list[Check]:
    """Every check of one parsed credential but ``parse`` and ``recipient``; its endorsements
    are checked by this same function, one level deeper."""
    checks = [check_context(credential, ctx.loader), check_type(credential)]
    checks.append(check_schema(credential))
    linked_data = credential
    if token is not None and not token.uses_vc_claim:
        # A VC 2.0 JWT carries its JOSE claims (iss, jti, nbf…) beside the credential's own
        # properties; they are not JSON-LD terms, so they are left out of the terms check.
        linked_data = {k: v for k, v in credential.items() if k not in _JWT_CLAIMS}
    terms, canonical = check_terms(linked_data, ctx.loader)
    checks.append(terms)
    proof_check, method, proof_label = check_proofs(credential, token, canonical, ctx)
    checks.append(proof_check)
    checks.append(check_issuer_key(credential, method, proof_check, proof_label))
    if token is not None:
        checks.append(check_jwt_claims(token))
    checks.extend(check_dates(credential, ctx.now))
    checks.append(check_status(credential, ctx))
    checks.append(check_endorsements(credential, ctx, check_credential))
    return checks
