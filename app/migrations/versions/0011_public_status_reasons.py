"""A public reason for a revocation or suspension, apart from the internal note

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-05 12:10:00.000000

Until now the one reason staff wrote ("kept in the audit log", the form said) was shown on the
recipient's public page. The existing ``revocation_reason`` and ``suspension_reason`` columns
stay what staff wrote, now the internal note (staff and the audit log only); the new columns
hold the reason written or chosen for the public. Credentials revoked or suspended before this
have no public reason, so their pages say only that the issuer revoked or suspended them: what
was written as internal is never published after the fact.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_credential") as batch:
        batch.add_column(sa.Column("revocation_public_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("suspension_public_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issued_credential") as batch:
        batch.drop_column("suspension_public_reason")
        batch.drop_column("revocation_public_reason")
