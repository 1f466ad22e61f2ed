"""Educators and sign-in links, learning modules (activities, prompts, enrolments, responses),
portfolios, submissions and reviews, imported credentials; rubric and pathway fields on
achievement versions; show-on-profile on credentials

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:19:32.466373

"""

import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "educator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("profile_slug", sa.String(length=64), nullable=False),
        sa.Column("profile_public", sa.Boolean(), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_educator")),
        sa.UniqueConstraint("profile_slug", name=op.f("uq_educator_profile_slug")),
    )
    op.create_table(
        "stored_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_file")),
    )
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_file_sha256"), ["sha256"], unique=False)

    op.create_table(
        "educator_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["educator_id"], ["educator.id"], name=op.f("fk_educator_email_educator_id_educator")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_educator_email")),
        sa.UniqueConstraint("email", name=op.f("uq_educator_email_email")),
    )
    with op.batch_alter_table("educator_email", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_educator_email_educator_id"), ["educator_id"], unique=False
        )

    op.create_table(
        "imported_credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("issuer_name", sa.String(length=300), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("show_on_profile", sa.Boolean(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["educator_id"],
            ["educator.id"],
            name=op.f("fk_imported_credential_educator_id_educator"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_credential")),
        sa.UniqueConstraint("public_id", name=op.f("uq_imported_credential_public_id")),
    )
    with op.batch_alter_table("imported_credential", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_imported_credential_educator_id"), ["educator_id"], unique=False
        )

    op.create_table(
        "magic_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["educator_id"], ["educator.id"], name=op.f("fk_magic_link_educator_id_educator")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_magic_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_magic_link_token_hash")),
    )
    with op.batch_alter_table("magic_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_magic_link_email"), ["email"], unique=False)

    op.create_table(
        "portfolio_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("publish", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["educator_id"], ["educator.id"], name=op.f("fk_portfolio_item_educator_id_educator")
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["stored_file.id"], name=op.f("fk_portfolio_item_file_id_stored_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_item")),
        sa.UniqueConstraint("public_id", name=op.f("uq_portfolio_item_public_id")),
    )
    with op.batch_alter_table("portfolio_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portfolio_item_educator_id"), ["educator_id"], unique=False
        )

    op.create_table(
        "module",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("learning_outcomes", sa.JSON(), nullable=False),
        sa.Column("enrolment_mode", sa.String(length=16), nullable=False),
        sa.Column("requires_partner", sa.Boolean(), nullable=False),
        sa.Column("award_mode", sa.String(length=16), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievement.id"],
            name=op.f("fk_module_achievement_id_achievement"),
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuer.id"], name=op.f("fk_module_issuer_id_issuer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_module")),
        sa.UniqueConstraint("public_id", name=op.f("uq_module_public_id")),
    )
    with op.batch_alter_table("module", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_module_achievement_id"), ["achievement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_module_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("directions", sa.Text(), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"], ["module.id"], name=op.f("fk_activity_module_id_module")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_module_id"), ["module_id"], unique=False)

    op.create_table(
        "prompt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"], ["activity.id"], name=op.f("fk_prompt_activity_id_activity")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt")),
    )
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prompt_activity_id"), ["activity_id"], unique=False)

    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievement.id"],
            name=op.f("fk_submission_achievement_id_achievement"),
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["issued_credential.id"],
            name=op.f("fk_submission_credential_id_issued_credential"),
        ),
        sa.ForeignKeyConstraint(
            ["educator_id"], ["educator.id"], name=op.f("fk_submission_educator_id_educator")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuer.id"], name=op.f("fk_submission_issuer_id_issuer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
        sa.UniqueConstraint("public_id", name=op.f("uq_submission_public_id")),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_achievement_id"), ["achievement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_submission_educator_id"), ["educator_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_submission_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("enrolled_at", UTCDateTime(), nullable=False),
        sa.Column("enrolled_by", sa.String(length=16), nullable=False),
        sa.Column("partner_name", sa.String(length=200), nullable=True),
        sa.Column("partner_email", sa.String(length=320), nullable=True),
        sa.Column("partner_token_hash", sa.String(length=64), nullable=True),
        sa.Column("partner_invited_at", UTCDateTime(), nullable=True),
        sa.Column("partner_confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("partner_note", sa.Text(), nullable=True),
        sa.Column("partner_thanked_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["issued_credential.id"],
            name=op.f("fk_enrolment_credential_id_issued_credential"),
        ),
        sa.ForeignKeyConstraint(
            ["educator_id"], ["educator.id"], name=op.f("fk_enrolment_educator_id_educator")
        ),
        sa.ForeignKeyConstraint(
            ["module_id"], ["module.id"], name=op.f("fk_enrolment_module_id_module")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_enrolment_submission_id_submission")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
        sa.UniqueConstraint("module_id", "educator_id", name=op.f("uq_enrolment_module_id")),
        sa.UniqueConstraint("partner_token_hash", name=op.f("uq_enrolment_partner_token_hash")),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_educator_id"), ["educator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrolment_module_id"), ["module_id"], unique=False)

    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=24), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["staff_account.id"], name=op.f("fk_review_reviewer_id_staff_account")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_review_submission_id_submission")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
    )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "submission_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["portfolio_item.id"],
            name=op.f("fk_submission_item_item_id_portfolio_item"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_submission_item_submission_id_submission"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_item")),
    )
    with op.batch_alter_table("submission_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_item_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_response_enrolment_id_enrolment")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["portfolio_item.id"], name=op.f("fk_response_item_id_portfolio_item")
        ),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompt.id"], name=op.f("fk_response_prompt_id_prompt")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response")),
        sa.UniqueConstraint("enrolment_id", "prompt_id", name=op.f("uq_response_enrolment_id")),
    )
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_response_enrolment_id"), ["enrolment_id"], unique=False
        )

    with op.batch_alter_table("achievement_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rubric", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column(
                "accepts_submissions", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("pathway_required", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("pathway_members", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column(
                "pathway_award_mode",
                sa.String(length=16),
                nullable=False,
                server_default="automatic",
            )
        )

    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("show_on_profile", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.drop_column("show_on_profile")

    with op.batch_alter_table("achievement_version", schema=None) as batch_op:
        batch_op.drop_column("pathway_award_mode")
        batch_op.drop_column("pathway_members")
        batch_op.drop_column("pathway_required")
        batch_op.drop_column("accepts_submissions")
        batch_op.drop_column("rubric")

    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_enrolment_id"))

    op.drop_table("response")
    with op.batch_alter_table("submission_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_item_submission_id"))

    op.drop_table("submission_item")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_submission_id"))

    op.drop_table("review")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_module_id"))
        batch_op.drop_index(batch_op.f("ix_enrolment_educator_id"))

    op.drop_table("enrolment")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_issuer_id"))
        batch_op.drop_index(batch_op.f("ix_submission_educator_id"))
        batch_op.drop_index(batch_op.f("ix_submission_achievement_id"))

    op.drop_table("submission")
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prompt_activity_id"))

    op.drop_table("prompt")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_module_id"))

    op.drop_table("activity")
    with op.batch_alter_table("module", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_module_issuer_id"))
        batch_op.drop_index(batch_op.f("ix_module_achievement_id"))

    op.drop_table("module")
    with op.batch_alter_table("portfolio_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portfolio_item_educator_id"))

    op.drop_table("portfolio_item")
    with op.batch_alter_table("magic_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_magic_link_email"))

    op.drop_table("magic_link")
    with op.batch_alter_table("imported_credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imported_credential_educator_id"))

    op.drop_table("imported_credential")
    with op.batch_alter_table("educator_email", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_educator_email_educator_id"))

    op.drop_table("educator_email")
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_file_sha256"))

    op.drop_table("stored_file")
    op.drop_table("educator")
