"""Credential analytics: how often each credential's page is viewed, it is verified, and it is
added to LinkedIn or downloaded, counted per credential, day and kind.

Counted without tracking people: no third-party script, no cookie, no IP address or browser is
kept; a counter only says how many times something happened on a day.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import ACTIVITY_KINDS, Achievement, ActivityTally, CredentialActivity
from app.services._core.env import ServiceEnv

#: The downloads that count as a download click; the QR codes are shown on the page itself.
COUNTED_DOWNLOADS = frozenset(
    {"badge.png", "badge.svg", "badge-ob2.png", "credential.json", "certificate.pdf"}
)


def record(credential_id: str, kind: str, env: ServiceEnv) -> None:
    """Count one ``kind`` (one of :data:`ACTIVITY_KINDS`) for a credential today, and commit.

    One upsert, so concurrent requests never lose a count or collide on the day's row.
    """
    if kind not in ACTIVITY_KINDS:
        raise ValueError(f"unknown activity {kind!r}")
    statement = _upsert(db.session.get_bind().dialect.name)
    values = {"credential_id": credential_id, "day": env.now.date(), "kind": kind}
    db.session.execute(statement, values)
    db.session.commit()


@functools.cache
def _upsert(dialect: str) -> Any:
    """The counting upsert for ``dialect``, built once with bound parameters (building it, in
    SQLAlchemy's coercions, cost as much as running it)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    values = {
        "credential_id": bindparam("credential_id"),
        "day": bindparam("day"),
        "kind": bindparam("kind"),
        "count": 1,
    }
    return (
        insert(CredentialActivity)
        .values(values)
        .on_conflict_do_update(
            index_elements=["credential_id", "day", "kind"],
            set_={"count": CredentialActivity.count + 1},
        )
    )


def record_download(credential_id: str, name: str, env: ServiceEnv) -> None:
    """Count a download of the file ``name`` when it is one people keep or share."""
    if name in COUNTED_DOWNLOADS:
        record(credential_id, "download", env)


@dataclass(frozen=True)
class Activity:
    """Counts by kind: ``view``, ``verify``, ``linkedin``, ``download``."""

    counts: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> int:
        return self.counts.get(kind, 0)

    @property
    def total(self) -> int:
        """Every counted event."""
        return sum(self.counts.values())


def _activity(rows: Iterable[tuple[str, int | None]]) -> Activity:
    # A tally row whose credentials were deleted counts 0: no activity, as if never counted.
    return Activity({kind: int(total) for kind, total in rows if total})


def for_credential(credential_id: str) -> Activity:
    """One credential's counts since it was issued."""
    rows = db.session.execute(
        select(CredentialActivity.kind, func.sum(CredentialActivity.count))
        .where(CredentialActivity.credential_id == credential_id)
        .group_by(CredentialActivity.kind)
    )
    return _activity((kind, total) for kind, total in rows)


def for_achievement(achievement_id: int) -> Activity:
    """The counts of every credential of one achievement (from the activity tally)."""
    tally = ActivityTally
    issuer_id = select(Achievement.issuer_id).where(Achievement.id == achievement_id)
    rows = db.session.execute(
        select(tally.kind, func.sum(tally.count))
        .where(
            tally.issuer_id == issuer_id.scalar_subquery(), tally.achievement_id == achievement_id
        )
        .group_by(tally.kind)
    )
    return _activity((kind, total) for kind, total in rows)


def by_achievement(issuer_id: int) -> dict[int, Activity]:
    """The counts of an issuer's credentials, by achievement id (from the activity tally)."""
    tally = ActivityTally
    rows = db.session.execute(
        select(tally.achievement_id, tally.kind, func.sum(tally.count))
        .where(tally.issuer_id == issuer_id)
        .group_by(tally.achievement_id, tally.kind)
    )
    found: dict[int, dict[str, int]] = {}
    for achievement_id, kind, total in rows:
        if total:
            found.setdefault(achievement_id, {})[kind] = int(total)
    return {key: Activity(value) for key, value in found.items()}


@dataclass(frozen=True)
class IssuerActivity:
    """An issuer's counts in all, how many credentials were shared (added to LinkedIn or
    downloaded at least once), and the counts per day since ``since``."""

    totals: Activity
    shared: int
    daily: dict[date, Activity]
    #: The counts by achievement id (as :func:`by_achievement`).
    by_achievement: dict[int, Activity] = field(default_factory=dict)


def for_issuer(issuer_id: int, since: date) -> IssuerActivity:
    """The issuer's :class:`IssuerActivity` (from the activity tally)."""
    tally = ActivityTally
    ours = tally.issuer_id == issuer_id
    # One read of the issuer's tally for the totals, the shares and the counts by achievement.
    per_achievement: dict[int, dict[str, int]] = {}
    per_kind: dict[str, int] = {}
    shared = 0
    for achievement_id, kind, total, first_shares in db.session.execute(
        select(tally.achievement_id, tally.kind, func.sum(tally.count), func.sum(tally.shared))
        .where(ours)
        .group_by(tally.achievement_id, tally.kind)
    ):
        shared += int(first_shares or 0)
        if total:
            per_achievement.setdefault(achievement_id, {})[kind] = int(total)
            per_kind[kind] = per_kind.get(kind, 0) + int(total)
    totals = _activity(per_kind.items())
    daily_rows = db.session.execute(
        select(tally.kind, func.sum(tally.count), tally.day)
        .where(ours, tally.day >= since)
        .group_by(tally.day, tally.kind)
    )
    daily: dict[date, dict[str, int]] = {}
    for kind, total, day in daily_rows:
        if total:
            daily.setdefault(day, {})[kind] = int(total)
    return IssuerActivity(
        totals=totals,
        shared=shared,
        daily={day: Activity(counts) for day, counts in daily.items()},
        by_achievement={key: Activity(value) for key, value in per_achievement.items()},
    )


def days_back(today: date, days: int) -> date:
    """The first day of a window of ``days`` days ending ``today``."""
    return today - timedelta(days=days - 1)
