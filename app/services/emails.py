"""Email: queued with what caused it, delivered later by SMTP or into a development outbox.

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
import json
import logging
import os
import re
import secrets
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app
from markupsafe import Markup, escape
from sqlalchemy import CursorResult, func, select, update

from app.extensions import db
from app.models import AchievementVersion, EmailMessage, IssuedCredential, Issuer
from app.services.env import ServiceEnv
from app.services.errors import required

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SUBJECT_LIMIT = 300  # the width of ``EmailMessage.subject``
DISPLAY_NAME_LIMIT = 60  # a quoted name this long still fits on the first line of its header
DEFAULT_SENDER_NAME = "Cairn"
SECURITY_MODES = ("starttls", "ssl", "none")
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


def _cipher(config: Any) -> AESGCM:
    """AES-256-GCM under a key derived from ``SECRET_KEY`` for this purpose alone."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SECRET_KDF_INFO).derive(
        str(config["SECRET_KEY"]).encode("utf-8")
    )
    return AESGCM(key)


def _bound_to(to: str) -> bytes:
    # Associated data: a ciphertext copied onto a message to someone else does not decrypt,
    # so write access to the table cannot redirect a link to another mailbox.
    return b"cairn email to " + to.encode("utf-8")


def seal_links(links: dict[str, str], to: str, config: Any) -> str:
    """``links`` (marker to link) encrypted for a message to ``to``."""
    nonce = os.urandom(12)
    sealed = _cipher(config).encrypt(nonce, json.dumps(links).encode("utf-8"), _bound_to(to))
    return CIPHERTEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_links(message: EmailMessage, config: Any) -> dict[str, str]:
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
        plain = _cipher(config).decrypt(raw[:12], raw[12:], _bound_to(message.to_address))
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
    now: datetime,
    issuer_id: int | None = None,
    credential: IssuedCredential | None = None,
    secret_links: Sequence[str] = (),
) -> EmailMessage:
    """Add a message to the session (sent after the surrounding transaction commits).

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
            html = html.replace(str(escape(link)), marker).replace(link, marker)
    message = EmailMessage(
        issuer_id=issuer_id,
        kind=kind,
        to_address=to,
        subject=subject,
        body_text=text,
        body_html=html,
        secret=seal_links(markers, to, current_app.config) if markers else None,
        credential=credential,
        created_at=now,
        attempts=0,
    )
    db.session.add(message)
    return message


def _html_document(
    paragraphs: list[str], link: str, link_text: str, *, image_url: str | None = None
) -> str:
    """A small HTML body: every value is escaped; the styles are inline because mail clients
    ignore style sheets."""
    image = (
        Markup('<p><img src="{}" alt="" width="120" height="120"></p>').format(image_url)
        if image_url
        else Markup("")
    )
    body = Markup("").join(Markup("<p>{}</p>").format(p) for p in paragraphs)
    button = Markup(
        '<p><a href="{}" style="display: inline-block; padding: 10px 16px; border-radius: 6px; '
        'background: #2f6f6a; color: #ffffff; text-decoration: none">{}</a></p>'
    ).format(link, link_text)
    plain_link = Markup('<p style="color: #5b6b70; font-size: 13px">{}</p>').format(link)
    return str(
        Markup(
            '<!doctype html><html><head><meta charset="utf-8"></head>'
            '<body style="font-family: sans-serif; line-height: 1.5; color: #1f2a2e">'
        )
        + image
        + body
        + button
        + plain_link
        + Markup("</body></html>")
    )


def _text_document(paragraphs: list[str], link: str, link_text: str) -> str:
    return "\n\n".join([*paragraphs, f"{link_text}: {link}"]) + "\n"


def _credential_url(credential: IssuedCredential, env: ServiceEnv) -> str:
    from app.services import issuing  # issuing imports this module

    return issuing.credential_url(credential.id, env)


def queue_award(
    credential: IssuedCredential, issuer: Issuer, version: AchievementVersion, env: ServiceEnv
) -> None:
    """Tell a recipient about a new credential: the link is the credential's public URL, and a
    second, secret link lets the earner make it private or download it."""
    from app.services import visibility

    link = _credential_url(credential, env)
    manage = visibility.issue_manage_link(credential, env)
    greeting = f"Hello {credential.recipient_name}," if credential.recipient_name else "Hello,"
    paragraphs = [
        greeting,
        f"{issuer.name} has awarded you the credential “{version.name}”.",
        "Your credential is a signed Open Badges 3.0 credential. From its page you can download "
        "it as a badge image or a certificate, add it to LinkedIn, or share its link; anyone "
        "can check it is genuine.",
    ]
    if credential.valid_until is not None:
        paragraphs.append(f"It is valid until {credential.valid_until:%d %B %Y}.")
    image_url = None
    if version.image is not None and version.image.media_type == "image/png":
        # Many mail clients do not show SVG, so only a PNG badge is shown inline.
        from app.services import issuers

        image_url = issuers.image_url(version.image, env)
    days = visibility.manage_link_days()
    keep = (
        "Its private link lets you hide the credential's public page (or show it again) and "
        f"download it, for {days} days; do not share that link. Afterwards, ask for a new one on "
        "the credential's page"
    )
    text_paragraphs = [*paragraphs, f"{keep}: {manage}"]
    html_paragraphs = [
        *paragraphs,
        Markup('{}: <a href="{}">manage your credential</a>.').format(keep, manage),
    ]
    queue(
        to=credential.recipient_email,
        subject=f"You have earned “{version.name}” from {issuer.name}",
        text=_text_document(text_paragraphs, link, "View your credential"),
        html=_html_document(html_paragraphs, link, "View your credential", image_url=image_url),
        kind="award",
        now=env.now,
        issuer_id=issuer.id,
        credential=credential,
        secret_links=(manage,),
    )


def queue_expiry_notice(
    credential: IssuedCredential, issuer: Issuer, version: AchievementVersion, env: ServiceEnv
) -> None:
    """Tell a recipient their credential expires soon."""
    expires = required(credential.valid_until, "This credential does not expire.")
    link = _credential_url(credential, env)
    paragraphs = [
        f"Hello {credential.recipient_name}," if credential.recipient_name else "Hello,",
        f"Your credential “{version.name}” from {issuer.name} expires on {expires:%d %B %Y}.",
        f"If you need it renewed, contact {issuer.name}"
        + (f" at {issuer.email}." if issuer.email else "."),
    ]
    queue(
        to=credential.recipient_email,
        subject=f"“{version.name}” from {issuer.name} expires on {expires:%d %B %Y}",
        text=_text_document(paragraphs, link, "View your credential"),
        html=_html_document(paragraphs, link, "View your credential"),
        kind="expiry",
        now=env.now,
        issuer_id=issuer.id,
        credential=credential,
    )


def queue_link_message(
    *,
    to: str,
    subject: str,
    paragraphs: list[str],
    link: str,
    link_text: str,
    kind: str,
    now: datetime,
    secret: bool,
    issuer_id: int | None = None,
) -> EmailMessage:
    """Queue a short message whose point is one link (sign-in, confirmations, invitations).
    A ``secret`` link (one that grants something to whoever holds it) is stored only
    encrypted until the message is sent, and not at all afterwards."""
    return queue(
        to=to,
        subject=subject,
        text=_text_document(paragraphs, link, link_text),
        html=_html_document(paragraphs, link, link_text),
        kind=kind,
        now=now,
        issuer_id=issuer_id,
        secret_links=(link,) if secret else (),
    )


def queue_account_link(
    *,
    to: str,
    name: str,
    link: str,
    purpose: str,
    hours: float,
    issuer_name: str | None,
    now: datetime,
) -> None:
    """Queue a password-reset (``reset``) or invitation (``invite``) link."""
    if purpose == "invite":
        where = f" for {issuer_name}" if issuer_name else ""
        subject = f"You are invited to Cairn{where}"
        paragraphs = [
            f"Hello {name},",
            f"You have been invited to issue credentials with Cairn{where}. Open the link to "
            "accept or decline: with a Cairn account you already have, sign in with it; "
            "otherwise choose a password.",
            f"The link works once and expires in {hours:g} hours.",
        ]
        link_text = "Accept the invitation"
    else:
        subject = "Reset your Cairn password"
        paragraphs = [
            f"Hello {name},",
            "Someone (hopefully you) asked to reset your Cairn password. If it was not you, ignore "
            "this message: your password stays as it is.",
            f"The link works once and expires in {hours:g} hours.",
        ]
        link_text = "Choose a new password"
    queue(
        to=to,
        subject=subject,
        text=_text_document(paragraphs, link, link_text),
        html=_html_document(paragraphs, link, link_text),
        kind=purpose,
        now=now,
        secret_links=(link,),
    )


def sender(config: Any) -> tuple[str, str]:
    """The display name and address of ``MAIL_FROM`` (the name defaults to "Cairn").

    :raises ValueError: when ``MAIL_FROM`` holds no email address.
    """
    name, address = parseaddr(config.get("MAIL_FROM") or "")
    if "@" not in address:
        raise ValueError(f"MAIL_FROM is not an email address: {config.get('MAIL_FROM')!r}")
    return _one_line(name) or DEFAULT_SENDER_NAME, address


def compose(message: EmailMessage, config: Any, *, now: datetime) -> MimeMessage:
    """The MIME message for a queued one: text with an HTML alternative.

    Mail about an issuer's credentials shows the issuer's name ("District 7 PD via Cairn") with
    Cairn's own address (mail claiming the issuer's domain but sent by us would fail SPF and
    DMARC); replies go to the issuer's contact address. The Message-ID is derived from the row,
    so a retry after an ambiguous failure carries the same one and receivers can drop the
    repeat.

    :raises ValueError: when ``MAIL_FROM`` or an address cannot be used in a header, or
        (``UnreadableSecret``) the message's secret links cannot be decrypted.
    """
    name, address = sender(config)
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
    for marker, link in open_links(message, config).items():
        text = text.replace(marker, link)
        html = html.replace(marker, str(escape(link))) if html else html
    mime.set_content(text)
    if html:
        mime.add_alternative(html, subtype="html")
    return mime


def outbox_dir(app: Flask) -> Path:
    """Where development mail is written: ``OUTBOX_DIR``, else ``instance/outbox``."""
    configured = app.config.get("OUTBOX_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "outbox"


def _outbox_name(message: EmailMessage) -> str:
    return f"{message.created_at:%Y%m%dT%H%M%S}-{message.id:06d}-{message.kind}.eml"


def delivered_copy(app: Flask, message: EmailMessage) -> bytes | None:
    """The message as the development outbox received it (with its links, which the database
    no longer holds once it is sent), or None when it was not delivered there."""
    try:
        return (outbox_dir(app) / _outbox_name(message)).read_bytes()
    except OSError:
        return None


class _Refused(Exception):
    """The server refused this message; the connection is fine for the next one."""


class _Unavailable(Exception):
    """Mail cannot go out at all just now (server down, TLS or login failing, disk full):
    the rest of the batch waits for the next run instead of using up its attempts."""


class _Outbox:
    """Development transport: every message becomes an ``.eml`` file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, mime: MimeMessage, message: EmailMessage) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = _outbox_name(message)
            partial = self.folder / f".{name}.partial"
            partial.write_bytes(bytes(mime))
            # A rename is atomic: whoever watches the folder never opens half a message.
            os.replace(partial, self.folder / name)
        except OSError as exc:
            raise _Unavailable(f"cannot write to the outbox {self.folder}: {exc}") from exc

    def close(self) -> None:
        """Nothing to close."""


