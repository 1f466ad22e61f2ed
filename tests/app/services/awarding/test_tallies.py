"""The tallies the reports read (``credential_tally``, ``activity_tally``) kept by the database's
triggers: after single and bulk awards, revocations, suspensions and their end, claims,
replacements, a bulk insert as the import makes, changed dates and deletions, each equals a
recount of ``issued_credential`` / ``credential_activity``; and the reports built on them (the
report, an achievement's counts, the dashboard's numbers, the activity, the hours report) give
what counting every credential gives, at moments on either side of a credential's expiry."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, text, update

from app.extensions import db
from app.models import (
    ActivityTally,
    CredentialActivity,
    CredentialTally,
    IssuedCredential,
    Issuer,
    StaffAccount,
)
from app.models.tallies import NEVER, SHARDS
from app.services.awarding import issuing, queries, revocation, tally_shards
from app.services.awarding.issuing import AwardInput
from app.services.delivery import analytics, downloads
from app.services.learning import claims, credit_rules, hours_report
from app.services.org import queries as org_queries
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.credit_rules import load_credit_rule
from tests.app.portfolio_helpers import make_educator

ACTOR = Actor(label="test")
DAY = timedelta(days=1)


def credential_recount() -> Counter[tuple[Any, ...]]:
    """``credential_tally`` as a GROUP BY over every credential would make it (in Python)."""
    found: Counter[tuple[Any, ...]] = Counter()
    for c in db.session.scalars(select(IssuedCredential)):
        key = (
            c.issuer_id, c.achievement_id, c.achievement_version_id, c.credit_unit or "",
            c.issued_at.date(), c.valid_until.date() if c.valid_until else NEVER,
            c.revoked_at is not None, c.suspended_at is not None, c.claimed_at is not None,
        )  # fmt: skip
        for part, value in (
            ("count", 1),
            ("credit_sum", c.credit or 0.0),
            ("credit_null", int(c.credit is None)),
            ("credit_zero", int(c.credit == 0)),
        ):
            found[(*key, part)] += value
    return +found  # without the zeros


def credential_tally() -> Counter[tuple[Any, ...]]:
    found: Counter[tuple[Any, ...]] = Counter()
    for t in db.session.scalars(select(CredentialTally)):
        key = (
            t.issuer_id, t.achievement_id, t.achievement_version_id, t.credit_unit,
            t.issued_day, t.expires_day, t.revoked, t.suspended, t.claimed,
        )  # fmt: skip
        for part in ("count", "credit_sum", "credit_null", "credit_zero"):
            found[(*key, part)] += getattr(t, part)
    return +found


def activity_recount() -> tuple[Counter[tuple[Any, ...]], Counter[int]]:
    """Activity per (issuer, achievement, day, kind), and credentials shared per issuer."""
    counts: Counter[tuple[Any, ...]] = Counter()
    shared: dict[int, set[str]] = {}
    for row, issuer_id, achievement_id in db.session.execute(
        select(
            CredentialActivity, IssuedCredential.issuer_id, IssuedCredential.achievement_id
        ).join(IssuedCredential, IssuedCredential.id == CredentialActivity.credential_id)
    ):
        counts[(issuer_id, achievement_id, row.day, row.kind)] += row.count
        if row.kind in ("linkedin", "download"):
            shared.setdefault(issuer_id, set()).add(row.credential_id)
    return +counts, Counter({issuer: len(ids) for issuer, ids in shared.items()})


def activity_tally() -> tuple[Counter[tuple[Any, ...]], Counter[int]]:
    counts: Counter[tuple[Any, ...]] = Counter()
    shared: Counter[int] = Counter()
    for t in db.session.scalars(select(ActivityTally)):
        counts[(t.issuer_id, t.achievement_id, t.day, t.kind)] += t.count
        shared[t.issuer_id] += t.shared
    return +counts, +shared


def assert_tallies_match() -> None:
    db.session.expire_all()
    recount, tally = credential_recount(), credential_tally()
    assert tally.keys() == recount.keys()
    for key, value in recount.items():
        assert tally[key] == pytest.approx(value), key
    assert activity_tally() == activity_recount()


def assert_reports_match(issuer: Issuer, now: datetime) -> None:
    """The report, each achievement's counts and the dashboard's numbers, against counting
    every credential's :meth:`IssuedCredential.status_at`."""
    rows = list(
        db.session.scalars(select(IssuedCredential).where(IssuedCredential.issuer_id == issuer.id))
    )
    expected: dict[int, Counter[str]] = {}
    for c in rows:
        tally = expected.setdefault(c.achievement_id, Counter())
        tally["issued"] += 1
        tally[c.status_at(now)] += 1
    for row in queries.report(issuer, now):
        wanted = expected.get(row["achievement"].id, Counter())
        assert {name: row[name] for name in queries.COUNTS} == {
            name: wanted[name] for name in queries.COUNTS
        }
        assert queries.counts(row["achievement"], now) == {
            name: wanted[name] for name in queries.COUNTS
        }
    glance = org_queries.overview(issuer, now)
    soon = now + timedelta(days=org_queries.EXPIRING_DAYS)
    assert glance.total == len(rows)
    assert glance.revoked == sum(c.revoked_at is not None for c in rows)
    assert glance.claimed == sum(c.claimed_at is not None for c in rows)
    assert glance.expiring == sum(
        c.status_at(now) == "valid" and c.valid_until is not None and c.valid_until <= soon
        for c in rows
    )
    assert glance.per_achievement == dict(Counter(c.achievement_id for c in rows))
    starts = org_queries.week_starts(now.date())
    weekly = dict.fromkeys(starts, 0)
    for c in rows:
        day = c.issued_at.date()
        week = day - timedelta(days=day.weekday())
        if week in weekly:
            weekly[week] += 1
    assert dict(glance.weekly) == weekly


