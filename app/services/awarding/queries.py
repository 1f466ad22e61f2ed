"""Reads of an issuer's credentials: the workspace search (filters and paging), what one
credential replaced, and the per-achievement counts of the reports (from the credential tally,
:mod:`app.models.tallies`), all by the one status definition of
:class:`~app.models.IssuedCredential`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    CREDENTIAL_STATUSES,
    Achievement,
    AuditEvent,
    CredentialStatus,
    CredentialTally,
    IssuedCredential,
    Issuer,
)
from app.models.types import UTCDateTime
from app.services.org.achievements import list_for

#: The report's columns: every credential issued, then how many are in each status.
COUNTS: tuple[str, ...] = ("issued", *CREDENTIAL_STATUSES)


@dataclass(frozen=True)
class Search:
    """What the credentials list is narrowed to: part of a recipient's email or name, the
    achievements (by id), a status, and whether the recipient claimed it; for the API also an
    exact (normalised) recipient address, issued in ``[issued_from, issued_before)``, and
    changed (issued, or anything about it in the audit log) at or after ``updated_since``.
    Empty or ``None`` means any."""

    text: str = ""
    achievement_ids: tuple[int, ...] | None = None
    status: CredentialStatus | None = None
    claimed: bool | None = None
    recipient_email: str | None = None
    issued_from: datetime | None = None
    issued_before: datetime | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """A place in the list (newest first, then by id, descending): the last credential of one
    page or the first of the next. Paging by it reads only the rows shown, however deep the
    page (OFFSET reads and throws away every row before it)."""

    issued_at: datetime
    id: str

    _TEXT = re.compile(r"([0-9]{1,17})_([0-9a-f-]{36})")
    _EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

    def encode(self) -> str:
        """The cursor for a URL: microseconds since 1970 and the id."""
        moment = self.issued_at - self._EPOCH
        return f"{moment // timedelta(microseconds=1)}_{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor a URL carries, or ``None`` when there is none or it is not one."""
        found = cls._TEXT.fullmatch(text or "")
        if found is None:
            return None
        return cls(cls._EPOCH + timedelta(microseconds=int(found.group(1))), found.group(2))

    @classmethod
    def of(cls, credential: IssuedCredential) -> Cursor:
        """The cursor at ``credential``."""
        return cls(credential.issued_at, credential.id)


@dataclass(frozen=True)
class Page:
    """One page of a search's results, newest first (then by id, descending), and how many
    there are in all (with ``capped``, at least that many: counting stopped there).
    ``older``/``newer`` say whether rows follow or precede this page."""

    credentials: list[IssuedCredential]
    total: int
    page: int
    pages: int
    capped: bool = False
    older: bool = False
    newer: bool = False


def with_status(query: Select[Any], status: CredentialStatus | None, now: datetime) -> Select[Any]:
    """``query`` narrowed to credentials with ``status`` at ``now`` (all of them for ``None``).

    The same definition as :meth:`IssuedCredential.status_sql`, spelled as plain conditions on
    the columns rather than a CASE: a database can then use an index for them (the partial
    indexes on revoked and suspended credentials), where a CASE makes it test every row."""
    if status is None:
        return query
    revoked, suspended = IssuedCredential.revoked_at, IssuedCredential.suspended_at
    valid_until = IssuedCredential.valid_until
    if status == "revoked":
        return query.where(revoked.is_not(None))
    query = query.where(revoked.is_(None))
    if status == "suspended":
        return query.where(suspended.is_not(None))
    query = query.where(suspended.is_(None))
    if status == "expired":
        return query.where(valid_until.is_not(None), valid_until < now)
    return query.where(or_(valid_until.is_(None), valid_until >= now))


