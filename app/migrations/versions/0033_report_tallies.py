"""Reports at scale: summary tables kept by triggers (credentials by achievement, version,
credit unit, day issued, day of expiry and state; activity by achievement, day and kind), and
each credential's credit stored as columns (read from its document, in batches)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 04:00:00.000000
"""

# ruff: noqa: S608 - the SQL is built from this module's own constants, no input
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

#: Credentials read and updated per batch while their credit is filled in (memory stays flat).
BATCH = 2000
#: ``#credit-<code>`` codes of a credit unit (``credentials.CREDIT_UNITS`` when written).
CREDIT_UNITS = ("clock_hours", "ceu", "points")
CREDIT_RESULT_TYPE = "ext:CreditUnit"


# --- a credential's credit, as app/services/awarding/credit.py read it when this was written


def _number(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _payload(document):
    if document.startswith("{"):
        return json.loads(document)
    from credentials import decode_jwt

    return dict(decode_jwt(document).credential)


def _credit(document):
    """(credit, unit) of a stored document; (None, None) when it cannot be read."""
    try:
        parsed = _payload(document)
    except Exception:  # an unreadable document carries no credit
        return None, None
    subject = parsed.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    earned = _number(subject.get("creditsEarned"))
    credited = earned if earned is not None else _number(achievement.get("creditsAvailable"))
    unit = None
    for description in achievement.get("resultDescription") or []:
        if not isinstance(description, dict):
            continue
        if description.get("resultType") != CREDIT_RESULT_TYPE:
            continue
        code = str(description.get("id") or "").rpartition("#credit-")[2]
        if code in CREDIT_UNITS:
            unit = code
            break
    return credited, unit


# --- the triggers: a copy of app/models/tallies.py's when this was written

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


def _key_values(row: str, dialect: str) -> list[str]:
    """The tally key of ``row`` (``NEW`` or ``OLD``) as SQL expressions, in :data:`_KEY`'s order."""
    if dialect == "postgresql":
        day, never = "{}::date", "DATE '9999-12-31'"
    else:
        day, never = "date({})", "'9999-12-31'"
    return [
        f"{row}.issuer_id",
        f"{row}.achievement_id",
        f"{row}.achievement_version_id",
        f"COALESCE({row}.credit_unit, '')",
        day.format(f"{row}.issued_at"),
        f"COALESCE({day.format(f'{row}.valid_until')}, {never})",
        f"({row}.revoked_at IS NOT NULL)",
        f"({row}.suspended_at IS NOT NULL)",
        f"({row}.claimed_at IS NOT NULL)",
    ]


def _matches(row: str, dialect: str, table: str = "credential_tally") -> str:
    return " AND ".join(
        f"{table}.{column} = {value}"
        for column, value in zip(_KEY, _key_values(row, dialect), strict=True)
    )


def _change(row: str, sign: str) -> str:
    """The SET list adding (``+``) or taking away (``-``) ``row``'s count and credit."""
    return (
        f"count = count {sign} 1, credit_sum = credit_sum {sign} COALESCE({row}.credit, 0), "
        f"credit_null = credit_null {sign} CASE WHEN {row}.credit IS NULL THEN 1 ELSE 0 END, "
        f"credit_zero = credit_zero {sign} CASE WHEN {row}.credit = 0 THEN 1 ELSE 0 END"
    )


#: The credential columns the tally key and sums are made of: an UPDATE of any other column
#: (a name, a document signed again, a notice sent) does not touch the tally.
_WATCHED = (
    "issuer_id, achievement_id, achievement_version_id, credit, credit_unit, issued_at, "
    "valid_until, revoked_at, suspended_at, claimed_at"
)
_SHARING = "('linkedin', 'download')"


def _first_share(row: str, excluding_itself: bool) -> str:
    """1 when ``row`` is a sharing kind and no other sharing row of its credential exists."""
    itself = f" AND NOT (a.day = {row}.day AND a.kind = {row}.kind)" if excluding_itself else ""
    return (
        f"CASE WHEN {row}.kind IN {_SHARING} AND NOT EXISTS (SELECT 1 FROM credential_activity a "
        f"WHERE a.credential_id = {row}.credential_id AND a.kind IN {_SHARING}{itself}) "
        "THEN 1 ELSE 0 END"
    )


def _postgresql() -> list[str]:
    columns = ", ".join(_KEY)
    new_key = ", ".join(_key_values("NEW", "postgresql"))
    tally_function = f"""
CREATE OR REPLACE FUNCTION cairn_credential_tally() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE credential_tally SET {_change("OLD", "-")} WHERE {_matches("OLD", "postgresql")};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO credential_tally ({columns}, count, credit_sum, credit_null, credit_zero)
        VALUES ({new_key}, 1, COALESCE(NEW.credit, 0),
                CASE WHEN NEW.credit IS NULL THEN 1 ELSE 0 END,
                CASE WHEN NEW.credit = 0 THEN 1 ELSE 0 END)
        ON CONFLICT ({columns}) DO UPDATE SET
            count = credential_tally.count + 1,
            credit_sum = credential_tally.credit_sum + EXCLUDED.credit_sum,
            credit_null = credential_tally.credit_null + EXCLUDED.credit_null,
            credit_zero = credential_tally.credit_zero + EXCLUDED.credit_zero;
    END IF;
    RETURN NULL;
END; $$ LANGUAGE plpgsql"""
    old_key = ", ".join(_key_values("OLD", "postgresql"))
    activity_function = f"""
CREATE OR REPLACE FUNCTION cairn_activity_tally() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE activity_tally t SET count = t.count - OLD.count,
            shared = t.shared - CASE WHEN TG_OP = 'DELETE' THEN {_first_share("OLD", False)}
                                     ELSE 0 END
        FROM issued_credential c
        WHERE c.id = OLD.credential_id AND t.issuer_id = c.issuer_id
          AND t.achievement_id = c.achievement_id AND t.day = OLD.day AND t.kind = OLD.kind;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO activity_tally (issuer_id, achievement_id, day, kind, count, shared)
        SELECT c.issuer_id, c.achievement_id, NEW.day, NEW.kind, NEW.count,
               CASE WHEN TG_OP = 'INSERT' THEN {_first_share("NEW", True)} ELSE 0 END
        FROM issued_credential c WHERE c.id = NEW.credential_id
        ON CONFLICT (issuer_id, achievement_id, day, kind) DO UPDATE SET
            count = activity_tally.count + EXCLUDED.count,
            shared = activity_tally.shared + EXCLUDED.shared;
    END IF;
    RETURN NULL;
END; $$ LANGUAGE plpgsql"""
    return [
        tally_function,
        "CREATE TRIGGER issued_credential_tally AFTER INSERT OR DELETE ON issued_credential "
        "FOR EACH ROW EXECUTE FUNCTION cairn_credential_tally()",
        f"CREATE TRIGGER issued_credential_tally_update AFTER UPDATE OF {_WATCHED} "
        f"ON issued_credential FOR EACH ROW WHEN (({old_key}, OLD.credit) IS DISTINCT FROM "
        f"({new_key}, NEW.credit)) EXECUTE FUNCTION cairn_credential_tally()",
        activity_function,
        "CREATE TRIGGER credential_activity_tally AFTER INSERT OR UPDATE OR DELETE "
        "ON credential_activity FOR EACH ROW EXECUTE FUNCTION cairn_activity_tally()",
    ]


def _sqlite() -> list[str]:
    columns = ", ".join(_KEY)

    def add(row: str) -> str:
        key = ", ".join(_key_values(row, "sqlite"))
        # Not INSERT OR IGNORE: a statement that fires a trigger with its own conflict clause
        # (an upsert) imposes that clause on the trigger's statements too.
        return (
            f"INSERT INTO credential_tally ({columns}, count, credit_sum, credit_null, "
            f"credit_zero) SELECT {key}, 0, 0, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM "
            f"credential_tally WHERE {_matches(row, 'sqlite')}); "
            f"UPDATE credential_tally SET {_change(row, '+')} WHERE {_matches(row, 'sqlite')};"
        )

    def take(row: str) -> str:
        return f"UPDATE credential_tally SET {_change(row, '-')} WHERE {_matches(row, 'sqlite')};"

    old_key = ", ".join(_key_values("OLD", "sqlite"))
    new_key = ", ".join(_key_values("NEW", "sqlite"))
    owner = "(SELECT issuer_id, achievement_id FROM issued_credential WHERE id = {}.credential_id)"

    def activity(row: str, sign: str, shared: str) -> str:
        match = (
            f"(activity_tally.issuer_id, activity_tally.achievement_id) = {owner.format(row)} "
            f"AND activity_tally.day = {row}.day AND activity_tally.kind = {row}.kind"
        )
        insert = (
            "INSERT INTO activity_tally (issuer_id, achievement_id, day, kind, count, shared) "
            f"SELECT issuer_id, achievement_id, {row}.day, {row}.kind, 0, 0 "
            f"FROM issued_credential WHERE id = {row}.credential_id AND NOT EXISTS (SELECT 1 "
            f"FROM activity_tally WHERE {match}); "
            if sign == "+"
            else ""
        )
        return (
            f"{insert}UPDATE activity_tally SET count = count {sign} {row}.count, "
            f"shared = shared {sign} {shared} WHERE {match};"
        )

    return [
        f"CREATE TRIGGER issued_credential_tally_insert AFTER INSERT ON issued_credential "
        f"BEGIN {add('NEW')} END",
        f"CREATE TRIGGER issued_credential_tally_delete AFTER DELETE ON issued_credential "
        f"BEGIN {take('OLD')} END",
        f"CREATE TRIGGER issued_credential_tally_update AFTER UPDATE OF {_WATCHED} "
        f"ON issued_credential WHEN ({old_key}, OLD.credit) IS NOT ({new_key}, NEW.credit) "
        f"BEGIN {take('OLD')} {add('NEW')} END",
        "CREATE TRIGGER credential_activity_tally_insert AFTER INSERT ON credential_activity "
        f"BEGIN {activity('NEW', '+', _first_share('NEW', True))} END",
        "CREATE TRIGGER credential_activity_tally_update AFTER UPDATE ON credential_activity "
        f"BEGIN {activity('OLD', '-', '0')} {activity('NEW', '+', '0')} END",
        "CREATE TRIGGER credential_activity_tally_delete AFTER DELETE ON credential_activity "
        f"BEGIN {activity('OLD', '-', _first_share('OLD', False))} END",
    ]


def _fill_credit():
    """Every credential's credit from its document, BATCH at a time in id order."""
    connection = op.get_bind()
    update = sa.text(
        "UPDATE issued_credential SET credit = :credit, credit_unit = :unit WHERE id = :id"
    )
    last = ""
    while True:
        rows = connection.execute(
            sa.text(
                "SELECT id, document FROM issued_credential WHERE id > :last ORDER BY id "
                "LIMIT :batch"
            ),
            {"last": last, "batch": BATCH},
        ).all()
        if not rows:
            return
        changes = []
        for credential_id, document in rows:
            credit, unit = _credit(document)
            if credit is not None or unit is not None:
                changes.append({"id": credential_id, "credit": credit, "unit": unit})
        if changes:
            connection.execute(update, changes)
        last = rows[-1][0]


def _fill_tallies(dialect):
    day, never = (
        ("{}::date", "DATE '9999-12-31'")
        if dialect == "postgresql"
        else ("date({})", "'9999-12-31'")
    )
    issued_day = day.format("issued_at")
    expires_day = f"COALESCE({day.format('valid_until')}, {never})"
    op.execute(
        f"""
INSERT INTO credential_tally ({", ".join(_KEY)}, count, credit_sum, credit_null, credit_zero)
SELECT issuer_id, achievement_id, achievement_version_id, COALESCE(credit_unit, ''),
       {issued_day}, {expires_day},
       revoked_at IS NOT NULL, suspended_at IS NOT NULL, claimed_at IS NOT NULL,
       COUNT(*), COALESCE(SUM(credit), 0),
       SUM(CASE WHEN credit IS NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN credit = 0 THEN 1 ELSE 0 END)
FROM issued_credential
GROUP BY issuer_id, achievement_id, achievement_version_id, COALESCE(credit_unit, ''),
         {issued_day}, {expires_day},
         revoked_at IS NOT NULL, suspended_at IS NOT NULL, claimed_at IS NOT NULL
"""
    )
    op.execute(
        f"""
WITH firsts AS (
    SELECT credential_id, day, kind,
           ROW_NUMBER() OVER (PARTITION BY credential_id ORDER BY day, kind) AS n
    FROM credential_activity WHERE kind IN {_SHARING}
)
INSERT INTO activity_tally (issuer_id, achievement_id, day, kind, count, shared)
SELECT c.issuer_id, c.achievement_id, a.day, a.kind, SUM(a.count),
       SUM(CASE WHEN f.n = 1 THEN 1 ELSE 0 END)
FROM credential_activity a
JOIN issued_credential c ON c.id = a.credential_id
LEFT JOIN firsts f ON f.credential_id = a.credential_id AND f.day = a.day AND f.kind = a.kind
GROUP BY c.issuer_id, c.achievement_id, a.day, a.kind
"""
    )


def upgrade():
    dialect = op.get_bind().dialect.name
    op.add_column("issued_credential", sa.Column("credit", sa.Float(), nullable=True))
    op.add_column("issued_credential", sa.Column("credit_unit", sa.String(16), nullable=True))
    _fill_credit()
    op.create_table(
        "credential_tally",
        sa.Column("issuer_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("achievement_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("achievement_version_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("credit_unit", sa.String(16), nullable=False),
        sa.Column("issued_day", sa.Date(), nullable=False),
        sa.Column("expires_day", sa.Date(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("claimed", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("credit_sum", sa.Float(), nullable=False),
        sa.Column("credit_null", sa.Integer(), nullable=False),
        sa.Column("credit_zero", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_KEY, name=op.f("pk_credential_tally")),
    )
    op.create_table(
        "activity_tally",
        sa.Column("issuer_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("achievement_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "issuer_id", "achievement_id", "day", "kind", name=op.f("pk_activity_tally")
        ),
    )
    op.create_index("ix_credential_tally_issued", "credential_tally", ["issuer_id", "issued_day"])
    op.create_index("ix_credential_tally_expires", "credential_tally", ["issuer_id", "expires_day"])
    op.create_index("ix_activity_tally_day", "activity_tally", ["issuer_id", "day"])
    _fill_tallies(dialect)
    statements = _postgresql() if dialect == "postgresql" else _sqlite()
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS credential_activity_tally ON credential_activity")
        op.execute("DROP TRIGGER IF EXISTS issued_credential_tally ON issued_credential")
        op.execute("DROP TRIGGER IF EXISTS issued_credential_tally_update ON issued_credential")
        op.execute("DROP FUNCTION IF EXISTS cairn_activity_tally()")
        op.execute("DROP FUNCTION IF EXISTS cairn_credential_tally()")
    else:
        for name in (
            "issued_credential_tally_insert",
            "issued_credential_tally_delete",
            "issued_credential_tally_update",
            "credential_activity_tally_insert",
            "credential_activity_tally_update",
            "credential_activity_tally_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("activity_tally")
    op.drop_table("credential_tally")
    op.drop_column("issued_credential", "credit_unit")
    op.drop_column("issued_credential", "credit")