def assert_activity_matches(issuer: Issuer, since: date) -> None:
    per_kind: Counter[str] = Counter()
    per_achievement: dict[int, Counter[str]] = {}
    daily: dict[date, Counter[str]] = {}
    shared: set[str] = set()
    for row, achievement_id in db.session.execute(
        select(CredentialActivity, IssuedCredential.achievement_id)
        .join(IssuedCredential, IssuedCredential.id == CredentialActivity.credential_id)
        .where(IssuedCredential.issuer_id == issuer.id)
    ):
        per_kind[row.kind] += row.count
        per_achievement.setdefault(achievement_id, Counter())[row.kind] += row.count
        if row.day >= since:
            daily.setdefault(row.day, Counter())[row.kind] += row.count
        if row.kind in ("linkedin", "download"):
            shared.add(row.credential_id)
    found = analytics.for_issuer(issuer.id, since)
    assert found.totals.counts == dict(+per_kind)
    assert found.shared == len(shared)
    assert {day: a.counts for day, a in found.daily.items()} == {
        d: dict(+c) for d, c in daily.items()
    }
    by_achievement = analytics.by_achievement(issuer.id)
    assert found.by_achievement == by_achievement
    assert {a: v.counts for a, v in by_achievement.items()} == {
        a: dict(+c) for a, c in per_achievement.items()
    }
    for achievement_id, counts in per_achievement.items():
        assert analytics.for_achievement(achievement_id).counts == dict(+counts)


def assert_hours_match(issuer: Issuer, start: date, end: date, rule: Any) -> None:
    """The hours report's total and left-out count against each credential's document read
    as the report read it before the tally (``downloads.credit_of``)."""
    total, left_out = 0.0, 0
    for c in db.session.scalars(
        select(IssuedCredential).where(IssuedCredential.issuer_id == issuer.id)
    ):
        if c.revoked_at or c.suspended_at or not start <= c.issued_at.date() <= end:
            continue
        credit, unit = downloads.credit_of(c)
        assert (c.credit, c.credit_unit) == (credit, unit)  # stored as signed
        hours = credit_rules.hours_or_none(
            credit, unit, c.achievement_version.achievement_type, rule
        )
        if hours is None:
            left_out += 1
        else:
            total += hours
    report = hours_report.build(issuer, start, end, "month", rule)
    assert report.total == pytest.approx(total)
    assert report.left_out == left_out


@pytest.fixture
def history(
    make_staff: Callable[..., StaffAccount],
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Any],
    make_award: Callable[..., IssuedCredential],
) -> dict[str, Any]:
    env = service_env()
    issuer = make_issuer("District 7", slug="district7", owner=make_staff())
    other_issuer = make_issuer("District 9", slug="district9")
    hours = make_achievement(issuer, "Reading Workshop", credits_available=10, credit_unit="clock_hours",
                             default_validity_days=365)  # fmt: skip
    ceu = make_achievement(issuer, "AI in the Classroom", credits_available=1.5, credit_unit="ceu")
    plain = make_achievement(issuer, "Staff Meeting Series")
    theirs = make_achievement(other_issuer, "Their Badge", credits_available=2)
    singles = [make_award(issuer, hours, f"t{n}@d7.example.org") for n in range(4)]
    singles.append(make_award(issuer, hours, "earned@d7.example.org", credits_earned=4))
    singles.append(make_award(issuer, hours, "nothing@d7.example.org", credits_earned=0))
    singles.append(make_award(issuer, ceu, "ceu@d7.example.org"))
    singles.append(make_award(issuer, plain, "plain@d7.example.org", no_expiry=True))
    singles.append(make_award(other_issuer, theirs, "t0@d7.example.org"))
    bulk = issuing.issue_many(issuer, ceu, [AwardInput(email=f"bulk{n}@d7.example.org") for n in range(5)],
                              actor=ACTOR, env=env, notify=False)  # fmt: skip
    bulk_ids = [outcome.credential.id for outcome in bulk if outcome.credential is not None]
    assert len(bulk_ids) == 5
    return {"issuer": issuer, "other": other_issuer, "singles": singles, "bulk": bulk_ids,
            "achievements": (hours, ceu, plain)}  # fmt: skip


