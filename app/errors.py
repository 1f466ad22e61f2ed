"""Error handlers: a JSON body for API and machine clients, an HTML page for browsers. Bad input
is a 4xx with an explanation; nothing a client sends is answered with a bare 500."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.services._core.errors import ServiceError
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


def init_app(app: Flask) -> None:
    """Register the handlers."""

    from app.api.core import http_error_response, is_api_request, service_error_response

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> Response | tuple[Any, int]:
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
        if is_api_request():
            return http_error_response(error)
        return _respond(error.code, error.name, error.description or error.name)
