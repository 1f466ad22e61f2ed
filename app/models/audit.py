"""AuditEvent: the append-only, hash-chained record of every issue, revoke, edit, key change and
sign-in; AuditChainHead: the newest link of each chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, event, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime


class AuditEvent(Base):
    """One thing that happened. Rows are never updated or deleted: the ORM refuses, and database
    triggers (see the migration) refuse too.

    Each event is also a link in a hash chain, so that changes made past both (by someone with
    the database's own credentials) show: one chain per organisation (``issuer_id``), so an
    organisation's export verifies on its own, and one for the instance (events of no
    organisation: sign-ins, account changes). ``chain_seq`` counts 1, 2, 3… in each chain,
    ``prev_hash`` is the previous link's ``hash`` (64 zeros for the first), and ``hash`` is
    SHA-256 over the event's fields and ``prev_hash`` (see ``app.services.org.audit.event_hash``).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        # One link per place in a chain: a concurrent append that slipped past the lock, or a
        # forged row, fails instead of forking the chain.
        Index("ix_audit_event_chain", "issuer_id", "chain_seq", unique=True),
        # NULLs never collide in a unique index, so the instance chain needs its own.
        Index(
            "ix_audit_event_instance_chain",
            "chain_seq",
            unique=True,
            sqlite_where=text("issuer_id IS NULL"),
            postgresql_where=text("issuer_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("issuer.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Nullable only because rows older than the chain were linked by the migration; every row
    # Cairn writes has all three, and verification reports one without them as a broken link.
    chain_seq: Mapped[int | None] = mapped_column()
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """The newest link of one audit chain: appending locks this row (so two transactions cannot
    both extend the same link), and verification compares it with the last event, so events
    deleted from the end of a chain show too. ``chain`` is the issuer's id, 0 for the instance.
    """

    __tablename__ = "audit_chain_head"

    chain: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column()
    hash: Mapped[str] = mapped_column(String(64))


# The same triggers the initial migration installs, for schemas made with ``create_all`` (tests).
_TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
        for verb in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION cairn_audit_append_only() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION cairn_audit_append_only()",
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION cairn_audit_append_only()",
    ],
}
for _dialect, _statements in _TRIGGERS.items():
    for _statement in _statements:
        _ddl = DDL(_statement).execute_if(dialect=_dialect)  # type: ignore[no-untyped-call]
        event.listen(AuditEvent.__table__, "after_create", _ddl)
