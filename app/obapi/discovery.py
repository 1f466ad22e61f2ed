"""The OB 3.0 API's service description (``GET /ims/ob/v3p0/discovery``, never protected):
1EdTech's OpenAPI 3.0 document with this instance's server, OAuth 2.0 URLs and policy links,
and the short privacy and terms pages it names when the operator has not set their own."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app, render_template, request, url_for
from werkzeug.wrappers import Response

from app.obapi import BASE_PATH, bp

#: 1EdTech's document, as published (see SOURCE.md beside it).
OPENAPI_FILE = Path(__file__).with_name("ob_v3p0_openapi.json")


@cache
def _official() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    return document


def _absolute(endpoint: str) -> str:
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    return base + url_for(endpoint)


def service_description() -> dict[str, Any]:
    """The document this instance serves: the official one with its placeholders replaced."""
    document = copy.deepcopy(_official())
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    info = document["info"]
    info["title"] = "Cairn: Open Badges 3.0 API"
    info["termsOfService"] = current_app.config["OB_API_TERMS_URL"] or _absolute("obapi.terms")
    info["x-imssf-privacyPolicyUrl"] = current_app.config["OB_API_PRIVACY_POLICY_URL"] or _absolute(
        "obapi.privacy"
    )
    info["x-imssf-image"] = base + url_for("static", filename="favicon.svg")
    document["servers"] = [{"url": base + BASE_PATH, "description": "This Cairn instance"}]
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    scheme["x-imssf-registrationUrl"] = _absolute("obapi.register")
    flow = scheme["flows"]["authorizationCode"]
    flow["authorizationUrl"] = _absolute("obapi.authorize")
    flow["tokenUrl"] = _absolute("obapi.token")
    flow["refreshUrl"] = _absolute("obapi.token")
    return document


@bp.get(f"{BASE_PATH}/discovery")
def discovery() -> Response:
    """The service description document (public; clients may cache it for a day)."""
    response = current_app.response_class(
        json.dumps(service_description(), indent=2), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/privacy")
def privacy() -> str:
    """What Cairn keeps about an educator, and what a connected application receives."""
    return render_template("obapi/privacy.html")


@bp.get("/terms")
def terms() -> str:
    """The terms of using this instance and its OB 3.0 API."""
    return render_template("obapi/terms.html")
