"""What every API route shares: the blueprint, token authentication and scopes, the error body,
limit/offset pagination with ``Link`` headers, ``Idempotency-Key`` replay, ETags and rate limits
per token."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from flask import Response, current_app, g, make_response, request
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest, HTTPException

from app.api import lookups
from app.extensions import csrf, db, limiter
from app.models import ApiIdempotentAnswer, ApiToken, Issuer
from app.services._core.errors import Conflict, Forbidden, Invalid, ServiceError
from app.services.org import tokens
from app.services.org.audit import Actor
from app.wiring import service_env, utcnow
from schemas.achievements import TextList
from schemas.awards import ExpiryField

F = TypeVar("F", bound=Callable[..., Any])


class CairnParser(FlaskParser):
    """webargs' parser, with JSON nested too deeply for Python's parser refused as malformed
    (400) rather than a ``RecursionError`` (500), as ``app/json_provider.py`` does for Flask."""

    def _raw_load_json(self, req: Any) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            # A non-empty document: webargs reads an empty one as "no body".
            raise json.JSONDecodeError("The JSON is nested too deeply.", "[…]", 0) from None


bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="The issuer API: everything the workspace does, over HTTP.",
)
bp.ARGUMENTS_PARSER = CairnParser()
csrf.exempt(bp)  # bearer tokens, never cookies: there is no session to forge a request with

_NUL = re.compile(rb"\x00|\\u0000", re.IGNORECASE)
#: The name of the security scheme in the OpenAPI document.
BEARER = "bearerAuth"
#: The most items one page holds, and the default.
MAX_LIMIT = 100
DEFAULT_LIMIT = 50
#: Marks a route that needs a valid token of its issuer but no particular scope.
ANY_SCOPE = ""


class ErrorDetailSchema(Schema):
    """What went wrong: a stable ``code``, a sentence for people, and the input at fault."""

    code = fields.String(required=True, metadata={"example": "invalid"})
    message = fields.String(required=True)
    field = fields.String(allow_none=True, required=True, metadata={"example": "recipient.email"})


class ErrorSchema(Schema):
    """Every refusal: ``{"error": {"code", "message", "field"}}``."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class CairnApi(Api):  # type: ignore[misc]
    """flask-smorest's ``Api`` with Cairn's error body; the application's own error handlers
    (``app/errors.py``) answer API paths through :func:`error_response`, so none is added."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None

    def init_app(self, app: Any, *, spec_kwargs: Any = None) -> None:
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.ma_plugin.converter.add_attribute_function(_cairn_fields)
        self.spec.components.security_scheme(
            BEARER,
            {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token made in the workspace (Settings, API tokens) or "
                "with `cairn tokens create`; it starts with `cairn_`.",
            },
        )


def _cairn_fields(converter: Any, field: fields.Field[Any], **kwargs: Any) -> dict[str, Any]:
    """JSON Schema for the form schemas' own field types, which apispec cannot know, and
    numeric bounds of decimals (apispec writes them as strings)."""
    found: dict[str, Any] = {}
    if isinstance(field, TextList):
        found = {
            "type": "array",
            "maxItems": field.max_items,
            "items": {"type": "string", "maxLength": field.max_length},
        }
    elif isinstance(field, ExpiryField):
        found = {"type": ["string", "null"] if field.allow_none else "string"}
    elif isinstance(field, fields.Decimal):
        for validator in field.validators:
            if isinstance(validator, validate.Range):
                if validator.min is not None:
                    found["minimum"] = float(validator.min)
                if validator.max is not None:
                    found["maximum"] = float(validator.max)
    return found


# -- errors ---------------------------------------------------------------------------------


class Unauthorized(HTTPException):
    """No token, or one that is not (or no longer) valid."""

    code = 401
    description = "Send a valid API token: Authorization: Bearer cairn_…"

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("WWW-Authenticate", 'Bearer realm="cairn"')]


# -- authentication and scopes --------------------------------------------------------------


def requires(*scopes: str, also: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Declare what a route needs: a token of the issuer with one of ``scopes`` (``ANY_SCOPE``:
    any token of the issuer) and every scope in ``also``, checked by the blueprint before the
    view; documented too."""

    def decorate(view: F) -> F:
        view.api_scopes = scopes  # type: ignore[attr-defined]
        view.api_also = also  # type: ignore[attr-defined]
        needed = " or ".join(f"`{s}`" for s in scopes if s) or "any scope"
        needed += "".join(f" and `{s}`" for s in also)
        documented = bp.doc(
            operationId=view.__name__,
            summary=view.__name__.replace("_", " ").capitalize(),
            security=[{BEARER: []}],
            description=" ".join((view.__doc__ or "").split())
            + f"\n\nNeeds a token with {needed}.",
        )(view)
        for status, text in (
            (401, "No token, or an invalid, expired or revoked one"),
            (403, "The token lacks the scope, is another organisation's, or its creator's "
                  "role no longer allows it"),
            (429, "Too many requests for this token"),
        ):  # fmt: skip
            documented = bp.alt_response(status, schema=ErrorSchema, description=text)(documented)
        return cast(F, documented)

    return decorate


