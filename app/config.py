"""Configuration: safe development defaults, ``CAIRN_*`` environment variables, and the checks
that stop a production instance from starting with a missing or unsafe setting.

Settings (environment spelling; inside Flask the ``CAIRN_`` prefix is dropped):

* ``CAIRN_ENV``: ``development``, ``production`` (the default) or ``testing``.
* ``CAIRN_BASE_URL``: the public origin, e.g. ``https://badges.example.org``; every credential
  id, DID and status-list URL is derived from it.
* ``CAIRN_DATABASE_URL``: SQLAlchemy URL (default: SQLite under ``instance/``).
* ``CAIRN_SECRET_KEY``: signs sessions and CSRF tokens.
* ``CAIRN_KEY_PASSPHRASE``: encrypts issuers' private keys at rest. It must differ from the
  secret key, so leaking one does not unlock the other, and be hard to guess: at least 80 bits
  by the zxcvbn estimate (:mod:`keys.passphrase`), checked in production and development.
* ``CAIRN_KEYS_DIR``: where encrypted keys live (default ``instance/keys``).
* ``CAIRN_SMTP_HOST``, ``CAIRN_SMTP_PORT``, ``CAIRN_SMTP_USERNAME``, ``CAIRN_SMTP_PASSWORD``,
  ``CAIRN_SMTP_SECURITY`` (``starttls``, ``ssl`` or ``none``), ``CAIRN_SMTP_CA_FILE`` (an extra
  CA to trust), ``CAIRN_MAIL_FROM``; without an SMTP host, development mail goes to
  ``CAIRN_OUTBOX_DIR`` (default ``instance/outbox``).
* ``CAIRN_SIGNING_PROCESSES``: processes that sign bulk awards (default: one per core).
* ``CAIRN_BULK_SHARES``: helper jobs a bulk job queues so that other workers issue it too, on
  PostgreSQL (default: 7 with ``CAIRN_REDIS_URL``, else 0).
* ``CAIRN_MANAGE_LINK_DAYS``: how long the earner's manage link (mailed with an award) works
  (default 90); ``CAIRN_MANAGE_LINK_EMAIL_RATE_LIMIT``: new manage links one credential may be
  sent (default ``3 per hour``).
* ``CAIRN_PARTNER_LINK_DAYS``: how long a learning partner's invitation works (default 30).
* ``CAIRN_REDIS_URL``: run background jobs on RQ workers (``cairn worker``) and keep rate limits
  in Redis; without it jobs run in-process and rate limits are counted in the database. Either
  way every worker process and machine shares one count; production refuses a per-process one.
* ``CAIRN_HSTS``: ``auto`` (the default: send Strict-Transport-Security whenever the base URL is
  https), ``on`` (the same, but refuse to start without https) or ``off``.
* ``CAIRN_WEBHOOK_ALLOWED_HOSTS``: hosts (``host`` or ``host:port``, separated by commas) that
  webhook endpoints may use although they are private addresses or plain http: local receivers
  in development and tests. Empty by default: deliveries go to public https addresses only.
* ``CAIRN_OB_HOSTS_ALLOWED``: the same for the OB 3.0 hosts an educator connects to (discovery,
  registration, tokens, pushes): local hosts in development and tests. Empty by default.
* ``CAIRN_LOG_FORMAT``: ``json`` (one JSON object per line; the default in production) or
  ``text`` (the default elsewhere); ``CAIRN_LOG_LEVEL``: ``INFO`` unless set (:mod:`app.logs`).
* ``CAIRN_METRICS_TOKEN``: the bearer token Prometheus sends to ``/metrics``; without it
  ``/metrics`` answers 404 (:mod:`app.ops`). At least 32 characters.
* ``CAIRN_PROXY_HOPS``: how many reverse proxies (TLS terminators, load balancers) stand in
  front of Cairn and set ``X-Forwarded-For`` and ``X-Forwarded-Proto`` (default 0: none). With
  one, rate limits and the audit log see the visitor's address rather than the proxy's. Never
  more than there are: a visitor could then choose the address Cairn sees.
* ``CAIRN_KEY_KDF_FOR_TESTS``: test suites only (refused outside ``CAIRN_ENV=testing``): write
  key files with the cheapest Argon2id parameters, as the suites create hundreds of stores.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from keys import passphrase_problem

ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message says which and how to fix it."""


