"""The credential page kept for visitors without a cookie (``app/public/kept_pages.py``, served by
the lane in ``app/public/documents.py``), and page views tallied in memory
(``analytics.ViewTally``): a kept page is Flask's answer exactly, anything it shows that changes
shows on the next view, no one's own page is ever kept or served to another, and no view is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import Achievement, CredentialActivity, IssuedCredential, Issuer
from app.public import documents, kept_pages
from app.services.awarding import naming, revocation
from app.services.delivery import analytics, visibility
from app.services.org.audit import Actor
from app.wiring import service_env, view_tally
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.educator.educator_helpers import make_educator

TEST = Actor(label="test")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def rendered(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry each time Flask's view ran for the page (a kept page does not reach it)."""
    ran: list[str] = []
    real = app.view_functions["public.credential"]

    def counting(**kwargs: Any) -> Any:
        ran.append(kwargs["credential_id"])
        return real(**kwargs)

    monkeypatch.setitem(app.view_functions, "public.credential", counting)
    return ran


def get(client: FlaskClient, found: IssuedCredential, language: str = "en-US") -> TestResponse:
    response = client.get(
        f"/credentials/{found.id}",
        base_url=BASE_URL,
        headers={"Accept": BROWSER, "Accept-Language": language},
    )
    assert response.status_code == 200 and response.mimetype == "text/html"
    return response


def page(client: FlaskClient, found: IssuedCredential) -> str:
    return get(client, found).get_data(as_text=True)


def raw_views(found: IssuedCredential) -> int:
    """The views written to the table (no flush first, unlike analytics' readers)."""
    db.session.rollback()  # a fresh snapshot
    rows = db.session.scalars(
        select(CredentialActivity.count).where(
            CredentialActivity.credential_id == found.id, CredentialActivity.kind == "view"
        )
    )
    return sum(rows)


def test_a_kept_page_is_flasks_answer_exactly(
    client: FlaskClient, credential: IssuedCredential, rendered: list[str]
) -> None:
    first = get(client, credential)
    second = get(client, credential)
    assert rendered == [credential.id]  # the second came from the lane
    assert second.data == first.data and "status-banner-valid" in second.get_data(as_text=True)
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]

    def headers(response: TestResponse) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in response.headers if k != "X-Request-ID")

    assert headers(second) == headers(first)
    assert first.headers["Cache-Control"] == "no-cache"
    assert analytics.for_credential(credential.id)["view"] == 2


def change_issuer_name(credential: IssuedCredential, issuer: Issuer) -> str:
    db.session.execute(
        text("UPDATE issuer SET name = 'Renamed Academy' WHERE id = :id"), {"id": issuer.id}
    )
    db.session.commit()
    return "Renamed Academy"


def revoke(credential: IssuedCredential, issuer: Issuer) -> str:
    revocation.revoke(credential, "Error", actor=TEST, env=service_env(), public="Issued in error")
    return "status-banner-revoked"


def suspend(credential: IssuedCredential, issuer: Issuer) -> str:
    revocation.suspend(credential, "Under review", actor=TEST, env=service_env())
    return "status-banner-suspended"


def public_reason_only(credential: IssuedCredential, issuer: Issuer) -> str:
    # Only the row changes (as another process's edit would): nothing the verdict reads.
    revocation.revoke(credential, "Error", actor=TEST, env=service_env(), public="First reason")
    db.session.execute(
        text("UPDATE issued_credential SET revocation_public_reason = 'Second' WHERE id = :id"),
        {"id": credential.id},
    )
    db.session.commit()
    return "Second"


def make_private(credential: IssuedCredential, issuer: Issuer) -> str:
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    return "This credential is private"


@pytest.mark.parametrize(
    "change",
    [change_issuer_name, revoke, suspend, public_reason_only, make_private],
    ids=lambda change: change.__name__,
)
def test_a_change_to_what_the_page_shows_shows_on_the_next_view(
    client: FlaskClient,
    credential: IssuedCredential,
    issuer: Issuer,
    rendered: list[str],
    change: Callable[[IssuedCredential, Issuer], str],
) -> None:
    before = page(client, credential)
    assert page(client, credential) == before and len(rendered) == 1  # kept
    shows = change(credential, issuer)
    assert shows not in before
    after = page(client, credential)
    assert len(rendered) == 2 and shows in after


def test_a_document_signed_again_shows_on_the_next_view(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
    rendered: list[str],
) -> None:
    found = make_award(issuer, achievement, "nameless@school.example.org")
    before = page(client, found)
    assert page(client, found) == before and len(rendered) == 1
    naming.add_recipient_name(found, "Nia Nameless", actor=TEST, env=service_env())
    db.session.commit()
    assert "Nia Nameless" not in before and "Nia Nameless" in page(client, found)
    assert len(rendered) == 2


