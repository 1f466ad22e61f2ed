"""Reads for the workspace's overview page and for finding an account's newest workspace, and
the organisation's rows by key (staff accounts, issuers, achievements) for the edges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Achievement, BulkJob, IssuedCredential, Issuer, Membership, StaffAccount

#: How many of the latest awards the overview lists.
RECENT = 10
#: The dashboard's "expiring soon" window, and how many weeks its chart shows.
EXPIRING_DAYS = 30
WEEKS = 12


@dataclass(frozen=True)
class Overview:
    """A workspace at a glance: its latest awards, how many it has issued, its running jobs."""

    recent: list[IssuedCredential]
    total: int
    jobs: list[BulkJob]
    revoked: int = 0
    #: Valid now, and expiring within :data:`EXPIRING_DAYS`.
    expiring: int = 0
    #: Awards per week, oldest first: (the week's first day, how many).
    weekly: list[tuple[date, int]] = field(default_factory=list)
    #: Of each week's awards, how many their recipients have claimed since (same weeks).
    weekly_claimed: list[tuple[date, int]] = field(default_factory=list)
    #: Credentials issued, by achievement id.
    per_achievement: dict[int, int] = field(default_factory=dict)
    #: Accepted by their recipients into a backpack (``claimed_at`` set), revoked since or not.
    claimed: int = 0
    #: Claimed credentials, by achievement id.
    claimed_per_achievement: dict[int, int] = field(default_factory=dict)


def overview(issuer: Issuer, now: datetime | None = None) -> Overview:
    """The issuer's :class:`Overview`; with ``now``, its dashboard numbers as well."""
    recent = list(
        db.session.scalars(
            select(IssuedCredential)
            .where(IssuedCredential.issuer_id == issuer.id)
            .options(selectinload(IssuedCredential.achievement_version))
            .order_by(IssuedCredential.issued_at.desc())
            .limit(RECENT)
        )
    )
    jobs = list(
        db.session.scalars(
            select(BulkJob)
            .where(BulkJob.issuer_id == issuer.id, BulkJob.state.in_(("queued", "running")))
            .order_by(BulkJob.created_at.desc())
        )
    )
    per_achievement = {
        achievement_id: count
        for achievement_id, count in db.session.execute(
            select(IssuedCredential.achievement_id, func.count())
            .where(IssuedCredential.issuer_id == issuer.id)
            .group_by(IssuedCredential.achievement_id)
        )
    }
    total = sum(per_achievement.values())
    if now is None:
        return Overview(recent=recent, total=total, jobs=jobs, per_achievement=per_achievement)
    claimed_per_achievement = {
        achievement_id: count
        for achievement_id, count in db.session.execute(
            select(IssuedCredential.achievement_id, func.count())
            .where(
                IssuedCredential.issuer_id == issuer.id, IssuedCredential.claimed_at.is_not(None)
            )
            .group_by(IssuedCredential.achievement_id)
        )
    }
    return Overview(
        recent=recent,
        total=total,
        jobs=jobs,
        revoked=_count(issuer, IssuedCredential.revoked_at.is_not(None)),
        expiring=_count(
            issuer,
            IssuedCredential.status_sql(now) == "valid",
            IssuedCredential.valid_until.is_not(None),
            IssuedCredential.valid_until <= now + timedelta(days=EXPIRING_DAYS),
        ),
        weekly=weekly_awards(issuer, now.date()),
        weekly_claimed=weekly_awards(issuer, now.date(), claimed=True),
        per_achievement=per_achievement,
        claimed=sum(claimed_per_achievement.values()),
        claimed_per_achievement=claimed_per_achievement,
    )


def _count(issuer: Issuer, *conditions: Any) -> int:
    found = db.session.scalar(
        select(func.count())
        .select_from(IssuedCredential)
        .where(IssuedCredential.issuer_id == issuer.id, *conditions)
    )
    return found or 0


def week_starts(today: date, weeks: int = WEEKS) -> list[date]:
    """The first days (Mondays) of the ``weeks`` weeks ending with this one, oldest first."""
    this_week = today - timedelta(days=today.weekday())
    return [this_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def weekly_awards(
    issuer: Issuer, today: date, weeks: int = WEEKS, *, claimed: bool = False
) -> list[tuple[date, int]]:
    """How many credentials the issuer awarded in each of the last ``weeks`` weeks; with
    ``claimed``, how many of those their recipients have claimed since."""
    starts = week_starts(today, weeks)
    since = datetime.combine(starts[0], datetime.min.time(), tzinfo=UTC)
    counts = dict.fromkeys(starts, 0)
    conditions = [IssuedCredential.issuer_id == issuer.id, IssuedCredential.issued_at >= since]
    if claimed:
        conditions.append(IssuedCredential.claimed_at.is_not(None))
    # Bucketed here rather than in SQL: a day's boundary is UTC's, whatever the database's zone.
    for issued_at in db.session.scalars(select(IssuedCredential.issued_at).where(*conditions)):
        day = issued_at.astimezone(UTC).date()
        counts[day - timedelta(days=day.weekday())] += 1
    return sorted(counts.items())


def newest_workspace_slug(account: StaffAccount) -> str | None:
    """The slug of the workspace the account most recently became a member of, if any."""
    return db.session.scalar(
        select(Issuer.slug)
        .join(Membership, Membership.issuer_id == Issuer.id)
        .where(Membership.staff_id == account.id)
        .order_by(Membership.created_at.desc(), Membership.id.desc())
        .limit(1)
    )


def only_workspace_slug(account: StaffAccount) -> str | None:
    """The slug of the account's workspace when it belongs to exactly one, else None."""
    slugs = list(
        db.session.scalars(
            select(Issuer.slug)
            .join(Membership, Membership.issuer_id == Issuer.id)
            .where(Membership.staff_id == account.id)
            .limit(2)
        )
    )
    return slugs[0] if len(slugs) == 1 else None


def staff_account(staff_id: int | None) -> StaffAccount | None:
    """The staff account with this id, if there is one."""
    return db.session.get(StaffAccount, staff_id) if staff_id is not None else None


def issuer(issuer_id: int) -> Issuer | None:
    """The issuer with this id, if there is one."""
    return db.session.get(Issuer, issuer_id)


def issuer_id(slug: str) -> int | None:
    """The id of the issuer with this short name, if there is one."""
    return db.session.scalar(select(Issuer.id).where(Issuer.slug == slug))


def achievement(achievement_id: int) -> Achievement | None:
    """The achievement with this id, if there is one (of any issuer: callers hold a row that
    names it)."""
    return db.session.get(Achievement, achievement_id)
