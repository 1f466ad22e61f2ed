"""The educator's learning record (CLR 2.0): choose all or some credentials, download the signed
record as JSON or baked into a PNG."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue

from app.educator import bp, current_educator, educator_required
from app.forms import refusal
from app.services.learning import records
from app.wiring import service_env
from schemas.records import RecordExportSchema, form_data


def record_download(record: dict[str, Any], file_format: str, filename: str) -> Response:
    """A signed record as an attachment: the JSON itself, or a PNG with it baked in."""
    if file_format == "png":
        response = Response(records.baked_png(record), mimetype="image/png")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.png"'
    else:
        text = json.dumps(record, ensure_ascii=False, indent=2)
        response = Response(text, mimetype="application/vc+ld+json")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/record", methods=["GET", "POST"])
@educator_required
def record() -> ResponseReturnValue:
    """The export form; a valid submission downloads the record."""
    educator = current_educator()
    env = service_env()
    errors: dict[str, str] = {}
    if request.method == "POST":
        with refusal() as refused:
            data = RecordExportSchema().load(form_data(request.form))
            chosen = data["credential"] if data["scope"] == "chosen" else None
            signed = records.educator_record(educator, chosen, env)
            return record_download(signed, data["format"], "learning-record")
        errors = refused.errors({"credential": "credential"})
    return render_template(
        "educator/record.html",
        choices=records.educator_choices(educator, env),
        errors=errors,
        form=request.form,
    ), (400 if errors else 200)
