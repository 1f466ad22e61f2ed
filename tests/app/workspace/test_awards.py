"""The single-award form: a valid award is signed, stored and verifiable; bad input is shown
beside its field and stores nothing; only awarders of the issuer may use it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, EmailMessage, IssuedCredential, StaffAccount, StatusAllocation
from app.services.org import achievements, staff
from app.services.org.audit import Actor
from app.wiring import service_env
from credentials import verify_credential
from tests.app.conftest import BASE_URL, sign_in_directly

TEST = Actor(label="test")


def sign_in(client: FlaskClient, account: StaffAccount) -> None:
    """Sign in by writing the session (the sign-in form itself is tested with the auth views)."""
    sign_in_directly(client, "staff", account.id)


def assert_csp_clean(html: str) -> None:
    """No inline script or style: the Content-Security-Policy would block it."""
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


def counts() -> tuple[int, ...]:
    """Credentials, status indices, emails and issue events stored so far."""
    stored = [
        db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (IssuedCredential, StatusAllocation, EmailMessage)
    ]
    issues = (
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "credential.issue")
    )
    return (*stored, db.session.scalar(issues) or 0)


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


@pytest.fixture
def owner(make_staff):
    return make_staff()


@pytest.fixture
def issuer(make_issuer, owner):
    return make_issuer(owner=owner)


@pytest.fixture
def achievement(issuer, make_achievement):
    return make_achievement(issuer, default_validity_days=30)


@pytest.fixture
def page(web, owner, issuer, achievement) -> str:
    sign_in(web.client, owner)
    return f"/workspace/{issuer.slug}/achievements/{achievement.public_id}/award"


def form(**fields: str) -> dict[str, str]:
    """The form as a browser sends it: every input, blank ones included."""
    data = {"email": "", "name": "", "narrative": "", "expiry": "default", "expiry_date": ""}
    for i in range(3):
        data |= {f"evidence-{i}-url": "", f"evidence-{i}-name": "", f"evidence-{i}-narrative": ""}
    return data | fields


def test_the_form_shows_three_evidence_rows_and_defaults(web, page) -> None:
    response = web.get(page)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="evidence-2-url"' in html and 'name="evidence-3-url"' not in html
    assert re.search(r'id="show_name" name="show_name" value="on" checked', html)
    assert re.search(r'id="expiry-default" name="expiry" value="default" checked', html)
    assert "valid for 30 days from today" in html
    for match in re.finditer(r'<(?:input|textarea|select)[^>]*\bid="([^"]+)"', html):
        assert f'for="{match.group(1)}"' in html, f"no label for {match.group(1)}"
    assert_csp_clean(html)


def test_an_award_through_the_form_is_stored_signed_and_verifies(
    web, page, issuer, local_fetch
) -> None:
    expiry = in_days(400)
    response = web.submit(
        page,
        data=form(
            email=" Ann.Lee@School.example.org ",
            name="Ann Lee",
            show_name="on",
            narrative="Ran **exit tickets** all term.",
            expiry="date",
            expiry_date=expiry,
            **{
                "evidence-0-url": "https://portfolio.example.org/ann",
                "evidence-0-name": "Portfolio",
                "evidence-2-narrative": "Observed in class by the coach.",
            },
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    credential = db.session.scalars(select(IssuedCredential)).one()
    assert response.headers["Location"].endswith(
        f"/workspace/{issuer.slug}/credentials/{credential.id}"
    )
    assert credential.recipient_email == "ann.lee@school.example.org"
    assert credential.recipient_name == "Ann Lee"
    document = json.loads(credential.document)
    assert document["validUntil"] == f"{expiry}T23:59:59Z"
    assert document["credentialSubject"]["narrative"] == "Ran **exit tickets** all term."
    assert document["evidence"] == [
        {"id": "https://portfolio.example.org/ann", "type": ["Evidence"], "name": "Portfolio"},
        {"type": ["Evidence"], "narrative": "Observed in class by the coach."},
    ]
    names = [
        i["identityHash"]
        for i in document["credentialSubject"]["identifier"]
        if i["identityType"] == "name"
    ]
    assert names == ["Ann Lee"]
    env = service_env()
    report = verify_credential(
        credential.document,
        loader=env.loader,
        now=env.now + timedelta(seconds=1),
        fetch=local_fetch,
        recipient="ann.lee@school.example.org",
    )
    assert report.valid, report.as_json()["checks"]
    email = db.session.scalars(select(EmailMessage)).one()
    assert email.to_address == "ann.lee@school.example.org" and email.kind == "award"
    detail = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Awarded; an email is on its way to ann.lee@school.example.org." in detail


def test_name_can_be_kept_out_and_expiry_removed(web, page) -> None:
    response = web.submit(page, data=form(email="sam@school.example.org", name="Sam Ortiz",
                                          expiry="never"))  # fmt: skip
    assert response.status_code == 302
    credential = db.session.scalars(select(IssuedCredential)).one()
    document = json.loads(credential.document)
    assert credential.recipient_name == "Sam Ortiz"  # kept in Cairn, not published
    assert "Sam Ortiz" not in credential.document
    assert "validUntil" not in document and credential.valid_until is None


def test_the_default_expiry_is_the_achievements(web, page) -> None:
    before = datetime.now(UTC)
    assert web.submit(page, data=form(email="kim@school.example.org")).status_code == 302
    credential = db.session.scalars(select(IssuedCredential)).one()
    assert credential.valid_until is not None
    assert before + timedelta(days=30) <= credential.valid_until
    assert credential.valid_until <= datetime.now(UTC) + timedelta(days=30)


def test_jwt_issuers_award_through_the_form_too(
    web, client, make_staff, make_issuer, make_achievement, local_fetch
) -> None:
    account = make_staff("jo@district9.example.org", name="Jo")
    issuer = make_issuer("District 9", owner=account, proof_format="jwt")
    achievement = make_achievement(issuer)
    sign_in(client, account)
    page = f"/workspace/{issuer.slug}/achievements/{achievement.public_id}/award"
    assert web.submit(page, data=form(email="lee@school.example.org")).status_code == 302
    credential = db.session.scalars(select(IssuedCredential)).one()
    env = service_env()
    report = verify_credential(credential.document, loader=env.loader,
                               now=env.now + timedelta(seconds=1), fetch=local_fetch)  # fmt: skip
    assert report.format == "jwt" and report.valid, report.as_json()["checks"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": ""}, "email", "Enter the recipient&#39;s email address."),
        ({"email": "not-an-email"}, "email", "Enter an email address like name@example.org."),
        ({"email": "a@b.example.org", "name": "x" * 201}, "name", "Use at most 200 characters."),
        ({"email": "a@b.example.org", "expiry": "date"}, "expiry_date", "Choose the expiry date."),
        (
            {"email": "a@b.example.org", "expiry": "date", "expiry_date": "30/06/2030"},
            "expiry_date",
            "Enter a date like 2027-06-30.",
        ),
        (
            {"email": "a@b.example.org", "expiry": "date", "expiry_date": "2001-01-01"},
            "expiry_date",
            "The expiry date must be in the future.",
        ),
        (
            {"email": "a@b.example.org", "expiry": "soon"},
            "expiry",
            "Choose when the credential expires.",
        ),
        (
            {"email": "a@b.example.org", "evidence-1-url": "javascript:alert(1)"},
            "evidence-1-url",
            "Enter a web address starting with https:// or http://.",
        ),
        (
            {"email": "a@b.example.org", "evidence-2-name": "Only a title"},
            "evidence-2-url",
            "Give the evidence a web address or a narrative.",
        ),
        (
            {"email": "a@b.example.org", "narrative": "n" * 5001},
            "narrative",
            "Use at most 5,000 characters.",
        ),
    ],
)
def test_form_errors_are_shown_by_their_field_and_store_nothing(
    web, page, fields: dict[str, Any], field: str, message: str
) -> None:
    before = counts()
    response = web.submit(page, data=form(**fields))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html)
    assert counts() == before == (0, 0, 0, 0)
    if fields["email"]:
        assert f'value="{fields["email"]}"' in html  # what was typed is kept
    assert_csp_clean(html)


def test_a_nul_character_is_refused_before_the_form_is_read(web, page) -> None:
    response = web.submit(page, data=form(email="a@b.example.org", name="Ann\x00Lee"))
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert counts() == (0, 0, 0, 0)


def test_an_archived_achievement_cannot_be_awarded(web, page, achievement) -> None:
    achievements.set_archived(achievement, True, actor=TEST, env=service_env())
    shown = web.get(page).get_data(as_text=True)
    assert "archived" in shown and 'name="email"' not in shown
    token = web.csrf_token(page)
    response = web.client.post(page, data={"csrf_token": token, **form(email="a@b.example.org")},
                               base_url=BASE_URL)  # fmt: skip
    assert response.status_code == 409
    assert counts() == (0, 0, 0, 0)


def test_who_may_award(web, client, issuer, achievement, make_staff, make_issuer, owner) -> None:
    path = f"/workspace/{issuer.slug}/achievements/{achievement.public_id}/award"
    anonymous = client.get(path, base_url=BASE_URL)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

    viewer = make_staff("viewer@district7.example.org", name="Val Viewer")
    staff.set_role(issuer, viewer, "viewer", actor=TEST, env=service_env())
    sign_in(client, viewer)
    assert web.get(path).status_code == 403
    token = web.csrf_token(f"/workspace/{issuer.slug}/")
    post = client.post(path, data={"csrf_token": token, **form(email="a@b.example.org")},
                       base_url=BASE_URL)  # fmt: skip
    assert post.status_code == 403

    awarder = make_staff("awarder@district7.example.org", name="Ari Awarder")
    staff.set_role(issuer, awarder, "awarder", actor=TEST, env=service_env())
    sign_in(client, awarder)
    assert web.get(path).status_code == 200
    assert web.submit(path, data=form(email="a@b.example.org")).status_code == 302

    outsider = make_staff("someone@elsewhere.example.org", name="Out Sider")
    make_issuer("Elsewhere", owner=outsider)
    sign_in(client, outsider)
    assert web.get(path).status_code == 404
    sign_in(client, owner)
    assert web.get(f"/workspace/{issuer.slug}/achievements/no-such-id/award").status_code == 404
    assert web.get(f"/workspace/{issuer.slug}/achievements/x%00/award").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 1


def test_another_issuers_achievement_is_not_found_through_this_workspace(
    web, page, issuer, make_issuer, make_achievement
) -> None:
    other = make_achievement(make_issuer("Elsewhere"), "Elsewhere's badge")
    path = f"/workspace/{issuer.slug}/achievements/{other.public_id}/award"
    assert web.get(path).status_code == 404


def test_evidence_rows_keep_their_numbers(web, page) -> None:
    # Only some inputs sent (a script, not a browser): the error still lands on row 2.
    response = web.submit(page, data={"email": "a@b.example.org", "evidence-1-url": "nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="evidence-1-url" name="evidence-1-url" value="nope"' in html
    assert 'id="evidence-1-url-error"' in html and 'id="evidence-0-url-error"' not in html
    many = web.submit(page, data={"email": "a@b.example.org", "evidence-4-narrative": "x" * 5001})
    assert 'id="evidence-4-narrative-error"' in many.get_data(as_text=True)
