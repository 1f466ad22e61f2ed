"""Renewal statements made by staff for an educator of their organisation: the period, the credit
rules, the educator's address; the statement is signed in the organisation's name (awarders and
above, as for a PD transcript) and written in the audit log."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.forms import refusal
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.learning import credit_rules, statements
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.statements import StaffStatementSchema, statement_form_data


@bp.route("/<slug>/statements", methods=["GET", "POST"])
@workspace_view("awarder")
def renewal_statements(slug: str) -> ResponseReturnValue:
    """The form (``?email=`` fills in the address) and the statements made lately; a valid
    submission makes the statement and shows it where it is verified."""
    issuer = current_issuer()
    env = service_env()
    errors: dict[str, str] = {}
    rules = credit_rules.list_for(issuer)
    if request.method == "POST":
        # An address no one at the organisation knows is said on the form, not as a 404 page.
        with refusal(Invalid, Conflict, NotFound) as refused:
            data = StaffStatementSchema().load(statement_form_data(request.form))
            rule = credit_rules.get(issuer, data["rule"]) if data["rule"] else None
            made = statements.create(
                issuer, data["email"], data["start"], data["end"], rule=rule,
                made_by="staff", actor=actor(), env=env,
            )  # fmt: skip
            return redirect(url_for("public.statement", statement_id=made.public_id), code=303)
        errors = refused.errors({"email": "email", "from": "from", "to": "to"}, default="email")
    today = credit_rules.now_date(env)
    # By default: the first rules' current cycle so far, else this calendar year so far.
    first = credit_rules.cycle_of(rules[0], today)[0] if rules else today.replace(month=1, day=1)
    form = request.form if request.method == "POST" else {
        "email": request.args.get("email", ""),
        "rule": rules[0].public_id if rules else "",
        "from": first.isoformat(),
        "to": today.isoformat(),
    }  # fmt: skip
    return render_template(
        "workspace/statements.html",
        issuer=issuer,
        rules=rules,
        made=statements.for_issuer(issuer),
        errors=errors,
        form=form,
    ), (400 if errors else 200)
