"""Reads of the learning side's rows by key, for the edges (the educator signed in, the author
of a submission or a portfolio item)."""

from __future__ import annotations

from app.extensions import db
from app.models import Educator


def educator(educator_id: int) -> Educator | None:
    """The educator with this id, if there is one."""
    return db.session.get(Educator, educator_id)
