"""The credentials screens: list, search and filter; one credential in full; revoke, suspend,
unsuspend, replace and resend through the forms, checked against the served status lists."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, EmailMessage, IssuedCredential, StaffAccount
from app.services.awarding import revocation
from app.services.awarding.issuing import EvidenceInput
from app.services.org import staff
from app.services.org.audit import Actor
from app.wiring import service_env
from app.workspace import credentials as credentials_view
from credentials import StatusList, verify_credential
from tests.app.conftest import BASE_URL, Web, sign_in_directly

TEST = Actor(label="test")


def sign_in(client: FlaskClient, account: StaffAccount) -> None:
    """Sign in by writing the session (the sign-in form itself is tested with the auth views)."""
    sign_in_directly(client, "staff", account.id)


@pytest.fixture
def owner(make_staff):
    return make_staff()


@pytest.fixture
def issuer(make_issuer, owner):
    return make_issuer(owner=owner)


@pytest.fixture
def achievement(issuer, make_achievement):
    return make_achievement(issuer)


@pytest.fixture
def credential(issuer, achievement, make_award):
    return make_award(
        issuer, achievement, "ann.lee@school.example.org", name="Ann Le", narrative="Ran exit tickets.",
        evidence=(EvidenceInput(url="https://portfolio.example.org/ann", name="Portfolio"),),
    )  # fmt: skip


@pytest.fixture
def signed_in(web, owner) -> Web:
    sign_in(web.client, owner)
    return web


def detail(issuer: Any, credential: Any) -> str:
    return f"/workspace/{issuer.slug}/credentials/{credential.id}"


def bit(client: FlaskClient, issuer: Any, purpose: str, index: int) -> bool:
    served = json.loads(client.get(f"/status/{issuer.slug}/{purpose}", base_url=BASE_URL).data)
    return StatusList.decode(served["credentialSubject"]["encodedList"]).get(index)


def verify(document: str, fetch: Any) -> Any:
    env = service_env()
    return verify_credential(
        document, loader=env.loader, now=env.now + timedelta(seconds=1), fetch=fetch
    )


def listed(html: str) -> list[str]:
    """The recipient emails a credentials page lists, in order."""
    return re.findall(r'<span class="muted">([^<@]+@[^<]+)</span>', html)


def test_the_list_searches_filters_and_pages(
    signed_in, issuer, achievement, make_achievement, make_award, monkeypatch
) -> None:
    other = make_achievement(issuer, "Coaching Cycles")
    people = {
        "valid": make_award(issuer, achievement, "valid@school.example.org", name="Val Id"),
        "revoked": make_award(issuer, achievement, "revoked@school.example.org", name="Rev Oked"),
        "suspended": make_award(issuer, other, "suspended@school.example.org", name="Sus Pended"),
        "expired": make_award(
            issuer, other, "expired@school.example.org", name="Ex Pired",
            valid_until=datetime.now(UTC) + timedelta(days=1),
        ),
    }  # fmt: skip
    revocation.revoke(people["revoked"], "Error", actor=TEST, env=service_env())
    revocation.suspend(people["suspended"], "Review", actor=TEST, env=service_env())
    # Only the clock can expire a credential; move its expiry into the past instead.
    people["expired"].valid_until = datetime.now(UTC) - timedelta(days=1)
    db.session.commit()
    base = f"/workspace/{issuer.slug}/credentials"

    everything = signed_in.get(base).get_data(as_text=True)
    assert sorted(listed(everything)) == sorted(c.recipient_email for c in people.values())
    for status, credential in people.items():
        html = signed_in.get(f"{base}?status={status}").get_data(as_text=True)
        assert listed(html) == [credential.recipient_email], status
        assert f'status-{status}">{status.capitalize()}' in html
    assert listed(signed_in.get(f"{base}?q=PENDED").get_data(as_text=True)) == [
        "suspended@school.example.org"
    ]
    assert listed(signed_in.get(f"{base}?q=revoked%40school").get_data(as_text=True)) == [
        "revoked@school.example.org"
    ]
    assert listed(signed_in.get(f"{base}?q=%25").get_data(as_text=True)) == []  # no wildcards
    by_achievement = signed_in.get(f"{base}?achievement={other.public_id}").get_data(as_text=True)
    assert sorted(listed(by_achievement)) == [
        "expired@school.example.org",
        "suspended@school.example.org",
    ]
    assert listed(signed_in.get(f"{base}?achievement=nope").get_data(as_text=True)) == []
    for junk in (
        "status=bogus",
        "page=abc",
        "page=-3",
        "page=99999999999999999999999",
        "q=" + "x" * 5000,
    ):
        assert signed_in.get(f"{base}?{junk}").status_code == 200, junk

    monkeypatch.setattr(credentials_view, "PAGE_SIZE", 3)
    first = signed_in.get(base).get_data(as_text=True)
    second = signed_in.get(f"{base}?page=2").get_data(as_text=True)
    assert len(listed(first)) == 3 and len(listed(second)) == 1
    assert set(listed(first)) | set(listed(second)) == {c.recipient_email for c in people.values()}
    assert "page=2" in first and "page 1 of 2" in first
    filtered = signed_in.get(f"{base}?achievement={achievement.public_id}").get_data(as_text=True)
    assert "page=2" not in filtered  # two credentials fit on one page


def test_every_workspace_page_says_the_same_word_for_a_status(
    signed_in, issuer, achievement, make_award
) -> None:
    people = {
        status: make_award(issuer, achievement, f"{status}@school.example.org",
                           valid_until=datetime.now(UTC) + timedelta(days=1))
        for status in ("valid", "revoked", "suspended", "expired")
    }  # fmt: skip
    revocation.revoke(people["revoked"], "Error", actor=TEST, env=service_env())
    revocation.suspend(people["suspended"], "Review", actor=TEST, env=service_env())
    people["expired"].valid_until = datetime.now(UTC) - timedelta(days=1)
    db.session.commit()
    overview = signed_in.get(f"/workspace/{issuer.slug}/").get_data(as_text=True)
    listing = signed_in.get(f"/workspace/{issuer.slug}/credentials").get_data(as_text=True)
    for status, credential in people.items():
        word = f'<span class="status status-{status}">{status.capitalize()}</span>'
        row = re.compile(re.escape(credential.id) + r'">[^<]+</a>.*?</tr>', re.S)
        for page in (overview, listing):
            found = row.search(page)
            assert found and word in found.group(0), status
        assert word in signed_in.get(detail(issuer, credential)).get_data(as_text=True), status


def test_the_detail_page_shows_everything_about_a_credential(signed_in, issuer, credential) -> None:
    html = signed_in.get(detail(issuer, credential)).get_data(as_text=True)
    assert "Ann Le" in html and "ann.lee@school.example.org" in html
    assert "Formative Assessment in Practice</a>, version 1" in html
    url = f"{BASE_URL}/credentials/{credential.id}"
    assert f'<a href="{url}">{url}</a>' in html
    assert "Data Integrity (eddsa-rdfc-2022)" in html
    assert f"<td>{credential.status_index}</td>" in html
    assert "Ran exit tickets." in html and "https://portfolio.example.org/ann" in html
    assert "<code>credential.issue</code>" in html
    assert "Revocation is permanent" in html and "Revoke permanently" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html


def test_revoking_through_the_form_flips_the_served_bit(
    signed_in, client, issuer, achievement, credential, make_award, local_fetch
) -> None:
    bystander = make_award(issuer, achievement, "bystander@school.example.org")
    page = detail(issuer, credential)
    action = f"{page}/revoke"

    refused = signed_in.submit(page, action, data={"reason": "   "})
    assert refused.status_code == 302
    assert "Give a reason" in signed_in.get(page).get_data(as_text=True)
    assert not bit(client, issuer, "revocation", credential.status_index)

    # A public reason is chosen as well as the internal note; "Other" needs its words.
    note = {"reason": "Awarded to the wrong person"}
    unchosen = signed_in.submit(page, action, data=note)
    assert unchosen.status_code == 302
    assert "Choose the reason the public will see." in signed_in.get(page).get_data(as_text=True)
    wordless = signed_in.submit(page, action, data=note | {"public_reason": "other"})
    assert wordless.status_code == 302
    assert "Write the reason the public will see." in signed_in.get(page).get_data(as_text=True)

    # The form first asks, saying what cannot be undone; nothing changes until it is confirmed.
    chosen = note | {"public_reason": "issued_in_error"}
    asked = signed_in.submit(page, action, data=chosen)
    assert asked.status_code == 200
    question = asked.get_data(as_text=True)
    assert "Revoke this credential?" in question and "This cannot be undone." in question
    assert "Issued in error" in question and "Awarded to the wrong person" in question
    assert 'name="confirmed" value="1"' in question and 'name="csrf_token"' in question
    assert credential.revoked_at is None
    assert not bit(client, issuer, "revocation", credential.status_index)

    done = signed_in.submit(page, action, data=chosen | {"confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith(page)
    html = signed_in.get(page).get_data(as_text=True)
    assert "Revoked. Anyone who checks it now sees it is revoked." in html
    assert "Awarded to the wrong person" in html and "<code>credential.revoke</code>" in html
    assert "Public reason: Issued in error" in html
    assert credential.revocation_public_reason == "Issued in error"
    public = client.get(f"/credentials/{credential.id}", base_url=BASE_URL,
                        headers={"Accept": "text/html"}).get_data(as_text=True)  # fmt: skip
    assert "Issued in error" in public and "Awarded to the wrong person" not in public
    assert "Revoke permanently" not in html  # nothing more to do to a revoked credential
    assert bit(client, issuer, "revocation", credential.status_index)
    assert not bit(client, issuer, "revocation", bystander.status_index)
    assert verify(credential.document, local_fetch).check("status").code == "revoked"
    assert verify(bystander.document, local_fetch).valid

    again = signed_in.submit(page, action, data={"reason": "Twice", "public_reason": "other",
                                                  "public_other": "Twice", "confirmed": "1"})  # fmt: skip
    assert again.status_code == 302
    assert "already revoked" in signed_in.get(page).get_data(as_text=True)
    revokes = (
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "credential.revoke")
    )
    assert db.session.scalar(revokes) == 1


def test_suspending_and_unsuspending_through_the_forms(
    signed_in, client, issuer, credential
) -> None:
    page = detail(issuer, credential)
    suspend = {"reason": "Complaint", "public_reason": "under_review"}
    assert signed_in.submit(page, f"{page}/suspend", data=suspend).status_code == 302
    html = signed_in.get(page).get_data(as_text=True)
    assert "Suspended until the suspension is lifted." in html and "Complaint" in html
    assert "Public reason: Under review by the issuer" in html
    public = client.get(f"/credentials/{credential.id}", base_url=BASE_URL,
                        headers={"Accept": "text/html"}).get_data(as_text=True)  # fmt: skip
    assert "Under review by the issuer" in public and "Complaint" not in public
    assert "Lift suspension" in html and "Resend award email" not in html
    assert bit(client, issuer, "suspension", credential.status_index)
    assert not bit(client, issuer, "revocation", credential.status_index)

    signed_in.submit(
        page, f"{page}/suspend", data={"reason": "Twice", "public_reason": "under_review"}
    )
    assert "already suspended" in signed_in.get(page).get_data(as_text=True)
    signed_in.submit(page, f"{page}/unsuspend", data={"reason": ""})
    assert bit(client, issuer, "suspension", credential.status_index)  # no reason, no change

    assert (
        signed_in.submit(page, f"{page}/unsuspend", data={"reason": "Review closed"}).status_code
        == 302
    )
    assert "The suspension is lifted." in signed_in.get(page).get_data(as_text=True)
    assert not bit(client, issuer, "suspension", credential.status_index)
    signed_in.submit(page, f"{page}/unsuspend", data={"reason": "Again"})
    assert "not suspended" in signed_in.get(page).get_data(as_text=True)


def test_replacing_through_the_form(signed_in, client, issuer, credential, local_fetch) -> None:
    page = f"{detail(issuer, credential)}/replace"
    form = signed_in.get(page).get_data(as_text=True)
    assert 'value="ann.lee@school.example.org"' in form and 'value="Ann Le"' in form
    assert 'value="https://portfolio.example.org/ann"' in form and 'value="Portfolio"' in form
    assert ">Ran exit tickets.</textarea>" in form
    assert re.search(r'id="show_name" name="show_name" value="on" checked', form)
    fields = {
        "email": "ann.lee@school.example.org", "name": "Ann Lee", "show_name": "on",
        "narrative": "Ran exit tickets.", "expiry": "never",
        "evidence-0-url": "https://portfolio.example.org/ann", "evidence-0-name": "Portfolio",
    }  # fmt: skip

    missing_reason = signed_in.submit(page, data=fields)
    assert missing_reason.status_code == 400
    assert "Give a reason; it is kept in the audit log." in missing_reason.get_data(as_text=True)
    bad_email = signed_in.submit(page, data=fields | {"email": "nope", "reason": "Typo"})
    assert bad_email.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 1

    done = signed_in.submit(page, data=fields | {"reason": "Name was misspelt"})
    assert done.status_code == 302, done.get_data(as_text=True)
    db.session.refresh(credential)
    replacement = db.session.get(IssuedCredential, credential.replaced_by_id)
    assert replacement is not None and done.headers["Location"].endswith(
        detail(issuer, replacement)
    )
    assert replacement.recipient_name == "Ann Lee"
    assert "Name was misspelt" in (credential.revocation_reason or "")
    assert bit(client, issuer, "revocation", credential.status_index)
    assert not bit(client, issuer, "revocation", replacement.status_index)
    assert verify(credential.document, local_fetch).check("status").code == "revoked"
    assert verify(replacement.document, local_fetch).valid
    new_page = signed_in.get(detail(issuer, replacement)).get_data(as_text=True)
    assert "Replaced: this is the corrected credential" in new_page
    assert (
        f'Replaces</th><td><a href="/workspace/{issuer.slug}/credentials/{credential.id}"'
        in new_page
    )
    old_page = signed_in.get(detail(issuer, credential)).get_data(as_text=True)
    assert (
        f'Replaced by</th><td><a href="/workspace/{issuer.slug}/credentials/{replacement.id}"'
        in old_page
    )
    again = signed_in.get(page).get_data(as_text=True)
    assert "cannot be replaced" in again and 'name="email"' not in again


def test_resending_the_award_email(signed_in, issuer, credential) -> None:
    page = detail(issuer, credential)
    before = db.session.scalar(select(func.count()).select_from(EmailMessage))
    assert signed_in.submit(page, f"{page}/resend").status_code == 302
    assert "on its way to ann.lee@school.example.org again" in signed_in.get(page).get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count()).select_from(EmailMessage)) == (before or 0) + 1
    resent = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "credential.resend")
    ).one()
    assert resent.subject_id == credential.id
    revocation.revoke(credential, "Error", actor=TEST, env=service_env())
    signed_in.submit(page, f"{page}/resend")
    assert "not sent again" in signed_in.get(page).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EmailMessage)) == (before or 0) + 1


def test_viewers_see_but_cannot_change(web, client, issuer, credential, make_staff) -> None:
    viewer = make_staff("viewer@district7.example.org", name="Val Viewer")
    staff.set_role(issuer, viewer, "viewer", actor=TEST, env=service_env())
    sign_in(client, viewer)
    page = detail(issuer, credential)
    html = web.get(page).get_data(as_text=True)
    assert "ann.lee@school.example.org" in html and "Revoke permanently" not in html
    assert web.get(f"/workspace/{issuer.slug}/credentials").status_code == 200
    assert web.get(f"{page}/replace").status_code == 403
    for action in ("revoke", "suspend", "unsuspend", "resend", "replace"):
        response = web.submit(
            page, f"{page}/{action}", data={"reason": "x", "email": "a@b.example.org"}
        )
        assert response.status_code == 403, action
    assert not bit(client, issuer, "revocation", credential.status_index)
    assert not bit(client, issuer, "suspension", credential.status_index)


def test_other_issuers_credentials_are_not_found(
    signed_in, issuer, make_issuer, make_achievement, make_award
) -> None:
    elsewhere = make_issuer("Elsewhere")
    foreign = make_award(elsewhere, make_achievement(elsewhere), "x@elsewhere.example.org")
    token = signed_in.csrf_token(f"/workspace/{issuer.slug}/")
    for credential_id in (foreign.id, "no-such-credential", "0" * 300):
        path = f"/workspace/{issuer.slug}/credentials/{credential_id}"
        assert signed_in.get(path).status_code == 404
        assert signed_in.get(f"{path}/replace").status_code == 404
        for action in ("revoke", "suspend", "unsuspend", "resend", "replace"):
            response = signed_in.client.post(f"{path}/{action}", data={"csrf_token": token, "reason": "x"},
                                             base_url=BASE_URL)  # fmt: skip
            assert response.status_code == 404, (credential_id, action)
    assert foreign.revoked_at is None and foreign.suspended_at is None


def test_outsiders_get_404_and_anonymous_visitors_sign_in(
    web, client, issuer, credential, make_staff, make_issuer
) -> None:
    paths = [f"/workspace/{issuer.slug}/credentials", detail(issuer, credential),
             f"{detail(issuer, credential)}/replace"]  # fmt: skip
    for path in paths:
        response = client.get(path, base_url=BASE_URL)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    outsider = make_staff("out@elsewhere.example.org", name="Out Sider")
    make_issuer("Elsewhere", owner=outsider)
    sign_in(client, outsider)
    token = web.csrf_token("/workspace/elsewhere/")
    for path in paths:
        assert web.get(path).status_code == 404
    for action in ("revoke", "suspend", "unsuspend", "resend", "replace"):
        response = client.post(f"{detail(issuer, credential)}/{action}",
                               data={"csrf_token": token, "reason": "x"}, base_url=BASE_URL)  # fmt: skip
        assert response.status_code == 404
    assert credential.revoked_at is None


def test_nul_bytes_in_urls_and_forms_are_refused_not_crashed_on(
    signed_in, client, issuer, credential
) -> None:
    # PostgreSQL raises an error for a NUL byte in a query; the app refuses them up front with
    # a 400 that explains, for every route (app/security.py), instead of a server error.
    base = f"/workspace/{issuer.slug}/credentials"
    response = signed_in.get(f"{base}?q=ann%00")
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    for path in (f"{base}/ab%00c", f"{base}/{credential.id}%00", "/workspace/x%00y/credentials",
                 f"/workspace/{issuer.slug}%00/audit", f"/workspace/{issuer.slug}/jobs/a%00"):  # fmt: skip
        assert signed_in.get(path).status_code in (400, 404), path
    page = detail(issuer, credential)
    response = signed_in.submit(page, f"{page}/revoke", data={"reason": "x\x00y"})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert credential.revoked_at is None
    assert not bit(client, issuer, "revocation", credential.status_index)


def test_a_jwt_credential_is_shown_and_prefilled_for_replacement(
    web, make_staff, make_issuer, make_achievement, make_award
) -> None:
    account = make_staff("jo@district9.example.org", name="Jo")
    issuer = make_issuer("District 9", owner=account, proof_format="jwt")
    credential = make_award(issuer, make_achievement(issuer), "kim@school.example.org",
                            name="Kim", narrative="Coached **three** peers.", show_name=False)  # fmt: skip
    sign_in(web.client, account)
    html = web.get(detail(issuer, credential)).get_data(as_text=True)
    assert "VC-JWT (ES256)" in html and "<strong>three</strong>" in html
    form = web.get(f"{detail(issuer, credential)}/replace").get_data(as_text=True)
    assert ">Coached **three** peers.</textarea>" in form and 'value="Kim"' in form
    assert 'name="show_name" value="on">' in form  # the name was not published, so unticked


def test_the_list_and_the_page_say_whether_the_recipient_claimed_it(
    signed_in, issuer, achievement, credential, make_award
) -> None:
    claimed = make_award(issuer, achievement, "claimed@school.example.org", name="Cla Imed")
    claimed.claimed_at = service_env().now
    db.session.commit()
    base = f"/workspace/{issuer.slug}/credentials"
    assert listed(signed_in.get(f"{base}?claimed=yes").get_data(as_text=True)) == [
        "claimed@school.example.org"
    ]
    assert listed(signed_in.get(f"{base}?claimed=no").get_data(as_text=True)) == [
        "ann.lee@school.example.org"
    ]
    assert len(listed(signed_in.get(f"{base}?claimed=bogus").get_data(as_text=True))) == 2
    assert "Not yet claimed" in signed_in.get(detail(issuer, credential)).get_data(as_text=True)
    page = signed_in.get(detail(issuer, claimed)).get_data(as_text=True)
    assert "Claimed by the recipient on" in page
