"""The staff page of a workspace: invitations end to end, role changes, removal, who may see it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccountToken, EmailMessage, Issuer, StaffAccount
from app.services import emails, staff
from app.services.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, PASSWORD, Web
from tests.app.mail_helpers import link_in_delivered
from tests.app.test_auth import like_a_browser

OWNER = "owner@district7.example.org"
NEW = "new.person@district7.example.org"
INVITE_LINK = re.compile(re.escape(BASE_URL) + r"/invite/([A-Za-z0-9_\-]+)")
NEW_PASSWORD = "a brand new long passphrase"


@pytest.fixture(autouse=True)
def outbox_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Delivered test mail goes to this test's folder, not the checkout's ``instance/``."""
    monkeypatch.setattr(emails, "outbox_dir", lambda app: tmp_path / "outbox")


@pytest.fixture
def web(client: FlaskClient) -> Web:
    return like_a_browser(client)


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff(OWNER, name="Pat Owner")


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], owner: StaffAccount) -> Issuer:
    return make_issuer("District 7", slug="district-7", owner=owner)


@pytest.fixture
def owner_web(web: Web, owner: StaffAccount, issuer: Issuer) -> Web:
    web.sign_in(OWNER)
    return web


def members_path(issuer: Issuer, action: str = "") -> str:
    return f"/workspace/{issuer.slug}/members{action}"


def invite(web: Web, issuer: Issuer, **data: str) -> Any:
    return web.submit(members_path(issuer), members_path(issuer, "/invite"), data=data)


def add(issuer: Issuer, account: StaffAccount, role: str) -> None:
    staff.set_role(issuer, account, role, actor=Actor(label="test"), env=service_env())


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def latest_mail(address: str) -> EmailMessage:
    message = db.session.scalars(
        select(EmailMessage)
        .where(EmailMessage.to_address == address)
        .order_by(EmailMessage.id.desc())
    ).first()
    assert message is not None, f"no mail to {address}"
    return message


def test_the_page_lists_staff_roles_and_what_each_role_may_do(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount]
) -> None:
    add(issuer, make_staff("awarder@district7.example.org", name="Ada Awarder"), "awarder")
    page = owner_web.get(members_path(issuer))
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert OWNER in body and "awarder@district7.example.org" in body and "Ada Awarder" in body
    assert "signing keys and staff" in body  # the owner's description
    assert "achievements" in body and "revokes and suspends" in body and "Read-only" in body
    for input_id in ("invite-email", "invite-name", "invite-role"):
        assert f'<label for="{input_id}">' in body
    assert "<script" not in body and "style=" not in body


def test_an_invitation_brings_a_new_person_into_the_workspace(
    owner_web: Web, issuer: Issuer, app: Flask
) -> None:
    response = invite(owner_web, issuer, email=f"  {NEW.upper()} ", name="Nell New", role="editor")
    assert response.status_code == 302
    assert response.headers["Location"] == members_path(issuer)
    listing = owner_web.get(members_path(issuer)).get_data(as_text=True)
    assert f"Invitation sent to {NEW}." in listing and "Invitation pending" in listing

    account = staff.get_by_email(NEW)
    assert account.password_hash is None and staff.role_of(account, issuer) == "editor"
    message = latest_mail(NEW)
    assert message.kind == "invite" and message.sent_at is not None
    assert "District 7" in message.subject
    match = link_in_delivered(INVITE_LINK, NEW, "invite")

    invitee = like_a_browser(app.test_client())
    link = f"/invite/{match.group(1)}"
    page = invitee.get(link)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Nell New" in body and NEW in body and 'autocomplete="new-password"' in body
    accepted = invitee.submit(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert accepted.status_code == 302
    assert accepted.headers["Location"] == f"/workspace/{issuer.slug}/"
    workspace = invitee.get(f"/workspace/{issuer.slug}/")
    assert workspace.status_code == 200 and "District 7" in workspace.get_data(as_text=True)
    assert "You are editor" in invitee.get("/workspace/").get_data(as_text=True)
    # The editor may not manage staff.
    assert invitee.get(members_path(issuer)).status_code == 403

    # The link worked once; the new password signs in from anywhere.
    assert like_a_browser(app.test_client()).get(link).status_code == 400
    like_a_browser(app.test_client()).sign_in(NEW, NEW_PASSWORD)


def test_inviting_someone_with_an_account_adds_them_and_tells_them(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount], app: Flask
) -> None:
    existing = make_staff("known@elsewhere.example.org", name="Kim Known")
    response = invite(owner_web, issuer, email="known@elsewhere.example.org", name="Other name",
                      role="viewer")  # fmt: skip
    assert response.status_code == 302
    assert staff.role_of(existing, issuer) == "viewer"
    assert db.session.get(StaffAccount, existing.id).name == "Kim Known"
    assert count(AccountToken) == 0
    notice = latest_mail("known@elsewhere.example.org")
    assert notice.kind == "invite" and notice.issuer_id == issuer.id
    assert f"{BASE_URL}/login" in notice.body_text and "viewer" in notice.body_text
    # Their password is unchanged and now opens the workspace.
    other = like_a_browser(app.test_client())
    other.sign_in("known@elsewhere.example.org", PASSWORD)
    assert other.get(f"/workspace/{issuer.slug}/").status_code == 200


