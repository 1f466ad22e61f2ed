"""Email: rendered from templates, queued with what caused it, delivered later through the
application's mail transport (SMTP, a development outbox, or none: see
:mod:`app.infrastructure.mail`).

Every message's wording lives in ``app/templates/email/<kind>/`` (``subject.txt``, ``body.txt``,
``body.html``); :func:`render` fills them in and :func:`queue_template` queues the result.

Secret links (sign-in, invitation, reset, partner and manage links) never rest in the database
in clear. While a message waits, its bodies hold a random marker where each secret link goes,
and the links themselves are kept encrypted in ``EmailMessage.secret`` (AES-256-GCM under a key
derived from ``SECRET_KEY`` with HKDF, bound to the recipient's address); the link is put back
only into the message handed to the mail server. Once the message is sent (or given up on) the
ciphertext is deleted and the markers become ``LINK_REMOVED``, so a dump or backup of the
database holds no usable link, and a stolen dump plus the secret key only yields links of mail
that was still queued when the dump was taken.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
import re
import secrets
from collections.abc import Sequence
from datetime import date, datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import escape
from sqlalchemy import CursorResult, func, select, update

from app.extensions import db
from app.infrastructure.mail import MailSettings, MailTransport, Refused, Unavailable, Unreachable
from app.models import EmailMessage, IssuedCredential, Issuer
from app.services._core import formatting, jobs, plain_rows
from app.services._core.env import ServiceEnv
from app.services._core.formatting import DEFAULT_LOCALE

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SUBJECT_LIMIT = 300  # the width of ``EmailMessage.subject``
DISPLAY_NAME_LIMIT = 60  # a quoted name this long still fits on the first line of its header
DEFAULT_SENDER_NAME = "Cairn"
#: What a secret link becomes in the stored bodies once the message is sent or given up on.
LINK_REMOVED = "[link removed once sent]"
#: Where a secret link goes in the body of a message waiting to be sent: random per link, so
#: nothing else in the message (a name, a note) can be mistaken for it.
SECRET_MARKER = re.compile(r"\[secret link [0-9a-f]{32}\]")
#: Names the key derivation; a new scheme gets a new label and a new prefix.
SECRET_KDF_INFO = b"cairn/email-secret-links/v1"
CIPHERTEXT_PREFIX = "v1:"


class UnreadableSecret(ValueError):
    """A queued message's links cannot be decrypted (the secret key changed, or the ciphertext
    was moved to another message): the message is not sent rather than sent without them."""


def _cipher(settings: MailSettings) -> AESGCM:
    """AES-256-GCM under a key derived from ``SECRET_KEY`` for this purpose alone."""
    return _cipher_for(str(settings.secret_key))


@functools.lru_cache(maxsize=4)
def _cipher_for(secret_key: str) -> AESGCM:
    # Derived once per key, not once per message (a bulk chunk seals 250 messages' links).
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SECRET_KDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return AESGCM(key)


def _bound_to(to: str) -> bytes:
    # Associated data: a ciphertext copied onto a message to someone else does not decrypt,
    # so write access to the table cannot redirect a link to another mailbox.
    return b"cairn email to " + to.encode("utf-8")


def seal_links(links: dict[str, str], to: str, settings: MailSettings) -> str:
    """``links`` (marker to link) encrypted for a message to ``to``."""
    nonce = os.urandom(12)
    sealed = _cipher(settings).encrypt(nonce, json.dumps(links).encode("utf-8"), _bound_to(to))
    return CIPHERTEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_links(message: EmailMessage, settings: MailSettings) -> dict[str, str]:
    """The secret links of a queued message (marker to link); none once it was sent.

    :raises UnreadableSecret: when they cannot be decrypted.
    """
    if not message.secret:
        return {}
    problem = UnreadableSecret(
        "its secret link cannot be decrypted (was CAIRN_SECRET_KEY changed since it was queued?)"
    )
    if not message.secret.startswith(CIPHERTEXT_PREFIX):
        raise problem
    try:
        raw = base64.urlsafe_b64decode(message.secret[len(CIPHERTEXT_PREFIX) :])
        plain = _cipher(settings).decrypt(raw[:12], raw[12:], _bound_to(message.to_address))
        links = json.loads(plain)
    except (binascii.Error, ValueError, InvalidTag) as exc:
        raise problem from exc
    if not isinstance(links, dict):
        raise problem
    return {str(k): str(v) for k, v in links.items()}


def redact(message: EmailMessage) -> None:
    """Forget a message's secret links: the ciphertext goes, and the markers say so."""
    message.secret = None
    message.body_text = SECRET_MARKER.sub(LINK_REMOVED, message.body_text)
    if message.body_html:
        message.body_html = SECRET_MARKER.sub(LINK_REMOVED, message.body_html)


