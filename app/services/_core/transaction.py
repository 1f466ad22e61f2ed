"""The one place a refused request's writes are undone: the form helper (app/forms.py), the web
error handler for service errors (app/errors.py), the CLI's error path, and services that must
leave the session clean when a step inside them is refused (``all_or_nothing``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.extensions import db
from app.services._core.errors import ServiceError


def roll_back_refused() -> None:
    """Undo what a refused request wrote in the open transaction (an uploaded image, a half-made
    row), so nothing of it is committed later in the same request or command, and the objects
    a page shows next are read again as they are stored."""
    db.session.rollback()


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """Run a service's steps so that a refusal in any of them leaves the session as it was
    stored: a caller that goes on (a test, a command doing more) sees nothing half-made."""
    try:
        yield
    except ServiceError:
        roll_back_refused()
        raise
