"""Folding the report tally's shards: on PostgreSQL each transaction adds to one of
``tallies.SHARDS`` rows per key (so concurrent writers do not queue on one row), which would
leave a key up to that many rows for every reader to sum; the workers' maintenance folds the
shards of past days into shard 0, so only the days still being written stay spread out."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models.tallies import ADDED_TO_SHARD, TALLY_KEY, TALLY_SUMS

#: Rows folded per transaction (each commits: no long lock on the tally).
BATCH = 5000

_COLUMNS = ", ".join(TALLY_KEY)
# The rows are taken with SKIP LOCKED: a row a writer holds now is folded by a later round.
_FOLD = text(
    f"""
WITH picked AS (
    SELECT ctid FROM credential_tally WHERE shard <> 0 AND issued_day < :before
    LIMIT :batch FOR UPDATE SKIP LOCKED
), moved AS (
    DELETE FROM credential_tally t USING picked WHERE t.ctid = picked.ctid
    RETURNING {", ".join(f"t.{c}" for c in (*TALLY_KEY, *TALLY_SUMS))}
), folded AS (
    INSERT INTO credential_tally ({_COLUMNS}, shard, {", ".join(TALLY_SUMS)})
    SELECT {_COLUMNS}, 0, {", ".join(f"SUM({s})" for s in TALLY_SUMS)}
    FROM moved GROUP BY {_COLUMNS} ORDER BY {_COLUMNS}
    {ADDED_TO_SHARD}
)
SELECT count(*) FROM moved
"""  # noqa: S608 - built from this module's and the model's constants, no input
)


def fold(before: date, *, batch: int = BATCH) -> int:
    """Fold the shards of the tally rows of credentials issued before ``before`` into shard 0
    (each key's sums unchanged); the number of rows folded away. Nothing on SQLite (one
    shard). Gives up a batch rather than wait for a lock: a writer waiting on the fold must
    never be the one a deadlock check cancels."""
    if db.session.get_bind().dialect.name != "postgresql":
        return 0
    folded = 0
    while True:
        try:
            db.session.execute(text("SET LOCAL lock_timeout = '100ms'"))
            moved = int(db.session.scalar(_FOLD, {"before": before, "batch": batch}) or 0)
            db.session.commit()
        except OperationalError:  # a lock not granted in time: the next round folds it
            db.session.rollback()
            return folded
        folded += moved
        if moved < batch:
            return folded
