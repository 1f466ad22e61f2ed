"""The staff page of a workspace: invitations end to end, role changes, removal, who may see it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, EmailMessage, Issuer, StaffAccount, StaffInvitation
from app.services.org import staff
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.auth.test_auth import like_a_browser
from tests.app.conftest import BASE_URL, PASSWORD, Web
from tests.app.mail_helpers import link_in_delivered

OWNER = "owner@district7.example.org"
NEW = "new.person@district7.example.org"
KNOWN = "known@elsewhere.example.org"
MEMBER = "member@district7.example.org"
OTHER = "other@elsewhere.example.org"
INVITE_LINK = re.compile(re.escape(BASE_URL) + r"/invite/([A-Za-z0-9_\-]+)")
NEW_PASSWORD = "a brand new long passphrase"


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


def actions() -> list[str]:
    """The invitation events recorded so far, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("staff.invitation.%"))
            .order_by(AuditEvent.id)
        )
    )


def invite_link(address: str) -> str:
    """The invitation link in the latest mail delivered to ``address`` (the stored copy keeps
    no secret link)."""
    match = link_in_delivered(INVITE_LINK, address, "invite")
    return f"/invite/{match.group(1)}"


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
    assert f"{NEW} is invited to District 7 as editor" in listing
    assert "Pending invitations" in listing and NEW in listing
    # Nobody joins, and no account exists, until the invitation is accepted.
    assert count(StaffAccount, StaffAccount.email == NEW) == 0
    assert count(StaffInvitation, StaffInvitation.email == NEW) == 1
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
    assert page.headers["Referrer-Policy"] == "no-referrer"
    accepted = invitee.submit(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert accepted.status_code == 302
    assert accepted.headers["Location"] == f"/workspace/{issuer.slug}/"
    workspace = invitee.get(f"/workspace/{issuer.slug}/")
    assert workspace.status_code == 200 and "District 7" in workspace.get_data(as_text=True)
    assert "You are editor" in invitee.get("/workspace/").get_data(as_text=True)
    # The editor may not manage staff.
    assert invitee.get(members_path(issuer)).status_code == 403
    assert staff.get_by_email(NEW).name == "Nell New"
    assert actions() == ["staff.invitation.invite", "staff.invitation.accept"]

    # The link worked once; the new password signs in from anywhere.
    assert like_a_browser(app.test_client()).get(link).status_code == 400
    like_a_browser(app.test_client()).sign_in(NEW, NEW_PASSWORD)
    assert "Pending invitations" not in owner_web.get(members_path(issuer)).get_data(as_text=True)


def flash_text(web: Web, issuer: Issuer) -> str:
    body = web.get(members_path(issuer)).get_data(as_text=True)
    found = re.search(r'<p class="flash flash-[a-z]+" role="status">([^<]*)</p>', body)
    assert found, body
    return found.group(1)


def test_the_answer_is_the_same_for_a_new_address_an_account_and_a_member(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount]
) -> None:
    make_staff(KNOWN, name="Kim Known")
    add(issuer, make_staff(MEMBER, name="Mo Member"), "awarder")
    answers = []
    for address in (NEW, KNOWN, MEMBER):
        response = invite(owner_web, issuer, email=address, name="Given Name", role="viewer")
        body = response.get_data(as_text=True).replace(address, "ADDRESS")
        text = flash_text(owner_web, issuer).replace(address, "ADDRESS")
        answers.append((response.status_code, response.headers.get("Location"), body, text))
    assert answers[0] == answers[1] == answers[2], answers
    assert answers[0][0] == 302
    # Nothing shows that the second address has an account, nor its name; nobody joined.
    listing = owner_web.get(members_path(issuer)).get_data(as_text=True)
    assert "Kim Known" not in listing and "Given Name" not in listing
    assert staff.role_of(staff.get_by_email(KNOWN), issuer) is None
    assert staff.role_of(staff.get_by_email(MEMBER), issuer) == "awarder"
    # The two outsiders get the very same invitation; the member is left as they are.
    new_mail, known_mail = latest_mail(NEW), latest_mail(KNOWN)
    assert new_mail.subject == known_mail.subject
    assert INVITE_LINK.sub("LINK", new_mail.body_text).replace(NEW, "ADDRESS") == INVITE_LINK.sub(
        "LINK", known_mail.body_text
    ).replace(KNOWN, "ADDRESS")
    assert count(EmailMessage, EmailMessage.to_address == MEMBER) == 0


