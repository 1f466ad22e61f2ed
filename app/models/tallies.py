"""Summary tables kept by database triggers: an issuer's credentials counted by achievement,
version, credit unit, day issued, day of expiry and state (the reports, the dashboard, an
achievement's page and the hours report read these instead of every credential), and the
credentials' activity counted by issuer, achievement, day and kind.

The triggers (on ``issued_credential`` and ``credential_activity``, for PostgreSQL and SQLite)
keep them with every write, whoever makes it: a service, a bulk Core insert, an import, a
deletion, a test changing a date. On PostgreSQL inserted credentials are added up once per
statement (:data:`INSERTED_TRIGGER`), other changes once per row, and each transaction adds
its changes to a shard of its own (:data:`SHARDS`). Migration 0033 installs the triggers and
fills the tables, 0034 makes PostgreSQL's insert trigger a statement trigger, 0035 adds the
shards; :data:`TRIGGERS` installs them for schemas made with ``create_all`` (tests).
"""

# ruff: noqa: S608 - the trigger SQL is built from this module's own constants, no input
from __future__ import annotations

from datetime import date

from sqlalchemy import DDL, Boolean, Date, Float, Index, Integer, SmallInteger, String, event, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base

#: ``expires_day`` of a credential that never expires (a key column cannot be NULL).
NEVER = date(9999, 12, 31)
#: The activity kinds that make a credential "shared" (the dashboard counts them once each).
SHARING_KINDS = ("linkedin", "download")
#: On PostgreSQL a transaction adds its changes to the tally rows of shard ``txid % SHARDS``
#: (signed deltas), and readers sum a key's shards. With a single row per key, every
#: credential of an achievement issued on a day updated the same row, whose lock a bulk chunk
#: then held from its credential insert to its commit: a second worker on the same job queued
#: behind it. Two concurrent transactions now share a row one time in ``SHARDS``. SQLite has
#: one writer at a time: its rows are all shard 0.
SHARDS = 16


class CredentialTally(Base):
    """How many credentials share one key: issuer, achievement and version, credit unit
    (``""``: none stated), the UTC day issued, the UTC day of ``valid_until`` (:data:`NEVER`
    for none), and whether revoked, suspended and claimed; with their credit (the stored
    ``issued_credential.credit``) summed, and how many have no credit or a credit of 0; in
    :data:`SHARDS` rows per key on PostgreSQL, which readers sum."""

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
    #: One of :data:`SHARDS` rows of the key (always 0 on SQLite); a shard's figures can be
    #: negative (a credential counted in one shard, revoked in another): only a key's sum
    #: over its shards means anything.
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False, server_default=text("0")
    )
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

