"""A PD transcript: staff export an educator's learning record (CLR 2.0) of this organisation's
credentials, signed by the organisation. Awarders and above, since it is signed in its name."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from app.educator.records import record_download
from app.forms import refusal
from app.services._core.errors import Invalid
from app.services.learning import records
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.records import StaffRecordExportSchema, form_data


@bp.route("/<slug>/records", methods=["GET", "POST"])
@workspace_view("awarder")
def records_export(slug: str) -> ResponseReturnValue:
    """Find the educator by address (``?email=``), choose the credentials, download the record."""
    issuer = current_issuer()
    env = service_env()
    source = request.form if request.method == "POST" else request.args
    email = (source.get("email") or "").strip()
    errors: dict[str, str] = {}
    choices: list[records.Choice] = []
    if request.method == "POST":
        with refusal() as refused:
            data = StaffRecordExportSchema().load(form_data(request.form))
            chosen = data["credential"] if data["scope"] == "chosen" else None
            signed = records.staff_record(issuer, data["email"], chosen, actor=actor(), env=env)
            return record_download(signed, data["format"], "pd-transcript")
        errors = refused.errors({"credential": "credential", "email": "email"})
    if email:
        with refusal(Invalid) as looked_up:
            choices = records.staff_choices(issuer, email, env)
        errors = {**looked_up.errors({"email": "email"}), **errors}
    return render_template(
        "workspace/records.html",
        issuer=issuer,
        email=email,
        choices=choices,
        errors=errors,
        form=source,
    ), (400 if errors else 200)
