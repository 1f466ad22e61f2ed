"""Audit log hash chain: chain_seq, prev_hash and hash on every event (existing events linked in
order, one chain per organisation and one for the instance), and the chains' heads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 08:30:00.000000

"""

import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

# The append-only triggers of migration 0001, recreated around the backfill and the downgrade.
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
    for verb in ("UPDATE", "DELETE")
]


def _event_hash(row, seq, prev_hash):
    """Version 1 of the canonical serialisation, frozen here as it was when this migration was
    written (``app.services.org.audit.event_hash`` documents it; a test checks the two agree)."""
    created_at = row.created_at.astimezone(UTC).isoformat()
    payload = [
        "cairn-audit-1",
        row.issuer_id,
        seq,
        created_at,
        row.actor_id,
        row.actor,
        row.action,
        row.subject_type,
        row.subject_id,
        row.ip_address,
        row.detail if row.detail is not None else {},
        prev_hash,
    ]
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _allow_updates(dialect):
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")


def _forbid_updates(dialect):
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    else:
        op.execute(_SQLITE_TRIGGERS[0])


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table(
        "audit_chain_head",
        sa.Column("chain", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chain_head")),
    )
    # Plain ADD COLUMN (no batch): on SQLite a batch would rebuild the table and lose its
    # triggers.
    op.add_column("audit_event", sa.Column("chain_seq", sa.Integer(), nullable=True))
    op.add_column("audit_event", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_event", sa.Column("hash", sa.String(length=64), nullable=True))

    # Link the events already recorded, in the order they were recorded. The triggers refuse
    # every UPDATE, so the update trigger is lifted for exactly this, in this transaction.
    events = sa.table(
        "audit_event",
        sa.column("id", sa.Integer()),
        sa.column("issuer_id", sa.Integer()),
        sa.column("actor_id", sa.Integer()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("subject_type", sa.String()),
        sa.column("subject_id", sa.String()),
        sa.column("detail", sa.JSON()),
        sa.column("ip_address", sa.String()),
        sa.column("created_at", UTCDateTime()),
        sa.column("chain_seq", sa.Integer()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    heads = sa.table(
        "audit_chain_head",
        sa.column("chain", sa.Integer()),
        sa.column("seq", sa.Integer()),
        sa.column("hash", sa.String()),
    )
    connection = op.get_bind()
    chains = {}
    _allow_updates(dialect)
    last = 0
    while True:
        rows = connection.execute(
            sa.select(events).where(events.c.id > last).order_by(events.c.id).limit(1000)
        ).all()
        for row in rows:
            key = row.issuer_id if row.issuer_id is not None else 0
            seq, previous = chains.get(key, (0, GENESIS))
            digest = _event_hash(row, seq + 1, previous)
            connection.execute(
                sa.update(events)
                .where(events.c.id == row.id)
                .values(chain_seq=seq + 1, prev_hash=previous, hash=digest)
            )
            chains[key] = (seq + 1, digest)
        if len(rows) < 1000:
            break
        last = rows[-1].id
    _forbid_updates(dialect)
    if chains:
        connection.execute(
            sa.insert(heads),
            [{"chain": key, "seq": seq, "hash": digest} for key, (seq, digest) in chains.items()],
        )

    op.create_index("ix_audit_event_chain", "audit_event", ["issuer_id", "chain_seq"], unique=True)
    op.create_index(
        "ix_audit_event_instance_chain",
        "audit_event",
        ["chain_seq"],
        unique=True,
        sqlite_where=sa.text("issuer_id IS NULL"),
        postgresql_where=sa.text("issuer_id IS NULL"),
    )


def downgrade():
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_audit_event_instance_chain", table_name="audit_event")
    op.drop_index("ix_audit_event_chain", table_name="audit_event")
    if dialect == "postgresql":
        op.drop_column("audit_event", "hash")
        op.drop_column("audit_event", "prev_hash")
        op.drop_column("audit_event", "chain_seq")
    else:
        # SQLite drops columns by rebuilding the table, which loses its triggers: restore them.
        with op.batch_alter_table("audit_event", schema=None) as batch_op:
            batch_op.drop_column("hash")
            batch_op.drop_column("prev_hash")
            batch_op.drop_column("chain_seq")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)
    op.drop_table("audit_chain_head")