def _deliverable() -> Any:
    """Not sent yet, and not given up on."""
    return EmailMessage.sent_at.is_(None) & (EmailMessage.attempts < MAX_ATTEMPTS)


def _one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks included) made one space: names end
    up in headers, where a line break would start a new header."""
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters as a header would quote them (a quote
    or backslash takes two). Python's header folding mangles a quoted name it has to break
    (into two addresses), so display names are kept short enough never to be broken."""
    text = _one_line(text)

    def quoted_length(value: str) -> int:
        return len(value) + value.count('"') + value.count("\\")

    if quoted_length(text) <= limit:
        return text
    while text and quoted_length(text) > limit - 3:
        text = text[:-1]
    return text.rstrip() + "..."  # not "…": an ASCII name need not be encoded


def queue(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    kind: str,
    env: ServiceEnv,
    issuer_id: int | None = None,
    credential: IssuedCredential | None = None,
    secret_links: Sequence[str] = (),
) -> None:
    """Add a message to the session (sent after the surrounding transaction commits); a plain
    row while :func:`plain_rows.collected` is open (a bulk chunk's award emails).

    Each of ``secret_links`` is stored only encrypted: the bodies hold a marker in its place
    until the message is composed for sending.
    """
    subject = _one_line(subject)
    if len(subject) > SUBJECT_LIMIT:
        # Long achievement and issuer names must not make the award itself fail to store.
        subject = subject[: SUBJECT_LIMIT - 1] + "…"
    markers: dict[str, str] = {}
    for link in secret_links:
        marker = f"[secret link {secrets.token_hex(16)}]"
        markers[marker] = link
        text = text.replace(link, marker)
        if html is not None:
            escaped = str(escape(link))
            html = html.replace(escaped, marker)
            if escaped != link:  # (when they are the same, every copy was replaced already)
                html = html.replace(link, marker)
    row = {
        "issuer_id": issuer_id,
        "kind": kind,
        "to_address": to,
        "subject": subject,
        "body_text": text,
        "body_html": html,
        "secret": seal_links(markers, to, env.mail_settings) if markers else None,
        "created_at": env.now,
        "attempts": 0,
    }
    if plain_rows.collecting():
        row["credential_id"] = credential.id if credential is not None else None
        plain_rows.add(EmailMessage, row)
    else:  # the relationship, not its key: the credential may not be flushed yet
        db.session.add(EmailMessage(**row, credential=credential))


#: Where the messages' templates are: one folder per kind of message.
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
_templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    # Only the HTML body is markup; subjects and text bodies are plain text.
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,  # a misspelt value fails loudly instead of vanishing
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@pass_context
def _day(context: Context, value: date | datetime | None) -> str:
    return formatting.format_day(value, context["locale"], width="long")


# Dates as pages write them (Babel), in the locale the message is rendered in.
_templates.filters["day"] = _day


def render(kind: str, *, locale: str = DEFAULT_LOCALE, **context: Any) -> tuple[str, str, str]:
    """The subject, text body and HTML body of message ``kind``, from
    ``templates/email/<kind>/``, its dates written for ``locale`` (``{{ when | day }}``).
    Every value is escaped in the HTML body."""
    context.setdefault("image_url", None)
    context["locale"] = locale
    subject, text, html = (
        _templates.get_template(f"{kind}/{part}").render(context)
        for part in ("subject.txt", "body.txt", "body.html")
    )
    return subject.strip(), text, html


#: A sentinel (private-use characters no template writes) in place of a per-recipient value.
_SLOT = re.compile("\ue000([A-Za-z_]+)\ue001")
#: Messages rendered once with a sentinel for each per-recipient value: the parts between them.
_plans: dict[tuple[Any, ...], tuple[list[str], list[str], list[str]] | None] = {}
_PLANS_KEPT = 64


