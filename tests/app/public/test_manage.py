"""The earner's manage link (``/credentials/<uuid>/manage/<token>``, mailed with the award):
a random token of which only a hash is kept, switching the public page between public and
private (CSRF-protected, audited), downloads that keep working while it is private, a 404 that
explains and offers a new link for any wrong token (including the signed links earlier versions
mailed), a 410 for an expired or revoked link, revoking, and asking for a new link by email."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Achievement,
    AuditEvent,
    EmailMessage,
    IssuedCredential,
    Issuer,
    ManageLink,
)
from app.services.delivery import visibility
from app.services.org.audit import Actor
from app.wiring import service_env
from credentials import unbake, verify_credential
from tests.app.conftest import BASE_URL, Web
from tests.app.mail_helpers import (
    assert_nowhere_in_database,
    delivered,
    latest_delivered,
    link_in_delivered,
    parts_of,
)
from tests.app.public.conftest import RECIPIENT, Page, assert_csp_clean, page

TEST = Actor(label="test")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
DOWNLOADS = ("badge.png", "badge.svg", "credential.json", "qr.png", "qr.svg", "certificate.pdf")


def manage_link(credential: IssuedCredential) -> re.Match[str]:
    """The latest manage link delivered for ``credential`` (the award mail's, or a newer one)."""
    pattern = re.compile(
        re.escape(f"{BASE_URL}/credentials/{credential.id}/manage/") + r"([A-Za-z0-9_\-]+)"
    )
    return link_in_delivered(pattern, credential.recipient_email)


def manage_path(credential: IssuedCredential, token: str | None = None) -> str:
    return f"/credentials/{credential.id}/manage/{token or manage_link(credential).group(1)}"


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


def test_the_token_is_random_and_only_its_hash_is_kept(
    app: Flask, credential: IssuedCredential
) -> None:
    token = manage_link(credential).group(1)
    assert len(token) == 43  # secrets.token_urlsafe(32)
    (row,) = db.session.scalars(select(ManageLink)).all()
    assert row.credential_id == credential.id
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.expires_at - row.created_at == timedelta(days=app.config["MANAGE_LINK_DAYS"])
    assert row.revoked_at is None
    # No longer a signature of the id: the secret key does not make it.
    signer = URLSafeSerializer(app.config["SECRET_KEY"], salt="credential-manage")
    assert token != signer.dumps(credential.id)
    # Another link for the same credential is another random token.
    visibility.send_manage_link(credential, service_env())
    assert manage_link(credential).group(1) != token


def test_the_award_email_carries_the_manage_link(app: Flask, credential: IssuedCredential) -> None:
    message = db.session.scalar(
        select(EmailMessage).where(EmailMessage.credential_id == credential.id)
    )
    assert message is not None and message.kind == "award"
    text, html = parts_of(delivered(credential.recipient_email, "award")[-1])
    link = f"{BASE_URL}{manage_path(credential)}"
    assert link in text
    assert f'href="{link}"' in html
    assert f"for {app.config['MANAGE_LINK_DAYS']} days" in text
    # The public link is still the main one.
    assert f"View your credential: {BASE_URL}/credentials/{credential.id}" in text
    # The stored copy keeps the public link but not the secret one.
    assert f"View your credential: {BASE_URL}/credentials/{credential.id}" in message.body_text
    assert link not in message.body_text and link not in (message.body_html or "")


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


def same_page(html: str, credential_id: str) -> str:
    html = re.sub(r'name="csrf_token" value="[^"]+"', "", html)
    return html.replace(credential_id, "ID")


def wrong_tokens(app: Flask, credential: IssuedCredential, other: IssuedCredential) -> list[str]:
    token = manage_link(credential).group(1)
    return [
        manage_link(other).group(1),  # another credential's link
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # tampered
        # The signed links earlier versions mailed no longer work.
        URLSafeSerializer(app.config["SECRET_KEY"], salt="credential-manage").dumps(credential.id),
        URLSafeSerializer(app.config["SECRET_KEY"], salt="other-purpose").dumps(credential.id),
        "x",
        token + "x",
    ]


def test_a_wrong_token_is_a_404_that_explains_and_offers_a_new_link(
    app: Flask,
    web: Web,
    credential: IssuedCredential,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    other = make_award(issuer, achievement, "b@school.example.org")
    token = web.csrf_token(manage_path(credential))
    unknown = web.get("/credentials/00000000-0000-4000-8000-000000000000/manage/anything")
    for wrong in wrong_tokens(app, credential, other):
        path = manage_path(credential, wrong)
        response = web.get(path)
        assert response.status_code == 404, wrong
        html = response.get_data(as_text=True)
        # The same page as for a credential that does not exist (but for the form's target
        # and its CSRF token, which carries a time stamp).
        assert same_page(html, credential.id) == same_page(
            unknown.get_data(as_text=True), "00000000-0000-4000-8000-000000000000"
        )
        assert "This link does not work" in html and "Email me a new link" in html
        assert f'action="/credentials/{credential.id}/manage"' in html
        assert "token" not in Page(html).text.lower() and "Formative" not in html
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        posted = web.client.post(
            path, data={"csrf_token": token, "visibility": "private"}, base_url=BASE_URL
        )
        assert posted.status_code == 404
        revoked = web.client.post(f"{path}/revoke", data={"csrf_token": token}, base_url=BASE_URL)
        assert revoked.status_code == 404
        for name in (*DOWNLOADS, "certificate"):
            assert web.get(f"{path}/{name}").status_code == 404, (wrong, name)
    assert fresh(credential).is_private is False
    assert visibility_events(credential) == []
    assert all(link.revoked_at is None for link in db.session.scalars(select(ManageLink)))


def test_an_unknown_download_name_is_404(web: Web, credential: IssuedCredential) -> None:
    for name in ("badge.gif", "manage", "..", "certificate.html"):
        assert web.get(f"{manage_path(credential)}/{name}").status_code == 404, name


def test_an_old_signed_link_for_a_credential_that_is_gone_is_404(web: Web, app: Flask) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    token = URLSafeSerializer(app.config["SECRET_KEY"], salt="credential-manage").dumps(missing)
    assert web.get(f"/credentials/{missing}/manage/{token}").status_code == 404
    assert web.get(f"/credentials/{missing}/manage/{token}/badge.png").status_code == 404
    assert web.get(f"/credentials/{missing}/manage").status_code == 404


# ---------------------------------------------------------------------------- expiry, revoking


def test_an_expired_link_is_410_and_says_how_to_get_a_new_one(
    app: Flask, web: Web, credential: IssuedCredential, set_clock: Callable[[datetime], None]
) -> None:
    path = manage_path(credential)
    (row,) = db.session.scalars(select(ManageLink)).all()
    set_clock(row.expires_at - timedelta(seconds=1))
    assert web.get(path).status_code == 200
    set_clock(row.expires_at)
    response = web.get(path)
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    expired = row.expires_at
    assert f"expired on {expired:%b} {expired.day}, {expired.year}" in html
    assert f"work for {app.config['MANAGE_LINK_DAYS']} days" in html
    assert "Email me a new link" in html and "Formative" not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    for name in (*DOWNLOADS, "certificate"):
        assert web.get(f"{path}/{name}").status_code == 410, name


def test_the_expiry_is_a_setting(app: Flask, credential: IssuedCredential) -> None:
    app.config["MANAGE_LINK_DAYS"] = 7
    visibility.send_manage_link(credential, service_env())
    newest = db.session.scalars(select(ManageLink).order_by(ManageLink.id.desc())).first()
    assert newest is not None and newest.expires_at - newest.created_at == timedelta(days=7)
    assert "It works for 7 days" in latest_delivered(credential.recipient_email, "manage_link")


def test_the_earner_revokes_every_manage_link(web: Web, credential: IssuedCredential) -> None:
    first = manage_path(credential)
    visibility.send_manage_link(credential, service_env())
    second = manage_path(credential)
    assert first != second and web.get(first).status_code == web.get(second).status_code == 200
    assert "Stop links to this page working" in page(web.get(second)).text

    response = web.submit(second, f"{second}/revoke")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/credentials/{credential.id}/manage")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # The request page says what happened and what to do.
    follow = web.get(response.headers["Location"])
    assert "Your manage links no longer work" in follow.get_data(as_text=True)
    for path in (first, second):
        gone = web.get(path)
        assert gone.status_code == 410
        assert "was revoked on" in gone.get_data(as_text=True)
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "credential.manage_links_revoke")
    )
    assert event is not None and event.actor == "earner" and event.detail == {"revoked": 2}


