"""Report tallies in shards on PostgreSQL: each transaction adds its changes to one of 16 rows
per key (``txid % 16``, signed deltas), so two bulk workers no longer queue on one tally row's
lock from a chunk's credential insert to its commit; SQLite's rows are all shard 0

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 11:00:00.000000
"""

# ruff: noqa: S608 - the SQL is built from this module's own constants, no input

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

# --- copies of app/models/tallies.py's when this was written

SHARDS = 16
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
_COLUMNS = ", ".join(_KEY)
_POSITIONS = ", ".join(str(n) for n in range(1, len(_KEY) + 1))


def _key_values(row):
    return [
        f"{row}.issuer_id",
        f"{row}.achievement_id",
        f"{row}.achievement_version_id",
        f"COALESCE({row}.credit_unit, '')",
        f"{row}.issued_at::date",
        f"COALESCE({row}.valid_until::date, DATE '9999-12-31')",
        f"({row}.revoked_at IS NOT NULL)",
        f"({row}.suspended_at IS NOT NULL)",
        f"({row}.claimed_at IS NOT NULL)",
    ]


def _key(row):
    return ", ".join(_key_values(row))


_SHARD = f"tally_shard smallint := txid_current() % {SHARDS};"
_ADDED = f"""ON CONFLICT ({_COLUMNS}, shard) DO UPDATE SET
        count = credential_tally.count + EXCLUDED.count,
        credit_sum = credential_tally.credit_sum + EXCLUDED.credit_sum,
        credit_null = credential_tally.credit_null + EXCLUDED.credit_null,
        credit_zero = credential_tally.credit_zero + EXCLUDED.credit_zero"""


def _delta(row, sign):
    return (
        f"{sign}1, {sign}COALESCE({row}.credit, 0), "
        f"{sign}CASE WHEN {row}.credit IS NULL THEN 1 ELSE 0 END, "
        f"{sign}CASE WHEN {row}.credit = 0 THEN 1 ELSE 0 END"
    )


SHARDED_INSERTED = f"""
CREATE OR REPLACE FUNCTION cairn_credential_tally_inserted() RETURNS trigger AS $$
DECLARE {_SHARD}
BEGIN
    INSERT INTO credential_tally ({_COLUMNS}, shard, count, credit_sum, credit_null, credit_zero)
    SELECT {_key("inserted")}, tally_shard, COUNT(*), COALESCE(SUM(inserted.credit), 0),
           SUM(CASE WHEN inserted.credit IS NULL THEN 1 ELSE 0 END),
           SUM(CASE WHEN inserted.credit = 0 THEN 1 ELSE 0 END)
    FROM inserted GROUP BY {_POSITIONS} ORDER BY {_POSITIONS}
    {_ADDED};
    RETURN NULL;
END; $$ LANGUAGE plpgsql"""

SHARDED_ROW = f"""
CREATE OR REPLACE FUNCTION cairn_credential_tally() RETURNS trigger AS $$
DECLARE {_SHARD}
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO credential_tally ({_COLUMNS}, shard, count, credit_sum, credit_null,
                                      credit_zero)
        VALUES ({_key("OLD")}, tally_shard, {_delta("OLD", "-")})
        {_ADDED};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO credential_tally ({_COLUMNS}, shard, count, credit_sum, credit_null,
                                      credit_zero)
        VALUES ({_key("NEW")}, tally_shard, {_delta("NEW", "")})
        {_ADDED};
    END IF;
    RETURN NULL;
END; $$ LANGUAGE plpgsql"""

# --- the functions before (0033's row function, 0034's statement function), for downgrade

_UNSHARDED_ADDED = f"""ON CONFLICT ({_COLUMNS}) DO UPDATE SET
        count = credential_tally.count + EXCLUDED.count,
        credit_sum = credential_tally.credit_sum + EXCLUDED.credit_sum,
        credit_null = credential_tally.credit_null + EXCLUDED.credit_null,
        credit_zero = credential_tally.credit_zero + EXCLUDED.credit_zero"""
