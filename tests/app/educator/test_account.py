"""The account page: name, bio and the profile switch; addresses added with a confirmation link
that only works for the educator who added them, made primary, removed; nothing of anyone else's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, Educator, EducatorEmail, EmailMessage, IssuedCredential, Issuer
from app.services.learning import educators
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.educator.educator_helpers import (
    count,
    make_educator,
    sign_in_as,
    signed_in_educator,
    token_from_mail,
)

ANN = "ann.lee@school.example.org"
ANN_HOME = "ann@home.example.net"
BOB = "bob@school.example.org"


def body(response: Any) -> str:
    text: str = response.get_data(as_text=True)
    return text


def address(email: str) -> EducatorEmail:
    row = db.session.scalar(select(EducatorEmail).where(EducatorEmail.email == email))
    assert row is not None
    return row


def test_the_account_page_is_accessible(web: Web) -> None:
    sign_in_as(web, make_educator(ANN))
    page = body(web.get("/me/account"))
    for field in ("name", "bio", "profile_public", "new-email"):
        assert f'<label for="{field}">' in page
    assert ANN in page and "primary" in page
    assert 'aria-current="page">Account' in page


def test_changing_name_bio_and_the_profile_switch(web: Web) -> None:
    ann = make_educator(ANN)
    sign_in_as(web, ann)
    response = web.submit(
        "/me/account", data={"name": " Ann B. Lee ", "bio": "Year 4", "profile_public": "1"}
    )
    assert response.status_code == 303
    db.session.refresh(ann)
    assert (ann.name, ann.bio, ann.profile_public) == ("Ann B. Lee", "Year 4", True)
    web.submit("/me/account", data={"name": "Ann B. Lee"})
    db.session.refresh(ann)
    assert ann.profile_public is False and ann.bio is None


def test_a_bad_account_form_is_explained_and_changes_nothing(web: Web) -> None:
    ann = make_educator(ANN)
    sign_in_as(web, ann)
    response = web.submit("/me/account", data={"name": "", "bio": "x" * 2001})
    page = body(response)
    assert response.status_code == 400
    assert "Enter your name." in page and "Use at most 2000 characters." in page
    db.session.refresh(ann)
    assert ann.name == "Ann Lee" and ann.bio is None


def test_adding_and_confirming_an_address_brings_its_credentials(
    web: Web,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    issuer = make_issuer()
    credential = make_award(issuer, make_achievement(issuer), ANN_HOME)
    ann = make_educator(ANN)
    sign_in_as(web, ann)
    response = web.submit("/me/account", "/me/account/emails", {"email": ANN_HOME})
    assert response.status_code == 303
    assert "We have sent a confirmation link" in body(web.get("/me/account"))
    assert "Waiting for confirmation" in body(web.get("/me/account"))
    assert credential.id not in body(web.get("/me/"))

    path = f"/me/emails/verify/{token_from_mail(ANN_HOME, 'verify_email')}"
    opened = web.get(path)
    assert opened.status_code == 200 and opened.headers["Referrer-Policy"] == "no-referrer"
    assert opened.mimetype == "text/html"
    assert address(ANN_HOME).verified_at is None  # opening it confirms nothing
    assert web.submit(path).status_code == 303
    assert address(ANN_HOME).verified_at is not None
    assert f"/me/credentials/{credential.id}" in body(web.get("/me/"))


def test_a_confirmation_link_only_works_for_the_educator_who_added_the_address(
    web: Web, client: Any
) -> None:
    ann = make_educator(ANN)
    educators.add_email(ann, ANN_HOME, service_env())
    path = f"/me/emails/verify/{token_from_mail(ANN_HOME, 'verify_email')}"
    # Signed out: sign in first, and come back.
    response = web.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/me/sign-in")
    # Bob opening Ann's link confirms nothing, and leaves the link usable for Ann.
    sign_in_as(web, make_educator(BOB, "Bob"))
    refused = web.get(path)
    assert refused.status_code == 400 and "another Cairn account" in body(refused)
    assert refused.mimetype == "text/html"
    token = web.csrf_token("/me/account")
    posted = web.client.post(path, data={"csrf_token": token}, base_url=BASE_URL)
    assert posted.status_code == 400
    assert address(ANN_HOME).verified_at is None
    sign_in_as(web, ann)
    assert web.submit(path).status_code == 303
    assert address(ANN_HOME).verified_at is not None


def test_adding_a_bad_or_taken_address_is_explained(web: Web) -> None:
    make_educator(BOB, "Bob")
    sign_in_as(web, make_educator(ANN))
    bad = web.submit("/me/account", "/me/account/emails", {"email": "not an address"})
    assert bad.status_code == 400 and "Enter an email address like" in body(bad)
    taken = web.submit("/me/account", "/me/account/emails", {"email": BOB})
    assert taken.status_code == 409 and "another Cairn account" in body(taken)
    assert count(EducatorEmail) == 2 and count(EmailMessage) == 0


def test_primary_address_and_removal(web: Web) -> None:
    ann = make_educator(ANN)
    educators.add_email(ann, ANN_HOME, service_env())
    educators.verify_email(token_from_mail(ANN_HOME, "verify_email"), service_env(), educator=ann)
    sign_in_as(web, ann)
    home = address(ANN_HOME)
    response = web.submit("/me/account", f"/me/account/emails/{home.id}/primary")
    assert response.status_code == 303
    db.session.refresh(ann)
    assert educators.primary_email(ann) == ANN_HOME
    school = address(ANN)
    assert web.submit("/me/account", f"/me/account/emails/{school.id}/delete").status_code == 303
    db.session.refresh(ann)
    assert [e.email for e in ann.emails] == [ANN_HOME]
    last = web.submit("/me/account", f"/me/account/emails/{home.id}/delete")
    assert last.status_code == 409 and "at least one confirmed address" in body(last)


def test_one_educator_cannot_touch_anothers_addresses(web: Web) -> None:
    ann = make_educator(ANN)
    educators.add_email(ann, ANN_HOME, service_env())
    educators.verify_email(token_from_mail(ANN_HOME, "verify_email"), service_env(), educator=ann)
    sign_in_as(web, make_educator(BOB, "Bob"))
    assert ANN not in body(web.get("/me/account"))
    for email in (ANN, ANN_HOME):
        row = address(email)
        for action in ("primary", "delete"):
            response = web.submit("/me/account", f"/me/account/emails/{row.id}/{action}")
            assert response.status_code == 404
    db.session.refresh(ann)
    assert sorted(e.email for e in ann.emails) == sorted([ANN, ANN_HOME])
    assert ann.primary_email is None


def test_signing_out_from_the_account_page(web: Web) -> None:
    ann = make_educator(ANN)
    sign_in_as(web, ann)
    assert signed_in_educator(web) == ann.id
    response = web.submit("/me/account", "/me/sign-out")
    assert response.status_code == 303 and signed_in_educator(web) is None
    assert db.session.get(Educator, ann.id) is not None
