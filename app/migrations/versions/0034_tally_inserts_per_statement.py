"""PostgreSQL: inserted credentials added to ``credential_tally`` once per statement (a
transition table), not once per row; deletions and updates keep their row triggers

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 08:00:00.000000
"""

# ruff: noqa: S608 - the SQL is built from this module's own constants, no input

from alembic import op

# revision identifiers, used by Alembic.
revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

# A copy of app/models/tallies.py's key when this was written.
_KEY = (
    "issuer_id",
    "achievement_id",
    "achievement_version_id",
    "credit_unit",
    "issued_day",
    "expires_day",
    "revoked",
    "suspended",
    "claimed",
)
_KEY_VALUES = (
    "inserted.issuer_id",
    "inserted.achievement_id",
    "inserted.achievement_version_id",
    "COALESCE(inserted.credit_unit, '')",
    "inserted.issued_at::date",
    "COALESCE(inserted.valid_until::date, DATE '9999-12-31')",
    "(inserted.revoked_at IS NOT NULL)",
    "(inserted.suspended_at IS NOT NULL)",
    "(inserted.claimed_at IS NOT NULL)",
)


def _inserted_function():
    columns = ", ".join(_KEY)
    positions = ", ".join(str(n) for n in range(1, len(_KEY) + 1))
    return f"""
CREATE OR REPLACE FUNCTION cairn_credential_tally_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO credential_tally ({columns}, count, credit_sum, credit_null, credit_zero)
    SELECT {", ".join(_KEY_VALUES)}, COUNT(*), COALESCE(SUM(inserted.credit), 0),
           SUM(CASE WHEN inserted.credit IS NULL THEN 1 ELSE 0 END),
           SUM(CASE WHEN inserted.credit = 0 THEN 1 ELSE 0 END)
    FROM inserted GROUP BY {positions} ORDER BY {positions}
    ON CONFLICT ({columns}) DO UPDATE SET
        count = credential_tally.count + EXCLUDED.count,
        credit_sum = credential_tally.credit_sum + EXCLUDED.credit_sum,
        credit_null = credential_tally.credit_null + EXCLUDED.credit_null,
        credit_zero = credential_tally.credit_zero + EXCLUDED.credit_zero;
    RETURN NULL;
END; $$ LANGUAGE plpgsql"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has row triggers only: nothing changes there
    # One transaction (Alembic's): no insert falls between the two triggers.
    op.execute(_inserted_function())
    op.execute("DROP TRIGGER IF EXISTS issued_credential_tally ON issued_credential")
    op.execute(
        "CREATE TRIGGER issued_credential_tally AFTER DELETE ON issued_credential "
        "FOR EACH ROW EXECUTE FUNCTION cairn_credential_tally()"
    )
    op.execute(
        "CREATE TRIGGER issued_credential_tally_inserted AFTER INSERT ON issued_credential "
        "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
        "EXECUTE FUNCTION cairn_credential_tally_inserted()"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS issued_credential_tally_inserted ON issued_credential")
    op.execute("DROP TRIGGER IF EXISTS issued_credential_tally ON issued_credential")
    op.execute(
        "CREATE TRIGGER issued_credential_tally AFTER INSERT OR DELETE ON issued_credential "
        "FOR EACH ROW EXECUTE FUNCTION cairn_credential_tally()"
    )
    op.execute("DROP FUNCTION IF EXISTS cairn_credential_tally_inserted()")
