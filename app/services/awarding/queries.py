"""Reads of an issuer's credentials: the workspace search (filters and paging), what one
credential replaced, and the per-achievement counts of the reports, all by the one status
definition of :class:`~app.models.IssuedCredential`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    CREDENTIAL_STATUSES,
    Achievement,
    AuditEvent,
    CredentialStatus,
    IssuedCredential,
    Issuer,
)
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
class Page:
    """One page of a search's results, newest first, and how many there are in all."""

    credentials: list[IssuedCredential]
    total: int
    page: int
    pages: int


def with_status(query: Select[Any], status: CredentialStatus | None, now: datetime) -> Select[Any]:
    """``query`` narrowed to credentials with ``status`` at ``now`` (all of them for ``None``)."""
    if status is None:
        return query
    return query.where(IssuedCredential.status_sql(now) == status)


def search(
    issuer: Issuer,
    wanted: Search,
    now: datetime,
    *,
    page: int,
    page_size: int,
    offset: int | None = None,
) -> Page:
    """The issuer's credentials matching ``wanted``, page ``page`` (from 1) of ``page_size``;
    or, with ``offset``, the ``page_size`` from that one on (the API's limit and offset)."""
    query = select(IssuedCredential).where(IssuedCredential.issuer_id == issuer.id)
    if wanted.text:
        term = wanted.text.lower()
        query = query.where(
            or_(
                func.lower(IssuedCredential.recipient_email).contains(term, autoescape=True),
                func.lower(IssuedCredential.recipient_name).contains(term, autoescape=True),
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
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = list(
        db.session.scalars(
            query.options(selectinload(IssuedCredential.achievement_version))
            .order_by(IssuedCredential.issued_at.desc(), IssuedCredential.id)
            .offset((page - 1) * page_size if offset is None else offset)
            .limit(page_size)
        )
    )
    return Page(found, total, page, max(1, -(-total // page_size)))


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


def _tally(where: ColumnElement[bool], now: datetime) -> dict[int, dict[str, int]]:
    """Per achievement id: how many credentials matching ``where`` are in each status, and
    how many were issued."""
    # Grouped through a subquery, so GROUP BY names a column rather than repeating the CASE
    # (with its bound ``now``), which PostgreSQL would not match with the SELECT's.
    statuses = (
        select(
            IssuedCredential.achievement_id.label("achievement_id"),
            IssuedCredential.status_sql(now).label("status"),
        )
        .where(where)
        .subquery()
    )
    tallies: dict[int, dict[str, int]] = {}
    for achievement_id, status, number in db.session.execute(
        select(statuses.c.achievement_id, statuses.c.status, func.count()).group_by(
            statuses.c.achievement_id, statuses.c.status
        )
    ):
        tally = tallies.setdefault(achievement_id, dict.fromkeys(COUNTS, 0))
        tally[status] = number
        tally["issued"] += number
    return tallies


def counts(achievement: Achievement, now: datetime) -> dict[str, int]:
    """An achievement's credentials: how many were issued, and how many are in each status."""
    tallies = _tally(IssuedCredential.achievement_id == achievement.id, now)
    return tallies.get(achievement.id, dict.fromkeys(COUNTS, 0))


def report(issuer: Issuer, now: datetime) -> list[dict[str, Any]]:
    """Per achievement (archived ones too), by name: the achievement, its current version and
    its :func:`counts`."""
    tallies = _tally(IssuedCredential.issuer_id == issuer.id, now)
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
