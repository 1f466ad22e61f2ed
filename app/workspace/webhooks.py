"""Webhooks in the workspace (owners only): the issuer's endpoints, adding and editing one,
its signing secret (shown once, at creation and at each rotation), turning it off, deleting
it, and its recent deliveries with every attempt and a "Redeliver" button."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.models import WEBHOOK_EVENT_TYPES, WebhookEndpoint
from app.services.webhooks import deliveries, endpoints
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.webhooks import WebhookEndpointSchema, endpoint_form

#: What each event means, beside its box on the form.
EVENT_DESCRIPTIONS = {
    "credential.issued": "A credential was awarded (one at a time, in bulk, or by a pathway).",
    "credential.claimed": "An educator accepted a credential into their backpack.",
    "credential.revoked": "A credential was revoked (or replaced by a corrected one).",
    "credential.suspended": "A credential was suspended.",
    "credential.unsuspended": "A credential's suspension was lifted.",
    "job.finished": "A bulk award job finished (or failed).",
}


def _form_page(
    template_values: Mapping[str, Any],
    errors: Mapping[str, str],
    *,
    endpoint: WebhookEndpoint | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    page = render_template(
        "workspace/webhook_form.html",
        issuer=current_issuer(),
        endpoint=endpoint,
        values=template_values,
        errors=errors,
        event_types=WEBHOOK_EVENT_TYPES,
        descriptions=EVENT_DESCRIPTIONS,
    )
    return page, status


def _values(endpoint: WebhookEndpoint | None = None) -> dict[str, Any]:
    if endpoint is None:
        return {"url": "", "description": "", "events": list(WEBHOOK_EVENT_TYPES), "enabled": True}
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "enabled": endpoint.enabled,
    }


def _posted() -> dict[str, Any]:
    """The form as posted, to show again when it is refused."""
    form = endpoint_form(request.form)
    return {
        "url": str(form.get("url", ""))[:2000],
        "description": str(form.get("description", ""))[:200],
        "events": [e for e in form.get("events", []) if e in WEBHOOK_EVENT_TYPES],
        "enabled": bool(form.get("enabled")),
    }


def _secret_page(endpoint: WebhookEndpoint, secret: str, *, new: bool) -> ResponseReturnValue:
    """The one time a secret is shown: not cached, not kept anywhere in clear."""
    response = make_response(
        render_template(
            "workspace/webhook_secret.html",
            issuer=current_issuer(),
            endpoint=endpoint,
            secret=secret,
            new=new,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<slug>/webhooks")
@workspace_view("owner")
def webhooks(slug: str) -> ResponseReturnValue:
    """The issuer's endpoints, with how their deliveries stand."""
    issuer = current_issuer()
    return render_template(
        "workspace/webhooks.html",
        issuer=issuer,
        endpoints=endpoints.of_issuer(issuer),
        counts=deliveries.summary(issuer),
    )


@bp.route("/<slug>/webhooks/new", methods=["GET", "POST"])
@workspace_view("owner")
def new_webhook(slug: str) -> ResponseReturnValue:
    """Subscribe an endpoint; its secret is shown once, on the page that answers."""
    if request.method == "GET":
        return _form_page(_values(), {})
    with refusal() as refused:
        data = WebhookEndpointSchema().load(endpoint_form(request.form))
        endpoint, secret = endpoints.create(
            current_issuer(),
            url=data["url"],
            events=data["events"],
            description=data["description"],
            enabled=data["enabled"],
            actor=actor(),
            env=service_env(),
        )
    if refused:
        return _form_page(_posted(), refused.errors(), status=refused.status)
    return _secret_page(endpoint, secret, new=True)


@bp.get("/<slug>/webhooks/<endpoint_id>")
@workspace_view("owner")
def webhook(slug: str, endpoint_id: str) -> ResponseReturnValue:
    """One endpoint: its settings, and its latest deliveries with every attempt."""
    endpoint = endpoints.get(current_issuer(), endpoint_id)
    recent = deliveries.recent(endpoint)
    return render_template(
        "workspace/webhook.html",
        issuer=current_issuer(),
        endpoint=endpoint,
        deliveries=recent,
        attempts=deliveries.attempts_of(recent),
        descriptions=EVENT_DESCRIPTIONS,
    )