def render_slotted(
    kind: str, *, locale: str, slots: dict[str, str | None], **context: Any
) -> tuple[str, str, str]:
    """What ``render(kind, locale=locale, **context, **slots)`` returns, rendered through Jinja
    once for every message that shares ``context`` (e.g. a bulk job's award emails): the
    ``slots`` (names, links) are put into the rendered text, escaped in the HTML body as Jinja
    escapes them.

    Only plain ``{{ slot }}`` outputs can be filled in so; a plan is checked against Jinja's own
    rendering of its first message and, if they differ, not used (every message of that kind
    and context is then rendered through Jinja).
    """
    values = [v for v in slots.values() if v] + [v for v in context.values() if isinstance(v, str)]
    if any("\ue000" in v or "\ue001" in v for v in values):
        return render(kind, locale=locale, **context, **slots)
    # A value that is falsy changes which branches render; a truthy one only what is written.
    shape = tuple(
        sorted((name, bool(value), None if value else value) for name, value in slots.items())
    )
    key = (kind, locale, shape, tuple(sorted(context.items())))
    try:
        known = key in _plans
    except TypeError:  # a value of the context that cannot be a key: render it each time
        return render(kind, locale=locale, **context, **slots)
    # Read once into a local: another thread may clear the shared dict at any moment.
    plan = _plans.get(key) if known else None
    if not known:
        plan = _plan(kind, locale, slots, context)
        if len(_plans) >= _PLANS_KEPT:
            _plans.clear()
        _plans[key] = plan
    if plan is None:
        return render(kind, locale=locale, **context, **slots)
    return _fill(plan, slots)


def _fill(
    plan: tuple[list[str], list[str], list[str]], slots: dict[str, str | None]
) -> tuple[str, str, str]:
    """A plan's subject, text and HTML body with the slots' values (escaped in the HTML)."""
    # Only truthy slots are in a plan (a falsy one was rendered, not marked): each is escaped
    # once, however often the HTML body shows it.
    escaped = {name: str(escape(value)) for name, value in slots.items() if value}

    def filled(parts: list[str], values: dict[str, Any]) -> str:
        joined = parts[:]
        joined[1::2] = [values[name] for name in parts[1::2]]
        return "".join(joined)

    subject, text, html = plan
    return filled(subject, slots).strip(), filled(text, slots), filled(html, escaped)


def _plan(
    kind: str, locale: str, slots: dict[str, str | None], context: dict[str, Any]
) -> tuple[list[str], list[str], list[str]] | None:
    """The message rendered with a sentinel for each truthy slot, split at the sentinels (odd
    items name the slot); None when filling it in does not give what Jinja gives."""
    marked = {name: f"\ue000{name}\ue001" if value else value for name, value in slots.items()}
    context = dict(context, locale=locale)
    context.setdefault("image_url", None)
    plan = tuple(
        _SLOT.split(_templates.get_template(f"{kind}/{part}").render(context | marked))
        for part in ("subject.txt", "body.txt", "body.html")
    )
    subject, text, html = plan
    if any(name not in marked for parts in plan for name in parts[1::2]):
        return None  # a sentinel the template changed (``upper``, say)
    if _fill((subject, text, html), slots) != render(kind, **(context | slots)):
        return None
    return subject, text, html


def queue_template(
    kind: str,
    env: ServiceEnv,
    *,
    to: str,
    link: str,
    secret: bool,
    issuer_id: int | None = None,
    credential: IssuedCredential | None = None,
    secret_links: Sequence[str] = (),
    per_recipient: Sequence[str] = (),
    **context: Any,
) -> None:
    """Queue message ``kind`` (its templates filled in with ``link`` and ``context``) to ``to``.

    Its point is ``link``; a ``secret`` one (one that grants something to whoever holds it), and
    every one of ``secret_links``, is stored only encrypted until the message is sent, and not at
    all afterwards. ``per_recipient`` names the values of ``context`` that differ from one
    message to the next when many are queued alike (:func:`render_slotted`).
    """
    if per_recipient:
        slots = {name: context.pop(name) for name in per_recipient} | {"link": link}
        subject, text, html = render_slotted(
            kind, locale=env.settings.locale, slots=slots, **context
        )
    else:
        subject, text, html = render(kind, locale=env.settings.locale, link=link, **context)
    queue(
        to=to,
        subject=subject,
        text=text,
        html=html,
        kind=kind,
        env=env,
        issuer_id=issuer_id,
        credential=credential,
        secret_links=((link,) if secret else ()) + tuple(secret_links),
    )


