"""Mail transports: what hands a composed message to the world. SMTP (with STARTTLS, implicit
TLS or, only when told, plain text), a development outbox folder of ``.eml`` files, and the
transport of a production instance with no SMTP server (it refuses every message, so mail
stays queued). ``app.wiring`` chooses one from the configuration; the email service only sees
:class:`MailTransport`.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Protocol

SECURITY_MODES = ("starttls", "ssl", "none")


class Refused(Exception):
    """The server refused this message; the connection is fine for the next one."""


class Unavailable(Exception):
    """Mail cannot go out at all just now (server down, TLS or login failing, disk full):
    the rest of the batch waits for the next run instead of using up its attempts."""


class Unreachable(Unavailable):
    """The mail server could not be reached or would not let Cairn in (connection, TLS or
    login failed) before any message was handed over: nothing about a message is known, so
    the message keeps its attempts (an outage of any length loses no mail)."""


class MailConnection(Protocol):
    """One batch of deliveries (an SMTP connection is opened on first use and kept)."""

    def send(self, mime: MimeMessage, name: str) -> None:
        """Hand over ``mime`` (``name`` identifies it, e.g. as a file name).

        :raises Refused: when this message was refused (the next one may go).
        :raises Unavailable: when no message can go out just now.
        """

    def close(self) -> None:
        """End the batch; never raises."""


class MailTransport(Protocol):
    """Where mail goes."""

    def connect(self) -> MailConnection:
        """Start a batch of deliveries (nothing is opened until the first message)."""

    def delivered_copy(self, name: str) -> bytes | None:
        """The message ``name`` as this transport delivered it, when it keeps a copy (the
        development outbox does); else None."""


@dataclass(frozen=True)
class MailSettings:
    """What the email service needs from the configuration besides a transport."""

    #: ``MAIL_FROM``: the sender, "Name <address>" (checked when mail is sent).
    sender: str | None
    #: ``SECRET_KEY``: the key that seals secret links in waiting mail is derived from it.
    secret_key: str


# --- Development outbox ---------------------------------------------------------------------


class OutboxTransport:
    """Development transport: every message becomes an ``.eml`` file in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def connect(self) -> OutboxTransport:
        return self

    def send(self, mime: MimeMessage, name: str) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f".{name}.partial"
            partial.write_bytes(bytes(mime))
            # A rename is atomic: whoever watches the folder never opens half a message.
            os.replace(partial, self.folder / name)
        except OSError as exc:
            raise Unavailable(f"cannot write to the outbox {self.folder}: {exc}") from exc

    def close(self) -> None:
        """Nothing to close."""

    def delivered_copy(self, name: str) -> bytes | None:
        try:
            return (self.folder / name).read_bytes()
        except OSError:
            return None


# --- Production without a mail server -------------------------------------------------------


class UnconfiguredTransport:
    """Production without ``SMTP_HOST`` (``check_config`` refuses to start like that): every
    message stays queued, with the reason recorded."""

    def connect(self) -> UnconfiguredTransport:
        return self

    def send(self, mime: MimeMessage, name: str) -> None:
        raise Unreachable("no SMTP server is configured")

    def close(self) -> None:
        """Nothing to close."""

    def delivered_copy(self, name: str) -> bytes | None:
        return None


# --- SMTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    """The ``SMTP_*`` settings."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 10
    #: A private CA (or a self-signed server certificate), trusted besides the system's.
    ca_file: str | None = None
    #: Our public host name, said in EHLO (the default, socket.getfqdn(), can stall on DNS).
    local_hostname: str = "localhost"


class SmtpTransport:
    """SMTP: one connection per batch of deliveries."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def connect(self) -> SmtpConnection:
        return SmtpConnection(self.settings)

    def delivered_copy(self, name: str) -> bytes | None:
        return None


class SmtpConnection:
    """One batch: the connection is opened on first use and kept while the server answers."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.client: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.ca_file:
            context.load_verify_locations(cafile=self.settings.ca_file)
        return context

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.security not in SECURITY_MODES:
            # Never fall back to plain text because of a typo.
            raise Unreachable(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")
        client: smtplib.SMTP
        try:
            if settings.security == "ssl":
                client = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    local_hostname=settings.local_hostname,
                    timeout=settings.timeout,
                    context=self._context(),
                )
            else:
                client = smtplib.SMTP(
                    settings.host,
                    settings.port,
                    local_hostname=settings.local_hostname,
                    timeout=settings.timeout,
                )
        except (OSError, smtplib.SMTPException) as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        try:
            if settings.security == "starttls":
                # Fails with SMTPNotSupportedError when the server offers no STARTTLS: the
                # message and any password never travel in plain text by accident.
                client.starttls(context=self._context())
            if settings.username:
                client.login(settings.username, settings.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            client.close()
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        return client

    def _alive(self, client: smtplib.SMTP) -> bool:
        # A server may drop an idle connection or limit messages per connection; finding out
        # before a message is sent means a failure is never ambiguous about delivery.
        try:
            return client.noop()[0] == 250
        except (OSError, smtplib.SMTPException):
            return False

    def send(self, mime: MimeMessage, name: str) -> None:
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
            raise Refused(f"{type(exc).__name__}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc

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
