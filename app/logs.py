"""Structured logs: one JSON object per line (``CAIRN_LOG_FORMAT=json``, the default in
production) or plain text, with the request id of the request or job a line belongs to.

What a line may hold is decided here and in :mod:`app.ops`: a request is logged by its method,
its route *template* (``/credentials/<uuid>``, never the path, which can carry a secret link's
token), status, duration, request id and organisation slug; never the query string, cookies,
tokens, or email addresses. Messages other modules log go through as they are.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

#: The request (or job) a log line belongs to; set by app.ops for requests, app.wiring for jobs.
request_id: ContextVar[str | None] = ContextVar("cairn_request_id", default=None)

#: Fields a record may carry (``logger.info(..., extra={...})``) that become JSON keys.
FIELDS = (
    "event",
    "method",
    "route",
    "endpoint",
    "status",
    "duration_ms",
    "issuer",
    "job",
    "job_id",
    "outcome",
)
#: ``json.dumps(line, ensure_ascii=False, default=str)`` without making an encoder per line.
_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
#: Marks the handler Cairn installed, so building several applications installs one.
_HANDLER_NAME = "cairn"


def new_request_id() -> str:
    """A fresh request id (32 hex characters): a random UUID's hex, as ``uuid.uuid4().hex``,
    without building the ``UUID`` object (a third of the cost, on every request without an
    ``X-Request-ID``)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    return raw.hex()


class RequestIdFilter(logging.Filter):
    """Puts the current request or job id on every record (``record.request_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the known
    fields a record carries."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        found = getattr(record, "request_id", None) or request_id.get()
        if found:
            line["request_id"] = found
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line)


class TextFormatter(logging.Formatter):
    """Readable lines for development: time, level, logger, message, then the fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = [f"{name}={getattr(record, name)}" for name in FIELDS if hasattr(record, name)]
        found = getattr(record, "request_id", None)
        if found:
            extras.append(f"request_id={found}")
        return text + (" " + " ".join(extras) if extras else "")


def log_format(config: Any) -> str:
    """``json`` or ``text``: ``LOG_FORMAT``, else json in production and text elsewhere."""
    configured = config.get("LOG_FORMAT")
    if configured in ("json", "text"):
        return str(configured)
    return "json" if config.get("ENV") == "production" else "text"


def formatter_for(config: Any) -> logging.Formatter:
    """The formatter the configuration asks for."""
    return JsonFormatter() if log_format(config) == "json" else TextFormatter()


def configure(config: Any) -> None:
    """Send the root logger's records to stderr in the configured format (once per process:
    a later application replaces the handler rather than adding a second). Tests keep pytest's
    own handlers: nothing is installed for ``ENV=testing`` unless ``LOG_FORMAT`` is set."""
    if config.get("ENV") == "testing" and not config.get("LOG_FORMAT"):
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter_for(config))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(str(config.get("LOG_LEVEL") or "INFO").upper())
    # gunicorn's own error log goes through the same handler; its access log is replaced by
    # Cairn's request log (app.ops), which leaves out paths and query strings.
    for name in ("gunicorn.error", "rq.worker"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def gunicorn_logconfig(config: Any) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its own lines (start-up, worker boots, errors) through the
    same handler and format as Cairn's, and its access log silenced (Cairn's request log
    replaces it)."""
    formatter = "JsonFormatter" if log_format(config) == "json" else "TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {_HANDLER_NAME: {"()": f"app.logs.{formatter}"}},
        "filters": {"request_id": {"()": "app.logs.RequestIdFilter"}},
        "handlers": {
            _HANDLER_NAME: {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": _HANDLER_NAME,
                "filters": ["request_id"],
            }
        },
        "root": {
            "level": str(config.get("LOG_LEVEL") or "INFO").upper(),
            "handlers": [_HANDLER_NAME],
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
    }


def gunicorn_logger_class() -> type:
    """gunicorn's logger without its access log: ``access`` does nothing, where gunicorn's own
    builds every request's fields and a record before its (silenced) logger drops it. gunicorn's
    other lines are its own logger's, unchanged."""
    from gunicorn.glogging import Logger

    class RequestLogOnly(Logger):  # type: ignore[misc]
        """Cairn logs each request itself (:mod:`app.ops`); gunicorn's lines are its errors."""

        def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
            return None

    return RequestLogOnly