def test_a_kept_page_ends_with_its_verdict(
    client: FlaskClient,
    credential: IssuedCredential,
    rendered: list[str],
    set_clock: Callable[[Any], None],
) -> None:
    now = service_env().now
    set_clock(now)
    page(client, credential)
    set_clock(now + kept_pages.reuse.MAX_AGE)
    page(client, credential)
    assert len(rendered) == 2


def test_locales_are_kept_apart(client: FlaskClient, credential: IssuedCredential) -> None:
    american = get(client, credential, "en-US").get_data(as_text=True)
    british = get(client, credential, "en-GB").get_data(as_text=True)
    assert american != british  # dates: "Dec 5, 2026" and "5 Dec 2026"
    assert get(client, credential, "en-GB").get_data(as_text=True) == british
    assert get(client, credential, "en-US").get_data(as_text=True) == american


def test_a_signed_in_holder_never_gets_a_kept_page_nor_leaves_one(
    app: Flask, client: FlaskClient, credential: IssuedCredential, rendered: list[str]
) -> None:
    anonymous = page(client, credential)
    assert "Your credential" not in anonymous
    holder = app.test_client()
    sign_in_directly(holder, "educator", make_educator(credential.recipient_email).id)
    own = page(holder, credential)
    assert "Your credential" in own and "My backpack" in own
    assert len(rendered) == 2  # the cookie took it past the lane
    again = page(client, credential)
    assert again == anonymous and "Your credential" not in again
    assert len(rendered) == 2
    # A cookie alone (no one signed in) is never served a kept page either.
    stranger = app.test_client()
    stranger.set_cookie("unrelated", "1", domain="badges.example.org")
    page(stranger, credential)
    assert len(rendered) == 3


def test_no_view_is_lost(
    client: FlaskClient, credential: IssuedCredential, rendered: list[str]
) -> None:
    for _ in range(7):
        page(client, credential)
    revocation.suspend(credential, "Under review", actor=TEST, env=service_env())
    for _ in range(5):
        page(client, credential)
    assert len(rendered) == 2  # twelve views, ten of them kept pages
    analytics.flush_pending()  # as at a worker's exit
    assert view_tally().pending == 0
    assert raw_views(credential) == 12
    assert analytics.for_credential(credential.id)["view"] == 12


def test_views_are_written_within_seconds_without_anyone_reading(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    page(client, credential)
    page(client, credential)
    deadline = time.monotonic() + 10 * analytics.FLUSH_SECONDS
    while raw_views(credential) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert raw_views(credential) == 2


def test_a_failed_flush_keeps_its_counts_for_the_next(
    app: Flask, credential: IssuedCredential, tmp_path: Any
) -> None:
    broken = create_engine(f"sqlite:///{tmp_path / 'missing' / 'none.sqlite3'}")
    tally = analytics.ViewTally(broken, interval=3600)
    day = service_env().now.date()
    for _ in range(3):
        tally.add(credential.id, day)
    assert tally.flush() == 0 and tally.pending == 3
    tally.engine = db.engine
    assert tally.flush() == 3 and tally.pending == 0
    assert raw_views(credential) == 3


def test_the_lane_keeps_nothing_for_a_private_page(
    app: Flask, client: FlaskClient, credential: IssuedCredential, rendered: list[str]
) -> None:
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    page(client, credential)
    page(client, credential)
    assert len(rendered) == 2
    lane = app.wsgi_app
    assert isinstance(lane, documents.DocumentLane)
    assert lane.pages.get(kept_pages.cache_key(credential.id, "en_US", "")) is None


def test_a_count_the_database_refuses_does_not_hold_back_the_others(
    app: Flask, credential: IssuedCredential
) -> None:
    tally = analytics.ViewTally(db.engine, interval=3600)
    day = service_env().now.date()
    tally.add("00000000-0000-0000-0000-000000000000", day)  # no such credential
    tally.add(credential.id, day)
    tally.add(credential.id, day)
    assert tally.flush() == 2 and tally.pending == 0
    assert raw_views(credential) == 2
    tally.close()


def test_an_answer_that_sets_a_cookie_is_never_kept(
    app: Flask, client: FlaskClient, credential: IssuedCredential, rendered: list[str]
) -> None:
    # Should rendering ever start a session for a visitor without one, its cookie must not be
    # replayed to the next visitor: such an answer is rendered anew every time.
    @app.after_request
    def start_a_session(response: Any) -> Any:
        response.set_cookie("visitor", str(len(rendered)))
        return response

    first = get(client, credential)
    client.delete_cookie("visitor", domain="badges.example.org")
    second = get(client, credential)
    assert rendered == [credential.id, credential.id]
    assert first.headers["Set-Cookie"] != second.headers["Set-Cookie"]
