"""Awarding one credential from the workspace, and the award form the replace page reuses."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.forms import refusal
from app.models import AchievementVersion
from app.services._core.errors import Invalid
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput, award_input
from app.services.org import achievements
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.awards import MAX_EVIDENCE, load_award
from schemas.errors import flat_errors

#: Evidence rows the form shows (more appear when a replaced credential had more).
EVIDENCE_ROWS = 3
EVIDENCE_FIELDS = ("url", "name", "narrative")


def blank_values(rows: int = EVIDENCE_ROWS) -> dict[str, Any]:
    """The award form as first shown: the name published, the achievement's default expiry."""
    return {
        "email": "",
        "name": "",
        "show_name": True,
        "narrative": "",
        "evidence": [dict.fromkeys(EVIDENCE_FIELDS, "") for _ in range(rows)],
        "expiry": "default",
        "expiry_date": "",
        "credits_earned": "",
    }


def form_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """The award form as submitted, to show again beside its errors."""
    # Rows keep their numbers, so an error is shown beside the row it is about.
    sent = [
        i
        for i in range(MAX_EVIDENCE)
        if any(f"evidence-{i}-{name}" in form for name in EVIDENCE_FIELDS)
    ]
    count = max(EVIDENCE_ROWS, sent[-1] + 1 if sent else 0)
    rows = [
        {name: form.get(f"evidence-{i}-{name}", "") for name in EVIDENCE_FIELDS}
        for i in range(count)
    ]
    return {
        "email": form.get("email", ""),
        "name": form.get("name", ""),
        # An unticked checkbox is simply not sent.
        "show_name": bool(form.get("show_name")),
        "narrative": form.get("narrative", ""),
        "evidence": rows,
        "expiry": form.get("expiry", "default"),
        "expiry_date": form.get("expiry_date", ""),
        "credits_earned": form.get("credits_earned", ""),
    }


def schema_input(values: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """What the award schema reads for these form values, and the form row each evidence item
    it is given came from (rows left entirely blank are not evidence and are dropped)."""
    positions = [
        i
        for i, row in enumerate(values["evidence"])
        if any(str(row.get(name) or "").strip() for name in EVIDENCE_FIELDS)
    ]
    data = {
        "email": values["email"],
        "name": values["name"],
        "show_name": values["show_name"],
        "narrative": values["narrative"],
        "evidence": [values["evidence"][i] for i in positions],
        "expiry": values["expiry"],
        "expiry_date": values["expiry_date"],
        "credits_earned": values.get("credits_earned", ""),
    }
    return data, positions


def form_errors(error: ValidationError, positions: list[int]) -> dict[str, str]:
    """Schema errors keyed by the names of the form's inputs (``evidence-2-url``)."""
    errors: dict[str, str] = {}
    for path, message in flat_errors(error, separator=".", first=True).items():
        parts = path.split(".")
        if parts[0] == "evidence" and len(parts) == 3 and parts[1].isdigit():
            index = int(parts[1])
            row = positions[index] if index < len(positions) else index
            errors.setdefault(f"evidence-{row}-{parts[2]}", message)
        else:
            errors.setdefault(parts[0], message)
    return errors


#: The form input a service's complaint is about, by the service's field name (any other
#: complaint is about the form as a whole).
AWARD_FIELDS = {
    "email": "email",
    "valid_until": "expiry_date",
    "reason": "reason",
    "credits_earned": "credits_earned",
}


def read_award_form(
    form: MultiDict[str, str],
) -> tuple[dict[str, Any], AwardInput | None, dict[str, str]]:
    """The submitted values, the award they describe (None when invalid) and the errors."""
    values = form_values(form)
    data, positions = schema_input(values)
    try:
        fields = load_award(data)
    except ValidationError as error:
        return values, None, form_errors(error, positions)
    return values, award_input(fields), {}


def default_expiry(version: AchievementVersion) -> str:
    """The achievement's default validity, in words, for the expiry choice."""
    days = version.default_validity_days
    if not days:
        return "does not expire"
    return f"valid for {days:,} day{'s' if days != 1 else ''} from today"


@bp.route("/<slug>/achievements/<public_id>/award", methods=["GET", "POST"])
@workspace_view("awarder")
def award(slug: str, public_id: str) -> Response | str | tuple[str, int]:
    """Award the achievement to one person: signed, stored, audited and emailed at once."""
    issuer = current_issuer()
    achievement = achievements.get(issuer, public_id)
    version = achievements.current_version(achievement)
    values: dict[str, Any] = blank_values()
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, data, errors = read_award_form(request.form)
        if data is not None:
            # An archived achievement (a conflict) is an error page, like a missing one.
            with refusal(Invalid) as refused:
                credential = issuing.award(
                    issuer, achievement, data, actor=actor(), env=service_env()
                )
            if refused:
                errors = refused.errors(AWARD_FIELDS)
            else:
                flash(f"Awarded; an email is on its way to {credential.recipient_email}.")
                return redirect(
                    url_for(".credential", slug=issuer.slug, credential_id=credential.id)
                )
    page = render_template(
        "workspace/award.html",
        issuer=issuer,
        achievement=achievement,
        version=version,
        values=values,
        errors=errors,
        default_expiry=default_expiry(version),
        credit_version=version,
    )
    return (page, 400) if errors else page
