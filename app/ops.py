"""What operators and their tools see: ``/healthz`` (the process answers), ``/readyz`` (the
database and Redis answer), ``/metrics`` (Prometheus, behind ``CAIRN_METRICS_TOKEN``), the
request log and request ids, and the 503 answer when the database or Redis is down.

The three endpoints run before everything else of a request (see :func:`init_app`): no session
is loaded or set, no rate limit applies, and ``/healthz`` touches nothing but the process, so a
load balancer's probe never depends on the database, and a probe's answer never carries a
cookie.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.wrappers import Response as BaseResponse

from app import logs
from app.extensions import db
from app.infrastructure import metrics

bp = Blueprint("ops", __name__)
log = logging.getLogger("cairn.request")

#: Endpoints answered before any other hook of the request (no session, no rate limit).
OPS_ENDPOINTS = frozenset({"ops.healthz", "ops.readyz", "ops.metrics"})
#: An incoming X-Request-ID is kept when it looks like an id; anything else (too long, spaces,
#: control characters that could forge log lines) is replaced by a fresh one.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Seconds a check of the database or Redis may take before /readyz calls it failed.
CHECK_TIMEOUT = 2
#: Bulk jobs that are still to finish (their rows are reported as job progress).
ACTIVE_JOB_STATES = ("queued", "running")


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive and answers (checks nothing else)."""
    response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


