"""Secret links that act without signing in expire and can be revoked: a learning partner's
invitation (``PARTNER_LINK_DAYS``; withdrawn by the educator or by staff) and, from the backpack,
the earner's manage links (revoke them all, email a new one). A link that no longer works shows
a page that says why and how to get a new one (404 or 410, never a 500), with the secret-page
headers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.config import ConfigError
from app.extensions import db
from app.models import (
    Achievement,
    AuditEvent,
    Enrolment,
    IssuedCredential,
    Issuer,
    ManageLink,
    StaffAccount,
)
from app.services._core.errors import Conflict
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput
from app.services.learning import educators, enrolments, partners
from app.services.org import achievements, issuers
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput
from app.wiring import service_env
from tests.app.auth.test_auth import like_a_browser
from tests.app.conftest import BASE_URL, Web, database_url, reset_schema, sign_in_directly
from tests.app.mail_helpers import delivered, latest_delivered, link_in_delivered
from tests.app.services.learning.test_learning_modules import answer_all, build

ANN = "ann.lee@school.example.org"
PARTNER = "ben.partner@school.example.org"
PARTNER_LINK = re.compile(re.escape(BASE_URL) + r"/partner/([A-Za-z0-9_\-]+)")


def sign_in_educator(web: Web, educator: Any) -> None:
    sign_in_directly(web.client, "educator", educator.id)


def sign_in_staff(web: Web, account: StaffAccount) -> None:
    sign_in_directly(web.client, "staff", account.id)


def assert_secret_headers(response: Any) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff()


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], owner: StaffAccount) -> Issuer:
    return make_issuer(owner=owner)


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer)


@pytest.fixture
def ann(app: Flask) -> Any:
    found = educators.create(ANN, "Ann Lee", service_env(), verified=True)
    db.session.commit()
    return found


@pytest.fixture
def invited(ann: Any, issuer: Issuer, badge: Achievement) -> tuple[Enrolment, str]:
    """Ann's enrolment, all answered, with an invitation to Ben; and Ben's link's token."""
    enrolment = enrolments.enrol(ann, build(issuer, badge), service_env())
    answer_all(enrolment, ann)
    partners.invite_partner(enrolment, ann, "Ben Partner", PARTNER, service_env())
    return enrolment, link_in_delivered(PARTNER_LINK, PARTNER, "partner_invite").group(1)


@pytest.fixture
def set_clock(app: Flask) -> Callable[[datetime], None]:
    def move(now: datetime) -> None:
        app.extensions["cairn.wiring"].clock = lambda: now

    return move


# --- learning partner invitations -------------------------------------------------------------