@bp.before_request
def _authenticate() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    scopes: tuple[str, ...] = getattr(view, "api_scopes", ("-",))
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized()
    found = lookups.check(secret.strip(), env=service_env())
    if found is None:
        raise Unauthorized()
    token = g.api_token = found.token
    issuer = token.issuer
    slug = (request.view_args or {}).get("slug")
    if slug is not None and slug != issuer.slug:
        raise Forbidden("This token is for another organisation.")
    refusal: ServiceError | None = None
    for scope in scopes:
        try:
            tokens.require_scope(token, issuer, scope or None, found.role)
            break
        except ServiceError as error:
            refusal = refusal or error
    else:
        raise refusal or Forbidden("This token may not do that.")
    for scope in getattr(view, "api_also", ()):
        tokens.require_scope(token, issuer, scope, found.role)
    # As app/security.py does for forms: no input holds NUL, and PostgreSQL cannot store it.
    if request.content_length and _NUL.search(request.get_data(cache=True)):
        raise BadRequest("The request contains a NUL character.")
    g.issuer = issuer


def current_token() -> ApiToken:
    """The token of the current API request."""
    token: ApiToken = g.api_token
    return token


def current_issuer() -> Issuer:
    """The organisation of the current API request (its token's)."""
    issuer: Issuer = g.issuer
    return issuer


def actor() -> Actor:
    """The audit actor of an API change: the token's creator, named with the token."""
    return tokens.actor_for(current_token(), ip=request.remote_addr)


def _rate_limit_key() -> str:
    header = request.headers.get("Authorization", "")
    # Counted per token (by its hash, never the secret itself); without one, per address.
    if header.lower().startswith("bearer "):
        return "api-token:" + tokens.hash_secret(header[7:].strip())
    return "api-address:" + (request.remote_addr or "unknown")


limiter.limit(
    lambda: str(current_app.config.get("API_RATE_LIMIT", "600/minute")),
    key_func=_rate_limit_key,
)(bp)


@bp.after_request
def _finish(response: Response) -> Response:
    current = limiter.current_limit
    if current is not None:
        # The IETF RateLimit header fields (draft), beside Flask-Limiter's X-RateLimit-*.
        response.headers["RateLimit-Limit"] = str(current.limit.amount)
        response.headers["RateLimit-Remaining"] = str(max(0, current.remaining))
        reset = max(0, int(current.reset_at - utcnow().timestamp()))
        response.headers["RateLimit-Reset"] = str(reset)
    if request.method == "GET" and response.status_code == 200 and response.is_json:
        response.headers["Cache-Control"] = "private, no-cache"
        response.add_etag()
        response.make_conditional(request)
    return response


# -- pagination -----------------------------------------------------------------------------


class PageArgs(Schema):
    """``limit`` (1 to 100, default 50) and ``offset`` (from 0)."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


def link_header(total: int, limit: int, offset: int, more: bool | None = None) -> str:
    """RFC 8288 links to the first, previous and next pages of this request's list; ``more``
    says whether rows follow this page, when ``total`` cannot (a capped count)."""

    def url(to: int) -> str:
        query = {k: v for k, v in request.args.items() if k not in ("limit", "offset")}
        query.update(limit=str(limit), offset=str(to))
        return f"<{request.base_url}?{urlencode(query)}>"

    links = [f'{url(0)}; rel="first"']
    if offset > 0:
        links.append(f'{url(max(0, offset - limit))}; rel="prev"')
    if (offset + limit < total) if more is None else more:
        links.append(f'{url(offset + limit)}; rel="next"')
    return ", ".join(links)


def page(
    items: list[Any],
    total: int,
    limit: int,
    offset: int,
    *,
    more: bool | None = None,
    **extra: Any,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A page of a list as a view's answer: the body (with ``extra`` fields), 200 and the
    ``Link`` header (``more``: see :func:`link_header`)."""
    body = {"items": items, "total": total, "limit": limit, "offset": offset, **extra}
    return body, 200, {"Link": link_header(total, limit, offset, more)}