def test_a_current_member_cannot_be_invited_again(owner_web: Web, issuer: Issuer) -> None:
    response = invite(owner_web, issuer, email=OWNER, name="Pat", role="viewer")
    assert response.status_code == 400
    assert "already a member" in response.get_data(as_text=True)
    assert count(EmailMessage) == 0
    assert staff.role_of(staff.get_by_email(OWNER), issuer) == "owner"


def test_inviting_a_pending_person_again_sends_a_fresh_link(owner_web: Web, issuer: Issuer) -> None:
    invite(owner_web, issuer, email=NEW, name="Nell New", role="viewer")
    first = link_in_delivered(INVITE_LINK, NEW, "invite")
    response = invite(owner_web, issuer, email=NEW, name="Nell New", role="awarder")
    assert response.status_code == 302
    second = link_in_delivered(INVITE_LINK, NEW, "invite")
    assert first and second and first.group(1) != second.group(1)
    assert staff.role_of(staff.get_by_email(NEW), issuer) == "awarder"
    assert count(EmailMessage, EmailMessage.to_address == NEW) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "name": "X", "role": "viewer"}, "Enter an email address like"),
        ({"email": "", "name": "X", "role": "viewer"}, "Enter the email address to invite."),
        ({"email": NEW, "name": "  ", "role": "viewer"}, "Enter the person&#39;s name."),
        ({"email": NEW, "name": "X", "role": "emperor"}, "Choose one of the roles listed."),
        ({"email": NEW, "name": "X" * 201, "role": "viewer"}, "Use at most 200 characters."),
    ],
)
def test_bad_invitations_are_explained_and_change_nothing(
    owner_web: Web, issuer: Issuer, data: dict[str, str], message: str
) -> None:
    response = invite(owner_web, issuer, **data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(StaffAccount) == 1 and count(EmailMessage) == 0


def test_names_are_shown_escaped(owner_web: Web, issuer: Issuer) -> None:
    script = "<script>alert(1)</script>"
    invite(owner_web, issuer, email=NEW, name=script, role="viewer")
    body = owner_web.get(members_path(issuer)).get_data(as_text=True)
    assert script not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # ... also when a bad form is shown again with what was typed.
    again = invite(owner_web, issuer, email="bad", name=script, role="viewer")
    assert again.status_code == 400 and script not in again.get_data(as_text=True)
    # ... and on the invitee's page.
    link = link_in_delivered(INVITE_LINK, NEW, "invite")
    assert link
    page = owner_web.get(f"/invite/{link.group(1)}").get_data(as_text=True)
    assert script not in page and "&lt;script&gt;" in page


def test_an_owner_changes_a_role_and_removes_a_member(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount]
) -> None:
    ada = make_staff("ada@district7.example.org", name="Ada Awarder")
    add(issuer, ada, "awarder")
    changed = owner_web.submit(
        members_path(issuer), members_path(issuer, f"/{ada.id}/role"), data={"role": "editor"}
    )
    assert changed.status_code == 302 and staff.role_of(ada, issuer) == "editor"
    assert "Ada Awarder is now editor." in owner_web.get(members_path(issuer)).get_data(
        as_text=True
    )
    removed = owner_web.submit(members_path(issuer), members_path(issuer, f"/{ada.id}/remove"))
    assert removed.status_code == 302 and staff.role_of(ada, issuer) is None
    # The account stays (it may work elsewhere); it just no longer sees this workspace.
    assert db.session.get(StaffAccount, ada.id) is not None


def test_a_bad_role_is_refused(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount]
) -> None:
    ada = make_staff("ada@district7.example.org", name="Ada Awarder")
    add(issuer, ada, "awarder")
    for data in ({"role": "emperor"}, {}):
        response = owner_web.submit(
            members_path(issuer), members_path(issuer, f"/{ada.id}/role"), data=data
        )
        assert response.status_code == 400
        assert "flash-error" in response.get_data(as_text=True)
    assert staff.role_of(ada, issuer) == "awarder"