def test_a_partner_invitation_expires(
    app: Flask,
    web: Web,
    invited: tuple[Enrolment, str],
    set_clock: Callable[[datetime], None],
) -> None:
    enrolment, token = invited
    assert enrolment.partner_invited_at is not None and enrolment.partner_expires_at is not None
    days = app.config["PARTNER_LINK_DAYS"]
    assert enrolment.partner_expires_at - enrolment.partner_invited_at == timedelta(days=days)
    assert f"It works for {days} days" in latest_delivered(PARTNER, "partner_invite")

    set_clock(enrolment.partner_expires_at)
    page = web.get(f"/partner/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 410
    expired = enrolment.partner_expires_at
    assert f"expired on {expired:%B} {expired.day}, {expired.year}" in html
    assert "ask them to invite you again" in html and "Ann Lee" in html
    assert_secret_headers(page)
    # Confirming is refused the same way, and confirms nothing.
    confirm = web.client.post(
        f"/partner/{token}", data={"csrf_token": web.csrf_token("/me/sign-in")}, base_url=BASE_URL
    )
    assert confirm.status_code == 410
    db.session.refresh(enrolment)
    assert enrolment.partner_confirmed_at is None
    assert partners.partner_invitation_state(enrolment, service_env()) == "expired"


def test_a_new_invitation_replaces_an_expired_one(
    app: Flask, invited: tuple[Enrolment, str], ann: Any, set_clock: Callable[[datetime], None]
) -> None:
    enrolment, _ = invited
    later = enrolment.partner_expires_at
    assert later is not None
    set_clock(later + timedelta(days=1))
    partners.invite_partner(enrolment, ann, "Ben Partner", PARTNER, service_env())
    token = link_in_delivered(PARTNER_LINK, PARTNER, "partner_invite").group(1)
    view = partners.partner_view(token, service_env())
    assert view.enrolment.partner_expires_at == later + timedelta(
        days=1 + app.config["PARTNER_LINK_DAYS"]
    )


def test_the_educator_withdraws_an_invitation(
    app: Flask, web: Web, invited: tuple[Enrolment, str], ann: Any
) -> None:
    enrolment, token = invited
    module_page = f"/me/modules/{enrolment.module.public_id}"
    educator_web = like_a_browser(app.test_client())
    sign_in_educator(educator_web, ann)
    assert "Withdraw the invitation" in educator_web.get(module_page).get_data(as_text=True)
    withdrawn = educator_web.submit(module_page, f"{module_page}/partner/revoke")
    assert withdrawn.status_code == 303
    page = educator_web.get(module_page).get_data(as_text=True)
    assert "no longer works" in page and "Withdrawn" in page

    gone = web.get(f"/partner/{token}")
    assert gone.status_code == 410 and "was withdrawn on" in gone.get_data(as_text=True)
    assert_secret_headers(gone)
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "module.partner_revoke")
    )
    assert event is not None and event.actor == f"educator:{ann.id}"
    # Nothing left to withdraw: said on the page, not a 500.
    again = educator_web.submit(module_page, f"{module_page}/partner/revoke")
    assert again.status_code == 409
    assert "no outstanding learning partner invitation" in again.get_data(as_text=True)
    # Inviting again gives a new, working link.
    partners.invite_partner(enrolment, ann, "Ben Partner", PARTNER, service_env())
    fresh = link_in_delivered(PARTNER_LINK, PARTNER, "partner_invite").group(1)
    assert fresh != token and web.get(f"/partner/{fresh}").status_code == 200


def test_staff_withdraw_an_invitation(
    app: Flask, web: Web, invited: tuple[Enrolment, str], owner: StaffAccount, issuer: Issuer
) -> None:
    enrolment, token = invited
    staff_web = like_a_browser(app.test_client())
    sign_in_staff(staff_web, owner)
    detail = f"/workspace/{issuer.slug}/modules/{enrolment.module.public_id}"
    assert "Withdraw the invitation" in staff_web.get(detail).get_data(as_text=True)
    action = f"{detail}/enrolments/{enrolment.id}/partner/revoke"
    response = staff_web.submit(detail, action)
    assert response.status_code == 303
    assert "Invitation withdrawn" in staff_web.get(detail).get_data(as_text=True)
    assert web.get(f"/partner/{token}").status_code == 410
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "module.partner_revoke")
    )
    assert event is not None and event.actor_id == owner.id
    # Withdrawing it again is refused with a message, not a 500.
    again = staff_web.submit(detail, action)
    assert again.status_code == 303
    assert "no outstanding" in staff_web.get(again.headers["Location"]).get_data(as_text=True)


def test_a_confirmed_invitation_cannot_be_withdrawn(invited: tuple[Enrolment, str]) -> None:
    enrolment, token = invited
    partners.confirm_partner(token, service_env())
    with pytest.raises(Conflict):
        partners.revoke_partner(enrolment, actor=Actor(label="test"), env=service_env())


def test_an_unknown_partner_link_explains(web: Web) -> None:
    page = web.get("/partner/" + "x" * 43)
    assert page.status_code == 404
    assert "invite you again" in page.get_data(as_text=True)
    assert_secret_headers(page)


# --- manage links from the backpack -------------------------------------------------------------


