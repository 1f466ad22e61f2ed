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
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from werkzeug.http import quote_etag
from werkzeug.utils import get_content_type

from app import logs, security, tune_database
from app.extensions import db
from app.ops import record_request, request_id_for
from app.public.credentials import DocumentAnswer, document_answer, negotiate
from app.services.delivery import queries as public_queries
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