@bp.route("/<slug>/webhooks/<endpoint_id>/edit", methods=["GET", "POST"])
@workspace_view("owner")
def edit_webhook(slug: str, endpoint_id: str) -> ResponseReturnValue:
    """Change an endpoint's URL, events, description, or whether it is on."""
    endpoint = endpoints.get(current_issuer(), endpoint_id)
    if request.method == "GET":
        return _form_page(_values(endpoint), {}, endpoint=endpoint)
    with refusal() as refused:
        data = WebhookEndpointSchema().load(endpoint_form(request.form))
        endpoints.update(
            endpoint,
            url=data["url"],
            events=data["events"],
            description=data["description"],
            enabled=data["enabled"],
            actor=actor(),
            env=service_env(),
        )
    if refused:
        return _form_page(_posted(), refused.errors(), endpoint=endpoint, status=refused.status)
    flash("The endpoint is saved.")
    return redirect(url_for("workspace.webhook", slug=slug, endpoint_id=endpoint.public_id))


@bp.post("/<slug>/webhooks/<endpoint_id>/enabled")
@workspace_view("owner")
def toggle_webhook(slug: str, endpoint_id: str) -> ResponseReturnValue:
    """Turn an endpoint on (``enabled=1``) or off."""
    endpoint = endpoints.get(current_issuer(), endpoint_id)
    enabled = request.form.get("enabled") == "1"
    endpoints.set_enabled(endpoint, enabled, actor=actor(), env=service_env())
    flash(
        "The endpoint is on: new events are delivered to it."
        if enabled
        else "The endpoint is off: no events are delivered to it until it is turned on again."
    )
    return redirect(url_for("workspace.webhook", slug=slug, endpoint_id=endpoint.public_id))


@bp.post("/<slug>/webhooks/<endpoint_id>/rotate-secret")
@workspace_view("owner")
def rotate_webhook_secret(slug: str, endpoint_id: str) -> ResponseReturnValue:
    """Give the endpoint a new secret (asks first: the receiver must be told the new one)."""
    endpoint = endpoints.get(current_issuer(), endpoint_id)
    if not confirmed():
        return confirm_page(
            Confirmation(
                title="Give this endpoint a new secret?",
                warning="The current secret stops working at once.",
                undone=(
                    "Every delivery from now on is signed with the new secret, retries of "
                    "earlier events included, so the receiver rejects them until it has the "
                    "new one. The new secret is shown once, on the next page."
                ),
                action=url_for(".rotate_webhook_secret", slug=slug, endpoint_id=endpoint_id),
                button="Rotate the secret",
                cancel=url_for(".webhook", slug=slug, endpoint_id=endpoint_id),
                facts=(("Endpoint", endpoint.url),),
            )
        )
    secret = endpoints.rotate_secret(endpoint, actor=actor(), env=service_env())
    return _secret_page(endpoint, secret, new=False)


@bp.post("/<slug>/webhooks/<endpoint_id>/delete")
@workspace_view("owner")
def delete_webhook(slug: str, endpoint_id: str) -> ResponseReturnValue:
    """Delete an endpoint with its delivery log (asks first)."""
    endpoint = endpoints.get(current_issuer(), endpoint_id)
    if not confirmed():
        return confirm_page(
            Confirmation(
                title="Delete this webhook endpoint?",
                undone=(
                    "No more events are sent to it, deliveries still waiting are dropped, and "
                    "its delivery log is deleted. The audit log keeps that it existed."
                ),
                action=url_for(".delete_webhook", slug=slug, endpoint_id=endpoint_id),
                button="Delete the endpoint",
                cancel=url_for(".webhook", slug=slug, endpoint_id=endpoint_id),
                facts=(("URL", endpoint.url), ("Events", ", ".join(endpoint.events))),
            )
        )
    endpoints.remove(endpoint, actor=actor(), env=service_env())
    flash(f"The endpoint {endpoint.url} is deleted.")
    return redirect(url_for("workspace.webhooks", slug=slug))


@bp.post("/<slug>/webhooks/<endpoint_id>/deliveries/<delivery_id>/redeliver")
@workspace_view("owner")
def redeliver_webhook(slug: str, endpoint_id: str, delivery_id: str) -> ResponseReturnValue:
    """Send one delivery again now (same ``webhook-id``, same body)."""
    endpoint = endpoints.get(current_issuer(), endpoint_id)
    delivery = deliveries.get(endpoint, delivery_id)
    with refusal() as refused:
        deliveries.redeliver(delivery, actor=actor(), env=service_env())
    refused.flash(f"The {delivery.event_type} event is being sent again.")
    return redirect(
        url_for("workspace.webhook", slug=slug, endpoint_id=endpoint.public_id)
        + f"#delivery-{delivery.public_id}"
    )
