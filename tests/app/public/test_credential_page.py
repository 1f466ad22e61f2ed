"""The credential's public URL: content negotiation (the stored bytes for machines, a page for
people), the page's facts, its status banner from a live verification, its sharing tags and
links, and the privacy switch's effect on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import Achievement, Educator, IssuedCredential, Issuer
from app.services.awarding import revocation
from app.services.delivery import analytics, visibility
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.educator.educator_helpers import make_educator
from tests.app.public.conftest import (
    ALIGNMENT,
    EMAIL,
    RECIPIENT,
    Page,
    assert_csp_clean,
    page,
)

TEST = Actor(label="test")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MISSING = "00000000-0000-4000-8000-000000000000"


def get(client: FlaskClient, path: str, accept: str | None = None) -> object:
    headers = {"Accept": accept} if accept is not None else {}
    return client.get(path, base_url=BASE_URL, headers=headers)


# ---------------------------------------------------------------------------- negotiation


@pytest.mark.parametrize(
    ("accept", "query", "media_type"),
    [
        ("application/ld+json", "", "application/ld+json"),
        ("application/vc+ld+json", "", "application/vc+ld+json"),
        ("application/json", "", "application/json"),
        ("*/*", "", "application/ld+json"),
        (None, "", "application/ld+json"),
        (BROWSER, "?format=json", "application/ld+json"),
        ("text/html;q=0.5, application/json", "", "application/json"),
    ],
)
def test_machines_get_the_stored_credential_byte_for_byte(
    client: FlaskClient,
    credential: IssuedCredential,
    accept: str | None,
    query: str,
    media_type: str,
) -> None:
    response = get(client, f"/credentials/{credential.id}{query}", accept)
    assert response.status_code == 200
    assert response.data == credential.document.encode("utf-8")
    assert response.mimetype == media_type
    assert "Accept" in response.headers["Vary"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(response.data)["id"] == f"{BASE_URL}/credentials/{credential.id}"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("text/plain", "text/plain"),
        ("application/vc+jwt", "application/vc+jwt"),
        ("*/*", "application/vc+jwt"),
        ("application/json", "application/vc+jwt"),
        (None, "application/vc+jwt"),
    ],
)
def test_a_jwt_credential_is_served_as_the_compact_jws(
    client: FlaskClient,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
    accept: str | None,
    media_type: str,
) -> None:
    issuer = make_issuer("JWT Academy", proof_format="jwt")
    credential = make_award(issuer, make_achievement(issuer), name=RECIPIENT)
    assert credential.document.count(".") == 2

    response = get(client, f"/credentials/{credential.id}", accept)
    assert response.status_code == 200
    assert response.data == credential.document.encode("ascii")
    assert response.mimetype == media_type
    assert "Accept" in response.headers["Vary"]

    html = get(client, f"/credentials/{credential.id}", BROWSER)
    assert "Formative Assessment in Practice" in page(html).text


def test_people_get_a_page(client: FlaskClient, credential: IssuedCredential) -> None:
    response = get(client, f"/credentials/{credential.id}", BROWSER)
    assert response.mimetype == "text/html"
    assert "Accept" in response.headers["Vary"]
    assert "<h1>Formative Assessment in Practice</h1>" in response.get_data(as_text=True)


@pytest.mark.parametrize("accept", [BROWSER, "application/ld+json", "application/json"])
def test_an_unknown_credential_is_404_for_people_and_machines(
    client: FlaskClient, app: Flask, accept: str
) -> None:
    for path in (f"/credentials/{MISSING}", "/credentials/not-a-uuid", f"/credentials/{'9' * 300}"):
        response = get(client, path, accept)
        assert response.status_code == 404, path
    if "html" in accept:
        assert response.mimetype == "text/html"
    else:
        assert response.get_json()["error"] == "not_found"


# ---------------------------------------------------------------------------- the page


def test_the_page_shows_what_was_awarded(
    client: FlaskClient, credential: IssuedCredential, issuer: Issuer
) -> None:
    response = get(client, f"/credentials/{credential.id}", BROWSER)
    html = response.get_data(as_text=True)
    shown = page(response)
    text = shown.text
    assert "Formative Assessment in Practice" in text
    assert "Completed the formative assessment module." in text
    assert "Awarded to Ann Lée" in text
    # Criteria and narrative are markdown, rendered and sanitised.
    assert "<strong>reflection</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<em>exit tickets</em>" in html
    # Issuer, linked to its profile.
    assert f"/issuers/{issuer.slug}" in shown.hrefs()
    assert issuer.name in text
    # Dates (issued today, no expiry by default), in the request's locale: English by default.
    issued = credential.issued_at
    assert f"Issued {issued:%b} {issued.day}, {issued.year}" in text
    assert "Expires Does not expire" in text
    # Evidence and alignment.
    assert "https://portfolio.example.org/ann" in shown.hrefs()
    assert "Ann's portfolio" in text
    assert ALIGNMENT["target_url"] in shown.hrefs()
    assert "Assessment for learning · District Teaching Standards (TS-4.2)" in text
    assert "Type Badge" in text and "Credit 6 hours" in text
    # The badge image is the baked PNG.
    assert any(i["src"] == f"/credentials/{credential.id}/badge.png" for i in shown.images)
    assert all(i.get("alt") is not None for i in shown.images)
    assert_csp_clean(html)
    assert shown.unlabelled_inputs() == []


def test_the_recipient_name_only_when_the_credential_carries_it(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    hidden = make_award(
        issuer, achievement, "bo@school.example.org", name="Bo Quiet", show_name=False
    )
    assert "Bo Quiet" not in hidden.document
    html = get(client, f"/credentials/{hidden.id}", BROWSER).get_data(as_text=True)
    assert "Bo Quiet" not in html
    assert "Awarded to" not in html
    assert "bo@school.example.org" not in html


def test_expiry_date_is_shown(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    until = datetime.now(UTC) + timedelta(days=400)
    expiring = make_award(issuer, achievement, valid_until=until)
    text = page(get(client, f"/credentials/{expiring.id}", BROWSER)).text
    assert f"Expires {until:%b} {until.day}, {until.year}" in text


def test_a_valid_credential_says_valid_and_lists_its_checks(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    response = get(client, f"/credentials/{credential.id}", BROWSER)
    html = response.get_data(as_text=True)
    assert '<strong class="status-word">Valid</strong>' in html
    assert "Genuine, current, and not revoked." in html
    text = page(response).text
    for sentence in (
        "The eddsa-rdfc-2022 signature is valid",
        "The signing key is published by the issuer",
        "Matches the Open Badges 3.0 JSON Schema.",
        "Not revoked (checked the issuer's signed status list).",
        "It does not expire.",
    ):
        assert sentence in text, sentence
    assert html.count('class="check check-pass"') >= 6
    assert "check-fail" not in html


def test_an_expired_credential_says_expired(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
    set_clock: Callable[[datetime], None],
) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    expiring = make_award(issuer, achievement, valid_until=soon)
    set_clock(soon + timedelta(days=2))
    html = get(client, f"/credentials/{expiring.id}", BROWSER).get_data(as_text=True)
    assert '<strong class="status-word">Expired</strong>' in html
    assert "Expired on" in html
    assert "check-fail" in html


def test_a_suspended_credential_says_suspended(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    revocation.suspend(credential, "Complaint from the district office", actor=TEST,
                       env=service_env(), public="Under review by the issuer")  # fmt: skip
    html = get(client, f"/credentials/{credential.id}", BROWSER).get_data(as_text=True)
    assert '<strong class="status-word">Suspended</strong>' in html
    assert "Under review by the issuer" in html
    assert "Complaint from the district office" not in html  # the internal note stays internal
    assert "linkedin" not in html.lower() and "certificate.pdf" not in html


def test_a_revoked_credential_says_revoked_with_its_public_reason_only(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    revocation.revoke(credential, "Awarded in error: the roster had two Ann Lees", actor=TEST,
                      env=service_env(), public="Issued in error")  # fmt: skip
    response = get(client, f"/credentials/{credential.id}", BROWSER)
    html = response.get_data(as_text=True)
    assert '<strong class="status-word">Revoked</strong>' in html
    assert "Issued in error" in html
    assert "roster" not in html  # the internal note is for staff and the audit log
    shown = page(response)
    assert "The issuer has revoked this credential." in shown.text
    # Nothing invites sharing or printing it any more; the JSON stays downloadable.
    assert not [h for h in shown.hrefs() if is_linkedin(h) or "certificate" in h]
    assert "mailto:" not in html and "qr.svg" not in html
    assert f"/credentials/{credential.id}/credential.json" in html
    # The stored credential is unchanged: revocation lives in the status list.
    assert get(client, f"/credentials/{credential.id}", "application/ld+json").data == (
        credential.document.encode()
    )


def test_a_status_list_that_cannot_be_read_is_status_unknown(
    client: FlaskClient, credential: IssuedCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.verification import verifier as verification

    real = verification.LocalFirstFetcher.local

    def no_status_lists(self: verification.LocalFirstFetcher, path: str) -> bytes | None:
        return None if path.startswith("/status/") else real(self, path)

    monkeypatch.setattr(verification.LocalFirstFetcher, "local", no_status_lists)
    html = get(client, f"/credentials/{credential.id}", BROWSER).get_data(as_text=True)
    assert '<strong class="status-word">Status unknown</strong>' in html
    assert "Not revoked" not in html
    assert "cannot be confirmed as not revoked" in html


# ---------------------------------------------------------------------------- sharing


def test_open_graph_and_twitter_tags(client: FlaskClient, credential: IssuedCredential) -> None:
    meta = page(get(client, f"/credentials/{credential.id}", BROWSER)).meta
    url = f"{BASE_URL}/credentials/{credential.id}"
    assert meta["og:title"] == f"Formative Assessment in Practice, awarded to {RECIPIENT}"
    assert meta["og:description"].startswith("District 7 Professional Learning: Completed")
    assert meta["og:url"] == url
    assert meta["og:image"] == f"{url}/badge.png"
    assert meta["og:image"].startswith("https://")
    assert meta["twitter:card"] == "summary"
    assert meta["twitter:title"] == "Formative Assessment in Practice"
    assert meta["twitter:image"] == f"{url}/badge.png"
    # The image the tags name is there for crawlers.
    assert client.get(urlsplit(meta["og:image"]).path, base_url=BASE_URL).status_code == 200


def is_linkedin(href: str) -> bool:
    """Whether a link adds the credential to LinkedIn: straight there, or through the counter."""
    return "linkedin.com" in href or href.endswith("/linkedin")


def followed_linkedin(client: FlaskClient, shown: Page, found: IssuedCredential) -> str:
    """The holder's one "Add to LinkedIn" link, which must be the click counter, followed
    without the network: where its redirect sends the browser."""
    (linkedin,) = [h for h in shown.hrefs() if is_linkedin(h)]
    assert linkedin == f"/credentials/{found.id}/linkedin"
    before = analytics.for_credential(found.id)["linkedin"]
    response = client.get(linkedin, base_url=BASE_URL)
    assert response.status_code == 302
    assert analytics.for_credential(found.id)["linkedin"] == before + 1
    return response.headers["Location"]


@pytest.fixture
def holder(client: FlaskClient) -> Educator:
    """The educator the credentials here are awarded to, signed in on ``client``."""
    educator = make_educator(EMAIL, RECIPIENT)
    sign_in_directly(client, "educator", educator.id)
    return educator


def test_visitors_get_a_page_to_check_it_without_the_sharing_tools(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    """Share controls belong to the holder: a visitor (an employer, say, or another educator
    signed in) sees what it claims, the issuer and the verification, not "Add to LinkedIn" or the
    downloads; the signed credential stays readable for verifiers."""
    response = get(client, f"/credentials/{credential.id}", BROWSER)
    shown = page(response)
    html = response.get_data(as_text=True)
    assert "Formative Assessment in Practice" in shown.text and "Verification" in shown.text
    assert not [h for h in shown.hrefs() if is_linkedin(h) or "certificate" in h]
    assert "mailto:" not in html and "qr.svg" not in html and "share-link" not in html
    assert "badge.svg" not in html and "Your credential" not in shown.text
    assert "share.js" not in html
    assert f"/credentials/{credential.id}/credential.json" in shown.hrefs()
    assert "Sign in to your backpack" in shown.text
    assert f"/credentials/{credential.id}/manage" in shown.hrefs()
    assert response.headers["Cache-Control"] == "no-cache"
    # The downloads themselves keep working for whoever has their address.
    for name in ("badge.png", "badge.svg", "credential.json", "qr.svg", "certificate.pdf"):
        assert get(client, f"/credentials/{credential.id}/{name}").status_code == 200, name
    # Another educator, signed in, is a visitor too.
    sign_in_directly(client, "educator", make_educator("bo@school.example.org", "Bo Ng").id)
    shown = page(get(client, f"/credentials/{credential.id}", BROWSER))
    assert "Your credential" not in shown.text
    assert not [h for h in shown.hrefs() if is_linkedin(h)]


def test_the_holder_signed_in_gets_the_sharing_tools(
    client: FlaskClient, credential: IssuedCredential, holder: Educator
) -> None:
    response = get(client, f"/credentials/{credential.id}", BROWSER)
    shown = page(response)
    assert "Your credential" in shown.text and "Only you see this part" in shown.text
    # "Add to LinkedIn" goes through the click counter, never straight to linkedin.com.
    assert [h for h in shown.hrefs() if is_linkedin(h)] == [
        f"/credentials/{credential.id}/linkedin"
    ]
    assert f"/me/credentials/{credential.id}" in shown.hrefs()
    assert "share.js" in response.get_data(as_text=True)
    # It is theirs alone: never kept by a cache, and a cache keeps pages apart by cookie.
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Cookie" in response.headers["Vary"]


def test_linkedin_copy_link_and_email_sharing(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
    holder: Educator,
) -> None:
    until = datetime(2031, 3, 15, tzinfo=UTC)
    expiring = make_award(issuer, achievement, EMAIL, name=RECIPIENT, valid_until=until)
    shown = page(get(client, f"/credentials/{expiring.id}", BROWSER))
    url = f"{BASE_URL}/credentials/{expiring.id}"

    parts = urlsplit(followed_linkedin(client, shown, expiring))
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    issued = expiring.issued_at
    assert query == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Formative Assessment in Practice",
        "organizationName": issuer.name,
        "issueYear": str(issued.year),
        "issueMonth": str(issued.month),
        "expirationYear": "2031",
        "expirationMonth": "3",
        "certUrl": url,
        "certId": expiring.id,
    }

    (field,) = [i for i in shown.inputs if i.get("id") == "share-link"]
    assert field["value"] == url and "readonly" in field
    assert "share-link" in shown.labels
    (mail,) = [h for h in shown.hrefs() if h.startswith("mailto:")]
    mail_query = parse_qs(urlsplit(mail).query)
    assert url in mail_query["body"][0]
    assert "Formative Assessment in Practice" in mail_query["subject"][0]


def test_linkedin_without_expiry_has_no_expiration_fields(
    client: FlaskClient, credential: IssuedCredential, holder: Educator
) -> None:
    shown = page(get(client, f"/credentials/{credential.id}", BROWSER))
    query = parse_qs(urlsplit(followed_linkedin(client, shown, credential)).query)
    assert "expirationYear" not in query and "expirationMonth" not in query
    assert query["certId"] == [credential.id]


def test_the_holders_page_links_every_download(
    client: FlaskClient, credential: IssuedCredential, holder: Educator
) -> None:
    hrefs = page(get(client, f"/credentials/{credential.id}", BROWSER)).hrefs()
    base = f"/credentials/{credential.id}"
    for path in (
        "/badge.png",
        "/badge.svg",
        "/credential.json",
        "/certificate",
        "/certificate.pdf",
        "/certificate.pdf?paper=letter",
        "/qr.png",
        "/qr.svg",
    ):
        assert base + path in hrefs, path
        assert client.get(base + path, base_url=BASE_URL).status_code == 200, path


# ---------------------------------------------------------------------------- privacy


def test_a_private_credential_page_reveals_nothing(
    client: FlaskClient, credential: IssuedCredential, issuer: Issuer
) -> None:
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    response = get(client, f"/credentials/{credential.id}", BROWSER)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This credential is private" in html
    for secret in (
        "Formative Assessment",
        RECIPIENT,
        "Ann L",
        credential.recipient_email,
        "Completed the formative",
        issuer.name,
        "portfolio.example.org",
        "og:",
        "twitter:",
        "badge.png",
    ):
        assert secret not in html, secret
    assert response.headers["Cache-Control"] == "no-store"
    assert '<meta name="robots" content="noindex">' in html
    assert_csp_clean(html)


@pytest.mark.parametrize("accept", ["application/ld+json", "application/json", None])
def test_a_private_credential_stays_verifiable_by_whoever_holds_it(
    client: FlaskClient,
    credential: IssuedCredential,
    issuer: Issuer,
    local_fetch: Callable[[str], bytes],
    accept: str | None,
) -> None:
    from credentials import verify_credential

    visibility.set_private(credential, True, actor=TEST, env=service_env())
    response = get(client, f"/credentials/{credential.id}", accept)
    assert response.data == credential.document.encode()
    assert get(client, f"/credentials/{credential.id}?format=json", BROWSER).data == (
        credential.document.encode()
    )
    assert client.get(f"/status/{issuer.slug}/revocation", base_url=BASE_URL).status_code == 200
    env = service_env()
    report = verify_credential(response.data, loader=env.loader, now=env.now, fetch=local_fetch)
    assert report.valid, report.as_json()
    assert report.check("status").status == "pass"  # type: ignore[union-attr]


def test_a_public_again_credential_shows_its_page(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    env = service_env()
    visibility.set_private(credential, True, actor=TEST, env=env)
    visibility.set_private(credential, False, actor=TEST, env=env)
    text = page(get(client, f"/credentials/{credential.id}", BROWSER)).text
    assert "Formative Assessment in Practice" in text and RECIPIENT in text


def test_a_revocation_without_a_public_reason_shows_no_reason(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    """A credential revoked with only an internal note (the CLI, or before public reasons
    existed) says it was revoked and nothing of the note."""
    revocation.revoke(credential, "Parent complaint, see ticket 4411", actor=TEST,
                      env=service_env())  # fmt: skip
    html = get(client, f"/credentials/{credential.id}", BROWSER).get_data(as_text=True)
    assert '<strong class="status-word">Revoked</strong>' in html
    assert "The issuer revoked it." in html and "ticket 4411" not in html


def test_its_dates_are_in_the_readers_locale(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    credential = make_award(issuer, achievement)
    issued = credential.issued_at
    path = f"/credentials/{credential.id}"

    def shown(language: str) -> str:
        response = client.get(path, headers={"Accept": BROWSER, "Accept-Language": language})
        return page(response).text

    assert f"Issued {issued:%b} {issued.day}, {issued.year}" in shown("en-US,en;q=0.9")
    assert f"Issued {issued.day} {issued:%b} {issued.year}" in shown("en-GB")
    assert f"Issued {issued:%d.%m.%Y}" in shown("de")


@pytest.mark.parametrize(
    ("credits", "language", "said"),
    [
        (1.5, "en", "Credit 1.5 hours"),
        (1.0, "en", "Credit 1 hour"),
        (1.5, "de", "Credit 1,5 Stunden"),
    ],
)
def test_type_and_credit_hours_in_words(
    client: FlaskClient,
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
    credits: float,
    language: str,
    said: str,
) -> None:
    achievement = make_achievement(
        issuer, "Coaching Cycles", achievement_type="MicroCredential", credits_available=credits
    )
    credential = make_award(issuer, achievement)
    headers = {"Accept": BROWSER, "Accept-Language": language}
    text = page(client.get(f"/credentials/{credential.id}", headers=headers)).text
    # The words the achievement form offers, not OB 3.0's term; hours through Babel.
    assert "Type Micro-credential" in text and "MicroCredential" not in text
    assert said in text
    for path in (f"/achievements/{achievement.public_id}", f"/issuers/{issuer.slug}"):
        shown = page(client.get(path, headers=headers)).text
        assert "Micro-credential" in shown and "MicroCredential" not in shown, path
