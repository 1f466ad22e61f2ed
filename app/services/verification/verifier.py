"""Verifying credentials inside Cairn: this instance's own DIDs, status lists and credentials are
read from the database; anything else goes through the hostile-URL fetcher.

A did:web DID of this instance names ``https://<host>/issuers/<slug>/did.json`` even when the
instance itself runs on plain http in development, so local resolution matches on host and port
rather than on the scheme.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Row, select

from app.extensions import db
from app.infrastructure import metrics
from app.models import STATUS_LABELS, IssuedCredential, Issuer
from app.services._core.env import ServiceEnv
from app.services.awarding import status_lists
from app.services.org import instance, issuers
from app.services.verification import reuse
from credentials import (
    FAIL,
    ISSUER_NOT_CONFIRMED,
    PASS,
    VALID,
    Check,
    ClrReport,
    CredentialError,
    VerificationReport,
    decode_jwt,
    verify_clr,
    verify_credential,
)

Fetcher = Callable[[str], bytes]
#: A credential's id and recorded state, as :meth:`LocalFirstFetcher.own_state` reads them.
_StateRow = Row[str, datetime | None, str | None, datetime | None, str | None, str | None]


def stored_payload(text: str) -> dict[str, Any]:
    """A stored credential as data (Data Integrity JSON, or the payload of a VC-JWT), or ``{}``
    if it cannot be read."""
    try:
        if text.startswith("{"):
            parsed = json.loads(text)
            return parsed if isinstance(parsed, dict) else {}
        return dict(decode_jwt(text).credential)
    except (ValueError, CredentialError):
        return {}


_CREDENTIAL_PATH = re.compile(r"^/credentials/([0-9a-f-]{36})$")
_ROUTES = (
    (re.compile(r"^/issuers/([a-z0-9-]+)/did\.json$"), "did"),
    (re.compile(r"^/issuers/([a-z0-9-]+)/jwks\.json$"), "jwks"),
    (re.compile(r"^/issuers/([a-z0-9-]+)/profile\.json$"), "profile"),
    (re.compile(r"^/status/([a-z0-9-]+)/(revocation|suspension)$"), "status"),
    (_CREDENTIAL_PATH, "credential"),
)


class LocalFirstFetcher:
    """``fetch(url)``: this instance's documents from the database, the rest from ``fallback``
    (``None`` means: fetch nothing else, e.g. for an offline check)."""

    def __init__(self, env: ServiceEnv, fallback: Fetcher | None) -> None:
        self.env = env
        self.fallback = fallback
        base = urlsplit(env.base_url)
        self.netloc = (base.hostname or "", base.port or (443 if base.scheme == "https" else 80))
        # One verification asks for the issuer's DID document and then its status list: the
        # issuer is looked up once (a fetcher lives for one verification).
        self._issuers: dict[str, Issuer | None] = {}
        # What this verification read, so a verdict is kept only when all of it is covered by
        # reuse.dependency_key: nothing from outside, only DID documents and status lists.
        self.only_keyed = True

    def _is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (parts.hostname or "", port) == self.netloc:
            return True
        # did:web of a development instance: https://<host>:<port> for an http base URL.
        return (parts.hostname or "") == self.netloc[0] and parts.port == self.netloc[1]

    def _own_id(self, url: str) -> str | None:
        """The id in ``url`` when it is the address of one of this instance's credentials."""
        if not self._is_local(url):
            return None
        match = _CREDENTIAL_PATH.match(urlsplit(url).path)
        return match.group(1) if match else None

    def own_state(self, url: str) -> tuple[str, CredentialState] | None:
        """The id and recorded state of this instance's credential whose id is ``url``.

        Only the state's columns are read: loading the whole credential (its signed document
        and every other column) would cost a verification more than the rest of its queries.
        """
        own_id = self._own_id(url)
        if own_id is None:
            return None
        row = db.session.execute(
            select(
                IssuedCredential.id,
                IssuedCredential.revoked_at,
                IssuedCredential.revocation_public_reason,
                IssuedCredential.suspended_at,
                IssuedCredential.suspension_public_reason,
                IssuedCredential.replaced_by_id,
            ).where(IssuedCredential.id == own_id)
        ).one_or_none()
        return None if row is None else (row.id, state_of(row))

    def _issuer(self, slug: str) -> Issuer | None:
        if slug not in self._issuers:
            self._issuers[slug] = db.session.scalar(select(Issuer).where(Issuer.slug == slug))
        return self._issuers[slug]

    def local(self, path: str) -> bytes | None:
        """The body this instance serves at ``path``, or None."""
        if path == "/instance/did.json":
            self.only_keyed = False
            return json.dumps(instance.did_document(self.env)).encode("utf-8")
        for pattern, kind in _ROUTES:
            match = pattern.match(path)
            if not match:
                continue
            if kind not in ("did", "status"):
                self.only_keyed = False
            if kind == "credential":
                found = db.session.get(IssuedCredential, match.group(1))
                return found.document.encode("utf-8") if found else None
            issuer = self._issuer(match.group(1))
            if issuer is None:
                return None
            body: Any
            if kind == "did":
                body = issuers.did_document(issuer, self.env)
            elif kind == "jwks":
                body = issuers.jwks(issuer, self.env)
            elif kind == "profile":
                body = issuers.profile_document(issuer, self.env)
            else:
                row = status_lists.get_list(issuer, match.group(2), bits=False)
                return row.document.encode("utf-8")
            return json.dumps(body).encode("utf-8")
        return None

    def __call__(self, url: str) -> bytes:
        if self._is_local(url):
            body = self.local(urlsplit(url).path)
            if body is None:
                raise OSError(f"{url} is not a document of this instance")
            return body
        if self.fallback is None:
            raise OSError(f"{url} was not fetched (offline)")
        self.only_keyed = False
        return self.fallback(url)

    def issuer_ids(self) -> tuple[int, ...] | None:
        """The ids of the issuers this verification resolved, or None if one was not found."""
        found = self._issuers.values()
        if any(issuer is None for issuer in found):
            return None
        return tuple(sorted(issuer.id for issuer in found if issuer is not None))


