"""Recording audit events in hash chains, reading them back per issuer, and verifying the
chains."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, event, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db
from app.models import AuditChainHead, AuditEvent, Issuer, Membership, StaffAccount
from app.services._core import plain_rows
from app.services._core.spreadsheets import safe_row

#: ``prev_hash`` of the first event of a chain.
GENESIS = "0" * 64
#: ``AuditChainHead.chain`` of the instance's chain (events of no organisation).
INSTANCE_CHAIN = 0


class Actor:
    """Who did something: a staff account, or a named system actor (``cli``, ``system``)."""

    def __init__(
        self, staff: StaffAccount | None = None, label: str | None = None, ip: str | None = None
    ):
        self.staff = staff
        self.label = label or (staff.email if staff is not None else "system")
        self.ip = ip

    @property
    def staff_id(self) -> int | None:
        return self.staff.id if self.staff is not None else None


SYSTEM = Actor(label="system")
CLI = Actor(label="cli")


def record(action: str, **fields: Any) -> AuditEvent:
    """Add an audit event to the session (committed with the change it records), linked to the
    end of its chain. ``fields``: those of :func:`new_event` (``actor`` and ``now``, and
    optionally ``issuer_id``, ``subject_type``, ``subject_id``, ``detail``).

    Appending locks the chain's head row until the transaction ends (``SELECT … FOR UPDATE`` on
    PostgreSQL; on SQLite the head's upsert takes the database's single write lock), so two
    transactions never extend the same link, and a rolled-back one leaves no gap.
    """
    entry = new_event(action, **fields)
    record_all([entry])
    return entry


def new_event(
    action: str,
    *,
    actor: Actor,
    now: datetime,
    issuer_id: int | None = None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """An audit event not yet in its chain nor in the session (see :func:`record_all`)."""
    return AuditEvent(
        **_event_values(action, actor, now, issuer_id, subject_type, subject_id, detail)
    )


@dataclass(slots=True)
class EventRow:
    """An audit event's columns as plain values, not an ORM object (:func:`record_rows`)."""

    issuer_id: int | None
    actor_id: int | None
    actor: str
    action: str
    subject_type: str | None
    subject_id: str | None
    detail: dict[str, Any]
    ip_address: str | None
    created_at: datetime
    chain_seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None


def new_row(
    action: str,
    *,
    actor: Actor,
    now: datetime,
    issuer_id: int | None = None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> EventRow:
    """What :func:`new_event` makes, as plain values (for :func:`record_rows`)."""
    return EventRow(
        **_event_values(action, actor, now, issuer_id, subject_type, subject_id, detail)
    )


def _event_values(
    action: str,
    actor: Actor,
    now: datetime,
    issuer_id: int | None,
    subject_type: str | None,
    subject_id: str | int | None,
    detail: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "issuer_id": issuer_id,
        "actor_id": actor.staff_id,
        "actor": actor.label,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id) if subject_id is not None else None,
        # Stored as JSON: hash what will be read back (tuples become lists, keys strings).
        "detail": json.loads(json.dumps(detail or {})),
        "ip_address": actor.ip,
        # Stored with microsecond precision in UTC: hash what will be read back.
        "created_at": now.astimezone(UTC),
    }


def record_all(entries: list[AuditEvent]) -> None:
    """Add events made by :func:`new_event` to the session, linked to the ends of their chains
    in order, as :func:`record` one after another would; but each chain's head is written once
    for them all, so a bulk chunk holds the head's lock for one statement, not one per event."""
    _link(entries)
    db.session.add_all(entries)


def record_rows(entries: list[EventRow]) -> None:
    """:func:`record_all` for events made by :func:`new_row`: the same links and rows, each
    given to :func:`plain_rows.add` (one ``INSERT`` for a bulk chunk's events)."""
    _link(entries)
    for entry in entries:
        plain_rows.add(AuditEvent, {column: getattr(entry, column) for column in _STORED})


