"""Blueprint ``public``: what anyone may fetch without signing in (DID documents, key sets,
status lists, credentials, images)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__)

from app.public import credentials, identity, manage, pages, resources, verify  # noqa: E402,F401

# isort: split
from app.public import people  # noqa: E402,F401

# isort: split
from app.public import evidence  # noqa: E402,F401
