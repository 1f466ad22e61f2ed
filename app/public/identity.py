"""Issuers' public identity: DID documents, JWK sets, OB 3.0 profiles and status lists."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from app.public import bp
from app.services._core.errors import NotFound
from app.services.awarding import status_lists
from app.services.org import instance, issuers
from app.wiring import service_env

#: Identity documents change rarely (a key rotation); caches may keep them a few minutes.
IDENTITY_CACHE = "public, max-age=300"


def json_response(
    body: Any, media_type: str, *, cache: str | None = None, etag: str | None = None
) -> Response:
    """A JSON response with an exact media type and optional caching headers."""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, indent=2)
    response = Response(text, mimetype=media_type)
    response.headers["Access-Control-Allow-Origin"] = "*"  # verifiers run in other origins' pages
    if cache:
        response.headers["Cache-Control"] = cache
    if etag:
        response.headers["ETag"] = etag
    return response


@bp.get("/")
def home() -> str:
    """The landing page."""
    return render_template("public/home.html")


@bp.get("/issuers/<slug>/did.json")
def did_document(slug: str) -> Response:
    """The issuer's did:web DID document."""
    issuer = issuers.get_by_slug(slug)
    return json_response(
        issuers.did_document(issuer, service_env()), "application/did+ld+json", cache=IDENTITY_CACHE
    )


@bp.get("/instance/did.json")
def instance_did_document() -> Response:
    """This instance's did:web DID document (the key that signs multi-issuer learning records)."""
    return json_response(
        instance.did_document(service_env()), "application/did+ld+json", cache=IDENTITY_CACHE
    )


@bp.get("/issuers/<slug>/jwks.json")
def jwks(slug: str) -> Response:
    """The issuer's VC-JWT public keys."""
    issuer = issuers.get_by_slug(slug)
    return json_response(
        issuers.jwks(issuer, service_env()), "application/jwk-set+json", cache=IDENTITY_CACHE
    )


@bp.get("/issuers/<slug>/profile.json")
def profile(slug: str) -> Response:
    """The issuer's OB 3.0 Profile."""
    issuer = issuers.get_by_slug(slug)
    return json_response(
        issuers.profile_document(issuer, service_env()), "application/ld+json", cache=IDENTITY_CACHE
    )


@bp.get("/status/<slug>/<purpose>")
def status_list(slug: str, purpose: str) -> BaseResponse:
    """A signed ``BitstringStatusListCredential``, exactly as signed when a bit last changed.

    Served with a strong ETag (a conditional request gets ``304``) and a short public cache
    time, so verifiers see a revocation within minutes without fetching 16 KB every time.
    """
    if purpose not in ("revocation", "suspension"):
        raise NotFound("There is no such status list.")
    issuer = issuers.get_by_slug(slug)
    row = status_lists.get_list(issuer, purpose, bits=False)
    response = json_response(
        row.document, "application/vc+ld+json", cache="public, max-age=300, must-revalidate"
    )
    response.set_etag(status_lists.etag(row))
    response.last_modified = row.signed_at
    # A conditional request with a matching ETag gets 304 and no body.
    return response.make_conditional(request)
