"""Migration 0033 on a database that holds credentials: down to 0032 (the tallies, their
triggers and the credit columns gone) and up again fills each credential's credit from its
document and both tallies, equal to a recount; on SQLite and PostgreSQL. After 0035, PostgreSQL
has the triggers the models install; 0035 down sums each key's shards into one row."""

from __future__ import annotations

import re
from datetime import date, timedelta

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import inspect, select, text, update

from app import MIGRATIONS
from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer, tallies
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


@pytest.mark.parametrize(
    "migrated", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_has_the_triggers_the_models_install(migrated: Flask) -> None:
    """After every migration PostgreSQL has the triggers ``app/models/tallies.py`` installs for
    ``create_all`` (what the tests run on): the insert trigger once per statement, the others
    once per row, and the same function bodies."""
    triggers = {
        (name, table, event, timing, level, new_table)
        for name, table, event, timing, level, new_table in db.session.execute(
            text(
                "SELECT trigger_name, event_object_table, event_manipulation, action_timing, "
                "action_orientation, action_reference_new_table FROM information_schema.triggers "
                "WHERE event_object_table IN ('issued_credential', 'credential_activity')"
            )
        )
    }
    assert triggers == {
        ("issued_credential_tally_inserted", "issued_credential", "INSERT", "AFTER", "STATEMENT",
         "inserted"),
        ("issued_credential_tally", "issued_credential", "DELETE", "AFTER", "ROW", None),
        ("issued_credential_tally_update", "issued_credential", "UPDATE", "AFTER", "ROW", None),
        ("credential_activity_tally", "credential_activity", "INSERT", "AFTER", "ROW", None),
        ("credential_activity_tally", "credential_activity", "UPDATE", "AFTER", "ROW", None),
        ("credential_activity_tally", "credential_activity", "DELETE", "AFTER", "ROW", None),
    }  # fmt: skip
    bodies = dict(
        db.session.execute(
            text("SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'cairn\\_%tally%'")
        ).all()
    )
    expected = {}
    for statement in tallies.TRIGGERS["postgresql"]:
        found = re.search(r"FUNCTION (\w+)\(\) RETURNS trigger AS \$\$(.*)\$\$", statement, re.S)
        if found:
            expected[found[1]] = found[2]
    assert len(expected) == 3
    assert {name: " ".join(body.split()) for name, body in bodies.items()} == {
        name: " ".join(body.split()) for name, body in expected.items()
    }


@BOTH
def test_0035_down_sums_the_shards_and_up_keeps_counting(migrated: Flask) -> None:
    """Credentials counted and revoked in several transactions (on PostgreSQL, several
    shards): down to 0034 each key is one row holding the sums, and up again the triggers
    count on."""
    env = service_env()
    issuer = issuers.create_issuer(
        IssuerProfileInput(name="District 7", url="https://district7.example.org"),
        slug="district7", owner=None, actor=ACTOR, env=env,
    )  # fmt: skip
    badge = achievements.create_achievement(
        issuer,
        AchievementInput(name="Hours", description="Done.", criteria_markdown="Do it.",
                         credits_available=3, credit_unit="clock_hours"),
        actor=ACTOR, env=env,
    )  # fmt: skip
    awarded = [
        issuing.award(
            issuer,
            badge,
            AwardInput(email=f"t{n}@d7.example.org"),
            actor=ACTOR,
            env=env,
            notify=False,
        )
        for n in range(4)
    ]
    for credential in awarded[:2]:
        revocation.revoke(credential, "Awarded by mistake", actor=ACTOR, env=env)
    rows_before = db.session.scalar(text("SELECT count(*) FROM credential_tally"))
    assert credential_tally() == credential_recount()
    issuer_id, badge_id = issuer.id, badge.id
    db.session.remove()

    with preserved_logging():
        flask_migrate.downgrade(directory=MIGRATIONS, revision="0034")
    columns = {c["name"] for c in inspect(db.engine).get_columns("credential_tally")}
    assert "shard" not in columns
    keys = db.session.execute(
        text("SELECT revoked, count, credit_sum FROM credential_tally ORDER BY revoked")
    ).all()
    assert [tuple(k) for k in keys] == [(False, 2, 6.0), (True, 2, 6.0)]
    if db.engine.dialect.name == "postgresql":
        assert rows_before > 2  # there were shards to sum
    db.session.remove()

    with preserved_logging():
        flask_migrate.upgrade(directory=MIGRATIONS)
    again, badge = db.session.get(Issuer, issuer_id), db.session.get(Achievement, badge_id)
    assert again is not None and badge is not None
    issuing.award(again, badge, AwardInput(email="new@d7.example.org"), actor=ACTOR, env=env,
                  notify=False)  # fmt: skip
    assert credential_tally() == credential_recount()
