""" "Expiring soon" notices: one per credential within the warning window, never twice, none for
revoked or suspended credentials; and the ``cairn send-expiry-notices`` command."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text

import app as cairn
from app.cli import main
from app.extensions import db
from app.models import AuditEvent, EmailMessage
from app.services.awarding import issuing, revocation
from app.services.awarding.issuing import AwardInput
from app.services.delivery import expiry
from app.services.org import achievements, issuers
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput
from app.wiring import service_env, utcnow, wiring

ACTOR = Actor(label="test")
BASE_URL = "https://badges.example.org"


@pytest.fixture
def outbox(app: Flask, tmp_path: Path) -> Path:
    folder = tmp_path / "outbox"
    app.config["OUTBOX_DIR"] = str(folder)
    return folder


def notices() -> list[EmailMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(EmailMessage).where(EmailMessage.kind == "expiry").order_by(EmailMessage.id)
        )
    )


def test_one_notice_per_credential_expiring_soon(
    outbox: Path, make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    now = utcnow()
    issuer = make_issuer()
    achievement = make_achievement(issuer, "Coaching <Cycles>")
    soon = make_award(
        issuer,
        achievement,
        "soon@school.example.org",
        name="Ann",
        valid_until=now + timedelta(days=10),
    )
    make_award(
        issuer, achievement, "later@school.example.org", valid_until=now + timedelta(days=60)
    )
    make_award(issuer, achievement, "never@school.example.org")
    revoked = make_award(
        issuer, achievement, "revoked@school.example.org", valid_until=now + timedelta(days=5)
    )
    revocation.revoke(revoked, "Issued in error", actor=ACTOR, env=service_env())
    suspended = make_award(
        issuer, achievement, "suspended@school.example.org", valid_until=now + timedelta(days=5)
    )
    revocation.suspend(suspended, "Under review", actor=ACTOR, env=service_env())

    assert expiry.send_notices(service_env()) == 1
    assert expiry.send_notices(service_env()) == 0

    (notice,) = notices()
    assert notice.to_address == "soon@school.example.org"
    assert notice.credential_id == soon.id
    assert notice.sent_at is not None
    expires = f"{soon.valid_until:%B} {soon.valid_until.day}, {soon.valid_until.year}"
    assert notice.subject == (
        f"“Coaching <Cycles>” from District 7 Professional Learning expires on {expires}"
    )
    assert f"{BASE_URL}/credentials/{soon.id}" in notice.body_text
    assert (
        "contact District 7 Professional Learning at pd@district7.example.org" in notice.body_text
    )
    assert notice.body_html is not None and "Coaching &lt;Cycles&gt;" in notice.body_html
    db.session.refresh(soon)
    assert soon.expiry_notice_sent_at is not None
    events = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "credential.expiry_notice")
    )
    assert events == 1

    (eml,) = outbox.glob("*-expiry.eml")
    mime = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert mime["To"] == "soon@school.example.org"
    assert mime["Auto-Submitted"] == "auto-generated"


def test_the_window_moves_with_time(
    outbox: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    now = utcnow()
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    make_award(issuer, achievement, "soon@school.example.org", valid_until=now + timedelta(days=10))
    make_award(
        issuer, achievement, "later@school.example.org", valid_until=now + timedelta(days=60)
    )
    assert expiry.send_notices(service_env()) == 1

    # Forty days on, the first has expired (no notice for that) and the second is 20 days out.
    later = now + timedelta(days=40)
    monkeypatch.setattr(wiring(), "clock", lambda: later)
    assert expiry.send_notices(service_env()) == 1
    assert [n.to_address for n in notices()] == [
        "soon@school.example.org",
        "later@school.example.org",
    ]


def test_the_warning_period_is_a_setting(
    app: Flask, outbox: Path, make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    app.config["EXPIRY_WARNING_DAYS"] = 90
    now = utcnow()
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    make_award(issuer, achievement, "soon@school.example.org", valid_until=now + timedelta(days=10))
    make_award(
        issuer, achievement, "later@school.example.org", valid_until=now + timedelta(days=60)
    )
    assert expiry.send_notices(service_env()) == 2


def test_concurrent_runs_queue_each_notice_once(
    app: Flask, outbox: Path, make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    now = utcnow()
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    for number in range(6):
        make_award(
            issuer,
            achievement,
            f"t{number}@school.example.org",
            valid_until=now + timedelta(days=3 + number),
        )

    def run() -> int:
        with app.app_context():
            try:
                return expiry.queue_notices(service_env(), 30)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=3) as pool:
        counts = [future.result() for future in [pool.submit(run) for _ in range(3)]]
    assert sum(counts) == 6
    assert sorted(n.to_address for n in notices()) == [
        f"t{number}@school.example.org" for number in range(6)
    ]


@pytest.fixture
def engines_closed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close the database connections of the apps the CLI creates in-process (its commands
    leave them to the garbage collector, which warns about open PostgreSQL connections)."""
    created: list[Flask] = []
    real = cairn.create_app

    def recording(*args: Any, **kwargs: Any) -> Flask:
        application = real(*args, **kwargs)
        created.append(application)
        return application

    monkeypatch.setattr(cairn, "create_app", recording)
    yield
    for application in created:
        with application.app_context():
            db.engine.dispose()


