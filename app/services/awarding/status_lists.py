"""Status lists: random index allocation, flipping bits, and re-signing the list credential
only when a bit changes.

Each issuer has a revocation list and a suspension list of 131,072 entries. An award takes one
random unused index (sequential indices would leak the order and rate of awards) and holds it in
both lists: the credential names the revocation entry in ``credentialStatus`` (the strict OB 3.0
schema allows one entry), and Cairn checks the suspension list at the same index for its own
credentials.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import defer

import credentials
from app.database import prepared
from app.extensions import db
from app.models import Issuer, StatusAllocation, StatusList
from app.models.status_list import PURPOSES
from app.services._core import events
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict
from app.services.org.issuers import issuer_did, signing_key, verification_method
from credentials import (
    MIN_STATUS_LIST_BITS,
    add_proof,
    build_status_list_credential,
    status_entry,
)

LIST_LENGTH = MIN_STATUS_LIST_BITS


def list_url(issuer: Issuer, purpose: str, env: ServiceEnv) -> str:
    """The stable URL the list credential is served at (and its ``id``)."""
    return f"{env.base_url}/status/{issuer.slug}/{purpose}"


def entry(
    issuer: Issuer, index: int, env: ServiceEnv, purpose: str = "revocation"
) -> dict[str, Any]:
    """The ``BitstringStatusListEntry`` for an index."""
    return status_entry(
        list_credential_url=list_url(issuer, purpose, env), index=index, purpose=purpose
    )


def _sign(issuer: Issuer, row: StatusList, env: ServiceEnv) -> None:
    unsigned = build_status_list_credential(
        list_url=list_url(issuer, row.purpose, env),
        issuer=issuer_did(issuer, env),
        purpose=row.purpose,
        status_list=credentials.StatusList.from_bytes(row.bits),
        valid_from=env.now,
    )
    record, key = signing_key(issuer, "ed25519", env)
    signed = add_proof(
        unsigned,
        signer=key,
        verification_method=verification_method(issuer, record, env),
        created=env.now,
        loader=env.loader,
    )
    row.document = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
    row.signed_at = env.now


def on_issuer_created(event: events.IssuerCreated) -> None:
    """Every issuer starts with its lists (subscribed in ``subscriptions``)."""
    create_lists(event.issuer, event.env)


def create_lists(issuer: Issuer, env: ServiceEnv) -> None:
    """Create and sign the issuer's empty lists (in the caller's transaction)."""
    for purpose in PURPOSES:
        row = StatusList(
            issuer_id=issuer.id,
            purpose=purpose,
            length=LIST_LENGTH,
            bits=bytes(LIST_LENGTH // 8),
            version=1,
            document="",
            signed_at=env.now,
        )
        _sign(issuer, row, env)
        db.session.add(row)


def get_list(
    issuer: Issuer, purpose: str, *, for_update: bool = False, bits: bool = True
) -> StatusList:
    """An issuer's list (locked for the rest of the transaction when ``for_update``); without
    ``bits``, the raw bitstring is left in the database (serving needs only the document, and
    a 1,048,576-entry list's bits are 128 KiB)."""
    query = select(StatusList).where(
        StatusList.issuer_id == issuer.id, StatusList.purpose == purpose
    )
    if not bits:
        query = query.options(defer(StatusList.bits))
    if for_update:
        query = query.with_for_update()
    row = db.session.scalar(query)
    if row is None:
        raise LookupError(f"{issuer.slug} has no {purpose} list")
    return row


def etag(row: StatusList) -> str:
    """A strong entity tag (unquoted) for the signed list; it changes whenever the document does."""
    return hashlib.sha256(row.document.encode("utf-8")).hexdigest()[:32]


def set_bit(issuer: Issuer, purpose: str, index: int, value: bool, env: ServiceEnv) -> bool:
    """Set or clear one bit and re-sign the list if it changed (in the caller's transaction).

    :returns: whether the bit changed.
    """
    row = get_list(issuer, purpose, for_update=True)
    bits = credentials.StatusList.from_bytes(row.bits)
    if bits.get(index) == value:
        return False
    bits.set(index, value)
    row.bits = bits.to_bytes()
    row.version += 1
    _sign(issuer, row, env)
    return True


def is_set(issuer: Issuer, purpose: str, index: int) -> bool:
    """Read one bit from the stored list."""
    return credentials.StatusList.from_bytes(get_list(issuer, purpose).bits).get(index)


def _insert_ignoring_taken(rows: list[dict[str, Any]]) -> set[int]:
    """Insert allocation rows, skipping indices another award took meanwhile; return the
    indices this call got."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql_insert(StatusAllocation).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite_insert(StatusAllocation).on_conflict_do_nothing()
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        statement = insert(StatusAllocation)
    statement = statement.returning(StatusAllocation.status_index)
    # A connection of its own, committed at once: the allocation must be visible to concurrent
    # awards before this one signs, and must not hold a write lock while it does.
    with db.engine.begin() as connection:
        prepared(connection)  # committed: its statements can stay prepared
        if dialect == "postgresql":
            # Not waiting for this commit to reach the disk is safe: the credential that uses
            # an index commits later, synchronously, and PostgreSQL's log is written in order,
            # so a credential on disk always has its allocation on disk. A crash can lose only
            # allocations whose credentials were lost with them (and those indices are free).
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        return set(connection.execute(statement, rows).scalars()) if rows else set()


#: Up to how many indices :func:`allocate` guesses before reading the ones already used, and
#: for how many rounds: one taken guess in a round is no reason to read them all (at 5,000
#: credentials a batch of four meets one about once in 50 batches, and reading every used index
#: then cost 2% of an API award's CPU), three in a row say the lists are filling up.
_GUESS_UP_TO = 16
_GUESS_ROUNDS = 3


def _used_indices(issuer: Issuer) -> set[int]:
    return set(
        db.session.scalars(
            select(StatusAllocation.status_index).where(StatusAllocation.issuer_id == issuer.id)
        )
    )


def allocate(
    issuer: Issuer, count: int, env: ServiceEnv, known: set[int] | None = None
) -> list[int]:
    """Reserve ``count`` random unused indices for an issuer.

    Call it before the session writes anything: it commits on a connection of its own.
    ``known``, when given, is the caller's set of the issuer's used indices, kept between
    calls (a bulk job's chunks): read from the database the first time only, and updated here
    with what this call reserved or found taken. An index it does not know of (another
    worker's) is still refused by the insert, and guessed again.

    :raises Conflict: when the lists are full.
    """
    # One award used to read every index the issuer had ever allocated (up to LIST_LENGTH
    # rows, a cost that grew with every credential). While the lists are sparse a random index
    # is almost always free, and a taken one is refused by the insert anyway: so small requests
    # try first and read the used indices only after a few rounds that met taken ones (which
    # is also how a full list is noticed). Large requests (bulk chunks) read them once up front.
    used: set[int] = known if known is not None else set()
    if count > _GUESS_UP_TO and not used:
        used |= _used_indices(issuer)
    got: list[int] = []
    attempts = 0
    while len(got) < count:
        free = LIST_LENGTH - len(used)
        if free < count - len(got):
            raise Conflict(f"{issuer.name}'s status lists are full ({LIST_LENGTH} entries).")
        wanted: set[int] = set()
        while len(wanted) < count - len(got):
            candidate = secrets.randbelow(LIST_LENGTH)
            if candidate not in used and candidate not in wanted:
                wanted.add(candidate)
        rows = [
            {"issuer_id": issuer.id, "status_index": i, "allocated_at": env.now} for i in wanted
        ]
        taken = _insert_ignoring_taken(rows)
        got.extend(i for i in wanted if i in taken)
        used |= wanted
        attempts += 1
        if len(got) < count and attempts == _GUESS_ROUNDS and count <= _GUESS_UP_TO:
            used |= _used_indices(issuer)
        if attempts > 50:
            raise Conflict("Could not reserve status-list entries; try again.")
    return got
