"""The educator's name and claim screens: the name asked at first sign-in and before completion
("Issued to: … — change"), and a credential claimed from its award email (sign in by the
claim link, confirm the name, choose its visibility)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.models import Educator, IssuedCredential
from app.services.learning import educators, enrolments
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.educator.educator_helpers import make_educator, sign_in_as, sign_in_by_link
from tests.app.mail_helpers import body_of, delivered
from tests.app.services.learning.test_learning_modules import answer_all, build

ANN = "ann.lee@school.example.org"
CLAIM_LINK = re.compile(re.escape(BASE_URL) + r"(/me/claim/[0-9a-f-]{36}/[A-Za-z0-9_-]{43})")


def claim_path(address: str) -> str:
    """The path of the latest claim link delivered to ``address``."""
    match = CLAIM_LINK.search(body_of(delivered(to=address, kind="award")[-1]))
    assert match, "the award mail has no claim link"
    return match.group(1)


def unnamed(email: str = ANN) -> Educator:
    found = educators.create(email, "", service_env(), verified=True)
    db.session.commit()
    return found


@pytest.fixture
def issuer(make_issuer: Any) -> Any:
    return make_issuer()


@pytest.fixture
def badge(issuer: Any, make_achievement: Any) -> Any:
    return make_achievement(issuer, "Formative Assessment in Practice")


def test_the_first_sign_in_asks_for_the_name(app: Flask, web: Web) -> None:
    response = sign_in_by_link(web, ANN)
    assert response.status_code == 303 and response.headers["Location"].endswith("/me/name")
    page = web.get("/me/name").get_data(as_text=True)
    assert "Name on your credentials" in page and "ann.lee" not in page.split("<main")[-1]
    refused = web.submit("/me/name", data={"name": "Ann Lee", "credential_name": " "})
    assert refused.status_code == 400
    assert "Enter the name for your credentials." in refused.get_data(as_text=True)
    done = web.submit("/me/name", data={"name": "Ann Lee", "credential_name": "Dr. Ann Lee"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/me/")
    educator = educators.find_by_email(ANN)
    assert educator is not None and educator.credential_name == "Dr. Ann Lee"
    assert web.get("/me/name").status_code == 200  # it can be changed (for what comes next)


def test_the_name_page_returns_to_where_it_was_asked_and_nowhere_else(app: Flask, web: Web) -> None:
    sign_in_as(web, unnamed())
    data = {"name": "Ann", "credential_name": "Ann Lee"}
    back = web.submit("/me/name", data={**data, "next": "/me/modules"})
    assert back.headers["Location"].endswith("/me/modules")
    away = web.submit("/me/name", data={**data, "next": "//evil.example.org/"})
    assert away.headers["Location"].endswith("/me/")


def test_the_name_page_needs_a_sign_in(app: Flask, web: Web) -> None:
    response = web.get("/me/name")
    assert response.status_code == 302 and "/me/sign-in" in response.headers["Location"]


def test_the_module_shows_who_it_is_issued_to_and_asks_first(
    app: Flask, web: Web, issuer: Any, badge: Any
) -> None:
    module = build(issuer, badge, requires_partner=False)
    ann = unnamed()
    enrolment = enrolments.enrol(ann, module, service_env())
    answer_all(enrolment, ann)
    sign_in_as(web, ann)
    path = f"/me/modules/{module.public_id}"
    page = web.get(path).get_data(as_text=True)
    assert "confirm the name your credentials carry" in page
    asked = web.submit(path, f"{path}/complete")
    assert asked.status_code == 303
    assert asked.headers["Location"].endswith(f"/me/name?next=/me/modules/{module.public_id}")
    assert db.session.query(IssuedCredential).count() == 0
    web.submit("/me/name", data={"name": "Ann", "credential_name": "Ann M. Lee"})
    page = web.get(path).get_data(as_text=True)
    assert "Issued to: <strong>Ann M. Lee</strong>" in page
    assert web.submit(path, f"{path}/complete").status_code == 303
    credential = db.session.query(IssuedCredential).one()
    assert credential.recipient_name == "Ann M. Lee" and credential.claimed_at is not None


def test_a_staff_award_is_claimed_from_its_email(
    app: Flask, web: Web, issuer: Any, badge: Any, make_award: Any
) -> None:
    credential = make_award(issuer, badge, ANN)
    path = claim_path(ANN)
    button = web.get(path)
    assert button.status_code == 200 and ANN in button.get_data(as_text=True)
    assert button.headers["Cache-Control"] == "no-store"
    signed_in = web.submit(path)
    assert signed_in.status_code == 303
    claim_page = f"/me/credentials/{credential.id}/claim"
    assert signed_in.headers["Location"].endswith(claim_page)
    page = web.get(claim_page).get_data(as_text=True)
    assert "issued it without a name" in page and 'name="credential_name"' in page
    assert 'name="name_on_it" value="add" checked' in page
    refused = web.submit(
        claim_page, data={"name": "", "credential_name": "", "visibility": "public"}
    )
    assert refused.status_code == 400 and "Enter your name." in refused.get_data(as_text=True)
    assert db.session.get(IssuedCredential, credential.id).claimed_at is None  # type: ignore[union-attr]
    done = web.submit(
        claim_page, data={"name": "Ann", "credential_name": "Ann Lee", "visibility": "private"}
    )
    assert done.status_code == 303 and done.headers["Location"].endswith(
        f"/me/credentials/{credential.id}"
    )
    db.session.expire_all()
    claimed = db.session.get(IssuedCredential, credential.id)
    assert claimed is not None and claimed.claimed_at is not None and claimed.is_private
    assert claimed.recipient_name == "Ann Lee"  # the confirmed name is signed into it
    assert '"identityHash":"Ann Lee"' in claimed.document
    educator = educators.find_by_email(ANN)
    assert educator is not None and educator.credential_name == "Ann Lee"
    assert "already in your backpack" in web.get(claim_page).get_data(as_text=True)


def test_the_recipient_may_claim_without_adding_their_name(
    app: Flask, web: Web, issuer: Any, badge: Any, make_award: Any
) -> None:
    credential = make_award(issuer, badge, ANN)
    document = credential.document
    web.submit(claim_path(ANN))
    claim_page = f"/me/credentials/{credential.id}/claim"
    odd = web.submit(claim_page, data={"name": "Ann", "credential_name": "Ann Lee",
                                       "visibility": "public", "name_on_it": "maybe"})  # fmt: skip
    assert odd.status_code == 400
    assert "Choose whether your name goes on it." in odd.get_data(as_text=True)
    found = educators.find_by_email(ANN)
    assert found is not None and found.credential_name is None  # the refused form changed nothing
    done = web.submit(claim_page, data={"name": "Ann", "credential_name": "Ann Lee",
                                        "visibility": "public", "name_on_it": "without"})  # fmt: skip
    assert done.status_code == 303
    db.session.expire_all()
    claimed = db.session.get(IssuedCredential, credential.id)
    assert claimed is not None and claimed.claimed_at is not None
    assert claimed.document == document and claimed.recipient_name is None


def test_a_claim_link_works_once(
    app: Flask, web: Web, issuer: Any, badge: Any, make_award: Any
) -> None:
    make_award(issuer, badge, ANN)
    path = claim_path(ANN)
    assert web.submit(path).status_code == 303
    again = web.client.post(
        path, data={"csrf_token": web.csrf_token("/me/sign-in")}, base_url=BASE_URL
    )
    assert again.status_code == 400
    assert "expired or has already been used" in again.get_data(as_text=True)


def test_another_credentials_id_does_not_take_the_link(
    app: Flask, web: Web, issuer: Any, badge: Any, make_award: Any
) -> None:
    make_award(issuer, badge, ANN)
    other = make_award(issuer, badge, "pat@school.example.org")
    path = claim_path(ANN)
    forged = re.sub(r"/me/claim/[0-9a-f-]{36}/", f"/me/claim/{other.id}/", path)
    assert web.submit(path, forged).status_code == 400
    assert web.submit(path).status_code == 303  # the real one still works


def test_the_backpack_offers_the_claim(
    app: Flask, web: Web, issuer: Any, badge: Any, make_award: Any
) -> None:
    credential = make_award(issuer, badge, ANN)
    sign_in_as(web, make_educator(ANN))
    page = web.get("/me/").get_data(as_text=True)
    assert f"/me/credentials/{credential.id}/claim" in page
    web.submit(f"/me/credentials/{credential.id}/claim", data={"visibility": "public"})
    assert f"/me/credentials/{credential.id}/claim" not in web.get("/me/").get_data(as_text=True)
