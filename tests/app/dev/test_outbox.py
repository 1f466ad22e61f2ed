"""The development outbox: .eml files, the list and message pages, the framed HTML body, the
"deliver pending now" button, and its absence in production."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import EmailMessage
from app.services.mail import emails

HTML_CSP = (
    "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; sandbox; "
    "frame-ancestors 'self'"
)


@pytest.fixture
def outbox(app: Flask, tmp_path: Path) -> Path:
    """Development mail goes to a folder of this test's own."""
    folder = tmp_path / "outbox"
    app.config["OUTBOX_DIR"] = str(folder)
    return folder


def messages() -> list[EmailMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(EmailMessage).order_by(EmailMessage.id)))


def test_mail_is_written_as_eml_files_and_listed_newest_first(
    outbox: Path, web: Any, make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer, "Coaching Cycles")
    make_award(issuer, achievement, "first@school.example.org")
    make_award(issuer, make_achievement(issuer, "Exit Tickets"), "second@school.example.org")

    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    parsed = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert sorted(m["To"] for m in parsed) == [
        "first@school.example.org",
        "second@school.example.org",
    ]

    page = web.get("/dev/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Development outbox: these messages were not sent" in html
    assert str(outbox) in html
    assert html.index("second@school.example.org") < html.index("first@school.example.org")
    assert "You have earned “Exit Tickets” from District 7 Professional Learning" in html
    assert "award" in html and "Sent" in html
    assert "Deliver pending now" in html


def test_message_page_shows_the_text_and_frames_the_html(
    outbox: Path, web: Any, make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer, "<b>x</b>"), name='Ann "<script>')
    (message,) = messages()

    page = web.get(f"/dev/outbox/{message.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "Hello Ann &#34;&lt;script&gt;," in html
    assert f'<iframe src="/dev/outbox/{message.id}/html" sandbox' in html
    assert "District 7 Professional Learning via Cairn" in html  # the From header
    assert "auto-generated" in html
    # The page itself keeps the application's policy: nothing may frame it.
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"

    body = web.get(f"/dev/outbox/{message.id}/html")
    assert body.status_code == 200 and body.mimetype == "text/html"
    assert body.headers["Content-Security-Policy"] == HTML_CSP
    assert body.headers["X-Frame-Options"] == "SAMEORIGIN"
    # The delivered HTML, with the working manage link the database no longer holds.
    (delivered_file,) = outbox.glob("*.eml")
    delivered_html = message_from_bytes(delivered_file.read_bytes(), policy=policy.default)
    html_part = delivered_html.get_body(preferencelist=("html",))
    assert html_part is not None
    framed = body.get_data(as_text=True)
    assert framed == html_part.get_content()
    assert "[link removed once sent]" in (message.body_html or "")
    assert (
        "[link removed once sent]" not in framed
        and f"/credentials/{message.credential_id}/manage/" in framed
    )

    eml = web.get(f"/dev/outbox/{message.id}.eml")
    assert eml.status_code == 200 and eml.mimetype == "message/rfc822"
    mime = message_from_bytes(eml.data, policy=policy.default)
    assert mime["Subject"] == message.subject

    assert web.get("/dev/outbox/999999").status_code == 404
    assert web.get("/dev/outbox/999999/html").status_code == 404


def test_deliver_pending_now(
    outbox: Path,
    web: Any,
    monkeypatch: pytest.MonkeyPatch,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    monkeypatch.setattr(emails, "deliver_soon", lambda env: None)  # as before the job has run
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer))
    (message,) = messages()
    assert emails.status(message) == "queued"
    assert "Queued" in web.get("/dev/outbox").get_data(as_text=True)

    refused = web.client.post("/dev/outbox/deliver", base_url="https://badges.example.org")
    assert refused.status_code == 400  # no CSRF token
    assert messages()[0].sent_at is None

    # A browser sends the Referer (same-origin policy); Flask-WTF insists on it over HTTPS.
    response = web.submit(
        "/dev/outbox",
        "/dev/outbox/deliver",
        follow_redirects=True,
        headers={"Referer": "https://badges.example.org/dev/outbox"},
    )
    assert response.status_code == 200
    assert "1 message delivered." in response.get_data(as_text=True)
    (message,) = messages()
    assert message.sent_at is not None
    assert len(list(outbox.glob("*.eml"))) == 1


def test_failed_messages_are_marked(
    outbox: Path, web: Any, make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    outbox.write_text("a file where the folder should be")  # every write fails
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer))
    (message,) = messages()
    assert message.sent_at is None and message.attempts == 1
    html = web.get("/dev/outbox").get_data(as_text=True)
    assert "Retrying" in html and "cannot write to the outbox" in html
    message.attempts = emails.MAX_ATTEMPTS
    db.session.commit()
    assert "Failed" in web.get("/dev/outbox").get_data(as_text=True)


def test_there_is_no_outbox_in_production(tmp_path: Path) -> None:
    production = create_app(
        {
            "ENV": "production",
            "BASE_URL": "https://badges.example.org",
            "SECRET_KEY": "s" * 40,
            "KEY_PASSPHRASE": "a different passphrase of some length",
            "SMTP_HOST": "smtp.example.org",
            "MAIL_FROM": "Cairn <badges@example.org>",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
            "KEYS_DIR": str(tmp_path / "keys"),
        }
    )
    assert "dev" not in production.blueprints
    client = production.test_client()
    for path in ("/dev/outbox", "/dev/outbox/1", "/dev/outbox/1/html"):
        assert client.get(path, base_url="https://badges.example.org").status_code == 404
    response = client.post("/dev/outbox/deliver", base_url="https://badges.example.org")
    assert response.status_code == 404


def test_a_developer_still_finds_the_sign_in_link_in_the_outbox(outbox: Path, web: Any) -> None:
    """README: educators' sign-in links arrive in the development outbox. The page shows the
    delivered copy, since the database keeps no usable link once the message is sent."""
    from app.services.learning import educators
    from app.wiring import service_env

    educators.request_sign_in("ann@school.example.org", service_env())
    (message,) = messages()
    assert message.sent_at is not None and "/me/sign-in/" not in message.body_text
    page = web.get(f"/dev/outbox/{message.id}").get_data(as_text=True)
    link = re.search(r"https://badges\.example\.org/me/sign-in/([A-Za-z0-9_-]{43})", page)
    assert link, page
    assert web.get(f"/me/sign-in/{link.group(1)}").status_code == 200
    eml = message_from_bytes(web.get(f"/dev/outbox/{message.id}.eml").data, policy=policy.default)
    text = eml.get_body(preferencelist=("plain",))
    assert text is not None and link.group(0) in text.get_content()
