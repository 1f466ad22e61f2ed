"""Evidence attached to module enrolments (portfolio items linked to an enrolment)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 14:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "enrolment_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_enrolment_item_enrolment_id_enrolment"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["portfolio_item.id"],
            name=op.f("fk_enrolment_item_item_id_portfolio_item"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_item")),
        sa.UniqueConstraint("enrolment_id", "item_id", name=op.f("uq_enrolment_item_enrolment_id")),
    )
    with op.batch_alter_table("enrolment_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrolment_item_enrolment_id"), ["enrolment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enrolment_item_item_id"), ["item_id"], unique=False)


def downgrade():
    with op.batch_alter_table("enrolment_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_item_item_id"))
        batch_op.drop_index(batch_op.f("ix_enrolment_item_enrolment_id"))
    op.drop_table("enrolment_item")
