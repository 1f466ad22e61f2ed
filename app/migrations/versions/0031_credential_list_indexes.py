"""Credential list at scale: the list's order as an index (first and cursor pages, capped
counts), partial indexes for the revoked and suspended filters, and on PostgreSQL trigram
indexes (pg_trgm) for searching part of a recipient's address or name

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 00:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_ORDER = ["issuer_id", "issued_at", "id"]
_PARTIAL = {
    "ix_issued_credential_revoked": "revoked_at IS NOT NULL",
    "ix_issued_credential_suspended": "suspended_at IS NOT NULL",
}
_TRIGRAM = {
    "ix_issued_credential_email_trgm": "recipient_email",
    "ix_issued_credential_name_trgm": "recipient_name",
}


def upgrade():
    op.create_index("ix_issued_credential_list", "issued_credential", _ORDER)
    for name, where in _PARTIAL.items():
        op.create_index(
            name,
            "issued_credential",
            _ORDER,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    if op.get_bind().dialect.name == "postgresql":
        # Needs the right to create an extension (the database owner has it on PostgreSQL 13+,
        # pg_trgm being a trusted extension).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in _TRIGRAM.items():
        # SQLite has no trigram index: there the index holds no rows (WHERE 0), so both
        # databases have the schema the models describe and SQLite's writes pay nothing.
        op.create_index(
            name,
            "issued_credential",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            sqlite_where=sa.text("0"),
        )


def downgrade():
    # The pg_trgm extension stays: other things in the database may use it.
    for name in [*_TRIGRAM, *_PARTIAL, "ix_issued_credential_list"]:
        op.drop_index(name, table_name="issued_credential")
