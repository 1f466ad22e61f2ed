"""Server-side sessions: a copied session cookie stops working after sign-out, a password
change, "sign out everywhere" and an administrator disabling the account, for staff and for
educators; the sessions lists; disabling and enabling staff accounts; pruning."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import worker
from app.extensions import db
from app.models import AccountSession, AuditEvent, Educator, StaffAccount
from app.services.org import account_sessions
from app.wiring import wiring
from tests.app.auth.test_auth import like_a_browser, request_reset, reset_token_from_mail
from tests.app.conftest import BASE_URL, PASSWORD, Web
from tests.app.educator.educator_helpers import make_educator, sign_in_by_link

EMAIL = "owner@district7.example.org"
EDUCATOR = "ann.lee@school.example.org"
NEW_PASSWORD = "a brand new long passphrase"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
JSON = {"Accept": "application/json"}


def browser(app: Flask, user_agent: str = FIREFOX) -> Web:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return like_a_browser(client)


def cookie_name(app: Flask) -> str:
    return str(app.config["SESSION_COOKIE_NAME"])


def copy_cookie(web: Web) -> str:
    cookie = web.client.get_cookie(cookie_name(web.client.application), domain="badges.example.org")
    assert cookie is not None, "the browser has no session cookie"
    return cookie.value


def replay(app: Flask, value: str) -> Web:
    """A fresh browser that sends a copied session cookie (what a thief would do)."""
    thief = browser(app)
    thief.client.set_cookie(cookie_name(app), value, domain="badges.example.org")
    return thief


def signed_out_of_workspace(web: Web) -> bool:
    page = web.get("/workspace/")
    return page.status_code == 302 and "/login" in page.headers["Location"]


def signed_out_of_backpack(web: Web) -> bool:
    page = web.get("/me/")
    return page.status_code in (302, 303) and "/me/sign-in" in page.headers["Location"]


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def account(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff(EMAIL, name="Pat Owner")


@pytest.fixture
def educator(app: Flask) -> Educator:
    return make_educator(EDUCATOR)


# --- Staff: replaying a cookie -------------------------------------------------------------


def test_a_staff_cookie_replayed_after_sign_out_is_signed_out(app: Flask, account: Any) -> None:
    web = browser(app)
    web.sign_in(EMAIL)
    copied = copy_cookie(web)
    assert not signed_out_of_workspace(replay(app, copied)), "the copy works while signed in"
    web.submit("/workspace/", "/logout")
    assert signed_out_of_workspace(web)
    thief = replay(app, copied)
    assert signed_out_of_workspace(thief)
    # A background JSON request gets a 401 it can act on, not the sign-in page.
    answer = replay(app, copied).get("/workspace/", headers=JSON)
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "unauthorized"


def test_a_staff_cookie_from_before_a_password_change_is_signed_out(
    app: Flask, account: Any
) -> None:
    web = browser(app)
    web.sign_in(EMAIL)
    before = copy_cookie(web)
    elsewhere = browser(app, IPHONE)
    elsewhere.sign_in(EMAIL)
    request_reset(web, EMAIL)
    web.submit(f"/password/reset/{reset_token_from_mail(EMAIL)}",
               data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})  # fmt: skip
    # The browser that changed it goes on, with a new session id...
    assert not signed_out_of_workspace(web)
    assert copy_cookie(web) != before
    # ...every other session, and the old cookie of this browser, are signed out.
    assert signed_out_of_workspace(elsewhere)
    assert signed_out_of_workspace(replay(app, before))
    assert len(account_sessions.live("staff", account.id, now=datetime.now(UTC))) == 1


def test_sign_out_everywhere_ends_every_staff_session_including_this_one(
    app: Flask, account: Any
) -> None:
    web = browser(app)
    web.sign_in(EMAIL)
    copied = copy_cookie(web)
    phone = browser(app, IPHONE)
    phone.sign_in(EMAIL)
    page = web.get("/account").get_data(as_text=True)
    assert "Sign out everywhere" in page and "including this browser" in page
    response = web.submit("/account", "/account/sign-out-everywhere")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    assert "signed out everywhere" in web.get("/login").get_data(as_text=True).lower()
    for each in (web, phone, replay(app, copied)):
        assert signed_out_of_workspace(each)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "staff.sign_out_everywhere")
    ).all()
    assert len(events) == 1 and events[0].subject_id == str(account.id)
    assert events[0].detail == {"sessions": 2}


def test_sign_out_everywhere_needs_a_csrf_token(app: Flask, account: Any) -> None:
    web = browser(app)
    web.sign_in(EMAIL)
    assert web.client.post("/account/sign-out-everywhere", base_url=BASE_URL).status_code == 400
    assert web.get("/account/sign-out-everywhere").status_code == 405
    assert not signed_out_of_workspace(web)


def test_the_account_page_lists_the_staff_sessions(app: Flask, account: Any) -> None:
    web = browser(app)
    web.sign_in(EMAIL)
    phone = browser(app, IPHONE)
    phone.sign_in(EMAIL)
    page = web.get("/account")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Firefox on Windows" in body and "Safari on iPhone" in body
    assert "This browser" in body
    # End the phone's session from here: only the phone is signed out.
    phone_session = account_sessions.live("staff", account.id, now=datetime.now(UTC))[0]
    assert phone_session.user_agent == "Safari on iPhone"
    response = web.submit("/account", f"/account/sessions/{phone_session.id}/end")
    assert response.status_code in (302, 303)
    assert signed_out_of_workspace(phone)
    assert not signed_out_of_workspace(web)
    assert "Safari on iPhone" not in web.get("/account").get_data(as_text=True)


def test_one_account_cannot_end_another_accounts_session(
    app: Flask, account: Any, make_staff: Callable[..., StaffAccount]
) -> None:
    make_staff("other@district7.example.org", name="Other")
    other = browser(app)
    other.sign_in("other@district7.example.org")
    web = browser(app)
    web.sign_in(EMAIL)
    theirs = db.session.scalar(
        select(AccountSession).where(AccountSession.account_id != account.id)
    )
    assert theirs is not None
    response = web.submit("/account", f"/account/sessions/{theirs.id}/end")
    assert response.status_code == 404
    assert not signed_out_of_workspace(other)


def test_the_account_page_needs_sign_in(web: Web) -> None:
    assert web.get("/account").headers["Location"] == "/login?next=/account"


# --- Staff: disabling accounts --------------------------------------------------------------


@pytest.fixture
def admin(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff("admin@district7.example.org", name="Ada Admin", admin=True)


def test_an_administrator_disables_an_account_and_its_sessions_end(
    app: Flask, account: Any, admin: StaffAccount
) -> None:
    victim = browser(app)
    victim.sign_in(EMAIL)
    copied = copy_cookie(victim)
    boss = browser(app)
    boss.sign_in(admin.email)
    listing = boss.get("/workspace/admin/accounts")
    assert listing.status_code == 200 and EMAIL in listing.get_data(as_text=True)
    response = boss.submit(
        "/workspace/admin/accounts", f"/workspace/admin/accounts/{account.id}/disable"
    )
    assert response.status_code in (302, 303)
    assert db.session.get(StaffAccount, account.id).is_active is False
    assert signed_out_of_workspace(victim)
    assert signed_out_of_workspace(replay(app, copied))
    # The right password now gets a clear answer; a wrong one still gets the generic one.
    refused = victim.submit("/login", data={"email": EMAIL, "password": PASSWORD})
    assert refused.status_code == 400
    assert "has been disabled" in refused.get_data(as_text=True)
    wrong = victim.submit("/login", data={"email": EMAIL, "password": "not the password here"})
    assert "has been disabled" not in wrong.get_data(as_text=True)
    assert "Disabled" in boss.get("/workspace/admin/accounts").get_data(as_text=True)

    boss.submit("/workspace/admin/accounts", f"/workspace/admin/accounts/{account.id}/enable")
    assert db.session.get(StaffAccount, account.id).is_active is True
    victim.sign_in(EMAIL)
    assert not signed_out_of_workspace(victim)
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.in_(("staff.disable", "staff.enable")))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["staff.disable", "staff.enable"]


def test_an_administrator_cannot_disable_their_own_account(app: Flask, admin: StaffAccount) -> None:
    boss = browser(app)
    boss.sign_in(admin.email)
    response = boss.submit(
        "/workspace/admin/accounts", f"/workspace/admin/accounts/{admin.id}/disable"
    )
    assert response.status_code == 400
    assert db.session.get(StaffAccount, admin.id).is_active is True


def test_only_administrators_may_disable_accounts(
    app: Flask, account: Any, admin: StaffAccount
) -> None:
    web = browser(app)
    web.sign_in(EMAIL)
    assert web.get("/workspace/admin/accounts").status_code == 403
    token = web.csrf_token("/account")
    response = web.client.post(f"/workspace/admin/accounts/{admin.id}/disable",
                               data={"csrf_token": token}, base_url=BASE_URL)  # fmt: skip
    assert response.status_code == 403
    assert db.session.get(StaffAccount, admin.id).is_active is True
    missing = browser(app)
    missing.sign_in(admin.email)
    assert (
        missing.submit(
            "/workspace/admin/accounts", "/workspace/admin/accounts/99999/disable"
        ).status_code
        == 404
    )


# --- Educators ------------------------------------------------------------------------------


def test_an_educator_cookie_replayed_after_sign_out_is_signed_out(
    app: Flask, educator: Educator
) -> None:
    web = browser(app)
    sign_in_by_link(web, EDUCATOR)
    copied = copy_cookie(web)
    assert not signed_out_of_backpack(replay(app, copied)), "the copy works while signed in"
    web.submit("/me/account", "/me/sign-out")
    assert signed_out_of_backpack(web)
    assert signed_out_of_backpack(replay(app, copied))
    answer = replay(app, copied).get("/me/", headers=JSON)
    assert answer.status_code == 401


def test_educator_sign_out_everywhere_ends_every_session(app: Flask, educator: Educator) -> None:
    web = browser(app)
    sign_in_by_link(web, EDUCATOR)
    copied = copy_cookie(web)
    phone = browser(app, IPHONE)
    sign_in_by_link(phone, EDUCATOR)
    page = web.get("/me/account").get_data(as_text=True)
    assert "Firefox on Windows" in page and "Safari on iPhone" in page and "This browser" in page
    assert "including this browser" in page
    response = web.submit("/me/account", "/me/account/sign-out-everywhere")
    assert response.status_code == 303 and "/me/sign-in" in response.headers["Location"]
    for each in (web, phone, replay(app, copied)):
        assert signed_out_of_backpack(each)
    assert count(AuditEvent, AuditEvent.action == "educator.sign_out_everywhere") == 1


def test_an_educator_ends_one_other_session(app: Flask, educator: Educator) -> None:
    web = browser(app)
    sign_in_by_link(web, EDUCATOR)
    phone = browser(app, IPHONE)
    sign_in_by_link(phone, EDUCATOR)
    row = db.session.scalar(
        select(AccountSession).where(AccountSession.user_agent == "Safari on iPhone")
    )
    assert row is not None
    web.submit("/me/account", f"/me/account/sessions/{row.id}/end")
    assert signed_out_of_backpack(phone)
    assert not signed_out_of_backpack(web)
    other = make_educator("someone.else@school.example.org")
    theirs = browser(app)
    sign_in_by_link(theirs, "someone.else@school.example.org")
    their_row = db.session.scalar(
        select(AccountSession).where(
            AccountSession.account_kind == "educator", AccountSession.account_id == other.id
        )
    )
    assert their_row is not None
    assert web.submit("/me/account", f"/me/account/sessions/{their_row.id}/end").status_code == 404
    assert not signed_out_of_backpack(theirs)


def test_a_staff_session_does_not_sign_in_an_educator(app: Flask, account: Any) -> None:
    # The two kinds share one cookie but not their tokens: a staff token is no educator's.
    web = browser(app)
    web.sign_in(EMAIL)
    with web.client.session_transaction(base_url=BASE_URL) as session:
        session["educator_id"] = account.id
        session["educator_session"] = session["staff_session"]
    assert signed_out_of_backpack(web)


# --- Sessions in the database ---------------------------------------------------------------


def test_only_the_hash_of_the_token_is_stored_and_ids_rotate_at_sign_in(
    app: Flask, account: Any
) -> None:
    web = browser(app)
    web.sign_in(EMAIL)
    with web.client.session_transaction(base_url=BASE_URL) as session:
        first = session["staff_session"]
    row = db.session.scalar(select(AccountSession))
    assert row is not None and row.token_hash == account_sessions.hash_token(first)
    assert first not in row.token_hash
    web.sign_in(EMAIL)
    with web.client.session_transaction(base_url=BASE_URL) as session:
        second = session["staff_session"]
    assert second != first
    # Signing in again in the same browser ends the session it replaces.
    assert account_sessions.find("staff", first, now=datetime.now(UTC)) is None


def test_last_seen_is_written_at_most_once_a_minute_and_expiry_slides(
    app: Flask, account: Any
) -> None:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    clock = {"now": start}
    wiring().clock = lambda: clock["now"]
    web = browser(app)
    web.sign_in(EMAIL)
    row = db.session.scalar(select(AccountSession))
    assert row is not None and row.last_seen_at == start
    clock["now"] = start + timedelta(seconds=30)
    web.get("/workspace/")
    db.session.refresh(row)
    assert row.last_seen_at == start
    clock["now"] = start + timedelta(minutes=2)
    web.get("/workspace/")
    db.session.refresh(row)
    assert row.last_seen_at == start + timedelta(minutes=2)
    assert row.expires_at == start + timedelta(minutes=2, hours=12)
    # Twelve idle hours later the session has ended on the server, whatever the cookie says.
    clock["now"] = start + timedelta(minutes=3, hours=12)
    assert signed_out_of_workspace(web)


def test_the_cookie_is_sent_again_only_when_the_session_changes_or_its_expiry_moves(
    app: Flask, account: Any
) -> None:
    # An answer that re-sent an unchanged cookie could land after a later request's (a badge
    # preview image still loading when its form is submitted) and put back the old cookie,
    # losing what that request flashed.
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    clock = {"now": start}
    wiring().clock = lambda: clock["now"]
    web = browser(app)
    web.sign_in(EMAIL)
    name = cookie_name(app)

    def sets_cookie(response: Any) -> bool:
        return any(v.startswith(f"{name}=") for v in response.headers.getlist("Set-Cookie"))

    web.get("/workspace/")  # shows (and so takes out of the session) the sign-in's flash
    clock["now"] = start + timedelta(seconds=30)
    assert not sets_cookie(web.get("/workspace/"))
    clock["now"] = start + timedelta(minutes=2)
    refreshed = web.get("/workspace/")
    assert sets_cookie(refreshed)
    assert "Expires=" in next(
        v for v in refreshed.headers.getlist("Set-Cookie") if v.startswith(f"{name}=")
    )
    clock["now"] = start + timedelta(minutes=2, seconds=30)
    assert not sets_cookie(web.get("/workspace/"))


def test_expired_and_ended_sessions_are_pruned_at_sign_in(app: Flask, account: Any) -> None:
    now = datetime.now(UTC)
    for expires, revoked in ((now - timedelta(hours=1), None), (now + timedelta(hours=1), now)):
        db.session.add(
            AccountSession(token_hash=f"{len(str(expires))}{revoked}"[:64].ljust(64, "0"),
                           account_kind="staff", account_id=account.id, created_at=now,
                           last_seen_at=now, expires_at=expires, revoked_at=revoked)
        )  # fmt: skip
        db.session.commit()
    assert count(AccountSession) == 2
    browser(app).sign_in(EMAIL)
    assert count(AccountSession) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (FIREFOX, "Firefox on Windows"),
        (IPHONE, "Safari on iPhone"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/131.0.0.0 Safari/537.36",
            "Chrome on Linux",
        ),
        ("curl/8.5.0", "An unrecognised browser"),
        ("", "An unrecognised browser"),
    ],
)
def test_user_agents_are_summarised(header: str, expected: str) -> None:
    assert account_sessions.describe_user_agent(header) == expected


def test_a_malformed_session_token_signs_nobody_in(app: Flask, client: FlaskClient) -> None:
    for token in (None, 7, "", "x" * 5000, ["a"], "not-a-token-but-long-enough-to-look-up"):
        with client.session_transaction(base_url=BASE_URL) as session:
            session["staff_id"] = 1
            session["staff_session"] = token
        page = client.get("/workspace/", base_url=BASE_URL)
        assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_the_maintenance_pass_prunes_ended_sessions(
    app: Flask, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    db.session.add(
        AccountSession(token_hash="e" * 64, account_kind="staff", account_id=account.id,
                       created_at=now, last_seen_at=now, expires_at=now - timedelta(seconds=1))
    )  # fmt: skip
    db.session.commit()
    monkeypatch.setattr(worker, "RESUME_INTERVAL", 0.01)
    stop = threading.Event()
    thread = threading.Thread(target=worker.resume_loop, args=(app, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while count(AccountSession) and time.monotonic() < deadline:
            db.session.rollback()  # read afresh
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert count(AccountSession) == 0
