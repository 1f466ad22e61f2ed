"""Error handlers: a JSON body for API and machine clients (the issuer API's own shape under
``/api/v1/``), an HTML page for browsers. Bad input
is a 4xx with an explanation; nothing a client sends is answered with a bare 500."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.services._core.errors import Invalid, ServiceError
from app.services._core.transaction import roll_back_refused

#: What JSON and JSON-LD clients (verifiers, wallets) ask for; any of them gets a JSON error.
JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")


def wants_json() -> bool:
    """Whether the client prefers JSON (or JSON-LD) over HTML."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", *JSON_TYPES])
    return best in JSON_TYPES


def _respond(status: int, title: str, message: str) -> tuple[Any, int]:
    if wants_json():
        return jsonify({"error": title.lower().replace(" ", "_"), "message": message}), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


# -- the issuer API's error body: {"error": {"code", "message", "field"}} (app/api) -----------

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    428: "precondition_required",
    429: "rate_limited",
}


def is_api_request() -> bool:
    """Whether the request is for the API (its refusals get the API's error body)."""
    return request.path.startswith("/api/v1/")


def error_response(
    status: int,
    message: str,
    *,
    field: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The API's answer to a refusal."""
    body = {
        "error": {"code": code or CODES.get(status, "error"), "message": message, "field": field}
    }
    response = make_response(json.dumps(body), status)
    response.mimetype = "application/json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _first_problem(messages: Any, path: tuple[str, ...] = ()) -> tuple[str | None, str]:
    """The first field and message of marshmallow's nested messages (webargs adds the location
    as the first level, which is left out)."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            return _first_problem(value, (*path, str(key)))
    if isinstance(messages, (list, tuple)) and messages:
        first = messages[0]
        if isinstance(first, str):
            return ".".join(path) or None, first
        return _first_problem(first, path)
    return ".".join(path) or None, str(messages)


def http_error_response(error: HTTPException) -> Response:
    """An ``HTTPException`` as an API error (webargs' 422 keeps the field it names)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if "messages" in data:
        messages = data["messages"]
        # {"json": {...}} or {"query": {...}}: the location is not part of the field's name.
        if isinstance(messages, Mapping) and len(messages) == 1:
            messages = next(iter(messages.values()))
        field, message = _first_problem(messages)
        if field == "_schema" or status == 400:  # 400: the body is not JSON at all
            field = None
        return error_response(status, message, field=field)
    headers = {
        name: value
        for name, value in error.get_headers()
        if name.lower() in ("retry-after", "www-authenticate", "allow")
    }
    return error_response(status, error.description or error.name, headers=headers)


# -- the OB 3.0 API's error body: Imsx_StatusInfo (app/obapi) ----------------------------------

#: The OB 3.0 resource endpoints, whose refusals carry an ``Imsx_StatusInfo`` body.
OB_API_RESOURCES = ("/ims/ob/v3p0/credentials", "/ims/ob/v3p0/profile")
#: The spec's ``imsx_codeMinorFieldValue`` for each refusal's status.
IMSX_MINOR = {
    400: "invalid_data",
    401: "unauthorizedrequest",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    406: "not_acceptable",
    409: "invalid_data",
    413: "invalid_data",
    415: "invalid_data",
    422: "invalid_data",
    429: "server_busy",
}


def is_ob_api_request() -> bool:
    """Whether the request is for an OB 3.0 API resource (refusals get an Imsx body)."""
    return request.path.rstrip("/") in OB_API_RESOURCES


def imsx_response(
    status: int,
    message: str,
    *,
    minor: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The OB 3.0 API's answer to a refusal: an ``Imsx_StatusInfo``."""
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": message,
        "imsx_codeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystem",
                    "imsx_codeMinorFieldValue": minor
                    or IMSX_MINOR.get(status, "internal_server_error"),
                }
            ]
        },
    }
    response = make_response(json.dumps(body), status)
    response.mimetype = "application/json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def service_error_response(error: ServiceError) -> Response:
    """A service's refusal as an API error: bad input is 422 (the body was well-formed JSON
    but its content is refused), the rest keep their status."""
    roll_back_refused()
    status = 422 if isinstance(error, Invalid) else error.status
    return error_response(status, error.message, field=error.field)


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> Response | tuple[Any, int]:
        if is_ob_api_request():
            roll_back_refused()
            return imsx_response(400 if isinstance(error, Invalid) else error.status, error.message)
        if is_api_request():  # the API's own error body, with the field at fault
            return service_error_response(error)
        roll_back_refused()
        titles = {400: "Bad request", 403: "Forbidden", 404: "Not found", 409: "Conflict"}
        return _respond(error.status, titles.get(error.status, "Error"), error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Any, int]:
        return _respond(
            400,
            "Bad request",
            "The form expired or was not sent from Cairn. Reload the page and try again.",
        )

    @app.errorhandler(413)
    def too_large(error: HTTPException) -> Response | tuple[Any, int]:
        if is_ob_api_request():
            return imsx_response(413, "The request body is too large.")
        if is_api_request():
            return http_error_response(error)
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return _respond(
            413,
            "Too large",
            f"The upload is larger than {limit // (1024 * 1024)} MB. Choose a smaller file.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | tuple[Any, int]:
        if error.code is None or error.code < 400:
            return error.get_response()
        if is_ob_api_request():
            allow = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
            return imsx_response(error.code, error.description or error.name, headers=allow)
        if is_api_request():
            return http_error_response(error)
        return _respond(error.code, error.name, error.description or error.name)
