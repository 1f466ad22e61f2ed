"""The one place a refused request's writes are undone: the form helper (app/forms.py), the web
error handler for service errors (app/errors.py) and the CLI's error path call it."""

from __future__ import annotations

from app.extensions import db


def roll_back_refused() -> None:
    """Undo what a refused request wrote in the open transaction (an uploaded image, a half-made
    row), so nothing of it is committed later in the same request or command, and the objects
    a page shows next are read again as they are stored."""
    db.session.rollback()