def test_the_tallies_follow_every_kind_of_change(history: dict[str, Any]) -> None:
    env = service_env()
    issuer, singles = history["issuer"], history["singles"]
    hours_badge = history["achievements"][0]
    assert_tallies_match()

    # Dates spread over days (what an import or a test does through the ORM).
    for back, credential in enumerate(singles):
        credential.issued_at = env.now - back * 9 * DAY
        if credential.valid_until is not None:
            credential.valid_until = env.now + (back * 7 - 20) * DAY
    db.session.commit()
    assert_tallies_match()

    revocation.revoke(singles[0], "Awarded by mistake", actor=ACTOR, env=env)
    revocation.suspend(singles[1], "Under review", actor=ACTOR, env=env)
    revocation.suspend(singles[2], "Under review", actor=ACTOR, env=env)
    revocation.unsuspend(singles[2], "Cleared", actor=ACTOR, env=env)
    replacement = revocation.replace(
        singles[3],
        AwardInput(email="t3.fixed@d7.example.org"),
        "Wrong address",
        actor=ACTOR,
        env=env,
    )
    assert replacement.revoked_at is None
    assert_tallies_match()

    educator = make_educator("earned@d7.example.org", "Earnest Reader")
    assert claims.claim(educator, singles[4], public=True, env=env)
    db.session.execute(
        update(IssuedCredential)
        .where(IssuedCredential.id.in_(history["bulk"][:2]))
        .values(claimed_at=env.now)
    )
    db.session.commit()
    assert_tallies_match()

    # A bulk Core insert, as `cairn import` stores credentials.
    template = singles[5]
    imported = [
        {column.key: getattr(template, column.key) for column in IssuedCredential.__table__.columns}
        | {"id": str(uuid.uuid4()), "status_index": 9000 + n, "recipient_email": f"imp{n}@d7.example.org",
           "issued_at": env.now - (400 + n) * DAY, "valid_until": None if n % 2 else env.now - 35 * DAY}
        for n in range(3)
    ]  # fmt: skip
    db.session.execute(insert(IssuedCredential), imported)
    db.session.commit()
    assert_tallies_match()

    # Activity: counted, counted again, the first share and a second one.
    for credential, kind in [(singles[4], "view"), (singles[4], "view"), (singles[4], "linkedin"),
                             (singles[4], "download"), (singles[5], "download"), (singles[6], "verify"),
                             (singles[8], "linkedin")]:  # fmt: skip
        analytics.record(credential.id, kind, env)
    db.session.execute(
        insert(CredentialActivity),
        [{"credential_id": singles[5].id, "day": date(2026, 1, 5), "kind": "linkedin", "count": 3},
         {"credential_id": imported[0]["id"], "day": date(2026, 2, 5), "kind": "view", "count": 2}],
    )  # fmt: skip
    db.session.commit()
    assert_tallies_match()
    assert analytics.for_issuer(issuer.id, date(2026, 1, 1)).shared == 2

    # Deletions: an imported credential with its activity, and one without.
    for gone in (imported[0]["id"], imported[1]["id"]):
        db.session.execute(
            delete(CredentialActivity).where(CredentialActivity.credential_id == gone)
        )
        db.session.execute(delete(IssuedCredential).where(IssuedCredential.id == gone))
    db.session.execute(
        delete(CredentialActivity).where(
            CredentialActivity.credential_id == singles[5].id, CredentialActivity.kind == "download"
        )
    )
    db.session.commit()
    assert_tallies_match()
    assert (
        analytics.for_issuer(issuer.id, date(2026, 1, 1)).shared == 2
    )  # singles[5] on LinkedIn still

    # The reports, at moments around expiries: now, and on either side of each credential's.
    moments = [env.now]
    for credential in db.session.scalars(
        select(IssuedCredential).where(IssuedCredential.valid_until.is_not(None))
    ):
        moments += [credential.valid_until - timedelta(seconds=1), credential.valid_until,
                    credential.valid_until + timedelta(hours=3),
                    credential.valid_until - timedelta(days=org_queries.EXPIRING_DAYS)]  # fmt: skip
    for now in moments:
        assert_reports_match(issuer, now)
        assert_reports_match(history["other"], now)
    assert_activity_matches(issuer, date(2026, 1, 1))
    assert_activity_matches(history["other"], date(2026, 1, 1))
    assert (
        queries.counts(hours_badge, env.now)["revoked"] == 2
    )  # the revoked one and the replaced one

    rule = credit_rules.create(issuer, load_credit_rule({
        "name": "State renewal", "cycle_years": 5, "cycle_start": "2025-07-01", "hours_required": 100,
        "ceu": "15", "micro_credential": "2",
    }), actor=ACTOR, env=env)  # fmt: skip
    first = (env.now - 500 * DAY).date()
    for chosen in (None, rule):
        assert_hours_match(issuer, first, env.now.date(), chosen)
        assert_hours_match(issuer, (env.now - 20 * DAY).date(), env.now.date(), chosen)


