"""Reads for the workspace's overview page and for finding an account's newest workspace, and
the organisation's rows by key (staff accounts, issuers, achievements) for the edges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Achievement,
    BulkJob,
    CredentialTally,
    IssuedCredential,
    Issuer,
    Membership,
    StaffAccount,
)

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
    tally = CredentialTally
    per_achievement: dict[int, int] = {}
    claimed_per_achievement: dict[int, int] = {}
    revoked = 0
    # One read of the issuer's tally for the counts by achievement, claimed and revoked.
    for achievement_id, count, claimed, revoked_of_it in db.session.execute(
        select(
            tally.achievement_id,
            func.sum(tally.count),
            func.sum(case((tally.claimed, tally.count), else_=0)),
            func.sum(case((tally.revoked, tally.count), else_=0)),
        )
        .where(tally.issuer_id == issuer.id)
        .group_by(tally.achievement_id)
    ):
        if count:  # zero: every credential of it was deleted
            per_achievement[achievement_id] = int(count)
        if claimed:
            claimed_per_achievement[achievement_id] = int(claimed)
        revoked += int(revoked_of_it or 0)
    total = sum(per_achievement.values())
    if now is None:
        return Overview(recent=recent, total=total, jobs=jobs, per_achievement=per_achievement)
    weekly, weekly_claimed = _weekly(issuer, now.astimezone(UTC).date())
    return Overview(
        recent=recent,
        total=total,
        jobs=jobs,
        revoked=revoked,
        expiring=_expiring(issuer, now),
        weekly=weekly,
        weekly_claimed=weekly_claimed,
        per_achievement=per_achievement,
        claimed=sum(claimed_per_achievement.values()),
        claimed_per_achievement=claimed_per_achievement,
    )


def _expiring(issuer: Issuer, now: datetime) -> int:
    """The issuer's credentials valid at ``now`` and expiring within :data:`EXPIRING_DAYS`:
    the whole days between from the tally, the rest of today and the last day's part from the
    ``valid_until`` index."""
    tally, credential = CredentialTally, IssuedCredential
    until = now + timedelta(days=EXPIRING_DAYS)
    today, last_day = now.astimezone(UTC).date(), until.astimezone(UTC).date()
    whole_days = db.session.scalar(
        select(func.sum(tally.count)).where(
            tally.issuer_id == issuer.id,
            tally.revoked.is_(False),
            tally.suspended.is_(False),
            tally.expires_day > today,
            tally.expires_day < last_day,
        )
    )
    tomorrow = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    last_day_start = datetime.combine(last_day, time.min, tzinfo=UTC)
    edges = db.session.scalar(
        select(func.count())
        .select_from(credential)
        .where(
            credential.issuer_id == issuer.id,
            credential.revoked_at.is_(None),
            credential.suspended_at.is_(None),
            or_(
                and_(credential.valid_until >= now, credential.valid_until < tomorrow),
                and_(credential.valid_until >= last_day_start, credential.valid_until <= until),
            ),
        )
    )
    return int(whole_days or 0) + int(edges or 0)


def week_starts(today: date, weeks: int = WEEKS) -> list[date]:
    """The first days (Mondays) of the ``weeks`` weeks ending with this one, oldest first."""
    this_week = today - timedelta(days=today.weekday())
    return [this_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def _weekly(
    issuer: Issuer, today: date, weeks: int = WEEKS
) -> tuple[list[tuple[date, int]], list[tuple[date, int]]]:
    """Awards per week for the last ``weeks`` weeks, and of them how many were claimed since,
    in one read of the tally (UTC days)."""
    starts = week_starts(today, weeks)
    awarded, claimed = dict.fromkeys(starts, 0), dict.fromkeys(starts, 0)
    tally = CredentialTally
    for day, count, of_them_claimed in db.session.execute(
        select(
            tally.issued_day,
            func.sum(tally.count),
            func.sum(case((tally.claimed, tally.count), else_=0)),
        )
        .where(tally.issuer_id == issuer.id, tally.issued_day >= starts[0])
        .group_by(tally.issued_day)
    ):
        week = day - timedelta(days=day.weekday())
        if week in awarded:
            awarded[week] += int(count)
            claimed[week] += int(of_them_claimed or 0)
    return sorted(awarded.items()), sorted(claimed.items())


def weekly_awards(
    issuer: Issuer, today: date, weeks: int = WEEKS, *, claimed: bool = False
) -> list[tuple[date, int]]:
    """How many credentials the issuer awarded in each of the last ``weeks`` weeks; with
    ``claimed``, how many of those their recipients have claimed since."""
    awarded, of_them_claimed = _weekly(issuer, today, weeks)
    return of_them_claimed if claimed else awarded


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
