"""Progress toward renewal (``/me/renewal``): for each credit rule of an organisation that has
awarded the educator a credential, the hours this cycle by category, what is missing and which
open modules would count; and the renewal statement of a chosen period, made from there."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.educator import bp, current_educator, educator_required
from app.forms import refusal
from app.models import Educator
from app.services._core.errors import Invalid
from app.services.learning import credit_rules, educators, statements
from app.wiring import service_env
from schemas.statements import StatementSchema, statement_form_data


def _page(
    educator: Educator, errors: dict[str, str], form: Any, status: int
) -> ResponseReturnValue:
    env = service_env()
    progress = [
        credit_rules.progress(educator, rule, env) for rule in credit_rules.rules_for(educator)
    ]
    return render_template(
        "educator/renewal.html",
        educator=educator,
        progress=progress,
        made=statements.for_educator(educator),
        today=credit_rules.now_date(env),
        errors=errors,
        form=form,
    ), status


@bp.route("/renewal", methods=["GET"])
@educator_required
def renewal() -> ResponseReturnValue:
    """Every renewal the educator's organisations keep rules for, with the progress made."""
    return _page(current_educator(), {}, {}, 200)


@bp.route("/renewal/statement", methods=["POST"])
@educator_required
def renewal_statement() -> ResponseReturnValue:
    """Make the statement of a period under one of the rules (the rule's organisation's
    credentials, signed by it) and show it where it is verified."""
    educator = current_educator()
    env = service_env()
    with refusal() as refused:
        data = StatementSchema().load(statement_form_data(request.form))
        rule = credit_rules.rule_for_educator(educator, data["rule"] or "")
        addresses = educators.verified_emails(educator)
        if not addresses:
            raise Invalid("Confirm an email address first.", field="from")
        made = statements.create(
            rule.issuer, addresses[0], data["start"], data["end"], rule=rule,
            made_by="educator", actor=None, env=env,
        )  # fmt: skip
        return redirect(url_for("public.statement", statement_id=made.public_id), code=303)
    errors = refused.errors({"from": "from", "to": "to"}, default="from")
    return _page(educator, errors, request.form, 400)
