"""Reads for the workspace's overview page and for finding an account's newest workspace, and
the organisation's rows by key (staff accounts, issuers, achievements) for the edges."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Achievement, BulkJob, IssuedCredential, Issuer, Membership, StaffAccount

#: How many of the latest awards the overview lists.
RECENT = 10


@dataclass(frozen=True)
class Overview:
    """A workspace at a glance: its latest awards, how many it has issued, its running jobs."""

    recent: list[IssuedCredential]
    total: int
    jobs: list[BulkJob]


def overview(issuer: Issuer) -> Overview:
    """The issuer's :class:`Overview`."""
    recent = list(
        db.session.scalars(
            select(IssuedCredential)
            .where(IssuedCredential.issuer_id == issuer.id)
            .order_by(IssuedCredential.issued_at.desc())
            .limit(RECENT)
        )
    )
    total = db.session.scalar(
        select(func.count())
        .select_from(IssuedCredential)
        .where(IssuedCredential.issuer_id == issuer.id)
    )
    jobs = list(
        db.session.scalars(
            select(BulkJob)
            .where(BulkJob.issuer_id == issuer.id, BulkJob.state.in_(("queued", "running")))
            .order_by(BulkJob.created_at.desc())
        )
    )
    return Overview(recent=recent, total=total or 0, jobs=jobs)


def newest_workspace_slug(account: StaffAccount) -> str | None:
    """The slug of the workspace the account most recently became a member of, if any."""
    return db.session.scalar(
        select(Issuer.slug)
        .join(Membership, Membership.issuer_id == Issuer.id)
        .where(Membership.staff_id == account.id)
        .order_by(Membership.created_at.desc(), Membership.id.desc())
        .limit(1)
    )


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
