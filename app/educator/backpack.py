"""The backpack (``/me/``): every credential of the signed-in educator, from this instance (awarded
to any of their confirmed addresses) and imported from other issuers, with per-credential
visibility, the profile switch, downloads and sharing, imports and re-verification.

Whatever is not the educator's answers 404, exactly like something that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response
from werkzeug.wrappers import Response as BaseResponse

from app.educator import bp, current_educator, educator_required
from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.models import ImportedCredential, IssuedCredential
from app.public.credentials import certificate_page, private_download
from app.public.credentials import links as public_links
from app.services._core.errors import required
from app.services.delivery import downloads, visibility
from app.services.learning import educators, enrolments, imports
from app.services.org import queries as org_queries
from app.services.verification import verifier as verification
from app.wiring import fetcher, service_env
from credentials import MAX_INPUT_BYTES
from schemas.educators import CredentialSettingsSchema, ImportSettingsSchema, ImportTextSchema
from schemas.errors import flat_errors

#: Pages of a credential the educator may keep private: never cached, no Referer.
PRIVATE_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class UnusableUpload(Exception):
    """The import form holds nothing to import (or too much)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@bp.get("/")
@educator_required
def backpack() -> str:
    """All of the educator's credentials."""
    educator = current_educator()
    entries = educators.backpack(educator)
    # An empty backpack points to what would fill it: the modules the educator can work on.
    modules = [] if entries else enrolments.catalogue(educator)[:3]
    # An achievement without an image of its own shows the generated badge its downloads carry.
    generated = {
        e.credential.id: credential_links(e.credential)["badge.png"]
        for e in entries
        if not e.image_sha256
    }
    return render_template(
        "educator/backpack.html",
        educator=educator,
        entries=entries,
        generated=generated,
        modules=modules,
        imported=imports.list_for(educator),
        import_label=imports.label,
        now=service_env().now,
    )


def credential_links(found: IssuedCredential) -> dict[str, str]:
    """The page and downloads of a credential: the public ones, or, while it is private, the
    backpack's own (which work for the signed-in educator)."""
    if not found.is_private:
        return public_links(found)
    own: dict[str, Any] = {"credential_id": found.id}
    own_links = {
        name: url_for("educator.credential_download", name=name, **own)
        for name in (
            "badge.png",
            "badge.svg",
            "badge-ob2.png",
            "credential.json",
            "qr.png",
            "qr.svg",
        )
    }
    own_links["page"] = url_for("public.credential", credential_id=found.id)
    own_links["certificate"] = url_for("educator.credential_certificate", **own)
    own_links["certificate.pdf"] = url_for(
        "educator.credential_download", name="certificate.pdf", **own
    )
    for size in ("a4", "letter"):
        own_links[f"certificate-{size}.pdf"] = url_for(
            "educator.credential_download", name="certificate.pdf", paper=size, **own
        )
    return own_links


def _credential_page(found: IssuedCredential, errors: dict[str, str], status: int) -> Response:
    env = service_env()
    issuer = required(org_queries.issuer(found.issuer_id), "The issuer is missing.")
    view = downloads.view(found, env.base_url)
    state = verification.state_of(found)
    # Through our counter: a click is counted, then on to LinkedIn. Not offered for a private
    # credential, nor one revoked or suspended (the counter refuses those).
    shareable = not (found.is_private or state.revoked or state.suspended)
    page = render_template(
        "educator/credential.html",
        credential=found,
        issuer=issuer,
        view=view,
        state=state,
        expired=found.status_at(env.now) == "expired",
        links=credential_links(found),
        linkedin=url_for("public.linkedin", credential_id=found.id) if shareable else None,
        errors=errors,
    )
    response = Response(page, status=status, mimetype="text/html")
    response.headers.update(PRIVATE_PAGE_HEADERS)
    return response


@bp.get("/credentials/<credential_id>")
@educator_required
def credential(credential_id: str) -> Response:
    """One credential of this instance: status, who sees it, downloads and sharing."""
    found = educators.get_credential(current_educator(), credential_id)
    return _credential_page(found, {}, 200)