_OLD_MATCHES = " AND ".join(
    f"credential_tally.{column} = {value}"
    for column, value in zip(_KEY, _key_values("OLD"), strict=True)
)
UNSHARDED_INSERTED = f"""
CREATE OR REPLACE FUNCTION cairn_credential_tally_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO credential_tally ({_COLUMNS}, count, credit_sum, credit_null, credit_zero)
    SELECT {_key("inserted")}, COUNT(*), COALESCE(SUM(inserted.credit), 0),
           SUM(CASE WHEN inserted.credit IS NULL THEN 1 ELSE 0 END),
           SUM(CASE WHEN inserted.credit = 0 THEN 1 ELSE 0 END)
    FROM inserted GROUP BY {_POSITIONS} ORDER BY {_POSITIONS}
    {_UNSHARDED_ADDED};
    RETURN NULL;
END; $$ LANGUAGE plpgsql"""
UNSHARDED_ROW = f"""
CREATE OR REPLACE FUNCTION cairn_credential_tally() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE credential_tally SET count = count - 1,
            credit_sum = credit_sum - COALESCE(OLD.credit, 0),
            credit_null = credit_null - CASE WHEN OLD.credit IS NULL THEN 1 ELSE 0 END,
            credit_zero = credit_zero - CASE WHEN OLD.credit = 0 THEN 1 ELSE 0 END
        WHERE {_OLD_MATCHES};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO credential_tally ({_COLUMNS}, count, credit_sum, credit_null, credit_zero)
        VALUES ({_key("NEW")}, 1, COALESCE(NEW.credit, 0),
                CASE WHEN NEW.credit IS NULL THEN 1 ELSE 0 END,
                CASE WHEN NEW.credit = 0 THEN 1 ELSE 0 END)
        ON CONFLICT ({_COLUMNS}) DO UPDATE SET
            count = credential_tally.count + 1,
            credit_sum = credential_tally.credit_sum + EXCLUDED.credit_sum,
            credit_null = credential_tally.credit_null + EXCLUDED.credit_null,
            credit_zero = credential_tally.credit_zero + EXCLUDED.credit_zero;
    END IF;
    RETURN NULL;
END; $$ LANGUAGE plpgsql"""


def _sqlite_rebuild(change):
    """Rebuild ``credential_tally`` on SQLite (a primary key changes only so). Its rename
    back would otherwise refuse: the triggers on ``issued_credential`` name the table, which
    does not exist for that moment; the legacy rename leaves them alone, and they find the
    new table by its name."""
    op.execute("PRAGMA legacy_alter_table = ON")
    with op.batch_alter_table("credential_tally", recreate="always") as batch:
        change(batch)
    op.execute("PRAGMA legacy_alter_table = OFF")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # One transaction (Alembic's), and ALTER TABLE locks the table: no change is counted
        # between the old functions and the new ones.
        op.execute("ALTER TABLE credential_tally ADD COLUMN shard SMALLINT DEFAULT 0 NOT NULL")
        op.execute("ALTER TABLE credential_tally DROP CONSTRAINT pk_credential_tally")
        op.execute(
            "ALTER TABLE credential_tally ADD CONSTRAINT pk_credential_tally "
            f"PRIMARY KEY ({_COLUMNS}, shard)"
        )
        op.execute(SHARDED_ROW)
        op.execute(SHARDED_INSERTED)
        return

    def add_shard(batch):
        batch.add_column(
            sa.Column("shard", sa.SmallInteger(), server_default=sa.text("0"), nullable=False)
        )
        batch.drop_constraint("pk_credential_tally", type_="primary")
        batch.create_primary_key("pk_credential_tally", [*_KEY, "shard"])

    _sqlite_rebuild(add_shard)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Each key's shards summed into shard 0, then the column goes.
        op.execute(
            f"CREATE TEMPORARY TABLE merged_tally ON COMMIT DROP AS SELECT {_COLUMNS}, "
            "SUM(count) AS count, SUM(credit_sum) AS credit_sum, SUM(credit_null) AS "
            f"credit_null, SUM(credit_zero) AS credit_zero FROM credential_tally "
            f"GROUP BY {_COLUMNS}"
        )
        op.execute("DELETE FROM credential_tally")
        op.execute(
            f"INSERT INTO credential_tally ({_COLUMNS}, count, credit_sum, credit_null, "
            f"credit_zero) SELECT {_COLUMNS}, count, credit_sum, credit_null, credit_zero "
            "FROM merged_tally"
        )
        op.execute("ALTER TABLE credential_tally DROP CONSTRAINT pk_credential_tally")
        op.execute("ALTER TABLE credential_tally DROP COLUMN shard")
        op.execute(
            f"ALTER TABLE credential_tally ADD CONSTRAINT pk_credential_tally PRIMARY KEY "
            f"({_COLUMNS})"
        )
        op.execute(UNSHARDED_ROW)
        op.execute(UNSHARDED_INSERTED)
        return

    def drop_shard(batch):
        batch.drop_constraint("pk_credential_tally", type_="primary")
        batch.drop_column("shard")
        batch.create_primary_key("pk_credential_tally", list(_KEY))

    _sqlite_rebuild(drop_shard)