def test_the_last_owner_cannot_leave_or_step_down(owner_web: Web, issuer: Issuer) -> None:
    me = staff.get_by_email(OWNER)
    demoted = owner_web.submit(
        members_path(issuer), members_path(issuer, f"/{me.id}/role"), data={"role": "viewer"}
    )
    removed = owner_web.submit(members_path(issuer), members_path(issuer, f"/{me.id}/remove"))
    for response in (demoted, removed):
        assert response.status_code == 409
        body = response.get_data(as_text=True)
        assert "flash-error" in body and "at least one owner" in body
    assert staff.role_of(me, issuer) == "owner"


def test_an_owner_may_step_down_when_another_owner_remains(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount]
) -> None:
    add(issuer, make_staff("second@district7.example.org", name="Sam Second"), "owner")
    me = staff.get_by_email(OWNER)
    response = owner_web.submit(
        members_path(issuer), members_path(issuer, f"/{me.id}/role"), data={"role": "editor"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/workspace/{issuer.slug}/"
    assert owner_web.get(members_path(issuer)).status_code == 403


def test_changes_need_a_csrf_token(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount]
) -> None:
    ada = make_staff("ada@district7.example.org", name="Ada Awarder")
    add(issuer, ada, "awarder")
    for action, data in (
        (f"/{ada.id}/role", {"role": "owner"}),
        (f"/{ada.id}/remove", {}),
        ("/invite", {"email": NEW, "name": "N", "role": "owner"}),
    ):
        response = owner_web.client.post(members_path(issuer, action), data=data,
                                         base_url=BASE_URL)  # fmt: skip
        assert response.status_code == 400
    assert staff.role_of(ada, issuer) == "awarder"
    assert count(StaffAccount) == 2


@pytest.mark.parametrize("role", ["editor", "awarder", "viewer"])
def test_only_owners_manage_staff(
    web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount], role: str
) -> None:
    member = make_staff(f"{role}@district7.example.org", name=role)
    add(issuer, member, role)
    owner = staff.get_by_email(OWNER)
    web.sign_in(member.email)
    assert web.get(members_path(issuer)).status_code == 403
    token = web.csrf_token("/workspace/")
    for action, data in (
        ("/invite", {"email": NEW, "name": "N", "role": "owner"}),
        (f"/{owner.id}/role", {"role": "viewer"}),
        (f"/{owner.id}/remove", {}),
        (f"/{member.id}/role", {"role": "owner"}),
    ):
        response = web.client.post(
            members_path(issuer, action), data={"csrf_token": token, **data}, base_url=BASE_URL
        )
        assert response.status_code == 403
    assert staff.role_of(owner, issuer) == "owner" and staff.role_of(member, issuer) == role
    assert count(EmailMessage) == 0


def test_outsiders_and_unknown_workspaces_get_404(
    web: Web,
    issuer: Issuer,
    make_staff: Callable[..., StaffAccount],
    make_issuer: Callable[..., Issuer],
) -> None:
    outsider = make_staff("outsider@elsewhere.example.org", name="Olly Outsider")
    make_issuer("Elsewhere", owner=outsider)
    web.sign_in(outsider.email)
    assert web.get(members_path(issuer)).status_code == 404
    assert web.get("/workspace/no-such-place/members").status_code == 404
    owner = staff.get_by_email(OWNER)
    response = web.submit("/workspace/", members_path(issuer, f"/{owner.id}/remove"))
    assert response.status_code == 404
    assert staff.role_of(owner, issuer) == "owner"


def test_someone_outside_the_workspace_cannot_be_changed_through_it(
    owner_web: Web,
    issuer: Issuer,
    make_staff: Callable[..., StaffAccount],
    make_issuer: Callable[..., Issuer],
) -> None:
    stranger = make_staff("stranger@elsewhere.example.org", name="Stan Stranger")
    elsewhere = make_issuer("Elsewhere", owner=stranger)
    for action in (f"/{stranger.id}/role", f"/{stranger.id}/remove", "/999999/role"):
        response = owner_web.submit(
            members_path(issuer), members_path(issuer, action), data={"role": "viewer"}
        )
        assert response.status_code == 404
    assert staff.role_of(stranger, issuer) is None
    assert staff.role_of(stranger, elsewhere) == "owner"


def test_anonymous_visitors_are_sent_to_sign_in(web: Web, issuer: Issuer) -> None:
    response = web.get(members_path(issuer))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={members_path(issuer)}"
