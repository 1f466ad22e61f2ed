"""Open Badges 2.0 hosted JSON for older backpacks: ``/ob2/assertions/<id>``,
``/ob2/badges/<achievement>/<version>`` (and its ``image.png``), ``/ob2/issuers/<slug>``; the
credential's own URL answers the assertion for ``?v=2_0`` or an OB 2.0 ``Accept`` profile
(:func:`wants_ob2`). What they say, and why, is in ``app/services/delivery/ob2.py``."""

from __future__ import annotations

import json

from flask import Response, request
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response as BaseResponse

from app.public import bp
from app.services._core.errors import NotFound
from app.services.delivery import ob2
from app.wiring import service_env
from credentials import OB2_CONTEXT

#: An assertion's answer follows its status (revoked, suspended): caches must ask again.
ASSERTION_CACHE = "public, no-cache"
#: A BadgeClass or Issuer changes only when its issuer edits it.
PROFILE_CACHE = "public, max-age=3600"


def wants_ob2() -> bool:
    """Whether a request to a credential's URL asks for its OB 2.0 assertion: ``?v=2_0``, or an
    ``Accept`` naming the OB 2.0 context as its profile (``application/ld+json;
    profile="https://w3id.org/openbadges/v2"``, the JSON-LD way of asking for a vocabulary)."""
    if request.args.get("v") == "2_0":
        return True
    return OB2_CONTEXT in request.headers.get("Accept", "")


def _serve(hosted: ob2.Hosted, cache: str) -> BaseResponse:
    """A hosted document as JSON-LD with its entity tag (``304`` when it still matches), readable
    from any origin (verifiers and backpacks run in other sites' pages)."""
    etag = hosted.etag()
    unchanged = hosted.status == 200 and (
        "HTTP_IF_NONE_MATCH" in request.environ
        and not is_resource_modified(request.environ, etag=etag)
    )
    response = Response(
        b"" if unchanged else hosted.body(),
        status=304 if unchanged else hosted.status,
        mimetype="application/ld+json",
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = cache
    response.headers["Vary"] = "Accept"
    response.set_etag(etag)
    return response


def _not_found(message: str) -> Response:
    response = Response(
        json.dumps({"error": "not_found", "message": message}),
        status=404,
        mimetype="application/json",
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def assertion_response(credential_id: str) -> BaseResponse:
    """The hosted assertion (also for ``/credentials/<id>?v=2_0``): 200, or 410 when revoked or
    suspended, or a JSON 404."""
    try:
        hosted = ob2.hosted_assertion(credential_id, service_env())
    except NotFound as error:
        return _not_found(str(error))
    return _serve(hosted, ASSERTION_CACHE)


@bp.get("/ob2/assertions/<credential_id>")
def ob2_assertion(credential_id: str) -> BaseResponse:
    """A credential as an OB 2.0 hosted ``Assertion`` (private ones too: see the service)."""
    return assertion_response(credential_id)


@bp.get("/ob2/badges/<public_id>/<int:number>")
def ob2_badge_class(public_id: str, number: int) -> BaseResponse:
    """One achievement version as an OB 2.0 ``BadgeClass``."""
    try:
        hosted = ob2.hosted_badge_class(public_id, number, service_env())
    except NotFound as error:
        return _not_found(str(error))
    return _serve(hosted, PROFILE_CACHE)


@bp.get("/ob2/badges/<public_id>/<int:number>/image.png")
def ob2_badge_image(public_id: str, number: int) -> BaseResponse:
    """The BadgeClass's image, always a PNG (older displayers may not draw SVG)."""
    try:
        data = ob2.badge_image_png(public_id, number)
    except NotFound as error:
        return _not_found(str(error))
    response = Response(data, mimetype="image/png")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = PROFILE_CACHE
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/ob2/issuers/<slug>")
def ob2_issuer(slug: str) -> BaseResponse:
    """The issuer as an OB 2.0 ``Issuer`` profile."""
    try:
        hosted = ob2.hosted_issuer(slug, service_env())
    except NotFound as error:
        return _not_found(str(error))
    return _serve(hosted, PROFILE_CACHE)