@dataclass(frozen=True)
class CredentialState:
    """What Cairn's own records say about one of its credentials, beside the live verification.
    The reasons are the public ones (what the issuer wrote or chose for the public), never the
    internal notes staff keep."""

    revoked: bool
    revocation_reason: str | None
    suspended: bool
    suspension_reason: str | None
    replaced_by: str | None


def verify(
    data: bytes | str | Mapping[str, Any],
    *,
    env: ServiceEnv,
    fallback: Fetcher | None,
    recipient: str | None = None,
) -> VerificationReport:
    """Run the full verifier with local-first resolution.

    For a credential of this instance, Cairn's own record is consulted as well: the credential
    names only the revocation list (the strict OB 3.0 schema allows one status entry), so a
    suspension, kept on a second list at the same index, would otherwise go unseen.
    """
    return verify_own(data, env=env, fallback=fallback, recipient=recipient)[0]


def verify_own(
    data: bytes | str | Mapping[str, Any],
    *,
    env: ServiceEnv,
    fallback: Fetcher | None,
    recipient: str | None = None,
    kept: reuse.ReuseCache | None = None,
) -> tuple[VerificationReport, str | None]:
    """:func:`verify`, and the id of this instance's credential it verified when it is one of
    ours and its proof held (a forgery naming one of our ids is not a verification of it), read
    by the same query as its recorded state.

    With ``kept`` (a per-process :class:`reuse.ReuseCache`), a valid verdict on the same bytes is
    reused while a fresh read of everything it depends on is unchanged (see :mod:`.reuse`).
    """
    digest = reuse.digest(data, recipient) if kept is not None else None
    entry = kept.get(digest) if kept is not None and digest is not None else None
    key: Hashable | None = None
    where: reuse.Where | None = None
    if entry is not None:
        # Read before verifying: a change racing the verification only makes the next request
        # verify again, never keeps an old verdict under a new key.
        where = entry.where if isinstance(entry, reuse.Kept) else entry
        key = reuse.dependency_key(where.credential_id, where.issuer_ids)
        if isinstance(entry, reuse.Kept) and entry.key == key and env.now < entry.expires:
            metrics.count_verification(entry.report.outcome)
            return entry.report, entry.where.credential_id
    report, own_id, fetch = _verify_own(data, env, fallback, recipient)
    if kept is not None and digest is not None and own_id is not None and fetch.only_keyed:
        issuer_ids = fetch.issuer_ids()
        if issuer_ids:
            seen = reuse.Where(own_id, issuer_ids)
            if key is not None and where == seen and reuse.keepable(report):
                kept.put(digest, reuse.Kept(seen, key, report, reuse.expires(report, env.now)))
            else:
                kept.put(digest, seen)
    return report, own_id


