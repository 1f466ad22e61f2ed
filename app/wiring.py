"""Composition root: builds the collaborators services receive (key store, JSON-LD loader,
clock, fetcher) from the configuration, once per application."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app

from app.fetch import SafeFetcher
from app.services.env import ServiceEnv
from credentials import DocumentLoader
from keys import DEFAULT_KDF, TEST_ONLY_KDF, CachingKeyStore, EncryptedFileStore, KeyStore

_KEY = "cairn.wiring"


class Wiring:
    """The collaborators of one application."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        keys_dir = Path(config["KEYS_DIR"])
        if config.get("KEYSTORE") is not None:
            # Tests may hand in a store of their own (e.g. an in-memory one).
            self.keystore: KeyStore = config["KEYSTORE"]
        else:
            # check_config allows the cheap parameters only in testing.
            kdf = TEST_ONLY_KDF if config.get("KEY_KDF_FOR_TESTS") else DEFAULT_KDF
            self.keystore = CachingKeyStore(
                EncryptedFileStore(keys_dir, config["KEY_PASSPHRASE"].encode("utf-8"), kdf=kdf)
            )
        self.loader = DocumentLoader()
        self.base_url: str = config["BASE_URL"].rstrip("/")
        self.fetcher = SafeFetcher()
        self.clock = config.get("CLOCK") or (lambda: datetime.now(UTC))


def init_app(app: Flask) -> None:
    """Build the wiring for ``app``."""
    app.extensions[_KEY] = Wiring(app)


def wiring() -> Wiring:
    """The current application's wiring."""
    found: Wiring = current_app.extensions[_KEY]
    return found


def keystore() -> KeyStore:
    """The key store (decrypted keys cached in memory)."""
    return wiring().keystore


def document_loader() -> DocumentLoader:
    """The application's offline JSON-LD loader (its processed-context cache is shared)."""
    return wiring().loader


def utcnow() -> datetime:
    """Now, timezone-aware (tests can fix the clock with the ``CLOCK`` setting)."""
    now: datetime = wiring().clock()
    return now


def base_url() -> str:
    """The public origin, without a trailing slash."""
    return wiring().base_url


def host_for_did() -> str:
    """The host (with ``%3A``-encoded port) used in did:web identifiers."""
    parts = urlsplit(base_url())
    host = parts.hostname or "localhost"
    return f"{host}%3A{parts.port}" if parts.port else host


def service_env() -> ServiceEnv:
    """The collaborators for one service call, at the current time."""
    state = wiring()
    return ServiceEnv(
        keystore=state.keystore, loader=state.loader, base_url=state.base_url, now=utcnow()
    )


def signing_processes() -> int:
    """How many processes sign bulk chunks: ``SIGNING_PROCESSES``, else one per core (none in
    tests, where starting interpreters would cost more than it saves)."""
    configured = current_app.config.get("SIGNING_PROCESSES")
    if configured is not None:
        return int(configured)
    if current_app.config["ENV"] == "testing":
        return 0
    return os.cpu_count() or 1


def fetcher() -> Any:
    """The fetcher for untrusted URLs (status lists, DID documents of other issuers)."""
    return wiring().fetcher
