"""Migration 0033 on a database that holds credentials: down to 0032 (the tallies, their
triggers and the credit columns gone) and up again fills each credential's credit from its
document and both tallies, equal to a recount; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import flask_migrate
from flask import Flask
from sqlalchemy import inspect, select, update

from app import MIGRATIONS
from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer
from app.services.awarding import issuing, revocation
from app.services.awarding.issuing import AwardInput
from app.services.delivery import analytics, downloads
from app.services.org import achievements, issuers
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput
from app.wiring import service_env
from tests.app.guarantee_instance import preserved_logging
from tests.app.migrations import test_migrations
from tests.app.services.awarding.test_tallies import (
    activity_recount,
    activity_tally,
    credential_recount,
    credential_tally,
)

ACTOR = Actor(label="test")
BOTH = test_migrations.BOTH
#: An empty database upgraded to head, on SQLite and (with CAIRN_TEST_DATABASE_URL) PostgreSQL.
migrated = test_migrations.migrated


@BOTH
def test_0033_fills_the_credit_and_the_tallies_from_what_is_stored(migrated: Flask) -> None:
    env = service_env()
    issuer = issuers.create_issuer(
        IssuerProfileInput(name="District 7", url="https://district7.example.org"),
        slug="district7", owner=None, actor=ACTOR, env=env,
    )  # fmt: skip
    made = [
        achievements.create_achievement(
            issuer,
            AchievementInput(name=name, description="Done.", criteria_markdown="Do it.", **fields),
            actor=ACTOR,
            env=env,
        )
        for name, fields in (
            ("Hours", {"credits_available": 10, "credit_unit": "clock_hours"}),
            ("CEUs", {"credits_available": 1.5, "credit_unit": "ceu", "default_validity_days": 30}),
            ("Nothing", {}),
        )
    ]
    awarded = [
        issuing.award(
            issuer,
            achievement,
            AwardInput(email=f"t{n}@d7.example.org", **extra),
            actor=ACTOR,
            env=env,
            notify=False,
        )
        for n, (achievement, extra) in enumerate(
            [
                (made[0], {}),
                (made[0], {"credits_earned": 4}),
                (made[1], {}),
                (made[2], {}),
                (made[1], {"claimed": True}),
            ]
        )
    ]
    revocation.revoke(awarded[0], "Awarded by mistake", actor=ACTOR, env=env)
    db.session.execute(
        update(IssuedCredential)
        .where(IssuedCredential.id == awarded[2].id)
        .values(issued_at=env.now - timedelta(days=40))
    )
    db.session.commit()
    analytics.record(awarded[1].id, "view", env)
    analytics.record(awarded[1].id, "download", env)
    analytics.record(awarded[3].id, "linkedin", env)
    assert credential_recount() == credential_tally() and credential_recount()
    before = (credential_tally(), activity_tally())
    issuer_id, made_ids = issuer.id, [a.id for a in made]
    db.session.remove()  # its open transaction would hold the locks the downgrade needs

    with preserved_logging():
        flask_migrate.downgrade(directory=MIGRATIONS, revision="0032")
    tables = set(inspect(db.engine).get_table_names())
    assert not {"credential_tally", "activity_tally"} & tables
    columns = {c["name"] for c in inspect(db.engine).get_columns("issued_credential")}
    assert not {"credit", "credit_unit"} & columns
    with preserved_logging():
        flask_migrate.upgrade(directory=MIGRATIONS)
    db.session.expire_all()

    for credential in db.session.scalars(select(IssuedCredential)):
        assert (credential.credit, credential.credit_unit) == downloads.credit_of(credential)
    assert {c.credit for c in db.session.scalars(select(IssuedCredential))} == {
        10.0,
        4.0,
        1.5,
        None,
    }
    assert (credential_tally(), activity_tally()) == before
    assert activity_tally() == activity_recount()
    assert analytics.for_issuer(issuer_id, date(2026, 1, 1)).shared == 2
    # And the triggers are back: a new award is counted.
    again = db.session.get(Issuer, issuer_id)
    assert again is not None
    achievement = db.session.get(Achievement, made_ids[2])
    assert achievement is not None
    issuing.award(again, achievement, AwardInput(email="new@d7.example.org"), actor=ACTOR,
                  env=env, notify=False)  # fmt: skip
    assert credential_tally() == credential_recount()
