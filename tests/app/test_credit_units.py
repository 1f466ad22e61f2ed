"""Credit with its unit: an achievement's creditsAvailable in clock hours, CEUs or PD points, and
an award's creditsEarned when it differs; both signed (the unit as a credit ResultDescription),
verified by Cairn, vc.js and the strict schema, and shown on every page and the certificate."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer, StaffAccount
from app.wiring import service_env
from credentials import CREDIT_RESULT_TYPE, schema_errors
from tests.app.conftest import BASE_URL, Web, sign_in_directly
from tests.app.educator.educator_helpers import make_educator, sign_in_as
from tests.app.pdfs import pdf_text
from tests.app.public.conftest import page
from tests.app.test_guarantees_interop import SLUG, did_documents, vcjs, verify_all  # noqa: F401
from tests.interop.conftest import VcJs

EMAIL = "ann.lee@school.example.org"
HTML = {"Accept": "text/html"}


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff()


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], owner: StaffAccount) -> Issuer:
    return make_issuer(slug=SLUG, owner=owner)


@pytest.fixture
def ceus(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer, "Data Teams", credits_available=1.5, credit_unit="ceu")


def document(credential: IssuedCredential) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(credential.document)
    return parsed


def text(response: Any) -> str:
    """The page's text, whitespace collapsed."""
    return " ".join(page(response).text.split())


@pytest.mark.interop
def test_unit_and_credits_earned_are_signed_and_verify_everywhere(
    vcjs: VcJs,  # noqa: F811 - the fixture imported above
    issuer: Issuer,
    ceus: Achievement,
    make_award: Callable[..., IssuedCredential],
    local_fetch: Callable[[str], bytes],
    client: FlaskClient,
) -> None:
    credential = make_award(issuer, ceus, EMAIL, credits_earned=1.0)
    parsed = verify_all(
        credential.document,
        fetch=local_fetch,
        vcjs=vcjs,
        did_docs=did_documents(client, SLUG),
        recipient=EMAIL,
        env_now=service_env().now,
    )
    subject = parsed["credentialSubject"]
    achievement = subject["achievement"]
    assert achievement["creditsAvailable"] == 1.5
    (unit,) = [d for d in achievement["resultDescription"] if d["resultType"] == CREDIT_RESULT_TYPE]
    assert unit["id"] == f"{achievement['id']}#credit-ceu"
    assert (unit["type"], unit["name"], unit["valueMax"]) == (["ResultDescription"], "CEUs", "1.5")
    assert subject["creditsEarned"] == 1.0
    assert subject["result"] == [
        {"type": ["Result"], "value": "1", "resultDescription": unit["id"]}
    ]


def test_without_a_unit_or_earned_credit_nothing_is_added(
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    # Achievements made before units keep signing exactly what they signed.
    plain = make_achievement(issuer, "Exit Tickets", credits_available=6.0)
    subject = document(make_award(issuer, plain, EMAIL))["credentialSubject"]
    assert subject["achievement"]["creditsAvailable"] == 6.0
    assert "resultDescription" not in subject["achievement"]
    assert "result" not in subject and "creditsEarned" not in subject
    # A unit without any credit says nothing, so it is not kept.
    unitless = make_achievement(issuer, "Coaching", credit_unit="points")
    assert unitless.versions[-1].credit_unit is None


def test_every_page_and_the_certificate_say_the_credit_in_its_unit(
    app: Flask,
    web: Web,
    issuer: Issuer,
    ceus: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    credential = make_award(issuer, ceus, EMAIL, name="Ann Lee", credits_earned=1.0)
    public = text(web.get(f"/credentials/{credential.id}", headers=HTML))
    assert "Credit 1.5 CEUs" in public and "Credit earned 1 CEU" in public
    achievement_page = text(web.get(f"/achievements/{ceus.public_id}", headers=HTML))
    assert "Credit 1.5 CEUs" in achievement_page
    pdf = web.client.get(f"/credentials/{credential.id}/certificate.pdf", base_url=BASE_URL)
    assert "1 CEU of credit" in pdf_text(pdf.data)

    sign_in_as(web, make_educator(EMAIL))
    backpack = text(web.get("/me/", headers=HTML))
    assert "1 CEU" in backpack and "1.5 CEUs" not in backpack  # what it earned, as signed
    own = text(web.get(f"/me/credentials/{credential.id}", headers=HTML))
    assert "Credit 1 CEU" in own


def test_the_award_form_records_credits_earned_and_refuses_bad_ones(
    app: Flask, web: Web, owner: StaffAccount, issuer: Issuer, ceus: Achievement
) -> None:
    sign_in_directly(web.client, "staff", owner.id)
    path = f"/workspace/{issuer.slug}/achievements/{ceus.public_id}/award"
    shown = text(web.get(path))
    assert "This achievement carries 1.5 CEUs" in shown
    data = {"email": EMAIL, "expiry": "default", "credits_earned": "0.125"}
    refused = web.submit(path, data=data)
    assert refused.status_code == 400
    assert "Use at most two decimal places." in refused.get_data(as_text=True)
    assert db.session.scalars(select(IssuedCredential)).first() is None
    accepted = web.submit(path, data=data | {"credits_earned": "0.75"})
    assert accepted.status_code == 302, accepted.get_data(as_text=True)
    stored = db.session.scalars(select(IssuedCredential)).one()
    assert document(stored)["credentialSubject"]["creditsEarned"] == 0.75


def test_the_api_takes_and_shows_the_unit_and_credits_earned(
    client: FlaskClient,
    owner: StaffAccount,
    issuer: Issuer,
    make_token: Callable[..., str],
) -> None:
    token = make_token(issuer, owner)
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/api/v1/issuers/{issuer.slug}"
    body = {"name": "Book Study", "description": "Read and discussed.",
            "criteria_markdown": "Attend six sessions.", "credits_available": 10,
            "credit_unit": "points"}  # fmt: skip
    made = client.post(f"{base}/achievements", json=body, headers=headers, base_url=BASE_URL)
    assert made.status_code == 201, made.get_data(as_text=True)
    assert (made.get_json()["credits_available"], made.get_json()["credit_unit"]) == (10, "points")
    bad = client.post(f"{base}/achievements", json=body | {"credit_unit": "furlongs"},
                      headers=headers, base_url=BASE_URL)  # fmt: skip
    assert bad.status_code == 422
    assert "clock hours, CEUs or PD points" in bad.get_data(as_text=True)
    award = {"achievement": made.get_json()["id"], "recipient": {"email": EMAIL},
             "credits_earned": 8}  # fmt: skip
    answered = client.post(f"{base}/awards", json=award, headers=headers, base_url=BASE_URL)
    assert answered.status_code == 201, answered.get_data(as_text=True)
    stored = db.session.get(IssuedCredential, answered.get_json()["id"])
    assert stored is not None
    subject = document(stored)["credentialSubject"]
    assert subject["creditsEarned"] == 8.0 and subject["result"][0]["value"] == "8"
    assert schema_errors(document(stored)) == []
    refused = client.post(f"{base}/awards", json=award | {"credits_earned": -1},
                          headers=headers, base_url=BASE_URL)  # fmt: skip
    assert refused.status_code == 422
