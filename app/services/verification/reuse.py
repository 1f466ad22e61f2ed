"""A verification of the same submitted bytes reused while nothing it depends on has changed
(``POST /api/verify`` and the Verify page, per process).

The verdict on one of this instance's own credentials, verified with nothing fetched from
outside the instance, is a function of the bytes submitted (and the recipient asked about), of
the issuer's keys and slug (its DID document), of its signed status lists, of Cairn's own record
of the credential (revoked, suspended, replaced), and of the time through the validity dates.
Those are read afresh on every request by one query (:func:`dependency_key`); a kept verdict is
used only when that read gives the key that was read *before* the verification that produced
it, and before its first date boundary or :data:`MAX_AGE`. So a revocation, suspension, re-signed
list, new key or renamed issuer shows on the next request in every process, and a change that
races a verification can only make the next request verify again. The first request for some
bytes only learns where their dependencies live (which credential, which issuers); the second
verifies with the key read first and keeps the verdict; later ones reuse it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import BindParameter, CompoundSelect, bindparam, literal, select, union_all
from sqlalchemy.engine import Connection

from app.extensions import db
from app.models import IssuedCredential, Issuer, IssuerKey, StatusList
from credentials import VALID, VerificationReport

V = TypeVar("V")

#: The longest a verdict is reused, even when nothing it depends on has changed.
MAX_AGE = timedelta(seconds=60)
#: Submissions whose verdicts one process keeps (the least recently used go first).
SIZE = 1024


def _dependencies() -> CompoundSelect[Any]:
    issuer_ids: BindParameter[Any] = bindparam("issuer_ids", expanding=True)
    own = IssuedCredential.id == bindparam("credential_id")
    # The issuers' signed lists (re-signed, with a new version, whenever a bit changes), keys (a
    # DID document lists them all) and slugs, and the credential's own record.
    return union_all(
        select(
            literal("list"),
            StatusList.id,
            StatusList.purpose,
            StatusList.version,
            StatusList.signed_at,
        ).where(StatusList.issuer_id.in_(issuer_ids)),
        select(literal("key"), IssuerKey.id, IssuerKey.kid, literal(0), IssuerKey.created_at).where(
            IssuerKey.issuer_id.in_(issuer_ids)
        ),
        select(literal("issuer"), Issuer.id, Issuer.slug, literal(0), Issuer.created_at).where(
            Issuer.id.in_(issuer_ids)
        ),
        select(
            literal("revoked"),
            literal(0),
            IssuedCredential.replaced_by_id,
            literal(0),
            IssuedCredential.revoked_at,
        ).where(own),
        select(
            literal("suspended"),
            literal(0),
            IssuedCredential.id,
            literal(0),
            IssuedCredential.suspended_at,
        ).where(own),
    )


#: Built once: building the statement (SQLAlchemy's coercions) cost more than running it.
_DEPENDENCIES = _dependencies()


def dependency_key(
    credential_id: str, issuer_ids: tuple[int, ...], connection: Connection | None = None
) -> Hashable:
    """Everything a verification of one of our credentials depends on besides the bytes and
    the time, read afresh in one round trip: the issuers' slugs, lists and keys, and the
    credential's revoked, suspended and replaced state. Read in the session's transaction, or
    on ``connection`` (the credential page's lane, outside any request)."""
    parameters = {"credential_id": credential_id, "issuer_ids": list(issuer_ids)}
    reader = db.session if connection is None else connection
    rows = reader.execute(_DEPENDENCIES, parameters).all()
    # (tag, id) is unique, so the sort never compares a None with a date.
    return tuple(sorted(tuple(row) for row in rows))


def digest(data: bytes | str | Mapping[str, Any], recipient: str | None) -> str | None:
    """A digest of what was submitted and the recipient asked about, or None when it cannot be
    written down exactly (then nothing is reused)."""
    if isinstance(data, bytes):
        kind, raw = b"b", data
    elif isinstance(data, str):
        kind, raw = b"s", data.encode("utf-8", "surrogatepass")
    else:
        try:
            # Key order kept: the report echoes the credential as it was sent.
            raw = json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError):
            return None
        kind = b"j"
    hashed = hashlib.sha256(kind + b"\0" + (recipient or "").encode("utf-8") + b"\0" + raw)
    return hashed.hexdigest()


@dataclass(frozen=True)
class Where:
    """Where a submission's dependencies live: its credential and the issuers resolved."""

    credential_id: str
    issuer_ids: tuple[int, ...]


@dataclass(frozen=True)
class Kept:
    """A verdict, with the dependency key read before it was reached and its last moment."""

    where: Where
    key: Hashable
    report: VerificationReport
    expires: datetime


class Lru(Generic[V]):
    """A bounded map from a string to a value, the least recently used forgotten first, safe
    across threads (a per-process cache)."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        """What is kept under ``key``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: V) -> None:
        """Keep an entry, forgetting the least recently used beyond :attr:`size`."""
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


#: What is known of a submission, by its :func:`digest`.
ReuseCache = Lru[Where | Kept]


def expires(report: VerificationReport, now: datetime) -> datetime:
    """The first moment the verdict may no longer hold: a date a check named still ahead
    (valid from, valid until), or :data:`MAX_AGE` from now."""
    ahead = [c.at for c in report.checks if isinstance(c.at, datetime) and c.at > now]
    return min([now + MAX_AGE, *ahead])


def keepable(report: VerificationReport) -> bool:
    """Whether a verdict may be kept at all: only a valid one (a verdict that may turn valid
    later, or whose failure names a moment, is not worth the risk), and none with endorsements,
    whose own dates no top-level check names."""
    return report.outcome == VALID and "endorsement" not in json.dumps(report.credential)
