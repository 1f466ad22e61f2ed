"""The development outbox: every message Cairn queued, readable in a browser."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from typing import Any

from flask import Flask, Response, current_app, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response as BaseResponse

from app.dev import bp
from app.models import EmailMessage
from app.services._core.errors import NotFound
from app.services.mail import emails
from app.services.mail import queries as mail_queries
from app.wiring import outbox_dir, service_env

#: For the HTML body of a message, shown in an ``<iframe>`` of the message page: nothing runs
#: (``sandbox``, no scripts), nothing loads but images (as a mail client would), and only our own
#: pages may frame it.
HTML_BODY_CSP = (
    "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; sandbox; "
    "frame-ancestors 'self'"
)


SKIPPED_HEADERS = ("content-type", "mime-version", "content-transfer-encoding")


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _message(message_id: int) -> EmailMessage:
    message = mail_queries.message(message_id)
    if message is None:
        raise NotFound("There is no such message.")
    return message


def _summary() -> dict[str, Any]:
    """Where mail goes, for the outbox page."""
    config = current_app.config
    return {
        "smtp_host": config.get("SMTP_HOST"),
        "smtp_port": config.get("SMTP_PORT"),
        "smtp_security": config.get("SMTP_SECURITY"),
        "outbox": str(outbox_dir(_app())),
    }


@bp.get("/outbox")
def outbox() -> str:
    """Every queued message, newest first, and where mail goes."""
    return render_template(
        "dev/outbox.html",
        messages=emails.outbox(),
        summary=_summary(),
        pending=emails.pending_count(),
        status=emails.status,
    )


@bp.post("/outbox/deliver")
def outbox_deliver() -> BaseResponse:
    """Deliver whatever is waiting now, instead of waiting for the next job."""
    sent = emails.deliver_pending(service_env())
    waiting = emails.pending_count()
    flash(
        f"{sent} message{'s' if sent != 1 else ''} delivered"
        + (f"; {waiting} still waiting." if waiting else "."),
        "warning" if waiting else "info",
    )
    return redirect(url_for("dev.outbox"), code=303)


def _shown(message: EmailMessage) -> MimeMessage:
    """The message as the outbox received it, or (not delivered yet) as it would be sent: the
    database keeps no secret link once a message is sent, so this page reads the copy that
    was delivered, as a developer's mail client would.

    :raises ValueError: when a message not delivered yet cannot be composed.
    """
    env = service_env()
    copy = emails.delivered_copy(env.mail, message)
    if copy is not None:
        parsed = BytesParser(policy=policy.default).parsebytes(copy)
        if isinstance(parsed, MimeMessage):
            return parsed
    return emails.compose(message, env.mail_settings, now=env.now)


def _part(mime: MimeMessage, subtype: str) -> str | None:
    body = mime.get_body(preferencelist=(subtype,))
    return str(body.get_content()) if body is not None else None


@bp.get("/outbox/<int:message_id>")
def outbox_message(message_id: int) -> str:
    """One message: its headers as they would be sent, its text, and its HTML (framed)."""
    message = _message(message_id)
    headers: list[tuple[str, str]] = []
    problem: str | None = None
    text = message.body_text
    try:
        mime = _shown(message)
    except ValueError as exc:  # e.g. an unusable MAIL_FROM: the page says so instead of failing
        problem = str(exc)
    else:
        headers = [(k, str(v)) for k, v in mime.items() if k.lower() not in SKIPPED_HEADERS]
        text = _part(mime, "plain") or text
    return render_template(
        "dev/message.html",
        message=message,
        text=text,
        headers=headers,
        problem=problem,
        status=emails.status(message),
    )


@bp.get("/outbox/<int:message_id>/html")
def outbox_html(message_id: int) -> Response:
    """The HTML body alone, for the message page's sandboxed frame."""
    message = _message(message_id)
    if not message.body_html:
        raise NotFound("This message has no HTML part.")
    try:
        html = _part(_shown(message), "html") or message.body_html
    except ValueError:
        html = message.body_html
    response = Response(html, mimetype="text/html")
    # Set here so the application-wide defaults (no framing at all) do not replace them.
    response.headers["Content-Security-Policy"] = HTML_BODY_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/outbox/<int:message_id>.eml")
def outbox_eml(message_id: int) -> Response:
    """The message as an ``.eml`` file, to open in a mail client."""
    message = _message(message_id)
    env = service_env()
    copy = emails.delivered_copy(env.mail, message)
    data = (
        copy if copy is not None else bytes(emails.compose(message, env.mail_settings, now=env.now))
    )
    response = Response(data, mimetype="message/rfc822")
    response.headers["Content-Disposition"] = f'attachment; filename="cairn-{message.id}.eml"'
    return response
