"""Connected applications (``/me/connections``): the wallets and hosts the educator allowed into
their backpack through the OB 3.0 API, what each may do, and disconnecting one (every token it
holds is revoked at once)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.educator import bp, current_educator, educator_required
from app.forms import Confirmation, confirm_page, confirmed
from app.services.learning import connections
from app.wiring import service_env


@bp.get("/connections")
@educator_required
def connections_list() -> str:
    """The applications holding a live connection to the backpack."""
    return render_template(
        "educator/connections.html",
        connected=connections.connections(current_educator(), service_env()),
        scope_words=connections.SCOPES,
    )


@bp.post("/connections/<client_id>/disconnect")
@educator_required
def disconnect(client_id: str) -> ResponseReturnValue:
    """Disconnect an application (asks first)."""
    educator = current_educator()
    found = connections.find_client(client_id)
    name = found.client_name if found is not None else "this application"
    if not confirmed():
        return confirm_page(
            Confirmation(
                title=f"Disconnect {name}?",
                undone=f"{name} will no longer see or add anything in your backpack. To "
                "connect it again, start from the application.",
                action=request.path,
                button="Disconnect",
                cancel=url_for("educator.connections_list"),
                layout="educator/layout.html",
                section="backpack",
            )
        )
    connections.disconnect(educator, client_id, service_env())
    flash(f"{name} is disconnected.", "success")
    return redirect(url_for("educator.connections_list"), 303)