def test_an_existing_account_joins_only_when_it_accepts(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount], app: Flask
) -> None:
    existing = make_staff(KNOWN, name="Kim Known")
    response = invite(owner_web, issuer, email=KNOWN, name="Other name", role="viewer")
    assert response.status_code == 302
    assert staff.role_of(existing, issuer) is None
    link = invite_link(KNOWN)

    # Signed out, the link asks them to sign in as the invited account, and comes back.
    invitee = like_a_browser(app.test_client())
    page = invitee.get(link)
    assert page.status_code == 200 and "Sign in as" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    invitee.sign_in(KNOWN, PASSWORD)
    assert invitee.get(f"/workspace/{issuer.slug}/").status_code == 404  # not a member yet
    page = invitee.get(link)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Accept and join District 7" in body and "viewer" in body
    assert staff.role_of(existing, issuer) is None

    accepted = invitee.submit(link)
    assert accepted.status_code == 302
    assert accepted.headers["Location"] == f"/workspace/{issuer.slug}/"
    assert staff.role_of(existing, issuer) == "viewer"
    assert db.session.get(StaffAccount, existing.id).name == "Kim Known"  # their own name
    assert invitee.get(f"/workspace/{issuer.slug}/").status_code == 200
    assert actions() == ["staff.invitation.invite", "staff.invitation.accept"]
    assert invitee.get(link).status_code == 400  # answered


def test_someone_else_signed_in_cannot_answer_the_invitation(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount], app: Flask
) -> None:
    existing = make_staff(KNOWN, name="Kim Known")
    make_staff(OTHER, name="Olly Other")
    invite(owner_web, issuer, email=KNOWN, name="Kim", role="owner")
    link = invite_link(KNOWN)
    intruder = like_a_browser(app.test_client())
    intruder.sign_in(OTHER)
    page = intruder.get(link)
    assert page.status_code == 403 and "Only known@elsewhere.example.org" in page.get_data(
        as_text=True
    )
    token = intruder.csrf_token("/workspace/")
    for action in (link, f"{link}/decline"):
        refused = intruder.client.post(action, data={"csrf_token": token}, base_url=BASE_URL)
        assert refused.status_code == 403, action
    # Nor may the owner who sent it.
    assert owner_web.submit(members_path(issuer), link).status_code == 403
    assert staff.role_of(existing, issuer) is None
    assert staff.role_of(staff.get_by_email(OTHER), issuer) is None
    invitation = db.session.scalar(select(StaffInvitation))
    assert invitation is not None and invitation.is_open
    assert actions() == ["staff.invitation.invite"]


def test_an_anonymous_visitor_cannot_answer_for_an_account(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount], app: Flask
) -> None:
    existing = make_staff(KNOWN, name="Kim Known")
    invite(owner_web, issuer, email=KNOWN, name="Kim", role="viewer")
    link = invite_link(KNOWN)
    visitor = like_a_browser(app.test_client())
    for action in (link, f"{link}/decline"):
        assert visitor.submit("/login", action).status_code == 403, action
    assert staff.role_of(existing, issuer) is None
    assert actions() == ["staff.invitation.invite"]


def test_an_account_may_decline(
    owner_web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount], app: Flask
) -> None:
    existing = make_staff(KNOWN, name="Kim Known")
    invite(owner_web, issuer, email=KNOWN, name="Kim", role="viewer")
    link = invite_link(KNOWN)
    invitee = like_a_browser(app.test_client())
    invitee.sign_in(KNOWN)
    declined = invitee.submit(link, f"{link}/decline")
    assert declined.status_code == 200 and "Invitation declined" in declined.get_data(as_text=True)
    assert staff.role_of(existing, issuer) is None
    assert invitee.get(link).status_code == 400
    assert invitee.submit("/workspace/", link).status_code == 400
    assert staff.role_of(existing, issuer) is None
    assert actions() == ["staff.invitation.invite", "staff.invitation.decline"]
    assert "Pending invitations" not in owner_web.get(members_path(issuer)).get_data(as_text=True)


def test_a_new_address_may_decline(owner_web: Web, issuer: Issuer, app: Flask) -> None:
    invite(owner_web, issuer, email=NEW, name="Nell New", role="viewer")
    link = invite_link(NEW)
    invitee = like_a_browser(app.test_client())
    assert "Decline the invitation" in invitee.get(link).get_data(as_text=True)
    assert invitee.submit(link, f"{link}/decline").status_code == 200
    assert invitee.get(link).status_code == 400
    assert count(StaffAccount, StaffAccount.email == NEW) == 0
    assert actions() == ["staff.invitation.invite", "staff.invitation.decline"]


def test_owners_withdraw_pending_invitations(owner_web: Web, issuer: Issuer, app: Flask) -> None:
    invite(owner_web, issuer, email=NEW, name="Nell New", role="viewer")
    link = invite_link(NEW)
    invitation = db.session.scalar(select(StaffInvitation))
    assert invitation is not None
    listing = owner_web.get(members_path(issuer)).get_data(as_text=True)
    assert "Pending invitations" in listing and NEW in listing and "Nell New" not in listing
    revoke = members_path(issuer, f"/invitations/{invitation.id}/revoke")
    response = owner_web.submit(members_path(issuer), revoke)
    assert response.status_code == 302
    assert f"The invitation to {NEW} is withdrawn." in flash_text(owner_web, issuer)
    assert like_a_browser(app.test_client()).get(link).status_code == 400
    assert owner_web.submit(members_path(issuer), revoke).status_code == 404  # only once
    assert actions() == ["staff.invitation.invite", "staff.invitation.revoke"]
    assert count(StaffAccount, StaffAccount.email == NEW) == 0


