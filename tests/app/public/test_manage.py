"""The earner's manage link (``/credentials/<uuid>/manage/<token>``, mailed with the award):
switching the public page between public and private (CSRF-protected, audited), downloads that
keep working while it is private, and a plain 404 for any wrong token."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, AuditEvent, EmailMessage, IssuedCredential, Issuer
from app.services import visibility
from app.services.audit import Actor
from app.wiring import service_env
from credentials.baking import unbake
from credentials.verify import verify_credential
from tests.app.conftest import BASE_URL, Web
from tests.app.public.conftest import RECIPIENT, assert_csp_clean, page

TEST = Actor(label="test")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
DOWNLOADS = ("badge.png", "badge.svg", "credential.json", "qr.png", "qr.svg", "certificate.pdf")


def manage_path(credential: IssuedCredential, token: str | None = None) -> str:
    return f"/credentials/{credential.id}/manage/{token or visibility.manage_token(credential.id)}"


def visibility_events(credential: IssuedCredential) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == "credential.visibility", AuditEvent.subject_id == credential.id
            )
            .order_by(AuditEvent.id)
        )
    )


def switch(web: Web, credential: IssuedCredential, wanted: str) -> object:
    return web.submit(manage_path(credential), data={"visibility": wanted})


def fresh(credential: IssuedCredential) -> IssuedCredential:
    db.session.expire_all()
    found = db.session.get(IssuedCredential, credential.id)
    assert found is not None
    return found


# ---------------------------------------------------------------------------- the token


def test_the_token_is_a_signature_of_the_credential_id(
    app: Flask, credential: IssuedCredential
) -> None:
    token = visibility.manage_token(credential.id)
    signer = URLSafeSerializer(app.config["SECRET_KEY"], salt="credential-manage")
    assert token == signer.dumps(credential.id)
    assert signer.loads(token) == credential.id
    assert visibility.is_manage_token(credential.id, token)
    assert (
        visibility.manage_url(credential.id, service_env())
        == f"{BASE_URL}{manage_path(credential)}"
    )


def test_the_award_email_carries_the_manage_link(app: Flask, credential: IssuedCredential) -> None:
    message = db.session.scalar(
        select(EmailMessage).where(EmailMessage.credential_id == credential.id)
    )
    assert message is not None and message.kind == "award"
    link = f"{BASE_URL}{manage_path(credential)}"
    assert link in message.body_text
    assert message.body_html is not None
    assert f'href="{link}"' in message.body_html
    # The public link is still the main one.
    assert f"View your credential: {BASE_URL}/credentials/{credential.id}" in message.body_text


# ---------------------------------------------------------------------------- the page


def test_the_manage_page(web: Web, credential: IssuedCredential) -> None:
    response = web.get(manage_path(credential))
    shown = page(response)
    html = response.get_data(as_text=True)
    assert "Manage your credential" in shown.text
    assert "Formative Assessment in Practice" in shown.text
    assert "District 7 Professional Learning" in shown.text
    assert "Its page is public" in shown.text
    assert re.search(r'id="visibility-public"[^>]*value="public" checked', html)
    assert 'name="csrf_token"' in html
    assert shown.unlabelled_inputs() == []
    for name in DOWNLOADS:
        assert f"{manage_path(credential)}/{name}" in shown.hrefs(), name
    assert f"{manage_path(credential)}/certificate" in shown.hrefs()
    assert (
        f"{BASE_URL}/credentials/{credential.id}" in shown.hrefs()
    )  # the public page, while public
    # A password in the URL: not cached, not indexed, not sent on in a Referer.
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert shown.meta["robots"].startswith("noindex")
    assert_csp_clean(html)


def test_making_it_private_and_public_again(web: Web, credential: IssuedCredential) -> None:
    response = switch(web, credential, "private")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(manage_path(credential))
    assert fresh(credential).is_private is True

    after = web.get(manage_path(credential))
    text = page(after).text
    assert "Its page is now private" in text
    assert "Its page is private" in text
    assert re.search(
        r'id="visibility-private"[^>]*value="private" checked', after.get_data(as_text=True)
    )

    public_page = web.get(f"/credentials/{credential.id}", headers={"Accept": BROWSER})
    html = public_page.get_data(as_text=True)
    assert "This credential is private" in html
    assert "Formative Assessment" not in html and RECIPIENT not in html

    (event,) = visibility_events(credential)
    assert event.actor == "earner"
    assert event.actor_id is None
    assert event.subject_type == "credential"
    assert event.issuer_id == credential.issuer_id
    assert event.detail == {"private": True}
    assert event.ip_address == "127.0.0.1"

    switch(web, credential, "public")
    assert fresh(credential).is_private is False
    assert "Its page is public again." in page(web.get(manage_path(credential))).text
    assert (
        "Formative Assessment in Practice"
        in page(web.get(f"/credentials/{credential.id}", headers={"Accept": BROWSER})).text
    )
    assert [e.detail for e in visibility_events(credential)] == [
        {"private": True},
        {"private": False},
    ]


def test_saving_without_a_change_is_not_audited(web: Web, credential: IssuedCredential) -> None:
    assert switch(web, credential, "public").status_code == 303
    assert visibility_events(credential) == []
    assert visibility.set_private(credential, False, actor=TEST, env=service_env()) is False


def test_the_switch_needs_the_csrf_token(client: FlaskClient, credential: IssuedCredential) -> None:
    response = client.post(
        manage_path(credential), data={"visibility": "private"}, base_url=BASE_URL
    )
    assert response.status_code == 400
    assert fresh(credential).is_private is False
    assert visibility_events(credential) == []


def test_an_unknown_choice_is_400(web: Web, credential: IssuedCredential) -> None:
    for wanted in ("hidden", ""):
        response = switch(web, credential, wanted)
        assert response.status_code == 400
    assert fresh(credential).is_private is False


# ---------------------------------------------------------------------------- downloads


@pytest.mark.parametrize("private", [False, True])
def test_downloads_through_the_manage_link(
    web: Web, credential: IssuedCredential, local_fetch: Callable[[str], bytes], private: bool
) -> None:
    if private:
        visibility.set_private(credential, True, actor=TEST, env=service_env())
    base = manage_path(credential)
    for name in DOWNLOADS:
        response = web.get(f"{base}/{name}")
        assert response.status_code == 200, name
        assert response.headers["Cache-Control"] == "private, no-cache", name
        assert response.headers["Referrer-Policy"] == "no-referrer"
        public = web.get(f"/credentials/{credential.id}/{name}")
        if private and name != "credential.json":
            assert public.status_code == 404, name
        else:
            assert public.data == response.data, name
        conditional = web.get(f"{base}/{name}", headers={"If-None-Match": response.headers["ETag"]})
        assert conditional.status_code == 304, name

    png = web.get(f"{base}/badge.png").data
    assert unbake(png).text == credential.document  # type: ignore[union-attr]
    env = service_env()
    assert verify_credential(png, loader=env.loader, now=env.now, fetch=local_fetch).valid
    svg = web.get(f"{base}/badge.svg")
    assert "sandbox" in svg.headers["Content-Security-Policy"]
    letter = web.get(f"{base}/certificate.pdf?paper=letter").data
    assert letter.startswith(b"%PDF-") and b"/MediaBox [0 0 792.00 612.00]" in letter


def test_the_certificate_through_the_manage_link_links_manage_urls(
    web: Web, credential: IssuedCredential
) -> None:
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    base = manage_path(credential)
    response = web.get(f"{base}/certificate")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert RECIPIENT in html
    assert f'src="{base}/qr.svg"' in html
    assert f'href="{base}/certificate.pdf"' in html
    assert f'href="{base}/certificate.pdf?paper=letter"' in html
    assert f'href="{base}"' in html  # back to the manage page, not the private public page
    assert response.headers["Cache-Control"] == "no-store"
    assert web.get(f"/credentials/{credential.id}/certificate").status_code == 404


# ---------------------------------------------------------------------------- wrong tokens


def wrong_tokens(app: Flask, credential: IssuedCredential, other: IssuedCredential) -> list[str]:
    token = visibility.manage_token(credential.id)
    return [
        visibility.manage_token(other.id),  # another credential's token
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # tampered signature
        URLSafeSerializer(app.config["SECRET_KEY"], salt="other-purpose").dumps(credential.id),
        URLSafeSerializer("not the secret key", salt="credential-manage").dumps(credential.id),
        "x",
        token + "x",
    ]


def test_a_wrong_token_is_a_plain_404(
    app: Flask,
    web: Web,
    credential: IssuedCredential,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    other = make_award(issuer, achievement, "b@school.example.org")
    token = web.csrf_token(manage_path(credential))
    unknown = web.get("/credentials/00000000-0000-4000-8000-000000000000/manage/anything").get_data(
        as_text=True
    )
    for wrong in wrong_tokens(app, credential, other):
        path = manage_path(credential, wrong)
        response = web.get(path)
        assert response.status_code == 404, wrong
        html = response.get_data(as_text=True)
        assert html == unknown  # the same page as for a credential that does not exist
        assert "token" not in html.lower() and "Formative" not in html
        posted = web.client.post(
            path, data={"csrf_token": token, "visibility": "private"}, base_url=BASE_URL
        )
        assert posted.status_code == 404
        for name in (*DOWNLOADS, "certificate"):
            assert web.get(f"{path}/{name}").status_code == 404, (wrong, name)
    assert fresh(credential).is_private is False
    assert visibility_events(credential) == []


def test_an_unknown_download_name_is_404(web: Web, credential: IssuedCredential) -> None:
    for name in ("badge.gif", "manage", "..", "certificate.html"):
        assert web.get(f"{manage_path(credential)}/{name}").status_code == 404, name


def test_a_valid_token_for_a_credential_that_is_gone_is_404(web: Web, app: Flask) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    token = visibility.manage_token(missing)
    assert web.get(f"/credentials/{missing}/manage/{token}").status_code == 404
    assert web.get(f"/credentials/{missing}/manage/{token}/badge.png").status_code == 404
