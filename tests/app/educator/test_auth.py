"""Educators' sign-in by emailed link: one answer for known and unknown addresses, links that
work once and briefly, a button rather than a GET that uses them up, rate limits, ``next``
only to this site, and sign-out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Educator, EmailMessage, MagicLink
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web, rate_limited_app
from tests.app.educator.educator_helpers import (
    count,
    make_educator,
    request_link,
    sign_in_by_link,
    signed_in_educator,
    token_from_mail,
)

ANN = "ann.lee@school.example.org"


def move_clock(app: Flask, minutes: float) -> None:
    now = service_env().now + timedelta(minutes=minutes)
    app.extensions["cairn.wiring"].clock = lambda: now


def comparable(response: Any) -> str:
    """A page with its CSRF token blanked (it differs per session, not per address)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))


def test_the_sign_in_page_is_an_accessible_form(web: Web) -> None:
    page = web.get("/me/sign-in")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<label for="email">' in body and 'autocomplete="email"' in body
    assert 'name="csrf_token"' in body and "<script" not in body and "style=" not in body


def test_the_home_page_offers_educator_sign_in(web: Web) -> None:
    body = web.get("/").get_data(as_text=True)
    assert 'href="/me/sign-in"' in body and "Sign in as an educator" in body


def test_signing_in_by_link(web: Web) -> None:
    educator = make_educator(ANN)
    response = request_link(web, ANN)
    assert response.status_code == 303 and response.headers["Location"] == "/me/sign-in/sent"
    assert "It works once, for 15 minutes" in web.get("/me/sign-in/sent").get_data(as_text=True)
    path = f"/me/sign-in/{token_from_mail(ANN)}"

    # Opening the link (as a mail scanner would) signs nobody in and uses nothing up.
    opened = web.get(path)
    assert opened.status_code == 200 and ANN in opened.get_data(as_text=True)
    assert opened.mimetype == "text/html"  # a page with a button, not text
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    assert opened.headers["Cache-Control"] == "no-store"
    assert signed_in_educator(web) is None
    assert web.get(path).status_code == 200

    done = web.submit(path)
    assert done.status_code == 303 and done.headers["Location"] == "/me/"
    assert signed_in_educator(web) == educator.id
    assert web.get("/me/").status_code == 200


def test_a_sign_in_link_works_once(web: Web, app: Flask) -> None:
    make_educator(ANN)
    request_link(web, ANN)
    path = f"/me/sign-in/{token_from_mail(ANN)}"
    token = web.csrf_token(path)
    assert web.client.post(path, data={"csrf_token": token}, base_url=BASE_URL).status_code == 303

    other = Web(app.test_client())
    other.client.environ_base["HTTP_REFERER"] = BASE_URL + "/"
    again = other.get(path)
    assert again.status_code == 400 and "no longer works" in again.get_data(as_text=True)
    second = other.client.post(path, data={"csrf_token": token}, base_url=BASE_URL)
    assert second.status_code in (400,) and signed_in_educator(other) is None


def test_a_sign_in_link_expires(web: Web, app: Flask) -> None:
    make_educator(ANN)
    request_link(web, ANN)
    path = f"/me/sign-in/{token_from_mail(ANN)}"
    token = web.csrf_token(path)
    move_clock(app, 16)
    late = web.client.post(path, data={"csrf_token": token}, base_url=BASE_URL)
    assert late.status_code == 400 and "expired" in late.get_data(as_text=True)
    assert signed_in_educator(web) is None


def test_the_link_lifetime_is_a_setting(web: Web, app: Flask) -> None:
    app.config["EDUCATOR_LINK_MINUTES"] = 5
    request_link(web, ANN)
    link = db.session.scalar(select(MagicLink))
    assert link is not None and link.expires_at - link.created_at == timedelta(minutes=5)
    assert "for 5 minutes" in web.get("/me/sign-in/sent").get_data(as_text=True)


