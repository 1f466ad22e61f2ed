"""Credential analytics (daily counters per credential and kind) and who confirmed a bulk job

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-05 12:15:00.000000

The counters record that something happened (a page view, a verification, a LinkedIn or
download click), never who did it. ``bulk_job.confirmed_by_id`` lets a job's awards be
attributed to the staff member who confirmed it rather than to the system.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credential_activity",
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["issued_credential.id"],
            name=op.f("fk_credential_activity_credential_id_issued_credential"),
        ),
        sa.PrimaryKeyConstraint(
            "credential_id", "day", "kind", name=op.f("pk_credential_activity")
        ),
    )
    with op.batch_alter_table("credential_activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_activity_day"), ["day"], unique=False)
    with op.batch_alter_table("bulk_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_bulk_job_confirmed_by_id_staff_account"),
            "staff_account",
            ["confirmed_by_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("bulk_job", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_bulk_job_confirmed_by_id_staff_account"), type_="foreignkey"
        )
        batch_op.drop_column("confirmed_by_id")
    with op.batch_alter_table("credential_activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_activity_day"))
    op.drop_table("credential_activity")
