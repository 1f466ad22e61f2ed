"""Pushing to another host (``/me/hosts``): the OB 3.0 hosts the educator connected Cairn to,
connecting one by its discovery URL (the host's consent page and back), choosing credentials
and the profile to push, the result of every push with "Try again", and disconnecting."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.educator import bp, current_educator, educator_required
from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.services._core.errors import NotFound
from app.services.learning import hosts
from app.wiring import base_url, service_env

#: The session key holding the ``state`` of the authorization under way (one at a time).
STATE_KEY = "ob_host_state"


def _start(authorization: hosts.Authorization) -> ResponseReturnValue:
    session[STATE_KEY] = authorization.state
    return redirect(authorization.url, 303)


@bp.get("/hosts")
@educator_required
def hosts_list() -> ResponseReturnValue:
    """The connected hosts and the form that connects another."""
    return _list_page()


def _list_page(error: str = "", discovery_url: str = "", status: int = 200) -> ResponseReturnValue:
    return (
        render_template(
            "educator/hosts.html",
            connected=hosts.connections_of(current_educator()),
            error=error,
            discovery_url=discovery_url,
        ),
        status,
    )


@bp.post("/hosts")
@educator_required
def host_connect() -> ResponseReturnValue:
    """Discover and register at the host, then send the educator to its consent page."""
    typed = request.form.get("discovery_url", "")
    with refusal() as refused:
        authorization = hosts.connect(
            current_educator(),
            typed,
            redirect_uri=base_url() + url_for("educator.host_callback"),
            links={
                "client_uri": base_url() + "/",
                "logo_uri": base_url() + url_for("static", filename="favicon.svg"),
                # The policies discovery names too: the operator's, else Cairn's short pages.
                "tos_uri": current_app.config["OB_API_TERMS_URL"]
                or base_url() + url_for("obapi.terms"),
                "policy_uri": current_app.config["OB_API_PRIVACY_POLICY_URL"]
                or base_url() + url_for("obapi.privacy"),
            },
            env=service_env(),
        )
    if refused:
        return _list_page(refused.message, typed, 400)
    return _start(authorization)


@bp.get("/hosts/callback")
@educator_required
def host_callback() -> ResponseReturnValue:
    """Where the host sends the educator back with a code (or a refusal)."""
    with refusal() as refused:
        connection = hosts.finish(
            current_educator(),
            returned_state=request.args.get("state", ""),
            session_state=session.pop(STATE_KEY, None),
            code=request.args.get("code"),
            error=request.args.get("error"),
            env=service_env(),
        )
    if refused:
        flash(refused.message, "error")
        return redirect(url_for("educator.hosts_list"), 303)
    flash(f"Connected to {connection.host_name}.", "success")
    return redirect(url_for("educator.host_page", public_id=connection.public_id), 303)


@bp.get("/hosts/<public_id>")
@educator_required
def host_page(public_id: str) -> str:
    """One connection: what to push, and what was pushed."""
    educator = current_educator()
    try:
        connection = hosts.get(educator, public_id)
    except NotFound:
        abort(404)
    return render_template(
        "educator/host.html", connection=connection, pushable=hosts.pushable(educator)
    )


@bp.post("/hosts/<public_id>/push")
@educator_required
def host_push(public_id: str) -> ResponseReturnValue:
    """Queue the chosen credentials (and the profile) for the host."""
    with refusal() as refused:
        queued = hosts.push(
            current_educator(),
            public_id,
            request.form.getlist("items"),
            profile=request.form.get("profile") == "1",
            env=service_env(),
        )
    if refused:
        refused.flash()
    else:
        flash(f"{len(queued)} sent to the host; the results are below.", "success")
    return redirect(url_for("educator.host_page", public_id=public_id), 303)


@bp.post("/hosts/<public_id>/pushes/<int:push_id>/retry")
@educator_required
def host_retry(public_id: str, push_id: int) -> ResponseReturnValue:
    """Try a failed push again."""
    with refusal() as refused:
        hosts.retry(current_educator(), public_id, push_id, service_env())
    refused.flash("Tried again; the result is below.")
    return redirect(url_for("educator.host_page", public_id=public_id), 303)


@bp.post("/hosts/<public_id>/reconnect")
@educator_required
def host_reconnect(public_id: str) -> ResponseReturnValue:
    """Authorize Cairn at the host again (after the host ended its access)."""
    with refusal() as refused:
        authorization = hosts.reconnect(current_educator(), public_id, service_env())
    if refused:
        refused.flash()
        return redirect(url_for("educator.hosts_list"), 303)
    return _start(authorization)


@bp.post("/hosts/<public_id>/disconnect")
@educator_required
def host_disconnect(public_id: str) -> ResponseReturnValue:
    """Revoke Cairn's access at the host and forget the connection (asks first)."""
    educator = current_educator()
    try:
        connection = hosts.get(educator, public_id)
    except NotFound:
        abort(404)
    if not confirmed():
        return confirm_page(
            Confirmation(
                title=f"Disconnect from {connection.host_name}?",
                undone=f"Cairn asks {connection.host_name} to end its access and forgets the "
                "connection and the list of pushes. What you pushed stays at the host.",
                action=request.path,
                button="Disconnect",
                cancel=url_for("educator.host_page", public_id=public_id),
                layout="educator/layout.html",
                section="backpack",
            )
        )
    name = hosts.disconnect(educator, public_id, service_env())
    flash(f"Disconnected from {name}.", "success")
    return redirect(url_for("educator.hosts_list"), 303)