def queue_account_link(
    *,
    to: str,
    name: str,
    link: str,
    purpose: str,
    hours: float,
    issuer_name: str | None,
    env: ServiceEnv,
) -> None:
    """Queue a password-reset (``reset``) or invitation (``invite``) link."""
    queue_template(
        "invite" if purpose == "invite" else "reset",
        env,
        to=to,
        link=link,
        secret=True,
        name=name,
        hours=hours,
        issuer_name=issuer_name,
    )


def sender(settings: MailSettings) -> tuple[str, str]:
    """The display name and address of ``MAIL_FROM`` (the name defaults to "Cairn").

    :raises ValueError: when ``MAIL_FROM`` holds no email address.
    """
    name, address = parseaddr(settings.sender or "")
    if "@" not in address:
        raise ValueError(f"MAIL_FROM is not an email address: {settings.sender!r}")
    return _one_line(name) or DEFAULT_SENDER_NAME, address


def compose(message: EmailMessage, settings: MailSettings, *, now: datetime) -> MimeMessage:
    """The MIME message for a queued one: text with an HTML alternative.

    Mail about an issuer's credentials shows the issuer's name ("District 7 PD via Cairn") with
    Cairn's own address (mail claiming the issuer's domain but sent by us would fail SPF and
    DMARC); replies go to the issuer's contact address. The Message-ID is derived from the row,
    so a retry after an ambiguous failure carries the same one and receivers can drop the
    repeat.

    :raises ValueError: when ``MAIL_FROM`` or an address cannot be used in a header, or
        (``UnreadableSecret``) the message's secret links cannot be decrypted.
    """
    name, address = sender(settings)
    local_part, domain = address.rsplit("@", 1)
    issuer = db.session.get(Issuer, message.issuer_id) if message.issuer_id else None
    mime = MimeMessage()
    display = _shorten(name, DISPLAY_NAME_LIMIT)
    if issuer is not None and issuer.name:
        via = f" via {display}"
        display = _shorten(issuer.name, DISPLAY_NAME_LIMIT - len(via)) + via
    mime["From"] = Address(display_name=display, username=local_part, domain=domain)
    mime["To"] = message.to_address
    if issuer is not None and issuer.email:
        try:
            mime["Reply-To"] = Address(
                display_name=_shorten(issuer.name, DISPLAY_NAME_LIMIT), addr_spec=issuer.email
            )
        except (ValueError, MessageError):
            # An unusable contact address costs the recipient a Reply-To, not the message.
            log.warning("issuer %s has an unusable contact email %r", issuer.id, issuer.email)
    mime["Subject"] = _one_line(message.subject)
    mime["Date"] = format_datetime(now)
    mime["Message-ID"] = f"<cairn.{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"
    # RFC 3834: an automatic message; well-behaved auto-responders do not answer it.
    mime["Auto-Submitted"] = "auto-generated"
    text, html = message.body_text, message.body_html
    for marker, link in open_links(message, settings).items():
        text = text.replace(marker, link)
        html = html.replace(marker, str(escape(link))) if html else html
    mime.set_content(text)
    if html:
        mime.add_alternative(html, subtype="html")
    return mime


def outbox_name(message: EmailMessage) -> str:
    """The name a message is delivered under (the development outbox's file name)."""
    return f"{message.created_at:%Y%m%dT%H%M%S}-{message.id:06d}-{message.kind}.eml"


def delivered_copy(transport: MailTransport, message: EmailMessage) -> bytes | None:
    """The message as the development outbox received it (with its links, which the database
    no longer holds once it is sent), or None when it was not delivered there."""
    return transport.delivered_copy(outbox_name(message))


