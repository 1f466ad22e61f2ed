"""Blueprint ``obapi``: the 1EdTech Open Badges 3.0 API, Cairn as a service provider. An
educator's wallet or another host discovers the API (``/ims/ob/v3p0/discovery``), registers,
asks the educator's consent (OAuth 2.0 authorization code with PKCE) and then reads and adds
credentials and reads and updates the profile with a bearer token. Also the policy pages
the discovery document names."""

from __future__ import annotations

from flask import Blueprint

#: Where the API lives, as the spec prescribes.
BASE_PATH = "/ims/ob/v3p0"

bp = Blueprint("obapi", __name__)

# The views, registered on ``bp`` by importing them (last, since they import ``bp``).
from app.obapi import authorization, discovery, resources  # noqa: E402,F401