def check_database() -> str | None:
    """None when the database answers a query, else what went wrong."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return _short(exc)
    return None


def check_redis(url: str) -> str | None:
    """None when Redis answers PING, else what went wrong."""
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        client = Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    except (RedisError, OSError) as exc:
        return _short(exc)
    return None


def _short(exc: BaseException) -> str:
    """An error in one line, without its SQL or parameters (no data in a probe's answer)."""
    original = getattr(exc, "orig", None) or exc
    first = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return f"{type(original).__name__}: {first}"[:300]


@bp.get("/readyz")
def readyz() -> Response:
    """Ready for traffic: the database answers, and Redis too when it is configured. 503 with
    the failed check named otherwise (``{"status", "checks": {"database": "ok"|"failed"}}``)."""
    checks: dict[str, str] = {}
    problems: dict[str, str] = {}
    failed = check_database()
    checks["database"] = "ok" if failed is None else "failed"
    if failed is not None:
        problems["database"] = failed
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        failed = check_redis(redis_url)
        checks["redis"] = "ok" if failed is None else "failed"
        if failed is not None:
            problems["redis"] = failed
    body: dict[str, Any] = {"status": "ok" if not problems else "unavailable", "checks": checks}
    if problems:
        # What failed, and how, goes to the log only: the probe is public, and an error names
        # internal hosts and ports.
        log.warning("not ready: %s", ", ".join(f"{k}: {v}" for k, v in problems.items()))
    response = jsonify(body)
    response.status_code = 503 if problems else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics", endpoint="metrics")
def metrics_endpoint() -> Response:
    """Prometheus metrics, for a request bearing ``CAIRN_METRICS_TOKEN`` (404 when no token
    is configured, so an instance without monitoring publishes nothing)."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return _plain(404, "Not found")
    presented = request.headers.get("Authorization", "")
    scheme, _, value = presented.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        value.strip().encode("utf-8"), str(token).encode("utf-8")
    ):
        response = _plain(401, "A bearer token is required (CAIRN_METRICS_TOKEN).")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    shared = CollectorRegistry()
    shared.register(InstanceCollector(current_app._get_current_object()))  # type: ignore[attr-defined]
    body = generate_latest(metrics.process_registry()) + generate_latest(shared)
    response = Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0])
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


def _plain(status: int, message: str) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


class InstanceCollector:
    """Figures read at each scrape from what every process and machine shares, so any app
    server answers the same: credentials issued (database), bulk job progress (database), and
    the RQ queue's depth (Redis). A store that does not answer is reported as down
    (``cairn_up``), never as a zero."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        from app.models import BulkJob, IssuedCredential

        up = GaugeMetricFamily(
            "cairn_dependency_up", "Whether a dependency answered this scrape.", labels=["name"]
        )
        try:
            issued = db.session.scalar(select(func.count()).select_from(IssuedCredential)) or 0
            rows = db.session.execute(
                select(
                    BulkJob.state,
                    func.count(),
                    func.coalesce(func.sum(BulkJob.valid_rows), 0),
                    func.coalesce(
                        func.sum(BulkJob.issued_rows + BulkJob.skipped_rows + BulkJob.failed_rows),
                        0,
                    ),
                )
                .where(BulkJob.state.in_(ACTIVE_JOB_STATES))
                .group_by(BulkJob.state)
            ).all()
        except SQLAlchemyError:
            db.session.rollback()
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            yield CounterMetricFamily(
                "cairn_credentials_issued",
                "Credentials issued by this instance (all organisations, revoked included).",
                value=issued,
            )
            jobs = GaugeMetricFamily(
                "cairn_jobs", "Background jobs not finished, by kind and state.",
                labels=["kind", "state"],
            )  # fmt: skip
            done = GaugeMetricFamily(
                "cairn_job_rows_done", "Rows done of the unfinished jobs, by kind.", labels=["kind"]
            )
            total = GaugeMetricFamily(
                "cairn_job_rows_total", "Rows to do of the unfinished jobs, by kind.",
                labels=["kind"],
            )  # fmt: skip
            rows_done = rows_total = 0
            seen = {state: (0, 0, 0) for state in ACTIVE_JOB_STATES}
            for state, count, valid, finished in rows:
                seen[state] = (int(count), int(valid), int(finished))
            for state, (count, valid, finished) in seen.items():
                jobs.add_metric(["bulk_award", state], count)
                rows_total += valid
                rows_done += finished
            done.add_metric(["bulk_award"], rows_done)
            total.add_metric(["bulk_award"], rows_total)
            yield jobs
            yield done
            yield total
        redis_url = self.app.config.get("REDIS_URL")
        if redis_url:
            depth = queue_depth(redis_url)
            up.add_metric(["redis"], 0 if depth is None else 1)
            if depth is not None:
                queue = GaugeMetricFamily(
                    "cairn_queue_depth", "Jobs waiting in the RQ queue.", labels=["queue"]
                )
                queue.add_metric([depth[0]], depth[1])
                yield queue
        yield up


def queue_depth(url: str) -> tuple[str, int] | None:
    """The RQ queue's name and how many jobs wait in it; None when Redis does not answer."""
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue

    from app.infrastructure.jobs import QUEUE_NAME

    try:
        connection = Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
        )
        try:
            return QUEUE_NAME, int(Queue(QUEUE_NAME, connection=connection).count)
        finally:
            connection.close()
    except (RedisError, OSError):
        return None


# --- Request ids, the request log and request metrics ------------------------------------------


def _route() -> tuple[str, str]:
    """The matched route's template and endpoint (``-`` for no match: the raw path could hold
    a secret link's token, so it is never logged)."""
    rule = request.url_rule
    if rule is None:
        return "-", "none"
    return rule.rule, rule.endpoint


def request_id_for(incoming: str) -> str:
    """The request's id: the caller's ``X-Request-ID`` when it looks like one, else a new one."""
    return incoming if REQUEST_ID.fullmatch(incoming) else logs.new_request_id()


def _start_request() -> Response | None:
    g.request_started = time.perf_counter()
    found = request_id_for(request.headers.get("X-Request-ID", ""))
    g.request_id = found
    logs.request_id.set(found)
    if request.endpoint in OPS_ENDPOINTS:
        # Answered here, before the session loaders, CSRF and the limiter run.
        view = cast(Callable[[], Response], current_app.view_functions[request.endpoint])
        return view()
    return None


