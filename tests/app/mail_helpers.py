"""Helpers for tests about mail and what the database holds: the mail as delivered (read back
from the development outbox, where the test application's transport writes it) and every value
of every row of every table (what a database dump or backup would hold)."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from pathlib import Path

from flask import current_app
from sqlalchemy import MetaData, select

from app.extensions import db
from app.wiring import outbox_dir


def delivered(to: str | None = None, kind: str | None = None) -> list[MimeMessage]:
    """Every message delivered so far (oldest first), optionally only those to ``to`` and of
    ``kind`` (the kind is the end of the outbox file's name)."""
    folder = outbox_dir(current_app._get_current_object())  # type: ignore[attr-defined]
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.eml"), key=_delivery_order):
        if kind is not None and not path.name.endswith(f"-{kind}.eml"):
            continue
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, MimeMessage)
        if to is not None and str(message["To"]) != to:
            continue
        found.append(message)
    return found


def _delivery_order(path: Path) -> tuple[int, str]:
    # "<created>-<id>-<kind>.eml": the row id orders messages queued in the same second.
    parts = path.name.split("-")
    return (int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0, path.name)


def body_of(message: MimeMessage) -> str:
    """The text part and the HTML part of a delivered message, one after the other."""
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(str(part.get_content()))
    return "\n".join(parts)


def parts_of(message: MimeMessage) -> tuple[str, str]:
    """The text part and the HTML part ("" when there is none) of a delivered message."""
    text = html = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = str(part.get_content())
        elif part.get_content_type() == "text/html":
            html = str(part.get_content())
    return text, html


def latest_delivered(to: str, kind: str | None = None) -> str:
    """The bodies (text and HTML) of the latest message delivered to ``to``."""
    found = delivered(to, kind)
    assert found, f"no {kind or ''} mail delivered to {to}"
    return body_of(found[-1])


def link_in_delivered(pattern: re.Pattern[str], to: str, kind: str | None = None) -> re.Match[str]:
    """``pattern`` in the latest message delivered to ``to`` (it must be there)."""
    body = latest_delivered(to, kind)
    match = pattern.search(body)
    assert match, body
    return match


def database_text() -> str:
    """Every value of every row of every table, as text: what a dump or backup holds.

    The tables are read from the database itself (not the models), so a table or column no
    model knows about is searched too. Binary values are decoded byte for byte.
    """
    connection = db.session.connection()
    reflected = MetaData()
    reflected.reflect(connection)
    values: list[str] = []
    for table in reflected.sorted_tables:
        for row in db.session.execute(select(table)):
            for value in row:
                if value is None:
                    continue
                if isinstance(value, bytes | bytearray | memoryview):
                    values.append(bytes(value).decode("latin-1"))
                else:
                    values.append(str(value))
    return "\n".join(values)


def assert_nowhere_in_database(*secrets: str) -> None:
    """None of ``secrets`` is in any column of any row of any table."""
    dump = database_text()
    for secret in secrets:
        assert secret, "an empty secret proves nothing"
        assert secret not in dump, f"{secret!r} is stored in the database"