def test_a_tally_that_was_not_kept_would_be_seen(history: dict[str, Any]) -> None:
    """The comparison is not vacuous: a change made behind the triggers' back shows."""
    assert_tallies_match()
    db.session.execute(update(CredentialTally).values(count=CredentialTally.count + 1))
    db.session.commit()
    with pytest.raises(AssertionError):
        assert_tallies_match()


@pytest.mark.postgres
def test_two_transactions_on_one_tally_key_do_not_wait_for_each_other(
    history: dict[str, Any],
) -> None:
    """PostgreSQL: two open transactions that change credentials of the same tally key add to
    shards of their own (``txid % SHARDS``), so the second never waits for the first's lock
    on the key's row (with one row per key it would: two bulk workers on one job queued so)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; its tally rows are all shard 0")
    first_id, second_id = history["singles"][0].id, history["singles"][1].id  # the same key
    issuer_id = history["issuer"].id
    db.session.remove()
    with db.engine.connect() as first, db.engine.connect() as second:
        first_shard = first.execute(text("SELECT txid_current() % :n"), {"n": SHARDS}).scalar()
        # Transaction ids are handed out in turn: take them until the second's shard differs.
        second_shard = first_shard
        while second_shard == first_shard:
            second.rollback()
            second_shard = second.execute(
                text("SELECT txid_current() % :n"), {"n": SHARDS}
            ).scalar()
        revoke = "UPDATE issued_credential SET revoked_at = now() WHERE id = :id"
        first.execute(text(revoke), {"id": first_id})
        # Waiting for the first's row lock would fail here rather than hang.
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        second.execute(text(revoke), {"id": second_id})
        second.commit()
        first.commit()
    shards = db.session.scalars(
        select(CredentialTally.shard).where(
            CredentialTally.issuer_id == issuer_id, CredentialTally.revoked.is_(True)
        )
    ).all()
    assert sorted(shards) == sorted([first_shard, second_shard])
    assert_tallies_match()


@pytest.mark.postgres
def test_the_shards_of_past_days_fold_into_one_row_per_key(history: dict[str, Any]) -> None:
    """PostgreSQL: changes made in many transactions spread a key over shards; folding the
    days before a date leaves one row per key there (shard 0) with the same sums, and the
    reports the same; later days and a row a writer holds are left for a later round."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's tally rows are all shard 0")
    env = service_env()
    issuer, singles = history["issuer"], history["singles"]
    for back, credential in enumerate(singles):
        credential.issued_at = env.now - (3 + back % 2) * DAY
    db.session.commit()
    for credential in singles[:6]:  # each change its own transaction, so its own shard
        revocation.suspend(credential, "Under review", actor=ACTOR, env=env)
        revocation.unsuspend(credential, "Review closed", actor=ACTOR, env=env)
    today = env.now.date()

    def spread(before: date) -> int:
        return db.session.scalar(
            select(func.count())
            .select_from(CredentialTally)
            .where(CredentialTally.shard != 0, CredentialTally.issued_day < before)
        )

    assert spread(today) > 0
    recent = spread(today + DAY) - spread(today)  # today's bulk awards: not folded
    with db.engine.connect() as writer:
        held = writer.execute(
            text("SELECT ctid FROM credential_tally WHERE shard <> 0 AND issued_day < :d "
                 "LIMIT 1 FOR UPDATE"), {"d": today},
        ).scalar()  # fmt: skip
        assert tally_shards.fold(today, batch=3) > 0
        assert spread(today) == 1  # the row the writer holds
        writer.rollback()
    tally_shards.fold(today)
    assert spread(today) == 0 and held is not None
    assert spread(today + DAY) == recent
    assert_tallies_match()
    assert_reports_match(issuer, env.now)