def _verify_own(
    data: bytes | str | Mapping[str, Any],
    env: ServiceEnv,
    fallback: Fetcher | None,
    recipient: str | None,
) -> tuple[VerificationReport, str | None, LocalFirstFetcher]:
    fetch = LocalFirstFetcher(env, fallback)
    report = verify_credential(
        data, loader=env.loader, now=env.now, fetch=fetch, recipient=recipient
    )
    credential_id = (report.credential or {}).get("id")
    own = fetch.own_state(credential_id) if isinstance(credential_id, str) else None
    if own is not None:
        _apply_own_record(report, own[1])
    metrics.count_verification(report.outcome)
    proof = report.check("proof")
    genuine = proof is not None and proof.status == PASS
    return report, (own[0] if own is not None and genuine else None), fetch


def verify_record(
    data: bytes | str | Mapping[str, Any], *, env: ServiceEnv, fallback: Fetcher | None
) -> ClrReport:
    """Verify a learning record (CLR 2.0) and every credential in it, with local-first
    resolution; each of this instance's credentials inside also gets Cairn's own record."""
    fetch = LocalFirstFetcher(env, fallback)
    report = verify_clr(data, loader=env.loader, now=env.now, fetch=fetch)
    for inner in report.embedded:
        credential_id = (inner.credential or {}).get("id")
        own = fetch.own_state(credential_id) if isinstance(credential_id, str) else None
        if own is not None:
            _apply_own_record(inner, own[1])
    metrics.count_verification(report.outcome, "record")
    return report


def record_verdict(report: ClrReport) -> dict[str, str]:
    """A learning record's verdict in words, as :func:`verdict` gives one credential's: valid
    only when the record and every credential in it are."""
    total = len(report.embedded)
    failing = [i for i, inner in enumerate(report.embedded, start=1) if not inner.valid]
    if report.outcome == VALID:
        detail = (
            "The record and the credential in it are genuine and current."
            if total == 1
            else f"The record and all {total} credentials in it are genuine and current."
        )
        return {"kind": "valid", "title": STATUS_LABELS["valid"], "outcome": VALID,
                "detail": detail}  # fmt: skip
    if report.outcome == ISSUER_NOT_CONFIRMED:
        detail = (
            "Every signature is genuine, but not every key is tied to the issuer it names. "
            "The checks below say which."
        )
        return {"kind": "unconfirmed", "title": "Issuer not confirmed", "outcome": report.outcome,
                "detail": detail}  # fmt: skip
    if not report.record.valid:
        detail = "The record itself did not verify: its own checks below say why."
    elif failing:
        numbers = ", ".join(str(n) for n in failing)
        detail = f"The record is genuine, but credential {numbers} of {total} in it is not valid."
    else:
        detail = "The record holds no credentials."
    return {"kind": "invalid", "title": "Not valid", "outcome": report.outcome, "detail": detail}


def _apply_own_record(report: VerificationReport, state: CredentialState) -> None:
    """Make the status check say what Cairn's record says, when the lists say less."""
    current = report.check("status")
    if current is not None and current.code in ("revoked", "suspended"):
        return
    if state.revoked:
        replacement = Check("status", FAIL, "The issuer has revoked this credential.", "revoked")
    elif state.suspended:
        replacement = Check(
            "status", FAIL, "The issuer has suspended this credential.", "suspended"
        )
    else:
        return
    if current is None:
        report.checks.append(replacement)
    else:
        report.checks[report.checks.index(current)] = replacement


