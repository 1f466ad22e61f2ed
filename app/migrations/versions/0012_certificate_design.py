"""The issuer's certificate design: template, colour, paper and signature block

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-05 12:10:00.000000

Every existing issuer gets the classic template in teal with the paper chosen by the reader's
language, and no signature block until its owner adds one.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issuer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "certificate_template",
                sa.String(length=16),
                server_default="classic",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "certificate_colour", sa.String(length=16), server_default="teal", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "certificate_paper", sa.String(length=8), server_default="auto", nullable=False
            )
        )
        batch_op.add_column(sa.Column("signatory_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("signatory_title", sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot add a constraint to a table, and rebuilding "issuer" to add one fails
        # once other rows refer to it; a new column may carry its reference inline.
        op.execute("ALTER TABLE issuer ADD COLUMN signature_image_id INTEGER REFERENCES image (id)")
    else:
        op.add_column("issuer", sa.Column("signature_image_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_issuer_signature_image_id_image"),
            "issuer",
            "image",
            ["signature_image_id"],
            ["id"],
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # Dropping a referencing column rebuilds "issuer" on SQLite, and the rebuild's DROP
        # TABLE would fail for every row that refers to an issuer while keys are enforced.
        op.execute("PRAGMA foreign_keys=OFF")
    else:
        op.drop_constraint(op.f("fk_issuer_signature_image_id_image"), "issuer", type_="foreignkey")
    with op.batch_alter_table("issuer", schema=None) as batch_op:
        batch_op.drop_column("signature_image_id")
        batch_op.drop_column("signatory_title")
        batch_op.drop_column("signatory_name")
        batch_op.drop_column("certificate_paper")
        batch_op.drop_column("certificate_colour")
        batch_op.drop_column("certificate_template")
    if sqlite:
        op.execute("PRAGMA foreign_keys=ON")
