"""The workspace dashboard's reads: numbers, awards per week, and the one-workspace landing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.extensions import db
from app.services.awarding import revocation
from app.services.org import queries, staff
from app.services.org.audit import Actor
from app.wiring import service_env

TEST = Actor(label="test")


def test_week_starts_are_mondays_ending_with_this_week() -> None:
    starts = queries.week_starts(date(2026, 12, 5), weeks=3)  # a Saturday
    assert starts == [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]


def test_the_dashboard_counts_issued_revoked_expiring_and_awards_per_week(
    make_issuer, make_achievement, make_award
) -> None:
    issuer = make_issuer()
    first, second = make_achievement(issuer, "First"), make_achievement(issuer, "Second")
    env = service_env()
    soon = env.now + timedelta(days=10)
    later = env.now + timedelta(days=90)
    expiring = make_award(issuer, first, "a@school.example.org", valid_until=soon)
    make_award(issuer, first, "b@school.example.org", valid_until=later)
    revoked = make_award(issuer, second, "c@school.example.org", valid_until=soon)
    revocation.revoke(revoked, "Awarded in error", actor=TEST, env=env)
    old = make_award(issuer, second, "d@school.example.org")
    old.issued_at = env.now - timedelta(weeks=3)
    db.session.commit()
    elsewhere = make_issuer("Elsewhere")
    make_award(elsewhere, make_achievement(elsewhere), "x@school.example.org", valid_until=soon)

    glance = queries.overview(issuer, env.now)
    assert (glance.total, glance.revoked, glance.expiring) == (4, 1, 1)
    assert glance.per_achievement == {first.id: 2, second.id: 2}
    assert [c.id for c in glance.recent][-1] == old.id
    assert len(glance.weekly) == queries.WEEKS
    assert glance.weekly[-1] == (queries.week_starts(env.now.date())[-1], 3)
    assert sum(count for _, count in glance.weekly) == 4
    assert expiring.valid_until is not None
    assert queries.overview(issuer).weekly == []  # without a clock: the overview alone


def test_weeks_are_utc_weeks(make_issuer, make_achievement, make_award) -> None:
    issuer = make_issuer()
    award = make_award(issuer, make_achievement(issuer))
    # Sunday 23:30 UTC belongs to the week that began the Monday before.
    award.issued_at = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    db.session.commit()
    weekly = dict(queries.weekly_awards(issuer, date(2026, 12, 5), weeks=2))
    assert weekly == {date(2026, 11, 23): 1, date(2026, 11, 30): 0}
    # Claimed ones by the week they were awarded in: none yet, then this one.
    claimed = dict(queries.weekly_awards(issuer, date(2026, 12, 5), weeks=2, claimed=True))
    assert claimed == {date(2026, 11, 23): 0, date(2026, 11, 30): 0}
    award.claimed_at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    db.session.commit()
    claimed = dict(queries.weekly_awards(issuer, date(2026, 12, 5), weeks=2, claimed=True))
    assert claimed == {date(2026, 11, 23): 1, date(2026, 11, 30): 0}


def test_only_workspace_slug(make_staff, make_issuer) -> None:
    account = make_staff()
    assert queries.only_workspace_slug(account) is None
    one = make_issuer("One", owner=account)
    assert queries.only_workspace_slug(account) == one.slug
    two = make_issuer("Two")
    staff.set_role(two, account, "viewer", actor=TEST, env=service_env())
    assert queries.only_workspace_slug(account) is None
