"""The issuer's profile and keys: editing the public profile and logo, the proof format of new
credentials, the certificate's design, the DID and its documents, and key rotation."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.models import Image, Issuer, IssuerKey
from app.models.issuer import CERTIFICATE_COLOURS
from app.services._core.errors import ServiceError
from app.services._core.transaction import roll_back_refused
from app.services.delivery import queries as public_queries
from app.services.org import certificate_design, issuers
from app.services.org.issuers import IssuerProfileInput
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from app.workspace.achievement_forms import store_image_upload
from credentials import jwk_thumbprint
from schemas.certificate_design import CertificateDesignSchema, design_form_data
from schemas.errors import flat_errors
from schemas.profile import ProfileSchema, RotateKeySchema, profile_form_data

#: How the page names each key type, and what the key signs.
KEY_TYPE_LABELS = {
    "ed25519": "Ed25519 (Data Integrity, eddsa-rdfc-2022)",
    "p256": "P-256 (VC-JWT, ES256)",
}


def key_fingerprint(key: IssuerKey) -> tuple[str, str]:
    """What identifies a key's public half on the page: ``("publicKeyMultibase", value)`` for
    Ed25519 (as the DID document lists it) or ``("JWK thumbprint", value)`` (RFC 7638)."""
    if key.key_type == "ed25519":
        return "publicKeyMultibase", key.public_key_multibase
    return "JWK thumbprint", jwk_thumbprint(key.public_jwk)


def _values_from_issuer(issuer: Issuer) -> dict[str, Any]:
    return {
        "name": issuer.name,
        "url": issuer.url or "",
        "email": issuer.email or "",
        "description": issuer.description or "",
        "proof_format": issuer.proof_format,
        "remove_logo": False,
    }


def _design_from_issuer(issuer: Issuer) -> dict[str, Any]:
    return {
        "template": issuer.certificate_template,
        "colour": issuer.certificate_colour,
        "paper": issuer.certificate_paper,
        "signatory_name": issuer.signatory_name or "",
        "signatory_title": issuer.signatory_title or "",
        "remove_signature": False,
    }


def _render(
    issuer: Issuer,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    design: dict[str, Any] | None = None,
    design_errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    env = service_env()
    keys = sorted(issuer.keys, key=lambda k: (k.key_type, k.created_at, k.id))
    page = render_template(
        "workspace/profile.html",
        issuer=issuer,
        values=values if values is not None else _values_from_issuer(issuer),
        errors=errors or {},
        design=design if design is not None else _design_from_issuer(issuer),
        design_errors=design_errors or {},
        colours=CERTIFICATE_COLOURS,
        did=issuers.issuer_did(issuer, env),
        keys=[(key, *key_fingerprint(key)) for key in keys],
        key_types=KEY_TYPE_LABELS,
        active={kind: issuers.active_key(issuer, kind).kid for kind in issuers.KEY_TYPES},
        max_image_kb=current_app.config["MAX_IMAGE_BYTES"] // 1024,
    )
    return page, status


@bp.route("/<slug>/profile", methods=["GET", "POST"])
@workspace_view("owner")
def profile(slug: str) -> Response | tuple[str, int]:
    """Show and edit the issuer's public profile and logo; list its DID, documents and keys."""
    issuer = current_issuer()
    if request.method == "GET":
        return _render(issuer)
    env = service_env()
    errors: dict[str, list[str]] = {}
    loaded: dict[str, Any] | None = None
    try:
        loaded = ProfileSchema().load(profile_form_data(request.form))
    except ValidationError as exc:
        errors = flat_errors(exc)
    upload = request.files.get("logo")
    logo: Image | None = None
    try:
        logo_id = store_image_upload(upload, env.now)
    except ServiceError as exc:
        errors.setdefault("logo", []).append(exc.message)
    else:
        logo = public_queries.stored_image(logo_id) if logo_id is not None else None
    if logo is not None and loaded is not None and loaded["remove_logo"]:
        errors.setdefault("remove_logo", []).append(
            "Either upload a new logo or remove the current one, not both."
        )
    values = {**profile_form_data(request.form)}
    if errors or loaded is None:
        roll_back_refused()  # an uploaded logo is not kept when the form is refused
        return _render(issuer, values=values, errors=errors, status=400)
    with refusal() as refused:
        issuers.update_profile(
            issuer,
            IssuerProfileInput(
                name=loaded["name"],
                url=loaded["url"],
                email=loaded["email"],
                description=loaded["description"],
                proof_format=loaded["proof_format"],
            ),
            actor=actor(),
            env=env,
        )
    if refused:
        return _render(issuer, values=values, errors=refused.messages(), status=400)
    if logo is not None and logo.id != issuer.image_id:
        issuers.set_image(issuer, logo, actor=actor(), env=env)
    elif loaded["remove_logo"] and issuer.image_id is not None:
        issuers.set_image(issuer, None, actor=actor(), env=env)
    flash(
        "Profile saved. Credentials issued from now on carry it; those already issued keep the "
        "profile they were signed with."
    )
    return redirect(url_for(".profile", slug=issuer.slug), 303)


