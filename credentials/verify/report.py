"""The vocabulary of a verification: check outcomes, named checks, the report and its verdict.

A verdict has three outcomes (``VerificationReport.outcome``): ``valid`` when no check fails, a
proof was checked and the signing key is tied to the issuer; ``issuer_not_confirmed`` when the
signature is genuine and nothing else fails but nothing ties the key to the issuer the credential
names; ``not_valid`` otherwise. Only the first is ``valid``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from credentials.did import Fetcher
from credentials.jsonld import DocumentLoader

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
    ``expired``, ``not_yet_valid``, ``unsigned``, ``status_unavailable``…) or empty. ``at`` is
    the moment a date check's message names (written there in ISO 8601), so a page can show it
    in its reader's own format.
    """

    id: str
    status: Status
    message: str
    code: str = ""
    at: datetime | None = None

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
class Context:
    """What every check of one verification shares: the loader, the clock, the fetcher (``None``
    offline) and how deep inside status lists or endorsements the check runs."""

    loader: DocumentLoader
    now: datetime
    fetch: Fetcher | None
    depth: int = 0

    def nested(self) -> Context:
        """The context for a credential met inside this one (a status list, an endorsement)."""
        return Context(self.loader, self.now, self.fetch, self.depth + 1)


def fetch_once(fetch: Fetcher | None) -> Fetcher | None:
    """``fetch`` that fetches each URL at most once, for one verification.

    The issuer's DID document is needed for the credential's proof and again for its status
    list's (and an endorsement may name the same issuer): one verification reads one copy of
    each document, as it would if the second read came a moment earlier. Failures are not
    remembered (the next read tries again and reports its own error).
    """
    if fetch is None:
        return None
    seen: dict[str, bytes] = {}

    def fetch_remembered(url: str) -> bytes:
        body = seen.get(url)
        if body is None:
            body = seen[url] = fetch(url)
        return body

    return fetch_remembered


def failed_parse(fmt: str, message: str, code: str = "unreadable") -> VerificationReport:
    """A report whose only check is a failed ``parse``."""
    return VerificationReport(fmt, [Check("parse", FAIL, message, code)])
