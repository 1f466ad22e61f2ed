"""Reads of an issuer's credentials: the workspace search (filters and paging), what one
credential replaced, and the per-achievement counts of the reports (from the credential tally,
:mod:`app.models.tallies`), all by the one status definition of
:class:`~app.models.IssuedCredential`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased, selectinload

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


def _count(branches: list[Select[Any]], up_to: int | None) -> int:
    """How many rows the ``branches`` (disjoint) find; with ``up_to``, counting stops after
    ``up_to + 1``. Several are counted as one ``UNION ALL``, which reads them in turn: a capped
    count that the first fills never runs the second."""
    if len(branches) == 1:
        query: Any = branches[0].with_only_columns(IssuedCredential.id)
    else:
        query = union_all(*(b.with_only_columns(IssuedCredential.id) for b in branches))
    if up_to is not None:
        query = query.limit(up_to + 1)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _rows(
    query: Select[Any], newest_first: bool, offset: int, limit: int
) -> list[IssuedCredential]:
    """The ``limit`` credentials from ``offset`` on that ``query`` finds, in the list's order
    (``newest_first``) or its reverse, found in two steps: first their ids, then the rows by
    primary key.

    The first step needs only the columns the list's index holds (with the status columns it
    includes on PostgreSQL), so a filter that skips many rows, such as "expired" (most of a
    large issuer's credentials, but none of its newest third), or a deep OFFSET tests them
    in the index; selecting whole rows there would fetch each skipped row's wide heap tuple
    (its signed document) just to test it."""
    order: tuple[Any, ...] = (IssuedCredential.issued_at, IssuedCredential.id)
    if newest_first:
        order = (IssuedCredential.issued_at.desc(), IssuedCredential.id.desc())
    ids = query.with_only_columns(IssuedCredential.id).order_by(*order)
    if offset:
        ids = ids.offset(offset)
    rows = (
        select(IssuedCredential)
        .where(IssuedCredential.id.in_(ids.limit(limit).scalar_subquery()))
        .order_by(*order)
        .options(selectinload(IssuedCredential.achievement_version))
    )
    return list(db.session.scalars(rows))


def _page(
    branches: list[Select[Any]], newest_first: bool, offset: int, limit: int
) -> list[IssuedCredential]:
    """:func:`_rows` of branches that follow one another in the order read (every row of one
    before every row of the next): the first is read, and the next only if the page goes on
    past its end (counted then, to know where the page starts in the next)."""
    found: list[IssuedCredential] = []
    for branch in branches:
        rows = _rows(branch, newest_first, offset, limit - len(found))
        found += rows
        if len(found) >= limit:
            break
        offset = max(0, offset - _count([branch], None)) if offset and not rows else 0
    return found


#: A search term that is a whole email address (Cairn's addresses are stored normalised).
WHOLE_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _text_condition(issuer: Issuer, text: str) -> ColumnElement[bool]:
    """What a search term matches: part of the recipient's address or name; but a whole
    address that some credential of the issuer is addressed to finds exactly those.

    A whole address is what someone looking for that recipient types, and the exact match
    is read from ``(issuer_id, recipient_email)``, where the part-of search (trigram indexes
    on PostgreSQL) has to read the long lists of an address's common trigrams (``exa``,
    ``.or``…): thousands of index pages for the million credentials of ``bench/scale.py``.
    The only rows it leaves out are others whose address merely contains this one
    (``xann@school.org`` for ``ann@school.org``). An address no credential has (typed
    incompletely, ``ann@school.example`` for ``ann@school.example.org``) is searched as part
    of one."""
    term = text.lower()
    if WHOLE_ADDRESS.fullmatch(term):
        exact = IssuedCredential.recipient_email == term
        exists = select(IssuedCredential.id).where(IssuedCredential.issuer_id == issuer.id, exact)
        if db.session.scalar(exists.limit(1)) is not None:
            return exact
    # ILIKE on PostgreSQL (which its trigram indexes answer), lower() LIKE lower() on SQLite.
    return or_(
        IssuedCredential.recipient_email.icontains(term, autoescape=True),
        IssuedCredential.recipient_name.icontains(term, autoescape=True),
    )


def _changed_since(query: Select[Any], issuer: Issuer, since: datetime) -> list[Select[Any]]:
    """``query`` narrowed to the credentials changed at or after ``since``: issued since, or
    anything recorded about it since in the audit log (a revocation, a suspension and its
    lifting, a claim, a visibility change...); as two disjoint branches in the list's order
    (the first, issued since, all newer than the second), each read by an index.

    Written as one ``issued_at >= since OR id IN (audited)``, PostgreSQL can only test it row
    by row over all of the issuer's credentials (20,000 pages for a month of a million). Split,
    the first branch is a range of the list's index; the second is the older credentials the
    log names, most of whose events since (the awards themselves) are about credentials of the
    first branch: those are taken out first (an anti-join on the same range), so only the
    few left are read by primary key. On PostgreSQL they are handed over as an array
    (``= ANY(ARRAY(…))``), which it reads by key; as ``IN (…)`` it misjudges their number and
    reads every entry of the list's index instead."""
    issued_since = IssuedCredential.issued_at >= since
    recent = aliased(IssuedCredential)
    audited = select(AuditEvent.subject_id).where(
        AuditEvent.created_at >= since,
        AuditEvent.issuer_id == issuer.id,
        AuditEvent.subject_type == "credential",
        ~select(recent.id)
        .where(
            recent.issuer_id == issuer.id,
            recent.issued_at >= since,
            recent.id == AuditEvent.subject_id,
        )
        .exists(),
    )
    if db.session.get_bind().dialect.name == "postgresql":
        named = IssuedCredential.id == func.any(func.array(audited.scalar_subquery()))
    else:
        named = IssuedCredential.id.in_(audited)
    return [query.where(issued_since), query.where(~issued_since, named)]


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
        query = query.where(_text_condition(issuer, wanted.text))
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
    branches = [query]
    if wanted.updated_since is not None:
        branches = _changed_since(query, issuer, wanted.updated_since)
    total = _count(branches, count_up_to)
    capped = count_up_to is not None and total > count_up_to
    total = min(total, count_up_to) if count_up_to is not None else total
    # The list's order: newest first, then by id (descending too, so that one index read
    # backwards gives it). A cursor compares as a row value, which bounds the index scan.
    place = tuple_(IssuedCredential.issued_at, IssuedCredential.id)
    if after is not None:
        at = tuple_(literal(after.issued_at, UTCDateTime()), after.id)
        found = _page([b.where(place < at) for b in branches], True, 0, page_size + 1)
        older, newer = len(found) > page_size, True
        found = found[:page_size]
    elif before is not None:
        at = tuple_(literal(before.issued_at, UTCDateTime()), before.id)
        # Read forwards from the cursor, then put the page in the list's order.
        found = _page([b.where(place > at) for b in branches[::-1]], False, 0, page_size + 1)
        older, newer = True, len(found) > page_size
        found = found[:page_size][::-1]
    else:
        start = (page - 1) * page_size if offset is None else offset
        found = _page(branches, True, start, page_size + 1)
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