def _finish_request(response: Response) -> Response:
    found = g.get("request_id")
    if found:
        response.headers["X-Request-ID"] = found
    started = g.get("request_started")
    if started is None:
        return response
    route, endpoint = _route()
    issuer = (request.view_args or {}).get("slug")
    record_request(
        request.method,
        route,
        endpoint,
        response.status_code,
        time.perf_counter() - started,
        request_id=found,
        issuer=issuer if isinstance(issuer, str) else None,
    )
    return response


def record_request(
    method: str,
    route: str,
    endpoint: str,
    status: int,
    seconds: float,
    *,
    request_id: str | None,
    issuer: str | None = None,
) -> None:
    """Count one answered request in the metrics and write its line in the request log (also
    for requests answered before Flask, see :mod:`app.public.documents`)."""
    metrics.count_request(endpoint, method, status, seconds)
    level = logging.DEBUG if endpoint in OPS_ENDPOINTS else logging.INFO
    if status >= 500:
        level = logging.ERROR
    log.log(
        level,
        "%s %s %s",
        method,
        route,
        status,
        extra={
            "request_id": request_id,
            "event": "request",
            "method": method,
            "route": route,
            "endpoint": endpoint,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "issuer": issuer,
        },
    )


def _end_request(error: BaseException | None) -> None:
    logs.request_id.set(None)


# --- Faults: the database or Redis going away --------------------------------------------------

#: Not "nothing was changed": a request may fail after its transaction committed (a follow-up
#: read), so the page asks to check rather than promise.
DATABASE_DOWN = (
    "Cairn cannot reach its database just now. Please try again in a minute "
    "(if you were saving something, check first whether it was saved)."
)
REDIS_DOWN = "Cairn cannot reach Redis (its job queue) just now. Please try again in a minute."


def _is_database_outage(error: DBAPIError) -> bool:
    """A lost or refused connection (not a bad query, which stays a bug to see)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return bool(error.connection_invalidated) or isinstance(
        error, (OperationalError, InterfaceError)
    )


def unavailable(message: str, code: str) -> BaseResponse:
    """503, as JSON for API and machine clients and as a page for browsers; the transaction
    was rolled back, so nothing of the request is half done."""
    from flask import render_template

    from app.errors import error_response, is_api_request, wants_json

    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    # The signed-in account was loaded from the database that just failed; the page is drawn
    # as for a visitor rather than reading it again.
    g.staff = None
    g.educator = None
    response: BaseResponse
    if is_api_request():
        response = error_response(503, message, code=code)
    elif wants_json():
        response = jsonify({"error": code, "message": message})
        response.status_code = 503
    else:
        page = render_template(
            "errors/error.html", status=503, title="Temporarily unavailable", message=message
        )
        response = Response(page, status=503, mimetype="text/html")
    response.headers["Retry-After"] = "30"
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register the endpoints, the request hooks and the 503 handlers. Called before the other
    extensions and blueprints, so :func:`_start_request` runs first of all ``before_request``
    hooks and :func:`_finish_request` last of all ``after_request`` ones (Flask runs those in
    reverse), seeing the final response."""
    logs.configure(app.config)
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind a TLS-terminating proxy, the visitor's address and scheme are the proxy's
        # X-Forwarded-For and -Proto (only as many hops as configured are believed).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.register_blueprint(bp)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> BaseResponse:
        if not _is_database_outage(error):
            raise error
        logging.getLogger("cairn.faults").error("database unavailable: %s", _short(error))
        return unavailable(DATABASE_DOWN, "database_unavailable")

    @app.errorhandler(PoolTimeout)
    def pool_timeout(error: PoolTimeout) -> BaseResponse:
        logging.getLogger("cairn.faults").error("no database connection free: %s", error)
        return unavailable(DATABASE_DOWN, "database_unavailable")

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeout)
    def redis_error(error: Exception) -> BaseResponse:
        logging.getLogger("cairn.faults").error("redis unavailable: %s", _short(error))
        return unavailable(REDIS_DOWN, "redis_unavailable")
