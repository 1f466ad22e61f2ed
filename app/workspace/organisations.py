"""Creating an organisation (instance administrators only); its creator becomes its owner."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from app.auth import current_staff, login_required
from app.forms import refusal
from app.services._core.transaction import roll_back_refused
from app.services.org import issuers, staff
from app.services.org.issuers import IssuerProfileInput
from app.wiring import service_env
from app.workspace import actor, bp
from schemas.errors import flat_errors
from schemas.issuers import NewOrganisationSchema

FORM_FIELDS = ("name", "slug", "url", "email", "description", "proof_format")


def _form(
    *, status: int = 200, errors: Mapping[str, str] | None = None, form: Mapping[str, str]
) -> ResponseReturnValue:
    page = render_template("workspace/new_organisation.html", errors=errors or {}, form=form)
    return page, status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_organisation() -> ResponseReturnValue:
    """The form for a new organisation; on success, its workspace."""
    staff.require_admin(current_staff())
    if request.method == "GET":
        return _form(form={"proof_format": "di"})
    form = {key: request.form.get(key, "")[:5000] for key in FORM_FIELDS}
    try:
        data = NewOrganisationSchema().load(request.form)
    except ValidationError as error:
        return _form(status=400, errors=flat_errors(error, depth=1, first=True), form=form)
    profile = IssuerProfileInput(
        name=data["name"],
        url=data["url"],
        email=data["email"],
        description=data["description"],
        proof_format=data["proof_format"],
    )
    try:
        with refusal() as refused:
            issuer = issuers.create_issuer(
                profile, slug=data["slug"], owner=current_staff(), actor=actor(), env=service_env()
            )
    except IntegrityError:
        # Two administrators chose the same short name at the same moment; the check in
        # create_issuer passed for both and the unique index stopped the second.
        roll_back_refused()
        return _form(status=400, errors={"slug": "That short name was just taken."}, form=form)
    if refused:
        return _form(status=400, errors=refused.errors(), form=form)
    flash(f"{issuer.name} is ready: its signing keys and status lists have been created.")
    return redirect(url_for("workspace.overview", slug=issuer.slug))
