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

The modules inside are private to ``credentials``: ``report`` (checks, outcomes, the report),
``parsing`` (input to credential), ``checks`` (content), ``proof_checks`` (proofs and the
issuer's key), ``status_checks``, ``endorsements``, ``verifier`` (the entry point) and
``clr`` (a CLR 2.0 record and every credential it holds).
"""

from credentials.verify.clr import ClrReport, is_clr, verify_clr
from credentials.verify.report import (
    CHECK_ORDER,
    FAIL,
    ISSUER_NOT_CONFIRMED,
    MAX_ENDORSEMENT_DEPTH,
    MAX_ENDORSEMENTS,
    MAX_INPUT_BYTES,
    NOT_VALID,
    PASS,
    SKIP,
    UNCONFIRMED_ISSUER_CODES,
    VALID,
    WARN,
    Check,
    Outcome,
    Status,
    VerificationReport,
)
from credentials.verify.verifier import verify_credential

__all__ = [
    "CHECK_ORDER",
    "FAIL",
    "ISSUER_NOT_CONFIRMED",
    "MAX_ENDORSEMENTS",
    "MAX_ENDORSEMENT_DEPTH",
    "MAX_INPUT_BYTES",
    "NOT_VALID",
    "PASS",
    "SKIP",
    "UNCONFIRMED_ISSUER_CODES",
    "VALID",
    "WARN",
    "Check",
    "ClrReport",
    "Outcome",
    "Status",
    "VerificationReport",
    "is_clr",
    "verify_clr",
    "verify_credential",
]
