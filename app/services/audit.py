"""Recording audit events, and reading them back per issuer."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, event, or_, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import AuditEvent, Membership, StaffAccount
from app.services.spreadsheets import safe_row


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


def record(
    action: str,
    *,
    actor: Actor,
    now: datetime,
    issuer_id: int | None = None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (committed with the change it records)."""
    entry = AuditEvent(
        issuer_id=issuer_id,
        actor_id=actor.staff_id,
        actor=actor.label,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else None,
        detail=detail or {},
        ip_address=actor.ip,
        created_at=now,
    )
    db.session.add(entry)
    return entry


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
) -> list[AuditEvent]:
    """An issuer's events, newest first; optionally only one action or one subject's."""
    query = select(AuditEvent).where(in_log_of(issuer_id))
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if action:
        query = query.where(AuditEvent.action == action)
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


CSV_COLUMNS = (
    "id",
    "time",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "ip_address",
    "detail",
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
                    ]
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < 1000:
            return
        last = batch[-1].id


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context: Any, instances: Any) -> None:
    # The log is evidence: once written, an event is never edited or removed.
    for item in list(session.dirty) + list(session.deleted):
        if isinstance(item, AuditEvent):
            raise AppendOnlyViolation("audit events are append-only")
