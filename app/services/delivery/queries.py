"""Reads for the public pages: a credential by its id (the ORM object, or only its stored
text on the fast path), an achievement version, an image (by hash or id), and an issuer page's
counts."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.engine import Engine

from app.extensions import db
from app.models import Achievement, AchievementVersion, Image, IssuedCredential, Issuer
from app.services._core.errors import NotFound


def credential(credential_id: str) -> IssuedCredential:
    """The credential with this id.

    :raises NotFound: when there is none.
    """
    found = find_credential(credential_id)
    if found is None:
        raise NotFound("There is no such credential.")
    return found


def find_credential(credential_id: str) -> IssuedCredential | None:
    """The credential with this id, if there is one."""
    return db.session.get(IssuedCredential, credential_id)


#: Only what serving the stored credential needs, by id: no ORM object, no session.
_TABLE = cast(Table, IssuedCredential.__table__)
_STORED = select(_TABLE.c.document, _TABLE.c.proof_format).where(_TABLE.c.id == bindparam("id"))


@dataclass(frozen=True)
class Stored:
    """A credential as stored: the exact text that was signed, and its proof format."""

    document: str
    proof_format: str


def stored(credential_id: str) -> Stored | None:
    """The stored credential with this id, read with one Core query on a pooled connection
    (loading the ORM object through a session cost four times as much)."""
    with db.engine.connect() as connection:
        row = connection.execute(_STORED, {"id": credential_id}).first()
    return None if row is None else Stored(row.document, row.proof_format)


def stored_raw(credential_id: str, engine: Engine) -> Stored | None:
    """:func:`stored` for the fast lane (app/public/documents.py), outside any application
    context: the same statement, compiled once per engine and run on the driver's own cursor
    of a pooled connection, without SQLAlchemy's per-execution work (a third of the read).
    The columns are plain text, which both drivers return as ``str`` unprocessed.

    :raises Exception: whatever the pool or the driver raises (the caller falls back).
    """
    sql, positional = _compiled(engine)
    params: Any = (credential_id,) if positional else {"id": credential_id}
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        finally:
            cursor.close()
    except Exception:
        connection.invalidate()  # never handed out again: the next use opens a new one
        raise
    finally:
        connection.close()  # back to the pool
    return None if row is None else Stored(str(row[0]), str(row[1]))


@functools.cache
def _compiled(engine: Engine) -> tuple[str, bool]:
    compiled = _STORED.compile(dialect=engine.dialect)
    if compiled.positional and list(compiled.positiontup or ()) != ["id"]:
        raise AssertionError(f"unexpected parameters: {compiled.positiontup}")
    if not compiled.positional and set(compiled.binds) != {"id"}:
        raise AssertionError(f"unexpected parameters: {list(compiled.binds)}")
    return compiled.string, compiled.positional


def awarded_counts(issuer: Issuer) -> dict[int, int]:
    """Per achievement id: how many of the issuer's credentials stand (all but the revoked)."""
    rows = db.session.execute(
        select(IssuedCredential.achievement_id, func.count())
        .where(IssuedCredential.issuer_id == issuer.id, IssuedCredential.revoked_at.is_(None))
        .group_by(IssuedCredential.achievement_id)
    )
    return {achievement_id: number for achievement_id, number in rows}


def achievement_version(
    public_id: str, number: int | None
) -> tuple[Achievement, AchievementVersion]:
    """An achievement and one of its versions (``None``: the current one).

    :raises NotFound: when there is no such achievement or version.
    """
    achievement = db.session.scalar(select(Achievement).where(Achievement.public_id == public_id))
    if achievement is None:
        raise NotFound("There is no such achievement.")
    wanted = number if number is not None else achievement.current_version
    version = db.session.scalar(
        select(AchievementVersion).where(
            AchievementVersion.achievement_id == achievement.id,
            AchievementVersion.version == wanted,
        )
    )
    if version is None:
        raise NotFound("There is no such version of this achievement.")
    return achievement, version


def image(sha256: str) -> Image | None:
    """The stored image with this content hash, if any."""
    return db.session.scalar(select(Image).where(Image.sha256 == sha256))


def stored_image(image_id: int) -> Image | None:
    """The stored image with this id, if any."""
    return db.session.get(Image, image_id)
