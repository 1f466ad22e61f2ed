"""Educators confirm the name their credentials carry; recipients claim credentials

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:10:00.000000

``educator.credential_name`` is the name, exactly as the educator confirmed it, that Cairn signs
into their credentials; until they confirm one it is empty and nothing is issued to them in
their own name (existing names may have been made from an address, so none counts as
confirmed). ``issued_credential.claimed_at`` is when the recipient accepted the credential into
their backpack; credentials already held at a confirmed address of an account are in a backpack
already, so they count as claimed when they were issued.
"""

import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("educator", sa.Column("credential_name", sa.String(length=200), nullable=True))
    op.add_column("issued_credential", sa.Column("claimed_at", UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE issued_credential SET claimed_at = issued_at WHERE recipient_email IN "
        "(SELECT email FROM educator_email WHERE verified_at IS NOT NULL)"
    )


def downgrade():
    op.drop_column("issued_credential", "claimed_at")
    op.drop_column("educator", "credential_name")