#: The columns of a tally row's key (with ``shard``, its primary key).
TALLY_KEY = (
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
    """The tally key of ``row`` (``NEW`` or ``OLD``) as SQL, in :data:`TALLY_KEY`'s order."""
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
        for column, value in zip(TALLY_KEY, _key_values(row, dialect), strict=True)
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


#: Inserted credentials are added up once per statement, not once per row: a bulk chunk or a
#: batch of API awards is one multi-row INSERT, and a row trigger ran a PL/pgSQL upsert for each
#: of its rows, every one on the same tally row, whose lock was then held until the chunk's
#: commit by each of them in turn (two workers on one job queued there). Ordered by the key so
#: that two statements lock the tally rows they share in the same order.
INSERTED_TRIGGER = (
    "CREATE TRIGGER issued_credential_tally_inserted AFTER INSERT ON issued_credential "
    "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
    "EXECUTE FUNCTION cairn_credential_tally_inserted()"
)


#: PL/pgSQL: the shard this transaction adds to (:data:`SHARDS`).
_SHARD = f"tally_shard smallint := txid_current() % {SHARDS};"
#: The figures a tally row sums (beside its key and shard).
TALLY_SUMS = ("count", "credit_sum", "credit_null", "credit_zero")
#: The conflict target and update of an upsert adding to a shard's row (the triggers', and the
#: fold of past days' shards in ``app/services/awarding/tally_shards.py``).
ADDED_TO_SHARD = f"""ON CONFLICT ({", ".join(TALLY_KEY)}, shard) DO UPDATE SET
        {", ".join(f"{s} = credential_tally.{s} + EXCLUDED.{s}" for s in TALLY_SUMS)}"""


def _inserted_function() -> str:
    """PL/pgSQL: add a statement's inserted credentials to the tally, one upsert per key."""
    columns = ", ".join(TALLY_KEY)
    key = ", ".join(_key_values("inserted", "postgresql"))
    positions = ", ".join(str(n) for n in range(1, len(TALLY_KEY) + 1))
    return f"""
CREATE OR REPLACE FUNCTION cairn_credential_tally_inserted() RETURNS trigger AS $$
DECLARE {_SHARD}
BEGIN
    INSERT INTO credential_tally ({columns}, shard, count, credit_sum, credit_null, credit_zero)
    SELECT {key}, tally_shard, COUNT(*), COALESCE(SUM(inserted.credit), 0),
           SUM(CASE WHEN inserted.credit IS NULL THEN 1 ELSE 0 END),
           SUM(CASE WHEN inserted.credit = 0 THEN 1 ELSE 0 END)
    FROM inserted GROUP BY {positions} ORDER BY {positions}
    {ADDED_TO_SHARD};
    RETURN NULL;
END; $$ LANGUAGE plpgsql"""


def _delta(row: str, sign: str) -> str:
    """``row``'s count, credit, no-credit and zero-credit, added (``""``) or taken away
    (``"-"``), as the VALUES of a shard's upsert."""
    return (
        f"{sign}1, {sign}COALESCE({row}.credit, 0), "
        f"{sign}CASE WHEN {row}.credit IS NULL THEN 1 ELSE 0 END, "
        f"{sign}CASE WHEN {row}.credit = 0 THEN 1 ELSE 0 END"
    )


def _postgresql() -> list[str]:
    columns = ", ".join(TALLY_KEY)
    new_key = ", ".join(_key_values("NEW", "postgresql"))
    old_key = ", ".join(_key_values("OLD", "postgresql"))
    # Taking away is an upsert too: the credential may have been counted in another shard.
    tally_function = f"""
CREATE OR REPLACE FUNCTION cairn_credential_tally() RETURNS trigger AS $$
DECLARE {_SHARD}
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO credential_tally ({columns}, shard, count, credit_sum, credit_null,
                                      credit_zero)
        VALUES ({old_key}, tally_shard, {_delta("OLD", "-")})
        {ADDED_TO_SHARD};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO credential_tally ({columns}, shard, count, credit_sum, credit_null,
                                      credit_zero)
        VALUES ({new_key}, tally_shard, {_delta("NEW", "")})
        {ADDED_TO_SHARD};
    END IF;
    RETURN NULL;
END; $$ LANGUAGE plpgsql"""
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
        _inserted_function(),
        INSERTED_TRIGGER,
        "CREATE TRIGGER issued_credential_tally AFTER DELETE ON issued_credential "
        "FOR EACH ROW EXECUTE FUNCTION cairn_credential_tally()",
        f"CREATE TRIGGER issued_credential_tally_update AFTER UPDATE OF {_WATCHED} "
        f"ON issued_credential FOR EACH ROW WHEN (({old_key}, OLD.credit) IS DISTINCT FROM "
        f"({new_key}, NEW.credit)) EXECUTE FUNCTION cairn_credential_tally()",
        activity_function,
        "CREATE TRIGGER credential_activity_tally AFTER INSERT OR UPDATE OR DELETE "
        "ON credential_activity FOR EACH ROW EXECUTE FUNCTION cairn_activity_tally()",
    ]


def _sqlite() -> list[str]:
    # One writer at a time: every row is shard 0 (the column's default), so a key is matched
    # without it.
    columns = ", ".join(TALLY_KEY)

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