def _count(query: Select[Any], up_to: int | None) -> int:
    """How many rows ``query`` finds; with ``up_to``, counting stops after ``up_to + 1``."""
    if up_to is not None:
        query = query.limit(up_to + 1)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _rows(page: Select[Any], order: tuple[Any, ...]) -> list[IssuedCredential]:
    """The credentials ``page`` (ordered, limited) selects, found in two steps: first their
    ids, then the rows by primary key.

    The first step needs only the columns the list's index holds (with the status columns it
    includes on PostgreSQL), so a filter that skips many rows, such as "expired" (most of a
    large issuer's credentials, but none of its newest third), or a deep OFFSET tests them
    in the index; selecting whole rows there would fetch each skipped row's wide heap tuple
    (its signed document) just to test it."""
    ids = page.with_only_columns(IssuedCredential.id).scalar_subquery()
    rows = (
        select(IssuedCredential)
        .where(IssuedCredential.id.in_(ids))
        .order_by(*order)
        .options(selectinload(IssuedCredential.achievement_version))
    )
    return list(db.session.scalars(rows))


def search(
    issuer: Issuer,
    wanted: Search,
    now: datetime,
    *,
    page: int,
    page_size: int,
    offset: int | None = None,
    after: Cursor | None = None,
    before: Cursor | None = None,
    count_up_to: int | None = None,
) -> Page:
    """The issuer's credentials matching ``wanted``, page ``page`` (from 1) of ``page_size``;
    or, with ``offset``, the ``page_size`` from that one on (the API's limit and offset); or the
    ``page_size`` right after the cursor ``after`` (older) or right before ``before`` (newer),
    read through the list's index however deep they are (``page`` is then only a label).

    ``count_up_to`` stops counting there (the page says ``capped``): counting every match of
    a million credentials costs more than the page itself, and "10,000+" says enough."""
    query = select(IssuedCredential).where(IssuedCredential.issuer_id == issuer.id)
    if wanted.text:
        # ILIKE on PostgreSQL (which its trigram indexes answer), lower() LIKE lower() on SQLite.
        term = wanted.text.lower()
        query = query.where(
            or_(
                IssuedCredential.recipient_email.icontains(term, autoescape=True),
                IssuedCredential.recipient_name.icontains(term, autoescape=True),
            )
        )
    if wanted.achievement_ids is not None:
        query = query.where(IssuedCredential.achievement_id.in_(wanted.achievement_ids))
    query = with_status(query, wanted.status, now)
    if wanted.claimed is not None:
        claimed_at = IssuedCredential.claimed_at
        query = query.where(claimed_at.is_not(None) if wanted.claimed else claimed_at.is_(None))
    if wanted.recipient_email is not None:
        query = query.where(IssuedCredential.recipient_email == wanted.recipient_email)
    if wanted.issued_from is not None:
        query = query.where(IssuedCredential.issued_at >= wanted.issued_from)
    if wanted.issued_before is not None:
        query = query.where(IssuedCredential.issued_at < wanted.issued_before)
    if wanted.updated_since is not None:
        # Changed: issued since, or anything recorded about it since in the audit log (a
        # revocation, a suspension and its lifting, a claim, a visibility change...). The log
        # is read by time first (its created_at index), then narrowed to this issuer's
        # credentials.
        since = wanted.updated_since
        audited = select(AuditEvent.subject_id).where(
            AuditEvent.created_at >= since,
            AuditEvent.issuer_id == issuer.id,
            AuditEvent.subject_type == "credential",
        )
        query = query.where(
            or_(IssuedCredential.issued_at >= since, IssuedCredential.id.in_(audited))
        )
    total = _count(query, count_up_to)
    capped = count_up_to is not None and total > count_up_to
    total = min(total, count_up_to) if count_up_to is not None else total
    # The list's order: newest first, then by id (descending too, so that one index read
    # backwards gives it). A cursor compares as a row value, which bounds the index scan.
    place = tuple_(IssuedCredential.issued_at, IssuedCredential.id)
    newest_first = (IssuedCredential.issued_at.desc(), IssuedCredential.id.desc())
    if after is not None:
        query = query.where(place < tuple_(literal(after.issued_at, UTCDateTime()), after.id))
        found = _rows(query.order_by(*newest_first).limit(page_size + 1), newest_first)
        older, newer = len(found) > page_size, True
        found = found[:page_size]
    elif before is not None:
        query = query.where(place > tuple_(literal(before.issued_at, UTCDateTime()), before.id))
        # Read forwards from the cursor, then put the page in the list's order.
        oldest_first = (IssuedCredential.issued_at, IssuedCredential.id)
        found = _rows(query.order_by(*oldest_first).limit(page_size + 1), oldest_first)
        older, newer = True, len(found) > page_size
        found = found[:page_size][::-1]
    else:
        found = _rows(
            query.order_by(*newest_first)
            .offset((page - 1) * page_size if offset is None else offset)
            .limit(page_size + 1),
            newest_first,
        )
        older, newer = len(found) > page_size, page > 1 or bool(offset)
        found = found[:page_size]
    pages = max(1, -(-total // page_size))
    return Page(found, total, page, pages, capped=capped, older=older, newer=newer)


def replaced_by(credential: IssuedCredential) -> list[IssuedCredential]:
    """The credentials of the same issuer that ``credential`` replaced (corrected)."""
    return list(
        db.session.scalars(
            select(IssuedCredential).where(
                IssuedCredential.issuer_id == credential.issuer_id,
                IssuedCredential.replaced_by_id == credential.id,
            )
        )
    )


def _tally(
    issuer_id: int, now: datetime, achievement_id: int | None = None
) -> dict[int, dict[str, int]]:
    """Per achievement id (of one issuer, or only ``achievement_id``): how many credentials are
    in each status at ``now``, and how many were issued.

    Read from the credential tally, whose rows count whole days of expiry; only the day ``now``
    falls in is split, by counting its credentials that expired earlier that day through the
    ``valid_until`` index. The same definition as :meth:`IssuedCredential.status_sql`."""
    tally = CredentialTally
    today = now.astimezone(UTC).date()
    live = and_(tally.revoked.is_(False), tally.suspended.is_(False))
    where = [tally.issuer_id == issuer_id]
    if achievement_id is not None:
        where.append(tally.achievement_id == achievement_id)
    tallies: dict[int, dict[str, int]] = {}
    for found, issued, revoked, suspended, expired in db.session.execute(
        select(
            tally.achievement_id,
            func.sum(tally.count),
            func.sum(case((tally.revoked, tally.count), else_=0)),
            func.sum(case((and_(tally.revoked.is_(False), tally.suspended), tally.count), else_=0)),
            func.sum(case((and_(live, tally.expires_day < today), tally.count), else_=0)),
        )
        .where(*where)
        .group_by(tally.achievement_id)
    ):
        tallies[found] = {
            "issued": int(issued or 0),
            "revoked": int(revoked or 0),
            "suspended": int(suspended or 0),
            "expired": int(expired or 0),
        }
    credential = IssuedCredential
    start_of_today = datetime.combine(today, time.min, tzinfo=UTC)
    earlier_today = (
        select(credential.achievement_id, func.count())
        .where(
            credential.issuer_id == issuer_id,
            credential.valid_until >= start_of_today,
            credential.valid_until < now,
            credential.revoked_at.is_(None),
            credential.suspended_at.is_(None),
        )
        .group_by(credential.achievement_id)
    )
    if achievement_id is not None:
        earlier_today = earlier_today.where(credential.achievement_id == achievement_id)
    for found, number in db.session.execute(earlier_today):
        tallies[found]["expired"] += number
    for tally_of in tallies.values():
        tally_of["valid"] = tally_of["issued"] - sum(
            tally_of[status] for status in ("revoked", "suspended", "expired")
        )
    return {found: {name: tally_of[name] for name in COUNTS} for found, tally_of in tallies.items()}


def counts(achievement: Achievement, now: datetime) -> dict[str, int]:
    """An achievement's credentials: how many were issued, and how many are in each status."""
    tallies = _tally(achievement.issuer_id, now, achievement.id)
    return tallies.get(achievement.id, dict.fromkeys(COUNTS, 0))


def report(issuer: Issuer, now: datetime) -> list[dict[str, Any]]:
    """Per achievement (archived ones too), by name: the achievement, its current version and
    its :func:`counts`."""
    tallies = _tally(issuer.id, now)
    return [
        {
            "achievement": achievement,
            "version": version,
            **tallies.get(achievement.id, dict.fromkeys(COUNTS, 0)),
        }
        for achievement, version in list_for(issuer, include_archived=True)
    ]


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The sum of each count over the report's rows."""
    return {name: sum(int(row[name]) for row in rows) for name in COUNTS}