@bp.post("/<slug>/certificate-design")
@workspace_view("owner")
def certificate_design_form(slug: str) -> Response | tuple[str, int]:
    """Save how the issuer's printable certificates look: template, colour, paper, and the
    signature block (name, title, and a PNG or SVG signature image)."""
    issuer = current_issuer()
    env = service_env()
    values = design_form_data(request.form)
    errors: dict[str, list[str]] = {}
    loaded: dict[str, Any] | None = None
    try:
        loaded = CertificateDesignSchema().load(values)
    except ValidationError as exc:
        errors = flat_errors(exc)
    signature: Image | None = None
    try:
        signature_id = store_image_upload(request.files.get("signature"), env.now)
    except ServiceError as exc:
        errors.setdefault("signature", []).append(exc.message)
    else:
        signature = public_queries.stored_image(signature_id) if signature_id else None
    if errors or loaded is None:
        roll_back_refused()  # an uploaded signature is not kept when the form is refused
        return _render(issuer, design=values, design_errors=errors, status=400)
    with refusal() as refused:
        certificate_design.update(
            issuer,
            certificate_design.CertificateDesignInput(
                template=loaded["template"],
                colour=loaded["colour"],
                paper=loaded["paper"],
                signatory_name=loaded["signatory_name"],
                signatory_title=loaded["signatory_title"],
            ),
            signature=signature,
            remove_signature=loaded["remove_signature"],
            actor=actor(),
            env=env,
        )
    if refused:
        return _render(issuer, design=values, design_errors=refused.messages(), status=400)
    flash("Certificate design saved. Every certificate printed from now on uses it.")
    return redirect(url_for(".profile", slug=issuer.slug, _anchor="certificate-heading"), 303)


@bp.post("/<slug>/keys/rotate")
@workspace_view("owner")
def rotate_key(slug: str) -> Response | tuple[str, int]:
    """Make a new key of one type the signing key. The old key stays published in the DID
    document and JWKS, marked retired, so every credential it signed still verifies."""
    issuer = current_issuer()
    try:
        loaded = RotateKeySchema().load({"key_type": request.form.get("key_type", "")})
    except ValidationError as exc:
        return _render(issuer, errors=flat_errors(exc), status=400)
    old = issuers.active_key(issuer, loaded["key_type"]).kid
    if not confirmed():
        return _confirm_rotation(issuer, loaded["key_type"], old), 200
    new = issuers.rotate_key(issuer, loaded["key_type"], actor=actor(), env=service_env())
    flash(
        f"New {KEY_TYPE_LABELS[new.key_type]} key {new.kid} now signs new credentials. The old "
        f"key {old} stays published, so credentials it signed still verify."
    )
    return redirect(url_for(".profile", slug=issuer.slug), 303)


def _confirm_rotation(issuer: Issuer, key_type: str, old: str) -> str:
    """The confirm step of a key rotation: which key retires, and that it stays retired."""
    label = KEY_TYPE_LABELS[key_type]
    return confirm_page(
        Confirmation(
            title=f"Make a new {label} signing key?",
            undone=(
                f"The current {label} key retires for good: it never signs again, and no key "
                "can be made active again. It stays published in the DID document and the JWKS, "
                "so every credential it signed still verifies; credentials issued from now on "
                "are signed with the new key."
            ),
            action=url_for(".rotate_key", slug=issuer.slug),
            button=f"Make a new {label} key",
            cancel=url_for(".profile", slug=issuer.slug),
            facts=(("Organisation", issuer.name), ("Key that retires", old)),
            fields={"key_type": key_type},
        )
    )
