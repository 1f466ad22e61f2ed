"""Reads of stored email messages by key, for the development outbox."""

from __future__ import annotations

from app.extensions import db
from app.models import EmailMessage


def message(message_id: int) -> EmailMessage | None:
    """The stored email message with this id, if there is one."""
    return db.session.get(EmailMessage, message_id)
