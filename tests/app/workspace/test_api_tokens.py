"""API tokens in the workspace: owners make one (shown once, never cached) and revoke it after
a confirm step; bad input is shown beside the field and changes nothing; others cannot."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, AuditEvent
from app.services.org import staff, tokens
from app.services.org.audit import Actor
from app.wiring import service_env


def test_an_owner_makes_a_token_shown_once(web, make_staff, make_issuer) -> None:
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer("Issuer A", owner=owner)
    web.sign_in(owner.email)
    page = f"/workspace/{issuer.slug}/tokens"
    assert web.get(page).status_code == 200
    response = web.submit(page, data={"name": "Moodle", "scopes": ["awards:write", "achievements:read"], "expires": "2030-01-31"})  # fmt: skip
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secret = re.search(r'value="(cairn_[^"]+)"', html).group(1)
    token = tokens.authenticate(secret, env=service_env())
    assert token is not None and token.scopes == ["achievements:read", "awards:write"]
    assert token.expires_at.date().isoformat() == "2030-01-31"
    assert token.created_by_id == owner.id
    # Shown once: the list afterwards has its hint only.
    listed = web.get(page).get_data(as_text=True)
    assert secret not in listed and token.hint in listed and "Moodle" in listed


def test_bad_input_is_shown_and_makes_nothing(web, make_staff, make_issuer) -> None:
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer("Issuer A", owner=owner)
    web.sign_in(owner.email)
    page = f"/workspace/{issuer.slug}/tokens"
    for data, message in (
        ({"name": "", "scopes": ["awards:write"]}, "Name the token"),
        ({"name": "X", "scopes": []}, "Choose at least one scope"),
        ({"name": "X", "scopes": ["everything"]}, "Choose scopes from the list"),
        ({"name": "X", "scopes": ["awards:write"], "expires": "2001-01-01"}, "in the future"),
        ({"name": "X", "scopes": ["awards:write"], "expires": "soon"}, "Enter a date"),
    ):
        response = web.submit(page, data=data)
        assert response.status_code == 400, data
        assert message in response.get_data(as_text=True), data
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_revoking_asks_first_then_revokes(web, make_staff, make_issuer) -> None:
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer("Issuer A", owner=owner)
    made = tokens.create(issuer, creator=owner, name="LMS", scopes=["awards:write"], expires_at=None,
                         actor=Actor(owner), env=service_env())  # fmt: skip
    web.sign_in(owner.email)
    page = f"/workspace/{issuer.slug}/tokens"
    action = f"{page}/{made.token.public_id}/revoke"
    asked = web.submit(page, action)
    assert asked.status_code == 200 and "Revoke the token" in asked.get_data(as_text=True)
    db.session.refresh(made.token)
    assert made.token.revoked_at is None
    done = web.submit(page, action, data={"confirmed": "1"})
    assert done.status_code in (302, 303)
    assert tokens.authenticate(made.secret, env=service_env()) is None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.revoke"))


def test_only_owners_see_tokens(web, make_staff, make_issuer) -> None:
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer("Issuer A", owner=owner)
    editor = make_staff("editor@a.example.org")
    staff.set_role(issuer, editor, "editor", actor=Actor(owner), env=service_env())
    web.sign_in(editor.email)
    assert web.get(f"/workspace/{issuer.slug}/tokens").status_code == 403