def event_hash(item: AuditEvent | EventRow) -> str:
    """The SHA-256 (hex) that chains ``item``: version 1 of the canonical serialisation.

    Hashed: the UTF-8 bytes of the compact JSON array (``separators=(",", ":")``,
    ``ensure_ascii=False``)::

        ["cairn-audit-1", issuer_id, chain_seq, created_at, actor_id, actor, action,
         subject_type, subject_id, ip_address, detail, prev_hash]

    where ``issuer_id`` and ``actor_id`` are integers or ``null``; ``chain_seq`` an integer;
    ``created_at`` the ISO 8601 UTC time as Python's ``datetime.isoformat()`` writes it (e.g.
    ``2026-12-05T08:14:03.123456+00:00``, no fraction when it is zero); ``subject_type``,
    ``subject_id`` and ``ip_address`` strings or ``null``; ``detail`` the JSON object itself
    (serialised with sorted keys); ``prev_hash`` the previous event's hash in the same chain, or
    64 zeros. The database ``id`` is not hashed (the chain orders events by ``chain_seq``).
    Every value is in the CSV export, so an export can be checked without Cairn.
    """
    payload = [
        "cairn-audit-1",
        item.issuer_id,
        item.chain_seq,
        item.created_at.astimezone(UTC).isoformat(),
        item.actor_id,
        item.actor,
        item.action,
        item.subject_type,
        item.subject_id,
        item.ip_address,
        item.detail,
        item.prev_hash,
    ]
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_HEADS = "cairn.audit_heads"


def _link(entries: Sequence[AuditEvent | EventRow]) -> None:
    """Give each entry its place in its chain and move the chains' heads to the last ones.

    The first event of a chain in a transaction locks the head row and reads it; later ones in
    the same transaction (a bulk chunk records hundreds) hold the lock already and continue
    from the head this session remembers, until the transaction ends.
    """
    session = db.session
    heads: dict[int, tuple[int, str]] = session.info.setdefault(_HEADS, {})
    moved: dict[int, tuple[int, str]] = {}
    for entry in entries:
        chain = entry.issuer_id if entry.issuer_id is not None else INSTANCE_CHAIN
        if chain not in heads:
            heads[chain] = _lock_head(session, chain)
        seq, previous = heads[chain]
        entry.chain_seq = seq + 1
        entry.prev_hash = previous
        entry.hash = event_hash(entry)
        heads[chain] = moved[chain] = (entry.chain_seq, entry.hash)
    # Written with the events when they are collected (plain_rows: on PostgreSQL, in the same
    # statement), else at once.
    plain_rows.update(
        AuditChainHead,
        "chain",
        [{"chain": chain, "seq": seq, "hash": last} for chain, (seq, last) in moved.items()],
    )


