"""Blueprint ``public``: what anyone may fetch without signing in (DID documents, key sets,
status lists, credentials, images)."""

from __future__ import annotations

from flask import Blueprint, request

from app.extensions import limiter

bp = Blueprint("public", __name__)

from app.public import credentials, identity, manage, ob2, pages, resources, verify  # noqa: E402,F401

# isort: split
from app.public import people  # noqa: E402,F401

# isort: split
from app.public import evidence  # noqa: E402,F401

# isort: split
from app.public import wallets  # noqa: E402,F401

# isort: split
from app.public import statements  # noqa: E402,F401

#: Read-only documents verifiers fetch for every check; none has a rate limit, and none may
#: get one while it is listed here.
UNLIMITED_ENDPOINTS = frozenset(
    {"public.did_document", "public.jwks", "public.profile", "public.status_list"}
)


@limiter.request_filter
def skips_rate_limiting() -> bool:
    """Requests the rate limiter does not look at: Flask-Limiter's bookkeeping runs on every
    request even where no limit applies, about a tenth of the cost of serving a stored
    credential. A credential's URL is skipped only when it serves the stored document: its
    page (a live verification) stays in the limiter's hands."""
    if request.endpoint == "public.credential":
        return not credentials.wants_html()
    return request.endpoint in UNLIMITED_ENDPOINTS
