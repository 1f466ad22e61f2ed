"""The earner's secret page for one credential (``/credentials/<uuid>/manage/<token>``, mailed
with the award): make the public page private or public again, and download the credential's
files, which keeps working while it is private. Educator accounts will replace it later."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import db
from app.models import IssuedCredential, Issuer
from app.public import bp
from app.public.credentials import (
    DOWNLOADS,
    PRIVATE_CACHE,
    SVG_CSP,
    certificate_page,
    download,
    links,
    send,
)
from app.security import secret_page
from app.services import downloads, verification, visibility
from app.services.audit import Actor
from app.services.errors import required
from app.wiring import service_env


def _managed(credential_id: str, token: str) -> IssuedCredential:
    """The credential ``token`` manages. A wrong token and an unknown credential look the same
    (404), so the page gives no hint about either."""
    if not visibility.is_manage_token(credential_id, token):
        abort(404)
    found = db.session.get(IssuedCredential, credential_id)
    if found is None:
        abort(404)
    return found


@bp.route("/credentials/<credential_id>/manage/<token>", methods=["GET", "POST"])
def manage(credential_id: str, token: str) -> BaseResponse:
    """Show the credential's visibility and downloads; a POST (with CSRF token) switches the
    public page between public and private."""
    found = _managed(credential_id, token)
    if request.method == "POST":
        wanted = request.form.get("visibility")
        if wanted not in ("public", "private"):
            abort(400, description="Choose whether the credential's page is public or private.")
        changed = visibility.set_private(
            found,
            wanted == "private",
            actor=Actor(label=visibility.EARNER, ip=request.remote_addr),
            env=service_env(),
        )
        if changed:
            flash(
                "Its page is now private: it says so and shows nothing else."
                if found.is_private
                else "Its page is public again.",
                "success",
            )
        return secret_page(
            redirect(url_for("public.manage", credential_id=found.id, token=token), 303)
        )
    issuer = required(db.session.get(Issuer, found.issuer_id), "The issuer is missing.")
    view = downloads.view(found, service_env().base_url)
    page = render_template(
        "public/manage.html",
        credential=found,
        issuer=issuer,
        view=view,
        state=verification.state_of(found),
        links=links(found, token),
        linkedin=downloads.linkedin_url(view, issuer),
    )
    return secret_page(page)


@bp.get("/credentials/<credential_id>/manage/<token>/certificate")
def manage_certificate(credential_id: str, token: str) -> BaseResponse:
    """The printable certificate, also while the credential is private."""
    page = certificate_page(_managed(credential_id, token), token)
    return secret_page(page)


@bp.get("/credentials/<credential_id>/manage/<token>/<name>")
def manage_download(credential_id: str, token: str, name: str) -> BaseResponse:
    """One of the credential's downloads (see ``DOWNLOADS``), also while it is private."""
    found = _managed(credential_id, token)
    if name not in DOWNLOADS:
        abort(404)
    response = send(download(found, name), cache=PRIVATE_CACHE)
    if name == "badge.svg":
        response.headers["Content-Security-Policy"] = SVG_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
