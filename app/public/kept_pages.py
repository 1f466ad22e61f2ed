"""The credential page as a visitor without a cookie sees it, kept per process while nothing it
shows has changed, and served in front of Flask (by the lane, :mod:`app.public.documents`).

The page a visitor with no cookie gets depends only on the credential's row (its stored
document, privacy, revoked/suspended/replaced state and public reasons), its issuer's name and
slug, the verification verdict (a function of the issuer's keys and signed status lists, and of
the time, see :mod:`app.public.verdicts`), the reader's locale (Accept-Language) and the
application's path prefix. Without a cookie there is no session: no signed-in staff or
educator, no holder tools, no flashed message, no CSRF token.

So the lane keeps the exact answer Flask sent such a visitor (status 200, headers, body) under
(credential, locale, prefix) with :func:`page_inputs` as read **before** Flask rendered it, and
serves it again while a fresh read of the same inputs (two queries, on every view) is equal,
before the verdict's own last moment (at most a minute). A revocation, suspension, re-signed
list, new key, renamed issuer, privacy change or re-signed document, committed by any process,
shows on the next view; a change racing a rendering only makes the next view render again.
Each answer from the lane is still counted as a view and as a verification, with its own request
id, log line and request metrics.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.engine import Connection

from app.models import IssuedCredential, Issuer
from app.services.verification import reuse

#: Where the view leaves what the lane may keep (:class:`Keep`) in the WSGI environment.
ENVIRON_KEY = "cairn.page_keep"
#: Pages one process keeps (credential x locale; the least recently viewed go first).
SIZE = 1024

_CREDENTIALS = cast(Table, IssuedCredential.__table__)
_ISSUERS = cast(Table, Issuer.__table__)
#: Every column of the credential and its issuer the page shows or decides on.
_INPUTS = (
    select(
        _CREDENTIALS.c.document,
        _CREDENTIALS.c.proof_format,
        _CREDENTIALS.c.is_private,
        _CREDENTIALS.c.revoked_at,
        _CREDENTIALS.c.revocation_public_reason,
        _CREDENTIALS.c.suspended_at,
        _CREDENTIALS.c.suspension_public_reason,
        _CREDENTIALS.c.replaced_by_id,
        _CREDENTIALS.c.issuer_id,
        _ISSUERS.c.name,
        _ISSUERS.c.slug,
    )
    .join(_ISSUERS, _ISSUERS.c.id == _CREDENTIALS.c.issuer_id)
    .where(_CREDENTIALS.c.id == bindparam("credential_id"))
)


def page_inputs(connection: Connection, credential_id: str) -> Hashable | None:
    """Everything the anonymous page of ``credential_id`` shows, besides the time, read afresh
    in two round trips; None when there is no such credential."""
    row = connection.execute(_INPUTS, {"credential_id": credential_id}).first()
    if row is None:
        return None
    dependencies = reuse.dependency_key(credential_id, (row.issuer_id,), connection)
    return (tuple(row), dependencies)


@dataclass(frozen=True)
class Keep:
    """What the view says the lane may keep its answer under: the inputs read before it
    rendered, the verdict's last moment and its outcome (counted again on each reuse)."""

    inputs: Hashable
    expires: datetime
    outcome: str


@dataclass(frozen=True)
class KeptPage:
    """An answer Flask sent, as sent (but its request id), with what it was made from."""

    keep: Keep
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class PageCache(reuse.Lru[KeptPage]):
    """The kept pages of one process, by :func:`cache_key`."""

    def page(self, key: str, inputs: Hashable, now: datetime) -> KeptPage | None:
        """The page kept under ``key`` if it was made from ``inputs`` and is still good."""
        found = self.get(key)
        if found is None or now >= found.keep.expires or found.keep.inputs != inputs:
            return None
        return found


def cache_key(credential_id: str, locale: str, script_name: str) -> str:
    """A kept page's key: the credential, the reader's locale and the application's prefix
    (the page's links are relative to it)."""
    return f"{credential_id}\0{locale}\0{script_name}"


def replayable(headers: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The headers of an answer worth replaying: all but its request id (each answer has its
    own)."""
    return tuple((name, value) for name, value in headers if name.lower() != "x-request-id")


def is_anonymous_page_request(environ: dict[str, Any]) -> bool:
    """A ``GET`` of the page with no query and no cookie: the only requests whose answer is kept
    or served kept (anything with a cookie may be someone's own page, with a flashed message or
    a signed-in header)."""
    return (
        environ.get("REQUEST_METHOD") == "GET"
        and not environ.get("QUERY_STRING")
        and "HTTP_COOKIE" not in environ
    )