def test_a_new_link_is_sent_only_to_the_recipient(web: Web, credential: IssuedCredential) -> None:
    request_page = f"/credentials/{credential.id}/manage"
    shown = page(web.get(request_page))
    assert "Get a link to manage your credential" in shown.text
    assert shown.unlabelled_inputs() == []
    before = len(delivered())

    wrong = web.submit(request_page, data={"email": "someone.else@example.org"})
    assert wrong.status_code == 200
    assert len(delivered()) == before  # nothing sent
    right = web.submit(request_page, data={"email": f"  {credential.recipient_email.upper()} "})
    assert right.status_code == 200
    # The same answer either way, so nobody learns who holds the credential.
    assert "Check your email" in right.get_data(as_text=True)
    assert wrong.get_data(as_text=True).replace("someone.else@example.org", "X") == right.get_data(
        as_text=True
    ).replace(credential.recipient_email.upper(), "X")
    assert len(delivered()) == before + 1
    new_path = manage_path(credential)
    assert "Manage your credential" in page(web.get(new_path)).text
    assert_nowhere_in_database(new_path.rsplit("/", 1)[1])

    bad = web.submit(request_page, data={"email": "not an address"})
    assert bad.status_code == 400 and "is not an email address" in bad.get_data(as_text=True)


def test_the_credential_page_offers_the_earner_a_link(
    web: Web, credential: IssuedCredential
) -> None:
    request_page = f"/credentials/{credential.id}/manage"
    public = web.get(f"/credentials/{credential.id}", headers={"Accept": BROWSER})
    assert request_page in page(public).hrefs()
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    private = web.get(f"/credentials/{credential.id}", headers={"Accept": BROWSER})
    assert request_page in page(private).hrefs()
    assert "Formative" not in private.get_data(as_text=True)
