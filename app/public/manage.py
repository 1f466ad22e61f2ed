"""The earner's secret page for one credential (``/credentials/<uuid>/manage/<token>``, mailed
with the award): make the public page private or public again, download the credential's
files (which keeps working while it is private), and revoke the link. A link that does not
work (unknown, expired, revoked, or one of the signed links earlier versions mailed) gets a page
that says so and offers a new one, sent to the address the credential was awarded to
(``/credentials/<uuid>/manage``)."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import limiter
from app.forms import refusal
from app.models import IssuedCredential, ManageLink
from app.public import bp
from app.public.credentials import certificate_page, links, private_download
from app.security import secret_page
from app.services._core.errors import required
from app.services.delivery import downloads, visibility
from app.services.delivery import queries as public_queries
from app.services.org import queries as org_queries
from app.services.org.audit import Actor
from app.services.verification import verifier as verification
from app.wiring import service_env

TOO_MANY_REQUESTS = "Too many requests for a new link. Wait a while, then try again."


def _unusable_page(credential_id: str, unusable: visibility.Unusable) -> BaseResponse:
    """What a link that does not work shows: why (expired or revoked), and how to get a new
    one. An unknown link shows the same page whether or not the credential exists."""
    page = render_template(
        "public/manage_unusable.html",
        credential_id=credential_id,
        unusable=unusable,
        days=service_env().settings.manage_link_days,
        email="",
        error=None,
    )
    return secret_page(page, unusable.status)


def managed(credential_id: str, token: str) -> tuple[IssuedCredential, ManageLink]:
    """The credential ``token`` manages, and its link; otherwise the request ends with the
    page above."""
    try:
        return visibility.find_managed(credential_id, token, service_env())
    except visibility.ManageLinkUnusable as exc:
        abort(_unusable_page(credential_id, exc.unusable))


@bp.route("/credentials/<credential_id>/manage/<token>", methods=["GET", "POST"])
def manage(credential_id: str, token: str) -> BaseResponse:
    """Show the credential's visibility and downloads; a POST (with CSRF token) switches the
    public page between public and private."""
    found, link = managed(credential_id, token)
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
    issuer = required(org_queries.issuer(found.issuer_id), "The issuer is missing.")
    view = downloads.view(found, service_env().base_url)
    page = render_template(
        "public/manage.html",
        credential=found,
        issuer=issuer,
        view=view,
        state=verification.state_of(found),
        links=links(found, token),
        # Through our counter: a click is counted, then on to LinkedIn.
        linkedin=url_for("public.linkedin", credential_id=found.id),
        token=token,
        manage_link=link,
    )
    return secret_page(page)


@bp.post("/credentials/<credential_id>/manage/<token>/revoke")
def manage_revoke(credential_id: str, token: str) -> BaseResponse:
    """Stop this link and every other manage link of the credential working (e.g. the email
    was forwarded by mistake); a new one can be asked for by email."""
    found, _ = managed(credential_id, token)
    visibility.revoke_manage_links(
        found, actor=Actor(label=visibility.EARNER, ip=request.remote_addr), env=service_env()
    )
    flash(
        "Your manage links no longer work. Ask for a new one below: it is sent to the address "
        "the credential was awarded to.",
        "success",
    )
    return secret_page(redirect(url_for("public.manage_request", credential_id=found.id), 303))


@bp.get("/credentials/<credential_id>/manage/<token>/certificate")
def manage_certificate(credential_id: str, token: str) -> BaseResponse:
    """The printable certificate, also while the credential is private."""
    found, _ = managed(credential_id, token)
    return secret_page(certificate_page(found, links(found, token)))


@bp.get("/credentials/<credential_id>/manage/<token>/<name>")
def manage_download(credential_id: str, token: str, name: str) -> BaseResponse:
    """One of the credential's downloads (see ``DOWNLOADS``), also while it is private."""
    found, _ = managed(credential_id, token)
    response = private_download(found, name)
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# --- asking for a new link --------------------------------------------------------------------


def _ip_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _credential_limit() -> str:
    return str(current_app.config["MANAGE_LINK_EMAIL_RATE_LIMIT"])


def _credential_key() -> str:
    # One budget per credential, however many addresses and networks the requests come from:
    # the recipient's mailbox is what the limit protects.
    return "manage-link:" + str((request.view_args or {}).get("credential_id", ""))[:64]


def _mail_sent(response: BaseResponse) -> bool:
    return bool(g.get("manage_link_sent"))


@bp.route("/credentials/<credential_id>/manage", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"], error_message=TOO_MANY_REQUESTS)
@limiter.limit(
    _credential_limit,
    key_func=_credential_key,
    methods=["POST"],
    deduct_when=_mail_sent,
    error_message=TOO_MANY_REQUESTS,
)
def manage_request(credential_id: str) -> BaseResponse:
    """Ask for a new manage link by email. It goes only to the address the credential was
    awarded to, and the answer is the same whether or not the address given was that one."""
    found = public_queries.find_credential(credential_id)
    if found is None:
        abort(404)
    email = request.form.get("email", "")[:320] if request.method == "POST" else ""
    error = None
    if request.method == "POST":
        with refusal() as refused:
            g.manage_link_sent = visibility.request_manage_link(found, email, service_env())
        error = refused.message or None
        if not refused:
            return secret_page(
                render_template(
                    "public/manage_sent.html", credential_id=found.id, email=email.strip()
                )
            )
    page = render_template(
        "public/manage_unusable.html",
        credential_id=found.id,
        unusable=None,
        days=service_env().settings.manage_link_days,
        email=email,
        error=error,
    )
    return secret_page(page, 400 if error else 200)