def _lock_head(session: Any, chain: int) -> tuple[int, str]:
    """Lock a chain's head until the transaction ends, and read it (made if it is missing)."""
    locked = (
        select(AuditChainHead.seq, AuditChainHead.hash)
        .where(AuditChainHead.chain == chain)
        .with_for_update()
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    # PostgreSQL: lock the head if it exists (one statement, the usual case). SQLite: the
    # upsert comes first, as it is what starts SQLite's write transaction, so no one else
    # appends until we commit (its SELECT takes no lock).
    head = session.execute(locked).one_or_none() if postgres else None
    if head is None:  # (PostgreSQL: the chain's first event) make its head, once
        values = {"chain": chain, "seq": 0, "hash": GENESIS}
        if postgres:
            session.execute(
                postgresql_insert(AuditChainHead).values(values).on_conflict_do_nothing()
            )
        else:
            session.execute(sqlite_insert(AuditChainHead).values(values).on_conflict_do_nothing())
        head = session.execute(locked).one()
    seq, previous = head
    return seq, previous


@event.listens_for(Session, "after_transaction_end")
def _forget_heads(session: Session, transaction: SessionTransaction) -> None:
    # The lock ends with the transaction (commit, rollback or close): the next one reads the
    # head afresh. A savepoint's end forgets too, as its rollback undoes counted events. (A
    # flush's internal subtransaction changes nothing.)
    if transaction.parent is None or transaction.nested:
        session.info.pop(_HEADS, None)


def in_log_of(issuer_id: int) -> Any:
    """The events an issuer's log shows: its own, plus the account events (sign-ins, password
    changes) of its current staff, which belong to no one issuer."""
    members = select(Membership.staff_id).where(Membership.issuer_id == issuer_id)
    return or_(
        AuditEvent.issuer_id == issuer_id,
        and_(AuditEvent.issuer_id.is_(None), AuditEvent.actor_id.in_(members)),
    )


def events(
    issuer_id: int,
    *,
    limit: int | None = None,
    before_id: int | None = None,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """An issuer's events, newest first; optionally only one action's, one staff member's, one
    subject's, or those at or after ``since`` and before ``until``."""
    query = select(AuditEvent).where(in_log_of(issuer_id))
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    if subject_type is not None:
        query = query.where(AuditEvent.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEvent.subject_id == subject_id)
    query = query.order_by(AuditEvent.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def actions(issuer_id: int) -> list[str]:
    """The actions an issuer's log holds, alphabetically (for filtering it)."""
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(in_log_of(issuer_id))
            .distinct()
            .order_by(AuditEvent.action)
        )
    )


def actors(issuer_id: int) -> list[tuple[int, str]]:
    """The staff members an issuer's log names, as ``(account id, email)`` by email (for
    filtering it); system actors are not staff and are not listed."""
    rows = db.session.execute(
        select(StaffAccount.id, StaffAccount.email)
        .where(
            StaffAccount.id.in_(
                select(AuditEvent.actor_id).where(
                    in_log_of(issuer_id), AuditEvent.actor_id.is_not(None)
                )
            )
        )
        .order_by(StaffAccount.email)
    )
    return [(account_id, email) for account_id, email in rows]


def subject_types(issuer_id: int) -> list[str]:
    """The kinds of subject an issuer's log names, alphabetically (for filtering it)."""
    return list(
        db.session.scalars(
            select(AuditEvent.subject_type)
            .where(in_log_of(issuer_id), AuditEvent.subject_type.is_not(None))
            .distinct()
            .order_by(AuditEvent.subject_type)
        )
    )


CSV_COLUMNS = (
    "id",
    "time",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "ip_address",
    "detail",
    # The hash chain (see event_hash): with these, an export verifies without Cairn.
    "issuer_id",
    "actor_id",
    "chain_seq",
    "prev_hash",
    "hash",
)


def export_csv(issuer_id: int) -> Iterator[str]:
    """An issuer's whole audit log as CSV, oldest first, streamed in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    last = 0
    while True:
        batch = list(
            db.session.scalars(
                select(AuditEvent)
                .where(in_log_of(issuer_id), AuditEvent.id > last)
                .order_by(AuditEvent.id)
                .limit(1000)
            )
        )
        for item in batch:
            writer.writerow(
                safe_row(
                    [
                        item.id,
                        item.created_at.isoformat(),
                        item.actor,
                        item.action,
                        item.subject_type or "",
                        item.subject_id or "",
                        item.ip_address or "",
                        json.dumps(item.detail, sort_keys=True),
                        item.issuer_id if item.issuer_id is not None else "",
                        item.actor_id if item.actor_id is not None else "",
                        item.chain_seq if item.chain_seq is not None else "",
                        item.prev_hash or "",
                        item.hash or "",
                    ]
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < 1000:
            return
        last = batch[-1].id


@dataclass(frozen=True)
class BrokenLink:
    """The first event where a chain does not hold, and why."""

    event_id: int | None
    created_at: datetime | None
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """What verifying one chain found."""

    chain: str
    events: int
    broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        """Whether every link held."""
        return self.broken is None


def chain_label(issuer_id: int | None) -> str:
    """How reports name a chain: the organisation's slug, or ``instance``."""
    if issuer_id is None:
        return "instance"
    issuer = db.session.get(Issuer, issuer_id)
    return issuer.slug if issuer is not None else f"issuer #{issuer_id}"


def chains() -> list[int | None]:
    """Every chain with events or a head: ``None`` (the instance) first, then issuer ids."""
    ids = set(db.session.scalars(select(AuditEvent.issuer_id).distinct()))
    ids |= {c or None for c in db.session.scalars(select(AuditChainHead.chain))}
    return [None, *sorted(i for i in ids if i is not None)]


def verify_chain(issuer_id: int | None) -> ChainReport:
    """Walk one chain in order and report the first link that does not hold.

    A row altered in place no longer matches its hash; a row rewritten with a fresh hash breaks
    the next row's ``prev_hash``; a deleted row leaves a gap in ``chain_seq`` and a broken
    ``prev_hash``; a row inserted past Cairn has no hash or a place already taken; events
    deleted from the end leave the chain's head pointing past the last event.
    """
    label = chain_label(issuer_id)
    query = select(AuditEvent).where(
        AuditEvent.issuer_id.is_(None) if issuer_id is None else AuditEvent.issuer_id == issuer_id
    )
    # Rows without a place sort first: they are out of the chain, whatever their id.
    query = query.order_by(AuditEvent.chain_seq.is_not(None), AuditEvent.chain_seq, AuditEvent.id)
    count = 0
    seq, previous = 0, GENESIS
    last: AuditEvent | None = None
    # Streamed (a server-side cursor on PostgreSQL), and closed however the walk ends.
    rows = db.session.scalars(query.execution_options(yield_per=1000))
    try:
        for item in rows:
            count += 1
            reason = _link_problem(item, seq, previous)
            if reason is not None:
                return ChainReport(label, count, BrokenLink(item.id, item.created_at, reason))
            seq, previous, last = item.chain_seq or 0, item.hash or "", item
    finally:
        rows.close()
    chain_key = INSTANCE_CHAIN if issuer_id is None else issuer_id
    head = db.session.get(AuditChainHead, chain_key)
    if head is None:
        if count:
            return ChainReport(label, count, BrokenLink(None, None, "the chain's head is missing"))
    elif (head.seq, head.hash) != (seq, previous):
        missing = head.seq - seq
        reason = (
            f"the last {missing} event(s) after it are missing: deleted"
            if missing > 0
            else "the chain's head does not match its last event"
        )
        return ChainReport(
            label,
            count,
            BrokenLink(last.id if last else None, last.created_at if last else None, reason),
        )
    return ChainReport(label, count, None)


def _link_problem(item: AuditEvent, seq: int, previous: str) -> str | None:
    """Why ``item`` does not follow the link ``(seq, previous)``, or ``None`` when it does."""
    if item.chain_seq is None or item.hash is None or item.prev_hash is None:
        return "it is not in the chain (no hash): inserted past Cairn"
    if item.chain_seq <= seq:
        return f"place {item.chain_seq} is taken twice: inserted out of chain"
    if item.chain_seq > seq + 1:
        return f"{item.chain_seq - seq - 1} event(s) before it are missing: deleted"
    if item.prev_hash != previous:
        return (
            "it does not follow the event before it: that event was altered, or this one was "
            "inserted out of chain"
        )
    if event_hash(item) != item.hash:
        return "its contents do not match its hash: altered"
    return None


def check_links(items: Iterable[AuditEvent]) -> tuple[int, int, str, str | None]:
    """Walk events given in chain order (rows or unsaved copies, e.g. an export's) and return
    ``(count, last seq, last hash, problem)``; ``problem`` is why the first link that does not
    hold fails, or ``None``."""
    count, seq, previous = 0, 0, GENESIS
    for item in items:
        count += 1
        reason = _link_problem(item, seq, previous)
        if reason is not None:
            return count, seq, previous, f"event {item.chain_seq}: {reason}"
        seq, previous = item.chain_seq or 0, item.hash or ""
    return count, seq, previous, None


#: The columns of an event row besides its id.
_STORED = (
    "issuer_id",
    "actor_id",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "detail",
    "ip_address",
    "created_at",
    "chain_seq",
    "prev_hash",
    "hash",
)


def import_chain(issuer_id: int, items: Iterable[AuditEvent], *, batch: int = 1000) -> int:
    """Append a moved organisation's events, in their order, as the start of the new chain of
    ``issuer_id`` (which must have none yet), each linked again: its ``issuer_id`` and
    ``actor_id`` are this database's, and both are hashed. Inserted in batches, so memory does
    not grow with the log. Returns how many were appended."""
    if db.session.get(AuditChainHead, issuer_id) is not None:
        raise RuntimeError(f"issuer #{issuer_id} already has an audit chain")
    seq, previous = 0, GENESIS
    pending: list[dict[str, Any]] = []
    for item in items:
        item.issuer_id = issuer_id
        item.chain_seq = seq + 1
        item.prev_hash = previous
        item.hash = event_hash(item)
        seq, previous = item.chain_seq, item.hash
        pending.append({column: getattr(item, column) for column in _STORED})
        if len(pending) >= batch:
            db.session.execute(insert(AuditEvent), pending)
            pending.clear()
    if pending:
        db.session.execute(insert(AuditEvent), pending)
    db.session.execute(insert(AuditChainHead).values(chain=issuer_id, seq=seq, hash=previous))
    return seq


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context: Any, instances: Any) -> None:
    # The log is evidence: once written, an event is never edited or removed.
    for item in list(session.dirty) + list(session.deleted):
        if isinstance(item, AuditEvent):
            raise AppendOnlyViolation("audit events are append-only")
