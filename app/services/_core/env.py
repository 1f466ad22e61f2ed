"""The collaborators every service call receives, bundled: key store, JSON-LD loader, public
origin, clock, mail transport, job runner and the settings services read (all chosen once in
``app.wiring``), and the time of the request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app.infrastructure.jobs import JobRunner
from app.infrastructure.mail import MailSettings, MailTransport
from app.services._core.formatting import DEFAULT_LOCALE
from credentials import DocumentLoader
from keys import KeyStore


@dataclass
class ReadStore:
    """One application's remembered reads (``shared_reads``): (version, value, until) by what."""

    entries: dict[Hashable, tuple[bytes, Any, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class SharedReads:
    """A store and the version current when the request began (``shared_reads``)."""

    store: ReadStore
    version: bytes


@dataclass(frozen=True)
class ServiceSettings:
    """The configuration services read, frozen: services never look at the Flask config."""

    #: The application's secret: it seals the secret links kept in queued mail.
    secret_key: str
    #: The ``From`` of outgoing mail (``None``: "Cairn <no-reply@host>").
    mail_from: str | None = None
    #: How long a holder's manage link and a partner's review link stay usable.
    manage_link_days: int = 90
    partner_link_days: int = 30
    #: How many days before expiry the "expiring soon" notice goes out.
    expiry_warning_days: int = 30
    #: Bulk jobs: rows signed per chunk, how long a worker's lease lasts without a heartbeat,
    #: and how many processes sign (0: in the worker's own process).
    bulk_chunk_size: int = 250
    bulk_lease_seconds: float = 20.0
    signing_processes: int = 0
    #: Helper jobs a bulk job's coordinator queues on PostgreSQL, so that other workers issue
    #: chunks of the same job (``BULK_SHARES``; 0 without Redis).
    bulk_shares: int = 0
    #: Hosts (``host`` or ``host:port``) webhook endpoints may use although they are private
    #: addresses or plain http: local receivers in development and tests only.
    webhook_allowed_hosts: tuple[str, ...] = ()
    #: The same for the OB 3.0 hosts an educator connects Cairn to (``OB_HOSTS_ALLOWED``).
    ob_hosts_allowed: tuple[str, ...] = ()
    #: How mail writes dates (Babel locale): the application's default, until a recipient's own
    #: language is known.
    locale: str = DEFAULT_LOCALE

    @property
    def mail(self) -> MailSettings:
        """What the email service needs: the sender and the link-sealing key."""
        return MailSettings(sender=self.mail_from, secret_key=self.secret_key)


@dataclass(frozen=True)
class ServiceEnv:
    """What a service needs from outside the database. ``now`` is fixed per call, so every row
    and signature of one operation carries the same time; ``clock`` tells the time again for
    work that runs long (a bulk job's heartbeat)."""

    keystore: KeyStore
    loader: DocumentLoader
    base_url: str
    now: datetime
    clock: Callable[[], datetime]
    #: Where mail goes.
    mail: MailTransport
    #: Where background jobs run.
    jobs: JobRunner
    settings: ServiceSettings
    #: Reads a batch of awards may take from earlier transactions (``shared_reads``; given by
    #: the API, which knows the version they must have been stored under). None: read them.
    shared_reads: SharedReads | None = None

    @property
    def mail_settings(self) -> MailSettings:
        """The settings the email service needs (sender, link-sealing key)."""
        return self.settings.mail

    @property
    def did_host(self) -> str:
        """The host part of did:web identifiers (a port is written ``%3A<port>``)."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or "localhost"
        return f"{host}%3A{parts.port}" if parts.port else host

    def at(self, now: datetime) -> ServiceEnv:
        """The same collaborators at another time."""
        return replace(self, now=now)

    def later(self) -> ServiceEnv:
        """The same collaborators at the clock's time now."""
        return replace(self, now=self.clock())