DEFAULTS: dict[str, Any] = {
    "ENV": "production",
    "BASE_URL": None,
    "DATABASE_URL": None,
    "SECRET_KEY": None,
    "KEY_PASSPHRASE": None,
    "KEYS_DIR": None,
    "SMTP_HOST": None,
    "SMTP_PORT": 587,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_SECURITY": "starttls",
    "SMTP_TIMEOUT": 10,
    "SMTP_CA_FILE": None,
    "OUTBOX_DIR": None,
    "MAIL_FROM": None,
    "REDIS_URL": None,
    "HSTS": "auto",
    "KEY_KDF_FOR_TESTS": False,
    # Uploads: images and CSV files; larger requests are refused before they are read.
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    "MAX_IMAGE_BYTES": 2 * 1024 * 1024,
    "MAX_IMAGE_PIXELS": 4096 * 4096,
    # Educators' evidence files (module answers and portfolio items); under MAX_CONTENT_LENGTH.
    "MAX_EVIDENCE_BYTES": 5 * 1024 * 1024,
    "MAX_CSV_ROWS": 20_000,
    # Requests per API token (Flask-Limiter syntax, e.g. "600/minute;20000/day").
    "API_RATE_LIMIT": "600/minute",
    # The OB 3.0 API (app/obapi): registrations per network address (registration is open,
    # as the spec wants), and the policy pages its discovery document names (empty: Cairn's
    # own short pages at /privacy and /terms).
    "OB_API_REGISTRATION_RATE_LIMIT": "20 per hour",
    "OB_API_PRIVACY_POLICY_URL": "",
    "OB_API_TERMS_URL": "",
    "BULK_CHUNK_SIZE": 250,
    "BULK_LEASE_SECONDS": 20,
    # Processes that sign bulk chunks (None: one per core; 0 or 1: sign in the job's process).
    "SIGNING_PROCESSES": None,
    # Helper jobs a bulk job queues for other workers (None: 7 with Redis, else 0).
    "BULK_SHARES": None,
    "EXPIRY_WARNING_DAYS": 30,
    # Webhook receivers on private addresses or plain http (development and tests only).
    "WEBHOOK_ALLOWED_HOSTS": "",
    # OB 3.0 hosts on private addresses or plain http an educator may connect to (the same).
    "OB_HOSTS_ALLOWED": "",
    "LOGIN_RATE_LIMIT": "10 per minute",
    "LOGIN_EMAIL_RATE_LIMIT": "20 per hour",
    "RESET_EMAIL_RATE_LIMIT": "5 per hour",
    "PASSWORD_RESET_HOURS": 2,
    # Educators sign in by emailed link: how long a link works, and how many links one
    # address may be sent (each request sends mail, so every request counts).
    "EDUCATOR_LINK_MINUTES": 15,
    "EDUCATOR_SIGN_IN_EMAIL_RATE_LIMIT": "5 per hour",
    # Secret links that act without signing in: the earner's manage link (long enough to act
    # on an award at leisure; a new one is a form away) and a learning partner's invitation
    # (a partner confirms within weeks; the educator can invite again).
    "MANAGE_LINK_DAYS": 90,
    "MANAGE_LINK_EMAIL_RATE_LIMIT": "3 per hour",
    "PARTNER_LINK_DAYS": 30,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    # The cookie is sent again only when the session changes or its server row is touched (at
    # most once a minute, see ``find_session``). Refreshed on every answer, a slow response (a
    # badge preview image loading while the form is submitted) could land after the submit's
    # and put back the cookie from before it, losing what it flashed or signed in.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "WTF_CSRF_TIME_LIMIT": None,
    # Jobs run in a thread of the web process unless Redis is configured; tests run them inline.
    "JOBS_INLINE": False,
    # Logs (app/logs.py): None is json in production, text elsewhere.
    "LOG_FORMAT": None,
    "LOG_LEVEL": "INFO",
    # /metrics answers only a request bearing this token (None: /metrics is off, 404).
    "METRICS_TOKEN": None,
    # Reverse proxies in front of Cairn whose X-Forwarded-For/-Proto are believed (app/ops.py).
    "PROXY_HOPS": 0,
}


