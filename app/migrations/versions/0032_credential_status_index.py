"""Credential list at scale, second step: the list's index carries the status columns on
PostgreSQL (the expired and valid filters read the index, not the heap), and an index on
(issuer, recipient address) for the API's exact-recipient filter

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 01:10:00.000000
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

_ORDER = ["issuer_id", "issued_at", "id"]
_STATUS = ["valid_until", "revoked_at", "suspended_at"]


def upgrade():
    # INCLUDE is PostgreSQL's (11+); SQLite ignores the option and keeps the plain index.
    op.drop_index("ix_issued_credential_list", table_name="issued_credential")
    op.create_index(
        "ix_issued_credential_list", "issued_credential", _ORDER, postgresql_include=_STATUS
    )
    op.create_index(
        "ix_issued_credential_email", "issued_credential", ["issuer_id", "recipient_email"]
    )


def downgrade():
    op.drop_index("ix_issued_credential_email", table_name="issued_credential")
    op.drop_index("ix_issued_credential_list", table_name="issued_credential")
    op.create_index("ix_issued_credential_list", "issued_credential", _ORDER)