@bp.post("/credentials/<credential_id>/settings")
@educator_required
def credential_settings(credential_id: str) -> Response:
    """Make a credential's page public or private, and list it on the profile page or not."""
    educator = current_educator()
    found = educators.get_credential(educator, credential_id)
    try:
        data = CredentialSettingsSchema().load(request.form)
    except ValidationError as error:
        return _credential_page(found, flat_errors(error, depth=1, first=True), 400)
    env = service_env()
    private = data["visibility"] == "private"
    changed = visibility.set_private(
        found, private, actor=educators.actor(educator, request.remote_addr), env=env
    )
    shown = educators.set_show_on_profile(educator, found, data["show_on_profile"], env)
    changed = shown or changed
    if changed:
        flash("Saved.", "success")
    return redirect(url_for("educator.credential", credential_id=found.id), 303)


@bp.get("/credentials/<credential_id>/files/<name>")
@educator_required
def credential_download(credential_id: str, name: str) -> BaseResponse:
    """One of the credential's downloads, also while it is private (the educator's own)."""
    return private_download(educators.get_credential(current_educator(), credential_id), name)


@bp.get("/credentials/<credential_id>/certificate")
@educator_required
def credential_certificate(credential_id: str) -> Response:
    """The printable certificate, also while the credential is private."""
    found = educators.get_credential(current_educator(), credential_id)
    page = certificate_page(found, {**credential_links(found), "page": _own_page(found)})
    response = Response(page, mimetype="text/html")
    response.headers.update(PRIVATE_PAGE_HEADERS)
    return response


def _own_page(found: IssuedCredential) -> str:
    return url_for("educator.credential", credential_id=found.id)


@bp.post("/credentials/<credential_id>/manage-links/revoke")
@educator_required
def manage_links_revoke(credential_id: str) -> Response:
    """Stop every emailed link to manage this credential working (e.g. one was forwarded)."""
    educator = current_educator()
    found = educators.get_credential(educator, credential_id)
    revoked = visibility.revoke_manage_links(
        found, actor=educators.actor(educator, request.remote_addr), env=service_env()
    )
    flash(
        "The emailed links to manage this credential no longer work."
        if revoked
        else "No emailed link to manage this credential was working.",
        "success",
    )
    return redirect(_own_page(found), 303)


@bp.post("/credentials/<credential_id>/manage-links/send")
@educator_required
def manage_link_send(credential_id: str) -> Response:
    """Email a new link to manage this credential to the address it was awarded to (to use
    without signing in, e.g. on another device)."""
    found = educators.get_credential(current_educator(), credential_id)
    visibility.send_manage_link(found, service_env())
    flash(f"A new link to manage it is on its way to {found.recipient_email}.", "success")
    return redirect(_own_page(found), 303)


# --- Imports --------------------------------------------------------------------------------


def _submitted() -> bytes | str:
    """The uploaded file, or else the pasted text.

    :raises UnusableUpload: when there is neither, or the file is too large.
    """
    upload = request.files.get("file")
    if isinstance(upload, FileStorage) and upload.filename:
        data = upload.stream.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise UnusableUpload(
                f"The file is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB.", 413
            )
        if not data:
            raise UnusableUpload("The file is empty.")
        return data
    try:
        text = ImportTextSchema().load(request.form)["text"]
    except ValidationError as error:
        raise UnusableUpload(
            flat_errors(error, depth=1, first=True).get("text", "The text is unusable.")
        ) from None
    if not text:
        raise UnusableUpload("Choose a badge image or credential file, or paste a credential.")
    return str(text)


