"""The OB 3.0 API's resources, each behind a bearer token with its scope: the educator's
credentials (``GET``, paged, with ``X-Total-Count`` and ``Link``; ``POST`` to upsert, verified
first) and their profile (``GET``, ``PUT``). Every refusal is an ``Imsx_StatusInfo``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import current_app, request
from werkzeug.wrappers import Response

from app.errors import imsx_response
from app.extensions import csrf
from app.models import Educator
from app.obapi import BASE_PATH, bp
from app.obapi.oauth import bearer_token
from app.services.learning import connections, host_api, imports
from app.wiring import fetcher, service_env

SCOPE_READ = f"{connections.SCOPE_PREFIX}credential.readonly"
SCOPE_UPSERT = f"{connections.SCOPE_PREFIX}credential.upsert"
SCOPE_PROFILE_READ = f"{connections.SCOPE_PREFIX}profile.readonly"
SCOPE_PROFILE_UPDATE = f"{connections.SCOPE_PREFIX}profile.update"
#: Credentials per page when the client names no ``limit``, and at most.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: The media types an upsert may carry.
JSON_TYPES = ("application/json", "application/vc+ld+json", "application/ld+json")


class Refused(Exception):
    """A request the API answers with an Imsx_StatusInfo."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _educator(scope: str) -> Educator:
    """The educator whose token the request carries, with ``scope``."""
    try:
        token = bearer_token(scope)
    except OAuth2Error as error:
        status = 403 if error.error == "insufficient_scope" else 401
        message = (
            f"The access token does not hold the scope {scope}."
            if status == 403
            else "Send a valid access token: Authorization: Bearer <token>."
        )
        headers = {"WWW-Authenticate": f'Bearer error="{error.error}"'}
        raise Refused(imsx_response(status, message, headers=headers)) from error
    connections.touch(token, service_env())
    return token.educator


def _json(body: Any, status: int = 200) -> Response:
    response = current_app.response_class(json.dumps(body), status=status)
    response.mimetype = "application/json"
    response.headers["Cache-Control"] = "no-store"
    return response


def _number(name: str, default: int, minimum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise Refused(
            imsx_response(
                400,
                f"{name} must be a whole number of at least {minimum}.",
                minor="invalid_query_parameter",
            )
        )
    return int(raw)


def _since() -> datetime | None:
    raw = request.args.get("since")
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Refused(
            imsx_response(
                400,
                "since must be a date and time with its offset, e.g. 2026-01-31T09:00:00Z.",
                minor="invalid_query_parameter",
            )
        )
    return moment.astimezone(UTC)


def _link(rel: str, offset: int, limit: int) -> str:
    query = {k: v for k, v in request.args.items() if k not in ("offset", "limit")}
    query.update(limit=str(limit), offset=str(offset))
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    return f'<{base}{BASE_PATH}/credentials?{urlencode(query)}>; rel="{rel}"'


def _paging_links(total: int, offset: int, limit: int) -> str:
    last = max(0, (total - 1) // limit * limit)
    links = [_link("first", 0, limit), _link("last", last, limit)]
    if offset + limit < total:
        links.append(_link("next", offset + limit, limit))
    if offset > 0:
        links.append(_link("prev", max(0, offset - limit), limit))
    return ", ".join(links)


@bp.route(f"{BASE_PATH}/credentials", methods=["GET", "POST"])
def credentials() -> Response:
    """GET: the educator's credentials, a page at a time. POST: upsert one credential."""
    try:
        if request.method == "POST":
            return _upsert()
        educator = _educator(SCOPE_READ)
        limit = min(_number("limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
        offset = _number("offset", 0, 0)
        since = _since()
    except Refused as refused:
        return refused.response
    found = host_api.credentials(educator, since=since)
    page = found[offset : offset + limit]
    body: dict[str, Any] = {}
    jws = [c.document.strip() for c in page if c.is_jws]
    documents = [c.as_json() for c in page if not c.is_jws]
    if documents:
        body["credential"] = documents
    if jws:
        body["compactJwsString"] = jws
    response = _json(body)
    response.headers["X-Total-Count"] = str(len(found))
    response.headers["Link"] = _paging_links(len(found), offset, limit)
    return response


def _upsert() -> Response:
    educator = _educator(SCOPE_UPSERT)
    if request.mimetype in JSON_TYPES:
        sent: Any = request.get_json(silent=True)
        if not isinstance(sent, dict):
            return imsx_response(400, "The body must be a JSON credential.")
        data: str = request.get_data(as_text=True)
        echo = _json(sent)
    elif request.mimetype == "text/plain":
        data = request.get_data(as_text=True).strip()
        echo = current_app.response_class(data, mimetype="text/plain")
    else:
        return imsx_response(
            415, "Send the credential as application/vc+ld+json, application/json or text/plain."
        )
    _, created = imports.upsert(educator, data, env=service_env(), fallback=fetcher())
    echo.status_code = 201 if created else 200
    echo.headers["Cache-Control"] = "no-store"
    return echo


@bp.route(f"{BASE_PATH}/profile", methods=["GET", "PUT"])
def profile() -> Response:
    """GET: the educator's profile. PUT: take its name and description."""
    try:
        if request.method == "PUT":
            educator = _educator(SCOPE_PROFILE_UPDATE)
            sent = request.get_json(silent=True)
            if not isinstance(sent, dict):
                return imsx_response(400, "The body must be a JSON Profile.")
            host_api.update_profile(educator, sent, service_env())
        else:
            educator = _educator(SCOPE_PROFILE_READ)
    except Refused as refused:
        return refused.response
    return _json(host_api.profile(educator, service_env()))


# Bearer tokens, never cookies: there is no session to forge a request with.
for _view in (credentials, profile):
    csrf.exempt(_view)
