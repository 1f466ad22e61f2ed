"""The migration that takes secret links out of the database: stored mail bodies lose every
secret link once the message was sent (or given up on); mail still waiting keeps working links,
encrypted as the application now keeps them; old signed manage links in waiting mail become the
page that offers a new one; outstanding partner invitations get an expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import text

from app import MIGRATIONS, create_app
from app.extensions import db
from app.models import EmailMessage, Enrolment
from app.services.mail import emails
from app.wiring import service_env
from tests.app.guarantee_instance import BASE_URL, preserved_logging
from tests.app.mail_helpers import database_text
from tests.app.migrations.test_migrations import script_directory

SIGN_IN_TOKEN = "S" * 43
RESET_TOKEN = "R" * 43
OLD_MANAGE = "IjAwMDAwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMSI.c2lnbmF0dXJlX2hlcmU"
CREDENTIAL = "00000000-0000-4000-8000-000000000001"
INVITED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def this_revision() -> tuple[str, str]:
    """This migration's revision and the one before it (found by name: the ids may be
    renumbered when branches are merged)."""
    for revision in script_directory().walk_revisions():
        if "secret_links_at_rest" in str(revision.path):
            assert isinstance(revision.down_revision, str)
            return revision.revision, revision.down_revision
    raise AssertionError("the migration is missing")


@pytest.fixture
def before(tmp_path: Path) -> Iterator[Flask]:
    application = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}",
            "KEYS_DIR": str(tmp_path / "keys"),
            "BASE_URL": BASE_URL,
            # Jobs (mail after an award) run in the test's thread: one in a pool thread could
            # still hold a connection when the engine is disposed and the database dropped.
            "JOBS_INLINE": True,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
        }
    )
    with application.app_context():
        with preserved_logging():
            flask_migrate.upgrade(directory=MIGRATIONS, revision=this_revision()[1])
        yield application
        db.session.remove()
        db.engine.dispose()


def mail(
    connection, *, kind: str, body: str, sent: bool, to: str = "ann@school.example.org"
) -> None:
    connection.execute(
        text(
            "INSERT INTO email_message (kind, to_address, subject, body_text, body_html, "
            "created_at, sent_at, attempts) VALUES (:kind, :to, 'S', :body, :html, :now, :sent, 0)"
        ),
        {
            "kind": kind,
            "to": to,
            "body": body,
            "html": f'<p><a href="{body.split(": ", 1)[1]}">x</a></p>',
            "now": INVITED,
            "sent": INVITED if sent else None,
        },
    )


def test_stored_links_are_removed_or_encrypted(before: Flask) -> None:
    sign_in = f"{BASE_URL}/me/sign-in/{SIGN_IN_TOKEN}"
    reset = f"{BASE_URL}/password/reset/{RESET_TOKEN}"
    manage = f"{BASE_URL}/credentials/{CREDENTIAL}/manage/{OLD_MANAGE}"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # The enrolment below names no real module or educator; only its columns matter here.
        connection.execute(text("PRAGMA foreign_keys=OFF"))
        mail(connection, kind="sign_in", body=f"Sign in: {sign_in}", sent=True)
        mail(connection, kind="reset", body=f"Reset: {reset}", sent=False)
        mail(connection, kind="award", body=f"Manage: {manage}", sent=True)
        mail(connection, kind="award", body=f"Manage: {manage}", sent=False)
        connection.execute(
            text(
                "INSERT INTO enrolment (module_id, educator_id, state, enrolled_at, enrolled_by, "
                "partner_token_hash, partner_invited_at) VALUES (1, 1, 'in_progress', :now, "
                "'self', :hash, :now)"
            ),
            {"now": INVITED, "hash": "0" * 64},
        )
    with preserved_logging():
        flask_migrate.upgrade(directory=MIGRATIONS, revision=this_revision()[0])

    sent_sign_in, waiting_reset, sent_award, waiting_award = db.session.scalars(
        db.select(EmailMessage).order_by(EmailMessage.id)
    ).all()
    assert sent_sign_in.body_text == "Sign in: [link removed]"
    assert sent_sign_in.body_html == '<p><a href="[link removed]">x</a></p>'
    assert sent_sign_in.secret is None
    assert sent_award.body_text == "Manage: [link removed]"
    # Waiting mail still goes out with its working link, which rests only encrypted.
    assert RESET_TOKEN not in waiting_reset.body_text + (waiting_reset.body_html or "")
    assert waiting_reset.secret is not None
    composed = emails.compose(waiting_reset, service_env().mail_settings, now=datetime.now(UTC))
    assert reset in composed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    # An old signed manage link no longer works: the mail leads to where a new one is offered.
    assert waiting_award.body_text == f"Manage: {BASE_URL}/credentials/{CREDENTIAL}/manage"
    dump = database_text()
    for secret in (SIGN_IN_TOKEN, RESET_TOKEN, OLD_MANAGE):
        assert secret not in dump
    (enrolment,) = db.session.scalars(db.select(Enrolment)).all()
    assert enrolment.partner_expires_at == INVITED + timedelta(days=30)
    assert enrolment.partner_revoked_at is None
