"""No usable secret at rest: after every kind of mail that carries a secret link is sent (an
educator's sign-in link, an address confirmation, a cohort invitation, a staff invitation, a
password reset, a learning partner's invitation, the award's manage and claim links), no column
of any table holds the token or the link, while the mail as delivered holds the working link. A
message still waiting to be sent holds the link only encrypted, bound to its recipient."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.models import Achievement, EmailMessage, IssuedCredential, Issuer, StaffAccount
from app.services.learning import cohorts, completion, educators, enrolments, partners
from app.services.mail import emails
from app.wiring import service_env
from tests.app.auth.test_auth import like_a_browser
from tests.app.conftest import BASE_URL, Web, sign_in_directly
from tests.app.mail_helpers import (
    assert_nowhere_in_database,
    database_text,
    delivered,
    latest_delivered,
    link_in_delivered,
)
from tests.app.services.learning.test_learning_modules import answer_all, build

ANN = "ann.lee@school.example.org"
OWNER = "owner@district7.example.org"
NEW = "new.person@district7.example.org"
PARTNER = "ben.partner@school.example.org"
TOKEN = r"([A-Za-z0-9_\-]{40,})"


def link(path: str) -> re.Pattern[str]:
    return re.compile(re.escape(BASE_URL) + path + TOKEN)


def make_educator(email: str = ANN, name: str = "Ann Lee") -> Any:
    found = educators.create(email, name, service_env(), verified=True)
    db.session.commit()
    return found


def sign_in_as(web: Web, educator: Any) -> None:
    sign_in_directly(web.client, "educator", educator.id)


def stored_bodies() -> list[str]:
    rows = db.session.scalars(db.select(EmailMessage)).all()
    return [m.body_text + (m.body_html or "") for m in rows]


@pytest.fixture
def web(client: Any) -> Web:
    return like_a_browser(client)


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], make_staff: Callable[..., StaffAccount]) -> Issuer:
    return make_issuer(owner=make_staff(OWNER))


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer)


def check_secret_link(match: re.Match[str]) -> None:
    """The delivered link's token and the whole link are nowhere in the database, and every
    stored body says the link was removed."""
    token, whole = match.group(1), match.group(0)
    assert_nowhere_in_database(token, whole)
    assert any("[link removed once sent]" in body for body in stored_bodies())


# --- every kind of mail with a secret link -------------------------------------------------------


def test_an_educator_sign_in_link(app: Flask, web: Web) -> None:
    educators.request_sign_in(ANN, service_env())
    match = link_in_delivered(link("/me/sign-in/"), ANN, "sign_in")
    check_secret_link(match)
    # The recipient can still use it.
    used = web.submit(f"/me/sign-in/{match.group(1)}")
    # A first sign-in asks for the name credentials carry before anything else.
    assert used.status_code == 303 and used.headers["Location"].endswith("/me/name")


def test_an_address_confirmation_link(app: Flask, web: Web) -> None:
    ann = make_educator()
    educators.add_email(ann, "ann@home.example.org", service_env())
    match = link_in_delivered(link("/me/emails/verify/"), "ann@home.example.org", "verify_email")
    check_secret_link(match)
    sign_in_as(web, ann)
    assert web.submit(f"/me/emails/verify/{match.group(1)}").status_code == 303
    assert "ann@home.example.org" in educators.verified_emails(ann)


def test_a_cohort_invitation(app: Flask, web: Web, issuer: Issuer, badge: Achievement) -> None:
    module = build(issuer, badge, enrolment_mode="cohort")
    cohort = f"email,name\n{ANN},Ann Lee\n".encode()
    cohorts.enrol_cohort(module, cohort, actor=completion.MODULE_ACTOR, env=service_env())
    match = link_in_delivered(link("/me/sign-in/"), ANN, "module_invite")
    check_secret_link(match)
    assert web.submit(f"/me/sign-in/{match.group(1)}").status_code == 303


def test_a_staff_invitation(app: Flask, web: Web, issuer: Issuer) -> None:
    web.sign_in(OWNER)
    members = f"/workspace/{issuer.slug}/members"
    invited = web.submit(members, f"{members}/invite", data={"email": NEW, "name": "Nell New",
                                                               "role": "editor"})  # fmt: skip
    assert invited.status_code == 302
    match = link_in_delivered(link("/invite/"), NEW, "invite")
    check_secret_link(match)
    page = like_a_browser(app.test_client()).get(f"/invite/{match.group(1)}")
    assert page.status_code == 200 and "Nell New" in page.get_data(as_text=True)


def test_a_password_reset(app: Flask, web: Web, issuer: Issuer) -> None:
    assert web.submit("/password/forgot", data={"email": OWNER}).status_code == 302
    match = link_in_delivered(link("/password/reset/"), OWNER, "reset")
    check_secret_link(match)
    assert web.get(f"/password/reset/{match.group(1)}").status_code == 200


def test_a_learning_partner_invitation(
    app: Flask, web: Web, issuer: Issuer, badge: Achievement
) -> None:
    ann = make_educator()
    enrolment = enrolments.enrol(ann, build(issuer, badge), service_env())
    answer_all(enrolment, ann)
    partners.invite_partner(enrolment, ann, "Ben Partner", PARTNER, service_env())
    match = link_in_delivered(link("/partner/"), PARTNER, "partner_invite")
    check_secret_link(match)
    page = web.get(f"/partner/{match.group(1)}")
    assert page.status_code == 200 and "Ann Lee" in page.get_data(as_text=True)
    assert web.submit(f"/partner/{match.group(1)}").status_code == 303


def test_the_award_email_and_its_manage_link(
    app: Flask,
    web: Web,
    issuer: Issuer,
    badge: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    credential = make_award(issuer, badge, ANN)
    match = link_in_delivered(link(f"/credentials/{credential.id}/manage/"), ANN, "award")
    check_secret_link(match)
    # Only a hash of the random token is kept, so the link is no signature of the id.
    assert hashlib.sha256(match.group(1).encode()).hexdigest() in database_text()
    page = web.get(f"/credentials/{credential.id}/manage/{match.group(1)}")
    assert page.status_code == 200 and "Manage your credential" in page.get_data(as_text=True)
    # The public link stays in the stored message: it is no secret.
    assert any(f"{BASE_URL}/credentials/{credential.id}" in body for body in stored_bodies())


def test_the_award_emails_claim_link(
    app: Flask,
    web: Web,
    issuer: Issuer,
    badge: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    credential = make_award(issuer, badge, ANN)
    match = link_in_delivered(link(f"/me/claim/{credential.id}/"), ANN, "award")
    check_secret_link(match)
    assert hashlib.sha256(match.group(1).encode()).hexdigest() in database_text()
    used = web.submit(f"/me/claim/{credential.id}/{match.group(1)}")
    assert used.status_code == 303
    assert used.headers["Location"].endswith(f"/me/credentials/{credential.id}/claim")


# --- while a message waits to be sent -------------------------------------------------------------


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mail stays queued until the test delivers it (as when the mail server is down)."""
    monkeypatch.setattr(emails, "deliver_soon", lambda env: None)


