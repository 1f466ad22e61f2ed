"""The verification a credential's page shows, kept per process while nothing it depends on has
changed.

The page verifies the credential in full (schema, canonicalisation, the Ed25519 proof, the
issuer's DID document and the signed status list), which is most of the page's cost. For one of
this instance's credentials, that verdict is a function of the stored document, of the issuer's
keys (its DID document) and slug, of its signed status lists, of Cairn's own record of the
credential (revoked, suspended, replaced), and of the time, through the validity dates. So a
verdict is reused only when a fresh read of all of those from the database (two small queries,
done on every view, in every process) gives the same key, and only before the next moment a
date check would judge differently. A revocation or suspension changes the credential's row and
bumps the list's version, a new key or a renamed issuer changes the key set or slug: the next
view in any process verifies again. A verification that fetched anything from outside this
instance is never kept, and no verdict is kept longer than :data:`MAX_AGE` (so the page's
"checked just now" stays true).
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app

from app.infrastructure import metrics
from app.models import IssuedCredential, Issuer
from app.services._core.env import ServiceEnv
from app.services.verification import reuse
from app.services.verification import verifier as verification
from app.wiring import fetcher
from credentials import VerificationReport

#: The longest a verdict is reused, even when nothing it depends on has changed.
MAX_AGE = reuse.MAX_AGE
#: Credentials whose verdicts one process keeps (the least recently viewed go first).
SIZE = 1024
_EXTENSION = "cairn.verdicts"
_SUBMISSIONS = "cairn.verdicts.submissions"


@dataclass(frozen=True)
class _Entry:
    key: Hashable
    report: VerificationReport
    expires: datetime


class VerdictCache(reuse.Lru[_Entry]):
    """A bounded map from credential id to its last verdict, safe across threads."""

    def verdict(
        self, credential_id: str, key: Hashable, now: datetime
    ) -> VerificationReport | None:
        """The verdict kept for this key, if it is still good at ``now``."""
        entry = self.get(credential_id)
        if entry is None or entry.key != key or now >= entry.expires:
            return None
        return entry.report


def cache() -> VerdictCache:
    """This application's verdict cache (one per process)."""
    found: VerdictCache | None = current_app.extensions.get(_EXTENSION)
    if found is None:
        found = current_app.extensions.setdefault(_EXTENSION, VerdictCache())
    return found


def submissions() -> reuse.ReuseCache:
    """This application's verdicts on submitted bytes (``/api/verify``, the Verify page), one
    cache per process."""
    found: reuse.ReuseCache | None = current_app.extensions.get(_SUBMISSIONS)
    if found is None:
        found = current_app.extensions.setdefault(_SUBMISSIONS, reuse.ReuseCache())
    return found


def state_key(found: IssuedCredential, issuer: Issuer) -> Hashable:
    """Everything the verification of ``found`` depends on besides the time, read afresh."""
    return (
        hashlib.sha256(found.document.encode("utf-8")).hexdigest(),
        found.revoked_at,
        found.suspended_at,
        found.replaced_by_id,
        issuer.id,
        issuer.slug,
        # One round trip: the issuer's signed lists, keys and slug, the credential's state.
        reuse.dependency_key(found.id, (issuer.id,)),
    )


def _expires(report: VerificationReport, found: IssuedCredential, now: datetime) -> datetime:
    """The first moment the verdict may no longer hold: a validity date still ahead (the
    credential's, or any date a check named), or :data:`MAX_AGE` from now."""
    moments: list[Any] = [found.valid_from, found.valid_until]
    moments += [check.at for check in report.checks]
    ahead = [m for m in moments if isinstance(m, datetime) and m > now]
    return min([now + MAX_AGE, *ahead])


def report_for(found: IssuedCredential, issuer: Issuer, env: ServiceEnv) -> VerificationReport:
    """The full verification of one of this instance's credentials, as the page shows it:
    reused when :func:`state_key` is unchanged and no date boundary has passed, else run."""
    key = state_key(found, issuer)
    kept = cache().verdict(found.id, key, env.now)
    if kept is not None:
        # Counted as a verification, as it was before verdicts were kept: a page view checked.
        metrics.count_verification(kept.outcome)
        return kept
    remote = fetcher()
    fetched_elsewhere = False

    def fallback(url: str) -> bytes:
        nonlocal fetched_elsewhere
        fetched_elsewhere = True
        body: bytes = remote(url)
        return body

    report = verification.verify(found.document, env=env, fallback=fallback)
    if not fetched_elsewhere:
        cache().put(found.id, _Entry(key, report, _expires(report, found, env.now)))
    return report


def kept_until(credential_id: str, report: VerificationReport) -> datetime | None:
    """Until when ``report`` (just returned by :func:`report_for`) is kept: the moment it may
    no longer hold, or None when it was not kept (so nothing made from it may be kept
    either)."""
    entry = cache().get(credential_id)
    return entry.expires if entry is not None and entry.report is report else None