def test_invitations_expire(owner_web: Web, issuer: Issuer, app: Flask) -> None:
    invite(owner_web, issuer, email=NEW, name="Nell New", role="viewer")
    link = invite_link(NEW)
    invitation = db.session.scalar(select(StaffInvitation))
    assert invitation is not None
    assert invitation.expires_at == invitation.created_at + timedelta(hours=72)
    invitation.expires_at = service_env().now - timedelta(seconds=1)
    db.session.commit()
    invitee = like_a_browser(app.test_client())
    assert invitee.get(link).status_code == 400
    refused = invitee.submit(
        "/login", link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert refused.status_code == 400
    assert count(StaffAccount, StaffAccount.email == NEW) == 0
    assert "Expired" in owner_web.get(members_path(issuer)).get_data(as_text=True)


def test_only_the_token_hash_is_stored(owner_web: Web, issuer: Issuer) -> None:
    invite(owner_web, issuer, email=NEW, name="Nell New", role="viewer")
    token = invite_link(NEW).rsplit("/", 1)[1]
    invitation = db.session.scalar(select(StaffInvitation))
    assert invitation is not None
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(invitation.__dict__)


def test_a_link_sent_before_invitations_waited_still_sets_a_password(
    web: Web, issuer: Issuer, app: Flask
) -> None:
    # Earlier versions made the account (a member, without a password) when inviting, and
    # emailed an account token: such a link keeps working until it expires.
    env = service_env()
    account = staff.create_account(email=NEW, name="Nell New", password=None,
                                   actor=Actor(label="test"), env=env)  # fmt: skip
    add(issuer, account, "viewer")
    token = staff.issue_token(account, "invite", hours=72, env=env)
    db.session.commit()
    link = f"/invite/{token}"
    assert web.get(link).status_code == 200
    done = web.submit(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == f"/workspace/{issuer.slug}/"


def test_inviting_a_current_member_changes_nothing(owner_web: Web, issuer: Issuer) -> None:
    response = invite(owner_web, issuer, email=OWNER, name="Pat", role="viewer")
    assert response.status_code == 302
    assert count(EmailMessage) == 0 and count(StaffInvitation) == 0
    assert staff.role_of(staff.get_by_email(OWNER), issuer) == "owner"


def test_inviting_a_pending_person_again_sends_a_fresh_link(
    owner_web: Web, issuer: Issuer, app: Flask
) -> None:
    invite(owner_web, issuer, email=NEW, name="Nell New", role="viewer")
    first = link_in_delivered(INVITE_LINK, NEW, "invite")
    response = invite(owner_web, issuer, email=NEW, name="Nell New", role="awarder")
    assert response.status_code == 302
    second = link_in_delivered(INVITE_LINK, NEW, "invite")
    assert first and second and first.group(1) != second.group(1)
    assert count(EmailMessage, EmailMessage.to_address == NEW) == 2
    assert count(StaffInvitation) == 1  # renewed, not doubled
    invitee = like_a_browser(app.test_client())
    assert invitee.get(f"/invite/{first.group(1)}").status_code == 400  # only the newest works
    link = f"/invite/{second.group(1)}"
    invitee.submit(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert staff.role_of(staff.get_by_email(NEW), issuer) == "awarder"


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


def test_names_are_shown_escaped(owner_web: Web, issuer: Issuer, app: Flask) -> None:
    script = "<script>alert(1)</script>"
    invite(owner_web, issuer, email=NEW, name=script, role="viewer")
    # ... when a bad form is shown again with what was typed.
    again = invite(owner_web, issuer, email="bad", name=script, role="viewer")
    assert again.status_code == 400 and script not in again.get_data(as_text=True)
    # ... on the invitee's page.
    link = invite_link(NEW)
    invitee = like_a_browser(app.test_client())
    page = invitee.get(link).get_data(as_text=True)
    assert script not in page and "&lt;script&gt;" in page
    # ... and in the staff list once they have joined.
    invitee.submit(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    body = owner_web.get(members_path(issuer)).get_data(as_text=True)
    assert script not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


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
    # Removing asks first, saying they lose access at once; nothing changes until confirmed.
    asked = owner_web.submit(members_path(issuer), members_path(issuer, f"/{ada.id}/remove"))
    question = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Remove Ada Awarder from" in question
    assert "They lose access at once." in question and 'name="confirmed" value="1"' in question
    assert staff.role_of(ada, issuer) == "editor"
    removed = owner_web.submit(
        members_path(issuer), members_path(issuer, f"/{ada.id}/remove"), data={"confirmed": "1"}
    )
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
    removed = owner_web.submit(
        members_path(issuer), members_path(issuer, f"/{me.id}/remove"), data={"confirmed": "1"}
    )
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
        (f"/{ada.id}/remove", {"confirmed": "1"}),
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
        (f"/{owner.id}/remove", {"confirmed": "1"}),
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
    response = web.submit(
        "/workspace/", members_path(issuer, f"/{owner.id}/remove"), data={"confirmed": "1"}
    )
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