@pytest.fixture
def logging_kept() -> Iterator[None]:
    """Undo what Alembic's ``fileConfig`` does to logging when ``db upgrade`` runs in-process
    (it replaces the root handlers and disables every logger it was not told about)."""
    loggers = [
        logging.getLogger(),
        *(
            logger
            for logger in logging.root.manager.loggerDict.values()
            if isinstance(logger, logging.Logger)
        ),
    ]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate, lg.disabled) for lg in loggers]
    yield
    for logger, level, handlers, propagate, disabled in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.disabled = disabled


def seed(expires: datetime) -> None:
    """An issuer and one award expiring at ``expires``, in the instance the environment names."""
    env = service_env()
    issuer = issuers.create_issuer(
        IssuerProfileInput(
            name="District 7 PD",
            url="https://district7.example.org",
            email="pd@district7.example.org",
        ),
        slug=None,
        owner=None,
        actor=ACTOR,
        env=env,
    )
    achievement = achievements.create_achievement(
        issuer,
        AchievementInput(
            name="Exit Tickets",
            description="Used exit tickets.",
            criteria_markdown="Use them for a term.",
        ),
        actor=ACTOR,
        env=env,
    )
    issuing.award(
        issuer,
        achievement,
        AwardInput(email="soon@school.example.org", valid_until=expires),
        actor=ACTOR,
        env=env,
        notify=False,
    )


# app/migrations/env.py calls Flask-SQLAlchemy's deprecated ``get_engine()``; the suite turns
# warnings into errors, and that file is not this test's.
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_the_cli_command_sends_each_notice_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    logging_kept: None,
    engines_closed: None,
) -> None:
    url = os.environ.get("CAIRN_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    if url.startswith("postgresql"):
        # Other tests leave tables made without migrations; the command starts from nothing.
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    outbox = tmp_path / "outbox"
    for name, value in {
        "CAIRN_ENV": "testing",
        "CAIRN_DATABASE_URL": url,
        "CAIRN_KEYS_DIR": str(tmp_path / "keys"),
        "CAIRN_BASE_URL": BASE_URL,
        "CAIRN_JOBS_INLINE": "true",
        "CAIRN_KEY_PASSPHRASE": "a long test passphrase, not a real one",
        "CAIRN_OUTBOX_DIR": str(outbox),
        "CAIRN_MAIL_FROM": "Cairn <badges@badges.example.org>",
    }.items():
        monkeypatch.setenv(name, value)

    assert main(["db", "upgrade"]) == 0
    instance = cairn.create_app()
    with instance.app_context():
        seed(utcnow() + timedelta(days=10))
        db.session.remove()
    capsys.readouterr()

    assert main(["send-expiry-notices"]) == 0
    assert capsys.readouterr().err.strip() == "1 notices"
    assert main(["send-expiry-notices"]) == 0
    assert capsys.readouterr().err.strip() == "0 notices"

    (eml,) = outbox.glob("*.eml")
    mime = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert mime["To"] == "soon@school.example.org"
    assert mime["Subject"].startswith("“Exit Tickets” from District 7 PD expires on ")
    assert mime["From"].addresses[0].display_name == "District 7 PD via Cairn"
    with instance.app_context():
        rows = list(db.session.scalars(select(EmailMessage)))
        assert [(r.kind, r.to_address, r.sent_at is not None) for r in rows] == [
            ("expiry", "soon@school.example.org", True)
        ]
        db.session.remove()


def test_the_notice_writes_its_date_in_the_applications_locale(
    app: Flask, outbox: Path, make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    # The locale is the application's default (Flask-Babel's), passed to the mail explicitly.
    app.config["BABEL_DEFAULT_LOCALE"] = "en_GB"
    issuer = make_issuer()
    expires = utcnow() + timedelta(days=10)
    make_award(issuer, make_achievement(issuer, "Exit Tickets"), valid_until=expires)
    assert service_env().settings.locale == "en_GB"
    assert expiry.send_notices(service_env()) == 1
    (notice,) = notices()
    said = f"{expires.day} {expires:%B} {expires.year}"
    assert notice.subject.endswith(f"expires on {said}")
    assert f"expires on {said}." in notice.body_text
