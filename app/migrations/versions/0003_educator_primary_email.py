"""An educator's primary address (where their mail goes)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:02:11.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("educator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("primary_email", sa.String(length=320), nullable=True))


def downgrade():
    with op.batch_alter_table("educator", schema=None) as batch_op:
        batch_op.drop_column("primary_email")
