"""The fast lane for a credential's stored document: ``GET`` or ``HEAD /credentials/<id>`` from a
machine (a verifier, a wallet) answered in front of Flask.

Serving the stored bytes needs none of Flask's per-request work: no session (the document is
the same for everyone), no sign-in lookups, no rate limit (the view is exempt), no template. A
request qualifies only when it has no query string, no cookie, an ``Accept`` that does not ask
for the page or for the OB 2.0 assertion, and the credential exists; anything else, and any
database error, goes on to Flask unchanged. The answer is built by the view's own function
(:func:`app.public.credentials.document_answer`: the same bytes, ``ETag``, ``304``,
``Cache-Control``, ``Vary`` and CORS header), with the same security headers, request id,
request log line and request metrics as a request through Flask. Nothing is cached: each
answer reads the stored text, so a credential signed again (a recipient's name added) is
served at once by every process.

The lane also answers a ``GET`` of the credential's page from a browser without a cookie or a
query, with the page Flask last sent such a visitor while a fresh read of everything it shows is
unchanged (:mod:`app.public.kept_pages`); otherwise Flask renders it, and the lane keeps the
answer when the view says it may.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from werkzeug.http import quote_etag
from werkzeug.utils import get_content_type

from app import logs, security, tune_database
from app.extensions import db
from app.formatting import locale_for
from app.infrastructure import metrics
from app.ops import record_request, request_id_for
from app.public import kept_pages
from app.public.credentials import DocumentAnswer, document_answer, negotiate
from app.services.delivery import queries as public_queries
from app.wiring import clock_of, view_tally
from credentials import OB2_CONTEXT

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: A credential's URL (ids are UUIDs); its sub-resources (downloads, manage) are Flask's.
PATH = re.compile(r"/credentials/([0-9a-f-]{36})\Z")
#: How the request log and the metrics name the request, as for one routed through Flask.
ROUTE = "/credentials/<credential_id>"
ENDPOINT = "public.credential"


class DocumentLane:
    """WSGI middleware: the stored document for the requests that qualify, Flask for the rest."""

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.app = app
        self.inner = inner
        self.headers = security.response_headers(bool(app.config.get("HSTS_ON")))
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        #: The anonymous credential pages this process keeps (app/public/kept_pages.py).
        self.pages = kept_pages.PageCache(kept_pages.SIZE)

    @property
    def engine(self) -> Engine:
        """The lane's own engine on the application's database (made on first use): reads in
        autocommit, so a connection is neither pinged when taken from the pool nor rolled back
        when returned (two round trips on PostgreSQL). A connection that fails is thrown away
        and the request goes to Flask, whose engine pings and reconnects."""
        if self._engine is None:
            with self._lock, self.app.app_context():
                if self._engine is None:
                    url = db.engine.url
                    options = dict(self.app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
                    options.update(pool_pre_ping=False, isolation_level="AUTOCOMMIT")
                    engine = create_engine(url, **options)
                    tune_database(engine)
                    self._engine = engine
        return self._engine

    def dispose(self) -> None:
        """Close the lane's pooled connections (when the application is done with)."""
        if self._engine is not None:
            self._engine.dispose()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or environ.get("QUERY_STRING") or "HTTP_COOKIE" in environ:
            return self.inner(environ, start_response)
        match = PATH.match(environ.get("PATH_INFO", ""))
        accept = environ.get("HTTP_ACCEPT", "")
        if match is None or OB2_CONTEXT in accept:
            return self.inner(environ, start_response)
        negotiated = negotiate(accept)
        if negotiated.html:
            if method == "GET":  # no query, no cookie (above): the page everyone sees
                return self.page(match.group(1), environ, start_response, started)
            return self.inner(environ, start_response)
        try:
            found = public_queries.stored_raw(match.group(1), self.engine)
        except Exception:
            # Whatever went wrong, Flask's path answers (its 503 page if the database is down).
            found = None
        if found is None:
            return self.inner(environ, start_response)
        answer = document_answer(found, negotiated.media_type(found.proof_format), environ)
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        # As werkzeug sends a Response: a 304 carries no entity headers (type, length).
        headers = (
            [
                ("Content-Type", get_content_type(answer.media_type, "utf-8")),
                ("Content-Length", str(len(answer.body))),
            ]
            if answer.status == 200
            else []
        )
        headers += DocumentAnswer.HEADERS
        headers.append(("ETag", quote_etag(answer.etag)))
        headers += self.headers
        headers.append(("X-Request-ID", request_id))
        token = logs.request_id.set(request_id)
        try:
            record_request(
                str(method),
                ROUTE,
                ENDPOINT,
                answer.status,
                time.perf_counter() - started,
                request_id=request_id,
            )
        finally:
            logs.request_id.reset(token)
        start_response(STATUS[answer.status], headers)
        return [] if method == "HEAD" else [answer.body]

    def page(
        self,
        credential_id: str,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        started: float,
    ) -> Iterable[bytes]:
        """The credential page for a visitor without a cookie: the answer Flask last sent for
        it, when a fresh read of what it shows is unchanged (:mod:`app.public.kept_pages`);
        otherwise Flask's answer, kept when the view says it may be."""
        locale = locale_for(environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        key = kept_pages.cache_key(credential_id, locale, environ.get("SCRIPT_NAME", ""))
        kept = self.pages.get(key)
        if kept is not None:
            try:
                with self.engine.connect() as connection:
                    inputs = kept_pages.page_inputs(connection, credential_id)
            except Exception:
                inputs = None  # Flask's path answers (its 503 page if the database is down)
            now = clock_of(self.app)()
            if inputs is not None and self.pages.page(key, inputs, now) is kept:
                return self.replay(kept, credential_id, now, environ, start_response, started)
        return self.render(key, environ, start_response)

    def replay(
        self,
        kept: kept_pages.KeptPage,
        credential_id: str,
        now: datetime,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        started: float,
    ) -> Iterable[bytes]:
        """A kept page, counted as the view did: a page view and a verification (reused)."""
        view_tally(self.app).add(credential_id, now.date())
        metrics.count_verification(kept.keep.outcome)
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        headers = [*kept.headers, ("X-Request-ID", request_id)]
        token = logs.request_id.set(request_id)
        try:
            record_request(
                "GET", ROUTE, ENDPOINT, 200, time.perf_counter() - started, request_id=request_id
            )
        finally:
            logs.request_id.reset(token)
        start_response(kept.status, headers)
        return [kept.body]

    def render(
        self, key: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Flask's answer, kept under ``key`` when the view left a :class:`kept_pages.Keep`
        (an anonymous page made with a kept verdict) and it is a ``200``."""
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.append((status, headers))
            return start_response(status, headers, exc_info)

        body = self.inner(environ, capture)
        keep = environ.get(kept_pages.ENVIRON_KEY)
        if not isinstance(keep, kept_pages.Keep):
            return body
        try:
            whole = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        status, headers = answered[-1]
        # An answer that sets a cookie is someone's own (a session begun while rendering):
        # replayed, every visitor would get that cookie.
        sets_cookie = any(name.lower() == "set-cookie" for name, _ in headers)
        if status.startswith("200 ") and not sets_cookie:
            kept = kept_pages.KeptPage(keep, status, kept_pages.replayable(headers), whole)
            self.pages.put(key, kept)
        return [whole]


#: The status lines the lane sends.
STATUS = {200: "200 OK", 304: "304 NOT MODIFIED"}


def init_app(app: Flask) -> None:
    """Put the lane in front of the application (outermost: it needs no proxy headers)."""
    app.wsgi_app = DocumentLane(app, app.wsgi_app)  # type: ignore[method-assign]


def dispose(app: Flask) -> None:
    """Close the lane's connections, as ``db.engine.dispose()`` closes the application's."""
    lane = app.wsgi_app
    if isinstance(lane, DocumentLane):
        lane.dispose()