PAGE_HEADERS = {
    "Link": {
        "description": "RFC 8288 links to the first, previous and next pages",
        "schema": {"type": "string"},
    }
}


# -- idempotency ----------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY = 255
#: How long an answer is kept for replay, and when a request that never answered (its process
#: died) no longer holds its key.
KEEP = timedelta(days=1)
ABANDONED = timedelta(minutes=10)
#: ``ApiIdempotentAnswer.status`` while the first request is still being answered.
IN_PROGRESS = 0


def _replay(earlier: ApiIdempotentAnswer) -> Response:
    replay = make_response(earlier.body, earlier.status)
    replay.mimetype = "application/json"
    for name, value in earlier.headers.items():
        replay.headers[name] = value
    replay.headers["Idempotent-Replayed"] = "true"
    return replay


def _reserve(token: ApiToken, key: str, digest: str) -> int | Response:
    """Claim ``key`` for this request (committed at once, so a concurrent request with the key
    waits its turn): the reservation's id, or the answer to give instead."""
    now = service_env().now
    # This token's answers are kept a day; forget older ones on the way.
    db.session.execute(
        delete(ApiIdempotentAnswer).where(
            ApiIdempotentAnswer.token_id == token.id, ApiIdempotentAnswer.created_at < now - KEEP
        )
    )
    reservation = ApiIdempotentAnswer(
        token_id=token.id,
        key=key,
        request_hash=digest,
        status=IN_PROGRESS,
        body="",
        headers={},
        created_at=now,
    )
    db.session.add(reservation)
    try:
        db.session.commit()
        return reservation.id
    except IntegrityError:
        db.session.rollback()
    earlier = db.session.scalar(
        select(ApiIdempotentAnswer).where(
            ApiIdempotentAnswer.token_id == token.id, ApiIdempotentAnswer.key == key
        )
    )
    if earlier is None or earlier.request_hash != digest:
        raise Conflict("This Idempotency-Key was used for a different request.", IDEMPOTENCY_HEADER)
    if earlier.status == IN_PROGRESS:
        if now - earlier.created_at < ABANDONED:
            raise Conflict(
                "A request with this Idempotency-Key is still being answered; try again shortly.",
                IDEMPOTENCY_HEADER,
            )
        # Its process died before answering: this request takes the key over.
        earlier.created_at = now
        db.session.commit()
        return earlier.id
    return _replay(earlier)


def _release(reservation_id: int) -> None:
    """Give up a reservation: the request was refused, so the key may be used again."""
    db.session.rollback()
    db.session.execute(delete(ApiIdempotentAnswer).where(ApiIdempotentAnswer.id == reservation_id))
    db.session.commit()


def idempotent(view: F) -> F:
    """Replay the first successful answer to a creating request sent again with the same
    ``Idempotency-Key`` and body (per token, for a day); the same key with another body, or
    while the first request is still being answered, is 409. A refused request keeps no
    answer, so it may be sent again under the same key."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY:
            raise Invalid(f"An Idempotency-Key has 1 to {MAX_KEY} characters.", IDEMPOTENCY_HEADER)
        digest = hashlib.sha256(
            b"\n".join([request.method.encode(), request.path.encode(), request.get_data()])
        ).hexdigest()
        reserved = _reserve(current_token(), key, digest)
        if isinstance(reserved, Response):
            return reserved
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            _release(reserved)
            raise
        if not 200 <= response.status_code < 300:
            _release(reserved)
            return response
        answer = db.session.get(ApiIdempotentAnswer, reserved)
        if answer is not None:
            answer.status = response.status_code
            answer.body = response.get_data(as_text=True)
            answer.headers = {n: v for n, v in response.headers.items() if n == "Location"}
            db.session.commit()
        return response

    view_headers = {
        "name": IDEMPOTENCY_HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
        "description": "Send the same key again to get the first answer instead of a second "
        "change (kept per token); another request under the same key is 409.",
    }
    documented = bp.doc(parameters=[view_headers])(wrapped)
    documented = bp.alt_response(409, schema=ErrorSchema, description="Conflict")(documented)
    return cast(F, documented)