def _persisted_secret(instance: Path, name: str) -> str:
    """A random secret kept in ``instance/<name>`` (mode 0600): development only."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value)
    return value


def apply_defaults(config: dict[str, Any], instance: Path) -> None:
    """Fill the settings development and tests may leave out; production must set them."""
    env = config.get("ENV")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"CAIRN_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'cairn.sqlite3'}"
    if not config.get("KEYS_DIR"):
        config["KEYS_DIR"] = str(instance / "keys")
    if env == "production":
        return
    if not config.get("BASE_URL"):
        config["BASE_URL"] = "http://127.0.0.1:5000"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = (
            secrets.token_urlsafe(32)
            if env == "testing"
            else _persisted_secret(instance, "secret_key")
        )
    if not config.get("KEY_PASSPHRASE"):
        config["KEY_PASSPHRASE"] = (
            secrets.token_urlsafe(32)
            if env == "testing"
            else _persisted_secret(instance, "key_passphrase")
        )
    if not config.get("MAIL_FROM"):
        config["MAIL_FROM"] = "Cairn <badges@localhost>"


def check_config(config: dict[str, Any]) -> None:
    """Refuse to start with a missing or unsafe setting outside development and tests.

    :raises ConfigError: naming the setting and what it needs.
    """
    _check_base_url(config.get("BASE_URL"))
    _check_link_days(config)
    problems = _problems_anywhere(config)
    if config["ENV"] == "production":
        problems += _problems_in_production(config)
    if problems:
        raise ConfigError("Cairn cannot start:\n  - " + "\n  - ".join(problems))


def _check_base_url(base: str | None) -> None:
    """A set base URL must be a bare origin: it prefixes every id Cairn signs."""
    if not base:
        return
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(
            f"CAIRN_BASE_URL must be an origin like https://badges.example.org, not {base!r}"
        )


def _check_link_days(config: dict[str, Any]) -> None:
    for name in ("MANAGE_LINK_DAYS", "PARTNER_LINK_DAYS"):
        value = config.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
            raise ConfigError(f"CAIRN_{name} must be a whole number of days from 1 to 3650")


def _problems_anywhere(config: dict[str, Any]) -> list[str]:
    """What is refused in every environment."""
    problems = []
    base = config.get("BASE_URL")
    hsts = config.get("HSTS")
    if hsts not in ("auto", "on", "off"):
        problems.append("CAIRN_HSTS must be auto, on or off")
    elif hsts == "on" and not (base or "").startswith("https://"):
        problems.append("CAIRN_HSTS=on needs an https CAIRN_BASE_URL (browsers ignore it on http)")
    if config.get("LOG_FORMAT") not in (None, "json", "text"):
        problems.append("CAIRN_LOG_FORMAT must be json or text")
    token = config.get("METRICS_TOKEN")
    if token not in (None, "") and (not isinstance(token, str) or len(token) < 32):
        problems.append("CAIRN_METRICS_TOKEN must be at least 32 random characters")
    hops = config.get("PROXY_HOPS")
    if isinstance(hops, bool) or not isinstance(hops, int) or not 0 <= hops <= 5:
        problems.append("CAIRN_PROXY_HOPS must be a whole number from 0 to 5")
    if config.get("KEY_KDF_FOR_TESTS") and config["ENV"] != "testing":
        problems.append(
            "CAIRN_KEY_KDF_FOR_TESTS weakens key encryption: only for CAIRN_ENV=testing"
        )
    passphrase = config.get("KEY_PASSPHRASE") or ""
    if config["ENV"] == "development" and passphrase:
        # Development generates a strong one; a weak one set by hand is refused here too, so it
        # does not travel to production unnoticed.
        weak = passphrase_problem(passphrase, name="CAIRN_KEY_PASSPHRASE")
        if weak:
            problems.append(weak)
    return problems


def _problems_in_production(config: dict[str, Any]) -> list[str]:
    """What production needs besides: https, real secrets, a mail server, shared rate limits."""
    problems = []
    base = config.get("BASE_URL")
    if not base:
        problems.append("CAIRN_BASE_URL is not set (e.g. https://badges.example.org)")
    elif not base.startswith("https://"):
        problems.append("CAIRN_BASE_URL must use https in production (did:web needs it)")
    problems += _secret_problems(config)
    if not config.get("SMTP_HOST"):
        problems.append("CAIRN_SMTP_HOST is not set (award emails could not be sent)")
    if not config.get("MAIL_FROM"):
        problems.append("CAIRN_MAIL_FROM is not set (e.g. 'District PD <badges@example.org>')")
    if config.get("SMTP_SECURITY") not in ("starttls", "ssl", "none"):
        problems.append("CAIRN_SMTP_SECURITY must be starttls, ssl or none")
    problems.extend(_per_process_rate_limits(config))
    return problems


def _secret_problems(config: dict[str, Any]) -> list[str]:
    """The session secret and the key passphrase: set, strong, and not the same."""
    problems = []
    base = config.get("BASE_URL")
    passphrase = config.get("KEY_PASSPHRASE") or ""
    secret = config.get("SECRET_KEY") or ""
    if len(secret) < 32:
        problems.append("CAIRN_SECRET_KEY must be set to at least 32 random characters")
    if not passphrase:
        problems.append(
            "CAIRN_KEY_PASSPHRASE is not set (it encrypts the issuers' signing keys); "
            "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    else:
        host = urlsplit(base).hostname if base else None
        weak = passphrase_problem(
            passphrase, name="CAIRN_KEY_PASSPHRASE", user_inputs=(host or "").split(".")
        )
        if weak:
            problems.append(weak)
    if secret and secret == passphrase:
        problems.append("CAIRN_KEY_PASSPHRASE must differ from CAIRN_SECRET_KEY")
    return problems


def _per_process_rate_limits(config: dict[str, Any]) -> list[str]:
    """Settings that would let each worker process count rate limits on its own (so N workers
    would let N times every limit through), or stop counting when the storage fails."""
    problems = []
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if storage.startswith("memory:"):
        problems.append(
            "CAIRN_RATELIMIT_STORAGE_URI must not be memory:// (each worker would count on its "
            "own); leave it unset to count in the database, or set CAIRN_REDIS_URL"
        )
    if config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED") or config.get(
        "RATELIMIT_IN_MEMORY_FALLBACK"
    ):
        problems.append(
            "CAIRN_RATELIMIT_IN_MEMORY_FALLBACK(_ENABLED) must not be set: when the rate-limit "
            "storage fails, each worker would count on its own"
        )
    if config.get("RATELIMIT_SWALLOW_ERRORS"):
        problems.append(
            "CAIRN_RATELIMIT_SWALLOW_ERRORS must not be set: rate limits would stop holding "
            "whenever their storage fails"
        )
    return problems
