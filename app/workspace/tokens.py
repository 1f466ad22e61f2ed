"""API tokens in the workspace (owners): list, make (the token is shown once, with a copy
button) and revoke (after a confirm step)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from app.auth import current_staff
from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.models import API_SCOPES
from app.security import secret_page
from app.services.org import staff, tokens
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.errors import flat_errors
from schemas.tokens import TokenSchema

#: What each scope lets a token do, shown beside its checkbox.
SCOPE_DESCRIPTIONS = {
    "achievements:read": "List and read achievements",
    "achievements:write": "Create achievements, save new versions, archive and restore",
    "awards:write": "Award credentials, one at a time or in bulk jobs",
    "credentials:read": "List and read credentials, bulk jobs and reports",
    "credentials:revoke": "Revoke and suspend credentials, and lift suspensions",
    "staff:write": "List staff, invite, change roles, edit the organisation's profile",
    "audit:read": "Read the audit log",
}


def _page(
    *,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, Any] | None = None,
    made: tokens.NewToken | None = None,
) -> ResponseReturnValue:
    issuer = current_issuer()
    page = render_template(
        "workspace/tokens.html",
        issuer=issuer,
        tokens=tokens.list_for(issuer),
        scopes=API_SCOPES,
        descriptions=SCOPE_DESCRIPTIONS,
        scope_roles=tokens.SCOPE_ROLES,
        role=staff.role_of(current_staff(), issuer),
        now=service_env().now,
        errors=errors or {},
        form=form or {"name": "", "scopes": [], "expires": ""},
        made=made,
    )
    # The new token is on this page only: never cached, never sent on as a referrer.
    return secret_page(page, status) if made is not None else (page, status)


@bp.get("/<slug>/tokens")
@workspace_view("owner")
def api_tokens(slug: str) -> ResponseReturnValue:
    """The organisation's API tokens, and the form to make one."""
    return _page()


@bp.post("/<slug>/tokens")
@workspace_view("owner")
def create_api_token(slug: str) -> ResponseReturnValue:
    """Make a token and show it, once."""
    form = {
        "name": request.form.get("name", "")[:200],
        "scopes": request.form.getlist("scopes"),
        "expires": request.form.get("expires", "")[:20],
    }
    try:
        data = TokenSchema().load({**request.form.to_dict(), "scopes": form["scopes"]})
    except ValidationError as error:
        return _page(status=400, errors=flat_errors(error, depth=1, first=True), form=form)
    expires_at = (
        datetime.combine(data["expires"], time(23, 59, 59), UTC) if data["expires"] else None
    )
    with refusal() as refused:
        made = tokens.create(current_issuer(), creator=current_staff(), name=data["name"],
                             scopes=data["scopes"], expires_at=expires_at, actor=actor(),
                             env=service_env())  # fmt: skip
    if refused:
        errors = refused.errors()
        return _page(status=400, errors=errors, form=form)
    return _page(made=made)


@bp.post("/<slug>/tokens/<token_id>/revoke")
@workspace_view("owner")
def revoke_api_token(slug: str, token_id: str) -> ResponseReturnValue:
    """Revoke a token at once, after a confirm step."""
    token = tokens.get(current_issuer(), token_id)
    back = url_for("workspace.api_tokens", slug=slug)
    if not confirmed():
        return confirm_page(
            Confirmation(
                title=f"Revoke the token “{token.name}”?",
                undone="Every system using it is refused from now on. A revoked token cannot "
                "be used again; make a new one to replace it.",
                action=url_for("workspace.revoke_api_token", slug=slug, token_id=token.public_id),
                button="Revoke the token",
                cancel=back,
                facts=(("Token", f"{token.hint}…"), ("Scopes", ", ".join(token.scopes))),
            )
        )
    tokens.revoke(token, actor=actor(), env=service_env())
    flash(f"The token “{token.name}” is revoked.")
    return redirect(back)
