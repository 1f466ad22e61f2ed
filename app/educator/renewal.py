"""Progress toward renewal (``/me/renewal``): for each credit rule of an organisation that has
awarded the educator a credential, the hours this cycle by category, what is missing and which
open modules would count."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from app.educator import bp, current_educator, educator_required
from app.services.learning import credit_rules
from app.wiring import service_env


@bp.route("/renewal", methods=["GET"])
@educator_required
def renewal() -> ResponseReturnValue:
    """Every renewal the educator's organisations keep rules for, with the progress made."""
    educator = current_educator()
    env = service_env()
    progress = [
        credit_rules.progress(educator, rule, env) for rule in credit_rules.rules_for(educator)
    ]
    return render_template("educator/renewal.html", educator=educator, progress=progress)