def test_known_and_unknown_addresses_get_the_same_answer(web: Web) -> None:
    make_educator(ANN)
    known = request_link(web, ANN)
    unknown = request_link(web, "nobody@school.example.org")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert comparable(known) == comparable(unknown)
    # Both get a link (the unknown one's creates an account when used), so the mail tells
    # nothing either.
    assert count(EmailMessage) == 2
    assert count(Educator) == 1


def test_the_first_sign_in_creates_the_account(web: Web) -> None:
    sign_in_by_link(web, "new.teacher@school.example.org")
    educator = db.session.scalar(select(Educator))
    assert educator is not None and signed_in_educator(web) == educator.id


def test_a_malformed_address_is_explained(web: Web) -> None:
    response = request_link(web, "<script>alert(1)</script>")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter an email address like" in body and "<script>alert" not in body
    assert count(MagicLink) == 0 and count(EmailMessage) == 0


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/me",
        "/\\evil.example",
        "javascript:alert(1)",
        "/me/\nLocation: https://evil.example",
    ],
)
def test_next_never_leaves_the_site(web: Web, target: str) -> None:
    make_educator(ANN)
    assert request_link(web, ANN, next=target).status_code == 303
    done = web.submit(f"/me/sign-in/{token_from_mail(ANN)}")
    assert done.status_code == 303 and done.headers["Location"] == "/me/"


def test_next_returns_to_the_page_that_asked(web: Web) -> None:
    make_educator(ANN)
    asked = web.get("/me/account")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/me/sign-in?next=/me/account"
    request_link(web, ANN, next="/me/account")
    done = web.submit(f"/me/sign-in/{token_from_mail(ANN)}")
    assert done.headers["Location"] == "/me/account"


def test_sign_out_needs_a_post_with_a_csrf_token(web: Web) -> None:
    educator = make_educator(ANN)
    sign_in_by_link(web, ANN)
    assert web.get("/me/sign-out").status_code == 405
    assert web.client.post("/me/sign-out", base_url=BASE_URL).status_code == 400
    assert signed_in_educator(web) == educator.id
    response = web.submit("/me/", "/me/sign-out")
    assert response.status_code == 303 and signed_in_educator(web) is None
    assert web.get("/me/").status_code == 302


# --- Rate limits ----------------------------------------------------------------------------


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Flask]:
    """An application with rate limits on (the shared fixture turns them off)."""
    yield from rate_limited_app(tmp_path, EDUCATOR_SIGN_IN_EMAIL_RATE_LIMIT="3 per hour")


def ask(web: Web, email: str, ip: str) -> Any:
    token = web.csrf_token("/me/sign-in")
    return web.client.post(
        "/me/sign-in",
        data={"csrf_token": token, "email": email},
        base_url=BASE_URL,
        environ_base={"REMOTE_ADDR": ip},
    )


def test_one_address_is_sent_few_links_whoever_asks(limited_app: Flask) -> None:
    web = Web(limited_app.test_client())
    web.client.environ_base["HTTP_REFERER"] = BASE_URL + "/"
    statuses = [ask(web, ANN, f"198.51.100.{n}").status_code for n in range(3)]
    assert statuses == [303] * 3
    refused = ask(web, ANN.upper(), "198.51.100.50")
    assert refused.status_code == 429
    assert "Too many sign-in requests" in refused.get_data(as_text=True)
    assert count(EmailMessage) == 3
    assert ask(web, "other@school.example.org", "198.51.100.51").status_code == 303


def test_one_network_cannot_ask_for_links_without_end(limited_app: Flask) -> None:
    web = Web(limited_app.test_client())
    web.client.environ_base["HTTP_REFERER"] = BASE_URL + "/"
    statuses = [ask(web, f"user{n}@example.org", "192.0.2.1").status_code for n in range(10)]
    assert statuses == [303] * 10
    assert ask(web, "user11@example.org", "192.0.2.1").status_code == 429
    assert ask(web, "user12@example.org", "192.0.2.2").status_code == 303
