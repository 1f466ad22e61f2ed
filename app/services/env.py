"""The collaborators every service call receives, bundled: key store, JSON-LD loader, public
origin, mail transport and job runner (chosen once in ``app.wiring``), and the time of the
request."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from app.infrastructure.jobs import JobRunner
from app.infrastructure.mail import MailSettings, MailTransport
from credentials import DocumentLoader
from keys import KeyStore


@dataclass(frozen=True)
class ServiceEnv:
    """What a service needs from outside the database. ``now`` is fixed per call, so every row
    and signature of one operation carries the same time."""

    keystore: KeyStore
    loader: DocumentLoader
    base_url: str
    now: datetime
    #: Where mail goes, and the settings the email service needs (sender, link-sealing key).
    mail: MailTransport
    mail_settings: MailSettings
    #: Where background jobs run.
    jobs: JobRunner

    @property
    def did_host(self) -> str:
        """The host part of did:web identifiers (a port is written ``%3A<port>``)."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or "localhost"
        return f"{host}%3A{parts.port}" if parts.port else host

    def at(self, now: datetime) -> ServiceEnv:
        """The same collaborators at another time."""
        return replace(self, now=now)
