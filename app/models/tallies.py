"""Summary tables kept by database triggers: an issuer's credentials counted by achievement,
version, credit unit, day issued, day of expiry and state (the reports, the dashboard, an
achievement's page and the hours report read these instead of every credential), and the
credentials' activity counted by issuer, achievement, day and kind.

The triggers (on ``issued_credential`` and ``credential_activity``, for PostgreSQL and SQLite)
keep them with every write, whoever makes it: a service, a bulk Core insert, an import, a
deletion, a test changing a date. Migration 0033 installs the same triggers and fills the
tables; :data:`TRIGGERS` installs them for schemas made with ``create_all`` (tests).
"""

# ruff: noqa: S608 - the trigger SQL is built from this module's own constants, no input
from __future__ import annotations

from datetime import date

from sqlalchemy import DDL, Boolean, Date, Float, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base

#: ``expires_day`` of a credential that never expires (a key column cannot be NULL).
NEVER = date(9999, 12, 31)
#: The activity kinds that make a credential "shared" (the dashboard counts them once each).
SHARING_KINDS = ("linkedin", "download")


class CredentialTally(Base):
    """How many credentials share one key: issuer, achievement and version, credit unit
    (``""``: none stated), the UTC day issued, the UTC day of ``valid_until`` (:data:`NEVER`
    for none), and whether revoked, suspended and claimed; with their credit (the stored
    ``issued_credential.credit``) summed, and how many have no credit or a credit of 0."""

    __tablename__ = "credential_tally"
    # An issuer's days (the dashboard's weeks, the hours report's range) and expiries (the
    # dashboard's "expiring soon") without reading its whole tally.
    __table_args__ = (
        Index("ix_credential_tally_issued", "issuer_id", "issued_day"),
        Index("ix_credential_tally_expires", "issuer_id", "expires_day"),
    )

    issuer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    achievement_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    achievement_version_id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False
    )
    credit_unit: Mapped[str] = mapped_column(String(16), primary_key=True)
    issued_day: Mapped[date] = mapped_column(Date, primary_key=True)
    expires_day: Mapped[date] = mapped_column(Date, primary_key=True)
    revoked: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    suspended: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    claimed: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    credit_sum: Mapped[float] = mapped_column(Float, default=0.0)
    credit_null: Mapped[int] = mapped_column(Integer, default=0)
    credit_zero: Mapped[int] = mapped_column(Integer, default=0)


class ActivityTally(Base):
    """The activity counts (``credential_activity.count``) of an issuer's credentials of one
    achievement on one day and of one kind; ``shared`` counts the credentials whose first
    LinkedIn or download row this one was (summed over an issuer: credentials shared)."""

    __tablename__ = "activity_tally"
    #: The dashboard's daily views since a day.
    __table_args__ = (Index("ix_activity_tally_day", "issuer_id", "day"),)

    issuer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    achievement_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    shared: Mapped[int] = mapped_column(Integer, default=0)


# --- the triggers ----------------------------------------------------------------------------
# Migration 0033 holds a copy of these statements (a migration must not change when this does).

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


#: The statements that install the triggers, per dialect.
TRIGGERS: dict[str, list[str]] = {"postgresql": _postgresql(), "sqlite": _sqlite()}

for _dialect, _statements in TRIGGERS.items():
    for _statement in _statements:
        _ddl = DDL(_statement.replace("%", "%%")).execute_if(dialect=_dialect)  # type: ignore[no-untyped-call]
        event.listen(Base.metadata, "after_create", _ddl)