def test_a_queued_message_holds_its_link_only_encrypted(app: Flask, held: None) -> None:
    educators.request_sign_in(ANN, service_env())
    message = db.session.scalars(db.select(EmailMessage)).one()
    assert message.sent_at is None and message.secret is not None
    dump_while_queued = database_text()

    assert emails.deliver_pending(service_env()) == 1
    match = link_in_delivered(link("/me/sign-in/"), ANN, "sign_in")
    assert match.group(1) not in dump_while_queued
    assert match.group(0) not in dump_while_queued
    # Once sent, even the ciphertext is gone.
    db.session.refresh(message)
    assert message.sent_at is not None and message.secret is None
    assert "[link removed once sent]" in message.body_text
    assert "[link removed once sent]" in (message.body_html or "")
    assert_nowhere_in_database(match.group(1))


def test_a_ciphertext_moved_to_another_message_sends_no_link(app: Flask, held: None) -> None:
    """Someone who can write to the database cannot have Ann's link sent to their address."""
    educators.request_sign_in(ANN, service_env())
    educators.request_sign_in("mallory@attacker.example.org", service_env())
    ann_message, mallory_message = db.session.scalars(
        db.select(EmailMessage).order_by(EmailMessage.id)
    ).all()
    mallory_message.secret = ann_message.secret
    db.session.commit()

    emails.deliver_pending(service_env())
    assert delivered("mallory@attacker.example.org") == []
    db.session.refresh(mallory_message)
    assert mallory_message.sent_at is None
    assert "cannot be decrypted" in (mallory_message.last_error or "")
    ann_link = link_in_delivered(link("/me/sign-in/"), ANN, "sign_in")
    assert ann_link


def test_a_message_given_up_on_forgets_its_link(
    app: Flask, held: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["MAIL_FROM"] = "not an address"  # every attempt fails
    educators.request_sign_in(ANN, service_env())
    for _ in range(emails.MAX_ATTEMPTS):
        emails.deliver_pending(service_env())
    message = db.session.scalars(db.select(EmailMessage)).one()
    assert emails.status(message) == "failed"
    assert message.secret is None
    assert "[link removed" in message.body_text


def test_a_changed_secret_key_fails_the_message_without_a_500(app: Flask, held: None) -> None:
    educators.request_sign_in(ANN, service_env())
    app.config["SECRET_KEY"] = "another secret key, at least thirty-two characters"
    assert emails.deliver_pending(service_env()) == 0
    message = db.session.scalars(db.select(EmailMessage)).one()
    assert message.sent_at is None and "cannot be decrypted" in (message.last_error or "")
    assert latest_delivered_or_none(ANN) is None


def latest_delivered_or_none(to: str) -> str | None:
    return latest_delivered(to) if delivered(to) else None