@bp.route("/import", methods=["GET", "POST"])
@educator_required
def import_credential() -> ResponseReturnValue:
    """Import a credential from another issuer: a baked PNG/SVG, a JSON file, or a JWT. It is
    verified now and kept with the result; input that holds no credential stores nothing."""
    if request.method == "GET":
        return render_template("educator/import.html", error=None)
    try:
        with refusal() as refused:
            data = _submitted()
            imported = imports.import_credential(
                current_educator(), data, env=service_env(), fallback=fetcher()
            )
    except UnusableUpload as error:
        return render_template("educator/import.html", error=error.message), error.status
    if refused:
        return render_template("educator/import.html", error=refused.message), refused.status
    verdict = imports.label(imported)
    flash(
        "Imported and verified: " + verdict["sentence"],
        "success" if verdict["kind"] == "valid" else "warning",
    )
    return redirect(url_for("educator.imported", public_id=imported.public_id), 303)


def _imported_page(
    found: ImportedCredential, error: str | None, status: int
) -> ResponseReturnValue:
    report = imports.report_of(found)
    page = render_template(
        "educator/imported.html",
        imported=found,
        report=report,
        banner=verification.verdict(report),
        recipient_matched=imports.recipient_matched(found),
        describe_source=verification.describe_source,
        link=imports.credential_link(found),
        error=error,
    )
    return page, status


@bp.get("/imported/<public_id>")
@educator_required
def imported(public_id: str) -> ResponseReturnValue:
    """An imported credential with the checks of its last verification."""
    return _imported_page(imports.get(current_educator(), public_id), None, 200)


@bp.post("/imported/<public_id>/verify")
@educator_required
def imported_verify(public_id: str) -> Response:
    """Verify an imported credential again now."""
    educator = current_educator()
    found = imports.reverify(
        educator, imports.get(educator, public_id), env=service_env(), fallback=fetcher()
    )
    verdict = imports.label(found)
    flash(
        "Verified again just now: " + verdict["sentence"],
        "success" if verdict["kind"] == "valid" else "warning",
    )
    return redirect(url_for("educator.imported", public_id=found.public_id), 303)


@bp.post("/imported/<public_id>/settings")
@educator_required
def imported_settings(public_id: str) -> ResponseReturnValue:
    """List an imported credential on the profile page, or stop listing it."""
    educator = current_educator()
    found = imports.get(educator, public_id)
    try:
        data = ImportSettingsSchema().load(request.form)
    except ValidationError as error:
        return _imported_page(
            found, flat_errors(error, depth=1, first=True).get("show_on_profile"), 400
        )
    with refusal() as refused:
        changed = imports.set_show_on_profile(educator, found, data["show_on_profile"])
    if refused:
        return _imported_page(found, refused.message, refused.status)
    if changed:
        flash("Saved.", "success")
    return redirect(url_for("educator.imported", public_id=found.public_id), 303)


@bp.post("/imported/<public_id>/delete")
@educator_required
def imported_delete(public_id: str) -> Response:
    """Remove an imported credential from the backpack, after a confirm step."""
    educator = current_educator()
    found = imports.get(educator, public_id)
    if not confirmed():
        question = confirm_page(
            Confirmation(
                title="Remove this credential from your backpack?",
                undone=(
                    "Cairn deletes its copy of the credential you imported. The credential "
                    "itself is the issuer's: to have it in your backpack again, import the file "
                    "or badge image again."
                ),
                action=url_for("educator.imported_delete", public_id=found.public_id),
                button="Remove it",
                cancel=url_for("educator.imported", public_id=found.public_id),
                facts=(("Credential", found.name), ("Issuer", found.issuer_name)),
                layout="educator/layout.html",
                section="backpack",
            )
        )
        return Response(question, mimetype="text/html", headers=PRIVATE_PAGE_HEADERS)
    imports.delete(educator, found, service_env())
    flash("The imported credential has been removed from your backpack.", "success")
    return redirect(url_for("educator.backpack"), 303)


@bp.get("/imported/<public_id>/credential")
@educator_required
def imported_file(public_id: str) -> Response:
    """The imported credential as it was submitted (JSON, or the JWT)."""
    found = imports.get(current_educator(), public_id)
    jwt = not found.document.startswith("{")
    response = Response(
        found.document, mimetype="application/vc+jwt" if jwt else "application/ld+json"
    )
    extension = "jwt" if jwt else "json"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="credential-{found.public_id}.{extension}"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