def test_the_backpack_revokes_manage_links_and_sends_a_new_one(
    app: Flask,
    web: Web,
    ann: Any,
    issuer: Issuer,
    badge: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    educator_web = like_a_browser(app.test_client())  # before any request is handled
    credential = make_award(issuer, badge, ANN)
    manage = re.compile(
        re.escape(f"{BASE_URL}/credentials/{credential.id}/manage/") + r"([A-Za-z0-9_\-]+)"
    )
    emailed = link_in_delivered(manage, ANN, "award").group(0).removeprefix(BASE_URL)
    assert web.get(emailed).status_code == 200

    sign_in_educator(educator_web, ann)
    page = f"/me/credentials/{credential.id}"
    assert "Stop emailed links working" in educator_web.get(page).get_data(as_text=True)
    assert educator_web.submit(page, f"{page}/manage-links/revoke").status_code == 303
    assert "no longer work" in educator_web.get(page).get_data(as_text=True)
    assert web.get(emailed).status_code == 410
    assert all(link.revoked_at is not None for link in db.session.scalars(select(ManageLink)))

    assert educator_web.submit(page, f"{page}/manage-links/send").status_code == 303
    new = link_in_delivered(manage, ANN, "manage_link").group(0).removeprefix(BASE_URL)
    assert new != emailed and web.get(new).status_code == 200


# --- settings and limits ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MANAGE_LINK_DAYS", "PARTNER_LINK_DAYS"])
@pytest.mark.parametrize("value", [0, -1, 4000, "30", True, None])
def test_unusable_link_lifetimes_stop_the_start(tmp_path: Path, name: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=f"CAIRN_{name} must be a whole number of days"):
        create_app({"ENV": "testing", "DATABASE_URL": database_url(tmp_path),
                    "KEYS_DIR": str(tmp_path / "keys"), "BASE_URL": BASE_URL, name: value})  # fmt: skip


def test_a_credential_is_sent_few_new_manage_links_whoever_asks(tmp_path: Path) -> None:
    """The recipient's mailbox is what the limit protects: one budget per credential, spent
    only by requests that send mail."""
    (tmp_path / "limited").mkdir()
    limited = create_app({
        "ENV": "testing", "DATABASE_URL": database_url(tmp_path / "limited"),
        "KEYS_DIR": str(tmp_path / "keys"), "BASE_URL": BASE_URL, "JOBS_INLINE": True,
        "RATELIMIT_ENABLED": True, "OUTBOX_DIR": str(tmp_path / "outbox-limited"),
        "MANAGE_LINK_EMAIL_RATE_LIMIT": "2 per hour",
    })  # fmt: skip
    with limited.app_context():
        reset_schema()
        issuer = issuers.create_issuer(
            IssuerProfileInput(name="District 7", url="https://district7.example.org"),
            slug=None, owner=None, actor=Actor(label="test"), env=service_env(),
        )  # fmt: skip
        achievement = achievements.create_achievement(
            issuer, AchievementInput(name="Badge", description="D", criteria_markdown="C"),
            actor=Actor(label="test"), env=service_env(),
        )  # fmt: skip
        credential = issuing.award(issuer, achievement, AwardInput(email=ANN),
                                   actor=Actor(label="test"), env=service_env())  # fmt: skip
        web = Web(limited.test_client())
        web.client.environ_base["HTTP_REFERER"] = BASE_URL + "/"
        path = f"/credentials/{credential.id}/manage"

        def ask(email: str, ip: str) -> int:
            token = web.csrf_token(path)
            response = web.client.post(path, data={"csrf_token": token, "email": email},
                                       base_url=BASE_URL, environ_base={"REMOTE_ADDR": ip})  # fmt: skip
            return response.status_code

        # Wrong addresses send nothing and spend nothing.
        assert [ask("someone@else.example.org", f"198.51.100.{n}") for n in range(3)] == [200] * 3
        assert [ask(ANN, f"198.51.100.{n}") for n in range(10, 13)] == [200, 200, 429]
        assert len(delivered(ANN, "manage_link")) == 2
        db.session.remove()
        db.engine.dispose()
