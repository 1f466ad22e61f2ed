"""The Cairn Flask application: ``create_app`` reads like a table of contents."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy.engine import Engine

# Flask, SQLAlchemy and the application's modules are imported inside the functions below, not
# here: every module under app/ imports this package first, and the library-level commands
# (`cairn sign`, `cairn verify`) need none of it (importing it all costs over a second).

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: defaults, then ``instance/config.py``, then ``CAIRN_*``
    environment variables, then ``overrides`` (tests); then check the result.

    :raises ConfigError: for a missing or unsafe setting outside development.
    """
    from flask import Flask

    from app import formatting, ops, wiring
    from app.config import DEFAULTS, apply_defaults, check_config
    from app.extensions import csrf, db, limiter, migrate
    from app.json_provider import CairnJSONProvider

    app = Flask(__name__, instance_relative_config=True)
    app.json = CairnJSONProvider(app)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CAIRN")
    if overrides:
        app.config.update(overrides)
    apply_defaults(app.config, Path(app.instance_path))
    check_config(app.config)
    _derived_settings(app)

    from app import models  # noqa: F401  (registers every model with the metadata)

    db.init_app(app)
    with app.app_context():
        tune_database(db.engine)
        if db.engine.dialect.name == "postgresql":
            from app.database import check_on_checkout

            check_on_checkout(db.engine)  # instead of pool_pre_ping (see _derived_settings)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    # First of the request hooks: request ids, the request log, and the probes and metrics
    # answered before sessions, CSRF and rate limits (app/ops.py).
    ops.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    wiring.init_app(app)
    formatting.init_app(app)

    _register_blueprints(app)
    from app import api, errors, security
    from app.public import documents

    api.init_app(app)

    errors.init_app(app)
    security.init_app(app)
    # Last, so it is the outermost layer: a machine's GET of a stored credential is answered
    # before Flask's per-request work (app/public/documents.py).
    documents.init_app(app)
    return app


def _derived_settings(app: Flask) -> None:
    from app import rate_limits

    config = app.config
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    postgresql = str(config["DATABASE_URL"]).startswith("postgresql")
    # PostgreSQL's connections are checked on checkout without a round trip when they were in
    # use a moment ago (app/database.py); pool_pre_ping paid one each time, several per award.
    engine_options: dict[str, Any] = {"pool_pre_ping": not postgresql}
    if postgresql:
        # psycopg prepares a statement run five times, and forgets every prepared statement
        # (``DEALLOCATE ALL``, one more round trip) after any ROLLBACK, which the pool issues
        # each time a connection is returned: under load that was a prepare, a rollback and a
        # DEALLOCATE ALL per request for nothing kept. Statements are sent unprepared.
        engine_options["connect_args"] = {"prepare_threshold": None}
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    secure = urlsplit(config["BASE_URL"]).scheme == "https"
    config["SESSION_COOKIE_SECURE"] = secure
    config["SESSION_COOKIE_NAME"] = "__Host-cairn" if secure else "cairn_session"
    config["PREFERRED_URL_SCHEME"] = "https" if secure else "http"
    # HSTS: by default whenever the public URL is https (check_config refuses "on" without it).
    config["HSTS_ON"] = secure and config.get("HSTS", "auto") != "off"
    # Shared by every worker and machine (Redis, else the database); an operator may name
    # another shared storage, and check_config refuses per-process memory in production.
    storage = config.get("RATELIMIT_STORAGE_URI") or rate_limits.storage_uri(config)
    config["RATELIMIT_STORAGE_URI"] = storage
    config["RATELIMIT_ENABLED"] = config.get("RATELIMIT_ENABLED", True)
    if config["ENV"] == "testing":
        config["TESTING"] = True


def tune_database(engine: Engine) -> None:
    """SQLite's settings for each new connection (nothing for other databases)."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        # WAL lets readers proceed while a bulk job writes; the busy timeout makes concurrent
        # writers wait instead of failing; foreign keys are off in SQLite unless asked for.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    from app.auth import bp as auth_bp
    from app.educator import bp as educator_bp
    from app.educator.partner import bp as partner_bp
    from app.markdown import render as render_markdown
    from app.models import STATUS_LABELS
    from app.obapi import bp as obapi_bp
    from app.obapi import oauth as obapi_oauth
    from app.oid4vci import bp as oid4vci_bp
    from app.public import bp as public_bp
    from app.services.org.achievement_labels import achievement_type_label
    from app.workspace import bp as workspace_bp
    from app.workspace.leading import lead_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(workspace_bp)
    app.register_blueprint(lead_bp)
    app.register_blueprint(educator_bp)
    app.register_blueprint(partner_bp)
    app.register_blueprint(obapi_bp)
    obapi_oauth.init_app(app)
    app.register_blueprint(oid4vci_bp)
    if app.config["ENV"] != "production":
        from app.dev import bp as dev_bp

        app.register_blueprint(dev_bp)
    app.jinja_env.filters["markdown"] = render_markdown
    # Every page shows a credential's status in the same words (status_macros.html).
    app.jinja_env.globals["status_labels"] = STATUS_LABELS
    # ... and an achievement type in the words the achievement form offers ("Micro-credential").
    app.jinja_env.filters["achievement_type"] = achievement_type_label