class _Smtp:
    """SMTP transport: one connection for the whole batch, opened on first use."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.client: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        ca_file = self.config.get("SMTP_CA_FILE")
        if ca_file:
            # A private CA (or a self-signed server certificate), trusted besides the system's.
            context.load_verify_locations(cafile=ca_file)
        return context

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        host = config["SMTP_HOST"]
        port = int(config.get("SMTP_PORT") or 587)
        timeout = float(config.get("SMTP_TIMEOUT") or 10)
        security = config.get("SMTP_SECURITY") or "starttls"
        if security not in SECURITY_MODES:
            # Never fall back to plain text because of a typo.
            raise _Unavailable(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")
        # Say our public host name in EHLO; the default, socket.getfqdn(), can stall on DNS.
        local_hostname = urlsplit(config.get("BASE_URL") or "").hostname or "localhost"
        client: smtplib.SMTP
        try:
            if security == "ssl":
                client = smtplib.SMTP_SSL(
                    host,
                    port,
                    local_hostname=local_hostname,
                    timeout=timeout,
                    context=self._context(),
                )
            else:
                client = smtplib.SMTP(host, port, local_hostname=local_hostname, timeout=timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise _Unavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            if security == "starttls":
                # Fails with SMTPNotSupportedError when the server offers no STARTTLS: the
                # message and any password never travel in plain text by accident.
                client.starttls(context=self._context())
            if config.get("SMTP_USERNAME"):
                client.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        except (OSError, smtplib.SMTPException) as exc:
            client.close()
            raise _Unavailable(f"{type(exc).__name__}: {exc}") from exc
        return client

    def _alive(self, client: smtplib.SMTP) -> bool:
        # A server may drop an idle connection or limit messages per connection; finding out
        # before a message is sent means a failure is never ambiguous about delivery.
        try:
            return client.noop()[0] == 250
        except (OSError, smtplib.SMTPException):
            return False

    def send(self, mime: MimeMessage, message: EmailMessage) -> None:
        if self.client is not None and not self._alive(self.client):
            self.close()
        if self.client is None:
            self.client = self._connect()
        try:
            self.client.send_message(mime)
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError,
            # This message needs something the server lacks (e.g. SMTPUTF8 for its address).
            smtplib.SMTPNotSupportedError,
            ValueError,
        ) as exc:
            raise _Refused(f"{type(exc).__name__}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise _Unavailable(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Say goodbye; a failing QUIT changes nothing about what was sent."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            client.close()


class _Unconfigured:
    """Production without ``SMTP_HOST`` (``check_config`` refuses to start like that)."""

    def send(self, mime: MimeMessage, message: EmailMessage) -> None:
        raise _Unavailable("no SMTP server is configured")

    def close(self) -> None:
        """Nothing to close."""


def _transport(app: Flask) -> _Outbox | _Smtp | _Unconfigured:
    if app.config.get("SMTP_HOST"):
        return _Smtp(app.config)
    if app.config["ENV"] == "production":
        return _Unconfigured()
    return _Outbox(outbox_dir(app))


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


def deliver_pending(app: Flask, *, now: datetime, limit: int | None = None) -> int:
    """Send queued messages, oldest first (at most ``limit``, default all); return how many
    went out.

    Each message is claimed, sent and marked sent in one transaction, so two runs (threads,
    processes, machines) never send the same message. A refused message records its error and
    is retried by later runs up to ``MAX_ATTEMPTS`` times; when mail cannot go out at all (server
    down, login refused, ``MAIL_FROM`` unusable) the run stops after recording the error on the
    first message, so an outage does not use up every queued message's attempts.
    """
    transport = _transport(app)
    try:
        sender(app.config)
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
                mime = compose(message, app.config, now=now)
            except (ValueError, MessageError) as exc:
                _failed(message, f"cannot compose the message: {exc}")
                continue
            try:
                transport.send(mime, message)
            except _Refused as exc:
                _failed(message, str(exc))
                continue
            except _Unavailable as exc:
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
        transport.close()
    return sent


def deliver_soon() -> None:
    """Deliver queued mail without making the request wait: inline in tests, on an RQ worker
    when Redis is configured, otherwise on a short-lived thread."""
    from app.services import jobs

    jobs.submit("deliver_email")


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
    return "retrying" if message.attempts else "queued"


def outbox(limit: int = 100) -> list[EmailMessage]:
    """The latest messages, newest first (the development outbox page)."""
    return list(
        db.session.scalars(select(EmailMessage).order_by(EmailMessage.id.desc()).limit(limit))
    )


def config_summary() -> dict[str, Any]:
    """Where mail goes, for the outbox page."""
    config = current_app.config
    return {
        "smtp_host": config.get("SMTP_HOST"),
        "smtp_port": config.get("SMTP_PORT"),
        "smtp_security": config.get("SMTP_SECURITY"),
        "outbox": str(outbox_dir(current_app)),
    }