def state_of(credential: IssuedCredential | _StateRow) -> CredentialState:
    """Revocation and suspension as recorded when they happened (with their public reasons).

    ``credential`` may also be a row of just those columns (:meth:`LocalFirstFetcher.own_state`).
    Suspension is also checked here because the strict OB 3.0 schema lets a credential name
    one status entry (the revocation list); Cairn keeps the suspension bit at the same index.
    """
    return CredentialState(
        revoked=credential.revoked_at is not None,
        revocation_reason=credential.revocation_public_reason,
        suspended=credential.suspended_at is not None,
        suspension_reason=credential.suspension_public_reason,
        replaced_by=credential.replaced_by_id,
    )


#: The verifier's input formats in plain words ("Read from …").
_SOURCES = {
    "json": "a credential file (JSON)",
    "jwt": "a credential in VC-JWT form",
    "png/json": "a PNG badge image with the credential baked in",
    "png/jwt": "a PNG badge image with a VC-JWT credential baked in",
    "svg/json": "an SVG badge image with the credential baked in",
    "svg/jwt": "an SVG badge image with a VC-JWT credential baked in",
    "png": "a PNG image",
    "svg": "an SVG image",
    "ob2": "an Open Badges 2.0 badge image",
}


def describe_source(fmt: str) -> str:
    """What the credential was read from, in plain words (``png/json`` → "a PNG badge image…")."""
    return _SOURCES.get(fmt, "what you submitted")


def verdict(report: VerificationReport) -> dict[str, str]:
    """The verdict people read first: ``kind`` (for the banner's colour), ``title``, ``detail``
    and ``outcome``. Only a ``valid`` outcome is ever the green "Valid"; a genuine signature
    whose key nothing ties to the issuer is the amber "Issuer not confirmed"; a status that could
    not be checked is "Status unknown"."""
    found = _verdict(report)
    found["outcome"] = report.outcome
    return found


def _verdict(report: VerificationReport) -> dict[str, str]:
    failed = [c for c in report.checks if c.status == "fail"]
    if report.outcome == VALID:
        return {
            "kind": "valid",
            "title": STATUS_LABELS["valid"],
            "detail": "Genuine, current, and not revoked.",
        }
    if report.outcome == ISSUER_NOT_CONFIRMED:
        issuer = _issuer_label(report.credential or {})
        return {
            "kind": "unconfirmed",
            "title": "Issuer not confirmed",
            "detail": (
                f"The signature is genuine, but nothing confirms that {issuer} signed it, so who "
                "issued it is only a claim. The issuer key check below says why."
            ),
        }
    codes = {c.code for c in failed}
    if "revoked" in codes:
        return {
            "kind": "revoked",
            "title": STATUS_LABELS["revoked"],
            "detail": "The issuer has revoked this credential.",
        }
    if "suspended" in codes:
        return {
            "kind": "suspended",
            "title": STATUS_LABELS["suspended"],
            "detail": "The issuer has suspended this credential.",
        }
    if codes == {"status_unavailable"}:
        return {
            "kind": "unknown",
            "title": "Status unknown",
            "detail": "The signature is good, but the issuer's status list could not be checked.",
        }
    if "expired" in codes and len(failed) == 1:
        return {"kind": "expired", "title": STATUS_LABELS["expired"], "detail": failed[0].message}
    return {"kind": "invalid", "title": "Not valid", "detail": failed[0].message if failed else ""}


def _issuer_label(credential: Mapping[str, Any]) -> str:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        name, identifier = issuer.get("name"), issuer.get("id")
        if isinstance(name, str) and name.strip():
            return f"“{name.strip()}”"
        issuer = identifier
    return str(issuer) if isinstance(issuer, str) and issuer else "the issuer it names"
