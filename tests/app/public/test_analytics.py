"""Counting in the public views: page views, verifications (the Verify page and
``/api/verify``, for our own credentials), LinkedIn clicks and downloads, without keeping
anything about the visitor."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import CredentialActivity, IssuedCredential
from app.services.awarding import revocation
from app.services.delivery import analytics, visibility
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.educator.educator_helpers import make_educator

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
TEST = Actor(label="test")


def counts(credential: IssuedCredential) -> dict[str, int]:
    return analytics.for_credential(credential.id).counts


def test_each_page_view_is_counted_and_nothing_about_the_visitor_is_kept(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    for _ in range(3):
        page = client.get(
            f"/credentials/{credential.id}",
            headers={"Accept": BROWSER, "User-Agent": "Tracker/1.0"},
            base_url=BASE_URL,
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
        assert page.status_code == 200
        assert "Set-Cookie" not in page.headers
    assert counts(credential) == {"view": 3}
    (row,) = db.session.scalars(select(CredentialActivity))
    # One row per credential, day and kind: a count, nothing that could name a person.
    assert {c.name for c in CredentialActivity.__table__.columns} == {
        "credential_id",
        "day",
        "kind",
        "count",
    }
    assert (row.kind, row.count, row.day) == ("view", 3, service_env().now.date())


def test_machines_fetching_the_document_are_not_page_views(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    response = client.get(f"/credentials/{credential.id}", base_url=BASE_URL)
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    assert counts(credential) == {}


def test_a_private_credentials_page_is_not_counted(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    client.get(f"/credentials/{credential.id}", headers={"Accept": BROWSER}, base_url=BASE_URL)
    assert counts(credential) == {}


def test_downloads_are_counted_once_served_but_not_qr_codes_or_revalidations(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    for name in ("badge.png", "badge.svg", "credential.json", "certificate.pdf"):
        assert (
            client.get(f"/credentials/{credential.id}/{name}", base_url=BASE_URL).status_code == 200
        )
    for name in ("qr.png", "qr.svg"):
        assert (
            client.get(f"/credentials/{credential.id}/{name}", base_url=BASE_URL).status_code == 200
        )
    first = client.get(f"/credentials/{credential.id}/badge.png", base_url=BASE_URL)
    again = client.get(
        f"/credentials/{credential.id}/badge.png",
        headers={"If-None-Match": first.headers["ETag"]},
        base_url=BASE_URL,
    )
    assert again.status_code == 304
    assert counts(credential) == {"download": 5}


def test_add_to_linkedin_counts_the_click_and_goes_on_to_linkedin(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    response = client.get(f"/credentials/{credential.id}/linkedin", base_url=BASE_URL)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "www.linkedin.com",
        "/profile/add",
    )
    assert parse_qs(target.query)["certUrl"] == [f"{BASE_URL}/credentials/{credential.id}"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert counts(credential) == {"linkedin": 1}


def holder_page(client: FlaskClient, credential: IssuedCredential, place: str) -> str:
    """The holder's sharing tools in ``place``: the public page signed in as the holder, the
    manage link's page, or the backpack's page of the credential."""
    if place == "manage":
        url = visibility.issue_manage_link(credential, service_env())
        db.session.commit()
        path = urlsplit(url).path
    else:
        educator = make_educator(credential.recipient_email)
        sign_in_directly(client, "educator", educator.id)
        path = {"page": "", "backpack": "/me"}[place] + f"/credentials/{credential.id}"
    response = client.get(path, headers={"Accept": BROWSER}, base_url=BASE_URL)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def link_to(html: str, text: str) -> str:
    """The address of the one link whose words match ``text`` (a regular expression)."""
    (href,) = re.findall(r'href="([^"]+)"[^>]*>' + text + "<", html)
    return unescape(href)


@pytest.mark.parametrize("place", ["page", "manage", "backpack"])
def test_the_holders_linkedin_and_download_clicks_are_counted_from_each_place(
    client: FlaskClient, credential: IssuedCredential, place: str
) -> None:
    html = holder_page(client, credential, place)
    assert "www.linkedin.com" not in html  # no link around the counter
    linkedin = link_to(html, "Add to LinkedIn")
    assert linkedin == f"/credentials/{credential.id}/linkedin"
    response = client.get(linkedin, base_url=BASE_URL)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "www.linkedin.com",
        "/profile/add",
    )
    assert parse_qs(target.query)["certId"] == [credential.id]
    assert counts(credential) == {"linkedin": 1}

    badge = link_to(html, r"Badge image[^<]*\(PNG\)")
    assert client.get(badge, base_url=BASE_URL).status_code == 200
    assert counts(credential) == {"linkedin": 1, "download": 1}
    # Nothing about the holder is kept with the counts: one row per day and kind.
    assert db.session.scalar(select(func.count()).select_from(CredentialActivity)) == 2


def test_add_to_linkedin_of_a_revoked_or_suspended_credential_is_not_offered(
    client: FlaskClient, credential: IssuedCredential, make_award, issuer, achievement
) -> None:
    revocation.revoke(credential, "Awarded in error", actor=TEST, env=service_env())
    suspended = make_award(issuer, achievement, "bo@school.example.org", name="Bo Ng")
    revocation.suspend(suspended, "Under review", actor=TEST, env=service_env())
    for found in (credential, suspended):
        response = client.get(f"/credentials/{found.id}/linkedin", base_url=BASE_URL)
        assert response.status_code == 404
        assert "Location" not in response.headers
        assert counts(found) == {}


def test_add_to_linkedin_of_a_private_or_unknown_credential_is_not_found(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    assert (
        client.get(f"/credentials/{credential.id}/linkedin", base_url=BASE_URL).status_code == 404
    )
    assert client.get("/credentials/no-such-id/linkedin", base_url=BASE_URL).status_code == 404
    assert counts(credential) == {}


def test_verifying_our_credential_counts_on_the_api_and_the_verify_page(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    response = client.post(
        "/api/verify", data=credential.document, content_type="application/json", base_url=BASE_URL
    )
    assert response.status_code == 200 and response.get_json()["valid"] is True
    page = client.get(
        "/verify",
        query_string={"url": f"{BASE_URL}/credentials/{credential.id}"},
        base_url=BASE_URL,
    )
    assert page.status_code == 200
    assert counts(credential) == {"verify": 2}


def test_a_forgery_naming_our_credential_is_not_a_verification_of_it(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    forged = json.loads(credential.document)
    forged["credentialSubject"]["name"] = "Someone Else"
    response = client.post("/api/verify", json=forged, base_url=BASE_URL)
    assert response.status_code == 200 and response.get_json()["valid"] is False
    assert counts(credential) == {}


def test_verifications_are_tallied_and_written_before_they_are_read(
    client: FlaskClient, credential: IssuedCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not written one by one (an upsert and a commit each: every request waited its turn for
    # the database's write lock); tallied as page views are, and exact once read.
    def written_at_once(*args: object) -> None:
        raise AssertionError("a verification was written at once")

    monkeypatch.setattr(analytics, "record", written_at_once)
    for _ in range(3):
        response = client.post(
            "/api/verify", data=credential.document, content_type="application/json",
            base_url=BASE_URL,
        )  # fmt: skip
        assert response.status_code == 200 and response.get_json()["valid"] is True
    assert counts(credential) == {"verify": 3}
    (row,) = db.session.scalars(select(CredentialActivity))
    assert (row.kind, row.count, row.day) == ("verify", 3, service_env().now.date())
