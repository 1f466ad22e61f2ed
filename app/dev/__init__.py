"""Blueprint ``dev``: development-only pages (the email outbox); never registered in production."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dev", __name__, url_prefix="/dev")
from app.dev import views  # noqa: E402,F401