def _claim(after: int) -> EmailMessage | None:
    """The next deliverable message after id ``after``, locked until the next commit.

    On PostgreSQL the row is selected ``FOR UPDATE SKIP LOCKED``: other processes delivering at
    the same time skip it rather than wait for it. SQLite has no row locks (SQLAlchemy leaves
    the clause out), so the claim below is an UPDATE, which takes the database's write lock; a
    competing process waits for it and then finds ``attempts`` changed. Either way the lock is
    held until ``sent_at`` is committed, so no one else can send the message meanwhile.
    """
    while True:
        message = db.session.scalars(
            select(EmailMessage)
            .where(_deliverable(), EmailMessage.id > after)
            .order_by(EmailMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).first()
        if message is None:
            return None
        claimed = cast(
            CursorResult[Any],
            db.session.execute(
                update(EmailMessage)
                .where(
                    EmailMessage.id == message.id,
                    EmailMessage.sent_at.is_(None),
                    EmailMessage.attempts == message.attempts,
                )
                .values(attempts=EmailMessage.attempts + 1)
                .execution_options(synchronize_session="fetch")
            ),
        )
        if claimed.rowcount == 1:
            return message
        db.session.rollback()  # another process sent it, or is sending it
        after = message.id


def _failed(message: EmailMessage, error: str) -> None:
    message.last_error = error[:500]
    if message.attempts >= MAX_ATTEMPTS:
        log.warning("giving up on email %s to %s: %s", message.id, message.to_address, error)
        redact(message)  # never sent, never to be: its links need not be kept either
    db.session.commit()


def _postponed(message: EmailMessage, error: str) -> None:
    """The mail server could not be reached: the error is kept, the attempt given back (the
    claim counted it), so waiting for the server never uses up a message's attempts."""
    message.last_error = error[:500]
    message.attempts = max(0, message.attempts - 1)
    db.session.commit()


def deliver_pending(env: ServiceEnv, *, limit: int | None = None) -> int:
    """Send queued messages through ``env.mail``, oldest first (at most ``limit``, default all);
    return how many went out.

    Each message is claimed, sent and marked sent in one transaction, so two runs (threads,
    processes, machines) never send the same message. A refused message records its error and
    is retried by later runs up to ``MAX_ATTEMPTS`` times; when mail cannot go out at all (server
    down, login refused, ``MAIL_FROM`` unusable) the run stops after recording the error on the
    first message, so an outage does not use up every queued message's attempts. A server that
    cannot be reached at all (:class:`Unreachable`) costs no attempt: the maintenance loop tries
    again every few seconds, and mail waits for the server however long it is down.
    """
    now, settings = env.now, env.mail_settings
    connection = env.mail.connect()
    try:
        sender(settings)
        broken = None
    except ValueError as exc:
        broken = str(exc)
    sent = attempted = 0
    after = 0
    try:
        while limit is None or attempted < limit:
            message = _claim(after)
            if message is None:
                break
            after = message.id
            attempted += 1
            if broken:
                _failed(message, broken)
                break
            try:
                mime = compose(message, settings, now=now)
            except (ValueError, MessageError) as exc:
                _failed(message, f"cannot compose the message: {exc}")
                continue
            try:
                connection.send(mime, outbox_name(message))
            except Refused as exc:
                _failed(message, str(exc))
                continue
            except Unreachable as exc:
                _postponed(message, str(exc))
                break
            except Unavailable as exc:
                _failed(message, str(exc))
                break
            # Committed straight after the server accepted the message: this is what stops a
            # second run from sending it again.
            message.sent_at = now
            message.last_error = None
            # In the same commit: the link was handed over, and the database forgets it.
            redact(message)
            db.session.commit()
            sent += 1
    except BaseException:
        db.session.rollback()  # never leave a claim (and its lock) open after an error
        raise
    finally:
        connection.close()
    return sent


def deliver_soon(env: ServiceEnv) -> None:
    """Deliver queued mail without making the request wait, on the application's job runner
    (inline in tests, an RQ worker when Redis is configured, otherwise a thread)."""
    jobs.submit(env, jobs.DELIVER_EMAIL)


def pending_count() -> int:
    """How many messages wait to be sent (not counting those that failed for good)."""
    count = db.session.scalar(select(func.count()).select_from(EmailMessage).where(_deliverable()))
    return count or 0


def status(message: EmailMessage) -> str:
    """``sent``, ``failed`` (for good), ``retrying`` or ``queued``."""
    if message.sent_at is not None:
        return "sent"
    if message.attempts >= MAX_ATTEMPTS:
        return "failed"
    return "retrying" if message.attempts or message.last_error else "queued"


def outbox(limit: int = 100) -> list[EmailMessage]:
    """The latest messages, newest first (the development outbox page)."""
    return list(
        db.session.scalars(select(EmailMessage).order_by(EmailMessage.id.desc()).limit(limit))
    )
