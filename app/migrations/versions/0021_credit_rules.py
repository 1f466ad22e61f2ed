"""Credit units: an achievement version's creditsAvailable is in clock hours, CEUs or points

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 18:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("achievement_version") as batch:
        batch.add_column(sa.Column("credit_unit", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("achievement_version") as batch:
        batch.drop_column("credit_unit")
