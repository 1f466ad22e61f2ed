"""Staff sign-in and sign-out, open-redirect refusal, rate limits, and password reset by link."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import ROLES, AccountToken, AuditEvent, EmailMessage, StaffAccount
from app.services.org import staff
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.staff import STAFF_ROLES
from tests.app.conftest import BASE_URL, PASSWORD, Web, rate_limited_app
from tests.app.mail_helpers import delivered, parts_of

EMAIL = "owner@district7.example.org"
NEW_PASSWORD = "a brand new long passphrase"
WRONG_PASSWORD = "wrong password here"
GENERIC = "That email and password do not match an active account."
RESET_LINK = re.compile(re.escape(BASE_URL) + r"/password/reset/([A-Za-z0-9_\-]+)")


def like_a_browser(client: FlaskClient) -> Web:
    """A ``Web`` closer to a real browser, for two things the shared fixtures miss:

    * requests carry the same-origin ``Referer`` a browser sends (over HTTPS Flask-WTF refuses
      a form POST without one, ``WTF_CSRF_SSL_STRICT``);
    * every request starts with an empty ``g``, as in production. The ``app`` fixture keeps an
      application context pushed, and Flask reuses it for test requests, so without this
      Flask-WTF's cached CSRF token (and the workspace's ``g.issuer``) would leak from one
      request, or one client, into the next.
    """
    client.environ_base["HTTP_REFERER"] = BASE_URL + "/"
    app = client.application
    if _fresh_g not in app.teardown_request_funcs.get(None, []):
        app.teardown_request(_fresh_g)
    return Web(client)


def _fresh_g(error: BaseException | None) -> None:
    for name in list(g):
        g.pop(name)


@pytest.fixture
def web(client: FlaskClient) -> Web:
    return like_a_browser(client)


@pytest.fixture
def account(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff(EMAIL, name="Pat Owner")


def signed_in_id(web: Web) -> Any:
    with web.client.session_transaction(base_url=BASE_URL) as session:
        return session.get("staff_id")


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def page_without(response: Any, email: str) -> str:
    body = response.get_data(as_text=True).replace(email, "EMAIL")
    return re.sub(r'name="csrf_token" value="[^"]*"', "CSRF", body)


def post_login(web: Web, **data: str) -> Any:
    return web.submit("/login", data=data)


# --- Sign-in and sign-out -------------------------------------------------------------------


def test_the_sign_in_page_renders_an_accessible_form(web: Web) -> None:
    page = web.get("/login")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="csrf_token"' in body
    assert '<label for="email">' in body and '<label for="password">' in body
    assert 'autocomplete="email"' in body and 'autocomplete="current-password"' in body
    assert "<script" not in body and "style=" not in body


def test_sign_in_starts_a_session_and_sign_out_ends_it(web: Web, account: StaffAccount) -> None:
    response = web.sign_in(EMAIL)
    assert response.headers["Location"] == "/workspace/"
    assert signed_in_id(web) == account.id
    assert web.get("/workspace/").status_code == 200
    assert db.session.get(StaffAccount, account.id).last_login_at is not None

    response = web.submit("/workspace/", "/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert signed_in_id(web) is None
    assert "/login" in web.get("/workspace/").headers["Location"]


def test_sign_in_matches_the_email_case_insensitively(web: Web, account: StaffAccount) -> None:
    web.sign_in("  Owner@District7.Example.org ")
    assert signed_in_id(web) == account.id


def test_sign_out_needs_post(web: Web, account: StaffAccount) -> None:
    web.sign_in(EMAIL)
    assert web.get("/logout").status_code == 405
    assert signed_in_id(web) == account.id


def test_sign_out_without_a_csrf_token_is_refused(web: Web, account: StaffAccount) -> None:
    web.sign_in(EMAIL)
    response = web.client.post("/logout", base_url=BASE_URL)
    assert response.status_code == 400
    assert signed_in_id(web) == account.id


def test_sign_in_without_a_csrf_token_is_refused_and_changes_nothing(
    web: Web, account: StaffAccount
) -> None:
    response = web.client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD}, base_url=BASE_URL
    )
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)
    assert signed_in_id(web) is None
    assert count(AuditEvent, AuditEvent.action.like("staff.sign_in%")) == 0
    assert db.session.get(StaffAccount, account.id).last_login_at is None


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    web: Web, account: StaffAccount
) -> None:
    wrong = post_login(web, email=EMAIL, password="not the password at all")
    unknown = post_login(web, email="nobody@district7.example.org", password=PASSWORD)
    malformed = post_login(web, email="not an email", password=PASSWORD)
    for response in (wrong, unknown, malformed):
        assert response.status_code == 400
        assert GENERIC in response.get_data(as_text=True)
    assert signed_in_id(web) is None
    # Only the email typed (and the CSRF token's timestamp) differs between the pages.
    assert page_without(wrong, EMAIL) == page_without(unknown, "nobody@district7.example.org")
    assert count(AuditEvent, AuditEvent.action == "staff.sign_in_failed") == 3


def test_a_blank_form_says_what_is_missing(web: Web) -> None:
    response = post_login(web, email=" ", password="")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter your email address." in body and "Enter your password." in body


def test_a_deactivated_account_cannot_sign_in_and_is_signed_out(
    web: Web, account: StaffAccount, app: Flask
) -> None:
    web.sign_in(EMAIL)
    account.is_active = False
    db.session.commit()
    assert "/login" in web.get("/workspace/").headers["Location"]
    # The right password is told why (only someone who knows it learns the account exists);
    # a wrong one gets the same answer as an unknown address.
    response = post_login(web, email=EMAIL, password=PASSWORD)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and GENERIC not in body
    assert "This account has been disabled by an instance administrator." in body
    wrong = post_login(web, email=EMAIL, password=WRONG_PASSWORD)
    assert wrong.status_code == 400 and GENERIC in wrong.get_data(as_text=True)
    assert "disabled" not in wrong.get_data(as_text=True)
    assert signed_in_id(web) is None


def test_an_invited_account_without_a_password_cannot_sign_in(web: Web) -> None:
    staff.create_account(email="new@district7.example.org", name="New", password=None,
                         actor=Actor(label="test"), env=service_env())  # fmt: skip
    for password in ("", "x" * 12):
        response = post_login(web, email="new@district7.example.org", password=password)
        assert response.status_code == 400
    assert signed_in_id(web) is None


def test_sign_in_returns_to_the_page_that_asked(web: Web, account: StaffAccount) -> None:
    bounce = web.get("/workspace/")
    assert bounce.headers["Location"] == "/login?next=/workspace/"
    page = web.get("/login?next=/workspace/").get_data(as_text=True)
    assert 'name="next" value="/workspace/"' in page
    response = web.submit(
        "/login", data={"email": EMAIL, "password": PASSWORD, "next": "/workspace/some-org/"}
    )
    assert response.headers["Location"] == "/workspace/some-org/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/" + "a" * 2001,
        "",
    ],
)
def test_sign_in_refuses_to_redirect_off_site(web: Web, account: StaffAccount, target: str) -> None:
    response = web.submit("/login", data={"email": EMAIL, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/workspace/"
    page = web.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next"' not in page


def test_user_input_on_the_sign_in_page_is_escaped(web: Web) -> None:
    script = "<script>alert(1)</script>"
    page = web.get("/login", query_string={"next": f'/x"><{script}'}).get_data(as_text=True)
    assert script not in page and "&lt;script&gt;" in page
    response = post_login(web, email=script, password="whatever at all")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert script not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_schema_knows_the_same_roles_as_the_model() -> None:
    assert STAFF_ROLES == ROLES


# --- Rate limits ----------------------------------------------------------------------------


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Flask]:
    """An application with rate limits on (the shared fixture turns them off)."""
    yield from rate_limited_app(tmp_path, LOGIN_EMAIL_RATE_LIMIT="5 per hour")


def attempt(web: Web, email: str, ip: str, password: str = WRONG_PASSWORD) -> Any:
    token = web.csrf_token("/login")
    return web.client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password},
        base_url=BASE_URL,
        environ_base={"REMOTE_ADDR": ip},
    )


def test_the_eleventh_sign_in_a_minute_from_one_address_is_refused(limited_app: Flask) -> None:
    web = like_a_browser(limited_app.test_client())
    statuses = [attempt(web, f"user{n}@example.org", "192.0.2.1").status_code for n in range(10)]
    assert statuses == [400] * 10
    refused = attempt(web, "user11@example.org", "192.0.2.1")
    assert refused.status_code == 429
    body = refused.get_data(as_text=True)
    assert "<html" in body and "Too many sign-in attempts" in body
    # Another address is not held back by the first one's attempts.
    assert attempt(web, "user12@example.org", "192.0.2.2").status_code == 400


def test_one_account_cannot_be_guessed_at_from_many_addresses(limited_app: Flask) -> None:
    staff.create_account(email=EMAIL, name="Pat", password=PASSWORD, actor=Actor(label="test"),
                         env=service_env())  # fmt: skip
    web = like_a_browser(limited_app.test_client())
    # A correct password does not spend the per-account budget.
    assert attempt(web, EMAIL, "198.51.100.1", PASSWORD).status_code == 302
    statuses = [attempt(web, EMAIL, f"198.51.100.{n}").status_code for n in range(2, 7)]
    assert statuses == [400] * 5
    assert attempt(web, EMAIL.upper(), "198.51.100.50").status_code == 429
    assert attempt(web, EMAIL, "198.51.100.51", PASSWORD).status_code == 429
    assert attempt(web, "other@example.org", "198.51.100.52").status_code == 400


# --- Password reset -------------------------------------------------------------------------


def request_reset(web: Web, email: str) -> Any:
    return web.submit("/password/forgot", data={"email": email})


def reset_token_from_mail(address: str) -> str:
    # Read from the mail as delivered: the stored message keeps no usable link.
    found = delivered(address, "reset")
    assert found, f"no reset mail delivered to {address}"
    text, html = parts_of(found[-1])
    match = RESET_LINK.search(text)
    assert match, text
    assert html and match.group(0) in html
    return match.group(1)


def test_the_forgotten_password_pages_render(web: Web) -> None:
    page = web.get("/password/forgot")
    assert page.status_code == 200 and 'autocomplete="email"' in page.get_data(as_text=True)
    assert web.get("/password/forgot/sent").status_code == 200


def test_a_reset_for_an_unknown_email_sends_nothing_but_looks_the_same(
    web: Web, account: StaffAccount
) -> None:
    unknown = request_reset(web, "nobody@district7.example.org")
    assert count(EmailMessage) == 0 and count(AccountToken) == 0
    known = request_reset(web, EMAIL)
    assert count(EmailMessage) == 1 and count(AccountToken) == 1
    assert unknown.status_code == known.status_code == 302
    assert unknown.headers["Location"] == known.headers["Location"] == "/password/forgot/sent"
    assert "If an account exists" in web.get("/password/forgot/sent").get_data(as_text=True)


def test_a_reset_for_a_deactivated_account_sends_nothing(web: Web, account: StaffAccount) -> None:
    account.is_active = False
    db.session.commit()
    assert request_reset(web, EMAIL).headers["Location"] == "/password/forgot/sent"
    assert count(EmailMessage) == 0


def test_a_malformed_reset_request_is_explained(web: Web) -> None:
    response = request_reset(web, "<script>alert(1)</script>")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter an email address like" in body and "<script>alert" not in body


def test_the_reset_link_works_once(web: Web, account: StaffAccount, app: Flask) -> None:
    request_reset(web, EMAIL)
    message = db.session.scalar(select(EmailMessage))
    assert message is not None and message.to_address == EMAIL and message.sent_at is not None
    token = reset_token_from_mail(EMAIL)
    path = f"/password/reset/{token}"

    page = web.get(path)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'autocomplete="new-password"' in body and EMAIL in body
    mismatch = web.submit(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 400
    assert "The two passwords are different." in mismatch.get_data(as_text=True)
    weak = web.submit(path, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 400 and "at least 12" in weak.get_data(as_text=True)

    done = web.submit(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/workspace/"
    assert signed_in_id(web) == account.id
    assert count(AuditEvent, AuditEvent.action == "staff.password") == 1

    again = web.get(path)
    assert again.status_code == 400
    assert "/password/forgot" in again.get_data(as_text=True)
    other = like_a_browser(app.test_client())
    replay = other.submit("/login", path, data={"password": "x" * 20, "confirm": "x" * 20})
    assert replay.status_code == 400
    assert staff.authenticate(EMAIL, NEW_PASSWORD, ip=None, env=service_env()) is not None
    assert staff.authenticate(EMAIL, PASSWORD, ip=None, env=service_env()) is None


def test_a_new_password_ends_every_other_session(
    web: Web, account: StaffAccount, app: Flask
) -> None:
    elsewhere = like_a_browser(app.test_client())
    elsewhere.sign_in(EMAIL)
    assert elsewhere.get("/workspace/").status_code == 200
    request_reset(web, EMAIL)
    path = f"/password/reset/{reset_token_from_mail(EMAIL)}"
    web.submit(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert web.get("/workspace/").status_code == 200
    bounced = elsewhere.get("/workspace/")
    assert bounced.status_code == 302 and "/login" in bounced.headers["Location"]


def test_a_newer_reset_link_cancels_nothing_but_a_password_change_cancels_all(
    web: Web, account: StaffAccount
) -> None:
    request_reset(web, EMAIL)
    first = reset_token_from_mail(EMAIL)
    request_reset(web, EMAIL)
    second = reset_token_from_mail(EMAIL)
    assert first != second
    assert web.get(f"/password/reset/{first}").status_code == 200
    web.submit(f"/password/reset/{second}", data={"password": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD})  # fmt: skip
    assert web.get(f"/password/reset/{first}").status_code == 400


def test_an_expired_reset_link_says_so(web: Web, account: StaffAccount) -> None:
    token = staff.issue_token(account, "reset", hours=-1, env=service_env())
    db.session.commit()
    page = web.get(f"/password/reset/{token}")
    body = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "expired" in body and 'href="/password/forgot"' in body
    posted = web.submit("/password/forgot", f"/password/reset/{token}",
                        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})  # fmt: skip
    assert posted.status_code == 400
    assert staff.authenticate(EMAIL, PASSWORD, ip=None, env=service_env()) is not None


def test_an_expiry_moved_into_the_past_ends_the_link(web: Web, account: StaffAccount) -> None:
    request_reset(web, EMAIL)
    token = reset_token_from_mail(EMAIL)
    record = db.session.scalar(select(AccountToken))
    assert record is not None
    record.expires_at = service_env().now - timedelta(seconds=1)
    db.session.commit()
    assert web.get(f"/password/reset/{token}").status_code == 400


@pytest.mark.parametrize(
    "path", ["/password/reset/nonsense", "/invite/nonsense", "/password/reset/" + "a" * 2000]
)
def test_unknown_links_answer_400(web: Web, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 400
    assert "This link no longer works" in response.get_data(as_text=True)


def test_a_reset_token_is_not_an_invitation(web: Web, account: StaffAccount) -> None:
    request_reset(web, EMAIL)
    token = reset_token_from_mail(EMAIL)
    assert web.get(f"/invite/{token}").status_code == 400
    assert web.get(f"/password/reset/{token}").status_code == 200


def test_staff_with_one_organisation_land_in_it(
    web: Web, account: StaffAccount, make_issuer: Callable[..., Any]
) -> None:
    one = make_issuer("One School", owner=account)
    response = web.sign_in(EMAIL)
    assert response.headers["Location"] == f"/workspace/{one.slug}/"


def test_staff_with_several_organisations_land_on_the_list(
    web: Web, account: StaffAccount, make_issuer: Callable[..., Any]
) -> None:
    make_issuer("One School", owner=account)
    make_issuer("Two School", owner=account)
    assert web.sign_in(EMAIL).headers["Location"] == "/workspace/"
