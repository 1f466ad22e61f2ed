"""Blueprint ``api``: the issuer API at ``/api/v1``, driven by bearer tokens, documented as
OpenAPI 3.1 at ``/api/v1/openapi.json`` (flask-smorest, from the marshmallow schemas).

Every route declares the scope it needs with :func:`app.api.core.requires`; the blueprint's
``before_request`` authenticates the token and checks the scope, the issuer and the creator's
current role before anything else (so a request without a token is 401 before its body is
read). Views call the same service functions as the workspace and the CLI.
"""

from __future__ import annotations

from flask import Flask

from app.api import lookups
from app.api.core import CairnApi, bp

api = CairnApi()


def init_app(app: Flask) -> None:
    """Register the API, its OpenAPI document and the documentation page."""
    app.config.setdefault("API_TITLE", "Cairn issuer API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    # Route modules register their views on ``bp`` when imported.
    from app.api import (  # noqa: F401
        achievements,
        awards,
        credentials,
        docs,
        jobs,
        organisation,
        verify,
    )

    api.init_app(app)
    api.register_blueprint(bp)
    lookups.init_app(app)
    app.register_blueprint(docs.docs_bp)
